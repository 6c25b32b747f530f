"""Property-based fuzzing of plugins, with hypothesis.

Strategies draw plugin inputs, properties say what every answer must satisfy, and a target runs
the plugin (in warm FrozenRealms, one call per input, each from the realm's snapshot):

    from hypothesis import given
    from plugin_host import fuzz

    uni = fuzz.PluginTarget.load("plugins/uniswap-v2.js", "calculateSwap", gas_limit=2_000_000)
    CHECKS = fuzz.amm_properties("constant-product", gas_budget=2_000_000)

    @given(fuzz.swap_requests(fuzz.pool_states("constant-product")))
    def test_uniswap(request):
        uni.check(request, *CHECKS)      # PropertyFailed, with the input as JSON, on a violation

or, faster (inputs batched through one realm) and with a report:

    report = fuzz.run(uni, fuzz.swap_requests(fuzz.pool_states("curve")), CHECKS, examples=5000, seed=1)
    assert report.ok, report.summary()

Strategies: :func:`pool_states`, :func:`swap_requests`, :func:`amounts`, :func:`from_struct`.
Properties: :func:`totality`, :func:`determinism`, :func:`gas_bound`, :func:`monotonic`,
:func:`conservation`, :func:`round_trip`, :func:`agrees_with`, :func:`validated_by`
(:func:`dex_validation`: plugin_host.validation's hooks), and
:func:`amm_properties` to get an AMM's set; write your own as ``(target, data, outcome)``.
The command line: ``plugin-host fuzz FILE_OR_REF FUNCTION --kind curve --examples 5000``.
"""

from ._properties import (
    Property,
    PropertyFailed,
    agrees_with,
    amm_properties,
    conservation,
    determinism,
    dex_validation,
    gas_bound,
    monotonic,
    prop,
    round_trip,
    totality,
    validated_by,
)
from ._runner import Counterexample, FuzzReport, PropertyStats, SlowInput, data_dir, example_database, run
from ._strategies import KINDS, amounts, pool_states, swap_requests
from ._structs import from_struct
from ._target import CallableTarget, Outcome, PluginTarget, Target, to_json

__all__ = [
    # strategies
    "KINDS",
    "pool_states",
    "swap_requests",
    "amounts",
    "from_struct",
    # targets
    "Target",
    "PluginTarget",
    "CallableTarget",
    "Outcome",
    "to_json",
    # properties
    "Property",
    "PropertyFailed",
    "prop",
    "totality",
    "determinism",
    "gas_bound",
    "monotonic",
    "conservation",
    "round_trip",
    "agrees_with",
    "validated_by",
    "dex_validation",
    "amm_properties",
    # running
    "run",
    "FuzzReport",
    "Counterexample",
    "PropertyStats",
    "SlowInput",
    "data_dir",
    "example_database",
]
