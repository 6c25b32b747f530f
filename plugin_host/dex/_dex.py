"""ExtensibleDex: the protocol stays put, plugins compute, the protocol validates and settles.

The seed's ``extensible-dex.js``, for real: an owner installs plugins through a PluginRegistry
(and its audit policy), pools name the plugin that prices them, and a swap is quote -> validate
-> settle in one SQLite transaction. Every settled swap keeps its receipt and can be replayed.
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Iterable, Mapping, Optional, Sequence, Union

import msgspec

from .._codec import canonical
from ..errors import ConfigurationError, DexError, NotAuthorized, PluginError, PluginInactive
from ..registry import PluginRegistry
from ..validation import FeeTreatment, SwapQuote, SwapRequest, Validator, default_rules
from . import _ledger, _swap
from ._ledger import check_amount
from ._records import DexPlugin, Hop, Liquidity, PluginStats, Pool, Rejection, Replay, SwapRecord
from ._store import Store

__all__ = ["ExtensibleDex", "DEFAULT_ROYALTY_BPS"]

DEFAULT_ROYALTY_BPS = 1_000  # 10% of the swap fee: the top of the seed's "1-10% of swap fees"
_PLUGIN_COLUMNS = "plugin_id, sha256, ref, royalty_account, royalty_bps, active, installed_at"


def _name(value: object, what: str) -> str:
    """An id (account, token, pool, plugin): 1..128 printable characters."""
    if not isinstance(value, str) or not 1 <= len(value) <= 128 or not value.isprintable():
        raise DexError(f"{what} must be a str of 1..128 printable characters, got {value!r}")
    return value


class ExtensibleDex:
    """A reference DEX in one SQLite database (``":memory:"`` for tests).

        dex = ExtensibleDex(".plugin-host/dex.sqlite", owner="dex.near")   # registry.sqlite next to it
        dex.install_plugin("dex.near", source, "curve")                   # registry install + activate
        dex.create_pool("dex.near", "3pool", plugin_id="curve", tokens=["DAI", "USDC", "USDT"],
                        fee_treatment="admin-fee-leaves", params={"A": 100, ...})
        dex.deposit("alice", "DAI", 10**21)
        dex.swap_with_plugin("alice", "curve", "3pool", "DAI", "USDC", 10**21, min_amount_out=990 * 10**6)

    ``registry``: a PluginRegistry, a path, or None (in memory for an in-memory DEX, else
    ``registry.sqlite`` beside the DEX's file). ``validator``: the rules every answer must pass
    (``default_rules()``); add your own with ``dex.validator.add(name, check)``. ``gas_limit``:
    per plugin call (the realm's default when None).
    """

    def __init__(self, path: Union[str, os.PathLike], *, owner: Optional[str] = None,
                 registry: Union[PluginRegistry, str, os.PathLike, None] = None,
                 validator: Optional[Validator] = None, gas_limit: Optional[int] = None):
        self.path = str(path)
        self.validator = validator if validator is not None else default_rules()
        if not isinstance(self.validator, Validator):
            raise ConfigurationError(f"validator must be a Validator, not {type(self.validator).__name__}")
        self.gas_limit = gas_limit
        if registry is None:
            registry = ":memory:" if self.path == ":memory:" else Path(self.path).with_name("registry.sqlite")
        self._owns_registry = not isinstance(registry, PluginRegistry)
        self.registry = PluginRegistry(registry) if self._owns_registry else registry  # type: ignore[arg-type]
        try:
            self._store = Store(path)
        except BaseException:
            if self._owns_registry:
                self.registry.close()
            raise
        try:
            with self._store.write() as c:
                row = c.execute("SELECT owner FROM dex WHERE id = 1").fetchone()
                if row is None:
                    if owner is None:
                        raise DexError("a new DEX needs an owner")
                    c.execute("INSERT INTO dex (id, owner, created_at) VALUES (1, ?, ?)",
                              (_name(owner, "owner"), int(time.time())))
                elif owner is not None and owner != row[0]:
                    raise DexError(f"{self.path} is owned by {row[0]!r}, not {owner!r}")
        except BaseException:
            self.close()
            raise
        self.owner: str = self._store.read("SELECT owner FROM dex WHERE id = 1")[0][0]

    def close(self) -> None:
        self._store.close()
        if self._owns_registry:
            self.registry.close()

    def __enter__(self) -> "ExtensibleDex":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"<ExtensibleDex {self.path} owner={self.owner}>"

    def _owner_only(self, caller: str, action: str) -> None:
        if caller != self.owner:
            raise NotAuthorized(f"only the owner ({self.owner}) may {action}; {caller!r} may not", caller=str(caller))

    # ---- plugins -------------------------------------------------------------------------------

    def install_plugin(self, caller: str, source: Union[str, bytes], plugin_id: str, *,
                       royalty_bps: Optional[int] = None, royalty_account: Optional[str] = None,
                       expected_sha256: Optional[str] = None) -> DexPlugin:
        """Owner only. Install ``source`` in the registry, activate it there (PolicyViolation
        unless its policy, e.g. audits, allows) and pin ``plugin_id`` to its sha256 for good.
        Royalties (``royalty_bps`` of each swap fee, default 10%) go to ``royalty_account``
        (default: the plugin's metadata author). Installing the same code again re-activates it."""
        self._owner_only(caller, "install plugins")
        plugin_id = _name(plugin_id, "plugin_id")
        if royalty_bps is not None and (type(royalty_bps) is not int or not 0 <= royalty_bps <= 10_000):
            raise DexError(f"royalty_bps must be an int in [0, 10000], got {royalty_bps!r}")
        existing = self._plugin_or_none(plugin_id)
        rec = self.registry.install(source, expected_sha256=expected_sha256)
        if existing is not None:
            if existing.sha256 != rec.sha256:
                raise DexError(f"plugin id {plugin_id!r} is pinned to {existing.sha256[:12]} ({existing.ref}); "
                               f"{rec.ref} ({rec.sha256[:12]}) needs a new id")
            asked = (royalty_bps, royalty_account)
            if asked[0] not in (None, existing.royalty_bps) or asked[1] not in (None, existing.royalty_account):
                raise DexError(f"plugin {plugin_id!r} was installed with other royalty terms; they are fixed")
        if "calculateSwap" not in rec.exports:
            raise DexError(f"{rec.ref} exports no calculateSwap: it is not an AMM plugin")
        account = _name(royalty_account if royalty_account is not None else rec.author, "royalty_account")
        rec = self.registry.activate(rec)
        with self._store.write() as c:
            c.execute(f"INSERT INTO plugins ({_PLUGIN_COLUMNS}) VALUES (?, ?, ?, ?, ?, 1, ?) "
                      "ON CONFLICT (plugin_id) DO UPDATE SET active = 1",
                      (plugin_id, rec.sha256, rec.ref, account,
                       DEFAULT_ROYALTY_BPS if royalty_bps is None else royalty_bps, int(time.time())))
        return self.plugin(plugin_id)

    def activate_plugin(self, caller: str, plugin_id: str) -> DexPlugin:
        """Owner only: let a deactivated plugin price pools again (the registry's policy still applies)."""
        self._owner_only(caller, "activate plugins")
        self.registry.activate(self.plugin(plugin_id).sha256)
        with self._store.write() as c:
            c.execute("UPDATE plugins SET active = 1 WHERE plugin_id = ?", (plugin_id,))
        return self.plugin(plugin_id)

    def deactivate_plugin(self, caller: str, plugin_id: str) -> DexPlugin:
        """Owner only: swaps through it are refused (PluginInactive) until reactivated. Only this
        DEX's use is affected; the registry may serve other protocols."""
        self._owner_only(caller, "deactivate plugins")
        self.plugin(plugin_id)
        with self._store.write() as c:
            c.execute("UPDATE plugins SET active = 0 WHERE plugin_id = ?", (plugin_id,))
        return self.plugin(plugin_id)

    def _plugin_or_none(self, plugin_id: str) -> Optional[DexPlugin]:
        with self._store.lock:
            return _ledger.load_plugin(self._store.conn, plugin_id)

    def plugin(self, plugin_id: str) -> DexPlugin:
        plugin = self._plugin_or_none(plugin_id)
        if plugin is None:
            raise DexError(f"no plugin {plugin_id!r} is installed in this DEX")
        return plugin

    def plugins(self) -> list[DexPlugin]:
        rows = self._store.read("SELECT plugin_id FROM plugins ORDER BY plugin_id")
        return [self.plugin(r[0]) for r in rows]

    # ---- pools ---------------------------------------------------------------------------------

    def create_pool(self, caller: str, pool_id: str, *, plugin_id: str, tokens: Sequence[str],
                    fee_treatment: Union[FeeTreatment, str], params: Optional[Mapping] = None,
                    balances_key: str = "balances") -> Pool:
        """Owner only. An empty pool of 2..8 ``tokens`` priced by ``plugin_id``. Its poolState
        is ``params`` plus ``tokens`` and the balances under ``balances_key`` ("reserves" for
        Uniswap V2 and Solidly). ``fee_treatment`` says which fee leaves the pool."""
        self._owner_only(caller, "create pools")
        pool_id, plugin_id = _name(pool_id, "pool_id"), _name(plugin_id, "plugin_id")
        tokens = tuple(_name(t, "a token") for t in (tokens if isinstance(tokens, (list, tuple)) else ()))
        if not 2 <= len(tokens) <= 8 or len(set(tokens)) != len(tokens):
            raise DexError(f"a pool needs 2..8 distinct tokens, got {tokens!r}")
        try:
            treatment = FeeTreatment(fee_treatment)
        except ValueError:
            raise DexError(f"fee_treatment must be one of {[t.value for t in FeeTreatment]}, "
                           f"got {fee_treatment!r}") from None
        balances_key = _name(balances_key, "balances_key")
        params = dict(params or {})
        if "tokens" in params or balances_key in params:
            raise DexError(f"params may not set 'tokens' or {balances_key!r}: the DEX supplies them")
        try:  # stored as canonical JSON, so only what round-trips is accepted
            decoded = msgspec.json.decode(canonical(params))
        except (TypeError, ValueError, msgspec.MsgspecError) as e:
            raise DexError(f"params must be JSON-like (int, str, bool, None, lists, str-keyed dicts): {e}") from None
        if decoded != params:
            raise DexError("params must be JSON-like (int, str, bool, None, lists, str-keyed dicts)")
        self.plugin(plugin_id)
        pool = Pool(pool_id=pool_id, plugin_id=plugin_id, tokens=tokens, balances=(0,) * len(tokens),
                    params=decoded, balances_key=balances_key, fee_treatment=treatment, total_shares=0)
        with self._store.write() as c:
            if c.execute("SELECT 1 FROM pools WHERE pool_id = ?", (pool_id,)).fetchone():
                raise DexError(f"pool {pool_id!r} already exists")
            _ledger.insert_pool(c, pool, int(time.time()))
        return self.pool(pool_id)

    def set_pool_plugin(self, caller: str, pool_id: str, plugin_id: str) -> Pool:
        """Owner only: price the pool with another installed plugin (an upgrade is a new plugin).
        Traders name the plugin in every swap, so none is priced by code they did not name."""
        self._owner_only(caller, "change a pool's plugin")
        self.plugin(plugin_id)
        with self._store.write() as c:
            _ledger.load_pool(c, pool_id)
            c.execute("UPDATE pools SET plugin_id = ? WHERE pool_id = ?", (plugin_id, pool_id))
        return self.pool(pool_id)

    def pool(self, pool_id: str) -> Pool:
        with self._store.lock:
            return _ledger.load_pool(self._store.conn, pool_id)

    def pools(self) -> list[Pool]:
        return [self.pool(r[0]) for r in self._store.read("SELECT pool_id FROM pools ORDER BY pool_id")]

    # ---- token balances ------------------------------------------------------------------------

    def deposit(self, account: str, token: str, amount: int) -> int:
        """Bring ``amount`` of ``token`` into the DEX for ``account`` (its supply grows).
        Returns the new balance."""
        account, token, amount = _name(account, "account"), _name(token, "token"), check_amount(amount, "amount")
        with self._store.write() as c:
            _ledger.add_supply(c, token, amount)
            return _ledger.credit(c, "balances", account, token, amount)

    def withdraw(self, account: str, token: str, amount: int) -> int:
        """Take ``amount`` out of the DEX (InsufficientFunds if ``account`` holds less)."""
        account, token, amount = _name(account, "account"), _name(token, "token"), check_amount(amount, "amount")
        with self._store.write() as c:
            left = _ledger.debit(c, "balances", account, token, amount)
            _ledger.add_supply(c, token, -amount)
            return left

    def balance(self, account: str, token: str) -> int:
        with self._store.lock:
            return _ledger.amount_of(self._store.conn, "balances", account, token)

    def balances(self, account: str) -> dict[str, int]:
        rows = self._store.read("SELECT token, amount FROM balances WHERE account = ? ORDER BY token", (account,))
        return {t: int(a) for t, a in rows if a != "0"}

    def supply(self, token: str) -> int:
        rows = self._store.read("SELECT supply FROM tokens WHERE token = ?", (token,))
        return int(rows[0][0]) if rows else 0

    # ---- liquidity -----------------------------------------------------------------------------

    def add_liquidity(self, caller: str, pool_id: str, amounts: Sequence[int]) -> Liquidity:
        """Deposit into a pool in its current proportions and receive LP shares. The first
        deposit sets the proportions (every token, shares = the sum of amounts); later ones
        take, of each token, just what the minted shares are worth (rounded up, in the pool's
        favour) and leave the rest with the caller. Imbalanced deposits are swaps in disguise
        and are not offered."""
        caller = _name(caller, "caller")
        with self._store.write() as c:
            pool = _ledger.load_pool(c, pool_id)
            if not isinstance(amounts, (list, tuple)) or len(amounts) != len(pool.tokens):
                raise DexError(f"amounts must list one amount per token of {pool_id} {pool.tokens}")
            offered = [check_amount(a, f"amounts[{k}]", positive=False) for k, a in enumerate(amounts)]
            total, bal = pool.total_shares, pool.balances
            if total == 0:
                if min(offered) == 0:
                    raise DexError(f"the first deposit into {pool_id} must include every token")
                minted, taken = sum(offered), offered
            else:
                held = [k for k in range(len(bal)) if bal[k] > 0]
                if not held:
                    raise DexError(f"pool {pool_id} holds nothing to be proportional to")
                minted = min(offered[k] * total // bal[k] for k in held)
                if minted == 0:
                    raise DexError(f"too little to mint a share of {pool_id}")
                taken = [-(-minted * b // total) for b in bal]  # ceil: never more than offered
            for token, amount in zip(pool.tokens, taken):
                if amount:
                    _ledger.debit(c, "balances", caller, token, amount)
            _ledger.set_pool_balances(c, pool_id, [b + a for b, a in zip(bal, taken)])
            _ledger.credit(c, "shares", pool_id, caller, minted, who=caller, what=f"{pool_id} LP shares")
            _ledger.set_total_shares(c, pool_id, total + minted)
        return Liquidity(pool_id, caller, minted, tuple(taken))

    def remove_liquidity(self, caller: str, pool_id: str, shares: int) -> Liquidity:
        """Burn LP shares for the pool's tokens in proportion (rounded down, in the pool's favour)."""
        caller, shares = _name(caller, "caller"), check_amount(shares, "shares")
        with self._store.write() as c:
            pool = _ledger.load_pool(c, pool_id)
            _ledger.debit(c, "shares", pool_id, caller, shares, who=caller, what=f"{pool_id} LP shares")
            out = [shares * b // pool.total_shares for b in pool.balances]
            _ledger.set_pool_balances(c, pool_id, [b - a for b, a in zip(pool.balances, out)])
            for token, amount in zip(pool.tokens, out):
                if amount:
                    _ledger.credit(c, "balances", caller, token, amount)
            _ledger.set_total_shares(c, pool_id, pool.total_shares - shares)
        return Liquidity(pool_id, caller, shares, tuple(out))

    def shares(self, pool_id: str, account: str) -> int:
        with self._store.lock:
            return _ledger.amount_of(self._store.conn, "shares", pool_id, account)

    def fees(self, pool_id: str) -> dict[str, int]:
        """The pool's fee account: fees that left it, not yet collected."""
        rows = self._store.read("SELECT token, amount FROM fees WHERE pool_id = ? ORDER BY token", (pool_id,))
        return {t: int(a) for t, a in rows if a != "0"}

    def collect_fees(self, caller: str, pool_id: str) -> dict[str, int]:
        """Owner only: move a pool's fee account into the owner's balance."""
        self._owner_only(caller, "collect fees")
        with self._store.write() as c:
            _ledger.load_pool(c, pool_id)
            moved = {t: int(a) for t, a in c.execute("SELECT token, amount FROM fees WHERE pool_id = ?", (pool_id,))
                     if a != "0"}
            for token, amount in moved.items():
                _ledger.debit(c, "fees", pool_id, token, amount)
                _ledger.credit(c, "balances", self.owner, token, amount)
        return moved

    # ---- swaps ---------------------------------------------------------------------------------

    def swap_with_plugin(self, caller: str, plugin_id: str, pool_id: str, token_in: str, token_out: str,
                         amount_in: int, min_amount_out: int = 0) -> SwapRecord:
        """Swap ``amount_in`` of ``token_in`` for at least ``min_amount_out`` of ``token_out``:
        the pinned plugin quotes in its realm, the validator checks the answer, the DEX settles
        - in one transaction. Any error (the plugin's, a rule's, InsufficientFunds) leaves every
        balance as it was; a refused plugin answer is logged in ``rejections()``."""
        return self.swap_route(caller, [Hop(plugin_id, pool_id, token_in, token_out)], amount_in, min_amount_out)[0]

    def swap_route(self, caller: str, hops: Iterable[Union[Hop, Sequence[str]]], amount_in: int,
                   min_amount_out: int = 0) -> list[SwapRecord]:
        """Several swaps in a row, each hop's output the next one's input, all or nothing:
        ``hops`` are ``Hop(plugin_id, pool_id, token_in, token_out)``; ``min_amount_out``
        bounds the last hop's output."""
        caller = _name(caller, "caller")
        try:
            route = [Hop(*h) for h in hops]
        except TypeError:
            raise DexError("a hop is (plugin_id, pool_id, token_in, token_out)") from None
        if not route or any(a.token_out != b.token_in for a, b in zip(route, route[1:])):
            raise DexError("a route is one or more hops, each starting with the token the previous one ends with")
        amount = check_amount(amount_in, "amount_in")
        min_amount_out = check_amount(min_amount_out, "min_amount_out", positive=False)
        now = int(time.time())
        attempt = None
        try:
            with self._store.write() as c:
                records = []
                for n, hop in enumerate(route):
                    plugin, pool, request = self._prepare(c, hop, amount, min_amount_out if n == len(route) - 1 else 0)
                    attempt = (plugin, pool.pool_id, request)
                    _ledger.debit(c, "balances", caller, hop.token_in, amount)  # before any gas is spent
                    quoted = _swap.quote(self.registry, plugin, pool, request, self.validator, self.gas_limit)
                    records.append(_swap.settle(c, plugin, pool, request, quoted, caller, now))
                    amount = quoted.quote.amount_out
                return records
        except PluginError as e:
            if e.receipt is not None and attempt is not None:  # the plugin ran: keep its receipt
                with self._store.write() as c:
                    _swap.record_rejection(c, attempt[0], attempt[1], caller, attempt[2], e, now)
            raise

    def quote(self, plugin_id: str, pool_id: str, token_in: str, token_out: str, amount_in: int) -> SwapQuote:
        """The plugin's validated answer for a swap, without settling it (for routing)."""
        amount = check_amount(amount_in, "amount_in")
        with self._store.lock:
            plugin, pool, request = self._prepare(self._store.conn, Hop(plugin_id, pool_id, token_in, token_out),
                                                  amount, 0)
            return _swap.quote(self.registry, plugin, pool, request, self.validator, self.gas_limit).quote

    def _prepare(self, c, hop: Hop, amount_in: int, min_amount_out: int) -> tuple[DexPlugin, Pool, SwapRequest]:
        plugin = _ledger.load_plugin(c, hop.plugin_id)
        if plugin is None:
            raise DexError(f"no plugin {hop.plugin_id!r} is installed in this DEX")
        if not plugin.active:
            raise PluginInactive(f"plugin {plugin.plugin_id!r} ({plugin.ref}) is deactivated in this DEX",
                                 sha256=plugin.sha256)
        pool = _ledger.load_pool(c, hop.pool_id)
        if pool.plugin_id != plugin.plugin_id:
            raise DexError(f"pool {pool.pool_id!r} is priced by {pool.plugin_id!r}, not {plugin.plugin_id!r}")
        if hop.token_in == hop.token_out or hop.token_in not in pool.tokens or hop.token_out not in pool.tokens:
            raise DexError(f"pool {pool.pool_id!r} swaps two different tokens of {pool.tokens}, "
                           f"not {hop.token_in!r} -> {hop.token_out!r}")
        return plugin, pool, SwapRequest(tokens=pool.tokens, balances=pool.balances, token_in=hop.token_in,
                                         token_out=hop.token_out, amount_in=amount_in,
                                         min_amount_out=min_amount_out, fee_treatment=pool.fee_treatment)

    # ---- the audit trail -----------------------------------------------------------------------

    def swap(self, swap_id: int) -> SwapRecord:
        rows = self._store.read(f"SELECT {_swap.SWAP_COLUMNS} FROM swaps WHERE id = ?", (swap_id,))
        if not rows:
            raise DexError(f"no swap {swap_id} is recorded")
        return _swap.swap_record(rows[0])

    def swaps(self, *, plugin_id: Optional[str] = None, pool_id: Optional[str] = None) -> list[SwapRecord]:
        where = " AND ".join(f"{k} = ?" for k, v in (("plugin_id", plugin_id), ("pool_id", pool_id)) if v is not None)
        params = tuple(v for v in (plugin_id, pool_id) if v is not None)
        rows = self._store.read(f"SELECT {_swap.SWAP_COLUMNS} FROM swaps" + (f" WHERE {where}" if where else "")
                                + " ORDER BY id", params)
        return [_swap.swap_record(r) for r in rows]

    def rejections(self, *, plugin_id: Optional[str] = None) -> list[Rejection]:
        rows = self._store.read(f"SELECT {_swap.REJECTION_COLUMNS} FROM rejections"
                                + (" WHERE plugin_id = ?" if plugin_id is not None else "") + " ORDER BY id",
                                (plugin_id,) if plugin_id is not None else ())
        return [_swap.rejection_record(r) for r in rows]

    def replay(self, swap_id: int, *, engine: Optional[str] = None) -> Replay:
        """Check the record (its digest, its link to the previous one, its receipt, input and
        output hashes) and re-run its pinned plugin on its recorded input: same output hash and
        gas, or ReplayMismatch listing every problem. Works after the plugin was deactivated."""
        with self._store.lock:
            return _swap.replay(self._store.conn, self.registry, swap_id, engine or self.registry.engine)

    def royalties(self, plugin_id: str) -> dict[str, int]:
        """What the plugin's royalty account has been paid, per token."""
        rows = self._store.read("SELECT token, amount FROM royalties WHERE plugin_id = ? ORDER BY token", (plugin_id,))
        return {t: int(a) for t, a in rows if a != "0"}

    def stats(self) -> list[PluginStats]:
        """Per plugin: settled swaps and their gas, refused answers and theirs, royalties paid."""
        out = []
        for p in self.plugins():
            swaps, gas = self._store.read("SELECT count(*), coalesce(sum(gas_used), 0) FROM swaps "
                                          "WHERE plugin_id = ?", (p.plugin_id,))[0]
            rejected, burnt = self._store.read("SELECT count(*), coalesce(sum(gas_used), 0) FROM rejections "
                                               "WHERE plugin_id = ?", (p.plugin_id,))[0]
            out.append(PluginStats(plugin_id=p.plugin_id, ref=p.ref, swaps=swaps, rejections=rejected, gas_used=gas,
                                   rejected_gas_used=burnt, royalties=self.royalties(p.plugin_id)))
        return out

    def audit(self) -> tuple[str, ...]:
        """Problems with the books, empty when they balance: for every token, users' balances +
        pools' balances + fee accounts = its supply; for every pool, its shares add up."""
        held: dict[str, int] = {}
        for table in ("balances", "pool_balances", "fees"):
            for token, amount in self._store.read(f"SELECT token, amount FROM {table}"):
                held[token] = held.get(token, 0) + int(amount)
        problems = [f"{token}: supply {int(supply)}, held {held.get(token, 0)}"
                    for token, supply in self._store.read("SELECT token, supply FROM tokens")
                    if int(supply) != held.get(token, 0)]
        for pool_id, total in self._store.read("SELECT pool_id, total_shares FROM pools"):
            shares = sum(int(a) for (a,) in self._store.read("SELECT amount FROM shares WHERE pool_id = ?", (pool_id,)))
            if shares != int(total):
                problems.append(f"{pool_id}: {shares} shares held, total_shares {total}")
        return tuple(problems)
