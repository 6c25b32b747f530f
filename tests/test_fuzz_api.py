"""plugin_host.fuzz: strategies, properties, targets, fuzz.run and its reports, and the
pytest-style use with @given."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Literal, Optional

import msgspec
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.errors import InvalidArgument

from plugin_host import GuestFault, OutOfGas, PluginException, _realm, fuzz
from plugin_host.validation import default_rules

ROOT = Path(__file__).resolve().parent.parent
UNISWAP = ROOT / "plugins" / "uniswap-v2.js"
BUGS = ROOT / "tests" / "fuzz_plugins"
FEW = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow], database=None)


@pytest.fixture(autouse=True)
def fast_restore(monkeypatch):
    # see test_fuzz_bugs.py: whole-snapshot restore checks make every call ~10x slower
    monkeypatch.setattr(_realm, "_VERIFY_RESTORE", False)


@pytest.fixture(scope="module")
def uni():
    return fuzz.PluginTarget.load(UNISWAP, "calculateSwap", gas_limit=2_000_000)


# ---- strategies ---------------------------------------------------------------------------------

SHAPES = {"curve": {"tokens", "balances", "decimals", "A", "fee", "adminFee"},
          "constant-product": {"tokens", "reserves", "feeBps"},
          "solidly": {"tokens", "reserves", "decimals", "stable", "feeBps"}}


@pytest.mark.parametrize("kind", fuzz.KINDS)
@FEW
@given(data=st.data())
def test_pool_states_have_the_spec_shapes(kind, data):
    ps = data.draw(fuzz.pool_states(kind))
    assert set(ps) == SHAPES[kind]
    key = "balances" if kind == "curve" else "reserves"
    assert len(ps["tokens"]) == len(ps[key]) == len(set(ps["tokens"]))
    assert all(type(b) is int and b > 0 for b in ps[key])
    if kind == "constant-product":
        assert max(ps["reserves"]) < 2**112
    else:
        assert len(ps["decimals"]) == len(ps["tokens"])
    if kind == "curve":
        assert 2 <= len(ps["tokens"]) <= 8 and ps["A"] >= 1 and 0 <= ps["fee"] <= 10**10


@FEW
@given(fuzz.pool_states("curve", coins=(3, 4), decimals=[6], A=100, fee=st.just(0)))
def test_pool_state_options_and_pinned_fields(ps):
    assert len(ps["tokens"]) in (3, 4) and set(ps["decimals"]) == {6}
    assert ps["A"] == 100 and ps["fee"] == 0
    assert all(b >= 10**3 for b in ps["balances"])  # no dust: at least 1e-3 of a token (6 decimals)


def test_pool_state_arguments_are_checked():
    with pytest.raises(InvalidArgument):
        fuzz.pool_states("balancer")
    with pytest.raises(InvalidArgument):
        fuzz.pool_states("solidly", coins=3)
    with pytest.raises(InvalidArgument):
        fuzz.pool_states("curve", coins=(1, 9))
    assert fuzz.pool_states("uniswap-v2") is not None  # an alias of constant-product


@FEW
@given(fuzz.swap_requests(fuzz.pool_states("curve")))
def test_swap_requests_trade_two_different_coins_of_the_pool(req):
    tokens = req["poolState"]["tokens"]
    assert req["tokenIn"] in tokens and req["tokenOut"] in tokens and req["tokenIn"] != req["tokenOut"]
    assert type(req["amountIn"]) is int and req["amountIn"] >= 0


@FEW
@given(fuzz.swap_requests({"tokens": ["X", "Y"], "reserves": [10, 20], "feeBps": 30}, amount=st.just(5)))
def test_swap_requests_on_a_fixed_pool_and_amount(req):
    assert req["amountIn"] == 5 and req["poolState"]["reserves"] == [10, 20]


def test_amounts_cover_every_magnitude():
    seen = set()

    @settings(max_examples=300, database=None)
    @given(fuzz.amounts(30))
    def collect(x):
        assert 1 <= x < 10**30
        seen.add(len(str(x)))

    collect()
    assert len(seen) >= 25  # log-uniform: hypothesis's integers() would stay below ~20 digits


class GetAmountOut(msgspec.Struct, rename="camel"):
    amount_in: Annotated[int, msgspec.Meta(ge=1, lt=2**100)]
    reserve_in: Annotated[int, msgspec.Meta(ge=1, lt=2**100)]
    reserve_out: Annotated[int, msgspec.Meta(ge=1, lt=2**100)]
    fee_bps: Annotated[int, msgspec.Meta(ge=0, le=100)] = 30


class Nested(msgspec.Struct):
    side: Literal["buy", "sell"]
    memo: Optional[Annotated[str, msgspec.Meta(max_length=5)]]
    legs: Annotated[list[GetAmountOut], msgspec.Meta(max_length=2)]
    weights: dict[str, Annotated[float, msgspec.Meta(ge=0, le=1)]]
    step: Annotated[int, msgspec.Meta(ge=0, le=100, multiple_of=5)]


@FEW
@given(fuzz.from_struct(Nested))
def test_from_struct_follows_types_and_constraints(v):
    assert v.side in ("buy", "sell") and (v.memo is None or len(v.memo) <= 5)
    assert len(v.legs) <= 2 and all(1 <= leg.amount_in < 2**100 and 0 <= leg.fee_bps <= 100 for leg in v.legs)
    assert all(0 <= w <= 1 for w in v.weights.values())
    assert v.step % 5 == 0 and 0 <= v.step <= 100


def test_from_struct_rejects_what_cannot_cross():
    class HasBytes(msgspec.Struct):
        blob: bytes

    with pytest.raises(InvalidArgument):
        fuzz.from_struct(HasBytes)
    with pytest.raises(InvalidArgument):
        fuzz.from_struct(GetAmountOut, nope=1)


def test_from_struct_inputs_cross_into_the_realm_under_their_encoded_names():
    target = fuzz.PluginTarget.load(UNISWAP, "getAmountOut")

    def reference(q: GetAmountOut) -> int:
        a = q.amount_in * (10000 - q.fee_bps)
        return a * q.reserve_out // (q.reserve_in * 10000 + a)

    report = fuzz.run(target, fuzz.from_struct(GetAmountOut), [
        fuzz.totality(), fuzz.agrees_with(reference), fuzz.monotonic("amount_in", None),
        fuzz.monotonic("reserve_in", None, decreasing=True, name="monotonic in reserveIn")], examples=300, seed=1)
    assert report.ok, report.summary()
    assert report.properties[1].checked > 200


# ---- properties on Python targets ---------------------------------------------------------------

def outcome_of(fn, data=1):
    target = fuzz.CallableTarget(lambda: fn)
    return target, target.call(data)


def violation(prop, fn, data=1) -> str:
    target, outcome = outcome_of(fn, data)
    with pytest.raises(fuzz.PropertyFailed) as info:
        fuzz._properties.check_all(target, data, outcome, [prop])
    return info.value.reason


def raise_(e):
    def f(_):
        raise e
    return f


def test_totality():
    assert "untyped exception" in violation(fuzz.totality(), raise_(TypeError("boom")))
    assert "does not allow" in violation(fuzz.totality(), raise_(GuestFault("trap")))
    target, outcome = outcome_of(raise_(PluginException("Error: no", js_message="no")))
    assert fuzz.totality().check(target, 1, outcome)
    assert "does not allow" in violation(fuzz.totality(allowed=(PluginException,)), raise_(OutOfGas("x", gas_limit=1)))


def test_gas_bound():
    assert "ran out of gas" in violation(fuzz.gas_bound(10), raise_(OutOfGas("x", gas_limit=10)))
    target, outcome = outcome_of(lambda x: x)
    assert fuzz.gas_bound(0).check(target, 1, outcome)


def test_monotonic_and_decreasing():
    assert "gives" in violation(fuzz.monotonic("a", "b"), lambda d: {"b": -d["a"]}, {"a": 5})
    target, outcome = outcome_of(lambda d: {"b": -d["a"]}, {"a": 5})
    assert fuzz.monotonic("a", "b", decreasing=True).check(target, {"a": 5}, outcome)
    target, outcome = outcome_of(raise_(PluginException("x")), {"a": 5})
    assert not fuzz.monotonic("a", "b").check(target, {"a": 5}, outcome)  # does not apply to a revert


def test_agrees_with():
    assert "reference says 2" in violation(fuzz.agrees_with(lambda d: 2), lambda d: 1)
    assert "the reference fails" in violation(fuzz.agrees_with(raise_(ValueError("revert"))), lambda d: 1)
    assert "the plugin failed" in violation(fuzz.agrees_with(lambda d: 1), raise_(PluginException("x")))
    target, outcome = outcome_of(lambda d: 1.0)
    assert fuzz.agrees_with(lambda d: 1.05, compare=lambda a, b: abs(a - b) < 0.1).check(target, 1, outcome)


def test_validated_by_any_rule_set():
    def positive(data, out):
        return out > 0

    class Hooks:
        def validate(self, data, out):
            if out > 100:
                raise ValueError("too big")

    assert "rule 'positive' rejects" in violation(fuzz.validated_by(positive), lambda d: -1)
    assert "too big" in violation(fuzz.validated_by(Hooks()), lambda d: 101)
    assert "rule 'dust'" in violation(fuzz.validated_by({"dust": lambda d, o: o >= 10}), lambda d: 5)
    target, outcome = outcome_of(lambda d: 50)
    assert fuzz.validated_by(positive, Hooks()).check(target, 1, outcome)


def test_dex_validation_uses_the_protocols_rules(uni):
    swaps = fuzz.swap_requests(fuzz.pool_states("constant-product"))
    report = fuzz.run(uni, swaps, [fuzz.dex_validation()], examples=200, seed=2)
    assert report.ok and report.properties[0].checked > 100, report.summary()
    # a protocol's own, stricter validator: big trades move the price more than 5 %
    strict = fuzz.run(uni, swaps, [fuzz.dex_validation(default_rules(max_price_impact=0.05))], examples=500, seed=2)
    assert not strict.ok and "priceImpact" in strict.failure.reason


def test_custom_properties_plain_asserts_and_prop():
    def price_impact_in_range(target, data, outcome):
        assert outcome.output["priceImpact"] <= 0.5, "price impact over 50 %"

    assert "over 50 %" in violation(price_impact_in_range, lambda d: {"priceImpact": 0.9})

    @fuzz.prop("named")
    def named(target, data, outcome):
        assert False

    target, outcome = outcome_of(lambda d: 1)
    with pytest.raises(fuzz.PropertyFailed, match="property 'named' failed"):
        target.check(1, named)


# ---- pytest style --------------------------------------------------------------------------------

CHECKS = fuzz.amm_properties("constant-product", gas_budget=2_000_000)


@FEW
@given(req=fuzz.swap_requests(fuzz.pool_states("constant-product")))
def test_pytest_style_uniswap_passes(uni, req):
    uni.check(req, *CHECKS)


def test_pytest_style_failure_is_shrunk_and_printed_as_json():
    target = fuzz.PluginTarget.load(BUGS / "overpays-narrow-range.js", "calculateSwap")

    @settings(max_examples=3000, deadline=None, database=None, derandomize=True)
    @given(fuzz.swap_requests(fuzz.pool_states("constant-product")))
    def check(req):
        target.check(req, fuzz.conservation("kept"))

    with pytest.raises(fuzz.PropertyFailed) as info:
        check()
    text = str(info.value)
    assert "property 'conservation' failed" in text and "input JSON" in text
    data = json.loads(text.rsplit("\n", 1)[1])  # the last line pastes as the input
    assert data == info.value.input
    assert data["poolState"]["reserves"] == [1, 1] and data["amountIn"] == 2  # shrunk all the way


# ---- fuzz.run --------------------------------------------------------------------------------------

def test_run_is_reproducible_from_its_seed(uni):
    swaps = fuzz.swap_requests(fuzz.pool_states("constant-product"))
    a, b = (fuzz.run(uni, swaps, [fuzz.totality()], examples=100, seed=42) for _ in range(2))
    assert (a.examples, a.gas_min, a.gas_median, a.gas_max, a.errors) == \
           (b.examples, b.gas_min, b.gas_median, b.gas_max, b.errors)
    target = fuzz.PluginTarget.load(BUGS / "rounding-large-balances.js", "calculateSwap")
    checks = [fuzz.agrees_with(lambda d: uni.call(d).output["amountOut"], output="amountOut")]
    c, d = (fuzz.run(target, swaps, checks, examples=3000, seed=5, shrink_budget=300) for _ in range(2))
    assert not c.ok and c.failure == d.failure and c.examples == d.examples
    assert fuzz.run(uni, swaps, [], examples=5).seed != fuzz.run(uni, swaps, [], examples=5).seed


def test_run_counts_examples_and_reports(uni):
    swaps = fuzz.swap_requests(fuzz.pool_states("constant-product"))
    ticks = []
    report = fuzz.run(uni, swaps, [fuzz.totality(), fuzz.round_trip()], examples=50, batch=7, seed=1,
                      progress=lambda done, total: ticks.append((done, total)))
    assert report.examples == 56 and ticks[-1] == (56, 56) and len(ticks) == 56  # whole batches of 7
    assert report.answered + sum(report.errors.values()) == 56
    assert report.gas_min <= report.gas_median <= report.gas_max and report.slowest is not None
    assert [p.name for p in report.properties] == ["totality", "round-trip"]
    assert report.properties[0].checked == 56
    text = report.summary()
    for label in ("examples run", "failures", "gas", "slowest input", "round-trip", "OK"):
        assert label in text
    assert msgspec.json.decode(msgspec.json.encode(report))["examples"] == 56


def test_the_example_database_replays_a_failure_first(tmp_path):
    target = fuzz.PluginTarget.load(BUGS / "overpays-narrow-range.js", "calculateSwap")
    swaps = fuzz.swap_requests(fuzz.pool_states("constant-product"))
    first = fuzz.run(target, swaps, [fuzz.conservation()], examples=4000, seed=3, database=tmp_path)
    assert not first.ok and any(tmp_path.iterdir())
    again = fuzz.run(target, swaps, [fuzz.conservation()], examples=4000, seed=99, database=tmp_path)
    assert not again.ok and again.examples <= 16 and again.failure.input_json == first.failure.input_json
    # another property set is another key: nothing to replay
    other = fuzz.run(target, swaps, [fuzz.totality()], examples=20, seed=99, database=tmp_path)
    assert other.ok


def test_data_dir(monkeypatch, tmp_path):
    monkeypatch.delenv("PLUGIN_HOST_DATA_DIR", raising=False)
    assert fuzz.data_dir() == Path(".plugin-host")
    monkeypatch.setenv("PLUGIN_HOST_DATA_DIR", str(tmp_path))
    assert fuzz.data_dir() == tmp_path


def test_targets_report_untyped_exceptions_as_outcomes():
    target = fuzz.CallableTarget(lambda: raise_(KeyError("k")))
    outcome = target.call(1)
    assert not outcome.ok and isinstance(outcome.error, KeyError) and outcome.gas_used == 0
    assert outcome.fingerprint() == target.call(1).fingerprint()
    assert "KeyError" in outcome.describe()
