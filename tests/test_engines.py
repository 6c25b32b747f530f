"""The wasmer engine's two ways to hold a compiled guest: Dylib (a shared library, the fast
cold start) and Universal (the fallback). Same answers, same gas, and no temporary files left
behind, even by a process that never runs its finalizers."""

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from plugin_host import FrozenRealm

ROOT = Path(__file__).resolve().parent.parent
needs_dylib = pytest.mark.skipif(not sys.platform.startswith("linux") or shutil.which("gcc") is None,
                                 reason="wasmer's Dylib engine is used on Linux with gcc only")

CHILD = """
import json, os, sys
from plugin_host import FrozenRealm
r = FrozenRealm('export function f(x) { return [x * 3n, String(x) + "!", 0.1 * Number(x)]; }')
res = r.call("f", 7)
print(json.dumps([r._engine.version, res.output, res.gas_used]), flush=True)
os._exit(0)  # no finalizers: whatever wasmer would delete on drop stays unless already gone
"""


def run_child(tmp_path: Path, **env: str) -> list:
    tmpdir = tmp_path / "tmp"
    tmpdir.mkdir(exist_ok=True)
    full = dict(os.environ, PYTHONPATH=str(ROOT), TMPDIR=str(tmpdir),
                PLUGIN_HOST_CACHE_DIR=str(tmp_path / "cache"), **env)
    proc = subprocess.run([sys.executable, "-c", CHILD], capture_output=True, text=True, env=full,
                          cwd=ROOT, timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert list(tmpdir.iterdir()) == [], "the engine left temporary files behind"
    return json.loads(proc.stdout)


@needs_dylib
def test_wasmer_loads_the_guest_as_a_shared_library_and_leaves_no_temp_files(tmp_path):
    compiled = run_child(tmp_path)  # empty cache: compiles, links with gcc, caches the library
    assert compiled[0].endswith("-dylib")
    assert any(p.name.startswith(compiled[0]) for p in (tmp_path / "cache").iterdir())
    cached = run_child(tmp_path)  # warm cache: dlopens the cached library
    assert cached == compiled


@needs_dylib
def test_the_universal_fallback_gives_the_same_answers_and_gas(tmp_path):
    dylib = run_child(tmp_path)
    universal = run_child(tmp_path, PLUGIN_HOST_WASMER_ENGINE="universal")
    assert not universal[0].endswith("-dylib")
    assert universal[1:] == dylib[1:]
    here = FrozenRealm('export function f(x) { return [x * 3n, String(x) + "!", 0.1 * Number(x)]; }').call("f", 7)
    assert [here.output, here.gas_used] == dylib[1:]


def test_a_cached_wasmer_module_loads_without_the_compiler(tmp_path):
    """Importing wasmer_compiler_cranelift costs ~2 ms of a cold start: a cache hit must not."""
    code = ("import sys\nfrom plugin_host import FrozenRealm\n"
            "FrozenRealm('export function f() { return 1n; }').call('f')\n"
            "print('wasmer_compiler_cranelift' in sys.modules)\n")
    env = dict(os.environ, PYTHONPATH=str(ROOT), PLUGIN_HOST_CACHE_DIR=str(tmp_path))
    runs = [subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, cwd=ROOT,
                           timeout=300, check=True).stdout.strip() for _ in range(2)]
    assert runs == ["True", "False"]  # the first compiles, the second only loads
