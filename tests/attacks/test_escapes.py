"""Families 1 and 2: reaching the host or the global object, and mutating shared intrinsics.

Every attack runs on both engines; afterwards the same realm must answer a normal call with
the same output for the same gas (see _harness.run_attack).
"""

import pytest

from _harness import Attack, params, run_attack, js_error
from plugin_host.errors import (
    CapabilityDenied,
    LogLimitExceeded,
    PluginException,
    PluginSyntaxError,
)


def denied(capability):
    def check(err):
        assert err.capability == capability

    return check


NO_EVAL = dict(raises=PluginException, check=js_error("TypeError", "^eval is not supported$"))

# ---- family 1: reaching the host or the global object --------------------------------------

REACH = [
    Attack("ctor-ctor-return-this", 'export function f() { return ({}).constructor.constructor("return this")(); }', **NO_EVAL),
    Attack("function-prototype-constructor",
           'export function f() { return Function.prototype.constructor("return globalThis")(); }', **NO_EVAL),
    Attack("new-Function", 'export function f() { return new Function("return this")(); }', **NO_EVAL),
    Attack("Function-via-bind", 'export function f() { return Function.bind(null, "return 1")()(); }', **NO_EVAL),
    Attack("Function-via-Reflect-construct", 'export function f() { return Reflect.construct(Function, ["return 1"])(); }',
           **NO_EVAL),
    Attack("Function-via-Proxy", 'export function f() { return new Proxy(Function, {})("return 1")(); }', **NO_EVAL),
    Attack("generator-function-constructor",
           'export function f() { const G = Object.getPrototypeOf(function* () {}).constructor;'
           ' return G("yield this")().next().value; }', **NO_EVAL),
    Attack("async-function-constructor",
           'export function f() { const A = Object.getPrototypeOf(async function () {}).constructor;'
           ' return A("return this"); }', **NO_EVAL),
    Attack("async-generator-function-constructor",
           'export function f() { return (async function* () {}).constructor("yield 1"); }', **NO_EVAL),
    Attack("direct-eval", 'export function f() { return eval("this"); }', **NO_EVAL),
    Attack("indirect-eval", 'export function f() { return (0, eval)("this"); }', **NO_EVAL),
    Attack("eval-by-computed-name", 'export function f() { return globalThis["ev" + "al"]("globalThis"); }', **NO_EVAL),
    Attack("this-is-undefined", "export function f() { return [typeof this, typeof (function () { return this; })()]; }",
           returns=["undefined", "undefined"]),
    Attack("caller-and-callee-are-poisoned",
           "export function f() { function g() { return g.caller; } return g(); }",
           raises=PluginException, check=js_error("TypeError")),
    Attack("no-host-objects",
           "export function f() { return [typeof std, typeof os, typeof print, typeof gc, typeof scriptArgs,"
           " typeof require, typeof process, typeof fetch, typeof WebAssembly, typeof setTimeout,"
           " typeof performance, typeof Intl].filter((t) => t !== 'undefined').length; }",
           returns=0.0),
    Attack("import-meta-is-empty", "export function f() { return [Object.keys(import.meta), import.meta.url ?? null]; }",
           returns=[[], None]),
    # imports
    Attack("dynamic-import", 'export async function f() { return (await import("fs")).readFileSync("/etc/passwd"); }',
           raises=CapabilityDenied, check=denied("import")),
    Attack("dynamic-import-path", 'export async function f() { await import("../../../../etc/passwd"); }',
           raises=CapabilityDenied, check=denied("import")),
    Attack("dynamic-import-try-catch",
           'export async function f() { try { await import("os"); } catch (e) { return "swallowed"; } }',
           raises=CapabilityDenied, check=denied("import")),
    # PROFILE.md §3: a denial is uncatchable, "the call fails with CapabilityDenied even if the
    # plugin tried". A promise rejection handler is another way to try.
    Attack("dynamic-import-promise-catch", 'export function f() { return import("os").catch(() => "swallowed"); }',
           raises=CapabilityDenied, check=denied("import")),
    Attack("dynamic-import-allSettled",
           'export function f() { return Promise.allSettled([import("os")]).then((r) => r[0].status); }',
           raises=CapabilityDenied, check=denied("import")),
    Attack("console-denial-in-promise-executor",
           'export function f() { return new Promise(() => console.log("x")).catch(() => "swallowed"); }',
           raises=CapabilityDenied, check=denied("log")),
    Attack("log-limit-in-promise-executor",
           'export function f() { return new Promise(() => { for (;;) console.log("x".repeat(1000)); })'
           '.catch(() => "swallowed"); }',
           raises=LogLimitExceeded, limits={"capabilities": ("log",)}),
    Attack("dynamic-import-self", 'export async function f() { const m = await import("./plugin.js"); return typeof m.f; }',
           returns="function", note="the plugin importing itself reaches nothing new"),
    Attack("static-import", 'import fs from "fs";\nexport function f() { return fs; }',
           raises=CapabilityDenied, at_load=True, check=denied("import")),
    Attack("static-import-side-effect", 'import "std";\nexport function f() {}',
           raises=CapabilityDenied, at_load=True, check=denied("import")),
    Attack("re-export", 'export * from "os";\nexport function f() {}', raises=CapabilityDenied, at_load=True,
           check=denied("import")),
    Attack("import-with-attributes", 'import data from "secrets.json" with { type: "json" };\nexport function f() {}',
           raises=CapabilityDenied, at_load=True, check=denied("import")),
    Attack("with-statement", "export function f() { with ({}) { return 1; } }", raises=PluginSyntaxError,
           at_load=True, match="with"),
    Attack("with-in-nested-function", "export function f() { return function () { with (globalThis) { return Date; } }; }",
           raises=PluginSyntaxError, at_load=True),
    Attack("unscopables-are-frozen",
           "export function f() { const u = Array.prototype[Symbol.unscopables];"
           " try { u.flat = false; } catch (e) { return [Object.isFrozen(u), e.name]; } return 'wrote'; }",
           returns=[True, "TypeError"]),
    Attack("sloppy-mode-function-via-string", "export function f() { return setTimeout('globalThis'); }",
           raises=PluginException, check=js_error("ReferenceError")),
]

# ---- family 2: mutating shared intrinsics ---------------------------------------------------

TYPE_ERROR = dict(raises=PluginException, check=js_error("TypeError"))


def _try(stmt, result="1"):
    """A plugin that attempts `stmt` and returns the error's name, or `result` if it worked."""
    return f"export function f() {{ try {{ {stmt}; }} catch (e) {{ return e.name; }} return {result}; }}"


MUTATE = [
    Attack("array-prototype-write", "export function f() { Array.prototype.evil = 1; return [].evil; }", **TYPE_ERROR),
    Attack("object-prototype-write", "export function f() { Object.prototype.polluted = 1; }", **TYPE_ERROR),
    Attack("object-prototype-write-at-load", "Object.prototype.polluted = 1;\nexport function f() {}",
           raises=PluginException, at_load=True, check=js_error("TypeError")),
    Attack("json-parse-replace", "export function f() { JSON.parse = () => ({}); }", **TYPE_ERROR),
    Attack("math-constant", "export function f() { Math.PI = 3; }", **TYPE_ERROR),
    Attack("math-assign", "export function f() { Object.assign(Math, { max: () => 0 }); }", **TYPE_ERROR),
    Attack("math-delete", "export function f() { delete Math.max; }", **TYPE_ERROR),
    Attack("globalThis-new-property", "export function f() { globalThis.x = 1; }", **TYPE_ERROR),
    Attack("globalThis-replace-Array", "export function f() { globalThis.Array = null; }", **TYPE_ERROR),
    Attack("globalThis-define-Date", 'export function f() { Object.defineProperty(globalThis, "Date", { value: 1 }); }',
           **TYPE_ERROR),
    Attack("globalThis-undefined", "export function f() { globalThis.undefined = 1; }", **TYPE_ERROR),
    Attack("defineProperty-array-map", 'export function f() { Object.defineProperty(Array.prototype, "map", { value: 1 }); }',
           **TYPE_ERROR),
    Attack("Reflect-defineProperty-is-refused",
           'export function f() { return [Reflect.defineProperty(JSON, "x", { value: 1 }), Reflect.set(Array.prototype, "x", 1),'
           ' Reflect.setPrototypeOf(Math, null), Reflect.deleteProperty(Math, "max")]; }',
           returns=[False, False, False, False]),
    Attack("setPrototypeOf-object-prototype", "export function f() { Object.setPrototypeOf(Object.prototype, {}); }",
           **TYPE_ERROR),
    Attack("setPrototypeOf-array-prototype", "export function f() { Object.setPrototypeOf(Array.prototype, null); }",
           **TYPE_ERROR),
    Attack("proto-assignment-on-intrinsic", "export function f() { Array.prototype.__proto__ = null; }", **TYPE_ERROR),
    Attack("defineGetter-on-intrinsic", 'export function f() { Array.prototype.__defineGetter__("x", () => 1); }',
           **TYPE_ERROR),
    Attack("promise-then-hijack", "export function f() { Promise.prototype.then = function () {}; }", **TYPE_ERROR),
    Attack("array-iterator-hijack", "export function f() { Array.prototype[Symbol.iterator] = function* () {}; }",
           **TYPE_ERROR),
    Attack("function-call-hijack", "export function f() { Function.prototype.call = () => 1; }", **TYPE_ERROR),
    Attack("array-prototype-length", "export function f() { Array.prototype.length = 5; }", **TYPE_ERROR),
    Attack("array-prototype-push", "export function f() { Array.prototype.push(1); }", **TYPE_ERROR),
    Attack("captureStackTrace-on-intrinsics",
           "export function f() { for (const o of [Object.prototype, globalThis, Error.prototype])"
           " try { Error.captureStackTrace(o); } catch (e) {}"
           " return [Object.hasOwn(Object.prototype, 'stack'), Object.hasOwn(globalThis, 'stack'),"
           "         'get' in Object.getOwnPropertyDescriptor(Error.prototype, 'stack')]; }",
           returns=[False, False, True], note="Error.prototype.stack is quickjs-ng's own accessor"),
    Attack("error-stack-setter-on-intrinsics",
           "export function f() { const set = Object.getOwnPropertyDescriptor(Error.prototype, 'stack').set;"
           " const mine = {}; set.call(mine, 'ok'); const out = [mine.stack];"
           " for (const t of [Object.prototype, Error.prototype, globalThis, Array.prototype])"
           "   try { set.call(t, 'pwn'); out.push('wrote'); } catch (e) { out.push(e.name); }"
           " return out; }",
           returns=["ok", "TypeError", "TypeError", "TypeError", "TypeError"]),
    # the override mistake (PROFILE.md §4): the tamed properties work on the plugin's own objects
    Attack("override-mistake-tamed",
           "export function f() {"
           " const o = {}; o.toString = () => 'o'; o.valueOf = () => 7; o.constructor = 5; o.toLocaleString = () => 'l';"
           " const a = []; a.toString = () => 'a';"
           " const fn = function () {}; fn.toString = () => 'fn';"
           " class MyError extends Error { constructor() { super('m'); this.name = 'MyError'; } }"
           " const e = new Error('x'); e.message = 'y';"
           " return [String(o), o.valueOf(), o.constructor, o.toLocaleString(), String(a), String(fn),"
           "         String(new MyError()), String(e)]; }",
           returns=["o", 7.0, 5.0, "l", "a", "fn", "MyError: m", "Error: y"]),
    Attack("override-mistake-untamed-stays-an-error",
           _try("const o = {}; o.hasOwnProperty = () => true", "'assigned'"), returns="TypeError",
           note="only the tamed list is assignable; everything else keeps strict-mode semantics"),
    Attack("override-mistake-defineProperty-works",
           'export function f() { const o = {}; Object.defineProperty(o, "hasOwnProperty", { value: () => "mine" });'
           " return o.hasOwnProperty(); }", returns="mine"),
    Attack("tamed-setter-on-the-intrinsic", "export function f() { Object.prototype.toString = () => 'hacked'; }",
           raises=PluginException, check=js_error("TypeError", "frozen intrinsic")),
    Attack("tamed-setter-called-on-other-intrinsics",
           "export function f() { const set = Object.getOwnPropertyDescriptor(Object.prototype, 'toString').set;"
           " const out = [];"
           " for (const t of [Array.prototype, Function.prototype, Math, JSON, globalThis, Object.freeze({})])"
           "   try { set.call(t, () => 'pwn'); out.push('wrote'); } catch (e) { out.push(e.name); }"
           " return [out, String([1]), Object.prototype.toString.call(Math)]; }",
           returns=[["TypeError"] * 6, "1", "[object Math]"]),
    Attack("iterator-prototype-accessor-setters",
           "export function f() { const out = [];"
           " for (const k of ['constructor', Symbol.toStringTag]) {"
           "   const set = Object.getOwnPropertyDescriptor(Iterator.prototype, k).set;"
           "   for (const t of [Iterator.prototype, Object.prototype, Array.prototype])"
           "     try { set.call(t, 'pwn'); out.push('wrote'); } catch (e) { out.push(e.name); } }"
           " return out; }",
           returns=["TypeError"] * 6),
]

# Everything plugin code can reach, with or without a name, is frozen (PROFILE.md §1).
WALK = """
export function f() {
  const gen = (function* () {})(), agen = (async function* () {})();
  const roots = {
    globalThis,
    AsyncFunction: Object.getPrototypeOf(async function () {}),
    GeneratorFunction: Object.getPrototypeOf(function* () {}),
    AsyncGeneratorFunction: Object.getPrototypeOf(async function* () {}),
    Generator: Object.getPrototypeOf(Object.getPrototypeOf(gen)),
    AsyncGenerator: Object.getPrototypeOf(Object.getPrototypeOf(agen)),
    AsyncIterator: Object.getPrototypeOf(Object.getPrototypeOf(Object.getPrototypeOf(agen))),
    ArrayIterator: Object.getPrototypeOf([][Symbol.iterator]()),
    StringIterator: Object.getPrototypeOf(""[Symbol.iterator]()),
    MapIterator: Object.getPrototypeOf(new Map()[Symbol.iterator]()),
    SetIterator: Object.getPrototypeOf(new Set()[Symbol.iterator]()),
    RegExpStringIterator: Object.getPrototypeOf(/x/[Symbol.matchAll]("")),
    TypedArray: Object.getPrototypeOf(Int8Array),
    ThrowTypeError: Object.getOwnPropertyDescriptor((function () { return arguments; })(), "callee").get,
    IteratorHelper: Object.getPrototypeOf([].values().map((x) => x)),
    WrapForValidIterator: Object.getPrototypeOf(Iterator.from({ next() { return { done: true }; } })),
    BoundFunction: Object.getPrototypeOf((() => 1).bind(null)),
    Arguments: Object.getPrototypeOf((function () { return arguments; })()),
  };
  for (const make of [() => Iterator.concat(), () => Iterator.zip([]), () => new DisposableStack(),
                      () => new AsyncDisposableStack(), () => new SuppressedError(1, 2)]) {
    try { roots["made" + Object.keys(roots).length] = Object.getPrototypeOf(make()); } catch (e) { }
  }
  const seen = new Set(), unfrozen = [];
  const queue = Object.entries(roots);
  while (queue.length) {
    const [path, o] = queue.pop();
    if ((typeof o !== "object" && typeof o !== "function") || o === null || seen.has(o)) continue;
    seen.add(o);
    if (!Object.isFrozen(o)) unfrozen.push(path);
    for (const k of Reflect.ownKeys(o)) {
      const d = Reflect.getOwnPropertyDescriptor(o, k), name = path + "." + String(k);
      if ("value" in d) queue.push([name, d.value]);
      if (d.get) queue.push([name + "<get>", d.get]);
      if (d.set) queue.push([name + "<set>", d.set]);
    }
    queue.push([path + ".__proto__", Object.getPrototypeOf(o)]);
  }
  return { reached: seen.size > 500, unfrozen };
}
"""

MUTATE.append(Attack("every-reachable-object-is-frozen", WALK, returns={"reached": True, "unfrozen": []}))


@pytest.mark.parametrize("attack", params(REACH))
def test_reach_host_or_global(attack, engine):
    run_attack(attack, engine)


@pytest.mark.parametrize("attack", params(MUTATE))
def test_mutate_intrinsics(attack, engine):
    run_attack(attack, engine)
