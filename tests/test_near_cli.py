"""``plugin-host near anchor | verify-anchor | pool`` against the loopback node."""

import json

import pytest
from near_support import ANCHORS, GOLDEN, OWNER, REF, ROOT, needs_py_near, node  # noqa: F401  (fixtures)
from registry_support import plugin

from plugin_host import PluginRegistry
from plugin_host._cli import main
from plugin_host.registry import generate_key

pytestmark = needs_py_near


@pytest.fixture(autouse=True)
def no_env_rpc(monkeypatch):
    monkeypatch.delenv("NEAR_RPC_URL", raising=False)


@pytest.fixture
def setup(node, tmp_path):
    """A registry file with two active plugins, the owner's credentials, and the contracts."""
    from near_loopback import AnchorContract, RefContract

    secret, public = generate_key()
    creds = tmp_path / "registry.test.json"
    creds.write_text(json.dumps({"account_id": OWNER, "public_key": public, "private_key": secret}))
    db = tmp_path / "registry.sqlite"
    with PluginRegistry(db) as reg:
        for name in ("alpha", "beta"):
            reg.activate(reg.install(plugin(name)))
    node.add_account(OWNER, public)
    node.deploy(ANCHORS, AnchorContract(OWNER))
    node.deploy(REF, RefContract([
        {"kind": "SIMPLE_POOL", "tokens": ["wrap.test", "usdc.test"], "amounts": [10**27, 3 * 10**9], "total_fee": 30},
        {"kind": "STABLE_SWAP", "tokens": ["usdt.test", "usdc.test"], "decimals": [6, 6],
         "c_amounts": [10**24 + 123, 10**24], "total_fee": 5, "amp": 240}]))
    return {"db": str(db), "creds": str(creds), "url": node.url}


def run(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_anchor_then_verify(setup, capsys, node):
    s = setup
    common = ["--registry", s["db"], "--contract", ANCHORS, "--rpc", s["url"]]
    code, out, err = run(capsys, "near", "anchor", *common, "--key", s["creds"])
    assert code == 0, err
    assert "anchored 2 plugin(s) on anchors.test" in out and "alpha@1.0.0" in out
    code, out, err = run(capsys, "near", "verify-anchor", *common, "--anchored-by", OWNER, "--json")
    assert code == 0 and json.loads(out)["ok"] is True
    with PluginRegistry(s["db"]) as reg:  # the registry moves on: the chain no longer matches
        reg.activate(reg.install(plugin("gamma")))
    code, out, err = run(capsys, "near", "verify-anchor", *common)
    assert code == 1 and "not anchored" in out and "MISMATCH" in out
    code, out, err = run(capsys, "near", "anchor", *common, "--key", s["creds"], "--dry-run", "--json")
    assert code == 0 and json.loads(out)["outcome"] is None and len(json.loads(out)["anchor"]["entries"]) == 3


def test_anchor_offline_needs_no_node(setup, capsys, node):
    s = setup
    node.close()
    block = GOLDEN["transactions"][0]["block_hash"]
    argv = ["near", "anchor", "--registry", s["db"], "--contract", ANCHORS, "--key", s["creds"], "--nonce", "3",
            "--block-hash", block, "alpha@1.0.0"]
    code, out, err = run(capsys, *argv)
    assert code == 0, err
    assert "signed, not sent" in out and "alpha@1.0.0" in out and "beta" not in out
    assert run(capsys, *argv)[1] == out  # the same bytes every time
    code, out, err = run(capsys, *argv[:-3], "alpha@1.0.0")  # --nonce without --block-hash
    assert code == 2 and "both --nonce and --block-hash" in err


def test_clear_errors_without_a_node(setup, capsys, node, monkeypatch):
    s = setup
    code, out, err = run(capsys, "near", "pool", "0", "--contract", REF)
    assert code == 2 and "pass --rpc URL or set $NEAR_RPC_URL" in err
    code, out, err = run(capsys, "near", "verify-anchor", "--registry", s["db"], "--contract", ANCHORS)
    assert code == 2 and "NEAR_RPC_URL" in err
    code, out, err = run(capsys, "near", "anchor", "--registry", s["db"], "--contract", ANCHORS, "--key", s["creds"])
    assert code == 2 and "--nonce and --block-hash" in err
    url = node.url
    node.close()
    monkeypatch.setenv("NEAR_RPC_URL", url)
    code, out, err = run(capsys, "near", "pool", "0", "--contract", REF)
    assert code == 1 and f"NearRpcError: cannot reach the NEAR RPC at {url}" in err
    code, out, err = run(capsys, "near", "verify-anchor", "--registry", str(s["db"]) + ".missing", "--contract", ANCHORS)
    assert code == 2 and "no registry at" in err


def test_pool_and_quote(setup, capsys, monkeypatch):
    s = setup
    code, out, err = run(capsys, "near", "pool", "1", "--contract", REF, "--rpc", s["url"], "--json")
    assert code == 0, err
    answer = json.loads(out)
    assert answer["plugin"] == "curve-stable-swap"
    assert answer["poolState"] == {"tokens": ["usdt.test", "usdc.test"], "balances": [10**6 * 10**6, 10**12],
                                   "decimals": [6, 6], "A": 480, "fee": 5 * 10**6, "adminFee": 0}
    monkeypatch.chdir(ROOT)  # the default plugin is plugins/<name>.js
    code, out, err = run(capsys, "near", "pool", "1", "--contract", REF, "--rpc", s["url"], "--quote", "usdt.test",
                         "2500000", "usdc.test", "--json")
    assert code == 0, err
    q = json.loads(out)
    assert q["agrees"] and q["quote"]["precise"] and q["quote"]["ref_amount_out"] > 0
    code, out, err = run(capsys, "near", "pool", "0", "--contract", REF, "--rpc", s["url"], "--quote", "wrap.test",
                         str(10**24), "usdc.test", "--plugin", "plugins/uniswap-v2.js", "--native")
    assert code == 0 and "Ref get_return" in out and "difference        0" in out
    code, out, err = run(capsys, "near", "pool", "0", "--contract", REF, "--rpc", s["url"], "--quote", "wrap.test",
                         "1.5", "usdc.test")
    assert code == 2 and "must be an integer" in err
