"""Ref Finance pools as plugin input: read a pool from the Ref exchange contract, hand it to
our plugins as their ``poolState``, and compare their answer with Ref's own ``get_return``.

Ref's pools and the plugin that prices each (ref-finance/ref-contracts, ref-exchange/src):

- ``SIMPLE_POOL`` (simple_pool.rs): constant product with ``total_fee`` in basis points,
  ``amount_in * (10000 - fee) * out / (10000 * in + amount_in * (10000 - fee))``: exactly
  ``plugins/uniswap-v2.js`` with ``feeBps = total_fee``.
- ``STABLE_SWAP`` (stable_swap/math.rs, a port of Saber's stable-swap): ``plugins/curve-stable-swap.js``.
  Ref's ``amp`` is the plain A of the whitepaper (``Ann = amp * n**n``); the plugin takes
  Curve's A, whose ``Ann = A * n``, so ``A = amp * n**(n - 1)``. Ref's fee is ``total_fee`` of
  10_000; the plugin's is of 1e10, so ``fee = total_fee * 10**6`` (the same floor division).
  Ref turns its admin fee into LP shares *inside* the pool, so for the pool's balances the
  admin fee never leaves: ``adminFee = 0``.
- ``RATED_SWAP`` and ``DEGEN_SWAP`` (rates from oracles): no plugin of ours models them.

Where the stable math still differs: Ref keeps balances in 18 decimals (``c_amounts``) and a
view's ``amounts`` are those floored to each token's decimals, so a ``poolState`` in token units
starts from a slightly smaller pool (off by up to one unit of a low-decimal token, which can
move a quote of an 18-decimal token by up to ~1e-9 of itself). ``pool_state(precise=True)`` hands
the plugin Ref's own 18-decimal balances instead (amounts in and out then in those units:
``to_precise`` / ``from_precise``); what remains is that Ref's ``compute_y`` divides in
another order than Curve's ``get_y`` (1e-18 now and then), that Ref answers 0 where Curve's
``dy - 1`` underflows (a zero amount in), and that Ref allows 9 coins, the plugin 8.
``quote()`` shows the difference for one trade.
"""

from __future__ import annotations

from typing import Annotated, Any, Optional

import msgspec

from ..errors import ConfigurationError, NearRpcError, PluginError
from ._rpc import BlockId, NearRpc

__all__ = ["RefPool", "RefPoolSource", "Quote", "REF_MAINNET", "REF_TESTNET"]

REF_MAINNET = "v2.ref-finance.near"
REF_TESTNET = "ref-finance-101.testnet"
U128 = Annotated[int, msgspec.Meta(ge=0)]  # NEAR's U128: a decimal string in JSON
_PLUGINS = {"SIMPLE_POOL": "uniswap-v2", "STABLE_SWAP": "curve-stable-swap"}
_TARGET = 18  # Ref's TARGET_DECIMAL


class _PoolInfo(msgspec.Struct):  # get_pool
    pool_kind: str
    token_account_ids: list[str]
    amounts: list[U128]
    total_fee: Annotated[int, msgspec.Meta(ge=0, lt=10_000)]
    shares_total_supply: U128
    amp: int = 0


class _StablePoolInfo(msgspec.Struct):  # get_stable_pool
    token_account_ids: list[str]
    decimals: list[Annotated[int, msgspec.Meta(ge=0, le=36)]]
    amounts: list[U128]
    c_amounts: list[U128]
    total_fee: int
    amp: int


class RefPool(msgspec.Struct, frozen=True, kw_only=True):
    """A Ref pool as read at one block."""

    contract_id: str
    pool_id: int
    kind: str  # Ref's pool_kind
    tokens: tuple[str, ...]
    amounts: tuple[int, ...]  # in each token's own units
    total_fee: int  # of 10_000
    amp: int  # Ref's A (Ann = amp * n**n); 0 for a simple pool
    shares_total_supply: int
    block_height: int
    block_hash: str
    decimals: Optional[tuple[int, ...]] = None  # stable pools
    c_amounts: Optional[tuple[int, ...]] = None  # stable pools: the 18-decimal balances Ref computes with

    @property
    def plugin(self) -> str:
        """The name of the plugin that prices this pool. Raises ConfigurationError if none does."""
        try:
            return _PLUGINS[self.kind]
        except KeyError:
            raise ConfigurationError(f"Ref pool {self.pool_id} is a {self.kind}; no plugin here models it "
                                     f"(supported: {', '.join(sorted(_PLUGINS))})") from None

    def pool_state(self, *, precise: bool = False) -> dict:
        """The ``poolState`` the pool's plugin takes (see the module docstring). ``precise``:
        a stable pool's balances as Ref holds them, every token in 18 decimals."""
        n = len(self.tokens)
        if self.plugin == "uniswap-v2":
            if n != 2:
                raise ConfigurationError(f"Ref pool {self.pool_id} has {n} tokens; uniswap-v2 prices pairs")
            return {"tokens": list(self.tokens), "reserves": list(self.amounts), "feeBps": self.total_fee}
        if not 2 <= n <= 8:
            raise ConfigurationError(f"Ref pool {self.pool_id} has {n} tokens; curve-stable-swap takes 2..8")
        balances, decimals = (self.c_amounts, [_TARGET] * n) if precise else (self.amounts, self.decimals)
        return {"tokens": list(self.tokens), "balances": list(balances or ()), "decimals": list(decimals or ()),
                "A": self.amp * n ** (n - 1), "fee": self.total_fee * 10**6, "adminFee": 0}

    def _shift(self, token: str) -> int:
        if self.decimals is None:  # a simple pool: token units throughout
            return 0
        try:
            return _TARGET - self.decimals[self.tokens.index(token)]
        except ValueError:
            raise ConfigurationError(f"{token} is not in Ref pool {self.pool_id}") from None

    def to_precise(self, token: str, amount: int) -> int:
        """An amount of ``token`` in the units of ``pool_state(precise=True)`` (floored, as Ref does)."""
        k = self._shift(token)
        return amount * 10**k if k >= 0 else amount // 10**-k

    def from_precise(self, token: str, amount: int) -> int:
        """Back to ``token``'s own units (floored, as Ref does)."""
        k = self._shift(token)
        return amount // 10**k if k >= 0 else amount * 10**-k


class Quote(msgspec.Struct, frozen=True, kw_only=True):
    """A plugin's answer next to Ref's ``get_return`` for the same trade, at the same block."""

    pool_id: int
    token_in: str
    token_out: str
    amount_in: int
    ref_amount_out: int
    plugin: str
    plugin_amount_out: Optional[int]  # None when the plugin threw
    plugin_error: Optional[str] = None
    precise: bool = True  # the plugin priced on pool_state(precise=True)
    block_height: int = 0

    @property
    def difference(self) -> Optional[int]:
        """plugin - Ref, in units of the token out."""
        return None if self.plugin_amount_out is None else self.plugin_amount_out - self.ref_amount_out

    @property
    def agrees(self) -> bool:
        return self.difference == 0


def _convert(value: Any, kind: type, what: str, url: str) -> Any:
    try:
        return msgspec.convert(value, kind, strict=False)  # strict=False: U128 strings become ints
    except msgspec.ValidationError as e:
        raise NearRpcError(f"{what} is not what Ref returns: {e}", url=url, cause="BAD_RESULT") from None


class RefPoolSource:
    """Ref Finance pools through a NEAR RPC: ``RefPoolSource(rpc).pool(79)``."""

    def __init__(self, rpc: NearRpc, contract_id: str = REF_MAINNET):
        self.rpc = rpc
        self.contract_id = contract_id

    def __repr__(self) -> str:
        return f"<RefPoolSource {self.contract_id} via {self.rpc.url}>"

    def pool(self, pool_id: int, *, block_id: Optional[BlockId] = None) -> RefPool:
        """The pool (``get_pool``, plus ``get_stable_pool`` for a stable pool, at the same block)."""
        view = self.rpc.view(self.contract_id, "get_pool", {"pool_id": pool_id}, block_id=block_id)
        if view.value is None:
            raise NearRpcError(f"{self.contract_id} has no pool {pool_id}", url=self.rpc.url, cause="NO_POOL")
        info = _convert(view.value, _PoolInfo, f"get_pool({pool_id})", self.rpc.url)
        fields: dict = dict(contract_id=self.contract_id, pool_id=pool_id, kind=info.pool_kind,
                            tokens=tuple(info.token_account_ids), amounts=tuple(info.amounts), total_fee=info.total_fee,
                            amp=info.amp, shares_total_supply=info.shares_total_supply,
                            block_height=view.block_height, block_hash=view.block_hash)
        if info.pool_kind == "STABLE_SWAP":
            at = block_id if block_id is not None else (view.block_hash or None)
            sview = self.rpc.view(self.contract_id, "get_stable_pool", {"pool_id": pool_id}, block_id=at)
            stable = _convert(sview.value, _StablePoolInfo, f"get_stable_pool({pool_id})", self.rpc.url)
            if not len(stable.decimals) == len(stable.c_amounts) == len(info.token_account_ids):
                raise NearRpcError(f"get_stable_pool({pool_id}) lists {len(stable.decimals)} decimals for "
                                   f"{len(info.token_account_ids)} tokens", url=self.rpc.url, cause="BAD_RESULT")
            fields.update(decimals=tuple(stable.decimals), c_amounts=tuple(stable.c_amounts), amp=stable.amp)
        return RefPool(**fields)

    def get_return(self, pool_id: int, token_in: str, amount_in: int, token_out: str, *,
                   block_id: Optional[BlockId] = None) -> int:
        """Ref's own answer: how much ``token_out`` a swap of ``amount_in`` gives."""
        view = self.rpc.view(self.contract_id, "get_return", {"pool_id": pool_id, "token_in": token_in,
                                                              "amount_in": str(amount_in), "token_out": token_out},
                             block_id=block_id)
        return _convert(view.value, U128, "get_return", self.rpc.url)

    def quote(self, pool_id: int, token_in: str, amount_in: int, token_out: str, realm: Any, *,
              precise: bool = True, block_id: Optional[BlockId] = None) -> Quote:
        """Price the trade with ``realm`` (a FrozenRealm of the pool's plugin) and with Ref's
        ``get_return``, both at one block. ``precise`` (default): the plugin gets Ref's own
        18-decimal balances, so the comparison is of the math alone; ``precise=False``: the
        ``poolState`` in token units, as a consumer of ``pool_state()`` would price it."""
        pool = self.pool(pool_id, block_id=block_id)
        ref_out = self.get_return(pool_id, token_in, amount_in, token_out,
                                  block_id=block_id if block_id is not None else (pool.block_hash or None))
        state = pool.pool_state(precise=precise)  # an unsupported pool is the caller's error, not the plugin's
        dx = pool.to_precise(token_in, amount_in) if precise else amount_in
        out: Optional[int] = None
        error = None
        try:
            result = realm.call("calculateSwap", {"tokenIn": token_in, "tokenOut": token_out, "amountIn": dx,
                                                  "poolState": state})
            out = int(result.output["amountOut"])
            out = pool.from_precise(token_out, out) if precise else out
        except PluginError as e:
            error = f"{type(e).__name__}: {e}"
        name = (getattr(realm, "metadata", None) or {}).get("name", "?")
        return Quote(pool_id=pool_id, token_in=token_in, token_out=token_out, amount_in=amount_in,
                     ref_amount_out=ref_out, plugin=name, plugin_amount_out=out, plugin_error=error, precise=precise,
                     block_height=pool.block_height)
