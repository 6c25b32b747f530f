"""What the DEX hands back: plain, frozen msgspec Structs."""

from __future__ import annotations

from typing import Any, NamedTuple, Optional

import msgspec

from .._receipt import Receipt
from ..validation import FeeTreatment

__all__ = ["DexPlugin", "Pool", "Liquidity", "Hop", "SwapRecord", "Rejection", "Replay", "PluginStats"]


class DexPlugin(msgspec.Struct, frozen=True, kw_only=True):
    """A plugin the DEX installed under its own id, pinned to one registry sha256."""

    plugin_id: str
    sha256: str
    ref: str  # name@version in the registry
    royalty_account: str
    royalty_bps: int  # of every swap fee the plugin prices
    active: bool
    installed_at: int


class Pool(msgspec.Struct, frozen=True, kw_only=True):
    pool_id: str
    plugin_id: str  # the plugin that prices it
    tokens: tuple[str, ...]
    balances: tuple[int, ...]  # in ``tokens`` order
    params: dict  # the rest of the plugin's poolState (A, fee, feeBps, decimals, ...)
    balances_key: str  # the poolState field the balances go in ("balances" for Curve, "reserves" for Uniswap)
    fee_treatment: FeeTreatment
    total_shares: int

    def pool_state(self) -> dict[str, Any]:
        """The ``poolState`` a plugin sees: tokens, balances under ``balances_key``, params."""
        return {**self.params, "tokens": list(self.tokens), self.balances_key: list(self.balances)}


class Liquidity(msgspec.Struct, frozen=True):
    """A liquidity change: ``shares`` minted (add) or burned (remove), ``amounts`` moved, in the
    pool's token order."""

    pool_id: str
    account: str
    shares: int
    amounts: tuple[int, ...]


class Hop(NamedTuple):
    """One leg of a route: swap ``token_in`` for ``token_out`` in ``pool_id``, priced by
    ``plugin_id`` (the trader names the code they accept)."""

    plugin_id: str
    pool_id: str
    token_in: str
    token_out: str


class SwapRecord(msgspec.Struct, frozen=True, kw_only=True):
    """A settled swap, as the audit trail holds it."""

    swap_id: int
    pool_id: str
    plugin_id: str
    plugin_sha256: str
    trader: str
    token_in: str
    token_out: str
    amount_in: int
    min_amount_out: int
    amount_out: int
    fee_amount: int
    fee_token: str
    fee_left: int  # moved to the pool's fee account
    royalty: int  # credited to the plugin's royalty account, in fee_token
    gas_used: int
    receipt: Receipt
    at: int
    digest: str  # this record's link in the audit trail's hash chain


class Rejection(msgspec.Struct, frozen=True, kw_only=True):
    """A plugin answer the DEX refused; nothing was settled."""

    rejection_id: int
    pool_id: str
    plugin_id: str
    plugin_sha256: str
    trader: str
    token_in: str
    token_out: str
    amount_in: int
    error: str  # the plugin_host.errors class name
    rule: Optional[str]  # the validation rule, when the answer broke one
    message: str
    gas_used: int
    receipt: Receipt
    at: int


class Replay(msgspec.Struct, frozen=True, kw_only=True):
    """A recorded swap re-run on its pinned plugin: the same output hash and gas as recorded."""

    swap_id: int
    plugin_sha256: str
    receipt_digest: str
    output_sha256: str
    gas_used: int
    engine: str  # where the replay ran


class PluginStats(msgspec.Struct, frozen=True, kw_only=True):
    plugin_id: str
    ref: str
    swaps: int
    rejections: int
    gas_used: int  # of its settled swaps
    rejected_gas_used: int  # burnt by the answers the DEX refused
    royalties: dict[str, int]  # token -> paid to its royalty account
