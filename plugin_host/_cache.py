"""The on-disk cache: compiled engine modules and loaded-realm memory images.

Both are pure functions of their keys (a compiled module of (engine build, runtime sha256); a
realm image of (runtime sha256, plugin sha256, load limits)), so caching them changes no
result, only start-up time. The directory holds native code: it has the same trust as the
Python environment. ``PLUGIN_HOST_CACHE_DIR`` moves it; an unwritable cache only costs time.

Both are bounded, least recently used first out: a fuzzer or a test suite makes thousands of
realms (~0.4 MB of image each), and every runtime upgrade leaves a compiled module (3-9 MB)
behind. Images are kept to ``PLUGIN_HOST_IMAGE_CACHE_MB`` (default 256), modules to the
``MODULES_KEPT`` most recently used. Pruning happens only when something new is written (a
cache miss, which costs far more than the directory scan); a hit refreshes the file's mtime.
Images carry a CRC-32 to catch a damaged file (a SHA-256 of a 0.7 MB image cost ~0.5 ms of
every cold start; the directory is trusted like the Python environment, so a checksum against
accidents is what is needed). A writer writes a temporary file and renames it; the
temporaries of writers that were killed are removed by the next prune.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
import time
import zlib
from pathlib import Path
from typing import Callable, Optional

import msgspec


def cache_dir() -> Path:
    explicit = os.environ.get("PLUGIN_HOST_CACHE_DIR")
    if explicit:
        return Path(explicit)
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "plugin-host"


MODULES_KEPT = 8
DEFAULT_IMAGE_CACHE_MB = 256


def _image_budget() -> int:
    try:
        return max(0, int(os.environ.get("PLUGIN_HOST_IMAGE_CACHE_MB", DEFAULT_IMAGE_CACHE_MB))) << 20
    except ValueError:
        return DEFAULT_IMAGE_CACHE_MB << 20


def _touch(path: Path) -> None:
    try:
        os.utime(path)
    except OSError:
        pass


TMP_PREFIX = ".tmp-"
STALE_TMP_SECONDS = 600  # a writer takes milliseconds; older temporaries are a killed writer's


def prune(directory: Path, suffix: str, *, max_bytes: Optional[int] = None, max_files: Optional[int] = None) -> None:
    """Delete the least recently used ``*suffix`` files until at most ``max_files`` remain and
    they hold at most ``max_bytes``, and any temporary file a killed writer left behind. Races
    with other processes are harmless: a reader whose file vanished just loads or compiles
    again."""
    entries = []
    stale = time.time_ns() - STALE_TMP_SECONDS * 10**9
    try:
        with os.scandir(directory) as it:
            for e in it:
                if e.name.startswith(TMP_PREFIX):
                    try:
                        if e.stat().st_mtime_ns < stale:
                            os.unlink(e.path)
                    except OSError:
                        pass
                elif e.name.endswith(suffix):
                    try:
                        st = e.stat()
                    except OSError:
                        continue
                    entries.append((st.st_mtime_ns, st.st_size, e.path))
    except OSError:
        return
    entries.sort(reverse=True)  # newest first
    total = 0
    for n, (_, size, path) in enumerate(entries):
        total += size
        if (max_files is not None and n >= max_files) or (max_bytes is not None and total > max_bytes):
            try:
                os.unlink(path)
            except OSError:
                pass


def _write_atomic(path: Path, data: bytes) -> None:
    tmp = None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=TMP_PREFIX)
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.replace(tmp, path)
    except OSError:  # a full disk, say: no half-written file stays behind
        if tmp is not None:
            try:
                os.unlink(tmp)
            except OSError:
                pass


def _module_path(key: str) -> Path:
    return cache_dir() / f"{key}.module"


def module_cached(key: str) -> bool:
    return _module_path(key).exists()


def cached_module(key: str, compile_: Callable[[], object], serialize: Callable[[object], bytes],
                  deserialize: Callable[[Path], object]) -> object:
    path = _module_path(key)
    if path.exists():
        try:
            module = deserialize(path)
            _touch(path)
            return module
        except Exception:  # stale or damaged: compile again and replace it
            pass
    module = compile_()
    _write_atomic(path, serialize(module))
    prune(path.parent, ".module", max_files=MODULES_KEPT)
    return module


# Part of every image's key: a host that lays images out differently never reads another's
# (2: the image starts at image_low instead of address 0).
IMAGE_FORMAT = 2


class RealmImage(msgspec.Struct, frozen=True):
    """What ph_load left behind: the report and the memory to restore into a fresh instance."""

    exports: list[str]
    metadata: dict
    load_gas_used: int
    ctl: int
    in_ptr: int
    in_cap: int
    mem_size: int
    image_crc32: int  # damage detection (a torn or rotted file), not a trust boundary
    image_low: int  # the image's first address: below it, zeros (stack the load never reached)


_HEADER = msgspec.json.Encoder()
_HEADER_DECODER = msgspec.json.Decoder(RealmImage)


def image_key(*parts: object) -> str:
    return hashlib.sha256(repr(parts).encode()).hexdigest()


def load_image(key: str) -> Optional[tuple[RealmImage, memoryview]]:
    path = cache_dir() / "realms" / f"{key}.image"
    try:
        data = path.read_bytes()
        n = int.from_bytes(data[:4], "little")
        header = _HEADER_DECODER.decode(data[4:4 + n])
        image = memoryview(data)[4 + n:]  # not a copy: fresh memory costs ~0.2 ms per 400 KB here
    except (OSError, ValueError, msgspec.MsgspecError):
        return None
    if zlib.crc32(image) != header.image_crc32:
        return None  # damaged: load from source again
    _touch(path)
    return header, image


def store_image(key: str, header: RealmImage, image: bytes) -> None:
    h = _HEADER.encode(header)
    path = cache_dir() / "realms" / f"{key}.image"
    _write_atomic(path, len(h).to_bytes(4, "little") + h + image)
    prune(path.parent, ".image", max_bytes=_image_budget())
