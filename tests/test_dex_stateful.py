"""Stateful property test of ExtensibleDex (hypothesis RuleBasedStateMachine).

Random sequences of deposits, withdrawals, liquidity changes, swaps and routes through the Curve,
Uniswap V2 and Solidly plugins, plugin installs, deactivations, non-owner attempts, and swaps
through hostile plugins that a (fooled) owner made a pool's pricer. After every step: each
token's supply equals what users, pools and fee accounts hold; nothing is negative; a refused
operation changed nothing; every settled swap replays.
"""

from __future__ import annotations

from collections import Counter

import pytest
from dex_support import GAS, HOSTILE, OWNER, POOLS, UNIT, hostile_source, setup_dex, state
from hypothesis import HealthCheck, event, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule

from plugin_host import (
    DexError,
    ExtensibleDex,
    InsufficientFunds,
    NotAuthorized,
    PluginException,
    PluginInactive,
    PluginRegistry,
    ValidationFailed,
)

USERS = ("alice", "bob", "carol")
TOKENS = tuple(UNIT)
LEGIT = {pool_id: spec[0] for pool_id, spec in POOLS.items()}  # pool -> the plugin that really prices it
# what a legitimate swap may be refused with: its own checks, the plugin's revert, a rule
SWAP_REFUSALS = (ValidationFailed, PluginException, InsufficientFunds, PluginInactive)

_registry = None


def shared_registry() -> PluginRegistry:
    """One registry for every example: its per-thread realm cache makes a swap ~0.1 ms. Only
    this DEX's own tables carry state from step to step (the DEX never deactivates registry
    plugins), so examples stay independent."""
    global _registry
    if _registry is None:
        _registry = PluginRegistry(":memory:")
    return _registry


def held(books: dict) -> Counter:
    total: Counter = Counter()
    for table, token_col in (("balances", 1), ("pool_balances", 2), ("fees", 1)):
        for row in books[table]:
            total[row[token_col]] += int(row[-1])
    return total


class DexMachine(RuleBasedStateMachine):
    def __init__(self):
        super().__init__()
        self.dex = setup_dex(ExtensibleDex(":memory:", owner=OWNER, registry=shared_registry(), gas_limit=GAS))
        self.supply = Counter({t: self.dex.supply(t) for t in TOKENS})  # the model: deposits - withdrawals
        self.settled: list[int] = []

    # ---- helpers -------------------------------------------------------------------------------

    def refused_without_effect(self, label, errors, fn):
        """Run fn; if it raises one of ``errors``, the books must be exactly as before."""
        before = state(self.dex)
        try:
            return fn()
        except errors as e:
            assert state(self.dex) == before
            event(f"{label} refused: {type(e).__name__}{' (' + e.rule + ')' if hasattr(e, 'rule') else ''}")
            return None

    def check_swaps(self, user, records, before):
        after = self.dex.balances(user)
        delta = Counter(after)
        delta.subtract(before)
        expected: Counter = Counter()
        for rec in records:
            expected[rec.token_in] -= rec.amount_in
            expected[rec.token_out] += rec.amount_out
            proof = self.dex.replay(rec.swap_id)  # every settled swap replays, right away
            assert (proof.gas_used, proof.output_sha256) == (rec.gas_used, rec.receipt.output_sha256)
            self.settled.append(rec.swap_id)
            event(f"swap settled via {rec.plugin_id}")
        assert {k: v for k, v in delta.items() if v} == {k: v for k, v in expected.items() if v}

    # ---- rules ---------------------------------------------------------------------------------

    @rule(user=st.sampled_from(USERS), token=st.sampled_from(TOKENS), units=st.integers(0, 20_000),
          wei=st.integers(0, 10**6))
    def deposit(self, user, token, units, wei):
        amount = units * UNIT[token] + wei
        if amount == 0:
            with pytest.raises(DexError):
                self.dex.deposit(user, token, amount)
            return
        self.dex.deposit(user, token, amount)
        self.supply[token] += amount

    @rule(user=st.sampled_from(USERS), token=st.sampled_from(TOKENS), pct=st.integers(1, 110))
    def withdraw(self, user, token, pct):
        amount = max(1, self.dex.balance(user, token) * pct // 100)
        if self.refused_without_effect("withdraw", DexError,
                                       lambda: self.dex.withdraw(user, token, amount)) is not None:
            self.supply[token] -= amount

    @rule(user=st.sampled_from(USERS + ("lp",)), pool_id=st.sampled_from(sorted(POOLS)),
          pcts=st.lists(st.integers(0, 100), min_size=3, max_size=3))
    def add_liquidity(self, user, pool_id, pcts):
        tokens = self.dex.pool(pool_id).tokens
        offered = [self.dex.balance(user, t) * p // 100 for t, p in zip(tokens, pcts)]
        shares, before = self.dex.shares(pool_id, user), self.dex.balances(user)
        res = self.refused_without_effect("add_liquidity", DexError,
                                          lambda: self.dex.add_liquidity(user, pool_id, offered))
        if res is not None:
            assert all(0 <= a <= o for a, o in zip(res.amounts, offered)) and res.shares > 0
            assert self.dex.shares(pool_id, user) == shares + res.shares
            for t, a in zip(tokens, res.amounts):
                assert self.dex.balance(user, t) == before.get(t, 0) - a

    @rule(user=st.sampled_from(USERS + ("lp",)), pool_id=st.sampled_from(sorted(POOLS)), pct=st.integers(1, 100))
    def remove_liquidity(self, user, pool_id, pct):
        shares = max(1, self.dex.shares(pool_id, user) * pct // 100)
        pool = self.dex.pool(pool_id)
        res = self.refused_without_effect("remove_liquidity", DexError,
                                          lambda: self.dex.remove_liquidity(user, pool_id, shares))
        if res is not None:
            assert res.amounts == tuple(shares * b // pool.total_shares for b in pool.balances)

    def amount(self, user, token, mant, exp, fund):
        """mant * 10**exp thousandths of a token (log-uniform: both tiny and pool-moving trades);
        with ``fund`` the user first deposits what they lack."""
        amount = max(1, mant * 10**exp * UNIT[token] // 1000)
        short = amount - self.dex.balance(user, token)
        if fund and short > 0:
            self.dex.deposit(user, token, short)
            self.supply[token] += short
        return amount

    @rule(user=st.sampled_from(USERS), pool_id=st.sampled_from(sorted(POOLS)), a=st.integers(0, 2),
          b=st.integers(0, 2), mant=st.integers(1, 9), exp=st.integers(0, 8), fund=st.integers(0, 4).map(bool),
          bound=st.sampled_from(["none", "none", "loose", "impossible"]))
    def swap(self, user, pool_id, a, b, mant, exp, fund, bound):
        pool = self.dex.pool(pool_id)
        n = len(pool.tokens)
        if a % n == b % n:
            return
        token_in, token_out = pool.tokens[a % n], pool.tokens[b % n]
        amount = self.amount(user, token_in, mant, exp, fund)
        min_out = {"none": 0, "loose": 1, "impossible": 2**255}[bound]
        before = self.dex.balances(user)
        rec = self.refused_without_effect(f"swap via {pool.plugin_id}", SWAP_REFUSALS, lambda: (
            self.dex.swap_with_plugin(user, pool.plugin_id, pool_id, token_in, token_out, amount, min_out)))
        if rec is not None:
            assert bound != "impossible" and rec.amount_out >= min_out
            self.check_swaps(user, [rec], before)

    @rule(user=st.sampled_from(USERS), mant=st.integers(1, 9), exp=st.integers(0, 5), fund=st.booleans())
    def route(self, user, mant, exp, fund):
        """WETH -> USDC on Uniswap V2, then USDC -> DAI on Curve, all or nothing."""
        amount = self.amount(user, "WETH", mant, exp, fund)
        hops = [("univ2", "weth-usdc", "WETH", "USDC"), ("curve", "3pool", "USDC", "DAI")]
        before = self.dex.balances(user)
        recs = self.refused_without_effect("route", SWAP_REFUSALS, lambda: self.dex.swap_route(user, hops, amount))
        if recs is not None:
            assert recs[0].amount_out == recs[1].amount_in
            self.check_swaps(user, recs, before)
            event("route settled")

    @rule(kind=st.sampled_from(sorted(HOSTILE)), pool_id=st.sampled_from(sorted(POOLS)),
          user=st.sampled_from(USERS), units=st.integers(1, 1000))
    def hostile_swap(self, kind, pool_id, user, units):
        """The owner installs a hostile plugin and makes it price a funded pool: every answer
        it gives is refused and the pool keeps its funds."""
        plugin_id = f"hostile-{kind}"
        self.dex.install_plugin(OWNER, hostile_source(kind), plugin_id)
        self.dex.set_pool_plugin(OWNER, pool_id, plugin_id)
        try:
            token_in, token_out = self.dex.pool(pool_id).tokens[:2]
            amount = units * UNIT[token_in]
            self.dex.deposit(user, token_in, amount)
            self.supply[token_in] += amount
            before = state(self.dex)
            with pytest.raises(HOSTILE[kind][1]):
                self.dex.swap_with_plugin(user, plugin_id, pool_id, token_in, token_out, amount)
            assert state(self.dex) == before
            event(f"hostile {kind} refused")
        finally:
            self.dex.set_pool_plugin(OWNER, pool_id, LEGIT[pool_id])

    @rule(plugin_id=st.sampled_from(sorted(set(LEGIT.values()))))
    def toggle_plugin(self, plugin_id):
        if self.dex.plugin(plugin_id).active:
            self.dex.deactivate_plugin(OWNER, plugin_id)
        else:
            self.dex.activate_plugin(OWNER, plugin_id)

    @rule(user=st.sampled_from(USERS), what=st.integers(0, 3))
    def non_owner_is_refused(self, user, what):
        attempts = [lambda: self.dex.install_plugin(user, hostile_source("drain"), "mine"),
                    lambda: self.dex.set_pool_plugin(user, "3pool", "univ2"),
                    lambda: self.dex.deactivate_plugin(user, "curve"),
                    lambda: self.dex.collect_fees(user, "3pool")]
        before = state(self.dex)
        with pytest.raises(NotAuthorized):
            attempts[what]()
        assert state(self.dex) == before

    @rule(pool_id=st.sampled_from(sorted(POOLS)))
    def collect_fees(self, pool_id):
        fees, owner = self.dex.fees(pool_id), self.dex.balances(OWNER)
        assert self.dex.collect_fees(OWNER, pool_id) == fees
        assert self.dex.fees(pool_id) == {}
        for t, a in fees.items():
            assert self.dex.balance(OWNER, t) == owner.get(t, 0) + a

    # ---- invariants ----------------------------------------------------------------------------

    @invariant()
    def supply_is_conserved_and_nothing_is_negative(self):
        books = state(self.dex)
        recorded = {row[0]: int(row[1]) for row in books["tokens"]}
        assert +self.supply == +Counter(recorded)  # the model agrees with the DEX's supply
        assert +held(books) == +Counter(recorded)  # users + pools + fee accounts hold exactly it
        for table in ("balances", "pool_balances", "shares", "fees", "royalties"):
            assert all(int(row[-1]) >= 0 for row in books[table])
        assert self.dex.audit() == ()

    def teardown(self):
        try:
            for swap_id in self.settled:
                self.dex.replay(swap_id)
        finally:
            self.dex.close()


DexMachine.TestCase.settings = settings(max_examples=60, stateful_step_count=20, deadline=None,
                                        suppress_health_check=[HealthCheck.too_slow])
TestDexStateful = DexMachine.TestCase
