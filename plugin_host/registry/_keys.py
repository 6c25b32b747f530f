"""ed25519 keys and signatures in NEAR's text format.

NEAR writes a public key as ``ed25519:<base58 of 32 bytes>``, a secret key as
``ed25519:<base58 of 64 bytes: seed || public key>`` and a signature as
``ed25519:<base58 of 64 bytes>``. Using the same format lets an auditor sign with the key of
their NEAR account, and lets anyone check it against the account's published access keys.
"""

from __future__ import annotations

import nacl.exceptions
import nacl.signing

from ..errors import BadSignature, InvalidKey

__all__ = ["b58encode", "b58decode", "generate_key", "public_key_of", "sign", "verify"]

_ALPHABET = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"  # Bitcoin's, as NEAR uses
_INDEX = {c: i for i, c in enumerate(_ALPHABET)}
_PREFIX = "ed25519:"


def b58encode(data: bytes) -> str:
    n = int.from_bytes(data, "big")
    out = []
    while n:
        n, r = divmod(n, 58)
        out.append(_ALPHABET[r])
    zeros = len(data) - len(data.lstrip(b"\0"))  # each leading zero byte is a leading "1"
    return "1" * zeros + "".join(reversed(out))


def b58decode(text: str) -> bytes:
    n = 0
    for c in text:
        try:
            n = n * 58 + _INDEX[c]
        except KeyError:
            raise ValueError(f"{c!r} is not a base58 character") from None
    zeros = len(text) - len(text.lstrip("1"))
    body = n.to_bytes((n.bit_length() + 7) // 8, "big") if n else b""
    return b"\0" * zeros + body


def _decode(text: str, size: int, what: str) -> bytes:
    if not isinstance(text, str) or not text.startswith(_PREFIX):
        raise InvalidKey(f"{what} must be text like 'ed25519:<base58>', got {str(text)[:40]!r}")
    try:
        raw = b58decode(text[len(_PREFIX):])
    except ValueError as e:
        raise InvalidKey(f"{what} is not valid base58: {e}") from None
    if len(raw) != size:
        raise InvalidKey(f"{what} must decode to {size} bytes, got {len(raw)}")
    return raw


def _encode(raw: bytes) -> str:
    return _PREFIX + b58encode(raw)


def _signing_key(secret_key: str) -> nacl.signing.SigningKey:
    raw = _decode(secret_key, 64, "an ed25519 secret key")
    key = nacl.signing.SigningKey(raw[:32])
    if bytes(key.verify_key) != raw[32:]:
        raise InvalidKey("the secret key's public half does not match its seed")
    return key


def generate_key() -> tuple[str, str]:
    """A fresh key pair, ``(secret_key, public_key)``, both in NEAR's text format."""
    key = nacl.signing.SigningKey.generate()
    pub = bytes(key.verify_key)
    return _encode(bytes(key) + pub), _encode(pub)


def public_key_of(secret_key: str) -> str:
    return _encode(bytes(_signing_key(secret_key).verify_key))


def parse_public_key(public_key: str) -> str:
    """The key, checked: 32 bytes that are a point ed25519 accepts."""
    raw = _decode(public_key, 32, "an ed25519 public key")
    try:
        nacl.signing.VerifyKey(raw)
    except (nacl.exceptions.CryptoError, ValueError, TypeError) as e:
        raise InvalidKey(f"not an ed25519 public key: {e}") from None
    return public_key


def sign(message: bytes, secret_key: str) -> str:
    return _encode(_signing_key(secret_key).sign(message).signature)


def verify(message: bytes, signature: str, public_key: str) -> None:
    """Raises BadSignature unless ``signature`` is ``public_key``'s signature of ``message``."""
    try:
        key = nacl.signing.VerifyKey(_decode(public_key, 32, "the public key"))
        key.verify(message, _decode(signature, 64, "the signature"))
    except InvalidKey as e:
        raise BadSignature(f"malformed: {e}") from None
    except (nacl.exceptions.BadSignatureError, nacl.exceptions.CryptoError, ValueError) as e:
        raise BadSignature(f"the signature does not verify over the statement ({e})") from None
