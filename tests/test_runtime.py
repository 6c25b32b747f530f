"""The guest runtime: pinned, reproducible, and granting nothing."""

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from plugin_host import FrozenRealm, _guest

ROOT = Path(__file__).resolve().parent.parent
LOCK = json.loads((ROOT / "runtime" / "lock.json").read_text())


def test_the_guest_is_the_pinned_runtime():
    _, sha = _guest.load()
    assert sha == LOCK["guest_sha256"]
    assert FrozenRealm("export function f() {}").runtime_sha256 == sha


def test_the_guest_imports_no_wasi_and_exports_only_the_abi():
    import wasmtime

    wasm, _ = _guest.load()
    module = wasmtime.Module(wasmtime.Engine(), wasm)
    imports = [(i.module, i.name) for i in module.imports]
    assert imports == [("plugin_host", "call")]  # composition; no clock, files, random, env
    assert sorted(e.name for e in module.exports) == sorted(
        ["memory", "_initialize", "ph_ctl_ptr", "ph_load", "ph_reserve", "ph_call"])


def runtime_build():
    sys.path.insert(0, str(ROOT / "runtime"))
    try:
        import build
    finally:
        sys.path.pop(0)
    return build


def test_the_sdist_pin_is_checked(tmp_path):
    """The build refuses an engine source whose hash is not the pinned one."""
    build = runtime_build()
    lock = dict(LOCK, quickjs_ng=dict(LOCK["quickjs_ng"], sdist_sha256="0" * 64))
    cache = tmp_path / "cache"
    (cache / "sdist").mkdir(parents=True)
    sdist = ROOT / "runtime" / ".cache" / "sdist" / f"quickjs_ng-{LOCK['quickjs_ng']['version']}.tar.gz"
    shutil.copy(sdist, cache / "sdist")  # no network in tests: the copy the build fetched
    old = build.CACHE
    build.CACHE = cache
    try:
        with pytest.raises(SystemExit, match="does not match the pinned"):
            build.fetch_quickjs(lock)
    finally:
        build.CACHE = old


def test_the_dispatch_switch_is_refused_if_the_macro_does_more(tmp_path):
    """quickjs_unit.c defines EMSCRIPTEN for the interpreter's switch dispatch only; sources
    that use the macro for anything else fail the build (the pinned ones pass)."""
    build = runtime_build()
    src = ROOT / "runtime" / ".cache" / f"quickjs-ng-{LOCK['quickjs_ng']['version']}" / "upstream-quickjs"
    build.check_dispatch_switch(src)
    shutil.copy(src / "quickjs.c", tmp_path)
    with open(tmp_path / "quickjs.c", "a") as f:
        f.write("\n#ifdef EMSCRIPTEN\n#define JS_STRING_LEN_MAX 1\n#endif\n")
    with pytest.raises(SystemExit, match="EMSCRIPTEN is used beyond the dispatch switch"):
        build.check_dispatch_switch(tmp_path)


@pytest.mark.skipif(os.environ.get("PLUGIN_HOST_SKIP_REBUILD") == "1", reason="PLUGIN_HOST_SKIP_REBUILD=1")
def test_the_build_is_reproducible(tmp_path):
    """The same inputs give the same bytes, built from another directory (about a minute)."""
    work = tmp_path / "checkout"
    (work / "runtime" / ".cache").mkdir(parents=True)
    for name in ("build.py", "inject_gas.py", "lock.json"):
        shutil.copy(ROOT / "runtime" / name, work / "runtime" / name)
    shutil.copytree(ROOT / "runtime" / "harness", work / "runtime" / "harness")
    shutil.copytree(ROOT / "runtime" / ".cache" / "sdist", work / "runtime" / ".cache" / "sdist")
    out = tmp_path / "guest.wasm"
    subprocess.run([sys.executable, str(work / "runtime" / "build.py"), "--out", str(out)], check=True,
                   capture_output=True)
    import hashlib

    assert hashlib.sha256(out.read_bytes()).hexdigest() == LOCK["guest_sha256"]
