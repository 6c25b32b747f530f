"""The host side of composition: `plugins.call(sha256, functionName, input)` inside a realm.

A realm granted the `compose` capability and given a resolver (``sha256 -> FrozenRealm``; the
registry's only resolves active plugins its policy allows) can call other plugins through the
host. The callee runs in its own realm, on the caller's remaining gas, and its gas is charged
to the caller inside the guest; the caller's receipt lists every composed call. Composition is
depth-limited and acyclic: a plugin already on the current call path cannot be entered again
(its realm is mid-call).

The guest talks to this through its only import (runtime/harness/compose.c): this code must
never raise into the engine, so every failure becomes a refusal the plugin sees as a TypeError.
"""

from __future__ import annotations

import threading
import weakref
from typing import TYPE_CHECKING, Any, Callable, Optional

from . import _abi, _codec
from ._receipt import SubCall
from .errors import PluginError

if TYPE_CHECKING:
    from ._realm import FrozenRealm

Resolver = Callable[[str], "FrozenRealm"]
MAX_DEPTH = 4
# Bringing a callee's realm into a call (resolving, authorizing, forking a private instance from
# its snapshot) is host work of about a millisecond: charged once per distinct callee per call,
# whether or not anything was cached, so the charge does not depend on cache state.
RESOLVE_GAS = 1_000_000

_path = threading.local()  # the plugins on the current call path, outermost first


def call_path() -> list:
    stack = getattr(_path, "stack", None)
    if stack is None:
        stack = _path.stack = []
    return stack


class Composer:
    """One per realm: answers the guest's plugin_host.call and collects the call's sub-calls."""

    def __init__(self, realm: "FrozenRealm", resolver: Optional[Resolver]):
        self._realm = realm
        self.resolver = resolver
        self.loading = True  # no composition from a module's top-level code
        self._pending: Optional[tuple[int, bytes, int]] = None
        self.calls: list[SubCall] = []
        self._callees: dict[str, "FrozenRealm"] = {}

    def begin(self) -> None:
        """A new top-level call: nothing recorded, no callee brought in yet."""
        self.calls = []
        self._callees = {}
        self._pending = None

    def host_call(self, req_ptr: int, req_len: int, resp_ptr: int, resp_cap: int, io_ptr: int) -> None:
        mv = self._realm._inst.memory()
        try:
            if req_len == 0 and self._pending is not None:  # the guest made room for the answer
                status, data, gas = self._pending
                self._pending = None
                gas = 0  # charged with the first answer
            else:
                self._pending = None
                gas_left = _abi.HOST_IO.unpack_from(mv, io_ptr)[0]
                request = _codec.decode(bytes(mv[req_ptr:req_ptr + req_len]))
                status, data, gas = self._compose(request, gas_left)
            mv = self._realm._inst.memory()
            if len(data) > resp_cap:
                # the gas goes with this first answer: the guest charges it before it tries to
                # make room, so a caller that cannot make room has still paid for the callee
                self._pending = (status, data, gas)
                _abi.HOST_IO.pack_into(mv, io_ptr, 0, gas, _abi.HOST_RETRY, len(data))
                return
            mv[resp_ptr:resp_ptr + len(data)] = data
            _abi.HOST_IO.pack_into(mv, io_ptr, 0, gas, status, len(data))
        except BaseException as e:  # never into the engine
            data = _codec.canonical({"type": "GuestFault", "message": f"the host failed: {e!r}"[:500]})
            data = data if len(data) <= resp_cap else data[:0]
            mv[resp_ptr:resp_ptr + len(data)] = data
            _abi.HOST_IO.pack_into(mv, io_ptr, 0, 0, _abi.HOST_REFUSED, len(data))

    def _compose(self, request: Any, gas_left: int) -> tuple[int, bytes, int]:
        if not isinstance(request, dict) or not isinstance(request.get("plugin"), str) \
                or not isinstance(request.get("function"), str):
            return self._refuse("InvalidInput", "plugins.call(sha256, functionName, input)")
        sha, function, data = request["plugin"].lower(), request["function"], request.get("input")
        if self.loading:
            return self._refuse("CompositionRefused", "plugins.call is not available while the module loads")
        path = call_path()
        if len(path) >= MAX_DEPTH:
            return self._refuse("CompositionRefused", f"composition deeper than {MAX_DEPTH} plugins")
        if sha in path:
            return self._refuse("CompositionRefused", f"{sha[:12]}… is already on the call path (no cycles)")
        if self.resolver is None:
            return self._refuse("CompositionRefused", "this realm was given no resolver for other plugins")
        charge = 0
        callee = self._callees.get(sha)
        if callee is None:
            try:
                resolved = self.resolver(sha)
            except PluginError as e:
                return self._refuse(type(e).__name__, e.message)
            if getattr(resolved, "plugin_sha256", None) != sha:
                return self._refuse("CompositionRefused", f"the resolver answered another plugin for {sha[:12]}…")
            # a private instance for this call: nobody else's lock to wait on (no deadlock
            # between threads composing each other), and a cache eviction cannot rebuild it
            callee = self._callees[sha] = resolved.fork()
            charge = RESOLVE_GAS
        if gas_left <= charge:
            return _abi.HOST_CALLEE_FAILED, _codec.canonical({"type": "OutOfGas", "message": "no gas left for the call"}), gas_left
        try:
            res = callee.call(function, data, gas_limit=min(gas_left - charge, 2**62))
        except PluginError as e:
            r = e.receipt
            if r is not None:
                self._record(r)
            failure = _codec.canonical({"type": type(e).__name__, "message": e.message})
            return _abi.HOST_CALLEE_FAILED, failure, charge + (r.gas_used if r is not None else 0)
        self._record(res.receipt)
        return _abi.HOST_OK, _codec.canonical(res.output), charge + res.gas_used

    def _record(self, receipt) -> None:
        self.calls.append(SubCall(plugin_sha256=receipt.plugin_sha256, function=receipt.function,
                                  input_sha256=receipt.input_sha256, output_sha256=receipt.output_sha256,
                                  error=receipt.error, gas_used=receipt.gas_used,
                                  receipt_digest=receipt.digest()))

    @staticmethod
    def _refuse(kind: str, message: str) -> tuple[int, bytes, int]:
        return _abi.HOST_REFUSED, _codec.canonical({"type": kind, "message": message}), 0


def trampoline(composer: Composer) -> Callable[[int, int, int, int, int], None]:
    """The host function handed to the engine. Engines keep it where Python's garbage collector
    cannot see it, so it must not hold the realm: a bound method would make every realm
    immortal (instance -> callback -> composer -> realm -> instance)."""
    ref = weakref.ref(composer)

    def host_call(*args: int) -> None:
        composer = ref()
        if composer is not None:
            composer.host_call(*args)

    return host_call


__all__ = ["Composer", "Resolver", "MAX_DEPTH", "RESOLVE_GAS", "call_path", "trampoline"]
