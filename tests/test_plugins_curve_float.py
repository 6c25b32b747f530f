"""plugins/examples/curve-stable-swap-float.js: a Number (double) StableSwap quote runs in the realm,
deterministically on both engines, close to the exact BigInt plugin but not equal to it."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from plugin_support import Both, check_metadata

SPEC_POOL = {"tokens": ["DAI", "USDC", "USDT"], "balances": [10**24] * 3, "decimals": [18, 18, 18],
             "A": 100, "fee": 4000000, "adminFee": 5000000000}
EXACT_OUT = 999590103058584712249  # the spec's public example, exact


@pytest.fixture(scope="module")
def flt():
    return Both("examples/curve-stable-swap-float.js")


@pytest.fixture(scope="module")
def exact():
    return Both("curve-stable-swap.js")


def swap(ps, i, j, dx):
    return {"tokenIn": ps["tokens"][i], "tokenOut": ps["tokens"][j], "amountIn": dx, "poolState": ps}


def test_metadata_says_approximate(flt):
    meta = flt.metadata
    check_metadata(meta, flt.source, contract="StableSwap3Pool.vy")
    assert meta["approximate"] is True
    assert "APPROXIMATE" in meta["description"]


def test_numbers_work_but_are_not_exact(flt):
    out = flt.call("calculateSwap", swap(SPEC_POOL, 0, 1, 1000 * 10**18))
    assert all(type(out[k]) is float for k in ("amountOut", "feeAmount", "adminFeeAmount", "priceImpact"))
    assert out["amountOut"] == pytest.approx(EXACT_OUT, rel=1e-12)
    # ...and yet not the contract's number: 1e21 is past 2^53, doubles cannot hold it to the wei
    assert int(out["amountOut"]) != EXACT_OUT
    assert out["feeAmount"] == pytest.approx(399996039639289600, rel=1e-12)
    assert out["newBalances"][1] == pytest.approx(999000209898921595642951, rel=1e-15)


def test_small_trade_in_a_deep_pool_loses_digits(flt, exact):
    # 50 units of a 6-decimals coin into 500 tokens a side: dy = xp[j] - y subtracts two numbers
    # near 5e20 to get 5e13, and the double's ~6e4 resolution at 5e20 shows up in the answer
    ps = {"tokens": ["U", "D"], "balances": [500 * 10**6, 500 * 10**18], "decimals": [6, 18],
          "A": 1, "fee": 0, "adminFee": 0}
    want = exact.call("calculateSwap", swap(ps, 0, 1, 50))["amountOut"]
    got = flt.call("calculateSwap", swap(ps, 0, 1, 50))["amountOut"]
    assert want == 49999997500000
    assert abs(got - want) > 10_000


def test_mixed_decimals(flt):
    ps = dict(SPEC_POOL, decimals=[18, 6, 6], balances=[10**24, 10**12, 10**12])
    out = flt.call("calculateSwap", swap(ps, 0, 1, 1000 * 10**18))
    assert out["amountOut"] == pytest.approx(999590103, rel=1e-9)


@st.composite
def balanced_trades(draw):
    n = draw(st.integers(2, 8))
    decimals = [draw(st.sampled_from([6, 8, 18])) for _ in range(n)]
    size = draw(st.integers(3, 12))
    balances = [10 ** size * 10**d * draw(st.integers(50, 200)) // 100 for d in decimals]
    ps = {"tokens": [f"T{k}" for k in range(n)], "balances": balances, "decimals": decimals,
          "A": draw(st.integers(1, 5000)), "fee": draw(st.integers(0, 10**8)), "adminFee": 5 * 10**9}
    i, j = draw(st.permutations(range(n)))[:2]
    dx = balances[i] * draw(st.integers(1, 10**6)) // 10**7
    return ps, i, j, dx


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(balanced_trades())
def test_close_to_the_exact_plugin_on_ordinary_pools(flt, exact, trade):
    ps, i, j, dx = trade
    want = exact.call("calculateSwap", swap(ps, i, j, dx))
    got = flt.call("calculateSwap", swap(ps, i, j, dx))  # Both: bit-identical floats on both engines
    # dy = xp[j] - y cancels: a double carries xp[j] to ~1e-16 of itself, not to the wei
    assert got["amountOut"] == pytest.approx(want["amountOut"], rel=1e-9, abs=ps["balances"][j] * 1e-13 + 4)
    if want["amountOut"] > 10**9:  # on dust trades the exact quote's rounding dominates the impact
        assert got["priceImpact"] == pytest.approx(want["priceImpact"], abs=1e-6)
