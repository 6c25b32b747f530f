"""Registry anchors on NEAR: golden transaction bytes (made by near-api-js, see
tests/vectors/near_golden.mjs), and the round trip through the loopback node: sign, broadcast,
execute on the mock anchor contract, read back with view calls."""

import base64
import json

import msgspec
import pytest
from near_support import ANCHORS, GOLDEN, OWNER, audited, needs_py_near, node, rpc  # noqa: F401  (fixtures)

from plugin_host import ConfigurationError, InvalidKey
from plugin_host.near import (
    AnchorEntry,
    NearRpc,
    NearRpcError,
    NearSigner,
    NearTransactionFailed,
    anchor,
    anchor_entries,
    sign_function_call,
    submit_anchor,
    verify_anchor,
)
from plugin_host.near._anchor import anchor_args
from plugin_host.registry import generate_key

pytestmark = needs_py_near


@pytest.mark.parametrize("case", GOLDEN["transactions"], ids=lambda c: c["name"])
def test_transactions_match_near_api_js_byte_for_byte(case):
    entries = [msgspec.convert(e, AnchorEntry) for e in case["entries"]]
    args = anchor_args(entries)
    assert args == base64.b64decode(case["args_base64"])  # our canonical JSON = JSON.stringify, sorted keys
    signer = NearSigner(case["signer_id"], GOLDEN["secret_key"])
    assert signer.public_key == GOLDEN["public_key"]
    tx = sign_function_call(signer, case["receiver_id"], case["method"], args, nonce=int(case["nonce"]),
                            block_hash=case["block_hash"], gas=int(case["gas"]), deposit=int(case["deposit"]))
    assert tx.signed_base64 == case["expected"]["signed_tx_base64"]
    assert tx.hash == case["expected"]["tx_hash"]


def test_signing_refuses_bad_input():
    signer = NearSigner("a.test", GOLDEN["secret_key"])
    ok = dict(nonce=1, block_hash=GOLDEN["transactions"][0]["block_hash"])
    for bad in (dict(ok, nonce=-1), dict(ok, nonce=2**64), dict(ok, block_hash="abc"), dict(ok, block_hash="0OIl"),
                dict(ok, gas=2**64), dict(ok, deposit=2**128)):
        with pytest.raises(ConfigurationError):
            sign_function_call(signer, "b.test", "m", b"{}", **bad)
    with pytest.raises(ConfigurationError):
        sign_function_call(signer, "Not An Account", "m", b"{}", **ok)
    with pytest.raises(ConfigurationError):
        NearSigner("UPPER.near", GOLDEN["secret_key"])
    # py-near's Rust signer panics on a secret whose public half does not match; we refuse first
    secret = GOLDEN["secret_key"]
    with pytest.raises(InvalidKey):
        NearSigner("a.test", secret[:-4] + ("1111" if not secret.endswith("1111") else "2222"))
    assert GOLDEN["secret_key"] not in repr(signer)


def test_signer_from_a_credentials_file(tmp_path):
    creds = tmp_path / "registry.test.json"
    creds.write_text(json.dumps({"account_id": "registry.test", "public_key": GOLDEN["public_key"],
                                 "private_key": GOLDEN["secret_key"]}))
    s = NearSigner.from_file(creds)
    assert (s.account_id, s.public_key) == ("registry.test", GOLDEN["public_key"])
    assert NearSigner.from_file(creds, account_id="other.test").account_id == "other.test"
    creds.write_text("{not json")
    with pytest.raises(InvalidKey):
        NearSigner.from_file(creds)
    creds.write_text(json.dumps({"private_key": GOLDEN["secret_key"]}))
    with pytest.raises(ConfigurationError):
        NearSigner.from_file(creds)


def test_anchor_entries_list_active_plugins_and_their_valid_attestations(audited):
    entries = anchor_entries(audited.reg)
    assert [e.plugin for e in entries] == ["alpha@1.0.0", "beta@2.1.0"]  # gamma is inactive
    alpha, beta = entries
    assert alpha.plugin_sha256 == audited.a.sha256 and alpha.attestations == (audited.att.digest(),)
    assert beta.attestations == ()
    # an attestation whose auditor is no longer trusted with that key does not get anchored
    audited.reg.remove_auditor("alice.near")
    assert anchor_entries(audited.reg, ["alpha@1.0.0"])[0].attestations == ()
    assert anchor_entries(audited.reg, [audited.c])[0].plugin == "gamma@0.1.0"  # named plugins, active or not


def test_anchor_offline_is_deterministic(audited):
    signer = NearSigner(OWNER, audited.owner_secret)
    block = GOLDEN["transactions"][0]["block_hash"]
    tx1 = anchor(audited.reg, ANCHORS, signer, nonce=5, block_hash=block)
    tx2 = anchor(audited.reg, ANCHORS, signer, nonce=5, block_hash=block)
    assert tx1 == tx2 and tx1.tx.method == "anchor" and tx1.tx.nonce == 5
    assert msgspec.json.decode(tx1.tx.args, type=dict[str, tuple[AnchorEntry, ...]]) == {"entries": tx1.entries}
    with pytest.raises(ConfigurationError, match="nonce= and block_hash="):
        anchor(audited.reg, ANCHORS, signer, nonce=5)


def _setup(node, audited):
    from near_loopback import AnchorContract

    node.add_account(OWNER, audited.owner_public, nonce=41)
    node.deploy(ANCHORS, AnchorContract(OWNER))
    return NearSigner(OWNER, audited.owner_secret)


def test_anchor_round_trip_through_the_loopback_node(node, rpc, audited):
    signer = _setup(node, audited)
    tx = anchor(audited.reg, ANCHORS, signer, rpc=rpc)
    assert tx.tx.nonce == 42  # the access key's nonce + 1
    outcome = submit_anchor(rpc, tx)
    assert outcome.tx_hash == tx.tx.hash and json.loads(outcome.value) == 2
    assert node.accounts[OWNER][audited.owner_public]["nonce"] == 42
    result = verify_anchor(audited.reg, ANCHORS, rpc, anchored_by=OWNER)
    assert result.ok and [c.plugin for c in result.checks] == ["alpha@1.0.0", "beta@2.1.0"]
    assert result.checks[0].on_chain.anchored_by == OWNER and result.block_height == node.height
    # every read of one verification is pinned to one block
    views = [r["params"] for r in node.requests if r["method"] == "query"
             and r["params"]["request_type"] == "call_function"]
    assert views[0].get("finality") == "final" and views[1]["block_id"] == node.blocks[-1]

    # the registry changes: a second audit of beta. The chain no longer matches until re-anchored.
    audited.reg.attest(audited.b, audited.alice_secret, auditor="alice.near", verdict="approved",
                       report="ipfs://report-beta", timestamp=1_700_000_100)
    stale = verify_anchor(audited.reg, ANCHORS, rpc)
    assert not stale.ok and stale.checks[0].ok
    assert "attestations" in stale.checks[1].problems[0]
    submit_anchor(rpc, anchor(audited.reg, ANCHORS, signer, rpc=rpc, refs=["beta@2.1.0"]))
    assert verify_anchor(audited.reg, ANCHORS, rpc).ok
    assert not verify_anchor(audited.reg, ANCHORS, rpc, anchored_by="someone.test").ok
    missing = verify_anchor(audited.reg, ANCHORS, rpc, refs=[audited.c])
    assert not missing.ok and missing.checks[0].problems == ("not anchored",)


def test_node_and_contract_refusals_are_typed_errors(node, rpc, audited):
    signer = _setup(node, audited)
    tx = anchor(audited.reg, ANCHORS, signer, rpc=rpc)
    submit_anchor(rpc, tx)
    with pytest.raises(NearRpcError) as e:  # the same nonce again
        submit_anchor(rpc, tx)
    assert e.value.cause == "INVALID_TRANSACTION" and "InvalidNonce" in str(e.value)

    intruder_secret, intruder_public = generate_key()
    node.add_account("intruder.test", intruder_public)
    with pytest.raises(NearTransactionFailed) as f:  # the contract lets only its owner anchor
        submit_anchor(rpc, anchor(audited.reg, ANCHORS, NearSigner("intruder.test", intruder_secret), rpc=rpc))
    assert "only registry.test may anchor" in str(f.value) and f.value.tx_hash

    stranger = NearSigner("stranger.test", generate_key()[0])
    with pytest.raises(NearRpcError) as u:
        anchor(audited.reg, ANCHORS, stranger, rpc=rpc)
    assert u.value.cause == "UNKNOWN_ACCOUNT"
    with pytest.raises(NearRpcError) as b:
        verify_anchor(audited.reg, ANCHORS, rpc, block_id="11111111111111111111111111111111")
    assert b.value.cause == "UNKNOWN_BLOCK"


def test_an_unreachable_node_is_a_clear_error(node, audited):
    url = node.url
    node.close()
    with NearRpc(url, timeout=5) as rpc:
        with pytest.raises(NearRpcError, match="cannot reach the NEAR RPC at http://127.0.0.1") as e:
            anchor(audited.reg, ANCHORS, NearSigner(OWNER, audited.owner_secret), rpc=rpc)
    assert e.value.cause == "UNREACHABLE" and e.value.url == url


def test_rpc_url_and_async_misuse():
    with pytest.raises(ConfigurationError):
        NearRpc("localhost:3030")
    import asyncio

    async def inside_a_loop():
        NearRpc("http://127.0.0.1:9").status()

    with pytest.raises(ConfigurationError, match="worker thread"):
        asyncio.run(inside_a_loop())
