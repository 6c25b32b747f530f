"""The guest runtime: QuickJS-ng + the plugin-host harness, compiled to wasm32-wasi.

``guest.wasm`` is built by ``runtime/build.py`` (``make`` runs it) and is not committed; its
sha256 is pinned in ``runtime/lock.json`` and is the *runtime hash* every receipt carries.
"""

from __future__ import annotations

import functools
import hashlib
import os
from pathlib import Path

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


def load() -> tuple[bytes, str]:
    """(wasm bytes, sha256 hex) of the guest this process uses."""
    path = os.environ.get(GUEST_ENV) or str(Path(__file__).with_name("guest.wasm"))
    return _read(path)
