"""The guest runtime: QuickJS-ng + the plugin-host harness, compiled to wasm32-wasi.

``guest.wasm`` is built by ``runtime/build.py`` (``make`` runs it) and is not committed; its
sha256 is pinned in ``runtime/lock.json`` and is the *runtime hash* every receipt carries.
"""

from __future__ import annotations

import functools
import hashlib
import os
from pathlib import Path
from typing import Callable

from .._cache import cache_dir
from ..errors import RuntimeUnavailable

GUEST_ENV = "PLUGIN_HOST_GUEST"


@functools.lru_cache(maxsize=None)
def _read(path: str) -> tuple[bytes, str]:
    try:
        wasm = Path(path).read_bytes()
    except OSError as e:
        raise RuntimeUnavailable(
            f"the guest runtime is missing ({e.strerror}: {path}); build it with `make` "
            "or `python runtime/build.py`"
        ) from None
    return wasm, hashlib.sha256(wasm).hexdigest()


def _path() -> str:
    return os.environ.get(GUEST_ENV) or str(Path(__file__).with_name("guest.wasm"))


def load() -> tuple[bytes, str]:
    """(wasm bytes, sha256 hex) of the guest this process uses."""
    return _read(_path())


@functools.lru_cache(maxsize=None)
def _identity(path: str, size: int, mtime_ns: int) -> str:
    # Hashing 1.8 MB costs ~1.3 ms and reading it ~1 ms: a new process looks the hash up by the
    # file's (path, size, mtime) in the cache directory instead, with the same trust as the
    # compiled modules kept there. Nothing else needs the bytes once the module is cached.
    note = cache_dir() / "runtime-hashes" / hashlib.sha256(f"{path}|{size}|{mtime_ns}".encode()).hexdigest()
    try:
        sha = note.read_text().strip()
        if len(sha) == 64:
            return sha
    except OSError:
        pass
    sha = _read(path)[1]
    try:
        note.parent.mkdir(parents=True, exist_ok=True)
        note.write_text(sha)
    except OSError:
        pass
    return sha


def runtime_sha256() -> str:
    """The runtime hash (receipts', attestations' and manifests' `runtime_sha256`), cheaply."""
    return runtime()[1]


def runtime() -> tuple[Callable[[], bytes], str]:
    """(a function returning the wasm bytes, sha256 hex): the bytes are read only if needed."""
    path = _path()
    try:
        st = os.stat(path)
    except OSError as e:
        raise RuntimeUnavailable(
            f"the guest runtime is missing ({e.strerror}: {path}); build it with `make` "
            "or `python runtime/build.py`"
        ) from None
    return (lambda: _read(path)[0]), _identity(path, st.st_size, st.st_mtime_ns)
