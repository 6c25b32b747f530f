"""Audit attestations as NEP-413 signed messages (what a NEAR wallet's signMessage produces),
and KeyResolvers: pinned keys offline, an account's access keys over RPC."""

import base64
import subprocess
import sys

import pytest
from near_support import GOLDEN, ROOT, audited, needs_py_near, node, rpc  # noqa: F401  (fixtures)
from registry_support import plugin

from plugin_host import BadSignature, PluginRegistry, RegistryPolicy, UnknownAuditor
from plugin_host.near import (
    PinnedKeys,
    RpcKeys,
    attestation_from_wallet,
    sign_message,
    verify_attestation,
    verify_message,
    wallet_request,
)
from plugin_host.near._nep413 import payload_hash
from plugin_host.registry import generate_key, sign
from plugin_host.registry._attest import SCHEMES, make_statement
from plugin_host.registry._keys import b58decode

RUNTIME = "b" * 64


def _statement(sha="a" * 64, **kw):
    fields = dict(plugin_sha256=sha, runtime_sha256=RUNTIME, verdict="approved", report="ipfs://r é ✓",
                  auditor="alice.near", timestamp=1_700_000_000)
    return make_statement(**{**fields, **kw})


# ---- the NEP-413 bytes, against near-api-js ----------------------------------------------------

@pytest.mark.parametrize("case", GOLDEN["nep413"], ids=lambda c: c["name"])
def test_nep413_signatures_match_near_api_js(case):
    nonce = base64.b64decode(case["nonce_base64"])
    sig = sign_message(case["message"], GOLDEN["secret_key"], recipient=case["recipient"], nonce=nonce,
                       callback_url=case["callback_url"])
    assert b58decode(sig[len("ed25519:"):]) == base64.b64decode(case["expected"]["signature_base64"])
    verify_message(case["message"], sig, case["expected"]["public_key"], recipient=case["recipient"], nonce=nonce,
                   callback_url=case["callback_url"])
    with pytest.raises(BadSignature):  # every field is signed
        verify_message(case["message"], sig, GOLDEN["public_key"], recipient=case["recipient"] + "x", nonce=nonce,
                       callback_url=case["callback_url"])


def test_nep413_payload_is_tagged_and_needs_a_32_byte_nonce():
    # the tag 2**31 + 413 keeps a signed message from ever parsing as a transaction
    h1 = payload_hash("m", recipient="r", nonce=bytes(32))
    h2 = payload_hash("m", recipient="r", nonce=bytes(32), callback_url="")
    assert h1 != h2  # None and "" are different Options
    with pytest.raises(ValueError):
        payload_hash("m", recipient="r", nonce=bytes(31))


# ---- the registry's nep413 scheme -------------------------------------------------------------

def test_the_registry_knows_the_nep413_scheme():
    assert set(SCHEMES) >= {"ed25519", "nep413"}


def test_nep413_attestations_count_in_a_registry():
    secret, public = generate_key()
    with PluginRegistry(":memory:") as reg:
        rec = reg.install(plugin("alpha"))
        reg.add_auditor("alice.near", public)
        st = _statement(rec.sha256, runtime_sha256=rec.runtime_sha256)
        att = reg.add_attestation(sign(st, secret, scheme="nep413"))
        assert att.scheme == "nep413"
        reg.set_policy(RegistryPolicy(trusted_auditors=["alice.near"], min_approvals=1))
        assert reg.verify(rec).meets_policy
        reg.activate(rec)
        # a plain ed25519 signature is not an NEP-413 one: the scheme is part of what is checked
        plain = sign(st, secret)
        from plugin_host.registry._attest import Attestation
        forged = Attestation(statement=st, public_key=public, signature=plain.signature, scheme="nep413")
        with pytest.raises(BadSignature):
            reg.add_attestation(forged)


def test_registry_attest_signs_with_nep413():
    secret, public = generate_key()
    with PluginRegistry(":memory:") as reg:
        rec = reg.install(plugin("alpha"))
        reg.add_auditor("alice.near", public)
        att = reg.attest(rec, secret, auditor="alice.near", verdict="approved", report="ipfs://r", scheme="nep413")
        assert att.scheme == "nep413" and [a.scheme for a in reg.attestations(rec)] == ["nep413"]
        reg.set_policy(RegistryPolicy(trusted_auditors=["alice.near"], min_approvals=1))
        assert reg.verify(rec).meets_policy
        with pytest.raises(BadSignature):
            reg.attest(rec, secret, auditor="alice.near", verdict="approved", report="ipfs://r", scheme="rsa")


def test_a_wallet_signed_statement_becomes_an_attestation():
    """A wallet signs wallet_request(statement) and answers base64; nothing else is needed."""
    secret, public = generate_key()
    st = _statement()
    req = wallet_request(st)
    assert req["message"].encode() == st.canonical() and req["recipient"] == "plugin-host"
    sig = sign_message(req["message"], secret, recipient=req["recipient"], nonce=bytes(req["nonce"]))
    wallet_b64 = base64.b64encode(b58decode(sig[8:])).decode()  # wallets answer in base64
    att = attestation_from_wallet(st, public_key=public, signature=wallet_b64)
    assert att.scheme == "nep413" and att.signature == sig
    verify_attestation(att, PinnedKeys({"alice.near": [public]}), plugin_sha256="a" * 64)
    assert attestation_from_wallet(st, public_key=public, signature=sig) == att  # NEAR's text form too
    with pytest.raises(BadSignature):
        attestation_from_wallet(_statement(verdict="rejected"), public_key=public, signature=wallet_b64)
    with pytest.raises(BadSignature):
        attestation_from_wallet(st, public_key=public, signature="not base64!")
    with pytest.raises(BadSignature):
        attestation_from_wallet(st, public_key="ed25519:abc", signature=wallet_b64)


# ---- key resolvers ------------------------------------------------------------------------------

def test_pinned_keys_decide_who_speaks_for_an_account(audited):
    pinned = PinnedKeys.from_registry(audited.reg)
    assert pinned.keys_of("alice.near") == {audited.alice_public} and pinned.keys_of("bob.near") == frozenset()
    verify_attestation(audited.att, pinned, plugin_sha256=audited.a.sha256)
    with pytest.raises(UnknownAuditor):
        verify_attestation(audited.att, PinnedKeys({"alice.near": [generate_key()[1]]}))
    with pytest.raises(UnknownAuditor):
        verify_attestation(audited.att, PinnedKeys({}))


@needs_py_near
def test_rpc_keys_read_the_account_access_keys(node, rpc, audited):
    _, other = generate_key()
    _, dapp = generate_key()
    node.add_account("alice.near", audited.alice_public)
    node.add_account("alice.near", other)
    node.add_account("alice.near", dapp, full_access=False)  # a function-call key: not the auditor's word
    resolver = RpcKeys(rpc)
    assert resolver.keys_of("alice.near") == {audited.alice_public, other}
    assert RpcKeys(rpc, full_access_only=False).keys_of("alice.near") == {audited.alice_public, other, dapp}
    assert resolver.keys_of("nobody.near") == frozenset()  # UNKNOWN_ACCOUNT: no keys
    verify_attestation(audited.att, resolver, plugin_sha256=audited.a.sha256)
    del node.accounts["alice.near"][audited.alice_public]  # the key was revoked on chain
    with pytest.raises(UnknownAuditor):
        verify_attestation(audited.att, resolver)
    assert [r["params"]["request_type"] for r in node.requests] == ["view_access_key_list"] * 5


def test_importing_plugin_host_does_not_import_py_near():
    code = ("import sys, plugin_host, plugin_host._cli, plugin_host.near, plugin_host.registry;"
            "from plugin_host.near import _commands;"
            "bad = sorted(m for m in sys.modules if m.split('.')[0] in ('py_near', 'py_near_primitives', 'aiohttp',"
            " 'loguru'));"
            "print(bad); sys.exit(1 if bad else 0)")
    run = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stdout + run.stderr
