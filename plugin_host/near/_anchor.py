"""Registry anchors: what a registry runs, recorded on a NEAR contract.

An anchor entry says: plugin ``name@version`` is the code with this sha256, it runs on the guest
runtime with this sha256, and these attestations (by digest) vouch for it. Anyone can then check
a registry, or a node's realm, against the chain.

The anchor contract's interface (any contract that offers it will do):

- ``anchor({"entries": [entry, ...]})``: change method; records each entry under its
  ``plugin_sha256`` (a later anchor replaces an earlier one) with the calling account as
  ``anchored_by`` and the block height.
- ``get_anchor({"plugin_sha256": "<hex>"})``: view; the recorded entry with ``anchored_by`` and
  ``block_height`` added, or ``null``.

Arguments are canonical JSON (sorted keys, no spaces), so the same registry state always
yields the same transaction bytes.
"""

from __future__ import annotations

from typing import Iterable, Optional, Union

import msgspec

from .._codec import canonical
from ..errors import ConfigurationError
from ..registry import PluginRecord, PluginRegistry
from ..registry._attest import AccountId, Sha256
from ._rpc import BlockId, NearRpc
from ._tx import DEFAULT_GAS, NearSigner, SignedTx, TxOutcome, sign_function_call, submit

__all__ = ["AnchorEntry", "OnChainAnchor", "AnchorTx", "AnchorCheck", "AnchorVerification", "anchor_entries",
           "anchor", "submit_anchor", "verify_anchor", "ANCHOR_METHOD", "VIEW_METHOD"]

ANCHOR_METHOD = "anchor"
VIEW_METHOD = "get_anchor"


class AnchorEntry(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """One plugin as a registry runs it."""

    plugin_sha256: Sha256
    runtime_sha256: Sha256  # the runtime the registry's realms run now
    plugin: str  # name@version
    attestations: tuple[Sha256, ...]  # digests of the attestations that verify now, sorted


class OnChainAnchor(msgspec.Struct, frozen=True, kw_only=True):
    """What ``get_anchor`` returns: an entry, who anchored it, and when."""

    plugin_sha256: str
    runtime_sha256: str
    plugin: str
    attestations: tuple[str, ...]
    anchored_by: AccountId
    block_height: int

    def entry(self) -> AnchorEntry:
        return AnchorEntry(plugin_sha256=self.plugin_sha256, runtime_sha256=self.runtime_sha256, plugin=self.plugin,
                           attestations=self.attestations)


class AnchorTx(msgspec.Struct, frozen=True, kw_only=True):
    """A signed anchor transaction (not yet sent) and the entries it records."""

    contract_id: str
    entries: tuple[AnchorEntry, ...]
    tx: SignedTx


class AnchorCheck(msgspec.Struct, frozen=True, kw_only=True):
    plugin: str
    plugin_sha256: str
    ok: bool
    problems: tuple[str, ...] = ()
    on_chain: Optional[OnChainAnchor] = None


class AnchorVerification(msgspec.Struct, frozen=True, kw_only=True):
    contract_id: str
    block_height: int  # where the reads were made
    checks: tuple[AnchorCheck, ...]

    @property
    def ok(self) -> bool:
        return all(c.ok for c in self.checks)


def _records(registry: PluginRegistry, refs: Optional[Iterable[Union[str, PluginRecord]]]) -> list[PluginRecord]:
    if refs is None:
        records = registry.list(active=True)
        if not records:
            raise ConfigurationError(f"{registry.path} has no active plugin to anchor; name the plugins (refs=)")
        return records
    return [registry.get(r) for r in refs]


def anchor_entries(registry: PluginRegistry,
                   refs: Optional[Iterable[Union[str, PluginRecord]]] = None) -> tuple[AnchorEntry, ...]:
    """The entries for ``refs`` (sha256s, ``name@version``s or records; default: every active
    plugin). Only attestations that verify now are listed: an anchor vouches for nothing the
    registry itself would not count."""
    out = []
    for rec in _records(registry, refs):
        v = registry.verify(rec)
        out.append(AnchorEntry(plugin_sha256=rec.sha256, runtime_sha256=v.runtime_sha256, plugin=rec.ref,
                               attestations=tuple(sorted(c.attestation.digest() for c in v.checks if c.valid))))
    return tuple(out)


def anchor_args(entries: Iterable[AnchorEntry]) -> bytes:
    return canonical({"entries": list(entries)})


def anchor(registry: PluginRegistry, contract_id: str, signer: NearSigner, *, rpc: Optional[NearRpc] = None,
           refs: Optional[Iterable[Union[str, PluginRecord]]] = None, nonce: Optional[int] = None,
           block_hash: Optional[str] = None, gas: int = DEFAULT_GAS, deposit: int = 0) -> AnchorTx:
    """Build and sign (not send) the transaction that anchors the registry's plugins on
    ``contract_id``. Offline, pass ``nonce`` (the signer's access-key nonce + 1) and a recent
    ``block_hash``; with ``rpc`` they are read from the chain. Send it with ``submit_anchor``."""
    entries = anchor_entries(registry, refs)
    if nonce is None or block_hash is None:
        if rpc is None:
            raise ConfigurationError("anchor() needs nonce= and block_hash= to sign offline, or rpc= to read them")
        key = rpc.access_key(signer.account_id, signer.public_key)
        nonce = key.nonce + 1 if nonce is None else nonce
        # a transaction must reference a block from the last ~24 hours; the one the key was read at will do
        block_hash = block_hash or key.block_hash or rpc.block()["header"]["hash"]
    tx = sign_function_call(signer, contract_id, ANCHOR_METHOD, anchor_args(entries), nonce=nonce,
                            block_hash=block_hash, gas=gas, deposit=deposit)
    return AnchorTx(contract_id=tx.receiver_id, entries=entries, tx=tx)


def submit_anchor(rpc: NearRpc, anchor_tx: AnchorTx) -> TxOutcome:
    """Send a signed anchor transaction and wait for it (NearTransactionFailed if the contract
    refused it)."""
    return submit(rpc, anchor_tx.tx)


def verify_anchor(registry: PluginRegistry, contract_id: str, rpc: NearRpc, *,
                  refs: Optional[Iterable[Union[str, PluginRecord]]] = None, anchored_by: Optional[str] = None,
                  block_id: Optional[BlockId] = None) -> AnchorVerification:
    """Read each plugin's anchor back (view calls, all at one block) and compare it with what
    the registry would anchor now. ``anchored_by``: also require that this account wrote it."""
    entries = anchor_entries(registry, refs)
    checks, height = [], 0
    for entry in entries:
        view = rpc.view(contract_id, VIEW_METHOD, {"plugin_sha256": entry.plugin_sha256}, block_id=block_id)
        block_id = block_id if block_id is not None else (view.block_hash or None)  # pin the rest to this block
        height = view.block_height
        checks.append(_compare(entry, view.value, anchored_by))
    return AnchorVerification(contract_id=contract_id, block_height=height, checks=tuple(checks))


def _compare(entry: AnchorEntry, value: object, anchored_by: Optional[str]) -> AnchorCheck:
    base = dict(plugin=entry.plugin, plugin_sha256=entry.plugin_sha256)
    if value is None:
        return AnchorCheck(**base, ok=False, problems=("not anchored",))
    try:
        got = msgspec.convert(value, OnChainAnchor)
    except msgspec.ValidationError as e:
        return AnchorCheck(**base, ok=False, problems=(f"the contract's answer is not an anchor: {e}",))
    problems = []
    for field in ("plugin_sha256", "runtime_sha256", "plugin", "attestations"):
        want, have = getattr(entry, field), getattr(got, field)
        if want != have:
            problems.append(f"{field}: the registry has {want!r}, the chain has {have!r}")
    if anchored_by is not None and got.anchored_by != anchored_by:
        problems.append(f"anchored by {got.anchored_by}, not {anchored_by}")
    return AnchorCheck(**base, ok=not problems, problems=tuple(problems), on_chain=got)
