"""Inputs and properties for `plugin-host fuzz --strategy/--property MODULE:NAME` (tests/test_fuzz_cli.py)."""

from typing import Annotated

import msgspec
from hypothesis import strategies as st

from plugin_host import fuzz

U112 = Annotated[int, msgspec.Meta(ge=1, lt=2**112)]


class GetAmountOut(msgspec.Struct, rename="camel"):
    """uniswap-v2.js getAmountOut's input."""

    amount_in: U112
    reserve_in: U112
    reserve_out: U112
    fee_bps: Annotated[int, msgspec.Meta(ge=0, le=100)] = 30


big_trades = st.builds(lambda r: {"amountIn": r * 3, "reserveIn": r, "reserveOut": r, "feeBps": 30},
                       st.integers(1, 2**100))


def get_amount_out_reference(q: GetAmountOut) -> int:
    a = q.amount_in * (10000 - q.fee_bps)
    return a * q.reserve_out // (q.reserve_in * 10000 + a)


REFERENCE = [fuzz.agrees_with(get_amount_out_reference), fuzz.monotonic("amount_in", None)]


@fuzz.prop("under a third")
def under_a_third(target, data, outcome):
    assert not outcome.ok or outcome.output * 3 <= data["reserveOut"], "pays out over a third of the reserve"
