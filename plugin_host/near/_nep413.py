"""NEP-413 signed messages: what a NEAR wallet's ``signMessage`` produces.

A wallet signs ``sha256(borsh(2**31 + 413 as u32) || borsh(payload))`` where the payload is
``{message: string, nonce: [u8; 32], recipient: string, callbackUrl: Option<string>}``
(https://github.com/near/NEPs/blob/master/neps/nep-0413.md). The tag keeps the bytes from ever
being a valid transaction. Only PyNaCl is needed, so the registry can verify these without the
optional NEAR client.

For an audit statement the message is the statement's canonical JSON, the recipient is
``plugin-host`` and the nonce is ``sha256(message)``. The nonce is derived rather than random
so a verifier can rebuild the signed bytes from the statement alone; replaying the signature
only ever re-asserts the same statement, which carries its own timestamp.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from typing import Optional

from ..errors import BadSignature, InvalidKey
from ..registry import _keys
from ..registry._attest import Attestation, Statement, check_signature, decode_attestation

__all__ = ["RECIPIENT", "TAG", "payload_hash", "sign_message", "verify_message", "sign_statement",
           "verify_statement", "wallet_request", "attestation_from_wallet"]

TAG = 2**31 + 413
RECIPIENT = "plugin-host"


def _string(text: str) -> bytes:
    raw = text.encode("utf-8")
    return len(raw).to_bytes(4, "little") + raw


def payload_hash(message: str, *, recipient: str, nonce: bytes, callback_url: Optional[str] = None) -> bytes:
    """The 32 bytes an NEP-413 signature signs."""
    if len(nonce) != 32:
        raise ValueError(f"an NEP-413 nonce is 32 bytes, got {len(nonce)}")
    data = TAG.to_bytes(4, "little") + _string(message) + bytes(nonce) + _string(recipient)
    data += b"\0" if callback_url is None else b"\1" + _string(callback_url)
    return hashlib.sha256(data).digest()


def sign_message(message: str, secret_key: str, *, recipient: str, nonce: bytes,
                 callback_url: Optional[str] = None) -> str:
    """Sign like a wallet would; the signature is in NEAR's text format (``ed25519:<base58>``)."""
    return _keys.sign(payload_hash(message, recipient=recipient, nonce=nonce, callback_url=callback_url), secret_key)


def verify_message(message: str, signature: str, public_key: str, *, recipient: str, nonce: bytes,
                   callback_url: Optional[str] = None) -> None:
    """Raises BadSignature unless ``signature`` is ``public_key``'s NEP-413 signature."""
    _keys.verify(payload_hash(message, recipient=recipient, nonce=nonce, callback_url=callback_url), signature,
                 public_key)


def _statement_message(statement_bytes: bytes) -> tuple[str, bytes]:
    try:
        return statement_bytes.decode("utf-8"), hashlib.sha256(statement_bytes).digest()
    except UnicodeDecodeError:
        raise BadSignature("an NEP-413 message must be UTF-8 text") from None


def sign_statement(statement_bytes: bytes, secret_key: str) -> str:
    """The registry's ``nep413`` scheme: sign a statement's canonical bytes as NEP-413."""
    message, nonce = _statement_message(statement_bytes)
    return sign_message(message, secret_key, recipient=RECIPIENT, nonce=nonce)


def verify_statement(statement_bytes: bytes, signature: str, public_key: str) -> None:
    message, nonce = _statement_message(statement_bytes)
    verify_message(message, signature, public_key, recipient=RECIPIENT, nonce=nonce)


def wallet_request(statement: Statement) -> dict:
    """What to pass to a wallet's ``signMessage`` for ``statement`` (nonce as a list of bytes)."""
    raw = statement.canonical()
    return {"message": raw.decode("utf-8"), "recipient": RECIPIENT, "nonce": list(hashlib.sha256(raw).digest())}


def attestation_from_wallet(statement: Statement, *, public_key: str, signature: str) -> Attestation:
    """An ``Attestation`` (scheme ``nep413``) from a wallet's ``signMessage`` answer for
    ``wallet_request(statement)``. ``signature`` may be the wallet's base64 or NEAR's
    ``ed25519:<base58>``. Raises BadSignature unless it verifies; whether the key belongs to
    the auditor is a KeyResolver's question."""
    if not signature.startswith("ed25519:"):
        try:
            raw = base64.b64decode(signature, validate=True)
        except (binascii.Error, ValueError):
            raise BadSignature("the wallet's signature is neither base64 nor ed25519:<base58>") from None
        signature = "ed25519:" + _keys.b58encode(raw)
    try:
        public_key = _keys.parse_public_key(public_key)
    except InvalidKey as e:
        raise BadSignature(f"the wallet's public key is malformed: {e}") from None
    att = Attestation(statement=statement, public_key=public_key, signature=signature, scheme="nep413")
    att = decode_attestation(att.to_json())  # constraints are checked on decode
    check_signature(att)
    return att
