"""Every line of runtime/PROFILE.md, on both engines."""

import pytest

from plugin_host import (
    CapabilityDenied,
    FrozenRealm,
    InvalidOutput,
    PluginException,
)

# name -> (JS expression, expected output)
PROBES = {
    # 1. the realm: intrinsics present and frozen, hidden intrinsics included
    "frozen_global": ("Object.isFrozen(globalThis)", True),
    "frozen_intrinsics": ("[Object, Object.prototype, Array.prototype, Function.prototype, Math, JSON, Reflect,"
                          " Promise.prototype, BigInt.prototype, RegExp.prototype, Map.prototype, Error,"
                          " Iterator.prototype, ArrayBuffer.prototype, Symbol].every(Object.isFrozen)", True),
    "frozen_hidden": ("[Object.getPrototypeOf(async function () {}), Object.getPrototypeOf(function* () {}),"
                      " Object.getPrototypeOf(async function* () {}),"
                      " Object.getPrototypeOf(Object.getPrototypeOf((function* () {})())),"
                      " Object.getPrototypeOf(Object.getPrototypeOf((async function* () {})())),"
                      " Object.getPrototypeOf([][Symbol.iterator]()), Object.getPrototypeOf(''[Symbol.iterator]()),"
                      " Object.getPrototypeOf(new Map().entries()), Object.getPrototypeOf(new Set().values()),"
                      " Object.getPrototypeOf(/x/[Symbol.matchAll]('')), Object.getPrototypeOf(Int8Array),"
                      " Object.getPrototypeOf([].values().map(x => x))].every(Object.isFrozen)", True),
    "throw_type_error_frozen": ("Object.isFrozen(Object.getOwnPropertyDescriptor("
                                "(function () { 'use strict'; return arguments; })(), 'callee').get)", True),
    "intrinsics_present": ("[RegExp, JSON, Proxy, Map, Set, WeakMap, WeakSet, ArrayBuffer, DataView, Uint8Array,"
                           " Promise, BigInt, Reflect, queueMicrotask].every(x => x !== undefined)", True),
    "global_write_throws": ("(() => { try { globalThis.x = 1; return 'wrote'; } catch (e) { return e.name; } })()",
                            "TypeError"),
    "proto_write_throws": ("(() => { try { Array.prototype.evil = 1; return 'wrote'; } catch (e) { return e.name; } })()",
                           "TypeError"),
    # 2. absent
    "absent": ("[typeof Date, typeof Math.random, typeof WeakRef, typeof FinalizationRegistry,"
               " typeof SharedArrayBuffer, typeof Atomics, typeof performance, typeof Intl, typeof setTimeout,"
               " typeof navigator, typeof print, typeof std, typeof os, typeof gc].every(t => t === 'undefined')",
               True),
    # 3. throwing with a stable message
    "eval": ("(() => { try { eval('1'); } catch (e) { return e.message; } })()", "eval is not supported"),
    "indirect_eval": ("(() => { try { (0, eval)('1'); } catch (e) { return e.message; } })()", "eval is not supported"),
    "function_ctor": ("(() => { try { Function('return 1'); } catch (e) { return e.message; } })()",
                      "eval is not supported"),
    "ctor_via_object": ("(() => { try { ({}).constructor.constructor('return this')(); } catch (e) { return e.message; } })()",
                        "eval is not supported"),
    "generator_ctor": ("(() => { try { (function* () {}).constructor('yield 1'); } catch (e) { return e.message; } })()",
                       "eval is not supported"),
    "async_ctor": ("(() => { try { (async function () {}).constructor('return 1'); } catch (e) { return e.message; } })()",
                   "eval is not supported"),
    "async_gen_ctor": ("(() => { try { (async function* () {}).constructor(''); } catch (e) { return e.message; } })()",
                       "eval is not supported"),
    # 4. tamed
    "prepare_stack_trace": ("(() => { try { Error.prepareStackTrace = () => 'x'; return 'set'; }"
                            " catch (e) { return [e.name, Error.prepareStackTrace === undefined]; } })()",
                            ["TypeError", True]),
    "stack_trace_limit": ("(() => { try { Error.stackTraceLimit = 0; } catch (e) {} return Error.stackTraceLimit; })()",
                          10.0),
    "override_tostring": ("(() => { const o = {}; o.toString = () => 'mine'; o.valueOf = () => 7;"
                          " return [String(o), o.valueOf(), Object.keys(o).length]; })()", ["mine", 7.0, 2.0]),
    "override_error_name": ("(() => { class E extends Error { constructor(m) { super(m); this.name = 'MyError'; } }"
                            " return String(new E('boom')); })()", "MyError: boom"),
    "override_intrinsic_still_throws": ("(() => { try { Object.prototype.toString = () => 'x'; return 'wrote'; }"
                                        " catch (e) { return e.name; } })()", "TypeError"),
    "untamed_assignment_throws": ("(() => { try { const a = []; a.push = null; return 'wrote'; }"
                                  " catch (e) { return e.name; } })()", "TypeError"),
    # 5. deterministic by construction
    "stack": ("new Error('x').stack", "    at p_stack (plugin.js:LINE:COL)\n"),
    "locale": ("[(1234567.891).toLocaleString(), 'I'.toLocaleLowerCase(), 'a'.localeCompare('b'),"
               " '\\u00e9'.localeCompare('e\\u0301')]", ["1234567.891", "i", -1.0, 0.0]),
    "sort_stable": ("[[1, 'a'], [0, 'b'], [1, 'c'], [0, 'd']].sort((x, y) => x[0] - y[0]).map(x => x[1]).join('')",
                    "bdac"),
    "math": ("[Math.sin(1), Math.exp(1), Math.cbrt(2), Math.atan2(1, 3), 0.1 ** 0.3]", None),
    "symbol_for": ("Symbol.keyFor(Symbol.for('shared'))", "shared"),
}


def _source():
    lines = [f"export function p_{name}() {{ return {expr}; }}" for name, (expr, _) in PROBES.items()]
    src = "\n".join(lines)
    return src


@pytest.fixture(scope="module", params=["wasmer", "wasmtime"])
def realm(request):
    return FrozenRealm(_source(), engine=request.param)


@pytest.mark.parametrize("name", list(PROBES))
def test_probe(realm, name):
    expr, expected = PROBES[name]
    out = realm.call(f"p_{name}").output
    if name == "stack":
        line = next(i for i, l in enumerate(_source().splitlines(), 1) if l.startswith("export function p_stack()"))
        assert out.startswith(f"    at p_stack (plugin.js:{line}:") and out.endswith(")\n")
        return
    if expected is not None:
        assert out == expected


def test_math_is_the_same_on_both_engines():
    outs = {e: FrozenRealm(_source(), engine=e).call("p_math").output for e in ("wasmer", "wasmtime")}
    assert outs["wasmer"] == outs["wasmtime"]


def test_imports_are_denied(engine):
    with pytest.raises(CapabilityDenied) as info:
        FrozenRealm("import x from 'fs'; export function f() { return 1n; }", engine=engine)
    assert info.value.capability == "import" and "'fs'" in str(info.value)
    realm = FrozenRealm("export async function f(name) { try { await import(name); } catch (e) { return 'caught'; } }\n"
                        "export async function self() { return (await import('./plugin.js')).answer(); }\n"
                        "export function answer() { return 42n; }", engine=engine)
    for name in ("fs", "./other.js", "https://example.com/x.js"):
        with pytest.raises(CapabilityDenied) as info:
            realm.call("f", name)
        assert info.value.capability == "import"
    # the plugin may import itself: that reaches nothing new
    assert realm.call("self").output == 42


def test_console_needs_the_log_capability_and_cannot_be_caught(engine):
    src = "export function f() { try { console.log('hi'); } catch (e) { return 'caught'; } return 'done'; }"
    with pytest.raises(CapabilityDenied) as info:
        FrozenRealm(src, engine=engine).call("f")
    assert info.value.capability == "log"
    res = FrozenRealm(src, engine=engine, capabilities=["log"]).call("f")
    assert res.output == "done" and res.logs == "hi\n"


def test_log_formats_values(engine):
    realm = FrozenRealm("export function f() { console.log('a', 1n, 2.5, {k: [true, null]}, () => 1); }",
                        engine=engine, capabilities=["log"])
    res = realm.call("f")
    assert res.output is None
    assert res.logs == 'a 1 2.5 {"k":[true,null]} () => 1\n'


# 6. promises: run to completion
ASYNC = """
let seen = 0;
export async function awaited() { await null; await Promise.resolve(); return 7n; }
export function returnsPromise() { return Promise.resolve(8n); }
export async function rejected() { await null; throw new Error("late"); }
export function never() { return new Promise(() => {}); }
export function sideJob() { queueMicrotask(() => { throw new Error("ignored"); }); Promise.reject(new Error("x")); return 1n; }
export function countJobs() { queueMicrotask(() => { seen++; }); return seen; }
"""


def test_promises_run_to_completion(engine):
    realm = FrozenRealm(ASYNC, engine=engine)
    assert realm.call("awaited").output == 7
    assert realm.call("returnsPromise").output == 8
    with pytest.raises(PluginException, match="late"):
        realm.call("rejected")
    with pytest.raises(InvalidOutput, match="never settled"):
        realm.call("never")
    assert realm.call("sideJob").output == 1
    # the queued job ran inside the previous call and its effect did not survive it
    assert realm.call("countJobs").output == 0 and realm.call("countJobs").output == 0


def test_top_level_await_runs_at_load(engine):
    realm = FrozenRealm("const v = await Promise.resolve(5n); export function f() { return v; }", engine=engine)
    assert realm.call("f").output == 5


# 7. pure calls
def test_module_state_resets_every_call(engine):
    realm = FrozenRealm("let n = 0; const cache = new Map(); export function f(k) { cache.set(k, 1); return [++n, cache.size]; }"
                        "\nexport function g() { return Symbol.for('x') === Symbol.for('x'); }", engine=engine)
    for k in range(5):
        assert realm.call("f", str(k)).output == [1, 1]
    assert realm.call("g").output is True


def test_generators_left_suspended_do_not_survive(engine):
    realm = FrozenRealm("""
        function* counter() { let i = 0; while (true) yield i++; }
        const shared = counter();
        export function next() { return shared.next().value; }
    """, engine=engine)
    assert [realm.call("next").output for _ in range(3)] == [0.0, 0.0, 0.0]
