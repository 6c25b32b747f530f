"""Validation hooks: a protocol acts on a plugin's answer only after checking it.

    from plugin_host.validation import SwapRequest, default_rules, parse_output

    quote = parse_output(result.output)              # shape and types, or InvalidOutput
    validator = default_rules(max_price_impact=0.05)
    validator.add("no dust", lambda req, q: q.amount_out >= 1000)
    validator.validate(request, quote)               # ValidationFailed(rule=..., values=...)

Two steps, in this order: the raw output becomes a Struct for its kind (``SwapQuote``), then
named rules check the values against what was asked (``SwapRequest``), including conservation of
the pool's balances under its declared ``FeeTreatment``.
"""

from ._quote import FeeTreatment, SwapQuote, SwapRequest, parse_output
from ._rules import (
    Rule,
    Validator,
    amount_out_below_balance,
    amount_out_positive,
    conservation,
    default_rules,
    fee_bound,
    no_negative_amounts,
    one_balance_per_coin,
    price_impact_below,
    slippage,
)

__all__ = [
    "SwapQuote",
    "SwapRequest",
    "FeeTreatment",
    "parse_output",
    "Rule",
    "Validator",
    "default_rules",
    "one_balance_per_coin",
    "no_negative_amounts",
    "amount_out_positive",
    "amount_out_below_balance",
    "conservation",
    "fee_bound",
    "price_impact_below",
    "slippage",
]
