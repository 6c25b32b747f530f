"""The fuzzer finds deliberately buggy plugins (tests/fuzz_plugins/*.js), shrinks each to a small
input, and passes the plugins in plugins/.

Order dependence: inside a FrozenRealm it cannot exist (every call starts from the snapshot), so
a plugin that keeps module state is shown NOT to be order-dependent, and the determinism
property is shown to catch order dependence on deliberately stateful Python targets instead.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from plugin_host import PluginException, _realm, fuzz

@pytest.fixture(autouse=True)
def fast_restore(request, monkeypatch):
    """The suite checks every realm restore against the whole snapshot (conftest.py): right for
    the realm's own tests, but it makes a call ~10x slower, and these tests make tens of
    thousands. The module-state test keeps the check: isolation is its subject."""
    if "module_state" not in request.node.name:
        monkeypatch.setattr(_realm, "_VERIFY_RESTORE", False)


HERE = Path(__file__).resolve().parent
BUGS = HERE / "fuzz_plugins"
PLUGINS = HERE.parent / "plugins"
GAS_BUDGET = 1_000_000
CP_SWAPS = fuzz.swap_requests(fuzz.pool_states("constant-product"))


def bug(name: str, **options) -> fuzz.PluginTarget:
    return fuzz.PluginTarget.load(BUGS / f"{name}.js", "calculateSwap", gas_limit=GAS_BUDGET, **options)


def uniswap_reference(data: dict) -> int:
    """UniswapV2Library.getAmountOut and the pair's checks, in plain Python."""
    ps = data["poolState"]
    i, j = ps["tokens"].index(data["tokenIn"]), ps["tokens"].index(data["tokenOut"])
    r_in, r_out, fee, a = ps["reserves"][i], ps["reserves"][j], ps.get("feeBps", 30), data["amountIn"]
    if a <= 0 or r_in <= 0 or r_out <= 0:
        raise ValueError("reverts")
    out = a * (10000 - fee) * r_out // (r_in * 10000 + a * (10000 - fee))
    if not 0 < out < r_out:
        raise ValueError("reverts")
    return out


def found(report: fuzz.FuzzReport, prop: str) -> dict:
    assert not report.ok, report.summary()
    assert report.failure.property == prop, report.summary()
    return json.loads(report.failure.input_json)


@pytest.mark.parametrize("seed", [0, 1])
def test_off_by_one_rounding_on_large_balances(seed):
    report = fuzz.run(bug("rounding-large-balances"), CP_SWAPS,
                      [fuzz.totality(), fuzz.agrees_with(uniswap_reference, output="amountOut")],
                      examples=2000, seed=seed)
    data = found(report, "reference")
    i = data["poolState"]["tokens"].index(data["tokenIn"])
    assert data["poolState"]["reserves"][i] > 10**27  # only large balances show it
    # shrunk to a dust trade, where the reference's 0 (a revert) became the plugin's 1
    assert "the reference" in report.failure.reason and '"amountOut":1' in report.failure.outcome


@pytest.mark.parametrize("seed", [0, 1])
def test_pays_more_than_the_pool_holds_in_a_narrow_range(seed):
    report = fuzz.run(bug("overpays-narrow-range"), CP_SWAPS, [fuzz.totality(), fuzz.conservation("kept")],
                      examples=4000, seed=seed)
    data = found(report, "conservation")
    ps = data["poolState"]
    i = ps["tokens"].index(data["tokenIn"])
    assert 2 * ps["reserves"][i] <= data["amountIn"] <= 2.04 * ps["reserves"][i]
    assert "pays out" in report.failure.reason


def test_gas_that_explodes_for_some_inputs():
    report = fuzz.run(bug("gas-bomb"), CP_SWAPS, [fuzz.totality(), fuzz.gas_bound(GAS_BUDGET)],
                      examples=2000, seed=0, shrink_budget=500)
    data = found(report, "gas")
    i = data["poolState"]["tokens"].index(data["tokenIn"])
    assert data["amountIn"] > 20 * data["poolState"]["reserves"][i]  # big trades only
    assert report.gas_min < 100_000  # small trades are cheap


def test_a_round_trip_that_gains():
    report = fuzz.run(bug("free-lunch"), CP_SWAPS, [fuzz.conservation("kept"), fuzz.round_trip()],
                      examples=3000, seed=0, shrink_budget=500)
    found(report, "round-trip")
    assert "a round trip gains" in report.failure.reason


def test_an_output_that_cannot_cross_is_typed_but_not_an_answer():
    target = bug("nan-price-impact")
    lenient = fuzz.run(target, CP_SWAPS, [fuzz.totality()], examples=200, seed=0)
    assert lenient.ok and lenient.errors.get("InvalidOutput")
    strict = fuzz.run(target, CP_SWAPS, [fuzz.totality(allowed=(PluginException,))], examples=200, seed=0)
    found(strict, "totality")
    assert "InvalidOutput" in strict.failure.reason


# ---- call-order dependence ---------------------------------------------------------------------

def test_module_state_cannot_make_a_plugin_order_dependent():
    """The plugin counts its calls in module state; the realm's snapshot restore makes the count
    1 on every call, on both engines, in warm and fresh realms alike."""
    target = bug("keeps-module-state")
    report = fuzz.run(target, CP_SWAPS, [fuzz.determinism()], examples=150, seed=0)
    assert report.ok, report.summary()
    outs = [target.call({"tokenIn": "T0", "tokenOut": "T1", "amountIn": 10**18,
                         "poolState": {"tokens": ["T0", "T1"], "reserves": [10**21, 10**21]}}) for _ in range(3)]
    assert [o.output["calls"] for o in outs] == [1, 1, 1]


class Counter:
    """A quote whose answer drifts with every call (what module state would do without
    isolation)."""

    def __init__(self):
        self.calls = 0

    def __call__(self, data):
        self.calls += 1
        return {"amountOut": uniswap_reference(data) - self.calls}


class StaleCache:
    """A quote cache keyed by the pool only: an answer depends on which trade came first."""

    def __init__(self):
        self.cache = {}

    def __call__(self, data):
        key = json.dumps(data["poolState"], sort_keys=True) + data["tokenIn"]
        if key not in self.cache:
            self.cache[key] = uniswap_reference(data)
        return self.cache[key]


def test_determinism_catches_state_carried_between_calls():
    report = fuzz.run(fuzz.CallableTarget(Counter), CP_SWAPS, [fuzz.determinism()], examples=100, seed=0)
    found(report, "determinism")
    assert "called again in the same realm" in report.failure.reason


def test_determinism_catches_answers_that_depend_on_earlier_calls():
    pools = fuzz.pool_states("constant-product", reserves=[10**21, 10**21], feeBps=30)
    trades = fuzz.swap_requests(pools)
    report = fuzz.run(fuzz.CallableTarget(StaleCache), trades, [fuzz.determinism(repeat=False)],
                      examples=200, seed=0)
    found(report, "determinism")
    assert "in a fresh realm" in report.failure.reason


# ---- the real plugins pass ---------------------------------------------------------------------

@pytest.mark.parametrize("kind, filename", [("constant-product", "uniswap-v2.js"), ("solidly", "solidly.js"),
                                            ("curve", "curve-stable-swap.js")])
def test_the_plugins_pass_every_amm_property(kind, filename):
    target = fuzz.PluginTarget.load(PLUGINS / filename, "calculateSwap", gas_limit=5_000_000)
    report = fuzz.run(target, fuzz.swap_requests(fuzz.pool_states(kind)),
                      fuzz.amm_properties(kind, gas_budget=5_000_000), examples=600, seed=7)
    assert report.ok, report.summary()
    stats = {p.name: p for p in report.properties}
    # the properties did check most inputs: the strategies mostly make trades that succeed
    assert stats["conservation"].checked > report.examples // 2
    assert stats["round-trip"].checked > report.examples // 3
    assert stats["determinism"].checked == report.examples


def test_uniswap_agrees_with_the_reference():
    target = fuzz.PluginTarget.load(PLUGINS / "uniswap-v2.js", "calculateSwap")
    report = fuzz.run(target, CP_SWAPS, [fuzz.agrees_with(uniswap_reference, output="amountOut")],
                      examples=1000, seed=3)
    assert report.ok, report.summary()
