"""Against a real NEAR node: only when ``NEAR_RPC_URL`` is set (CI never sets it).

    NEAR_RPC_URL=https://rpc.mainnet.near.org .venv/bin/python -m pytest -q tests/test_near_live.py

Optional: ``NEAR_REF_CONTRACT`` (default by chain: v2.ref-finance.near / ref-finance-101.testnet),
``NEAR_REF_SIMPLE_POOL`` / ``NEAR_REF_STABLE_POOL`` (defaults on mainnet: 0 and 1910, the
USDC/USDT/DAI stable pool), and for the anchor round trip ``NEAR_ANCHOR_CONTRACT`` with
``NEAR_CREDENTIALS`` (a credentials file of the account the contract lets anchor).
"""

import os

import pytest
from near_support import ROOT, needs_py_near
from registry_support import plugin

from plugin_host import FrozenRealm, PluginRegistry

URL = os.environ.get("NEAR_RPC_URL")
pytestmark = [needs_py_near, pytest.mark.skipif(not URL, reason="live NEAR tests run only when NEAR_RPC_URL is set")]
DEFAULT_POOLS = {"mainnet": {"simple": 0, "stable": 1910}}


@pytest.fixture(scope="module")
def live():
    from plugin_host.near import REF_MAINNET, REF_TESTNET, NearRpc

    with NearRpc(URL, timeout=30) as rpc:
        chain = rpc.status()["chain_id"]
        contract = os.environ.get("NEAR_REF_CONTRACT") or (REF_MAINNET if chain == "mainnet" else REF_TESTNET)
        yield rpc, chain, contract


def _pool_id(chain, kind):
    value = os.environ.get(f"NEAR_REF_{kind.upper()}_POOL")
    return int(value) if value else DEFAULT_POOLS.get(chain, {}).get(kind)


@pytest.mark.parametrize("kind, plugin_file", [("simple", "uniswap-v2.js"), ("stable", "curve-stable-swap.js")])
def test_live_ref_pool_and_quote(live, kind, plugin_file):
    from plugin_host.near import RefPoolSource

    rpc, chain, contract = live
    pool_id = _pool_id(chain, kind)
    if pool_id is None:
        pytest.skip(f"set NEAR_REF_{kind.upper()}_POOL for {chain}")
    src = RefPoolSource(rpc, contract)
    pool = src.pool(pool_id)
    assert pool.kind == ("SIMPLE_POOL" if kind == "simple" else "STABLE_SWAP")
    realm = FrozenRealm((ROOT / "plugins" / plugin_file).read_bytes())
    amount = max(1, pool.amounts[0] // 10_000)
    q = src.quote(pool_id, pool.tokens[0], amount, pool.tokens[1], realm)
    assert q.plugin_error is None and abs(q.difference) <= (0 if kind == "simple" else 1), q


def test_live_access_keys(live):
    from plugin_host.near import RpcKeys

    rpc, chain, contract = live
    assert isinstance(RpcKeys(rpc).keys_of(contract), frozenset)
    assert RpcKeys(rpc).keys_of("no-such-account-plugin-host-test." + ("near" if chain == "mainnet" else "testnet")) \
        == frozenset()


def test_live_anchor_round_trip(live, tmp_path):
    from plugin_host.near import NearSigner, anchor, submit_anchor, verify_anchor

    contract, creds = os.environ.get("NEAR_ANCHOR_CONTRACT"), os.environ.get("NEAR_CREDENTIALS")
    if not (contract and creds):
        pytest.skip("set NEAR_ANCHOR_CONTRACT and NEAR_CREDENTIALS for the anchor round trip")
    rpc, _, _ = live
    signer = NearSigner.from_file(creds)
    with PluginRegistry(tmp_path / "r.sqlite") as reg:
        reg.activate(reg.install(plugin("live-anchor-check")))
        submit_anchor(rpc, anchor(reg, contract, signer, rpc=rpc))
        assert verify_anchor(reg, contract, rpc, anchored_by=signer.account_id).ok
