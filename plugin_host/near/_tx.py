"""Signing NEAR function-call transactions offline, with py-near (its Rust primitives do the
borsh encoding), and submitting them.

Offline means: given the signer's nonce and a recent block hash, the bytes are fully
determined, so they can be built on an air-gapped machine and pinned in tests
(tests/vectors/near_golden.json, made by near-api-js).
"""

from __future__ import annotations

import base64
import json
import os
from pathlib import Path
from typing import Any, Optional, Union

import msgspec

from ..errors import ConfigurationError, InvalidKey, NearRpcError, NearTransactionFailed
from ..registry import _keys
from ..registry._attest import AccountId
from ._rpc import NearRpc, near_client

__all__ = ["NearSigner", "SignedTx", "TxOutcome", "sign_function_call", "submit", "DEFAULT_GAS", "TGAS"]

TGAS = 10**12
DEFAULT_GAS = 30 * TGAS
_MAX_U64, _MAX_U128 = 2**64 - 1, 2**128 - 1


class NearSigner:
    """A NEAR account and one of its ed25519 secret keys (``ed25519:<base58 of seed || public>``).
    ``repr`` never shows the secret."""

    def __init__(self, account_id: str, secret_key: str):
        try:
            self.account_id: str = msgspec.convert(account_id, AccountId)
        except msgspec.ValidationError:
            raise ConfigurationError(f"{account_id!r} is not a NEAR account id") from None
        self.public_key = _keys.public_key_of(secret_key)  # checks the key (InvalidKey)
        self._secret = secret_key

    def __repr__(self) -> str:
        return f"<NearSigner {self.account_id} {self.public_key}>"

    @classmethod
    def from_file(cls, path: Union[str, os.PathLike], *, account_id: Optional[str] = None) -> "NearSigner":
        """From a NEAR credentials file (``~/.near-credentials/<network>/<account>.json``, or what
        ``plugin-host keygen --out`` writes): ``{"account_id", "public_key", "private_key"}``."""
        try:
            creds = json.loads(Path(path).read_text())
        except json.JSONDecodeError as e:
            raise InvalidKey(f"{path} is not a NEAR credentials file: {e}") from None
        if not isinstance(creds, dict):
            raise InvalidKey(f"{path} is not a NEAR credentials file (not a JSON object)")
        secret = creds.get("private_key") or creds.get("secret_key")
        account = account_id or creds.get("account_id")
        if not secret:
            raise InvalidKey(f"{path} has no private_key")
        if not account:
            raise ConfigurationError(f"{path} names no account_id; pass the account explicitly")
        return cls(account, secret)

    def sign_bytes(self, message: bytes) -> str:
        return _keys.sign(message, self._secret)


class SignedTx(msgspec.Struct, frozen=True, kw_only=True):
    """A signed transaction, ready for ``broadcast_tx_commit``."""

    signer_id: str
    public_key: str
    receiver_id: str
    nonce: int
    block_hash: str  # base58
    method: str
    args: bytes
    gas: int
    deposit: int  # yoctoNEAR
    hash: str  # base58 sha256 of the borsh transaction: its id on chain
    signed_base64: str  # borsh SignedTransaction, base64: the RPC's wire format


class TxOutcome(msgspec.Struct, frozen=True, kw_only=True):
    """A successful execution: the transaction's hash, the block it landed in and the
    function's return value (raw bytes, usually JSON)."""

    tx_hash: str
    block_hash: str
    value: bytes


def _check_range(value: Any, top: int, what: str) -> int:
    if type(value) is not int or not 0 <= value <= top:
        raise ConfigurationError(f"{what} must be an integer in 0..{top}, got {value!r}")
    return value


def sign_function_call(signer: NearSigner, receiver_id: str, method: str, args: bytes, *, nonce: int,
                       block_hash: str, gas: int = DEFAULT_GAS, deposit: int = 0) -> SignedTx:
    """Build and sign a transaction with one FunctionCall action, offline."""
    client = near_client()
    _check_range(nonce, _MAX_U64, "nonce")
    _check_range(gas, _MAX_U64, "gas")
    _check_range(deposit, _MAX_U128, "deposit")
    try:
        receiver_id = msgspec.convert(receiver_id, AccountId)
    except msgspec.ValidationError:
        raise ConfigurationError(f"{receiver_id!r} is not a NEAR account id") from None
    try:
        block = _keys.b58decode(block_hash)
    except (ValueError, TypeError) as e:
        raise ConfigurationError(f"block_hash is not base58: {e}") from None
    if len(block) != 32:
        raise ConfigurationError(f"block_hash must decode to 32 bytes, got {len(block)}")
    tx = client.transactions
    action = tx.create_function_call_action(method, bytes(args), gas, deposit)
    parts = (signer.account_id, signer._secret, receiver_id, nonce, [action], block)
    return SignedTx(signer_id=signer.account_id, public_key=signer.public_key, receiver_id=receiver_id, nonce=nonce,
                    block_hash=block_hash, method=method, args=bytes(args), gas=gas, deposit=deposit,
                    hash=tx.calc_trx_hash(*parts), signed_base64=tx.sign_and_serialize_transaction(*parts))


def submit(rpc: NearRpc, signed: SignedTx) -> TxOutcome:
    """Broadcast and wait. Raises NearTransactionFailed when it executed but failed, and
    NearRpcError when the node refused it (a stale nonce, an unknown key, ...)."""
    outcome = rpc.broadcast_tx_commit(signed.signed_base64)
    status = outcome.get("status") if isinstance(outcome, dict) else None
    tx_hash = (outcome.get("transaction") or {}).get("hash", signed.hash) if isinstance(outcome, dict) else signed.hash
    if isinstance(status, dict) and "SuccessValue" in status:
        block = (outcome.get("transaction_outcome") or {}).get("block_hash", "")
        return TxOutcome(tx_hash=tx_hash, block_hash=block, value=base64.b64decode(status["SuccessValue"] or ""))
    if isinstance(status, dict) and "Failure" in status:
        raise NearTransactionFailed(f"transaction {tx_hash} failed on chain: {json.dumps(status['Failure'])}",
                                    tx_hash=tx_hash, failure=status["Failure"])
    raise NearRpcError(f"transaction {tx_hash} has no final status: {status!r}", url=rpc.url, cause="NOT_FINAL")
