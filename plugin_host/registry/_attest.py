"""Audit attestations: an auditor's signed verdict on one plugin running on one runtime.

The signed bytes are the statement's canonical JSON (msgspec, sorted keys), the same encoding
the receipts use, so any language can rebuild them. The statement names its own schema, which
keeps these bytes from meaning anything else to a key that signs other things too.

A *scheme* says how the signature was made. ``ed25519`` signs the canonical bytes directly;
``nep413`` signs them as a NEAR wallet's signed message (plugin_host.near._nep413). Schemes plug
into ``SCHEMES`` without touching the statement or the registry.
"""

from __future__ import annotations

import time
from typing import Annotated, Callable, Collection, Literal, Optional

import msgspec

from .._codec import canonical, sha256_hex
from ..errors import BadSignature, ConfigurationError, HashMismatch, UnknownAuditor
from . import _keys

__all__ = ["Statement", "Attestation", "SCHEMES", "sign", "check_signature", "verify_attestation",
           "decode_attestation"]

STATEMENT_SCHEMA = "plugin-host/audit-statement/v1"
Sha256 = Annotated[str, msgspec.Meta(pattern="^[0-9a-f]{64}$")]
# NEAR account ids (named and implicit), the natural identity of an auditor who signs with a NEAR key
AccountId = Annotated[str, msgspec.Meta(min_length=2, max_length=64,
                                        pattern=r"^(([a-z\d]+[-_])*[a-z\d]+\.)*([a-z\d]+[-_])*[a-z\d]+$")]
Verdict = Literal["approved", "rejected"]


class Statement(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """What an auditor certifies: this plugin, on this runtime, gets this verdict."""

    schema: Literal["plugin-host/audit-statement/v1"] = STATEMENT_SCHEMA
    plugin_sha256: Sha256
    runtime_sha256: Sha256
    verdict: Verdict
    report: Annotated[str, msgspec.Meta(min_length=1, max_length=2048)]  # report digest or URI
    auditor: AccountId
    timestamp: Annotated[int, msgspec.Meta(ge=0)]  # unix seconds, chosen by the auditor

    def canonical(self) -> bytes:
        """The exact bytes that are signed."""
        return canonical(self)


class Attestation(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """A statement with its signature and the public key that made it."""

    statement: Statement
    public_key: str  # "ed25519:<base58>", NEAR's format
    signature: str  # "ed25519:<base58>"
    scheme: str = "ed25519"

    def digest(self) -> str:
        """sha256 of the canonical attestation: its identity in a registry."""
        return sha256_hex(canonical(self))

    def to_json(self) -> bytes:
        return canonical(self)

    @classmethod
    def from_json(cls, data: bytes | str) -> "Attestation":
        return decode_attestation(data)


class _Scheme(msgspec.Struct, frozen=True):
    sign: Callable[[bytes, str], str]  # (statement bytes, secret key) -> signature
    verify: Callable[[bytes, str, str], None]  # (statement bytes, signature, public key); raises BadSignature


def _nep413_sign(message: bytes, secret_key: str) -> str:
    from ..near import _nep413  # imported on use: plugin_host.near imports this module

    return _nep413.sign_statement(message, secret_key)


def _nep413_verify(message: bytes, signature: str, public_key: str) -> None:
    from ..near import _nep413

    _nep413.verify_statement(message, signature, public_key)


SCHEMES: dict[str, _Scheme] = {
    "ed25519": _Scheme(_keys.sign, _keys.verify),
    # NEP-413 signed messages, as a NEAR wallet's signMessage makes them (needs only PyNaCl)
    "nep413": _Scheme(_nep413_sign, _nep413_verify),
}


def _validated(statement: Statement) -> Statement:
    # Struct constructors do not check constraints; a round trip through convert does.
    try:
        return msgspec.convert(msgspec.to_builtins(statement), Statement)
    except msgspec.ValidationError as e:
        raise BadSignature(f"the statement is malformed: {e}") from None


def make_statement(*, plugin_sha256: str, runtime_sha256: str, verdict: str, report: str, auditor: str,
                   timestamp: Optional[int] = None) -> Statement:
    fields = dict(plugin_sha256=plugin_sha256, runtime_sha256=runtime_sha256, verdict=verdict, report=report,
                  auditor=auditor, timestamp=int(time.time()) if timestamp is None else timestamp)
    try:
        return msgspec.convert(fields, Statement)
    except msgspec.ValidationError as e:
        raise ConfigurationError(f"invalid attestation statement: {e}") from None


def sign(statement: Statement, secret_key: str, *, scheme: str = "ed25519") -> Attestation:
    """Sign ``statement`` with ``secret_key`` (NEAR format). Raises InvalidKey for a bad key."""
    impl = SCHEMES.get(scheme)
    if impl is None:
        raise BadSignature(f"unknown signature scheme {scheme!r}; known: {sorted(SCHEMES)}")
    statement = _validated(statement)
    signature = impl.sign(statement.canonical(), secret_key)
    return Attestation(statement=statement, public_key=_keys.public_key_of(secret_key), signature=signature,
                       scheme=scheme)


def check_signature(att: Attestation) -> None:
    """Raises BadSignature unless the attestation's signature verifies over its statement.
    Whether the key belongs to the auditor is the registry's question, not this one."""
    impl = SCHEMES.get(att.scheme)
    if impl is None:
        raise BadSignature(f"unknown signature scheme {att.scheme!r}; known: {sorted(SCHEMES)}")
    impl.verify(_validated(att.statement).canonical(), att.signature, att.public_key)


def verify_attestation(att: Attestation, keys_of: Callable[[str], Collection[str]], *,
                       plugin_sha256: Optional[str] = None) -> None:
    """The whole check of one attestation, wherever it is stored: the auditor is known,
    the key is one of theirs, the signature verifies, and (if given) it is about this plugin.
    ``keys_of(auditor)`` gives the auditor's registered public keys."""
    st = att.statement
    keys = keys_of(st.auditor)
    if not keys:
        raise UnknownAuditor(f"auditor {st.auditor!r} is not registered", auditor=st.auditor)
    if att.public_key not in keys:
        raise UnknownAuditor(f"{att.public_key} is not a registered key of auditor {st.auditor!r}",
                             auditor=st.auditor)
    check_signature(att)
    if plugin_sha256 is not None and st.plugin_sha256 != plugin_sha256:
        raise HashMismatch(f"the attestation is about plugin {st.plugin_sha256}, not {plugin_sha256}",
                           expected=plugin_sha256, actual=st.plugin_sha256)


def decode_attestation(data: bytes | str) -> Attestation:
    try:
        return msgspec.json.decode(data, type=Attestation)
    except (msgspec.ValidationError, msgspec.DecodeError) as e:
        raise BadSignature(f"not an attestation: {e}") from None
