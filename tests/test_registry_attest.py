"""Audit attestations (NEAR-format ed25519 keys, canonical statements) and the curation
policy: approvals, trusted rejections, capability grants."""

import msgspec
import nacl.signing
import pytest
from registry_support import dump, plugin, reg  # noqa: F401  (reg is a fixture)

from plugin_host import (
    Attestation,
    BadSignature,
    CapabilityDenied,
    ConfigurationError,
    HashMismatch,
    InvalidKey,
    NotFound,
    PolicyViolation,
    RegistryPolicy,
    UnknownAuditor,
)
from plugin_host._codec import canonical
from plugin_host.registry import Statement, generate_key, public_key_of, sign
from plugin_host.registry._keys import b58decode, b58encode

RUNTIME = "b" * 64


@pytest.mark.parametrize("hex_, text", [
    ("", ""), ("61", "2g"), ("626262", "a3gV"), ("636363", "aPEr"), ("00000000000000000000", "1111111111"),
    ("73696d706c792061206c6f6e6720737472696e67", "2cFupjhnEsSn59qHXstmK2ffpLv2"),
    ("00eb15231dfceb60925886b67d065299925915aeb172c06647", "1NS17iag9jJgTHD1VXjvLCEnZuQ3rJDE9L"),
    ("516b6fcd0f", "ABnLTmg"), ("bf4f89001e670274dd", "3SEo3LWLoPntC"), ("ecac89cad93923c02321", "EJDM8drfXA6uyA"),
])
def test_base58_vectors(hex_, text):
    assert b58encode(bytes.fromhex(hex_)) == text
    assert b58decode(text) == bytes.fromhex(hex_)


def test_keys_are_in_near_format():
    secret, public = generate_key()
    assert secret.startswith("ed25519:") and public.startswith("ed25519:")
    raw = b58decode(secret[8:])
    assert len(raw) == 64 and b58decode(public[8:]) == raw[32:]  # NEAR: seed || public key
    assert bytes(nacl.signing.SigningKey(raw[:32]).verify_key) == raw[32:]
    assert public_key_of(secret) == public


@pytest.mark.parametrize("bad", ["", "ed25519:", "secp256k1:abc", "ed25519:0OIl", "ed25519:" + "1" * 10,
                                 "ed25519:" + b58encode(bytes(32) + b"\1" * 32)])
def test_bad_secret_keys_are_refused(bad):
    with pytest.raises(InvalidKey):
        public_key_of(bad)


def _statement(**kw):
    fields = dict(plugin_sha256="a" * 64, runtime_sha256=RUNTIME, verdict="approved",
                  report="https://audits.example/r1.pdf", auditor="alice.near", timestamp=1_700_000_000)
    return Statement(**{**fields, **kw})


def test_statement_canonical_bytes_are_sorted_json():
    st = _statement()
    assert st.canonical() == canonical(msgspec.to_builtins(st))
    assert st.canonical().startswith(b'{"auditor":"alice.near","plugin_sha256":"aaaa')
    assert b'"schema":"plugin-host/audit-statement/v1"' in st.canonical()


def test_sign_then_verify_and_round_trip():
    secret, public = generate_key()
    att = sign(_statement(), secret)
    assert att.public_key == public and att.scheme == "ed25519"
    nacl.signing.VerifyKey(b58decode(public[8:])).verify(att.statement.canonical(), b58decode(att.signature[8:]))
    assert Attestation.from_json(att.to_json()) == att


def test_malformed_statements_cannot_be_signed():
    secret, _ = generate_key()
    for bad in (_statement(plugin_sha256="xyz"), _statement(auditor="Not An Account"), _statement(verdict="meh")):
        with pytest.raises(BadSignature, match="malformed"):
            sign(bad, secret)


@pytest.fixture
def audited(reg):
    """A registry with one plugin and two registered auditors."""
    keys = {name: generate_key() for name in ("alice.near", "bob.near", "carol.near")}
    for name in ("alice.near", "bob.near"):
        reg.add_auditor(name, keys[name][1])
    rec = reg.install(plugin(capabilities=["log"]))
    return reg, rec, keys


def _attest(reg, rec, keys, who, verdict="approved", ts=1_700_000_000, **kw):
    return reg.attest(rec, keys[who][0], auditor=who, verdict=verdict, report=f"ipfs://{who}", timestamp=ts, **kw)


def test_attest_stores_and_verify_reports(audited):
    reg, rec, keys = audited
    att = _attest(reg, rec, keys, "alice.near")
    assert att.statement.plugin_sha256 == rec.sha256
    assert att.statement.runtime_sha256 == reg.activate(rec).runtime_sha256  # this host's runtime
    reg.deactivate(rec)
    assert reg.attestations(rec) == [att]
    assert _attest(reg, rec, keys, "alice.near") == att  # idempotent
    assert reg.attestations("adder@1.0.0") == [att]
    v = reg.verify(rec)
    assert [c.valid for c in v.checks] == [True] and v.meets_policy  # the default policy needs no audit
    assert v.approvals == ()  # nobody is trusted yet


def test_unknown_auditor_and_unregistered_key_are_refused(audited):
    reg, rec, keys = audited
    before = dump(reg)
    with pytest.raises(UnknownAuditor) as info:
        _attest(reg, rec, keys, "carol.near")
    assert info.value.auditor == "carol.near"
    forged = sign(msgspec.structs.replace(_statement(), plugin_sha256=rec.sha256), keys["carol.near"][0])
    with pytest.raises(UnknownAuditor, match="not a registered key"):
        reg.add_attestation(forged)  # claims alice.near, signed with carol's key
    assert dump(reg) == before


def test_bad_signatures_are_refused(audited):
    reg, rec, keys = audited
    good = sign(_statement(plugin_sha256=rec.sha256, auditor="alice.near"), keys["alice.near"][0])
    before = dump(reg)
    altered = msgspec.structs.replace(good, statement=msgspec.structs.replace(good.statement, verdict="rejected"))
    sig = b58decode(good.signature[8:])
    flipped = msgspec.structs.replace(good, signature="ed25519:" + b58encode(bytes([sig[0] ^ 1]) + sig[1:]))
    for bad in (altered, flipped, msgspec.structs.replace(good, signature="ed25519:abc"),
                msgspec.structs.replace(good, scheme="rsa")):
        with pytest.raises(BadSignature):
            reg.add_attestation(bad)
    with pytest.raises(BadSignature):
        Attestation.from_json(b'{"statement": {}}')
    assert dump(reg) == before
    assert reg.add_attestation(good) == good


def test_wrong_hash_and_uninstalled_plugin(audited):
    reg, rec, keys = audited
    other = sign(_statement(plugin_sha256="c" * 64, auditor="alice.near"), keys["alice.near"][0])
    with pytest.raises(NotFound):
        reg.add_attestation(other)
    with pytest.raises(HashMismatch):
        reg.verify_attestation(other, plugin_sha256=rec.sha256)
    reg.verify_attestation(other)  # the signature itself is fine


def test_tampered_stored_attestation_is_reported_and_not_counted(audited):
    reg, rec, keys = audited
    reg.set_policy(RegistryPolicy(trusted_auditors=["alice.near"], min_approvals=1))
    att = _attest(reg, rec, keys, "alice.near")
    reg.activate(rec)
    forged = msgspec.structs.replace(att, statement=msgspec.structs.replace(att.statement, report="ipfs://other"))
    with reg._store.write() as c:
        c.execute("UPDATE attestations SET body = ?", (canonical(forged),))
    v = reg.verify(rec)
    assert [c.valid for c in v.checks] == [False] and "BadSignature" in v.checks[0].problem
    assert not v.meets_policy
    with pytest.raises(PolicyViolation):
        reg.realm(rec)


def test_policy_needs_k_trusted_approvals(audited):
    reg, rec, keys = audited
    reg.set_policy(RegistryPolicy(trusted_auditors=["alice.near", "bob.near"], min_approvals=2))
    before = dump(reg)
    with pytest.raises(PolicyViolation) as info:
        reg.activate(rec)
    assert "needs 2 approval(s)" in info.value.reasons[0]
    assert dump(reg) == before
    _attest(reg, rec, keys, "alice.near")
    with pytest.raises(PolicyViolation, match="has 1"):
        reg.activate(rec)
    _attest(reg, rec, keys, "bob.near")
    assert reg.activate(rec).active
    assert reg.verify(rec).approvals == ("alice.near", "bob.near")


def test_untrusted_approvals_do_not_count(audited):
    reg, rec, keys = audited
    reg.set_policy(RegistryPolicy(trusted_auditors=["alice.near"], min_approvals=1))
    _attest(reg, rec, keys, "bob.near")
    with pytest.raises(PolicyViolation):
        reg.activate(rec)


def test_a_trusted_rejection_blocks_even_with_enough_approvals(audited):
    reg, rec, keys = audited
    reg.set_policy(RegistryPolicy(trusted_auditors=["alice.near", "bob.near"], min_approvals=1))
    _attest(reg, rec, keys, "alice.near")
    reg.activate(rec)
    assert reg.call(rec, "add", {"a": 1, "b": 2}).output == 3
    _attest(reg, rec, keys, "bob.near", verdict="rejected", ts=1_700_000_100)
    with pytest.raises(PolicyViolation, match="rejected by trusted auditor"):
        reg.call(rec, "add", {"a": 1, "b": 2})  # already active: refused from now on
    with pytest.raises(PolicyViolation):
        reg.activate(rec)
    # the auditor's latest verdict is their verdict
    _attest(reg, rec, keys, "bob.near", verdict="approved", ts=1_700_000_200)
    assert reg.realm(rec).call("add", {"a": 2, "b": 2}).output == 4


def test_a_policy_change_applies_to_active_plugins(audited):
    reg, rec, keys = audited
    reg.activate(rec)
    reg.set_policy(RegistryPolicy(trusted_auditors=["alice.near"], min_approvals=1))
    with pytest.raises(PolicyViolation):
        reg.realm(rec)
    _attest(reg, rec, keys, "alice.near")
    reg.realm(rec)


def test_removing_an_auditor_key_voids_their_attestations(audited):
    reg, rec, keys = audited
    reg.set_policy(RegistryPolicy(trusted_auditors=["alice.near"], min_approvals=1))
    _attest(reg, rec, keys, "alice.near")
    reg.activate(rec)
    assert reg.remove_auditor("alice.near") == 1
    v = reg.verify(rec)
    assert not v.meets_policy and "UnknownAuditor" in v.checks[0].problem


def test_require_runtime_match(audited):
    reg, rec, keys = audited
    reg.set_policy(RegistryPolicy(trusted_auditors=["alice.near"], min_approvals=1, require_runtime_match=True))
    old = sign(_statement(plugin_sha256=rec.sha256, runtime_sha256="0" * 64), keys["alice.near"][0])
    reg.add_attestation(old)
    with pytest.raises(PolicyViolation, match="on this runtime"):
        reg.activate(rec)
    _attest(reg, rec, keys, "alice.near", ts=1_700_000_001)  # on this host's runtime
    reg.activate(rec)


def test_capabilities_are_granted_only_as_the_policy_allows(audited):
    reg, rec, _ = audited  # the plugin requests "log"
    reg.activate(rec)
    with pytest.raises(CapabilityDenied) as info:
        reg.realm(rec).call("chatty")
    assert info.value.capability == "log"
    reg.set_policy(RegistryPolicy(allowed_capabilities=["log"]))
    assert reg.realm(rec).call("chatty").logs == "hello\n"
    assert reg.call(rec, "chatty").logs == "hello\n"
    # allowed but not requested: still denied
    quiet = reg.activate(reg.install(plugin(name="quiet")))
    with pytest.raises(CapabilityDenied):
        reg.call(quiet, "chatty")


def test_policy_is_validated_and_stored(reg):
    assert reg.policy == RegistryPolicy()
    p = reg.set_policy(RegistryPolicy(trusted_auditors=["b.near", "a.near", "a.near"], min_approvals=2))
    assert p.trusted_auditors == ("a.near", "b.near") and reg.policy == p
    for bad in (dict(allowed_capabilities=["network"]), dict(min_approvals=1), dict(min_approvals=-1)):
        with pytest.raises(ConfigurationError):
            RegistryPolicy(**bad)
    with pytest.raises(ConfigurationError):
        reg.set_policy(RegistryPolicy(trusted_auditors=["Bad Id!"]))
    with pytest.raises(ConfigurationError):
        reg.set_policy({"min_approvals": 0})
    assert reg.policy == p


def test_auditor_registration_is_validated(reg):
    _, public = generate_key()
    with pytest.raises(ConfigurationError):
        reg.add_auditor("Not Valid", public)
    with pytest.raises(InvalidKey):
        reg.add_auditor("alice.near", "ed25519:nope")
    a = reg.add_auditor("alice.near", public)
    assert reg.add_auditor("alice.near", public) == a and reg.auditors() == [a]
