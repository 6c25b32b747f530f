"""`plugin-host fuzz`: exit codes, the report, the counterexample as JSON, --strategy and
--property from modules, registry references, and the example database in the data directory."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from plugin_host import PluginRegistry, _realm
from plugin_host._cli import main
from plugin_host._fuzz_cli import _Progress

ROOT = Path(__file__).resolve().parent.parent
UNISWAP = str(ROOT / "plugins" / "uniswap-v2.js")
BUGS = ROOT / "tests" / "fuzz_plugins"
INPUTS = str(BUGS / "inputs.py")


@pytest.fixture(autouse=True)
def data_dir(tmp_path, monkeypatch):
    monkeypatch.setattr(_realm, "_VERIFY_RESTORE", False)  # see test_fuzz_bugs.py
    monkeypatch.setenv("PLUGIN_HOST_DATA_DIR", str(tmp_path / "data"))
    return tmp_path / "data"


def fuzz(capsys, *args):
    status = main(["fuzz", *map(str, args)])
    out = capsys.readouterr()
    return status, out.out, out.err


def test_a_plugin_that_passes(capsys):
    status, out, err = fuzz(capsys, UNISWAP, "calculateSwap", "--kind", "constant-product", "--examples", 300,
                            "--seed", 1)  # 300 is 19 batches of 16: 304 examples
    assert status == 0, out
    for text in ("uniswap-v2@1.0.0 calculateSwap on wasmer", "examples run   304", "failures       0", "gas",
                 "slowest input", "--seed 1 reproduces", "conservation", "round-trip", "determinism",
                 "OK: no property failed in 304 examples"):
        assert text in out
    assert "fuzzing uniswap-v2@1.0.0 calculateSwap: 304 examples" in err


def test_a_failure_exits_1_with_the_shrunk_input_as_json(capsys, data_dir):
    status, out, _ = fuzz(capsys, BUGS / "overpays-narrow-range.js", "calculateSwap", "--kind", "constant-product",
                          "--examples", 3000, "--seed", 0, "--property", "conservation")
    assert status == 1
    assert "FAILED: property 'conservation': pays out" in out
    lines = out.splitlines()
    data = json.loads(lines[lines.index(next(x for x in lines if "shrunk counterexample" in x)) + 1])
    assert data["amountIn"] >= 2 * data["poolState"]["reserves"][data["poolState"]["tokens"].index(data["tokenIn"])]
    assert any((data_dir / "hypothesis").iterdir())  # saved for the next run
    # the next run replays it first, whatever its seed
    status, again, _ = fuzz(capsys, BUGS / "overpays-narrow-range.js", "calculateSwap", "--kind", "constant-product",
                            "--examples", 3000, "--seed", 5, "--property", "conservation", "--json")
    assert status == 1 and json.loads(again)["failure"]["input_json"] == json.dumps(data, separators=(",", ":"),
                                                                                    sort_keys=True)


def test_json_report_and_seed_reproducibility(capsys):
    args = [BUGS / "gas-bomb.js", "calculateSwap", "--kind", "constant-product", "--examples", 1000,
            "--property", "gas", "--gas-budget", 1_000_000, "--json", "--no-database"]
    status, out, _ = fuzz(capsys, *args, "--seed", 3)
    report = json.loads(out)
    assert status == 1 and report["failure"]["property"] == "gas" and report["seed"] == 3
    assert "ran out of gas at its limit of 1000000" in report["failure"]["reason"]
    _, again, _ = fuzz(capsys, *args, "--seed", 3)
    same = json.loads(again)
    assert (same["failure"], same["examples"], same["gas_max"]) == (report["failure"], report["examples"],
                                                                     report["gas_max"])


def test_strategy_and_properties_from_a_module(capsys):
    status, out, _ = fuzz(capsys, UNISWAP, "getAmountOut", "--strategy", f"{INPUTS}:GetAmountOut",
                          "--property", f"{INPUTS}:REFERENCE", "--property", "totality", "--examples", 200,
                          "--seed", 2)
    assert status == 0, out
    assert re.search(r"reference +208 +0", out) and re.search(r"monotonic +208", out)
    status, out, _ = fuzz(capsys, UNISWAP, "getAmountOut", "--strategy", f"{INPUTS}:big_trades",
                          "--property", f"{INPUTS}:under_a_third", "--examples", 200, "--seed", 2)
    assert status == 1 and "FAILED: property 'under a third'" in out


def test_a_registry_reference(capsys, tmp_path):
    db = tmp_path / "registry.sqlite"
    with PluginRegistry(db) as reg:
        reg.install(Path(UNISWAP).read_bytes())  # inactive: auditors fuzz before they attest
    status, out, _ = fuzz(capsys, "uniswap-v2@1.0.0", "getAmountOut", "--strategy", f"{INPUTS}:GetAmountOut",
                          "--registry", db, "--examples", 100, "--seed", 1)
    assert status == 0, out
    assert "uniswap-v2@1.0.0 getAmountOut" in out


@pytest.mark.parametrize("args, message", [
    (["--strategy", f"{INPUTS}:nothing"], "has no nothing"),
    (["--strategy", "no_such_module_xyz:s"], "cannot import"),
    (["--strategy", "not-a-spec"], "is not MODULE:NAME"),
    (["--kind", "curve", "--property", "fairness"], "unknown property"),
    (["--kind", "curve", "--examples", "0"], "at least 1"),
    (["--kind", "constant-product", "--function-is-missing"], None),
])
def test_usage_errors_exit_2(capsys, args, message):
    if message is None:  # argparse's own errors
        with pytest.raises(SystemExit) as info:
            main(["fuzz", UNISWAP, "calculateSwap", *args])
        assert info.value.code == 2
        return
    assert main(["fuzz", UNISWAP, "calculateSwap", *args]) == 2
    assert message in capsys.readouterr().err


def test_an_unknown_function_is_a_usage_error(capsys):
    status, _, err = fuzz(capsys, UNISWAP, "nope", "--kind", "constant-product")
    assert status == 2 and "exports no function 'nope'" in err


def test_the_progress_bar(capsys):
    bar = _Progress(enabled=True)
    for done in range(1, 11):
        bar(done, 10)
    bar.close()
    err = capsys.readouterr().err
    assert "[##############################] 10/10" in err
    silent = _Progress(enabled=False)
    silent(10, 10)
    assert capsys.readouterr().err == ""
