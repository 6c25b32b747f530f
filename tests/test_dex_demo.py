"""`plugin-host demo`: the DEX tour runs, keeps its state in the data directory, and starts over
with --fresh."""

import os
import stat
import subprocess
import sys
from pathlib import Path

from plugin_host._cli import main

ROOT = Path(__file__).resolve().parent.parent


def run(capsys, *args):
    assert main(["demo", *args]) == 0
    return capsys.readouterr().out


def test_the_demo_persists_and_starts_over(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("PLUGIN_HOST_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.chdir(tmp_path)
    out = run(capsys)
    for expected in ("refused     curve       unaudited", "attested    auditor.near", "REFUSED",
                     "ValidationFailed: rule 'conservation'", "OutOfGas", "unchanged: 3pool",
                     "4 recorded swaps replay", "ReplayMismatch", "4 settled (4 this run)", "books       balanced"):
        assert expected in out, expected
    assert "CHANGED" not in out and "NOT" not in out
    key = tmp_path / "data" / "demo" / "auditor.json"
    assert stat.S_IMODE(os.stat(key).st_mode) == 0o600
    again = run(capsys)
    assert "found       4 swaps, 2 refusals from earlier runs" in again and "8 settled (4 this run)" in again
    assert "(from an earlier run)" in again and "refused     curve" not in again
    fresh = run(capsys, "--fresh")
    assert "4 settled (4 this run)" in fresh and "(new;" in fresh



def test_swaps_recorded_on_another_runtime_are_reported_not_replayed(tmp_path, monkeypatch, capsys):
    """A rebuilt guest is a new runtime: an earlier run's receipts pin the old one and cannot
    replay to the same gas on this one, so the demo says so instead of failing."""
    from plugin_host import _guest

    # another runtime: the same guest with a custom section appended (valid wasm, other hash)
    other = tmp_path / "other.wasm"
    other.write_bytes(_guest.load()[0] + bytes([0, 6, 5]) + b"other")
    env = dict(os.environ, PLUGIN_HOST_GUEST=str(other), PLUGIN_HOST_DATA_DIR=str(tmp_path / "data"),
               PYTHONPATH=str(ROOT))
    subprocess.run([sys.executable, "-m", "plugin_host", "demo"], cwd=tmp_path, env=env, check=True,
                   capture_output=True, timeout=600)
    monkeypatch.setenv("PLUGIN_HOST_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.chdir(tmp_path)
    again = run(capsys)
    assert "4 recorded swaps replay to the same output hash and gas; 4 recorded on other runtimes" in again
