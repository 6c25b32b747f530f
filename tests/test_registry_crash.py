"""Crash safety: a process SIGKILLed in the middle of many installs (and calls) leaves a
registry that opens, passes PRAGMA integrity_check and holds only complete plugins."""

import os
import random
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from plugin_host import PluginRegistry
from plugin_host._codec import sha256_hex

pytestmark = pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="needs SIGKILL")

TESTS = Path(__file__).resolve().parent

# Installs plugins with ~200 KiB sources (so a write takes a while) and calls each once,
# printing a line after each committed install.
WORKER = r"""
import sys
sys.path.insert(0, sys.argv[3])
from registry_support import plugin
from plugin_host import PluginRegistry
reg = PluginRegistry(sys.argv[1])
start = int(sys.argv[2])
for i in range(start, start + 1000):
    pad = "// " + ("%08d" % i) * 25000 + "\n"
    rec = reg.activate(reg.install(plugin(f"p{i}", body=pad)))
    print(i, rec.sha256, flush=True)
    reg.call(rec, "add", {"a": i, "b": 1})
"""


def _kill_midway(path: Path, start: int, rng: random.Random) -> list[str]:
    proc = subprocess.Popen([sys.executable, "-c", WORKER, str(path), str(start), str(TESTS)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    committed = []
    try:
        for line in proc.stdout:
            committed.append(line.split()[1])
            if len(committed) >= 5:
                break
        time.sleep(rng.uniform(0, 0.05))  # land anywhere: inside a load, a transaction, a call
        os.kill(proc.pid, signal.SIGKILL)
    finally:
        proc.wait(timeout=60)
        proc.stdout.close()
        stderr = proc.stderr.read()
        proc.stderr.close()
    assert proc.returncode == -signal.SIGKILL, stderr
    assert len(committed) >= 5, stderr
    return committed


def test_sigkill_during_installs_leaves_a_sound_registry(tmp_path):
    path = tmp_path / "registry.sqlite"
    rng = random.Random(1234)
    committed: list[str] = []
    for round_ in range(3):
        committed += _kill_midway(path, round_ * 1000, rng)

        conn = sqlite3.connect(path)
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        rows = conn.execute("SELECT sha256, name, source, metadata FROM plugins").fetchall()
        conn.close()
        for sha, name, source, metadata in rows:
            assert sha256_hex(source) == sha  # every row is a whole plugin
            assert f'"name":"{name}"'.encode() in metadata
        assert set(committed) <= {r[0] for r in rows}  # every reported install survived

    with PluginRegistry(path) as reg:
        records = reg.list()
        assert len(records) >= len(committed)
        last = reg.get(committed[-1])
        assert reg.call(last, "add", {"a": 1, "b": 1}).output == 2
        assert sum(reg.usage(r.sha256).calls for r in records) >= len(committed) - 3
