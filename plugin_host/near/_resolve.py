"""Whose key is it? A ``KeyResolver`` says which public keys belong to a NEAR account.

An attestation's signature proves that *a key* signed the statement; the resolver decides
whether that key speaks for the auditor's account. Offline, the answer is a pinned list (the
registry's auditors table, or a curated index); in production it is the account's access keys
on chain, which the account owner can rotate without telling anyone.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Iterable, Mapping, Optional, Protocol, runtime_checkable

from ..errors import NearRpcError
from ..registry import _attest, _keys
from ..registry._attest import Attestation

if TYPE_CHECKING:
    from ..registry import PluginRegistry
    from ._rpc import NearRpc

__all__ = ["KeyResolver", "PinnedKeys", "RpcKeys", "verify_attestation"]


@runtime_checkable
class KeyResolver(Protocol):
    def keys_of(self, account_id: str) -> frozenset[str]:
        """The account's public keys (``ed25519:<base58>``); empty when it has none or is unknown."""
        ...


class PinnedKeys:
    """Keys written down ahead of time: ``PinnedKeys({"alice.near": ["ed25519:..."]})``."""

    def __init__(self, keys: Mapping[str, Iterable[str]]):
        self._keys = {account: frozenset(_keys.parse_public_key(k) for k in ks) for account, ks in keys.items()}

    @classmethod
    def from_registry(cls, registry: "PluginRegistry") -> "PinnedKeys":
        """The auditors' keys a registry holds."""
        pinned: dict[str, set[str]] = {}
        for a in registry.auditors():
            pinned.setdefault(a.auditor, set()).add(a.public_key)
        return cls(pinned)

    def keys_of(self, account_id: str) -> frozenset[str]:
        return self._keys.get(account_id, frozenset())

    def __repr__(self) -> str:
        return f"<PinnedKeys {len(self._keys)} account(s)>"


class RpcKeys:
    """The account's access keys on chain (``view_access_key_list``), at final finality.

    NEP-413 asks verifiers to accept only full-access keys (a function-call key is meant for one
    contract and is often held by a dApp), so that is the default. An unknown account has no keys.
    Nothing is cached: a revoked key stops counting at once."""

    def __init__(self, rpc: "NearRpc", *, full_access_only: bool = True, finality: str = "final"):
        self.rpc = rpc
        self.full_access_only = full_access_only
        self.finality = finality

    def keys_of(self, account_id: str) -> frozenset[str]:
        try:
            keys = self.rpc.access_keys(account_id, finality=self.finality)
        except NearRpcError as e:
            if e.cause == "UNKNOWN_ACCOUNT":
                return frozenset()
            raise
        return frozenset(k.public_key for k in keys if k.full_access or not self.full_access_only)

    def __repr__(self) -> str:
        return f"<RpcKeys {self.rpc.url}{' full-access only' if self.full_access_only else ''}>"


def verify_attestation(attestation: Attestation, resolver: KeyResolver, *,
                       plugin_sha256: Optional[str] = None) -> None:
    """Raises UnknownAuditor (the key is not one of the auditor's, per ``resolver``),
    BadSignature or HashMismatch; returns None when the attestation holds. Works for both
    schemes (``ed25519`` and ``nep413``)."""
    _attest.verify_attestation(attestation, resolver.keys_of, plugin_sha256=plugin_sha256)
