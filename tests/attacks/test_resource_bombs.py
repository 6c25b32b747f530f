"""Family 5: resource bombs.

Each bomb must end with a typed error (or a harmless result) within a sane time under the
default limits, and the realm must answer a normal call right after. Bombs run in a child
process (_bomb_worker.py): a bomb that gas fails to bound would otherwise hang the test run
inside wasm, and one that crashes the engine would take pytest with it. The wall time of every
bomb is printed at the end of the run (tests/attacks/conftest.py) and must stay under
PLUGIN_HOST_BOMB_SECONDS (default 1.0).
"""

import json
import os
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from _harness import ENGINES, HEALTHY
from plugin_host import FrozenRealm
from plugin_host.errors import InputTooLarge, InvalidInput

LIMIT = float(os.environ.get("PLUGIN_HOST_BOMB_SECONDS", "1.0"))
HANG = max(15.0, 10 * LIMIT)  # the child is killed after this long: the bomb hung
WORKER = Path(__file__).with_name("_bomb_worker.py")

GAS, MEM, STACK = "OutOfGas", "MemoryLimitExceeded", "StackOverflow"
JS = "PluginException"  # a JS error the engine threw (RangeError: BigInt too large, ...)


@dataclass(frozen=True)
class Bomb:
    id: str
    body: str  # the body of `export function f(x)`, or a whole module if it has "export"
    expect: tuple  # acceptable outcomes: error class names, or "ok"
    data: object = None
    limits: dict = field(default_factory=dict)

    @property
    def source(self):
        return self.body if "export " in self.body else f"export function f(input) {{ {self.body} }}"


BOMBS = [
    # infinite loops, in JS and inside native builtins
    Bomb("empty-loop", "for (;;) {}", (GAS,)),
    Bomb("loop-in-finally", "while (true) { try { for (;;) {} } finally { continue; } }", (GAS,)),
    Bomb("loop-catching-stack-overflow", "for (;;) { try { (function r() { r(); })(); } catch (e) {} }", (GAS,)),
    Bomb("native-indexOf-2^53", "return Array.prototype.indexOf.call({ length: 2 ** 53 - 1 }, 1);", (GAS,)),
    Bomb("native-join-2^32", "return Array.prototype.join.call({ length: 2 ** 32 - 1 }).length;", (GAS, MEM)),
    Bomb("Array(2^32-1)", "return Array(2 ** 32 - 1).length;", ("ok",)),
    Bomb("Array(2^32-1).fill", "return Array(2 ** 32 - 1).fill(0).length;", (GAS, MEM)),
    Bomb("Array(2^32-1).join", "return new Array(2 ** 32 - 1).join('x').length;", (GAS, MEM)),
    Bomb("Array.from-2^32-1", "return Array.from({ length: 2 ** 32 - 1 }).length;", (GAS, MEM)),
    Bomb("endless-generator-spread", "return [...(function* () { for (;;) yield 1; })()].length;", (GAS, MEM)),
    Bomb("microtask-storm", "queueMicrotask(function q() { queueMicrotask(q); }); return 1;", (GAS,)),
    Bomb("promise-chain-storm", "return Promise.resolve().then(function loop() { return Promise.resolve().then(loop); });",
         (GAS,)),
    Bomb("load-time-loop", "for (;;) {}\nexport function f() {}", (GAS,)),
    # catastrophic regular expressions
    Bomb("regex-(a+)+$", "return /(a+)+$/.test('a'.repeat(40) + 'b');", (GAS,)),
    Bomb("regex-(x+x+)+y", "return /(x+x+)+y/.test('x'.repeat(5000));", (GAS,)),
    Bomb("regex-alternation", "return /^(a|a)*b$/.test('a'.repeat(40));", (GAS,)),
    Bomb("regex-replace-expansion", "return 'a'.repeat(1e6).replace(/a/g, '$&$&$&$&').length;", (GAS, MEM)),
    Bomb("regex-compile-deep-groups", "return new RegExp('('.repeat(1e5) + ')'.repeat(1e5)).test('');", (JS,)),
    # huge strings, arrays, BigInts
    Bomb("repeat-2^27", "return 'x'.repeat(2 ** 27).length;", (MEM,)),
    Bomb("string-doubling", "let s = 'x'; for (;;) s = s + s;", (JS, MEM)),
    Bomb("array-push-forever", "const a = []; for (;;) a.push(1);", (GAS, MEM)),
    Bomb("map-set-forever", "const m = new Map(); for (let i = 0; ; i++) m.set(i, i);", (GAS, MEM)),
    Bomb("typed-array-1e8", "return new Uint8Array(1e8).length;", (MEM,)),
    Bomb("arraybuffer-2^31", "return new ArrayBuffer(2 ** 31).byteLength;", (JS, MEM)),
    Bomb("bigint-2^(2^24)", "return (2n ** (2n ** 24n)) > 0n;", (JS, MEM, GAS)),
    Bomb("bigint-10^10^7", "return 10n ** 10000000n > 0n;", (GAS, JS, MEM)),
    Bomb("bigint-shift-10^8", "return (1n << 100000000n) > 0n;", (JS, MEM, GAS)),
    Bomb("bigint-squaring", "let x = 3n; for (;;) x = x * x;", (GAS, JS, MEM)),
    Bomb("bigint-toString-loop", "const x = 2n ** 300000n; for (;;) x.toString();", (GAS,)),
    Bomb("bigint-parse-loop", "const s = '9'.repeat(100000); for (;;) BigInt(s);", (GAS,)),
    # costly natives in loops: gas must also bound the time they take
    Bomb("sort-costly-comparator",
         "const a = []; for (let i = 0; i < 200000; i++) a.push((i * 7919) % 1000);"
         " a.sort((x, y) => { let s = 0; for (let k = 0; k < 100; k++) s += k; return x - y; }); return a.length;",
         (GAS,)),
    Bomb("typedarray-fill-32M", "const a = new Uint8Array(1 << 25); for (;;) a.fill(7);", (GAS, MEM)),
    Bomb("typedarray-copyWithin-32M", "const a = new Uint8Array(1 << 25); for (;;) a.copyWithin(1, 0);", (GAS, MEM)),
    Bomb("typedarray-set-16M", "const a = new Uint8Array(1 << 24), b = new Uint8Array(1 << 24); for (;;) a.set(b);",
         (GAS, MEM)),
    Bomb("typedarray-indexOf-32M", "const a = new Uint8Array(1 << 25); let n = 0; for (;;) n += a.indexOf(1);", (GAS, MEM)),
    Bomb("typedarray-includes-32M", "const a = new Uint8Array(1 << 25); let n = 0; for (;;) n += a.includes(1);",
         (GAS, MEM)),
    Bomb("string-compare-16M",
         "const s = 'x'.repeat(1 << 24), t = 'x'.repeat(1 << 24); let n = 0; for (;;) n += (s === t) + (s < t);",
         (GAS, MEM)),
    Bomb("map-key-hashing-16M", "const s = 'x'.repeat(1 << 24), m = new Map(); for (;;) m.set(s, 1);", (GAS, MEM)),
    Bomb("parseFloat-loop", "for (;;) parseFloat('1.2345678901234567890123e-300');", (GAS,)),
    Bomb("toFixed-loop", "let i = 0; for (;;) (i++ * 1.1).toFixed(100);", (GAS,)),
    Bomb("toPrecision-loop", "let i = 0; for (;;) (i++ / 7).toPrecision(100);", (GAS,)),
    # deep structures and recursion
    Bomb("deep-recursion", "function r() { return r() + 1; } return r();", (STACK,)),
    Bomb("deep-recursion-big-frames",
         "function r(a, b, c, d, e, f, g, h) { const x = [a, b, c, d, e, f, g, h]; return r(...x) + x.length; } return r();",
         (STACK,)),
    Bomb("getter-recursion", "const o = { get x() { return this.x; } }; return o.x;", (STACK,)),
    Bomb("toString-recursion", "const o = { toString() { return String(this); } }; return String(o);", (STACK,)),
    Bomb("deep-JSON.stringify", "let a = []; for (let i = 0; i < 100000; i++) a = [a]; return JSON.stringify(a).length;",
         (GAS, STACK)),
    Bomb("deep-array-toString", "let a = []; for (let i = 0; i < 100000; i++) a = [a]; return String(a).length;",
         (STACK, GAS)),
    Bomb("deep-flat", "let a = [1]; for (let i = 0; i < 100000; i++) a = [a]; return a.flat(Infinity).length;",
         (STACK, GAS)),
    Bomb("deep-JSON.parse", "return JSON.parse('['.repeat(200000) + ']'.repeat(200000)).length;", (STACK,)),
    Bomb("bound-function-chain", "let g = () => 1; for (let i = 0; i < 100000; i++) g = g.bind(null); return g();",
         (STACK, MEM, GAS)),
    # Proxy-trap storms
    Bomb("proxy-chain-100000", "let p = {}; for (let i = 0; i < 100000; i++) p = new Proxy(p, {}); return p.x;",
         (STACK, GAS)),
    Bomb("proxy-get-recursion", "const p = new Proxy({}, { get: (t, k, r) => r[k] }); return p.x;", (STACK,)),
    Bomb("proxy-ownKeys-1e7",
         "const p = new Proxy({}, { ownKeys() { return Array.from({ length: 1e7 }, (_, i) => 'k' + i); } });"
         " return Object.keys(p).length;", (GAS, MEM)),
    Bomb("proxy-array-like-join",
         "const p = new Proxy([], { get: (t, k) => (k === 'length' ? 2 ** 32 - 1 : 'x') });"
         " return Array.prototype.join.call(p, '').length;", (GAS, MEM)),
    # errors that fight back while the harness reports them
    Bomb("throw-object-with-looping-toString", "throw { toString() { for (;;) {} } };", (GAS,)),
    Bomb("throw-error-with-looping-message-getter",
         "class E extends Error { get message() { for (;;) {} } } throw new E();", (GAS,)),
    Bomb("throw-huge-message", "throw new Error('x'.repeat(1 << 24));", (JS, GAS)),
    # output bombs
    Bomb("output-100MB-string", "return 'x'.repeat(100 * 1024 * 1024);", ("OutputTooLarge", GAS),
         limits={"memory_limit": 256 << 20}),
    Bomb("output-100MB-rope", "let s = 'x'.repeat(1 << 20); while (s.length < 100 * 1024 * 1024) s += s; return s;",
         ("OutputTooLarge",)),
    Bomb("output-100MB-default-limits", "return 'x'.repeat(100 * 1024 * 1024);", (MEM,)),
    # encoding costs gas too: whichever bound is reached first stops these
    Bomb("output-many-small-strings", "return Array(300000).fill('abcd');", ("OutputTooLarge", GAS)),
    Bomb("output-wide-object",
         "const o = {}; for (let i = 0; i < 100000; i++) o['k' + i] = 'v'; return o;", ("OutputTooLarge", GAS)),
    Bomb("output-huge-bigint", "return 2n ** 1000000n;", ("OutputTooLarge", GAS)),
]


class Worker:
    """One child process per engine, restarted after a hang or a crash."""

    def __init__(self):
        self.proc = None

    def _start(self):
        env = dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [str(Path.cwd()), os.environ.get("PYTHONPATH")])))
        self.proc = subprocess.Popen([sys.executable, str(WORKER)], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, text=True, env=env)

    def run(self, request: dict) -> dict:
        if self.proc is None or self.proc.poll() is not None:
            self._start()
        self.proc.stdin.write(json.dumps(request) + "\n")
        self.proc.stdin.flush()
        import selectors

        sel = selectors.DefaultSelector()
        sel.register(self.proc.stdout, selectors.EVENT_READ)
        ready = sel.select(HANG)
        sel.close()
        if not ready:
            self.stop()
            return {"outcome": "hang", "seconds": HANG}
        line = self.proc.stdout.readline()
        if not line:
            rc = self.proc.wait()
            err = self.proc.stderr.read()[-2000:]
            self.proc = None
            return {"outcome": "crash", "message": f"the worker died (exit {rc}): {err}", "seconds": 0.0}
        return json.loads(line)

    def stop(self):
        if self.proc is not None:
            self.proc.kill()
            self.proc.wait()
            self.proc = None


@pytest.fixture(scope="module")
def workers():
    pool = {engine: Worker() for engine in ENGINES}
    yield pool
    for w in pool.values():
        w.stop()


@pytest.mark.parametrize("bomb", [pytest.param(b, id=b.id) for b in BOMBS])
def test_resource_bomb(bomb, engine, workers, bomb_log):
    ans = workers[engine].run({"engine": engine, "source": bomb.source, "input": bomb.data, "limits": bomb.limits})
    got = ans.get("type") if ans["outcome"] == "error" else ans["outcome"]
    bomb_log(bomb.id + (" (limits changed)" if bomb.limits else ""), engine, str(got), ans["seconds"], ans.get("gas"))
    assert ans["outcome"] not in ("hang", "crash", "untyped"), f"{ans['outcome']}: {ans.get('message', '')}"
    assert got in bomb.expect, f"expected {bomb.expect}, got {got}: {ans.get('message') or ans.get('output')}"
    assert ans["seconds"] < LIMIT, f"took {ans['seconds']:.3f} s (> {LIMIT} s) for {ans.get('gas')} gas"
    if ans.get("phase") != "load":
        assert ans["probe"] == 43, f"the realm is broken after the bomb: {ans['probe']}"
    else:
        assert FrozenRealm(HEALTHY, engine=engine).call("add", {"a": 1, "b": 2}).output == 3


# ---- input bombs: refused by the host before anything reaches the guest --------------------


def _nested(levels, wrap=lambda v: [v]):
    v = 1
    for _ in range(levels):
        v = wrap(v)
    return v


@pytest.mark.parametrize("data, error", [
    pytest.param(_nested(10_000), InvalidInput, id="nested-10000-lists"),
    pytest.param(_nested(3000, lambda v: {"a": v}), InvalidInput, id="nested-3000-dicts"),
    pytest.param("x" * (2 << 20), InputTooLarge, id="input-2MB-string"),
    pytest.param(list(range(300_000)), InputTooLarge, id="input-300k-ints"),
])
def test_input_bomb(data, error, engine):
    realm = FrozenRealm("export function f(x) { return 1n; } export function g() { return 2n; }", engine=engine)
    with pytest.raises(error):
        realm.call("f", data)
    assert realm.call("g").output == 2
