"""ExtensibleDex: owner-only installs through the registry's policy, pools, liquidity, validated
swaps settled in one transaction, royalties, the audit trail and its replay."""

import sqlite3

import msgspec
import pytest
from dex_support import CURVE, GAS, HOSTILE, OWNER, SOLIDLY, UNIT, UNIV2, hostile_source, setup_dex, state

from plugin_host import (
    DexError,
    ExtensibleDex,
    Hop,
    InsufficientFunds,
    NotAuthorized,
    PluginInactive,
    PluginRegistry,
    PolicyViolation,
    Receipt,
    RegistryPolicy,
    ReplayMismatch,
    ValidationFailed,
    _codec,
)
from plugin_host.dex import _swap
from plugin_host.validation import default_rules
from plugin_host.registry import generate_key

E18 = 10**18


@pytest.fixture(scope="module")
def registry():
    with PluginRegistry(":memory:") as reg:
        yield reg


@pytest.fixture
def dex(registry):
    with ExtensibleDex(":memory:", owner=OWNER, registry=registry, gas_limit=GAS) as d:
        yield setup_dex(d)


def pool_of(dex, pool_id, plugin_id, source, tokens, treatment, params, key, balances):
    dex.install_plugin(OWNER, source, plugin_id)
    dex.create_pool(OWNER, pool_id, plugin_id=plugin_id, tokens=tokens, fee_treatment=treatment, params=params,
                    balances_key=key)
    for t, a in zip(tokens, balances):
        dex.deposit("lp", t, a)
    dex.add_liquidity("lp", pool_id, balances)


# ---- exact settlement, per plugin --------------------------------------------------------------


def test_curve_swap_settles_the_public_example(registry):
    with ExtensibleDex(":memory:", owner=OWNER, registry=registry) as dex:
        pool_of(dex, "3pool", "curve", CURVE, ["DAI", "USDC", "USDT"], "admin-fee-leaves",
                {"decimals": [18, 6, 6], "A": 100, "fee": 4_000_000, "adminFee": 5_000_000_000}, "balances",
                [10**24, 10**12, 10**12])
        dex.deposit("alice", "DAI", 1000 * E18)
        rec = dex.swap_with_plugin("alice", "curve", "3pool", "DAI", "USDC", 1000 * E18, min_amount_out=999 * 10**6)
        assert (rec.amount_out, rec.fee_amount, rec.fee_left, rec.fee_token) == (999590103, 399996, 199998, "USDC")
        assert rec.royalty == 399996 * 1000 // 10_000
        assert dex.balances("alice") == {"USDC": 999590103}
        # the plugin's newBalances, less the author's royalty (paid by the pool, in the fee token)
        assert dex.pool("3pool").balances == (1001000 * E18, 999000209899 - rec.royalty, 10**12)
        assert dex.fees("3pool") == {"USDC": 199998}
        assert dex.balances("plugin-host developers") == {"USDC": rec.royalty}
        assert dex.royalties("curve") == {"USDC": rec.royalty}
        assert dex.audit() == ()
        assert dex.collect_fees(OWNER, "3pool") == {"USDC": 199998}
        assert dex.fees("3pool") == {} and dex.balance(OWNER, "USDC") == 199998 and dex.audit() == ()


def test_uniswap_fee_stays_in_the_pool(registry):
    with ExtensibleDex(":memory:", owner=OWNER, registry=registry) as dex:
        pool_of(dex, "ab", "univ2", UNIV2, ["A", "B"], "kept", {"feeBps": 30}, "reserves", [10**24, 10**24])
        dex.deposit("bob", "A", 1000 * E18)
        rec = dex.swap_with_plugin("bob", "univ2", "ab", "A", "B", 1000 * E18)
        assert rec.amount_out == 996006981039903216493 and rec.fee_left == 0 and rec.fee_token == "A"
        assert rec.royalty == 3 * E18 // 10
        assert dex.pool("ab").balances == (10**24 + 1000 * E18 - rec.royalty, 10**24 - rec.amount_out)
        assert dex.fees("ab") == {} and dex.audit() == ()


def test_solidly_fee_leaves_the_pool(registry):
    with ExtensibleDex(":memory:", owner=OWNER, registry=registry) as dex:
        pool_of(dex, "ab", "solidly", SOLIDLY, ["A", "B"], "fee-leaves",
                {"decimals": [18, 18], "stable": True, "feeBps": 5}, "reserves", [10**24, 10**24])
        dex.deposit("bob", "A", 1000 * E18)
        rec = dex.swap_with_plugin("bob", "solidly", "ab", "A", "B", 1000 * E18)
        assert rec.amount_out == 999499999500999250748 and rec.fee_left == rec.fee_amount == E18 // 2
        assert dex.fees("ab") == {"A": E18 // 2}
        assert dex.pool("ab").balances == (10**24 + 1000 * E18 - E18 // 2 - rec.royalty, 10**24 - rec.amount_out)
        assert dex.audit() == ()


# ---- installing: owner only, through the registry's policy -------------------------------------


def test_only_the_owner_manages_the_dex(dex):
    before = state(dex)
    for attempt in (lambda: dex.install_plugin("mallory", UNIV2, "x"),
                    lambda: dex.create_pool("mallory", "p", plugin_id="univ2", tokens=["A", "B"], fee_treatment="kept"),
                    lambda: dex.set_pool_plugin("mallory", "3pool", "univ2"),
                    lambda: dex.deactivate_plugin("mallory", "curve"),
                    lambda: dex.activate_plugin("mallory", "curve"),
                    lambda: dex.collect_fees("mallory", "3pool")):
        with pytest.raises(NotAuthorized) as e:
            attempt()
        assert e.value.caller == "mallory"
    assert state(dex) == before


def test_install_goes_through_the_registry_policy():
    secret, public = generate_key()
    with ExtensibleDex(":memory:", owner=OWNER) as dex:
        dex.registry.add_auditor("auditor.near", public)
        dex.registry.set_policy(RegistryPolicy(trusted_auditors=["auditor.near"], min_approvals=1))
        with pytest.raises(PolicyViolation):
            dex.install_plugin(OWNER, UNIV2, "univ2")
        assert dex.plugins() == []
        rec = dex.registry.get("uniswap-v2@1.0.0")  # submitted to the registry, inactive
        assert not rec.active
        dex.registry.attest(rec, secret, auditor="auditor.near", verdict="approved", report="ipfs://report")
        p = dex.install_plugin(OWNER, UNIV2, "univ2", royalty_bps=250, royalty_account="uni.near")
        assert (p.sha256, p.ref, p.royalty_bps, p.royalty_account, p.active) == (
            rec.sha256, "uniswap-v2@1.0.0", 250, "uni.near", True)
        assert dex.registry.get(rec.sha256).active


def test_a_plugin_id_is_pinned_to_its_code(dex):
    p = dex.plugin("univ2")
    assert dex.install_plugin(OWNER, UNIV2, "univ2") == p  # the same code again: nothing new
    with pytest.raises(DexError, match="pinned"):
        dex.install_plugin(OWNER, CURVE, "univ2")
    with pytest.raises(DexError, match="royalty"):
        dex.install_plugin(OWNER, UNIV2, "univ2", royalty_bps=5)
    with pytest.raises(DexError, match="calculateSwap"):
        dex.install_plugin(OWNER, "export const metadata = {name: 'nope', version: '1.0.0', author: 'a', "
                                  "license: 'MIT', description: 'd'}; export function f() {}", "nope")
    with pytest.raises(DexError):
        dex.install_plugin(OWNER, UNIV2, "x", royalty_bps=10_001)


# ---- refusals change nothing ------------------------------------------------------------------


@pytest.mark.parametrize("kind", sorted(HOSTILE))
@pytest.mark.parametrize("pool_id", ["3pool", "weth-usdc", "usdc-dai"])
def test_hostile_plugins_are_refused_and_nothing_changes(dex, kind, pool_id):
    dex.install_plugin(OWNER, hostile_source(kind), f"hostile-{kind}")
    dex.set_pool_plugin(OWNER, pool_id, f"hostile-{kind}")
    token_in, token_out = dex.pool(pool_id).tokens[:2]
    dex.deposit("alice", token_in, 100 * UNIT[token_in])
    before = state(dex)
    _, error, rules = HOSTILE[kind]
    with pytest.raises(error) as e:
        dex.swap_with_plugin("alice", f"hostile-{kind}", pool_id, token_in, token_out, 100 * UNIT[token_in])
    assert state(dex) == before
    if rules:
        assert e.value.rule in rules
    (rej,) = dex.rejections()
    assert (rej.error, rej.rule, rej.plugin_id, rej.amount_in) == (
        type(e.value).__name__, getattr(e.value, "rule", None), f"hostile-{kind}", 100 * UNIT[token_in])
    assert rej.receipt == e.value.receipt and rej.gas_used == e.value.receipt.gas_used
    assert dex.stats()[[s.plugin_id for s in dex.stats()].index(f"hostile-{kind}")].rejections == 1


def test_a_trader_who_is_short_is_refused_before_the_plugin_runs(dex, registry):
    dex.deposit("alice", "DAI", 10 * E18)
    calls = registry.usage(dex.plugin("curve").sha256).calls
    before = state(dex)
    with pytest.raises(InsufficientFunds) as e:
        dex.swap_with_plugin("alice", "curve", "3pool", "DAI", "USDC", 11 * E18)
    assert (e.value.account, e.value.token, e.value.needed, e.value.available) == ("alice", "DAI", 11 * E18, 10 * E18)
    assert state(dex) == before and dex.rejections() == []
    assert registry.usage(dex.plugin("curve").sha256).calls == calls


def test_slippage_price_impact_and_user_rules_refuse_settlement(dex):
    dex.deposit("alice", "WETH", 500 * E18)
    before = state(dex)
    with pytest.raises(ValidationFailed) as e:
        dex.swap_with_plugin("alice", "univ2", "weth-usdc", "WETH", "USDC", E18, min_amount_out=3000 * 10**6)
    assert e.value.rule == "slippage"
    with pytest.raises(ValidationFailed) as e:
        dex.swap_with_plugin("alice", "univ2", "weth-usdc", "WETH", "USDC", 100 * E18)
    assert e.value.rule == "priceImpact < max" and e.value.values["max"] == 0.05
    dex.validator.add("at most 1000 USDC out", lambda req, q: req.token_out != "USDC" or q.amount_out <= 1000 * 10**6)
    with pytest.raises(ValidationFailed) as e:
        dex.swap_with_plugin("alice", "univ2", "weth-usdc", "WETH", "USDC", E18)
    assert e.value.rule == "at most 1000 USDC out"
    assert state(dex) == before and [r.rule for r in dex.rejections()] == [
        "slippage", "priceImpact < max", "at most 1000 USDC out"]
    dex.validator.remove("at most 1000 USDC out")
    assert dex.swap_with_plugin("alice", "univ2", "weth-usdc", "WETH", "USDC", E18).amount_out > 2900 * 10**6


def test_a_route_is_all_or_nothing(dex):
    dex.deposit("alice", "WETH", E18)
    route = [Hop("univ2", "weth-usdc", "WETH", "USDC"), Hop("curve", "3pool", "USDC", "DAI")]
    q1 = dex.quote("univ2", "weth-usdc", "WETH", "USDC", E18)
    q2 = dex.quote("curve", "3pool", "USDC", "DAI", q1.amount_out)
    before = state(dex)
    with pytest.raises(ValidationFailed) as e:  # the second hop's bound fails: the first is undone too
        dex.swap_route("alice", route, E18, min_amount_out=q2.amount_out + 1)
    assert e.value.rule == "slippage" and state(dex) == before
    a, b = dex.swap_route("alice", route, E18, min_amount_out=q2.amount_out)
    assert (a.amount_out, b.amount_in, b.amount_out) == (q1.amount_out, q1.amount_out, q2.amount_out)
    assert dex.balances("alice") == {"DAI": q2.amount_out} and dex.audit() == ()
    with pytest.raises(DexError):
        dex.swap_route("alice", [Hop("univ2", "weth-usdc", "WETH", "USDC"), Hop("curve", "3pool", "DAI", "USDT")], 1)


def test_deactivated_plugins_and_mismatched_pools_are_refused(dex):
    dex.deposit("alice", "DAI", E18)
    dex.deactivate_plugin(OWNER, "curve")
    before = state(dex)
    with pytest.raises(PluginInactive):
        dex.swap_with_plugin("alice", "curve", "3pool", "DAI", "USDC", E18)
    with pytest.raises(DexError, match="priced by"):
        dex.swap_with_plugin("alice", "univ2", "3pool", "DAI", "USDC", E18)
    assert state(dex) == before
    dex.activate_plugin(OWNER, "curve")
    assert dex.swap_with_plugin("alice", "curve", "3pool", "DAI", "USDC", E18).amount_out > 0


@pytest.mark.parametrize("call", [
    lambda d: d.swap_with_plugin("alice", "curve", "3pool", "DAI", "USDC", -1),
    lambda d: d.swap_with_plugin("alice", "curve", "3pool", "DAI", "USDC", True),
    lambda d: d.swap_with_plugin("alice", "curve", "3pool", "DAI", "USDC", 2**256),
    lambda d: d.swap_with_plugin("alice", "curve", "3pool", "DAI", "DAI", 1),
    lambda d: d.swap_with_plugin("alice", "curve", "3pool", "DAI", "WETH", 1),
    lambda d: d.swap_with_plugin("alice", "curve", "nope", "DAI", "USDC", 1),
    lambda d: d.swap_with_plugin("alice", "nope", "3pool", "DAI", "USDC", 1),
    lambda d: d.swap_with_plugin("", "curve", "3pool", "DAI", "USDC", 1),
    lambda d: d.swap_route("alice", [("curve", "3pool")], 1),
    lambda d: d.deposit("alice", "DAI", 0),
    lambda d: d.withdraw("alice", "DAI", 1.0),
    lambda d: d.add_liquidity("alice", "3pool", [1, 2]),
    lambda d: d.create_pool(OWNER, "3pool", plugin_id="curve", tokens=["A", "B"], fee_treatment="kept"),
    lambda d: d.create_pool(OWNER, "p", plugin_id="curve", tokens=["A", "A"], fee_treatment="kept"),
    lambda d: d.create_pool(OWNER, "p", plugin_id="curve", tokens=["A", "B"], fee_treatment="burnt"),
    lambda d: d.create_pool(OWNER, "p", plugin_id="curve", tokens=["A", "B"], fee_treatment="kept", params={"x": 1.5j}),
    lambda d: d.create_pool(OWNER, "p", plugin_id="curve", tokens=["A", "B"], fee_treatment="kept",
                            params={"balances": [1, 2]}),
    lambda d: d.create_pool(OWNER, "p", plugin_id="nope", tokens=["A", "B"], fee_treatment="kept"),
])
def test_malformed_requests_get_a_dex_error_and_change_nothing(dex, call):
    dex.deposit("alice", "DAI", E18)
    before = state(dex)
    with pytest.raises(DexError):
        call(dex)
    assert state(dex) == before


# ---- balances and liquidity -------------------------------------------------------------------


def test_deposits_withdrawals_and_liquidity(registry):
    with ExtensibleDex(":memory:", owner=OWNER, registry=registry) as dex:
        setup_dex(dex, liquidity=False)
        dex.deposit("ann", "WETH", 10)
        dex.deposit("ann", "USDC", 30)
        with pytest.raises(DexError, match="every token"):
            dex.add_liquidity("ann", "weth-usdc", [10, 0])
        first = dex.add_liquidity("ann", "weth-usdc", [4, 12])
        assert (first.shares, first.amounts) == (16, (4, 12))
        # proportional: 5 WETH would mint 20 shares, 11 USDC only 14: take 14 shares' worth, rounded up
        second = dex.add_liquidity("ann", "weth-usdc", [5, 11])
        assert (second.shares, second.amounts) == (14, (4, 11))
        assert dex.pool("weth-usdc").balances == (8, 23) and dex.pool("weth-usdc").total_shares == 30
        with pytest.raises(InsufficientFunds):
            dex.remove_liquidity("ann", "weth-usdc", 31)
        out = dex.remove_liquidity("ann", "weth-usdc", 7)
        assert out.amounts == (7 * 8 // 30, 7 * 23 // 30)
        rest = dex.remove_liquidity("ann", "weth-usdc", 23)
        assert dex.pool("weth-usdc").balances == (0, 0) and dex.shares("weth-usdc", "ann") == 0
        assert dex.balances("ann") == {"WETH": 10, "USDC": 30} and rest.shares == 23
        with pytest.raises(InsufficientFunds):
            dex.withdraw("ann", "WETH", 11)
        assert dex.withdraw("ann", "WETH", 10) == 0 and dex.supply("WETH") == 0 and dex.audit() == ()


# ---- the audit trail ---------------------------------------------------------------------------


def test_every_swap_replays_even_after_deactivation(dex):
    dex.deposit("alice", "DAI", 100 * E18)
    recs = [dex.swap_with_plugin("alice", "curve", "3pool", "DAI", "USDC", 10 * E18),
            dex.swap_with_plugin("alice", "solidly", "usdc-dai", "DAI", "USDC", 10 * E18)]
    dex.deactivate_plugin(OWNER, "curve")
    for rec in recs:
        proof = dex.replay(rec.swap_id)
        assert (proof.gas_used, proof.receipt_digest, proof.output_sha256) == (
            rec.gas_used, rec.receipt.digest(), rec.receipt.output_sha256)
        assert dex.replay(rec.swap_id, engine="wasmtime").gas_used == rec.gas_used  # same gas on both engines
    assert [s.swap_id for s in dex.swaps()] == [r.swap_id for r in recs]
    assert dex.swap(recs[0].swap_id) == recs[0]


def _tamper(dex, sql, params=()):
    dex._store.conn.execute(sql, params)


@pytest.mark.parametrize("sql, problem", [
    ("UPDATE swaps SET amount_out = '1' WHERE id = 1", "altered"),
    ("UPDATE swaps SET trader = 'mallory' WHERE id = 1", "altered"),
    ("UPDATE swaps SET output = CAST('{}' AS BLOB) WHERE id = 1", "output"),
    ("UPDATE swaps SET input = CAST(replace(CAST(input AS TEXT), '1000000', '1000001') AS BLOB) WHERE id = 1", "input"),
    ("UPDATE swaps SET gas_used = gas_used - 1 WHERE id = 1", "gas"),
    ("UPDATE swaps SET receipt = CAST(replace(CAST(receipt AS TEXT), '\"gas_used\":', '\"gas_used\":1') AS BLOB) "
     "WHERE id = 1", "receipt"),
    ("UPDATE swaps SET prev_digest = 'x' WHERE id = 1", "chain"),
])
def test_tampered_records_are_detected(dex, sql, problem):
    dex.deposit("alice", "DAI", 100 * E18)
    dex.swap_with_plugin("alice", "curve", "3pool", "DAI", "USDC", 10 * E18)
    _tamper(dex, sql)
    with pytest.raises(ReplayMismatch) as e:
        dex.replay(1)
    assert e.value.swap_id == 1 and any(problem in p for p in e.value.problems), e.value.problems


def test_a_deleted_record_breaks_the_chain_and_a_forged_one_fails_its_replay(dex):
    dex.deposit("alice", "DAI", 100 * E18)
    for _ in range(3):
        dex.swap_with_plugin("alice", "curve", "3pool", "DAI", "USDC", 10 * E18)
    _tamper(dex, "DELETE FROM swaps WHERE id = 2")
    with pytest.raises(ReplayMismatch, match="chain"):
        dex.replay(3)
    dex.replay(1)
    # a forger who rewrites a record consistently (hashes, receipt, digest) still cannot make the
    # pinned plugin give the forged answer
    cols = _swap.SWAP_COLUMNS
    row = dict(zip(cols.split(", "), dex._store.read(f"SELECT {cols} FROM swaps WHERE id = 1")[0]))
    output = _codec.decode(row["output"])
    output["amountOut"] += 1
    out_blob = _codec.canonical(output)
    receipt = Receipt.from_json(row["receipt"])
    forged = msgspec.structs.replace(receipt, output_sha256=_codec.sha256_hex(out_blob))
    fields = {k: int(row[k]) if k in _swap._AMOUNTS else row[k] for k in _swap._DIGESTED}
    fields["amount_out"] += 1
    digest = _swap._digest(fields, forged.digest(), _codec.sha256_hex(row["input"]), _codec.sha256_hex(out_blob),
                           row["at"], row["prev_digest"])
    _tamper(dex, "UPDATE swaps SET output = ?, receipt = ?, receipt_digest = ?, amount_out = ?, digest = ? "
                 "WHERE id = 1", (out_blob, forged.to_json(), forged.digest(), str(fields["amount_out"]), digest))
    with pytest.raises(ReplayMismatch) as e:
        dex.replay(1)
    assert e.value.problems == (f"the replay's output hashes to {receipt.output_sha256}, "
                                f"recorded {forged.output_sha256}",)


def test_the_dex_persists_in_its_file(tmp_path, registry):
    path = tmp_path / "dex.sqlite"
    with ExtensibleDex(path, owner=OWNER) as dex:
        setup_dex(dex)
        dex.deposit("alice", "DAI", 10 * E18)
        rec = dex.swap_with_plugin("alice", "curve", "3pool", "DAI", "USDC", 10 * E18)
        books = state(dex)
    assert (tmp_path / "registry.sqlite").exists()
    with ExtensibleDex(path) as dex:
        assert state(dex) == books and dex.owner == OWNER
        assert dex.replay(rec.swap_id).gas_used == rec.gas_used
    with pytest.raises(DexError, match="owned by"):
        ExtensibleDex(path, owner="someone.else")
    with pytest.raises(DexError, match="needs an owner"):
        ExtensibleDex(tmp_path / "other.sqlite")
    sqlite3.connect(tmp_path / "stray.sqlite").execute("CREATE TABLE t (x)")
    with pytest.raises(DexError, match="not a plugin-host DEX"):
        ExtensibleDex(tmp_path / "stray.sqlite", owner=OWNER)


def test_stats_sum_up_swaps_gas_and_royalties(dex):
    dex.deposit("alice", "DAI", 100 * E18)
    a = dex.swap_with_plugin("alice", "curve", "3pool", "DAI", "USDC", 10 * E18)
    b = dex.swap_with_plugin("alice", "curve", "3pool", "DAI", "USDT", 10 * E18)
    with pytest.raises(ValidationFailed):
        dex.swap_with_plugin("alice", "curve", "3pool", "DAI", "USDT", 10 * E18, min_amount_out=11 * 10**6)
    curve = next(s for s in dex.stats() if s.plugin_id == "curve")
    assert (curve.swaps, curve.rejections, curve.gas_used) == (2, 1, a.gas_used + b.gas_used)
    assert curve.royalties == {"USDC": a.royalty, "USDT": b.royalty}


def test_a_royalty_the_pool_cannot_cover_is_refused(registry):
    """A conserving answer whose fee leaves almost nothing in the pool: the author's royalty,
    paid by the pool, would take it below zero, so the DEX refuses to settle."""
    source = ('export const metadata = {name: "admin-heavy", version: "1.0.0", author: "a.near", license: "MIT", '
              'description: "pays out 90% and sends the rest out as admin fee", kind: "amm"};\n'
              "export function calculateSwap({ tokenIn, tokenOut, amountIn, poolState }) {\n"
              "  const b = poolState.balances.slice(), j = poolState.tokens.indexOf(tokenOut);\n"
              "  const out = b[j] * 9n / 10n, fee = b[j] / 10n;\n"
              "  b[poolState.tokens.indexOf(tokenIn)] += amountIn; b[j] -= out + fee - 1n;\n"
              "  return { amountOut: out, feeAmount: fee, adminFeeAmount: fee - 1n, newBalances: b, priceImpact: 0 };\n"
              "}\n")
    validator = default_rules(max_price_impact=1.0)
    with ExtensibleDex(":memory:", owner=OWNER, registry=registry, validator=validator) as dex:
        pool_of(dex, "ab", "heavy", source, ["A", "B"], "admin-fee-leaves", {}, "balances", [1000, 1000])
        dex.deposit("bob", "A", 10)
        before = state(dex)
        with pytest.raises(ValidationFailed) as e:
            dex.swap_with_plugin("bob", "heavy", "ab", "A", "B", 10)
        assert e.value.rule == "royalty covered" and e.value.values == {"royalty": 10, "newBalances[B]": 1}
        assert state(dex) == before and dex.rejections()[0].rule == "royalty covered"
