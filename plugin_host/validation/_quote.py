"""The schema of validation: what the protocol asked a plugin, and the shape its answer must have.

A plugin's raw output is converted once, here, into a Struct for its kind (``SwapQuote`` for an
AMM's ``calculateSwap``); the rules then only ever see typed values.
"""

from __future__ import annotations

import enum
from typing import Any, Type, TypeVar

import msgspec

from ..errors import ConfigurationError, InvalidOutput

__all__ = ["FeeTreatment", "SwapQuote", "SwapRequest", "parse_output"]

T = TypeVar("T", bound=msgspec.Struct)


class SwapQuote(msgspec.Struct, frozen=True, rename="camel"):
    """An AMM plugin's answer to ``calculateSwap`` (plugin-interfaces.md). Amounts are exact
    integers (JS BigInt); extra fields a plugin returns are ignored."""

    amount_out: int
    fee_amount: int
    new_balances: tuple[int, ...]
    price_impact: float  # informative, in [0, 1]
    admin_fee_amount: int = 0  # Curve: the part of feeAmount that leaves the pool


class FeeTreatment(str, enum.Enum):
    """Where a swap's fee goes, and so how the pool's balances must move. A pool declares it:
    what leaves the pool is the protocol's decision, never the plugin's."""

    # Uniswap V2: feeAmount is in tokenIn and stays in the pool (the LPs earn it)
    KEPT = "kept"
    # Curve: feeAmount is in tokenOut; its LP part stays, adminFeeAmount (tokenOut) leaves
    ADMIN_FEE_LEAVES = "admin-fee-leaves"
    # Solidly / Velodrome: feeAmount is in tokenIn and leaves the pool (to its fee account)
    FEE_LEAVES = "fee-leaves"

    @property
    def fee_side(self) -> str:
        """Which token ``feeAmount`` is in: ``"in"`` or ``"out"``."""
        return "out" if self is FeeTreatment.ADMIN_FEE_LEAVES else "in"

    def leaving(self, quote: SwapQuote) -> int:
        """How much of the fee token leaves the pool (to the protocol's fee account)."""
        return self._leaving(quote.fee_amount, quote.admin_fee_amount)

    def _leaving(self, fee_amount: int, admin_fee_amount: int) -> int:
        if self is FeeTreatment.ADMIN_FEE_LEAVES:
            return admin_fee_amount
        if self is FeeTreatment.FEE_LEAVES:
            return fee_amount
        return 0

    def expected_balances(self, request: "SwapRequest", quote: SwapQuote) -> tuple[int, ...]:
        """The conservation law: the pool's balances after the swap, given what it paid out."""
        return self.balances_after(request.balances, request.i, request.j, request.amount_in,
                                   quote.amount_out, quote.fee_amount, quote.admin_fee_amount)

    def balances_after(self, balances: Any, i: int, j: int, amount_in: int, amount_out: int,
                       fee_amount: int, admin_fee_amount: int = 0) -> tuple[int, ...]:
        """The conservation law on plain numbers (the one place it is written; the validation
        rule and the fuzz property both use it): ``balances[i] + amountIn`` and
        ``balances[j] - amountOut``, less the fee that leaves; every other coin unchanged."""
        out = list(balances)
        leaves = self._leaving(fee_amount, admin_fee_amount)
        out[i] += amount_in - (leaves if self.fee_side == "in" else 0)
        out[j] -= amount_out + (leaves if self.fee_side == "out" else 0)
        return tuple(out)


class SwapRequest(msgspec.Struct, frozen=True, kw_only=True):
    """What the protocol asked: the pool before the swap and the trade. Rules see it next to
    the plugin's ``SwapQuote``."""

    tokens: tuple[str, ...]
    balances: tuple[int, ...]  # the pool's, in ``tokens`` order, before the swap
    token_in: str
    token_out: str
    amount_in: int
    min_amount_out: int = 0
    fee_treatment: FeeTreatment = FeeTreatment.KEPT

    def __post_init__(self) -> None:
        # normalised once, here, so that rules can rely on the types (a Struct's __init__ converts nothing)
        set_ = msgspec.structs.force_setattr
        set_(self, "tokens", tuple(self.tokens))
        set_(self, "balances", tuple(self.balances))
        try:
            set_(self, "fee_treatment", FeeTreatment(self.fee_treatment))
        except ValueError:
            raise ConfigurationError(f"fee_treatment must be one of {[t.value for t in FeeTreatment]}, "
                                     f"got {self.fee_treatment!r}") from None

    @property
    def i(self) -> int:
        return self.tokens.index(self.token_in)

    @property
    def j(self) -> int:
        return self.tokens.index(self.token_out)


def parse_output(raw: Any, type: Type[T] = SwapQuote, *, function: str = "calculateSwap") -> T:  # noqa: A002
    """``raw`` (a plugin's output) as ``type``, or InvalidOutput saying what is wrong with it.
    Strict: a Number where a BigInt belongs, a bool, a missing field are all refused."""
    try:
        return msgspec.convert(raw, type, strict=True)
    except msgspec.ValidationError as e:
        shown = repr(raw)
        shown = shown if len(shown) <= 120 else shown[:117] + "..."
        raise InvalidOutput(f"{function} returned an answer that is not a {type.__name__}: {e} "
                            f"(got {shown})") from None
