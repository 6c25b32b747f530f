"""Family 4: state leaking from one call to the next.

Each case has `poke` calls that try to leave something behind (in module variables, caches
keyed by frozen intrinsics, thrown errors, suspended generators, pending promises, the
Symbol.for registry, the atom table, grown memory, a trapped instance ...) and a `peek` call
that looks for it. `peek` after the pokes must be indistinguishable from `peek` on a fresh
realm: same output or error, same gas (the receipt digest covers both).
"""

from dataclasses import dataclass, field

import pytest

from _harness import outcome
from plugin_host import FrozenRealm


@dataclass(frozen=True)
class Leak:
    id: str
    source: str
    pokes: list  # [(function, input), ...]; any result or typed error is fine
    peek: tuple = ("peek", None)
    limits: dict = field(default_factory=dict)


SECRET = {"secret": 42}

LEAKS = [
    Leak("module-variable", "let n = 0; export function poke() { return ++n; } export function peek() { return n; }",
         [("poke", None)] * 3),
    Leak("module-object-export",
         "export const state = { n: 0 }; export function poke() { state.n++; } export function peek() { return state.n; }",
         [("poke", None)] * 2),
    Leak("weakmap-keyed-by-intrinsic",
         "const wm = new WeakMap(); export function poke(x) { wm.set(Array.prototype, x.secret); wm.set(Object, x); }"
         " export function peek() { return [wm.get(Array.prototype) ?? null, wm.has(Object)]; }",
         [("poke", SECRET)]),
    Leak("map-keyed-by-intrinsic-function",
         "const m = new Map(); export function poke(x) { m.set(JSON.parse, x.secret); m.set(Math, 1); }"
         " export function peek() { return [m.size, m.get(JSON.parse) ?? null]; }", [("poke", SECRET)]),
    Leak("weakset-of-intrinsics",
         "const ws = new WeakSet(); export function poke() { ws.add(globalThis); ws.add(Object.prototype); }"
         " export function peek() { return [ws.has(globalThis), ws.has(Object.prototype)]; }", [("poke", None)]),
    Leak("function-own-property-cache",
         "export function poke(x) { poke.cache = x; } export function peek() { return poke.cache ?? null; }",
         [("poke", SECRET)]),
    Leak("class-prototype",
         "class A {} export function poke(x) { A.prototype.secret = x.secret; }"
         " export function peek() { return new A().secret ?? null; }", [("poke", SECRET)]),
    Leak("import-meta",
         "export function poke(x) { import.meta.secret = x.secret; } export function peek() { return import.meta.secret ?? null; }",
         [("poke", SECRET)]),
    Leak("retained-input",
         "let kept = null; export function poke(x) { kept = x; } export function peek() { return kept; }",
         [("poke", SECRET)]),
    Leak("thrown-error-with-state",
         "let last = null; export function poke(x) { last = new Error('boom'); last.secret = x.secret; throw last; }"
         " export function peek() { return last ? last.secret : null; }", [("poke", SECRET)]),
    Leak("thrown-non-error-object",
         "let thrown = []; export function poke(x) { const o = { secret: x.secret }; thrown.push(o); throw o; }"
         " export function peek() { return thrown.length; }", [("poke", SECRET)] * 2),
    Leak("suspended-generator",
         "function* g() { let i = 0; try { for (;;) yield ++i; } finally { leaked = i; } }"
         " let leaked = 0; const it = g();"
         " export function poke() { return it.next().value; } export function peek() { return [it.next().value, leaked]; }",
         [("poke", None)] * 3),
    Leak("pending-promise-resolver",
         "let resolve = null, leaked = null; export function poke(x) { new Promise((r) => { resolve = r; }).then((v) => { leaked = v; }); }"
         " export function peek() { if (resolve) resolve('late'); return [resolve !== null, leaked]; }",
         [("poke", None)]),
    Leak("microtask-left-behind",
         "let ran = 0; export function poke() { queueMicrotask(() => { ran++; }); Promise.resolve().then(() => ran++); return ran; }"
         " export function peek() { return ran; }", [("poke", None)] * 2),
    Leak("async-function-still-awaiting",
         "let step = 0; const never = new Promise(() => {}); async function hang() { step = 1; await never; step = 2; }"
         " export function poke() { hang(); return step; } export function peek() { return step; }", [("poke", None)]),
    Leak("symbol-for-registry",
         "const keep = []; export function poke(x) { for (let i = 0; i < 200; i++) keep.push(Symbol.for('secret-' + i + '-' + x.secret)); }"
         " export function peek() { let n = 0; for (let i = 0; i < 200; i++) n += Symbol.keyFor(Symbol.for('secret-' + i + '-42')).length; return n; }",
         [("poke", SECRET)]),
    Leak("atom-table",
         "export function poke(x) { const o = {}; for (let i = 0; i < 500; i++) o['k' + i + x.secret] = i; return Object.keys(o).length; }"
         " export function peek() { const o = {}; for (let i = 0; i < 500; i++) o['k' + i + '42'] = i; return Object.keys(o).length; }",
         [("poke", SECRET)]),
    Leak("regexp-lastIndex",
         "const r = /a/g; export function poke() { r.exec('aaaa'); r.exec('aaaa'); } export function peek() { return r.lastIndex; }",
         [("poke", None)]),
    Leak("state-then-out-of-gas",
         "let n = 0; export function poke() { n++; for (;;) {} } export function peek() { return n; }",
         [("poke", None)] * 2),
    Leak("state-then-out-of-memory",
         "let keep = []; export function poke() { for (;;) keep.push('x'.repeat(1 << 20) + keep.length); }"
         " export function peek() { return keep.length; }", [("poke", None)]),
    Leak("state-then-stack-overflow",
         "let depth = 0; function r() { depth++; r(); } export function poke() { r(); } export function peek() { return depth; }",
         [("poke", None)]),
    Leak("memory-growth",
         "const big = []; export function poke() { try { for (;;) big.push(new Uint8Array(1 << 20).fill(7)); }"
         " catch (e) { return big.length; } } export function peek() { return big.length; }", [("poke", None)]),
    Leak("large-input-buffer",
         "let seen = ''; export function poke(x) { seen = x.slice(0, 3); return x.length; } export function peek(x) { return [seen, x]; }",
         [("poke", "s" * 200_000), ("poke", "t" * 20_000)], peek=("peek", "small")),
    Leak("big-output-then-small",
         "export function poke() { return 'x'.repeat(500000); } export function peek() { return 'y'; }", [("poke", None)]),
    Leak("big-error-then-small",
         "export function poke() { throw new Error('x'.repeat(100000)); } export function peek() { throw new Error('y'); }",
         [("poke", None)]),
    Leak("denied-capability",
         "let tried = 0; export function poke() { tried++; console.log('x'); } export function peek() { return tried; }",
         [("poke", None)]),
]


def _peek(realm: FrozenRealm, leak: Leak):
    got = outcome(realm, *leak.peek)
    return got


@pytest.mark.parametrize("leak", [pytest.param(x, id=x.id) for x in LEAKS])
def test_no_state_survives_a_call(leak, engine):
    baseline = _peek(FrozenRealm(leak.source, engine=engine, **leak.limits), leak)
    realm = FrozenRealm(leak.source, engine=engine, **leak.limits)
    for fn, data in leak.pokes:
        outcome(realm, fn, data)  # any output or typed error; untyped ones fail the test
    assert _peek(realm, leak) == baseline, "peek after the pokes differs from peek on a fresh realm"
    assert _peek(realm, leak) == baseline


def test_logs_do_not_leak_into_the_next_call(engine):
    realm = FrozenRealm("export function poke(x) { console.log('secret', x.secret); }"
                        " export function peek() { return 1n; }", engine=engine, capabilities=("log",))
    assert "secret 42" in realm.call("poke", SECRET).logs
    assert realm.call("peek").logs == ""


def test_one_realm_cannot_reach_another(engine):
    src = "let n = 0; export function poke() { return ++n; } export function peek() { return n; }"
    a, b = FrozenRealm(src, engine=engine), FrozenRealm(src, engine=engine)
    a.call("poke")
    assert outcome(b, "peek") == outcome(FrozenRealm(src, engine=engine), "peek")


# Every built-in function, called with a spread of receivers and arguments, one call each: every
# restore in between is verified against the snapshot (conftest sets PLUGIN_HOST_VERIFY_RESTORE),
# which catches native code that writes memory the guest did not report; and both engines must
# agree on every outcome.
SWEEP = r"""
const samples = new Map([
  [Object.prototype, [{ a: 1, b: [2] }]], [Array.prototype, [[3, 1, 2, [4, [5]]]]],
  [String.prototype, ["abc\u00e9\uD83D\uDE00"]], [Number.prototype, [1.5, 1e300, -0]],
  [BigInt.prototype, [12345678901234567890n]], [Boolean.prototype, [true]], [Symbol.prototype, [Symbol("s")]],
  [RegExp.prototype, [/a(b)?/gu]], [Map.prototype, [new Map([[1, 2]])]], [Set.prototype, [new Set([1, 2])]],
  [WeakMap.prototype, [new WeakMap()]], [WeakSet.prototype, [new WeakSet()]], [Promise.prototype, [Promise.resolve(1)]],
  [Error.prototype, [new Error("e")]], [ArrayBuffer.prototype, [new ArrayBuffer(16)]],
  [DataView.prototype, [new DataView(new ArrayBuffer(16))]], [Function.prototype, [function g(a) { return a; }]],
  [Object.getPrototypeOf(Int8Array.prototype),
   [new Float64Array([1.5, -2, NaN]), new Uint8Array([3, 1, 2]), new BigInt64Array([5n, -1n])]],
  [Iterator.prototype, [[1, 2, 3].values()]],
]);
const fns = [], seen = new Set();
(function walk(o, path, depth) {
  if (o === null || (typeof o !== "object" && typeof o !== "function") || seen.has(o) || depth > 4) return;
  seen.add(o);
  for (const k of Reflect.ownKeys(o)) {
    const d = Reflect.getOwnPropertyDescriptor(o, k), p = path + "." + String(k);
    for (const v of [d.value, d.get, d.set]) {
      if (typeof v === "function" && !fns.some(([, f]) => f === v)) fns.push([p, v, o]);
      if ((v && typeof v === "object") || typeof v === "function") walk(v, p, depth + 1);
    }
  }
})(globalThis, "globalThis", 0);
fns.sort((a, b) => (a[0] < b[0] ? -1 : 1));
const ARGS = [[], [1], [-1.5, 20], ["a", 2], [(x) => x, 0], [1e300, 100], [[1, [2]], "x"], [new Uint8Array(4), 2],
              [10n, 3n], [{ length: 3, 0: "a" }]];
export function count() { return fns.length; }
export function name(i) { return fns[Number(i)][0]; }
export function f(i) {
  const [, fn, owner] = fns[Number(i)];
  let ok = 0;
  for (const t of [undefined, owner, ...(samples.get(owner) ?? [])]) for (const args of ARGS) {
    try { const r = Reflect.apply(fn, t, args); if (r && typeof r.then === "function") r.then(() => {}, () => {}); ok++; } catch (e) { }
    try { Reflect.construct(fn, args); ok++; } catch (e) { }
  }
  return ok;
}
"""


def test_every_builtin_restores_cleanly_and_deterministically():
    results = {}
    for engine in ("wasmer", "wasmtime"):
        realm = FrozenRealm(SWEEP, engine=engine, gas_limit=400_000_000)
        n = int(realm.call("count").output)
        assert n > 400
        results[engine] = [outcome(realm, "f", i) for i in range(n)] + [outcome(realm, "count")]
    diff = [i for i, (a, b) in enumerate(zip(results["wasmer"], results["wasmtime"])) if a != b]
    assert not diff, f"the engines disagree on builtins #{diff[:10]}"
