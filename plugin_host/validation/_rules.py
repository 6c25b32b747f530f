"""Named, composable rules over a plugin's answer, and the Validator that runs them in order.

The defaults are the seed DEX's three checks (``amountOut > 0``, ``priceImpact < max``, one
balance per coin) and the ones Uniswap v4 enforces on a hook's deltas: conservation within the
pool's fee treatment, no more out than the pool holds, no negative amounts, the trader's
slippage bound, a bound on fees. A protocol adds its own in a line:

    validator.add("at most 10% of the pool", lambda req, q: q.amount_out * 10 <= req.balances[req.j])
"""

from __future__ import annotations

from typing import Any, Callable, Iterable, Iterator, Mapping, Optional, Union

import msgspec

from ..errors import ConfigurationError, ValidationFailed
from ._quote import SwapQuote, SwapRequest

__all__ = [
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

Check = Callable[[SwapRequest, SwapQuote], Any]  # truthy: the answer passes
Values = Callable[[SwapRequest, SwapQuote], Mapping[str, Any]]  # what a failure reports


def _basic_values(req: SwapRequest, q: SwapQuote) -> dict:
    return {"amountIn": req.amount_in, "amountOut": q.amount_out, "feeAmount": q.fee_amount,
            "newBalances": list(q.new_balances)}


class Rule(msgspec.Struct, frozen=True):
    """One named check. ``check(request, quote)`` is truthy when the answer passes; ``values``
    picks the numbers a failure reports (by default the trade's main amounts)."""

    name: str
    check: Check
    values: Optional[Values] = None

    def failure(self, request: SwapRequest, quote: SwapQuote) -> Optional[ValidationFailed]:
        """The ValidationFailed this rule raises for this answer, or None if it passes. A rule
        that crashes fails: an answer that cannot be checked is never settled."""
        try:
            if self.check(request, quote):
                return None
            values = dict((self.values or _basic_values)(request, quote))
        except Exception as e:  # noqa: BLE001 - any crash in a rule is a rejection, reported as such
            values = {"error": f"{type(e).__name__}: {e}"}
        shown = ", ".join(f"{k}={v}" for k, v in values.items())
        return ValidationFailed(f"validation rule {self.name!r} failed: {shown}", rule=self.name, values=values)


class Validator:
    """An ordered set of uniquely named rules. ``validate`` raises the first failure.

        v = default_rules(max_price_impact=0.02)
        v.add("no dust", lambda req, q: q.amount_out >= 1000)
        v.remove("priceImpact < max")
        v.validate(request, quote)          # ValidationFailed(rule=..., values=...)
    """

    def __init__(self, rules: Iterable[Rule] = ()):
        self._rules: dict[str, Rule] = {}
        for rule in rules:
            self.add(rule)

    def add(self, rule: Union[Rule, str], check: Optional[Check] = None, *, values: Optional[Values] = None,
            replace: bool = False) -> Rule:
        """Append a rule: a Rule, or a name and a check. A name already present is refused
        unless ``replace=True`` (which keeps its place in the order)."""
        if isinstance(rule, str):
            if check is None or not callable(check):
                raise ConfigurationError(f"rule {rule!r} needs a check: a callable (request, quote) -> bool")
            rule = Rule(rule, check, values)
        elif not isinstance(rule, Rule) or check is not None or values is not None:
            raise ConfigurationError("add() takes a Rule, or a name and a check")
        if not isinstance(rule.name, str) or not rule.name:
            raise ConfigurationError("a rule needs a non-empty name")
        if rule.name in self._rules and not replace:
            raise ConfigurationError(f"a rule named {rule.name!r} is already registered (pass replace=True)")
        self._rules[rule.name] = rule
        return rule

    def remove(self, name: str) -> Rule:
        try:
            return self._rules.pop(name)
        except KeyError:
            raise ConfigurationError(f"no rule named {name!r}; rules: {self.names}") from None

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(self._rules)

    def __iter__(self) -> Iterator[Rule]:
        return iter(tuple(self._rules.values()))

    def __len__(self) -> int:
        return len(self._rules)

    def __contains__(self, name: object) -> bool:
        return name in self._rules

    def __add__(self, other: Union["Validator", Iterable[Rule]]) -> "Validator":
        """A new Validator: these rules, then the other's (names must not clash)."""
        return Validator([*self, *other])

    def copy(self) -> "Validator":
        return Validator(self)

    def failures(self, request: SwapRequest, quote: SwapQuote) -> list[ValidationFailed]:
        """Every rule's failure, in order (empty when the answer passes)."""
        return [f for f in (r.failure(request, quote) for r in self) if f is not None]

    def validate(self, request: SwapRequest, quote: SwapQuote) -> SwapQuote:
        """Returns the quote if every rule passes; raises the first rule's ValidationFailed."""
        for rule in self:
            failed = rule.failure(request, quote)
            if failed is not None:
                raise failed
        return quote

    def __repr__(self) -> str:
        return f"Validator({list(self.names)})"


# ---- the built-in rules ------------------------------------------------------------------------


def one_balance_per_coin() -> Rule:
    return Rule("one balance per coin", lambda req, q: len(q.new_balances) == len(req.tokens),
                lambda req, q: {"coins": len(req.tokens), "newBalances": len(q.new_balances)})


def _negatives(req: SwapRequest, q: SwapQuote) -> dict:
    named = {"amountOut": q.amount_out, "feeAmount": q.fee_amount, "adminFeeAmount": q.admin_fee_amount}
    named.update({f"newBalances[{req.tokens[k] if k < len(req.tokens) else k}]": b
                  for k, b in enumerate(q.new_balances)})
    return {k: v for k, v in named.items() if v < 0}


def no_negative_amounts() -> Rule:
    return Rule("no negative amounts", lambda req, q: not _negatives(req, q), _negatives)


def amount_out_positive() -> Rule:
    return Rule("amountOut > 0", lambda req, q: q.amount_out > 0, lambda req, q: {"amountOut": q.amount_out})


def amount_out_below_balance() -> Rule:
    return Rule("amountOut < balance out", lambda req, q: q.amount_out < req.balances[req.j],
                lambda req, q: {"amountOut": q.amount_out, f"balance[{req.token_out}]": req.balances[req.j]})


def _conservation_values(req: SwapRequest, q: SwapQuote) -> dict:
    expected = req.fee_treatment.expected_balances(req, q)
    out: dict = {"feeTreatment": req.fee_treatment.value}
    for k, (want, got) in enumerate(zip(expected, q.new_balances)):
        if want != got:
            out[f"newBalances[{req.tokens[k]}]"] = got
            out[f"expected[{req.tokens[k]}]"] = want
    return out


def conservation() -> Rule:
    """newBalances[in] == balances[in] + amountIn and newBalances[out] == balances[out] -
    amountOut, less the fee the pool's fee treatment sends out; other coins unchanged."""
    return Rule("conservation", lambda req, q: tuple(q.new_balances) == req.fee_treatment.expected_balances(req, q),
                _conservation_values)


def fee_bound(max_bps: int) -> Rule:
    """0 <= adminFeeAmount <= feeAmount <= max_bps of the trade (amountIn when the fee is in
    tokenIn, amountOut + feeAmount when it is in tokenOut)."""
    if type(max_bps) is not int or not 0 <= max_bps <= 10_000:
        raise ConfigurationError(f"max_bps must be an int in [0, 10000], got {max_bps!r}")

    def base(req: SwapRequest, q: SwapQuote) -> int:
        return req.amount_in if req.fee_treatment.fee_side == "in" else q.amount_out + q.fee_amount

    def check(req: SwapRequest, q: SwapQuote) -> bool:
        return 0 <= q.admin_fee_amount <= q.fee_amount and q.fee_amount * 10_000 <= base(req, q) * max_bps

    return Rule("fee bound", check, lambda req, q: {
        "feeAmount": q.fee_amount, "adminFeeAmount": q.admin_fee_amount, "of": base(req, q), "maxBps": max_bps})


def price_impact_below(maximum: float) -> Rule:
    if not isinstance(maximum, (int, float)) or not 0 < maximum <= 1:
        raise ConfigurationError(f"the price impact bound must be in (0, 1], got {maximum!r}")
    return Rule("priceImpact < max", lambda req, q: 0 <= q.price_impact < maximum,
                lambda req, q: {"priceImpact": q.price_impact, "max": maximum})


def slippage() -> Rule:
    return Rule("slippage", lambda req, q: q.amount_out >= req.min_amount_out,
                lambda req, q: {"amountOut": q.amount_out, "minAmountOut": req.min_amount_out})


def default_rules(*, max_price_impact: float = 0.05, max_fee_bps: int = 1_000) -> Validator:
    """The reference rule set, in the order they run (shape first, the trader's bound last)."""
    return Validator([one_balance_per_coin(), no_negative_amounts(), amount_out_positive(),
                      amount_out_below_balance(), conservation(), fee_bound(max_fee_bps),
                      price_impact_below(max_price_impact), slippage()])
