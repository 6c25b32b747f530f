"""`plugin-host demo`: the DEX tour runs, keeps its state in the data directory, and starts over
with --fresh."""

import os
import stat

from plugin_host._cli import main


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
