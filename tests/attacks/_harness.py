"""Shared machinery of the attack corpus (tests/attacks/).

An :class:`Attack` is one small plugin plus what it must produce: a typed error
(``raises``) or a harmless result (``returns`` / ``check``). :func:`run_attack` runs it on
one engine and then proves the realm still works: every attack source gets a ``__probe``
export appended, which is called before and after the attack and must give the same output
for the same gas (so the attack left nothing behind that a later call could see). Attacks
that fail at load prove instead that the host can still load and call a healthy plugin.

Family numbers follow the issue: 1 reaching the host or the global object, 2 mutating shared
intrinsics, 3 ambient authority and nondeterminism, 4 state leaking between calls, 5 resource
bombs, 6 boundary abuse, 7 guest-ABI abuse.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from typing import Any, Callable, Optional

import pytest

from plugin_host import FrozenRealm
from plugin_host.errors import PluginError

ENGINES = ("wasmer", "wasmtime")

PROBE_SOURCE = """
export function __probe({ a, b }) {
  return [a * b + 1n, Object.isFrozen(globalThis), typeof Date, [3, 1, 2].sort().join()];
}
"""
PROBE_INPUT = {"a": 6, "b": 7}
PROBE_OUTPUT = [43, True, "undefined", "1,2,3"]

HEALTHY = "export function add({ a, b }) { return a + b; }"

ANY = object()  # `returns` sentinel: any output is harmless (use `check` to say more)


@dataclass(frozen=True)
class Attack:
    id: str
    source: str
    raises: Optional[type] = None  # the typed error the attack must end with ...
    returns: Any = ANY  # ... or the harmless value it must return
    match: Optional[str] = None  # regex the error message must match (re.search)
    fn: str = "f"
    data: Any = None
    at_load: bool = False  # the error comes from FrozenRealm(...), not from the call
    check: Optional[Callable[[Any], None]] = None  # more assertions on the error or the output
    or_raises: Optional[type] = None  # with `returns`: this typed error is acceptable too
    limits: dict = field(default_factory=dict)
    note: str = ""


def params(attacks):
    return [pytest.param(a, id=a.id) for a in attacks]


def same(x: Any, y: Any) -> bool:
    """Equality that tells 1 (BigInt) from 1.0 (Number) and -0.0 from 0.0."""
    if type(x) is not type(y):
        return False
    if isinstance(x, list):
        return len(x) == len(y) and all(same(a, b) for a, b in zip(x, y))
    if isinstance(x, dict):
        return x.keys() == y.keys() and all(same(x[k], y[k]) for k in x)
    if isinstance(x, float) and x == 0 == y:
        return math.copysign(1.0, x) == math.copysign(1.0, y)
    return x == y


def outcome(realm: FrozenRealm, fn: str, data: Any = None) -> tuple:
    """What a call did, in a comparable form (untyped exceptions propagate and fail the test)."""
    try:
        res = realm.call(fn, data)
    except PluginError as e:
        assert e.receipt is not None and e.receipt.error.type == type(e).__name__
        return ("error", type(e).__name__, e.message, e.receipt.gas_used, e.receipt.digest())
    return ("ok", res.output, res.gas_used, res.receipt.digest())


def assert_host_works(engine: str) -> None:
    """A healthy plugin loads and answers on this engine."""
    assert FrozenRealm(HEALTHY, engine=engine).call("add", {"a": 2, "b": 40}).output == 42


def check_error(a: Attack, err: PluginError) -> None:
    assert isinstance(err, PluginError)
    if a.match is not None:
        assert re.search(a.match, err.message), f"{type(err).__name__}: {err.message!r} !~ {a.match!r}"
    if a.check is not None:
        a.check(err)


def check_output(a: Attack, out: Any) -> None:
    if a.returns is not ANY:
        assert same(out, a.returns), f"returned {out!r}, expected {a.returns!r}"
    if a.check is not None:
        a.check(out)


def expect_error(cls: type, action: Callable[[], Any], what: str) -> PluginError:
    """Runs `action`, which must raise `cls` (untyped exceptions propagate and fail)."""
    try:
        value = action()
    except PluginError as e:
        assert isinstance(e, cls), f"expected {cls.__name__}, {what} raised {type(e).__name__}: {e.message}"
        return e
    pytest.fail(f"expected {cls.__name__}, but {what} succeeded" + (f" and returned {value!r:.200}" if value is not None else ""))


def run_attack(a: Attack, engine: str) -> Any:
    """Runs one attack on one engine, checks its outcome, proves the realm still works."""
    source = a.source + PROBE_SOURCE
    if a.at_load:
        err = expect_error(a.raises, lambda: FrozenRealm(source, engine=engine, **a.limits), "the load")
        check_error(a, err)
        assert err.receipt is None
        assert_host_works(engine)
        return err
    realm = FrozenRealm(source, engine=engine, **a.limits)
    before = realm.call("__probe", PROBE_INPUT)
    assert same(before.output, PROBE_OUTPUT)
    if a.raises is not None:
        result = expect_error(a.raises, lambda: realm.call(a.fn, a.data).output, "the call")
        check_error(a, result)
        assert result.receipt is not None and result.receipt.error.type == type(result).__name__
    else:
        try:
            result = realm.call(a.fn, a.data).output
        except PluginError as e:
            if a.or_raises is None or not isinstance(e, a.or_raises):
                pytest.fail(f"expected a harmless result, got {type(e).__name__}: {e.message}")
            result = e
        else:
            check_output(a, result)
    # the realm still works, and the attack left nothing behind: same answer, same gas
    after = realm.call("__probe", PROBE_INPUT)
    assert same(after.output, PROBE_OUTPUT)
    assert after.gas_used == before.gas_used, "the probe's gas changed after the attack: state leaked"
    return result


def run_and_probe(a: Attack, engine: str) -> tuple:
    """Runs one attack accepting any result or typed error; proves the realm still works."""
    realm = FrozenRealm(a.source + PROBE_SOURCE, engine=engine, **a.limits)
    before = realm.call("__probe", PROBE_INPUT)
    got = outcome(realm, a.fn, a.data)
    after = realm.call("__probe", PROBE_INPUT)
    assert same(after.output, PROBE_OUTPUT) and after.gas_used == before.gas_used
    return got


def js_error(name: str, message: Optional[str] = None) -> Callable[[PluginError], None]:
    """A `check` for PluginException: the JS error's name (and message regex)."""

    def check(err: PluginError) -> None:
        assert err.js_name == name, f"threw {err.js_name}: {err.js_message}"
        if message is not None:
            assert re.search(message, err.js_message), err.js_message

    return check


def assert_deterministic(source: str, fn: str = "f", data: Any = None, **limits: Any) -> tuple:
    """Same outcome (output or error, gas, receipt digest) on both engines, on two calls of
    one realm and on a fresh realm. Returns that outcome."""
    seen = []
    for engine in ENGINES:
        realm = FrozenRealm(source, engine=engine, **limits)
        seen.append((engine, "first call", outcome(realm, fn, data)))
        seen.append((engine, "second call", outcome(realm, fn, data)))
        seen.append((engine, "fresh realm", outcome(FrozenRealm(source, engine=engine, **limits), fn, data)))
    first = seen[0][2]
    for engine, when, got in seen[1:]:
        assert got == first, f"{engine} {when}: {got!r} != wasmer first call: {first!r}"
    return first
