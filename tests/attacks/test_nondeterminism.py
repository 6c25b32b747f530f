"""Family 3: ambient authority and nondeterminism.

Sources of ambient authority (clock, randomness, shared memory, GC observation) must be
absent. Everything else must be deterministic: the same output and the same gas on both
engines, on two calls of one realm and on a fresh realm (the receipt digest covers output,
error and gas, not the engine).
"""

import re

import pytest

from _harness import Attack, assert_deterministic, check_output, js_error, params, run_and_probe, run_attack
from plugin_host.errors import PluginException

REFERENCE_ERROR = dict(raises=PluginException, check=js_error("ReferenceError"))

REMOVED = [
    Attack("Date.now", "export function f() { return Date.now(); }", **REFERENCE_ERROR),
    Attack("new-Date", "export function f() { return new Date().getTime(); }", **REFERENCE_ERROR),
    Attack("Math.random", "export function f() { return Math.random(); }", raises=PluginException,
           check=js_error("TypeError")),
    Attack("Math.random-is-gone", "export function f() { return ['random' in Math, Object.isFrozen(Math)]; }",
           returns=[False, True]),
    Attack("performance.now", "export function f() { return performance.now(); }", **REFERENCE_ERROR),
    Attack("WeakRef", "export function f() { return new WeakRef({}).deref() !== undefined; }", **REFERENCE_ERROR),
    Attack("FinalizationRegistry", "export function f() { new FinalizationRegistry(() => {}).register({}, 1); }",
           **REFERENCE_ERROR),
    Attack("SharedArrayBuffer", "export function f() { return new SharedArrayBuffer(8).byteLength; }", **REFERENCE_ERROR),
    Attack("Atomics.wait", "export function f() { return Atomics.wait(new Int32Array(4), 0, 0, 1); }",
           **REFERENCE_ERROR),
    Attack("Intl", "export function f() { return new Intl.DateTimeFormat().resolvedOptions().timeZone; }",
           **REFERENCE_ERROR),
    Attack("Error.prepareStackTrace-set",
           "export function f() { Error.prepareStackTrace = (e, frames) => frames; return new Error('x').stack; }",
           raises=PluginException, check=js_error("TypeError", "read-only")),
    Attack("Error.stackTraceLimit-set", "export function f() { Error.stackTraceLimit = Infinity; }",
           raises=PluginException, check=js_error("TypeError", "read-only")),
    Attack("Error.stack-knobs-are-inert",
           "export function f() { try { Error.stackTraceLimit = 0; } catch (e) {}"
           " try { Object.defineProperty(Error, 'prepareStackTrace', { get() { return 1; } }); } catch (e) {}"
           " return [Error.stackTraceLimit, Error.prepareStackTrace === undefined, new Error('x').stack.length > 0]; }",
           returns=[10.0, True, True]),
]


def no_host_paths(stack):
    assert isinstance(stack, str) and "plugin.js" in stack
    for line in stack.splitlines():
        assert re.fullmatch(r"    at .*\((plugin\.js:\d+:\d+|native)\)|    at <input>:\d+:\d+", line), line
    assert not re.search(r"/(home|usr|tmp|work|root|proc)|\\\\", stack)


# (attack, input) pairs whose outcome must be the same everywhere
DETERMINISTIC = [
    Attack("error-stack", "export function f() { function inner() { return new Error('x').stack; } return inner(); }",
           check=no_host_paths),
    Attack("error-stack-through-natives",
           "export function f() { try { [1].map(() => null.x); } catch (e) { return e.stack; } }", check=no_host_paths),
    Attack("error-stack-async", "export async function f() { await null; return new Error('x').stack; }",
           check=no_host_paths),
    Attack("captureStackTrace", "export function f() { const o = {}; Error.captureStackTrace(o); return o.stack; }",
           check=no_host_paths),
    Attack("toLocaleString",
           "export function f() { return [(1234567.891).toLocaleString(), (12345678901234567890n).toLocaleString(),"
           " [1.5, 2].toLocaleString(), ({}).toLocaleString(), (0.1).toLocaleString('de-DE')]; }",
           returns=["1234567.891", "12345678901234567890", "1.5,2", "[object Object]", "0.1"]),
    Attack("localeCompare-and-case",
           "export function f() { return ['a'.localeCompare('B'), '\\u00e4'.localeCompare('z'), 'a'.localeCompare('a'),"
           " 'I'.toLocaleLowerCase('tr'), 'i'.toLocaleUpperCase('tr'), ['b', 'A', '\\u00e4', 'a'].sort((x, y) => x.localeCompare(y)).join('')]; }",
           returns=[1.0, 1.0, 0.0, "i", "I", "Aab\u00e4"]),
    Attack("normalize", "export function f() { return ['A\\u030a'.normalize('NFC'), '\\u00c5'.normalize('NFD').length]; }",
           returns=["\u00c5", 2.0]),
    Attack("math-libm",
           "export function f() { const x = [0.5, 1, 1e300, -3.7, 1e-10, 123.456];"
           " return x.flatMap((v) => [Math.sin(v), Math.cos(v), Math.tan(v), Math.exp(v), Math.log(Math.abs(v)),"
           " Math.pow(Math.abs(v), 0.37), Math.atan2(v, 3), Math.cbrt(v), Math.tanh(v), Math.expm1(v), Math.log1p(Math.abs(v)),"
           " Math.hypot(v, 4, 5), Math.asinh(v), Math.fround(v)]).map((r) => Number.isFinite(r) ? r : String(r)); }"),
    Attack("float-formatting",
           "export function f() { const x = [0.1 + 0.2, 1e21, 1e-7, 123.456, 5e-324, 2 ** 53 + 1, -0, 1 / 3];"
           " return x.flatMap((v) => [String(v), v.toFixed(20), v.toPrecision(21), v.toExponential(15), v.toString(7)]); }"),
    Attack("parseFloat-hard-cases",
           "export function f() { return ['2.2250738585072011e-308', '4.9406564584124654e-324', '0.1e-400',"
           " '1.7976931348623157e308', '9007199254740993', '1' + '0'.repeat(400), '.1e1', '0x10']"
           ".map((s) => String(parseFloat(s))); }"),
    Attack("nan-bits",
           "export function f() { const f = new Float64Array([Infinity - Infinity, 0 / 0, Math.sqrt(-1), NaN,"
           " -(Infinity - Infinity), Infinity * 0]); const u = new Uint32Array(f.buffer);"
           " return Array.from(u, (x) => x.toString(16)); }",
           returns=["0", "7ff80000"] * 6, note="NaN-boxing canonicalises NaN: no platform NaN payload leaks"),
    Attack("property-order-and-hashing",
           "export function f() { const o = {}; for (let i = 0; i < 2000; i++) o['k' + ((i * 7919) % 2000)] = i;"
           " o[5] = 1; o[1] = 1; const s = new Set(); for (let i = 0; i < 500; i++) s.add({ i });"
           " return [Object.keys(o).slice(0, 6), JSON.stringify(o).length, [...s].slice(-1)[0].i]; }",
           returns=[["1", "5", "k0", "k1919", "k1838", "k1757"], 23793.0, 499.0]),
    Attack("unstable-comparator",
           "export function f() { const a = Array.from({ length: 500 }, (_, i) => (i * 7919) % 503);"
           " let n = 0; a.sort(() => ((n = (n * 1103515245 + 12345) % 2147483648) & 4) - 2); return a.join(','); }"),
    Attack("timing-loop",
           "export function f() { let n = 0; const t = typeof performance === 'undefined' ? null : performance;"
           " for (let i = 0; i < 200000; i++) n += i & 7; return [n, t]; }", returns=[700000.0, None]),
    Attack("gc-pressure",
           "export function f() { let keep = []; for (let i = 0; i < 50000; i++) { const o = { a: [i], b: 'x' + i };"
           " if (i % 100 === 0) keep.push(o); } const wm = new WeakMap(); wm.set(keep[0], 1); return keep.length; }",
           returns=500.0),
    Attack("symbol-for-registry",
           "export function f() { const s = Symbol.for('app.key'); return [Symbol.keyFor(s), s === Symbol.for('app.key'),"
           " Symbol.keyFor(Symbol.iterator) ?? null, s.toString()]; }",
           returns=["app.key", True, None, "Symbol(app.key)"]),
    Attack("stack-depth-probe",
           "export function f() { let depth = 0; function r() { depth++; r(); } try { r(); } catch (e) {"
           " return [depth > 100, e.name]; } }", returns=[True, "RangeError"]),
    Attack("memory-probe",
           "export function f() { const keep = []; try { for (;;) keep.push(new Array(4096).fill(keep.length)); }"
           " catch (e) { return [keep.length > 10, String(e)]; } }",
           limits={"memory_limit": 2 << 20}),
    # How deep JSON.parse may nest before the JS stack check fires must not depend on the engine:
    # its native frames are much larger than its shadow-stack frames, and wasmtime's 2 MiB
    # native stack runs out first (a trap: StackOverflow) where wasmer's (the thread's) does not.
    Attack("json-parse-depth-12000",
           "export function f(d) { d = Number(d); try { JSON.parse('['.repeat(d) + ']'.repeat(d)); return 'parsed'; }"
           " catch (e) { return 'caught ' + e.message; } }", data=12000),
    Attack("json-parse-depth-100000",
           "export function f(d) { d = Number(d); try { JSON.parse('{\"a\":'.repeat(d) + '1' + '}'.repeat(d)); return 'parsed'; }"
           " catch (e) { return 'caught ' + e.message; } }", data=100000),
]


@pytest.mark.parametrize("attack", params(REMOVED))
def test_ambient_authority_is_absent(attack, engine):
    run_attack(attack, engine)


@pytest.mark.parametrize("attack", params(DETERMINISTIC))
def test_deterministic_on_both_engines(attack):
    """Same output and gas on both engines, across two calls and across a fresh realm."""
    kind, *rest = assert_deterministic(attack.source, attack.fn, attack.data, **attack.limits)
    assert kind == "ok", f"expected a harmless result, got {rest}"
    check_output(attack, rest[0])


@pytest.mark.parametrize("attack", params(DETERMINISTIC))
def test_deterministic_cases_leave_the_realm_working(attack, engine):
    run_and_probe(attack, engine)
