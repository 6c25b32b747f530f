// Runs once in every new realm, before any plugin code. It removes ambient nondeterminism,
// tames the "override mistake", and returns the roots from which the harness (lockdown.c)
// freezes every reachable object. runtime/PROFILE.md describes the result; tests/ prove it.
(function lockdown(global) {
  "use strict";
  const { defineProperty, getOwnPropertyDescriptor, getPrototypeOf } = Object;
  const TypeErrorCtor = TypeError;

  // Ambient nondeterminism. The harness never adds Date, WeakRef, FinalizationRegistry,
  // performance or eval; these come with intrinsics it does add.
  delete Math.random;
  delete global.SharedArrayBuffer;
  delete global.Atomics;

  // quickjs-ng stores these behind accessors whose setters write hidden context state, which
  // freezing Error would not stop. Make them inert data properties.
  defineProperty(Error, "prepareStackTrace", { value: undefined, writable: false, enumerable: false, configurable: false });
  defineProperty(Error, "stackTraceLimit", { value: 10, writable: false, enumerable: false, configurable: false });

  // The override mistake: once Object.prototype is frozen, `obj.toString = f` throws even on
  // the plugin's own objects, because the inherited property is read-only. For the properties
  // code commonly assigns, replace the data property with an accessor whose setter defines an
  // own property on the receiver (the approach SES calls "moderate" taming).
  function tame(proto, names) {
    for (const name of names) {
      const desc = getOwnPropertyDescriptor(proto, name);
      if (!desc || !("value" in desc)) continue;
      const value = desc.value;
      defineProperty(proto, name, {
        get() { return value; },
        set(v) {
          if (this === proto) {
            throw new TypeErrorCtor(`Cannot assign to read only property '${String(name)}' of a frozen intrinsic`);
          }
          defineProperty(this, name, { value: v, writable: true, enumerable: true, configurable: true });
        },
        enumerable: desc.enumerable,
        configurable: false,
      });
    }
  }
  // Only properties that code assigns in practice: every tamed property costs a getter call on
  // each read, so hot methods (push, call, hasOwnProperty) keep their fast data properties.
  tame(Object.prototype, ["constructor", "toString", "toLocaleString", "valueOf"]);
  tame(Array.prototype, ["constructor", "toString"]);
  tame(Function.prototype, ["constructor", "toString"]);
  tame(Promise.prototype, ["constructor"]);
  for (const E of [Error, EvalError, RangeError, ReferenceError, SyntaxError, TypeError, URIError,
                   AggregateError, global.InternalError]) {
    if (E) tame(E.prototype, ["constructor", "name", "message", "toString"]);
  }

  // Hidden intrinsics: not reachable by name from globalThis, reachable from plugin code.
  const hidden = [];
  const reach = (f) => { try { hidden.push(f()); } catch (e) { /* absent in this engine */ } };
  reach(() => getPrototypeOf(async function () {}));
  reach(() => getPrototypeOf(function* () {}));
  reach(() => getPrototypeOf(async function* () {}));
  reach(() => getPrototypeOf((function* () {})()));
  reach(() => getPrototypeOf((async function* () {})()));
  reach(() => getPrototypeOf([][Symbol.iterator]()));
  reach(() => getPrototypeOf(""[Symbol.iterator]()));
  reach(() => getPrototypeOf(new Map()[Symbol.iterator]()));
  reach(() => getPrototypeOf(new Set()[Symbol.iterator]()));
  reach(() => getPrototypeOf(/x/[Symbol.matchAll]("")));
  reach(() => getPrototypeOf(Int8Array));
  reach(() => getOwnPropertyDescriptor((function () { "use strict"; return arguments; })(), "callee").get);
  reach(() => getPrototypeOf([].values().map((x) => x)));
  reach(() => getPrototypeOf(Iterator.from({ next() { return { done: true }; } })));
  reach(() => getPrototypeOf(Iterator.concat()));
  reach(() => getPrototypeOf(Iterator.zip([])));
  return [global, ...hidden];
})(globalThis);
