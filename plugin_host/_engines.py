"""Two WebAssembly engines behind one small interface.

The guest imports one host function (plugin_host.call, for composition), exports a memory and
four functions, and every call takes and
returns one i32; that is all an engine has to do. wasmer (cranelift) is the default; wasmtime
is the second engine that keeps us honest (same bytes, same gas).

Compiled modules are cached on disk (_cache.py), keyed by (engine build, machine, runtime
sha256), so a new process deserializes instead of compiling (~0.8 s).
"""

from __future__ import annotations

import atexit
import ctypes
import hashlib
import importlib.util
import os
import platform
import shutil
import sys
import threading
import warnings
from pathlib import Path
from typing import Callable, Optional, Protocol, Union

from ._cache import cached_module, module_cached
from .errors import ConfigurationError, RuntimeUnavailable

EXPORTS = ("ph_ctl_ptr", "ph_load", "ph_reserve", "ph_call")
ENGINES = ("wasmer", "wasmtime")

# wasmtime runs wasm on a stack of its own; QuickJS's stack check watches the guest's shadow
# stack, and the native frames of deep JS recursion need several times more. Above ~2 MiB
# wasmtime aborted the process on these machines (runtime field notes).
WASMTIME_MAX_STACK = 2 * 1024 * 1024


# Both engines run wasm on the calling thread's stack (wasmtime stops at max_wasm_stack, wasmer
# at the thread's guard page). On a thread with less stack than that, a deep plugin would crash
# the process or fail at an engine-dependent depth, so such threads are refused.
MIN_THREAD_STACK = 4 * 1024 * 1024
_stack_checked = threading.local()


def _thread_stack_size() -> Optional[int]:
    """The current thread's stack size, where the platform can tell."""
    try:
        libc = ctypes.CDLL(None)
        if sys.platform == "darwin":
            fn = libc.pthread_get_stacksize_np
            fn.restype, fn.argtypes = ctypes.c_size_t, [ctypes.c_void_p]
            libc.pthread_self.restype = ctypes.c_void_p
            return int(fn(libc.pthread_self()))
        if sys.platform.startswith("linux"):
            if threading.current_thread() is threading.main_thread():
                # glibc answers pthread_getattr_np for the main thread by parsing
                # /proc/self/maps (~0.2 ms of a cold start); its stack is the rlimit
                lim = (ctypes.c_uint64 * 2)()
                if libc.getrlimit(3, lim) != 0 or lim[0] == 2**64 - 1:  # RLIMIT_STACK, RLIM_INFINITY
                    return None
                return lim[0]
            libc.pthread_self.restype = ctypes.c_ulong
            attr = ctypes.create_string_buffer(256)  # larger than any pthread_attr_t
            if libc.pthread_getattr_np(ctypes.c_ulong(libc.pthread_self()), attr) != 0:
                return None
            size = ctypes.c_size_t()
            libc.pthread_attr_getstacksize(attr, ctypes.byref(size))
            libc.pthread_attr_destroy(attr)
            return size.value
    except (OSError, AttributeError):
        pass
    return None


def check_thread_stack() -> None:
    if getattr(_stack_checked, "ok", False):
        return
    size = _thread_stack_size()
    if size is not None and size < MIN_THREAD_STACK:
        raise ConfigurationError(
            f"this thread has {size // 1024} KiB of stack; realms need at least {MIN_THREAD_STACK >> 20} MiB "
            "(the engines run wasm on the calling thread's stack): create the thread after "
            "threading.stack_size(8 * 1024 * 1024)")
    _stack_checked.ok = True


class Trap(Exception):
    """The guest trapped. The instance is unusable afterwards."""


# The guest's only import: plugin_host.call(req_ptr, req_len, resp_ptr, resp_cap, io_ptr), the
# host side of plugins.call (see runtime/harness/compose.c and FrozenRealm._host_call).
HostCall = Callable[[int, int, int, int, int], None]
IMPORT_MODULE, IMPORT_NAME, IMPORT_ARITY = "plugin_host", "call", 5


class Instance(Protocol):
    def call(self, export: str, arg: int = 0) -> int: ...
    def memory(self) -> memoryview: ...
    def memory_size(self) -> int: ...
    def grow(self, pages: int) -> None: ...


def _fingerprint(*packages: str) -> str:
    """Identifies an engine build by its native libraries' size and mtime: a stat is cheap,
    while importlib.metadata costs tens of milliseconds on first use (cold start matters)."""
    parts = []
    for pkg in packages:
        root = os.path.dirname(importlib.util.find_spec(pkg).origin)
        for here, dirs, files in os.walk(root):
            dirs.sort()
            for name in sorted(files):
                if name.endswith((".so", ".pyd", ".dylib")):
                    st = os.stat(os.path.join(here, name))
                    parts.append(f"{name}:{st.st_size}:{st.st_mtime_ns}")
    return hashlib.sha256("|".join(parts).encode()).hexdigest()[:16]


def _view_at(addr: int, size: int) -> memoryview:
    """A plain CPython view of engine memory: no engine object is kept alive by it."""
    return memoryview((ctypes.c_ubyte * size).from_address(addr)).cast("B")


class _WasmerInstance:
    __slots__ = ("_mem", "_funcs", "_view", "_view_len")

    def __init__(self, instance):
        exports = instance.exports
        self._mem = exports.memory
        self._funcs = {name: getattr(exports, name) for name in EXPORTS}
        self._view_len = -1
        exports._initialize()

    def call(self, export: str, arg: int = 0) -> int:
        try:
            return self._funcs[export](arg) if export != "ph_ctl_ptr" else self._funcs[export]()
        except RuntimeError as e:
            raise Trap(str(e)) from None

    def memory(self) -> memoryview:
        # wasmer Buffer objects panic when another thread frees them (pyo3 "unsendable"), and a
        # view of one can end up in a traceback that any thread's GC collects. So take the
        # address once per size and hand out ctypes views.
        size = self._mem.data_size
        if size != self._view_len:
            buf = memoryview(self._mem.buffer)
            anchor = ctypes.c_ubyte.from_buffer(buf)
            addr = ctypes.addressof(anchor)
            del anchor
            buf.release()
            self._view = _view_at(addr, size)
            self._view_len = size
        return self._view

    def memory_size(self) -> int:
        return self._mem.data_size

    def grow(self, pages: int) -> None:
        self._mem.grow(pages)
        self._view_len = -1


def _dylib_ready(wasmer) -> bool:
    """Whether wasmer's Dylib engine can load modules in this process.

    Its compiled modules are shared libraries that call back into wasmer's runtime by symbol
    (wasmer_vm_probestack) and so need that symbol in the global scope, but Python loads
    extension modules RTLD_LOCAL. Re-opening the extension with RTLD_NOLOAD | RTLD_GLOBAL
    promotes it; it exports only its 40 wasmer_vm_* symbols, so nothing else can be shadowed.
    Linux only (where this was measured); elsewhere wasmer's Universal engine is used.
    """
    if not sys.platform.startswith("linux") or os.environ.get("PLUGIN_HOST_WASMER_ENGINE") == "universal":
        return False
    try:
        ext = getattr(sys.modules.get("wasmer.wasmer"), "__file__", None) \
            or str(next(Path(wasmer.__file__).parent.glob("wasmer.*.so")))
        ctypes.CDLL(ext, mode=os.RTLD_NOLOAD | os.RTLD_GLOBAL | os.RTLD_NOW)
    except (StopIteration, OSError, AttributeError):
        return False
    return True


def _unlink_dylib_copy(size: int) -> None:
    """wasmer's Dylib engine loads a module (compiled or deserialized) by writing it to a
    temporary file and dlopen-ing that; it deletes the file when the module is dropped, so a
    process that is killed or leaves through os._exit would leave 3 MB in the temp directory
    each time. Once mapped, the file is not needed: find it in this process's mappings and
    unlink it now (wasmer's own delete then fails quietly)."""
    # (not dl_iterate_phdr: it holds the loader's lock while it calls back into Python, and
    # a thread in dlopen holding the GIL then deadlocks with it -- the threads test did)
    try:
        with open("/proc/self/maps") as maps:
            lines = [line for line in maps.read().splitlines() if "/.tmp" in line or "/wasmer_dylib_" in line]
        for path in {line.split(None, 5)[-1] for line in lines}:
            name = os.path.basename(path)
            if name.startswith((".tmp", "wasmer_dylib_")) and os.path.getsize(path) == size:
                os.unlink(path)
    except OSError:
        pass


class WasmerEngine:
    name = "wasmer"

    def __init__(self, wasm: Callable[[], bytes], sha256: str):
        try:
            import wasmer
            from wasmer import engine
        except ImportError as e:  # wheels exist only for CPython <= 3.10
            raise ConfigurationError(f"the wasmer engine is not available here ({e}); use engine='wasmtime'") from None
        if importlib.util.find_spec("wasmer_compiler_cranelift") is None:
            raise ConfigurationError("the wasmer engine needs wasmer-compiler-cranelift; use engine='wasmtime'")

        def compiler():  # imported only to compile: loading it costs ~2 ms of a cold start
            from wasmer_compiler_cranelift import Compiler
            return Compiler

        self._Instance = wasmer.Instance
        fingerprint = f"wasmer-{wasmer.__version__}-cranelift-{_fingerprint('wasmer', 'wasmer_compiler_cranelift')}"
        # The Dylib engine's cached module is a shared library that loads in ~2 ms; the
        # Universal engine's is read into bytes and relocated (~14 ms for this guest). Dylib
        # links a new module through the system's `gcc` (a cached one needs none); without
        # one, Universal it is.
        key = f"{platform.machine()}-{sha256}"
        dylib = _dylib_ready(wasmer) and (module_cached(f"{fingerprint}-dylib-{key}")
                                          or shutil.which("gcc") is not None)
        kinds = [("-dylib", engine.Dylib)] if dylib else []
        kinds.append(("", engine.Universal))
        for suffix, kind in kinds:
            self.version = fingerprint + suffix
            try:
                self.module = self._cached(kind, bool(suffix), f"{self.version}-{key}", wasm, compiler)
                break
            except Exception as e:
                if not suffix:
                    raise
                warnings.warn(f"wasmer's Dylib engine failed ({e}); using its Universal engine, "
                              "whose cold start is ~10 ms slower", RuntimeWarning, stacklevel=2)

    def _cached(self, kind, dylib: bool, key: str, wasm: Callable[[], bytes], compiler):
        from wasmer import Module, Store

        serialized: list[bytes] = []

        def compile_():
            self._store = Store(kind(compiler()))
            module = Module(self._store, wasm())
            serialized.append(module.serialize())  # a Dylib module serializes from its file
            if dylib:
                _unlink_dylib_copy(len(serialized[0]))
            return module

        def deserialize(path: Path):
            self._store = Store(kind())  # headless: a cached module needs no compiler
            data = path.read_bytes()
            module = Module.deserialize(self._store, data)
            if dylib:
                _unlink_dylib_copy(len(data))
            return module

        return cached_module(key, compile_, lambda _: serialized.pop(), deserialize)

    def instantiate(self, host_call: HostCall) -> Instance:
        from wasmer import Function, FunctionType, ImportObject, Type

        imports = ImportObject()
        imports.register(IMPORT_MODULE, {
            IMPORT_NAME: Function(self._store, host_call, FunctionType([Type.I32] * IMPORT_ARITY, [])),
        })
        return _WasmerInstance(self._Instance(self.module, imports))


class _WasmtimeInstance:
    """Calls go through wasmtime_func_call_unchecked: the checked Func.__call__ costs ~10-20 us
    of type conversion per call, more than a whole plugin call. Falls back to the public API
    if wasmtime-py's internals move."""

    __slots__ = ("_wt", "_store", "_mem", "_funcs", "_fast", "_args", "_ctx", "_view", "_view_len")

    def __init__(self, store, instance):
        import wasmtime

        self._wt = wasmtime  # for its error types, without an import per call
        self._store = store
        exports = instance.exports(store)
        self._mem = exports["memory"]
        self._funcs = {name: exports[name] for name in EXPORTS}
        self._view = None
        self._view_len = -1
        try:
            from wasmtime import _ffi

            self._fast = _ffi
            self._args = (_ffi.wasmtime_val_raw_t * 1)()
            self._ctx = store._context()
            self._funcs = {name: ctypes.byref(f._func) for name, f in self._funcs.items()}
        except (ImportError, AttributeError):
            self._fast = None
        wasmtime_init = exports["_initialize"]
        wasmtime_init(store)

    def call(self, export: str, arg: int = 0) -> int:
        if self._fast is None:
            f = self._funcs[export]
            try:
                return f(self._store) if export == "ph_ctl_ptr" else f(self._store, arg)
            except self._wt.Trap as e:
                raise Trap(str(e)) from None
        ffi = self._fast
        self._args[0].i32 = arg
        trap = ctypes.POINTER(ffi.wasm_trap_t)()
        err = ffi.wasmtime_func_call_unchecked(self._ctx, self._funcs[export], self._args, 1, ctypes.byref(trap))
        if err:
            raise Trap(str(self._wt.WasmtimeError._from_ptr(err)))
        if trap:
            raise Trap(str(self._wt.Trap._from_ptr(trap)))
        return self._args[0].i32

    def memory(self) -> memoryview:
        size = self._mem.data_len(self._store)
        if size != self._view_len:
            self._view = _view_at(ctypes.addressof(self._mem.data_ptr(self._store).contents), size)
            self._view_len = size
        return self._view

    def memory_size(self) -> int:
        return self._mem.data_len(self._store)

    def grow(self, pages: int) -> None:
        self._mem.grow(self._store, pages)
        self._view_len = -1


class WasmtimeEngine:
    name = "wasmtime"

    def __init__(self, wasm: Callable[[], bytes], sha256: str):
        import wasmtime

        self._wasmtime = wasmtime
        config = wasmtime.Config()
        config.max_wasm_stack = WASMTIME_MAX_STACK
        config.cranelift_opt_level = "speed"
        self._engine = wasmtime.Engine(config)
        self.version = f"wasmtime-{_fingerprint('wasmtime')}"
        self.module = cached_module(
            f"{self.version}-{platform.machine()}-{sha256}",
            lambda: wasmtime.Module(self._engine, wasm()),
            lambda m: m.serialize(),
            lambda p: wasmtime.Module.deserialize_file(self._engine, str(p)),
        )

    def instantiate(self, host_call: HostCall) -> Instance:
        wt = self._wasmtime
        store = wt.Store(self._engine)
        func = wt.Func(store, wt.FuncType([wt.ValType.i32()] * IMPORT_ARITY, []), host_call)
        instance = wt.Instance(store, self.module, [func])
        return _WasmtimeInstance(store, instance)


_lock = threading.Lock()
_engines: dict[tuple[str, str], object] = {}
# wasmer-python objects are "unsendable": usable only on the thread that made them. Keep them
# in thread-local storage (not keyed by thread id: ids are reused after a thread dies).
THREAD_BOUND = frozenset({"wasmer"})
_local = threading.local()


def get_engine(name: str, wasm: Union[bytes, Callable[[], bytes]], sha256: str):
    """One compiled module per (engine, runtime) per process, or per thread for wasmer."""
    if name not in ENGINES:
        raise ConfigurationError(f"unknown engine {name!r}: choose one of {', '.join(ENGINES)}")
    if name in THREAD_BOUND:
        cache = _local.__dict__.setdefault("engines", {})
        return cache.get((name, sha256)) or cache.setdefault((name, sha256), _make(name, wasm, sha256))
    with _lock:
        engine = _engines.get((name, sha256))
        if engine is None:
            engine = _engines[(name, sha256)] = _make(name, wasm, sha256)
        return engine


@atexit.register
def _release() -> None:
    # wasmtime-py's finalizers fail noisily if they run after its ffi module is torn down
    _engines.clear()
    _local.__dict__.clear()


def _make(name: str, wasm: Union[bytes, Callable[[], bytes]], sha256: str):
    source = wasm if callable(wasm) else (lambda: wasm)  # read only when compiling
    try:
        return (WasmerEngine if name == "wasmer" else WasmtimeEngine)(source, sha256)
    except ConfigurationError:
        raise
    except Exception as e:
        raise RuntimeUnavailable(f"{name} could not compile the guest runtime: {e}") from e
