"""The boundary: lossless, canonical, and strict both ways."""

import math
import random
import re
import struct
from pathlib import Path

import msgspec
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from plugin_host import FrozenRealm, InvalidInput, InvalidOutput
from plugin_host._codec import canonical, encode

ECHO = """
export function echo(x) { return x; }
export function types(x) { return Array.isArray(x) ? x.map(v => v === null ? "null" : typeof v) : typeof x; }
export function frozen(x) { return Object.isFrozen(x) && Object.values(x).every(v => typeof v !== "object" || v === null || Object.isFrozen(v)); }
export function mutate(x) { x.a = 1n; return x; }
export function protoKeys(x) { return [Object.getPrototypeOf(x) === Object.prototype, Object.keys(x), ({}).polluted === undefined]; }
export function make(kind) {
  switch (kind) {
    case "fn": return () => 1;
    case "symbol": return Symbol("s");
    case "cycle": { const o = {}; o.self = o; return o; }
    case "nan": return NaN;
    case "inf": return -Infinity;
    case "class": return new (class Q { constructor() { this.a = 1; } })();
    case "getter": return { get x() { throw new Error("never called"); } };
    case "map": return new Map();
    case "typed": return new Uint8Array(2);
    case "hole": return [1, , 3];
    case "undefinedInArray": return [undefined];
    case "loneSurrogate": return "a\\ud800b";
    case "proxy": return new Proxy({}, {});
    case "error": return new Error("e");
    case "toJSON": return { toJSON() { for (;;) {} } };
    case "negzero": return -0;
    case "undefinedProp": return { a: undefined, b: 1n };
    case "nothing": return undefined;
    case "nullProto": { const o = Object.create(null); o.k = 2n; return o; }
    case "protoKey": return JSON.parse('{"__proto__": {"x": 1}}');
  }
}
"""

json_values = st.recursive(
    st.none() | st.booleans() | st.integers(min_value=-(10**80), max_value=10**80)
    | st.floats(allow_nan=False, allow_infinity=False) | st.text(),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4),
    max_leaves=20,
)


@pytest.fixture(scope="module", params=["wasmer", "wasmtime"])
def realm(request):
    return FrozenRealm(ECHO, engine=request.param)


def test_round_trip_is_lossless(realm):
    @settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
    @given(json_values)
    def check(value):
        out = realm.call("echo", value).output
        assert canonical(out) == canonical(value)
        # ints stay ints (BigInt), floats stay floats (Number), -0.0 keeps its sign
        assert _types(out) == _types(value)

    check()


def _types(v):
    if isinstance(v, list):
        return [_types(x) for x in v]
    if isinstance(v, dict):
        return {k: _types(x) for k, x in v.items()}
    if isinstance(v, float):
        return ("float", math.copysign(1.0, v))
    return type(v).__name__


def test_js_types(realm):
    assert realm.call("types", [1, 1.5, "s", True, None, [1], {"a": 1}]).output == \
        ["bigint", "number", "string", "boolean", "null", "object", "object"]
    assert realm.call("echo", 10**70).output == 10**70
    assert realm.call("echo", -0.0).output == 0.0 and math.copysign(1, realm.call("echo", -0.0).output) == -1
    assert realm.call("echo", (1, (2, 3))).output == [1, [2, 3]]


# the decoder builds BigInts nine digits (one 32-bit limb of 10**9) at a time: every edge of that
LIMB_EDGES = [0, 1, -1, 10**9 - 1, 10**9, 10**18 - 1, 10**18, -(10**18), 10**18 + 1, 10**19, 2**31 - 1, 2**31,
              -(2**31), -(2**31) - 1, 2**32 - 1, 2**32, 2**63 - 1, 2**63, -(2**63), -(2**63) - 1, 2**64,
              10**27 - 1, 10**27, -(10**27) - 1, 2**256 - 1, -(2**255), 10**400 + 7, -(10**399) * 9 - 1]


def test_integers_at_limb_edges_are_exact_bigints_inside(realm):
    out = realm.call("echo", LIMB_EDGES).output
    assert out == LIMB_EDGES
    seen = FrozenRealm("export function f(xs) { return xs.map(x => [typeof x, String(x), x === BigInt(String(x))]); }",
                       engine=realm.engine).call("f", LIMB_EDGES).output
    assert seen == [["bigint", str(v), True] for v in LIMB_EDGES]


def _random_doubles(n, seed):
    rng = random.Random(seed)
    out = []
    while len(out) < n:
        v = struct.unpack("<d", struct.pack("<Q", rng.getrandbits(64)))[0]
        if math.isfinite(v) and v != 0:
            out.append(v)
    for e in range(-1074, 1024, 3):  # neighbours of powers of two, where the gaps change
        p = 2.0 ** e
        out += [p, math.nextafter(p, 0), math.nextafter(p, math.inf)]
    out += [5e-324, 2.2250738585072014e-308, 2.2250738585072009e-308, 1.7976931348623157e308, 0.1, 1 / 3, 1e23]
    return out + [-v for v in out[:100]]


def test_numbers_read_back_as_the_same_double(realm):
    """The guest prints Numbers with its own Grisu2 (runtime/harness/numfmt.c): every double,
    however its digits come out, must read back bit for bit."""
    values = _random_doubles(20_000, seed=2026)
    out = realm.call("echo", values).output
    assert [struct.pack("<d", v) for v in out] == [struct.pack("<d", v) for v in values]


def test_the_cached_powers_of_ten_are_exact():
    """numfmt.c's table: 10**k as a 64-bit significand rounded to nearest and its binary
    exponent, for k = -348, -340, ..., 340, recomputed here with integers."""
    src = (Path(__file__).resolve().parent.parent / "runtime" / "harness" / "numfmt.c").read_text()
    table = [(int(f, 16), int(e), int(k)) for f, e, k in
             re.findall(r"\{0x([0-9A-F]{16})ULL, (-?\d+)\}, /\* 1e(-?\d+) \*/", src)]
    assert [k for _, _, k in table] == list(range(-348, 341, 8))
    for f, e, k in table:
        num, den = (10**k, 1) if k >= 0 else (1, 10**-k)
        if e >= 0:
            den <<= e
        else:
            num <<= -e
        q, r = divmod(num, den)
        assert f == q + (2 * r >= den) and f >> 63 == 1, k


def test_inputs_are_deep_frozen(realm):
    assert realm.call("frozen", {"a": [1, {"b": 2}], "c": {"d": []}}).output is True
    from plugin_host import PluginException
    with pytest.raises(PluginException, match="TypeError"):
        realm.call("mutate", {"a": 0})


def test_prototype_keys_stay_plain_data(realm):
    out = realm.call("protoKeys", {"__proto__": {"polluted": True}, "constructor": 1}).output
    assert out == [True, ["__proto__", "constructor"], True]
    assert realm.call("make", "protoKey").output == {"__proto__": {"x": 1.0}}


class Point(msgspec.Struct):
    x: int
    y: float


def test_structs_cross_as_objects(realm):
    assert realm.call("echo", {"p": Point(1, 2.5)}).output == {"p": {"x": 1, "y": 2.5}}


@pytest.mark.parametrize("value, match", [
    (float("nan"), "NaN"), (float("inf"), "Infinity"), ({1: 2}, "keys must be str"), ({1, 2}, "set"),
    (b"bytes", "bytes"), (object(), "object"), ("a\ud800b", "surrogate"), ([[float("nan")]], "NaN"),
])
def test_invalid_inputs(realm, value, match):
    with pytest.raises(InvalidInput, match=match):
        realm.call("echo", value)


def test_deeply_nested_input_is_refused(realm):
    deep = 1
    for _ in range(10_000):
        deep = [deep]
    with pytest.raises(InvalidInput):
        realm.call("echo", deep)


@pytest.mark.parametrize("kind", ["fn", "symbol", "cycle", "nan", "inf", "class", "getter", "map", "typed",
                                  "hole", "undefinedInArray", "loneSurrogate", "proxy", "error"])
def test_invalid_outputs(realm, kind):
    with pytest.raises(InvalidOutput):
        realm.call("make", kind)
    assert realm.call("echo", 1).output == 1


def test_output_edge_cases(realm):
    with pytest.raises(InvalidOutput, match="functions"):  # toJSON is never called: no hang
        realm.call("make", "toJSON")
    assert realm.call("make", "undefinedProp").output == {"b": 1}
    assert realm.call("make", "nothing").output is None
    assert realm.call("make", "nullProto").output == {"k": 2}


def test_canonical_bytes_sort_keys_and_ignore_insertion_order():
    assert encode({"b": 1, "a": [1.0, None]}) == b'{"a":[1.0,null],"b":1}'
    assert canonical({"b": 1, "a": 2}) == canonical({"a": 2, "b": 1})


class _Node(msgspec.Struct):
    next: object = None


class _Finalized:
    """Garbage with a finalizer that runs Python code, like an engine's native handles."""
    __slots__ = ("me",)

    def __init__(self):
        self.me = self  # a cycle: only the collector frees it

    def __del__(self):
        (lambda: (lambda: None)())()


def test_a_deep_input_never_leaves_other_objects_finalizers_without_stack(monkeypatch):
    """A struct nested 10,000 deep is refused (InvalidInput), and converting it must not let a
    garbage collection start near Python's recursion limit: the finalizers it runs would fail.
    Sweeping the collector's threshold makes a collection start at every depth in turn."""
    import gc
    import sys

    chain = _Node()
    for _ in range(10_000):
        chain = _Node(next=chain)
    failed = []
    monkeypatch.setattr(sys, "unraisablehook", failed.append)
    before = gc.get_threshold()
    try:
        for threshold in range(50, 1500, 10):
            gc.collect()
            _Finalized()
            gc.set_threshold(threshold, 1000, 1000)
            with pytest.raises(InvalidInput):
                encode(chain)
    finally:
        gc.set_threshold(*before)
    assert not failed, f"{len(failed)} finalizers failed: {failed[0].exc_value!r}"
