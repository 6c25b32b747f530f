"""The registry's command line: round trips in-process through main(), and a few through a
real subprocess; exit codes 0 ok, 1 plugin/registry error, 2 usage."""

import json
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from registry_support import plugin

from plugin_host._cli import main
from plugin_host._codec import sha256_hex

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def cli(tmp_path, capsys):
    """run(*argv) -> (status, stdout, stderr) against a registry in tmp_path."""
    db = str(tmp_path / "reg.sqlite")

    def run(*argv: str):
        status = main([*argv, "--registry", db] if argv[0] not in ("hash", "keygen") else list(argv))
        out, err = capsys.readouterr()
        return status, out, err

    src = tmp_path / "adder.js"
    src.write_text(plugin(capabilities=["log"]))
    run.plugin = str(src)
    run.sha = sha256_hex(src.read_bytes())
    run.tmp = tmp_path
    return run


def test_install_list_show_call_round_trip(cli):
    status, out, _ = cli("install", cli.plugin)
    assert status == 0 and cli.sha in out and "inactive" in out
    status, out, _ = cli("list")
    assert status == 0 and out.splitlines()[0].split() == ["NAME", "VERSION", "KIND", "ACTIVE", "SHA256", "CAPABILITIES"]
    assert "adder" in out and "log" in out
    assert json.loads(cli("list", "--json")[1])[0]["sha256"] == cli.sha

    status, _, err = cli("call", "adder@1.0.0", "add", "--input", '{"a": 1, "b": 2}')
    assert status == 1 and "PluginInactive" in err
    assert cli("activate", "adder@1.0.0")[0] == 0
    status, out, err = cli("call", "adder@1.0.0", "add", "--input", '{"a": 1, "b": 2}')
    assert (status, out.strip()) == (0, "3") and "gas used" in err
    status, out, _ = cli("call", cli.sha, "add", "--input", '{"a": 5, "b": 5}', "--json", "--engine", "wasmtime")
    result = json.loads(out)
    assert result["output"] == 10 and result["receipt"]["plugin_sha256"] == cli.sha and len(result["digest"]) == 64
    assert cli("call", "adder@1.0.0", "add", "--input", "{}", "--sha256", "0" * 64)[0] == 1
    assert cli("call", "adder@1.0.0", "fail")[0] == 1

    status, out, _ = cli("show", "adder@1.0.0")
    assert status == 0 and "policy        met" in out and "3 call(s), 1 failed" in out
    shown = json.loads(cli("show", "adder@1.0.0", "--json")[1])
    assert shown["plugin"]["name"] == "adder" and shown["usage"]["calls"] == 3
    assert cli("show", "adder@1.0.0", "--source")[1] == Path(cli.plugin).read_text()
    assert json.loads(cli("usage", cli.sha, "--json")[1])["failures"] == 1

    assert "deactivated" in cli("deactivate", "adder@1.0.0")[1]
    assert cli("uninstall", cli.sha)[0] == 0
    assert cli("list")[1].startswith("no plugins installed")


def test_input_from_a_file_and_install_with_expected_hash(cli):
    assert cli("install", cli.plugin, "--sha256", "1" * 64)[0] == 1
    assert cli("install", cli.plugin, "--sha256", cli.sha, "--activate")[0] == 0
    (cli.tmp / "in.json").write_text('{"a": 20, "b": 22}')
    assert cli("call", "adder@1.0.0", "add", "--input", f"@{cli.tmp / 'in.json'}")[1].strip() == "42"


def test_keygen_attest_verify_policy(cli):
    key = cli.tmp / "alice.json"
    status, out, _ = cli("keygen", "--account", "alice.near", "--out", str(key))
    assert status == 0 and "ed25519:" in out
    assert stat.S_IMODE(key.stat().st_mode) == 0o600
    creds = json.loads(key.read_text())
    assert creds["account_id"] == "alice.near" and creds["private_key"].startswith("ed25519:")
    assert cli("keygen", "--out", str(key))[0] == 2  # never overwrites a key
    printed = json.loads(cli("keygen", "--json")[1])
    assert set(printed) == {"account_id", "public_key", "private_key"}

    cli("install", cli.plugin)
    status, _, err = cli("attest", "adder@1.0.0", "--key", str(key), "--verdict", "approved", "--report", "ipfs://r")
    assert status == 1 and "UnknownAuditor" in err
    assert cli("auditor", "add", "alice.near", creds["public_key"])[0] == 0
    assert "alice.near" in cli("auditor", "list")[1]
    status, out, _ = cli("attest", "adder@1.0.0", "--key", str(key), "--verdict", "approved", "--report", "ipfs://r",
                         "--json")
    assert status == 0 and json.loads(out)["statement"]["plugin_sha256"] == cli.sha
    status, out, _ = cli("attest", "adder@1.0.0", "--key", str(key), "--verdict", "approved", "--report", "ipfs://r2",
                         "--scheme", "nep413", "--json")
    assert status == 0 and json.loads(out)["scheme"] == "nep413"

    assert cli("policy", "set", "--trusted-auditors", "alice.near,bob.near", "--min-approvals", "2")[0] == 0
    status, out, _ = cli("verify", "adder@1.0.0")
    assert status == 1 and "NOT met" in out and "alice.near" in out
    assert cli("activate", "adder@1.0.0")[0] == 1
    assert cli("policy", "set", "--min-approvals", "1", "--allowed-capabilities", "log")[0] == 0
    assert cli("verify", "adder@1.0.0")[0] == 0
    assert json.loads(cli("policy", "show", "--json")[1]) == {
        "trusted_auditors": ["alice.near", "bob.near"], "min_approvals": 1, "allowed_capabilities": ["log"],
        "require_runtime_match": False}
    assert cli("activate", "adder@1.0.0")[0] == 0
    status, out, err = cli("call", "adder@1.0.0", "chatty")
    assert status == 0 and "hello" in err  # the log capability was granted by the policy

    status, _, err = cli("policy", "set", "--min-approvals", "5")
    assert status == 1 and "ConfigurationError" in err
    assert cli("policy", "set")[0] == 2
    assert cli("attest", "adder@1.0.0", "--key", str(cli.tmp / "missing.json"), "--verdict", "approved",
               "--report", "x")[0] == 2


def test_errors_have_clear_messages_and_exit_codes(cli):
    status, out, err = cli("show", "nope@1.0.0", "--json")
    assert status == 1 and "NotFound" in err and json.loads(out)["error"]["type"] == "NotFound"
    status, _, err = cli("call", "x@1.0.0", "f", "--input", "{oops")
    assert status == 2 and "--input is not JSON" in err
    assert cli("install", str(cli.tmp / "missing.js"))[0] == 2
    (cli.tmp / "bad.js").write_text("export const metadata = {name: 'x'}")
    status, _, err = cli("install", str(cli.tmp / "bad.js"))
    assert status == 1 and "InvalidMetadata" in err
    with pytest.raises(SystemExit) as info:
        main(["frobnicate"])
    assert info.value.code == 2


def test_default_registry_location(tmp_path, monkeypatch, capsys):
    src = tmp_path / "adder.js"
    src.write_text(plugin())
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("PLUGIN_HOST_REGISTRY", raising=False)
    assert main(["install", str(src)]) == 0
    assert (tmp_path / ".plugin-host" / "registry.sqlite").exists()
    monkeypatch.setenv("PLUGIN_HOST_REGISTRY", str(tmp_path / "elsewhere.sqlite"))
    assert main(["install", str(src)]) == 0
    assert (tmp_path / "elsewhere.sqlite").exists()


def _run(*argv: str, env: dict) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "plugin_host", *argv], capture_output=True, text=True, env=env,
                          cwd=ROOT, timeout=120)


def test_subprocess_round_trip(tmp_path):
    env = {**os.environ, "PLUGIN_HOST_REGISTRY": str(tmp_path / "reg.sqlite")}
    p = _run("install", "plugins/uniswap-v2.js", "--activate", "--json", env=env)
    assert p.returncode == 0, p.stderr
    sha = json.loads(p.stdout)["sha256"]
    assert _run("hash", "plugins/uniswap-v2.js", env=env).stdout.strip() == sha
    p = _run("call", "uniswap-v2@1.0.0", "getAmountOut", "--sha256", sha, "--input",
             '{"amountIn": 1000000000000000000000, "reserveIn": 1000000000000000000000000, '
             '"reserveOut": 1000000000000000000000000, "feeBps": 30}', env=env)
    assert p.returncode == 0, p.stderr
    assert p.stdout.strip() == "996006981039903216493"
    p = _run("show", "missing@1.0.0", env=env)
    assert p.returncode == 1 and "NotFound" in p.stderr
    p = _run("index", "check", "--json", env=env)
    assert p.returncode == 0, p.stdout + p.stderr
