"""FrozenRealm: one plugin, loaded once, called as a pure function.

A realm is a QuickJS context inside a WebAssembly instance. After the plugin is loaded and the
realm locked down, the host snapshots the instance's linear memory; before every call it
restores the bytes the previous call could have changed (the guest reports two ranges: the
stack it used, and the writable statics and heap; the read-only data between them is skipped), and
after any trap or memory growth it replaces the instance. So every call starts from the same
bytes: module-level state cannot leak from one call to the next, and gas repeats exactly.
"""

from __future__ import annotations

import os
import threading
import zlib
from typing import Any, Iterable, Optional, Union

import msgspec

from . import _abi, _cache, _codec
from . import _guest
from ._compose import Composer, Resolver, call_path, trampoline
from ._engines import THREAD_BOUND, Trap, check_thread_stack, get_engine
from ._receipt import (
    DEFAULT_DEPTH_LIMIT,
    DEFAULT_GAS_LIMIT,
    DEFAULT_IO_LIMIT,
    DEFAULT_LOG_LIMIT,
    DEFAULT_MEMORY_LIMIT,
    DEFAULT_STACK_LIMIT,
    MAX_SOURCE_BYTES,
    MAX_STACK_LIMIT,
    Limits,
    Receipt,
    ReceiptError,
)
from ._result import CallResult, receipt_fields
from .errors import (
    CapabilityDenied,
    ConfigurationError,
    GuestFault,
    InputTooLarge,
    InvalidInput,
    InvalidOutput,
    LogLimitExceeded,
    MemoryLimitExceeded,
    NoSuchExport,
    OutOfGas,
    OutputTooLarge,
    PluginError,
    PluginException,
    PluginSyntaxError,
    RuntimeUnavailable,
    StackOverflow,
)

__all__ = ["FrozenRealm", "CallResult", "CAPABILITIES"]

CAPABILITIES = frozenset(_abi.CAPABILITY_BITS)
_BROKEN = "broken"  # the instance must be replaced before the next call
# Tests set this to check every restore against the whole snapshot (slow: a full compare).
_VERIFY_RESTORE = os.environ.get("PLUGIN_HOST_VERIFY_RESTORE") == "1"
# The guest's shadow stack occupies [0, 256 KiB) (runtime/lock.json's stack_size): every
# honest report of the lowest address a call wrote is below it.
_STACK_TOP = 256 * 1024
# Loaded realms are cached as memory images (see _cache.py); this turns that off.
_IMAGE_CACHE = os.environ.get("PLUGIN_HOST_NO_IMAGE_CACHE") != "1"


def _source_bytes(source: Union[str, bytes]) -> bytes:
    if isinstance(source, str):
        try:
            data = source.encode("utf-8")
        except UnicodeEncodeError as e:
            raise PluginSyntaxError(f"the source is not valid Unicode: {e.reason}") from None
    elif isinstance(source, (bytes, bytearray, memoryview)):
        data = bytes(source)
        try:
            data.decode("utf-8")
        except UnicodeDecodeError as e:
            raise PluginSyntaxError(f"the source is not UTF-8 (byte {e.start}: {e.reason})") from None
    else:
        raise PluginSyntaxError(f"the source must be str or bytes, not {type(source).__name__}")
    if len(data) > MAX_SOURCE_BYTES:
        raise PluginSyntaxError(f"the source is {len(data)} bytes, over the {MAX_SOURCE_BYTES}-byte limit")
    if b"\0" in data:
        raise PluginSyntaxError("the source contains a NUL byte")
    return data


def _limits(**given: int) -> Limits:
    bounds = {"gas": (1, 2**62), "memory": (1 << 20, 768 << 20), "stack": (16 << 10, MAX_STACK_LIMIT),
              "input": (16, 256 << 20), "output": (64, 256 << 20), "log": (0, 16 << 20),
              "depth": (1, _codec.MAX_DEPTH_CEILING)}
    for name, value in given.items():
        lo, hi = bounds[name]
        if type(value) is not int or not lo <= value <= hi:
            raise ConfigurationError(f"{name} limit must be an int in [{lo}, {hi}], got {value!r}")
    return Limits(**given)


class FrozenRealm:
    """A deterministic, capability-free JS realm running one plugin.

    >>> realm = FrozenRealm('export function add({a, b}) { return a + b }')
    >>> realm.call("add", {"a": 1, "b": 2}).output
    3

    Threads: a wasmtime realm may be shared between threads (its calls are serialized); a
    wasmer realm belongs to the thread that created it (wasmer-python's objects cannot cross
    threads), so create one per thread. Using it from another thread raises
    ConfigurationError instead of crashing.
    """

    def __init__(
        self,
        source: Union[str, bytes],
        *,
        engine: str = "wasmer",
        gas_limit: int = DEFAULT_GAS_LIMIT,
        memory_limit: int = DEFAULT_MEMORY_LIMIT,
        stack_limit: int = DEFAULT_STACK_LIMIT,
        input_limit: int = DEFAULT_IO_LIMIT,
        output_limit: int = DEFAULT_IO_LIMIT,
        log_limit: int = DEFAULT_LOG_LIMIT,
        depth_limit: int = DEFAULT_DEPTH_LIMIT,
        capabilities: Iterable[str] = (),
        resolver: Optional[Resolver] = None,
    ):
        """``resolver`` maps a plugin sha256 to the FrozenRealm that runs it; with the
        ``compose`` capability, ``plugins.call(sha256, name, input)`` goes through it."""
        limits = _limits(gas=gas_limit, memory=memory_limit, stack=stack_limit, input=input_limit,
                         output=output_limit, log=log_limit, depth=depth_limit)
        caps = frozenset(capabilities)
        unknown = caps - CAPABILITIES
        if unknown:
            raise ConfigurationError(f"unknown capabilities {sorted(unknown)}; known: {sorted(CAPABILITIES)}")
        src = _source_bytes(source)
        check_thread_stack()
        wasm, runtime_sha256 = _guest.runtime()
        self._init_state(engine, get_engine(engine, wasm, runtime_sha256), runtime_sha256,
                         _codec.sha256_hex(src), limits, caps, resolver)
        self._load(src)

    def _init_state(self, engine: str, compiled: Any, runtime_sha256: str, plugin_sha256: str,
                    limits: Limits, capabilities: frozenset, resolver: Optional[Resolver]) -> None:
        """What a realm holds besides its loaded image: shared by __init__ and fork."""
        self.limits, self.capabilities, self.engine = limits, capabilities, engine
        self.runtime_sha256, self.plugin_sha256 = runtime_sha256, plugin_sha256
        self._engine = compiled
        self._lock = threading.Lock()
        self._owner = threading.get_ident() if engine in THREAD_BOUND else None
        self._limits_by_gas: dict[int, Limits] = {limits.gas: limits}
        self._composer = Composer(self, resolver)
        self._composes = "compose" in capabilities
        self._prefixes: dict[str, bytes] = {}  # export name -> request prefix
        self._receipt_fields = dict(runtime_sha256=runtime_sha256, plugin_sha256=plugin_sha256, engine=engine)

    # ---- loading ---------------------------------------------------------------------------

    def _load(self, src: bytes) -> None:
        lim = self.limits
        bits = sum(_abi.CAPABILITY_BITS[c] for c in self.capabilities)
        params = (lim.memory, lim.stack, bits, lim.output, lim.log, lim.depth)
        # the gas limit is not in the key: a successful load does not depend on it (checked below)
        key = _cache.image_key(_cache.IMAGE_FORMAT, _abi.ABI_VERSION, self.runtime_sha256, self.plugin_sha256,
                               params)
        cached = _cache.load_image(key) if _IMAGE_CACHE else None
        if cached is not None:
            self._adopt(*cached)
            if self.load_gas_used > lim.gas:
                raise OutOfGas(f"out of gas: loading the plugin used its whole budget of {lim.gas} gas",
                               gas_limit=lim.gas)
            return

        inst = self._engine.instantiate(trampoline(self._composer))
        self._inst = inst  # the composer answers through it (with a refusal, while loading)
        ctl_addr = inst.call("ph_ctl_ptr")
        mv = inst.memory()
        version = _abi.CTL.unpack_from(mv, ctl_addr)[0]
        if version != _abi.ABI_VERSION:
            raise GuestFault(f"the guest speaks ABI {version}, this host {_abi.ABI_VERSION}: rebuild the runtime")
        _abi.LOAD_PARAMS.pack_into(mv, ctl_addr + _abi.OFF_LOAD_PARAMS, *params)
        _abi.GAS.pack_into(mv, ctl_addr + _abi.OFF_GAS_LIMIT, lim.gas)
        ptr = inst.call("ph_reserve", len(src) + 1)
        mv = inst.memory()
        mv[ptr:ptr + len(src)] = src
        self._ctl = ctl_addr
        try:
            status = inst.call("ph_load", len(src))
        except Trap as trap:
            raise self._trap_error(inst, trap, lim.gas, "loading the plugin") from None
        mv = inst.memory()
        ctl = _abi.Ctl._make(_abi.CTL.unpack_from(mv, ctl_addr))
        out = bytes(mv[ctl.out_ptr:ctl.out_ptr + ctl.out_len])
        if status != _abi.OK:
            raise self._status_error(status, ctl, out, lim.gas, "")
        report = _codec.decode(out)
        # the snapshot: from the lowest stack page the load wrote (below it, ~240 KB of stack
        # that is zeros in every fresh instance) up to the top of the heap (above it: fresh
        # zeros); a smaller image to keep, cache, read and copy into each new instance
        low = min(ctl.dirty_low, _STACK_TOP) & ~0xFFF
        if mv[:low] != bytes(low):  # the guest's mark would be wrong: keep it all
            low = 0
        image = bytes(mv[low:ctl.dirty_high])
        header = _cache.RealmImage(
            exports=list(report["exports"]),
            metadata=report["metadata"] if isinstance(report["metadata"], dict) else {},
            load_gas_used=ctl.gas_used, ctl=ctl_addr, in_ptr=ctl.in_ptr, in_cap=ctl.in_cap,
            mem_size=inst.memory_size(), image_crc32=zlib.crc32(image), image_low=low)
        self._adopt(header, image, inst)
        if _IMAGE_CACHE:
            _cache.store_image(key, header, image)

    def fork(self) -> "FrozenRealm":
        """Another realm of the same plugin, limits and capabilities, made from this one's
        snapshot: byte-identical to a fresh load, without reading, hashing or compiling anything
        (a new instance and one memory copy). Useful where a test or a fuzzer wants a fresh
        realm per input."""
        check_thread_stack()
        if self._owner in (None, threading.get_ident()):
            compiled = self._engine
        else:  # a wasmer module is bound to its thread: this thread's, of the same runtime
            wasm, sha = _guest.runtime()
            if sha != self.runtime_sha256:
                raise RuntimeUnavailable(f"the guest runtime changed to {sha[:12]} since this realm was "
                                         f"made on {self.runtime_sha256[:12]}: create a new realm")
            compiled = get_engine(self.engine, wasm, sha)
        twin = object.__new__(FrozenRealm)
        twin._init_state(self.engine, compiled, self.runtime_sha256, self.plugin_sha256, self.limits,
                         self.capabilities, self._composer.resolver)
        twin._adopt(self._header, self._snapshot)
        return twin

    def _adopt(self, header: _cache.RealmImage, image: Union[bytes, memoryview], inst=None) -> None:
        """Become the realm described by a load report and its memory image."""
        self._header = header
        self.exports: tuple[str, ...] = tuple(header.exports)
        self.metadata: dict = header.metadata
        self.load_gas_used: int = header.load_gas_used
        self._ctl = header.ctl
        self._in_ptr, self._in_cap = header.in_ptr, header.in_cap
        self._mem_size = header.mem_size
        low = header.image_low
        self._snapshot = image  # memory [low, snap_high); zeros below
        self._snapview = memoryview(image)
        self._snap_low, self._snap_high = low, low + len(image)
        self._stack_top = _STACK_TOP
        # Where writable statics begin, as the guest wrote it into its control block during
        # the load (the build fixes it: ph.h). [stack top, data_low) is read-only data that no
        # call writes, so restores skip it. Taken from the snapshot, not from each call's
        # report: a guest that went wrong could report anything.
        if not 0 <= low <= _STACK_TOP <= header.ctl:
            raise GuestFault(f"the realm image starts at {low:#x}, its control block at {header.ctl:#x}")
        snap_ctl = _abi.Ctl._make(_abi.CTL.unpack_from(image, header.ctl - low))
        if snap_ctl.stack_high != _STACK_TOP or not _STACK_TOP <= snap_ctl.data_low <= self._snap_high:
            raise GuestFault(f"the guest reports an impossible layout (stack top {snap_ctl.stack_high:#x}, "
                             f"writable data from {snap_ctl.data_low:#x}): rebuild the runtime")
        self._data_low = snap_ctl.data_low
        self._dirty: Any = None
        self._composer.loading = False
        if inst is None:
            self._fresh_instance()
        else:
            self._inst = inst

    def _fresh_instance(self) -> None:
        inst = self._engine.instantiate(trampoline(self._composer))
        grow = (self._mem_size - inst.memory_size()) // 65536
        if grow > 0:
            inst.grow(grow)
        inst.memory()[self._snap_low:self._snap_high] = self._snapview  # below: zeros already
        self._inst = inst

    def _renew(self) -> memoryview:
        """The instance at the snapshot when the last call left no report to restore by: a
        new one after a trap, a memory growth or an impossible report (_BROKEN); none is
        needed before the first call (None)."""
        if self._dirty is _BROKEN:
            self._fresh_instance()
        return self._inst.memory()

    def _verify_restore(self) -> None:
        mv = self._inst.memory()
        image = bytes(self._snap_low) + bytes(self._snapshot) + bytes(len(mv) - self._snap_high)
        if mv != image:
            at = next(i for i in range(0, len(mv), 4096) if mv[i:i + 4096] != image[i:i + 4096])
            raise GuestFault(f"restore verification failed: memory differs from the snapshot near {at:#x}")

    # ---- calling ---------------------------------------------------------------------------

    def call(self, function: str, data: Any = None, *, gas_limit: Optional[int] = None) -> CallResult:
        """Run ``function(data)`` in the realm. Returns a CallResult; raises a PluginError
        (with ``.receipt``) when the call fails."""
        # The hot path, kept to one function: a Curve quote spends about a quarter of its time
        # in Python (perf), and each Python step after the guest returns costs more than it
        # would alone, the guest having pushed the interpreter out of the CPU's caches.
        limits = self.limits if gas_limit is None else self._call_limits(gas_limit)
        prefix = self._prefixes.get(function) if type(function) is str else None
        if prefix is None:
            prefix = self._request_prefix(function)
        payload = _codec.encode(data, limits.depth)
        if len(payload) > limits.input:
            raise self._with_receipt(
                InputTooLarge(f"the input is {len(payload)} bytes, over the {limits.input}-byte limit",
                              limit=limits.input), self._base(function, limits), payload, 0)
        if self._owner is None:
            check_thread_stack()
        elif threading.get_ident() != self._owner:  # (its creation checked this thread's stack)
            raise ConfigurationError("this wasmer realm belongs to the thread that created it: "
                                     "create one realm per thread, or use engine='wasmtime'")
        with self._lock:
            # back to the snapshot: the last call reported what it touched,
            # [dirty_low, stack top) and [data_low, dirty_high)
            dirty = self._dirty
            if type(dirty) is tuple:
                # the view the last call used: still valid, as memory has not grown since (the
                # guest runs only inside calls, and a call that grew memory left _BROKEN)
                lo, hi, mv = dirty
                low, data_low, top = self._snap_low, self._data_low, min(hi, self._snap_high)
                if lo < low:  # the call's stack went deeper than the load's: zeros down there
                    mv[lo:low] = bytes(low - lo)
                    lo = low
                snap, stack_top = self._snapview, self._stack_top  # snap[i] is memory[low + i]
                mv[lo:stack_top] = snap[lo - low:stack_top - low]
                mv[data_low:top] = snap[data_low - low:top - low]
                if hi > top:  # the call took fresh memory above the snapshot's heap: zero it again
                    mv[top:hi] = bytes(hi - top)
            else:
                mv = self._renew()
            if _VERIFY_RESTORE:
                self._verify_restore()
            self._dirty = _BROKEN  # until the guest reports what this call touched

            inst = self._inst
            _abi.GAS.pack_into(mv, self._ctl + _abi.OFF_GAS_LIMIT, limits.gas)
            request = prefix + payload
            n = len(request)
            if n <= self._in_cap:
                ptr = self._in_ptr
            else:
                ptr = inst.call("ph_reserve", n)
                mv = inst.memory()
                if not ptr:
                    raise self._with_receipt(
                        MemoryLimitExceeded("the input does not fit in the realm's memory",
                                            memory_limit=limits.memory),
                        self._base(function, limits), payload, 0)
            mv[ptr:ptr + n] = request

            composer = self._composer
            if self._composes:
                # only a realm that can call others keeps the call path (its cycle check) and a
                # record of sub-calls; any other realm is a leaf and neither reads nor adds to them
                composer.begin()
                path = call_path()
                path.append(self.plugin_sha256)
            try:
                status = inst.call("ph_call", n)
            except Trap as trap:
                raise self._with_receipt(self._trap_error(inst, trap, limits.gas, "the call"),
                                         self._base(function, limits, composer.calls), payload,
                                         limits.gas) from None
            finally:
                if self._composes:
                    path.pop()

            grew = inst.memory_size() != self._mem_size  # then the snapshot no longer describes it
            if grew:
                mv = inst.memory()
            (gas_used, out_ptr, out_len, log_ptr, log_len, dirty_low, dirty_high, stack_high,
             data_low) = _abi.REPORT.unpack_from(mv, self._ctl)
            # a report that cannot be right (a memory-safety bug in the guest could write
            # anything) gets a whole new instance instead
            if (not grew and 0 <= dirty_low <= self._stack_top and stack_high == self._stack_top
                    and data_low == self._data_low and self._snap_high <= dirty_high <= self._mem_size):
                self._dirty = (dirty_low, dirty_high, mv)
            out = bytes(mv[out_ptr:out_ptr + out_len])
            logs = bytes(mv[log_ptr:log_ptr + log_len]).decode("utf-8", "replace") if log_len else ""
            if status != _abi.OK:
                # no local name for the error: a frame that holds the exception it raises is a cycle
                raise self._with_receipt(
                    self._status_error(status, _abi.Ctl._make(_abi.CTL.unpack_from(mv, self._ctl)), out,
                                       limits.gas, function),
                    self._base(function, limits, composer.calls), payload, gas_used)
            return CallResult._made(_codec.decode(out), gas_used, logs,
                                    (payload, out, self._receipt_fields, function, limits, composer.calls))

    def _request_prefix(self, function: Any) -> bytes:
        """The request's first part, ``name NUL``; raises InvalidInput for a name that cannot
        be one. Exported names are remembered (a bounded set: the plugin's exports)."""
        if not isinstance(function, str) or "\0" in function:
            raise InvalidInput(f"function must be a str without NUL bytes, got {function!r}")
        try:
            prefix = function.encode("utf-8") + b"\0"
        except UnicodeEncodeError:
            raise InvalidInput(f"function must be valid Unicode (no lone surrogates), got {function!r}") from None
        if type(function) is str and function in self.exports:
            self._prefixes[function] = prefix
        return prefix

    def _base(self, function: str, limits: Limits, calls: Optional[list] = None) -> dict:
        return receipt_fields(self._receipt_fields, function, limits, calls or [])

    def _call_limits(self, gas_limit: Optional[int]) -> Limits:
        if gas_limit is None:
            return self.limits
        limits = self._limits_by_gas.get(gas_limit)
        if limits is None:
            _limits(gas=gas_limit)
            limits = msgspec.structs.replace(self.limits, gas=gas_limit)
            if len(self._limits_by_gas) < 64:
                self._limits_by_gas[gas_limit] = limits
        return limits

    # ---- errors ----------------------------------------------------------------------------

    @staticmethod
    def _with_receipt(err: PluginError, base: dict, payload: bytes, gas_used: int) -> PluginError:
        err.receipt = Receipt(input_sha256=_codec.sha256_hex(payload), error=ReceiptError(type(err).__name__, err.message),
                              gas_used=gas_used, **base)
        return err

    def _trap_error(self, inst, trap: Trap, gas_limit: int, what: str) -> PluginError:
        self._dirty = _BROKEN
        text = str(trap)
        try:
            out_of_gas = _abi.out_of_gas(inst.memory(), self._ctl)
        except Exception:
            out_of_gas = False
        if out_of_gas:
            return OutOfGas(f"out of gas: {what} used its whole budget of {gas_limit} gas", gas_limit=gas_limit)
        if "stack" in text.lower():
            return StackOverflow(f"stack overflow in {what} (the engine's native stack ran out)")
        return GuestFault(f"the guest trapped during {what}: {text.splitlines()[0] if text else 'unknown trap'}")

    def _status_error(self, status: int, ctl: _abi.Ctl, out: bytes, gas_limit: int, function: str) -> PluginError:
        try:
            detail = _codec.decode(out) if out else {}
        except InvalidOutput:
            detail = {"message": out.decode("utf-8", "replace")}
        if not isinstance(detail, dict):
            detail = {}
        message = str(detail.get("message", ""))
        lim = self.limits
        if status == _abi.JS_EXCEPTION:
            name = str(detail.get("name", ""))
            text = f"{name}: {message}" if name else (message or "the plugin threw")
            return PluginException(text, js_name=name, js_message=message, js_stack=str(detail.get("stack", "")))
        if status == _abi.NO_SUCH_EXPORT:
            return NoSuchExport(message, name=function)
        if status == _abi.INVALID_INPUT:
            return InvalidInput(message)
        if status == _abi.INVALID_OUTPUT:
            return InvalidOutput(message)
        if status == _abi.OUT_OF_MEMORY:
            return MemoryLimitExceeded(f"out of memory: the JS heap limit is {lim.memory} bytes ({message})",
                                       memory_limit=lim.memory)
        if status == _abi.STACK_OVERFLOW:
            return StackOverflow(f"stack overflow: the JS stack limit is {lim.stack} bytes ({message})")
        if status == _abi.CAPABILITY_DENIED:
            return CapabilityDenied(message, capability=_abi.denied_names(ctl.denied)[0])
        if status == _abi.OUTPUT_TOO_LARGE:
            return OutputTooLarge(f"the output is over the {lim.output}-byte limit", limit=lim.output)
        if status == _abi.LOG_TOO_LARGE:
            return LogLimitExceeded(f"the captured log is over the {lim.log}-byte limit", limit=lim.log)
        if status == _abi.SYNTAX_ERROR:
            return PluginSyntaxError(message)
        return GuestFault(f"the guest answered status {status}: {message}")

    def __repr__(self) -> str:
        name = self.metadata.get("name", "?")
        return f"<FrozenRealm {name} plugin={self.plugin_sha256[:12]} engine={self.engine} exports={list(self.exports)}>"
