"""Family 6: abusing the boundary, in both directions.

Outputs must be plain data (PROFILE.md §8): anything else is InvalidOutput, and the encoder
must never run plugin code (getters, toJSON, proxy traps) while it reads the value. Inputs
arrive as deep-frozen plain data where "__proto__" and "constructor" are ordinary own keys.
"""

import msgspec
import pytest

from _harness import Attack, params, run_attack, same
from plugin_host import FrozenRealm
from plugin_host.errors import (
    InvalidInput,
    InvalidOutput,
    NoSuchExport,
    OutOfGas,
    PluginError,
    PluginException,
)

BAD = dict(raises=InvalidOutput)
LOOP = "for (;;) {}"  # if the encoder ran this, the call would end OutOfGas instead

OUTPUTS = [
    Attack("return-function", "export function f() { return () => 1; }", match="functions", **BAD),
    Attack("return-symbol", "export function f() { return Symbol('x'); }", match="symbols", **BAD),
    Attack("nested-well-known-symbol", "export function f() { return { s: [Symbol.iterator] }; }", **BAD),
    Attack("cyclic-object", "export function f() { const o = {}; o.self = o; return o; }", match="cyclic", **BAD),
    Attack("cyclic-array", "export function f() { const a = [1]; a.push([a]); return a; }", **BAD),
    Attack("getter-that-throws", "export function f() { return { get x() { throw new Error('ran'); } }; }",
           match="accessor", **BAD),
    Attack("getter-that-loops", f"export function f() {{ return {{ ok: 1, get x() {{ {LOOP} }} }}; }}",
           match="accessor", **BAD),
    Attack("array-element-getter", f"export function f() {{ const a = [1, 2];"
           f" Object.defineProperty(a, 0, {{ get() {{ {LOOP} }} }}); return a; }}", **BAD),
    Attack("own-toJSON-that-loops", f"export function f() {{ return {{ toJSON() {{ {LOOP} }} }}; }}",
           match="functions", **BAD),
    Attack("hidden-toJSON-is-not-called",
           f"export function f() {{ const o = {{ a: 1n }}; Object.defineProperty(o, 'toJSON', {{ value() {{ {LOOP} }} }});"
           " return o; }", returns={"a": 1}),
    Attack("inherited-toJSON", f"export function f() {{ return Object.create({{ toJSON() {{ {LOOP} }} }}); }}",
           match="plain objects", **BAD),
    Attack("proxy-with-looping-traps",
           f"export function f() {{ return new Proxy({{ a: 1 }}, {{ ownKeys() {{ {LOOP} }}, get() {{ {LOOP} }},"
           f" getOwnPropertyDescriptor() {{ {LOOP} }}, getPrototypeOf() {{ {LOOP} }} }}); }}", **BAD),
    Attack("proxy-of-array", f"export function f() {{ return new Proxy([1], {{ get() {{ {LOOP} }} }}); }}", **BAD),
    Attack("revoked-proxy", "export function f() { const p = Proxy.revocable({}, {}); p.revoke(); return p.proxy; }",
           **BAD),
    Attack("array-with-looping-proxy-prototype",
           f"export function f() {{ const a = [1, 2]; Object.setPrototypeOf(a, new Proxy([], {{ get() {{ {LOOP} }} }}));"
           " return a; }", returns=[1.0, 2.0]),
    Attack("holey-array-with-proxy-prototype",
           f"export function f() {{ const a = [1, , 3]; Object.setPrototypeOf(a, new Proxy([], {{ get() {{ {LOOP} }} }}));"
           " return a; }", match="holes", **BAD),
    Attack("class-instance", "export function f() { class A { constructor() { this.x = 1; } } return new A(); }", **BAD),
    Attack("inherited-enumerable", "export function f() { return { __proto__: { inherited: 1 }, own: 2 }; }", **BAD),
    Attack("map", "export function f() { return new Map([[1, 2]]); }", **BAD),
    Attack("typed-array", "export function f() { return new Uint8Array(4); }", **BAD),
    Attack("error-object", "export function f() { return new Error('x'); }", **BAD),
    Attack("boxed-primitives", "export function f() { return [Object(1n), new Boolean(false)]; }", **BAD),
    Attack("arguments-object", "export function f() { return arguments; }", **BAD),
    Attack("holes", "export function f() { const a = []; a[3] = 1; return a; }", match="holes", **BAD),
    Attack("undefined-in-array", "export function f() { return [undefined]; }", **BAD),
    Attack("undefined-property-left-out", "export function f() { return { a: undefined, b: null }; }",
           returns={"b": None}),
    Attack("array-extra-properties-ignored", "export function f() { const a = [1n]; a.extra = 2n; return a; }",
           returns=[1]),
    Attack("array-subclass", "export function f() { class A extends Array {} return A.from([1, 2]); }",
           returns=[1.0, 2.0]),
    Attack("NaN", "export function f() { return NaN; }", match="NaN", **BAD),
    Attack("Infinity-nested", "export function f() { return { a: [1, -Infinity] }; }", match="Infinity", **BAD),
    Attack("overflow-to-Infinity", "export function f() { return 1e308 * 10; }", **BAD),
    Attack("minus-zero", "export function f() { return [-0, 0, 5e-324, 1.7976931348623157e308, 2 ** 53 + 1]; }",
           returns=[-0.0, 0.0, 5e-324, 1.7976931348623157e308, 9007199254740992.0]),
    Attack("bigints-exact", "export function f() { return [2n ** 10000n, -(2n ** 64n), 0n, -1n]; }",
           returns=[2 ** 10000, -(2 ** 64), 0, -1]),
    # README: "Python int <-> JS BigInt (any size)"; Python refuses to parse integers of more
    # than 4300 digits by default. Either the exact value or a typed error is acceptable.
    Attack("bigint-5001-digits", "export function f() { return 10n ** 5000n; }",
           returns=10 ** 5000, or_raises=InvalidOutput),
    Attack("lone-surrogate", "export function f() { return 'a\\uD800b'; }", match="surrogate", **BAD),
    Attack("lone-low-surrogate", "export function f() { return ['\\uDC00']; }", match="surrogate", **BAD),
    Attack("lone-surrogate-key", "export function f() { return { ['\\uD800']: 1 }; }", match="surrogate", **BAD),
    Attack("surrogate-pair-ok", "export function f() { return { ['\\uD83D\\uDE00']: '\\uD83D\\uDE00' }; }",
           returns={"\U0001F600": "\U0001F600"}),
    Attack("control-characters", "export function f() { return { '\\u0000k\"\\\\': '\\u0000\\u001f\\n' }; }",
           returns={'\x00k"\\': "\x00\x1f\n"}),
    Attack("proto-key-from-JSON.parse", "export function f() { return JSON.parse('{\"__proto__\": {\"polluted\": 1}}'); }",
           returns={"__proto__": {"polluted": 1.0}}),
    Attack("proto-and-constructor-keys",
           "export function f() { const o = { ['__proto__']: 5n, constructor: { prototype: { x: 1n } } }; return o; }",
           returns={"__proto__": 5, "constructor": {"prototype": {"x": 1}}}),
    Attack("null-prototype-object", "export function f() { const o = Object.create(null); o.a = 1n; return o; }",
           returns={"a": 1}),
    Attack("too-deep-output", "export function f() { let o = 1n; for (let i = 0; i < 65; i++) o = [o]; return o; }",
           match="deep", **BAD),
    Attack("promise-never-settles", "export function f() { return new Promise(() => {}); }", match="never settled",
           **BAD),
    Attack("thenable-returned-sync", "export function f() { return { then(r) { r(5n); } }; }", match="functions",
           **BAD),
    Attack("thenable-awaited", "export async function f() { return { then(r) { r(5n); } }; }", returns=5),
    Attack("thenable-that-loops", f"export async function f() {{ return {{ then() {{ {LOOP} }} }}; }}", raises=OutOfGas),
    # thrown values: the error report must never fail untyped, whatever was thrown
    Attack("throw-symbol", "export function f() { throw Symbol('s'); }", raises=PluginException),
    Attack("throw-undefined", "export function f() { throw undefined; }", raises=PluginException, match="undefined"),
    Attack("throw-bigint", "export function f() { throw 10n ** 50n; }", raises=PluginException, match="^1000"),
    Attack("throw-lone-surrogate-message", "export function f() { throw new Error('\\uD800'); }",
           raises=PluginException),
    Attack("throw-error-with-throwing-name-getter",
           "export function f() { const e = new Error('m'); Object.defineProperty(e, 'name',"
           " { get() { throw new Error('inner'); } }); throw e; }", raises=PluginException, match="m"),
    Attack("throw-proxy-of-error", "export function f() { throw new Proxy(new Error('p'), {}); }",
           raises=PluginException, match="p"),
    Attack("reject-with-symbol", "export function f() { return Promise.reject(Symbol('r')); }", raises=PluginException),
]

PROTO_INPUT = {"__proto__": {"polluted": 1}, "constructor": {"prototype": {"polluted": 2}}}

INPUTS = [
    Attack("input-proto-key-stays-own-data",
           "export function f(x) { const d = Object.getOwnPropertyDescriptor(x, '__proto__');"
           " return [Object.keys(x), Object.getPrototypeOf(x) === Object.prototype, 'value' in d, d.value.polluted,"
           " ({}).polluted ?? null, Object.isFrozen(x), x.constructor.prototype.polluted, ({}).constructor === Object]; }",
           data=PROTO_INPUT, returns=[["__proto__", "constructor"], True, True, 1, None, True, 2, True]),
    Attack("input-proto-key-copied",
           "export function f(x) { const spread = { ...x }; const assigned = Object.assign({}, x);"
           " return [Object.getPrototypeOf(spread) === Object.prototype, ({}).polluted ?? null,"
           " Object.isFrozen(Object.prototype), [].polluted ?? null]; }",
           data=PROTO_INPUT, returns=[True, None, True, None],
           note="Object.assign re-parents *its own target* (plain JS semantics); nothing shared changes"),
    Attack("input-proto-key-round-trip", "export function f(x) { return x; }", data=PROTO_INPUT, returns=PROTO_INPUT),
    Attack("input-is-deep-frozen",
           "export function f(x) { const out = []; for (const act of [() => { x.a = 1; }, () => { x.list.push(1); },"
           " () => { x.nested.k = 0; }, () => { delete x.list; }, () => { Object.setPrototypeOf(x, null); }])"
           " try { act(); out.push('mutated'); } catch (e) { out.push(e.name); } return out; }",
           data={"list": [1], "nested": {"k": 1}}, returns=["TypeError"] * 5),
    Attack("input-minus-zero", "export function f(x) { return [Object.is(x, -0), typeof x]; }", data=-0.0,
           returns=[True, "number"]),
    Attack("input-int-is-bigint", "export function f(x) { return [typeof x, x + 1n]; }", data=2 ** 200,
           returns=["bigint", 2 ** 200 + 1]),
]


@pytest.mark.parametrize("attack", params(OUTPUTS + INPUTS))
def test_boundary(attack, engine):
    run_attack(attack, engine)


def _struct_chain(levels):
    class Node(msgspec.Struct):
        next: object = None

    v = Node()
    for _ in range(levels):
        v = Node(next=v)
    return v


@pytest.mark.parametrize("data", [
    pytest.param("a\ud800b", id="lone-surrogate"),
    pytest.param({"k": float("nan")}, id="NaN"),
    pytest.param([float("inf")], id="Infinity"),
    pytest.param({1: "non-str-key"}, id="non-str-key"),
    pytest.param(b"bytes", id="bytes"),
    pytest.param({1, 2}, id="set"),
    pytest.param(object(), id="object"),
    pytest.param(10 ** 5000, id="int-5001-digits"),
    pytest.param(_struct_chain(10_000), id="struct-nested-10000"),
])
def test_bad_inputs_are_typed_errors(data, engine):
    realm = FrozenRealm("export function f(x) { return x; } export function g() { return 1n; }", engine=engine)
    try:
        out = realm.call("f", data).output
    except PluginError as e:
        assert isinstance(e, InvalidInput), f"{type(e).__name__}: {e.message}"
    else:  # an exact round trip is the only other acceptable answer
        assert same(out, data), f"the input came back as {out!r:.100}"
    assert realm.call("g").output == 1


@pytest.mark.parametrize("name", ["\ud800", "__proto__", "constructor", "then", "toString", "", "x" * 100_000,
                                  "metadata"])
def test_function_names_are_not_properties_of_anything(name, engine):
    realm = FrozenRealm("export const metadata = { name: 'm' }; export function g() { return 1n; }", engine=engine)
    # a name that is not valid Unicode cannot even be asked for (its receipt could not be encoded)
    with pytest.raises(InvalidInput if name == "\ud800" else NoSuchExport):
        realm.call(name)
    assert realm.call("g").output == 1
    for bad in (None, 5, b"g"):
        with pytest.raises(InvalidInput):
            realm.call(bad)

