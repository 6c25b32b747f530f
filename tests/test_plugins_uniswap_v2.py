"""plugins/uniswap-v2.js: against UniswapV2Router02's bytecode run in an EVM (tests/vectors/
uniswap_v2.json), v2-core's published swapTestCases and the spec, on both engines; invariants."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from plugin_support import Both, Reverted, call_one, check_metadata, load_vectors

PLUGIN = "uniswap-v2.js"
MAX_UINT112 = 2**112 - 1
E18 = 10**18
HYPO = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])

# Uniswap/v2-core test/UniswapV2Pair.spec.ts, swapTestCases: [swapAmount, reserve0, reserve1] in
# units of 1e18, and the expected output (the pair accepts it and reverts 'UniswapV2: K' for +1)
V2_CORE_SWAP_TEST_CASES = [
    (1, 5, 10, 1662497915624478906),
    (1, 10, 5, 453305446940074565),
    (2, 5, 10, 2851015155847869602),
    (2, 10, 5, 831248957812239453),
    (1, 10, 10, 906610893880149131),
    (1, 100, 100, 987158034397061298),
    (1, 1000, 1000, 996006981039903216),
]


@pytest.fixture(scope="module")
def uni():
    return Both(PLUGIN)


@pytest.fixture(scope="module")
def vectors():
    return load_vectors("uniswap_v2.json")


def pool(r0, r1, fee_bps=30):
    return {"tokens": ["A", "B"], "reserves": [r0, r1], "feeBps": fee_bps}


def k_check_passes(r_in, r_out, amount_in, amount_out, fee_bps):
    """UniswapV2Pair.swap's check, generalised to fee_bps (30 bps: 1000 and 3)."""
    bal_in, bal_out = r_in + amount_in, r_out - amount_out
    adjusted_in = bal_in * 10000 - amount_in * fee_bps
    return adjusted_in * (bal_out * 10000) >= r_in * r_out * 10000**2


def test_metadata(uni):
    check_metadata(uni.metadata, uni.source, contract="UniswapV2Library.sol")
    assert set(uni["wasmer"].exports) >= {"getAmountOut", "getAmountIn", "calculateSwap", "calculateSwapExactOut"}


def test_spec_examples(uni):
    ps = pool(10**24, 10**24)
    out = uni.call("calculateSwap", {"tokenIn": "A", "tokenOut": "B", "amountIn": 1000 * E18, "poolState": ps})
    assert out["amountOut"] == 996006981039903216493
    assert out["feeAmount"] == 3 * E18
    assert out["newBalances"] == [10**24 + 1000 * E18, 10**24 - 996006981039903216493]
    back = uni.call("calculateSwapExactOut", {"tokenIn": "A", "tokenOut": "B", "amountOut": 1000 * E18, "poolState": ps})
    assert back["amountIn"] == 1004013040121365096290
    assert uni.call("getAmountOut", {"amountIn": 2, "reserveIn": 100, "reserveOut": 100, "feeBps": 30}) == 1
    assert uni.call("getAmountIn", {"amountOut": 1, "reserveIn": 100, "reserveOut": 100, "feeBps": 30}) == 2
    # feeBps defaults to 30
    assert uni.call("getAmountOut", {"amountIn": 2, "reserveIn": 100, "reserveOut": 100}) == 1


@pytest.mark.parametrize("swap, r0, r1, expected", V2_CORE_SWAP_TEST_CASES)
def test_v2_core_swap_test_cases(uni, swap, r0, r1, expected):
    ps = pool(r0 * E18, r1 * E18)
    out = uni.call("calculateSwap", {"tokenIn": "A", "tokenOut": "B", "amountIn": swap * E18, "poolState": ps})
    assert out["amountOut"] == expected
    assert k_check_passes(r0 * E18, r1 * E18, swap * E18, expected, 30)
    assert not k_check_passes(r0 * E18, r1 * E18, swap * E18, expected + 1, 30)


def plugin_reason(evm_revert: str) -> str:
    """The contract's revert reason as the plugin reports it."""
    if evm_revert == "":  # Solidity 0.6 division by zero: the invalid opcode, no reason
        return "division by zero"
    return evm_revert.removeprefix("UniswapV2Library: ")


def test_matches_evm_and_degenbot_vectors(uni, vectors, engine):
    realm = uni[engine]
    assert len(vectors["cases"]) >= 500
    bad = []
    for case in vectors["cases"]:
        fn, a, r_in, r_out, fee = case["fn"], case["amount"], case["reserveIn"], case["reserveOut"], case["feeBps"]
        arg = "amountIn" if fn == "getAmountOut" else "amountOut"
        got = call_one(realm, fn, {arg: a, "reserveIn": r_in, "reserveOut": r_out, "feeBps": fee})
        exp = case["expect"]
        want = ("throw", plugin_reason(exp["revert"])) if "revert" in exp else ("ok", exp["value"])
        if got != want:
            bad.append(f"{case['name']}: {fn} got {got}, {case['reference']} says {want}")
            continue
        if "value" not in exp or max(r_in, r_out) > MAX_UINT112:
            continue
        # the swap quote agrees with the library, plus the pair's own checks
        ps = pool(r_in, r_out, fee)
        if fn == "getAmountOut":
            got = call_one(realm, "calculateSwap", {"tokenIn": "A", "tokenOut": "B", "amountIn": a, "poolState": ps})
            if exp["value"] == 0:
                ok = got == ("throw", "INSUFFICIENT_OUTPUT_AMOUNT")
            elif r_in + a > MAX_UINT112:
                ok = got == ("throw", "OVERFLOW")
            else:
                ok = got[0] == "ok" and got[1]["amountOut"] == exp["value"] and got[1]["amountIn"] == a
        else:
            got = call_one(realm, "calculateSwapExactOut", {"tokenIn": "A", "tokenOut": "B", "amountOut": a, "poolState": ps})
            if r_in + exp["value"] > MAX_UINT112:
                ok = got == ("throw", "OVERFLOW")
            else:
                ok = got[0] == "ok" and got[1]["amountIn"] == exp["value"] and got[1]["amountOut"] == a
        if not ok:
            bad.append(f"{case['name']}: swap quote {got} for {exp}")
    assert not bad, f"{len(bad)} mismatches, first: {bad[:5]}"


@pytest.mark.parametrize("data, message", [
    ({"tokenIn": "A", "tokenOut": "A"}, "IDENTICAL_ADDRESSES"),
    ({"tokenIn": "C"}, "UNKNOWN_TOKEN"),
    ({"amountIn": 0}, "INSUFFICIENT_INPUT_AMOUNT"),
    ({"amountIn": 1}, "INSUFFICIENT_OUTPUT_AMOUNT"),  # 1 * 997 * 1e24 // (1e27 + 997) == 0
    ({"poolState": pool(0, 10**24)}, "INSUFFICIENT_LIQUIDITY"),
    ({"poolState": pool(10**24, 10**24, 10000)}, "INVALID_INPUT"),
    ({"poolState": pool(2**112, 10**24)}, "INVALID_INPUT"),
    ({"amountIn": MAX_UINT112}, "OVERFLOW"),  # the new reserve no longer fits in uint112
])
def test_reverts(uni, data, message):
    base = {"tokenIn": "A", "tokenOut": "B", "amountIn": 1000 * E18, "poolState": pool(10**24, 10**24)}
    with pytest.raises(Reverted) as info:
        uni.call("calculateSwap", dict(base, **data))
    assert info.value.message.startswith(message)


# ---- invariants (hypothesis) --------------------------------------------------------------------

reserves = st.one_of(st.integers(1, 10**30), st.integers(0, 30).map(lambda e: 10**e), st.integers(1, 1000))
fees = st.one_of(st.integers(0, 100), st.sampled_from([0, 30]))


@st.composite
def trades(draw):
    r_in, r_out, fee = draw(reserves), draw(reserves), draw(fees)
    amount_in = draw(st.one_of(st.integers(1, 10**30), st.integers(1, max(1, r_in)), st.integers(1, 1000)))
    return r_in, r_out, fee, amount_in


def swap_or_none(uni, r_in, r_out, fee, amount_in):
    try:
        return uni.call("calculateSwap", {"tokenIn": "B", "tokenOut": "A", "amountIn": amount_in,
                                          "poolState": pool(r_out, r_in, fee)})
    except Reverted as e:
        assert e.message in ("INSUFFICIENT_OUTPUT_AMOUNT", "OVERFLOW"), e.message
        return None


@HYPO
@given(trades())
def test_invariant_below_reserve_and_k(uni, trade):
    r_in, r_out, fee, amount_in = trade
    out = swap_or_none(uni, r_in, r_out, fee, amount_in)
    if out is None:
        return
    dy = out["amountOut"]
    assert 0 < dy < r_out
    assert out["newBalances"] == [r_out - dy, r_in + amount_in]  # tokens [A, B], B in
    assert (r_in + amount_in) * (r_out - dy) >= r_in * r_out  # x * y never decreases
    assert k_check_passes(r_in, r_out, amount_in, dy, fee)  # the pair accepts the swap
    assert not k_check_passes(r_in, r_out, amount_in, dy + 1, fee)  # and no more
    assert out["feeAmount"] == amount_in * fee // 10000
    assert 0.0 <= out["priceImpact"] <= 1.0


@HYPO
@given(trades(), st.integers(1, 10**30))
def test_invariant_monotone_in_amount_in(uni, trade, more):
    r_in, r_out, fee, amount_in = trade
    a = uni.call("getAmountOut", {"amountIn": amount_in, "reserveIn": r_in, "reserveOut": r_out, "feeBps": fee})
    b = uni.call("getAmountOut", {"amountIn": amount_in + more, "reserveIn": r_in, "reserveOut": r_out, "feeBps": fee})
    assert b >= a


@HYPO
@given(trades())
def test_invariant_round_trip_never_gains(uni, trade):
    r_in, r_out, fee, amount_in = trade
    there = swap_or_none(uni, r_in, r_out, fee, amount_in)
    if there is None:
        return
    new_a, new_b = there["newBalances"]
    try:
        back = uni.call("calculateSwap", {"tokenIn": "A", "tokenOut": "B", "amountIn": there["amountOut"],
                                          "poolState": pool(new_a, new_b, fee)})
    except Reverted as e:
        assert e.message == "INSUFFICIENT_OUTPUT_AMOUNT"
        return
    assert back["amountOut"] <= amount_in


@HYPO
@given(trades())
def test_invariant_exact_out_buys_what_it_says(uni, trade):
    r_in, r_out, fee, amount_in = trade
    want = max(1, min(amount_in, r_out - 1)) if r_out > 1 else None
    if want is None:
        return
    try:
        out = uni.call("calculateSwapExactOut", {"tokenIn": "B", "tokenOut": "A", "amountOut": want,
                                                 "poolState": pool(r_out, r_in, fee)})
    except Reverted as e:
        assert e.message == "OVERFLOW"
        return
    assert out["amountOut"] == want
    assert k_check_passes(r_in, r_out, out["amountIn"], want, fee)
    got = uni.call("getAmountOut", {"amountIn": out["amountIn"], "reserveIn": r_in, "reserveOut": r_out, "feeBps": fee})
    assert got >= want
