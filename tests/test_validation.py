"""plugin_host.validation: the output schema, the named rules, the Validator, fee treatments."""

import pytest
from dex_support import CURVE, SOLIDLY, UNIV2
from hypothesis import given, settings
from hypothesis import strategies as st

from plugin_host import (
    ConfigurationError,
    FeeTreatment,
    FrozenRealm,
    InvalidOutput,
    PluginException,
    Rule,
    SwapQuote,
    SwapRequest,
    ValidationFailed,
    Validator,
    default_rules,
    parse_output,
)
from plugin_host.validation import conservation, fee_bound, price_impact_below, slippage

E18 = 10**18


@pytest.fixture(scope="module")
def realms():
    return {"curve": FrozenRealm(CURVE), "univ2": FrozenRealm(UNIV2), "solidly": FrozenRealm(SOLIDLY)}


CASES = {
    # plugin: (poolState, fee treatment, balances key)
    "curve": ({"tokens": ["DAI", "USDC", "USDT"], "decimals": [18, 6, 6], "A": 100, "fee": 4_000_000,
               "adminFee": 5_000_000_000}, FeeTreatment.ADMIN_FEE_LEAVES, "balances"),
    "univ2": ({"tokens": ["DAI", "USDC"], "feeBps": 30}, FeeTreatment.KEPT, "reserves"),
    "solidly": ({"tokens": ["DAI", "USDC"], "decimals": [18, 6], "stable": True, "feeBps": 5},
                FeeTreatment.FEE_LEAVES, "reserves"),
}


def ask(realms, plugin, balances, amount_in, token_in="DAI", token_out="USDC", min_out=0):
    state, treatment, key = CASES[plugin]
    tokens = state["tokens"]
    raw = realms[plugin].call("calculateSwap", {"tokenIn": token_in, "tokenOut": token_out, "amountIn": amount_in,
                                                "poolState": {**state, key: balances}}).output
    req = SwapRequest(tokens=tuple(tokens), balances=tuple(balances), token_in=token_in, token_out=token_out,
                      amount_in=amount_in, min_amount_out=min_out, fee_treatment=treatment)
    return req, parse_output(raw)


def test_parse_output_is_strict_about_shape_and_types():
    good = {"amountOut": 5, "feeAmount": 1, "newBalances": [10, 20], "priceImpact": 0, "extra": "kept out"}
    q = parse_output(good)
    assert q == SwapQuote(amount_out=5, fee_amount=1, new_balances=(10, 20), price_impact=0.0)
    for bad, where in [({**good, "amountOut": 5.0}, "amountOut"), ({**good, "amountOut": True}, "amountOut"),
                       ({**good, "newBalances": "10,20"}, "newBalances"), ({**good, "priceImpact": "0"}, "priceImpact"),
                       ({k: v for k, v in good.items() if k != "feeAmount"}, "feeAmount"), ("junk", "object"),
                       (None, "object"), ([1, 2], "object")]:
        with pytest.raises(InvalidOutput) as e:
            parse_output(bad)
        assert where in str(e.value)


def test_the_real_plugins_answers_pass_every_default_rule(realms):
    for plugin in CASES:
        n = len(CASES[plugin][0]["tokens"])
        bal = [10**6 * E18] + [10**6 * 10**6] * (n - 1)
        req, q = ask(realms, plugin, bal, 1000 * E18)
        default_rules().validate(req, q)
        assert default_rules().failures(req, q) == []


def test_curve_public_example_and_its_conservation(realms):
    req, q = ask(realms, "curve", [10**24, 10**12, 10**12], 1000 * E18)
    assert (q.amount_out, q.admin_fee_amount) == (999590103, 199998)
    assert FeeTreatment.ADMIN_FEE_LEAVES.expected_balances(req, q) == q.new_balances == (
        1001000 * E18, 999000209899, 10**12)
    # the same answer read as if the admin fee stayed in the pool does not conserve
    wrong = SwapRequest(**{**{f: getattr(req, f) for f in req.__struct_fields__}, "fee_treatment": FeeTreatment.KEPT})
    with pytest.raises(ValidationFailed) as e:
        default_rules().validate(wrong, q)
    assert e.value.rule == "conservation"
    assert e.value.values["expected[USDC]"] == 999000209899 + 199998


def test_solidly_fee_leaves_from_the_input_side(realms):
    req, q = ask(realms, "solidly", [10**24, 10**12], 1000 * E18)
    assert q.new_balances[0] == 10**24 + 1000 * E18 - q.fee_amount
    assert FeeTreatment.FEE_LEAVES.leaving(q) == q.fee_amount and FeeTreatment.FEE_LEAVES.fee_side == "in"
    assert conservation().check(req, q)


@settings(max_examples=60, deadline=None)
@given(plugin=st.sampled_from(sorted(CASES)), b0=st.integers(10**3, 10**9), b1=st.integers(10**3, 10**9),
       frac=st.integers(1, 10_000), delta=st.integers(-3, 3).filter(bool), k=st.integers(0, 1))
def test_conservation_accepts_the_plugins_and_catches_any_wei_off(realms, plugin, b0, b1, frac, delta, k):
    """Property: every answer the real plugins give conserves balances under their pool's fee
    treatment; moving any wei of newBalances breaks exactly the conservation rule."""
    n = len(CASES[plugin][0]["tokens"])
    bal = [b0 * E18] + [b1 * 10**6] * (n - 1)
    try:
        req, q = ask(realms, plugin, bal, max(1, bal[0] * frac // 100_000))
    except PluginException:  # the contract would revert (e.g. Solidly's K check): nothing to validate
        return
    rule = conservation()
    assert rule.failure(req, q) is None
    nb = list(q.new_balances)
    nb[k] += delta
    tampered = SwapQuote(amount_out=q.amount_out, fee_amount=q.fee_amount, new_balances=tuple(nb),
                         price_impact=q.price_impact, admin_fee_amount=q.admin_fee_amount)
    failed = rule.failure(req, tampered)
    assert failed is not None and failed.rule == "conservation"
    assert f"newBalances[{req.tokens[k]}]" in failed.values


def _req(**kw):
    base = dict(tokens=("A", "B"), balances=(1000, 1000), token_in="A", token_out="B", amount_in=100)
    return SwapRequest(**{**base, **kw})


def _q(out=90, fee=3, nb=(1100, 910), pi=0.01, admin=0):
    return SwapQuote(amount_out=out, fee_amount=fee, new_balances=nb, price_impact=pi, admin_fee_amount=admin)


@pytest.mark.parametrize("quote, rule", [
    (_q(nb=(1100,)), "one balance per coin"),
    (_q(out=-1, nb=(1100, 1001)), "no negative amounts"),
    (_q(nb=(1100, -5), out=1005), "no negative amounts"),
    (_q(out=0, nb=(1100, 1000)), "amountOut > 0"),
    (_q(out=1000, nb=(1100, 0)), "amountOut < balance out"),
    (_q(nb=(1000, 910)), "conservation"),
    (_q(nb=(1100, 911)), "conservation"),
    (_q(fee=11), "fee bound"),
    (_q(fee=3, admin=4), "fee bound"),
    (_q(pi=0.05), "priceImpact < max"),
    (_q(pi=-0.1), "priceImpact < max"),
])
def test_each_default_rule_names_itself_and_its_values(quote, rule):
    with pytest.raises(ValidationFailed) as e:
        default_rules().validate(_req(), quote)
    assert e.value.rule == rule and rule in str(e.value) and e.value.values


def test_slippage_is_the_traders_bound():
    default_rules().validate(_req(min_amount_out=90), _q())
    with pytest.raises(ValidationFailed) as e:
        default_rules().validate(_req(min_amount_out=91), _q())
    assert e.value.rule == "slippage" and e.value.values == {"amountOut": 90, "minAmountOut": 91}


def test_user_rules_in_a_line_and_composition():
    v = default_rules()
    v.add("at most 5% of the pool", lambda req, q: q.amount_out * 20 <= req.balances[req.j])
    with pytest.raises(ValidationFailed) as e:
        v.validate(_req(), _q())
    assert e.value.rule == "at most 5% of the pool" and e.value.values["amountOut"] == 90
    with pytest.raises(ConfigurationError):
        v.add("at most 5% of the pool", lambda req, q: True)
    v.add("at most 5% of the pool", lambda req, q: True, replace=True)
    v.validate(_req(), _q())
    assert v.names.index("at most 5% of the pool") == len(v) - 1
    v.remove("priceImpact < max")
    v.validate(_req(), _q(pi=0.9))
    assert "priceImpact < max" not in v and len(v) == 8
    both = Validator([slippage()]) + [price_impact_below(0.02)]
    assert both.names == ("slippage", "priceImpact < max")
    with pytest.raises(ConfigurationError):
        Validator([slippage()]) + [slippage()]
    with pytest.raises(ConfigurationError):
        v.remove("nope")
    with pytest.raises(ConfigurationError):
        v.add("no check")
    with pytest.raises(ConfigurationError):
        fee_bound(20_000)
    with pytest.raises(ConfigurationError):
        price_impact_below(0)


def test_a_rule_that_crashes_rejects_the_answer():
    v = Validator([Rule("indexes blindly", lambda req, q: q.new_balances[5] > 0)])
    with pytest.raises(ValidationFailed) as e:
        v.validate(_req(), _q())
    assert e.value.rule == "indexes blindly" and "IndexError" in e.value.values["error"]


def test_failures_lists_every_broken_rule():
    rules = [f.rule for f in default_rules().failures(_req(min_amount_out=10**6), _q(out=0, nb=(1000, 1000), pi=0.5))]
    assert rules == ["amountOut > 0", "conservation", "priceImpact < max", "slippage"]


def test_a_request_normalises_what_it_is_given():
    req = SwapRequest(tokens=["A", "B"], balances=[1000, 1000], token_in="A", token_out="B", amount_in=100,
                      fee_treatment="fee-leaves")
    assert req.tokens == ("A", "B") and req.balances == (1000, 1000) and req.fee_treatment is FeeTreatment.FEE_LEAVES
    assert (req.i, req.j) == (0, 1)
    with pytest.raises(ConfigurationError, match="fee_treatment"):
        SwapRequest(tokens=("A", "B"), balances=(1, 1), token_in="A", token_out="B", amount_in=1,
                    fee_treatment="burnt")
