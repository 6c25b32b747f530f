"""Reusable properties: checks a protocol or an auditor applies to any plugin, one input at a time.

A property sees the target, the input and the Outcome of calling the target on it; it may call
the target again (on a neighbouring input, a fresh realm, the other engine). It returns False
when it does not apply to this outcome (a round trip after a revert), and raises AssertionError
(plain ``assert`` works) when the plugin violates it. Write your own as a function
``(target, data, outcome)``, or wrap it with :func:`prop` to name it.
"""

from __future__ import annotations

from typing import Any, Callable, Iterable, Mapping, NamedTuple, Optional, Sequence, Union

import msgspec

from ..errors import GuestFault, OutOfGas, PluginError
from ..validation._quote import FeeTreatment
from ._target import Outcome, Target, other_engines, to_json

__all__ = [
    "Property", "PropertyFailed", "prop", "check_all", "totality", "determinism", "gas_bound",
    "monotonic", "conservation", "round_trip", "agrees_with", "validated_by", "dex_validation", "amm_properties",
]

Check = Callable[[Target, Any, Outcome], Optional[bool]]

# Where a swap's fee goes, so how the pool's balances must move (plugin-interfaces.md).
KIND_FEE_TREATMENT = {"constant-product": FeeTreatment.KEPT.value, "solidly": FeeTreatment.FEE_LEAVES.value,
                      "curve": FeeTreatment.ADMIN_FEE_LEAVES.value}


class PropertyFailed(AssertionError):
    """A plugin violated a property. The message names the property and carries the input as
    ready-to-paste JSON; ``input``, ``input_json``, ``reason`` and ``outcome`` hold the parts."""

    def __init__(self, target: Target, prop: str, reason: str, data: Any, outcome: Outcome):
        self.target_label = target.label
        self.function = target.function
        self.property = prop
        self.reason = reason
        self.input = data
        self.input_json = to_json(data)
        self.outcome = outcome
        super().__init__(
            f"{target.label} {target.function}: property {prop!r} failed: {reason}\n"
            f"  the call {outcome.describe()}\n"
            f"  input JSON (paste into `plugin-host run FILE {target.function} --input '...'`):\n"
            f"{self.input_json}")

    def __reduce__(self):  # keep pickling (pytest-xdist) from calling __init__ with the message
        return (AssertionError, (str(self),))


class Property:
    """A named check. ``check(target, data, outcome)`` returns True if it checked something,
    False if it did not apply; it raises AssertionError on a violation."""

    __slots__ = ("name", "_fn")

    def __init__(self, name: str, fn: Check):
        self.name = name
        self._fn = fn

    def check(self, target: Target, data: Any, outcome: Outcome) -> bool:
        return self._fn(target, data, outcome) is not False

    def __repr__(self) -> str:
        return f"<Property {self.name}>"


def prop(name: str) -> Callable[[Check], Property]:
    """Name a custom property: ``@prop("price impact in [0, 1]") def f(target, data, outcome): ...``"""
    return lambda fn: Property(name, fn)


def as_property(p: Union[Property, Check]) -> Property:
    if isinstance(p, Property):
        return p
    if callable(p):
        return Property(getattr(p, "__name__", repr(p)), p)
    raise TypeError(f"a property is a Property or a function (target, data, outcome), not {p!r}")


def check_all(target: Target, data: Any, outcome: Outcome, properties: Iterable[Any],
              applied: Optional[dict] = None) -> None:
    """Check each property in order; raise PropertyFailed on the first violation. ``applied``
    counts, per property name, how many inputs it actually checked."""
    for p in properties:
        p = as_property(p)
        try:
            ok = p.check(target, data, outcome)
        except PropertyFailed:
            raise
        except AssertionError as e:
            raise PropertyFailed(target, p.name, str(e) or "assertion failed", data, outcome) from None
        if applied is not None:
            applied[p.name] = applied.get(p.name, 0) + (1 if ok else 0)


def _fail(reason: str) -> None:
    raise AssertionError(reason)


# ---- any plugin ------------------------------------------------------------------------------

def totality(allowed: Sequence[type] = (PluginError,), forbidden: Sequence[type] = (GuestFault,)) -> Property:
    """Only results or typed errors: every call returns, or fails with one of ``allowed``
    (default: any PluginError: reverts, out of gas, invalid output...) and none of ``forbidden``
    (default: GuestFault, a host-side fault). ``allowed=(PluginException,)`` demands that the
    plugin only ever answers or throws. A crash that kills the process cannot be caught in it:
    the wasm sandbox turns guest crashes into GuestFault."""
    allowed, forbidden = tuple(allowed), tuple(forbidden)

    def totality(target: Target, data: Any, outcome: Outcome) -> bool:
        err = outcome.error
        if err is not None and (isinstance(err, forbidden) or not isinstance(err, allowed)):
            kind = "a typed error it does not allow" if isinstance(err, PluginError) else "an untyped exception"
            _fail(f"the call ended in {kind}: {type(err).__module__}.{type(err).__name__}: {err}")
        return True

    return Property("totality", totality)


def gas_bound(budget: int) -> Property:
    """Every call uses at most ``budget`` gas, errors included; running out of gas fails. Give
    the target a ``gas_limit`` near the budget so that runaway inputs stop early."""

    def gas(target: Target, data: Any, outcome: Outcome) -> bool:
        if isinstance(outcome.error, OutOfGas):
            _fail(f"ran out of gas at its limit of {outcome.error.gas_limit} (budget {budget})")
        if outcome.gas_used > budget:
            _fail(f"used {outcome.gas_used} gas, over the budget of {budget}")
        return True

    return Property("gas", gas)


def determinism(engines: Optional[Sequence[str]] = None, *, repeat: bool = True, fresh: bool = True) -> Property:
    """The same input gives the same output bytes (or error) and the same gas, as the receipt's
    digest records them: called again in the same realm (``repeat``: state carried from call to
    call), in a brand-new realm (``fresh``, ~1 ms a call: state carried from everything run
    before) and on each other engine (``engines``, default every one available)."""

    def determinism(target: Target, data: Any, outcome: Outcome) -> bool:
        want = outcome.fingerprint()
        runs = ([("called again in the same realm", {})] if repeat else []) + \
               ([("in a fresh realm", {"fresh": True})] if fresh else []) + \
               [(f"on {e}", {"engine": e}) for e in other_engines(target, engines)]
        for where, how in runs:
            again = target.call(data, **how)
            if again.fingerprint() != want:
                _fail(f"{where} it {again.describe(150)}; first it {outcome.describe(150)}")
        return True

    return Property("determinism", determinism)


# ---- paths into inputs and outputs ------------------------------------------------------------

def _get(value: Any, path: Optional[str]) -> Any:
    for part in (path.split(".") if path else ()):
        if isinstance(value, (list, tuple)):
            value = value[int(part)]
        elif isinstance(value, msgspec.Struct):
            value = getattr(value, part)
        else:
            value = value[part]
    return value


def _set(value: Any, path: str, new: Any) -> Any:
    """A copy of ``value`` with ``path`` replaced (copies only along the path)."""
    head, _, rest = path.partition(".")
    inner = new if not rest else _set(_get(value, head), rest, new)
    if isinstance(value, (list, tuple)):
        out = list(value)
        out[int(head)] = inner
        return out
    if isinstance(value, msgspec.Struct):
        return msgspec.structs.replace(value, **{head: inner})
    return {**value, head: inner}


def _plus_one(x: int) -> int:
    return x + 1


def _plus_sixteenth(x: int) -> int:
    return x + x // 16 + 1


def monotonic(field: str = "amountIn", output: Optional[str] = "amountOut", *,
              steps: Sequence[Callable[[int], int]] = (_plus_one, _plus_sixteenth), decreasing: bool = False,
              name: str = "monotonic") -> Property:
    """More in gives no less out: raising the input at ``field`` (a dotted path, e.g.
    ``poolState.reserves.1``) by each of ``steps`` never lowers the output at ``output`` (None:
    the whole output), or never raises it if ``decreasing``. Neighbours that fail are skipped."""

    def monotonic(target: Target, data: Any, outcome: Outcome) -> bool:
        if not outcome.ok:
            return False
        try:
            x, y = _get(data, field), _get(outcome.output, output)
        except (KeyError, IndexError, TypeError, ValueError, AttributeError):
            return False
        if type(x) is not int or type(y) not in (int, float):
            return False
        checked = False
        for step in steps:
            x2 = step(x)
            other = target.call(_set(data, field, x2))
            if not other.ok:
                continue
            try:
                y2 = _get(other.output, output)
            except (KeyError, IndexError, TypeError, ValueError, AttributeError):
                _fail(f"{field} {x2} gives an answer without {output}: {to_json(other.output)[:200]}")
            checked = True
            if (y2 > y) if decreasing else (y2 < y):
                _fail(f"{field} {x} gives {output or 'output'} {y}, but {field} {x2} gives {y2}")
        return checked

    return Property(name, monotonic)


# ---- AMM plugins (calculateSwap, plugin-interfaces.md) ------------------------------------------

class _Swap(NamedTuple):
    data: dict
    key: str  # "balances" or "reserves"
    balances: list
    i: int
    j: int
    amount_in: int


class _Quote(NamedTuple):
    amount_out: int
    fee: int
    admin_fee: int
    new: list


def _swap(data: Any) -> Optional[_Swap]:
    """The calculateSwap input's parts, or None if ``data`` is not one."""
    d = msgspec.to_builtins(data) if isinstance(data, msgspec.Struct) else data
    try:
        ps = d["poolState"]
        key = "balances" if "balances" in ps else "reserves"
        tokens, balances = ps["tokens"], list(ps[key])
        i, j, amount = tokens.index(d["tokenIn"]), tokens.index(d["tokenOut"]), d["amountIn"]
    except (KeyError, TypeError, ValueError, AttributeError):
        return None
    if type(amount) is not int or not all(type(b) is int for b in balances):
        return None
    return _Swap(d, key, balances, i, j, amount)


def _quote(output: Any) -> _Quote:
    """A swap answer's amounts; a malformed answer violates the interface."""
    if not isinstance(output, dict):
        _fail(f"the answer is not a swap quote object: {to_json(output)[:200]}")
    q = _Quote(output.get("amountOut"), output.get("feeAmount"), output.get("adminFeeAmount", 0),
               output.get("newBalances"))
    if not (all(type(v) is int for v in q[:3]) and isinstance(q.new, list) and all(type(b) is int for b in q.new)):
        _fail("the answer lacks integer amountOut, feeAmount and newBalances")
    return q


def conservation(fee_treatment: Optional[str] = None) -> Property:
    """Tokens are neither created nor lost: the pool never pays out as much as it holds of
    ``tokenOut``, no amount or balance is negative, the coins not traded keep their balances, and
    ``newBalances`` is what the swap leaves. With a ``fee_treatment`` exactly: ``"kept"``
    (Uniswap V2: ``in + amountIn``, ``out - amountOut``), ``"fee-leaves"`` (Solidly: the fee in
    ``tokenIn`` leaves) or ``"admin-fee-leaves"`` (Curve: ``adminFeeAmount`` of ``tokenOut``
    leaves); without one, within those bounds."""
    if fee_treatment not in (None, *(t.value for t in FeeTreatment)):
        raise ValueError(f"unknown fee treatment {fee_treatment!r}")
    treatment = None if fee_treatment is None else FeeTreatment(fee_treatment)

    def conservation(target: Target, data: Any, outcome: Outcome) -> bool:
        s = _swap(data)
        if not outcome.ok or s is None:
            return False
        q = _quote(outcome.output)
        bal, new, i, j = s.balances, q.new, s.i, s.j
        if len(new) != len(bal):
            _fail(f"newBalances has {len(new)} entries for a pool of {len(bal)} coins")
        if q.amount_out >= bal[j]:
            _fail(f"pays out {q.amount_out} of {s.data['tokenOut']} but the pool holds only {bal[j]}")
        if min(q.amount_out, q.fee, q.admin_fee, *new) < 0:
            _fail(f"a negative amount: amountOut {q.amount_out}, feeAmount {q.fee}, newBalances {new}")
        moved = [k for k in range(len(bal)) if k not in (i, j) and new[k] != bal[k]]
        if moved:
            _fail(f"coins not traded changed balance: {moved} ({[bal[k] for k in moved]} -> {[new[k] for k in moved]})")
        if fee_treatment is None:
            if not bal[i] <= new[i] <= bal[i] + s.amount_in or new[j] > bal[j] - q.amount_out:
                _fail(f"balances {bal} -> {new} do not follow from amountIn {s.amount_in} and amountOut {q.amount_out}")
            return True
        want = list(treatment.balances_after(bal, i, j, s.amount_in, q.amount_out, q.fee, q.admin_fee))
        if new != want:
            _fail(f"newBalances {new}, but amountIn {s.amount_in} and amountOut {q.amount_out} ({fee_treatment}) "
                  f"leave {want}")
        return True

    return Property("conservation", conservation)


def round_trip(fee_free_dust: Optional[int] = 2, *, min_fee: int = 1) -> Property:
    """No free lunch: swapping ``amountIn`` of A for B, then all that B back to A in the pool the
    first swap left, returns at most ``amountIn``. When a leg charged less than ``min_fee`` units
    of fee (a fee of 0, or one that rounded to 0) an invariant solver's own rounding may return
    up to ``fee_free_dust`` units more (None: such round trips are not checked). Curve's contract
    does: +1 with a fee of 0 (tests/test_plugins_curve.py), and, found by this fuzzer, 1 -> 6 ->
    46 wei (fees rounded to 0) and 94 -> 100 -> 99 wei (fees of 1 wei) in 5- and 8-coin A=1
    pools a few hundred times out of balance (get_D and get_y stop within 1 unit)."""

    def round_trip(target: Target, data: Any, outcome: Outcome) -> bool:
        s = _swap(data)
        if not outcome.ok or s is None:
            return False
        q = _quote(outcome.output)
        if q.amount_out == 0:
            return False
        pool = {**s.data["poolState"], s.key: list(q.new)}
        back = target.call({**s.data, "tokenIn": s.data["tokenOut"], "tokenOut": s.data["tokenIn"],
                            "amountIn": q.amount_out, "poolState": pool})
        if not back.ok:
            return False
        qb = _quote(back.output)
        fee_free = q.fee < min_fee or qb.fee < min_fee
        if fee_free and fee_free_dust is None:
            return False
        if qb.amount_out > s.amount_in + (fee_free_dust if fee_free else 0):
            _fail(f"{s.amount_in} {s.data['tokenIn']} -> {q.amount_out} {s.data['tokenOut']} -> {qb.amount_out} "
                  f"{s.data['tokenIn']}: a round trip gains {qb.amount_out - s.amount_in}")
        return True

    return Property("round-trip", round_trip)


# ---- against the protocol's own code -----------------------------------------------------------

def agrees_with(reference: Callable[[Any], Any], *, output: Optional[str] = None,
                compare: Optional[Callable[[Any, Any], bool]] = None, name: str = "reference") -> Property:
    """The plugin agrees with a reference Python function: ``reference(data)`` returns what the
    output at ``output`` (a dotted path; None: the whole output) must equal (or satisfy
    ``compare(got, expected)``), or raises where the plugin must fail too."""

    def reference_check(target: Target, data: Any, outcome: Outcome) -> bool:
        try:
            expected = reference(data)
        except Exception as e:  # noqa: BLE001 - the reference reverting is part of its answer
            if outcome.ok:
                _fail(f"the reference fails ({type(e).__name__}: {e}) but the plugin returned "
                      f"{to_json(outcome.output)[:200]}")
            return True
        if not outcome.ok:
            _fail(f"the plugin failed ({type(outcome.error).__name__}: {outcome.error}); the reference "
                  f"answers {to_json(expected)[:200]}")
        got = _get(outcome.output, output)
        if not (compare(got, expected) if compare else got == expected):
            _fail(f"{output or 'output'} is {to_json(got)[:200]}, the reference says {to_json(expected)[:200]}")
        return True

    return Property(name, reference_check)


Rule = Callable[[Any, Any], Any]


def validated_by(*rules: Union[Rule, Mapping[str, Rule]], name: str = "validation") -> Property:
    """Every answer passes the protocol's validation hooks. A rule is ``rule(data, output)``, or
    an object with ``.validate(data, output)``; it rejects the answer by raising (e.g.
    ValidationFailed) or returning False. Pass a mapping to name the rules. Failed calls are
    not validated (a protocol never settles them)."""
    named: list[tuple[str, Rule]] = []
    for r in rules:
        items = r.items() if isinstance(r, Mapping) else [(getattr(r, "__name__", type(r).__name__), r)]
        for rule_name, rule in items:
            named.append((rule_name, rule.validate if hasattr(rule, "validate") else rule))

    def validation(target: Target, data: Any, outcome: Outcome) -> bool:
        if not outcome.ok:
            return False
        for rule_name, rule in named:
            try:
                verdict = rule(data, outcome.output)
            except Exception as e:  # noqa: BLE001 - a rule rejects by raising
                _fail(f"rule {rule_name!r} rejects the answer: {type(e).__name__}: {e}")
            if verdict is False:
                _fail(f"rule {rule_name!r} rejects the answer")
        return True

    return Property(name, validation)


def dex_validation(validator: Any = None, *, kind: str = "constant-product", fee_treatment: Optional[str] = None,
                   name: str = "validation") -> Property:
    """Every ``calculateSwap`` answer passes plugin_host.validation's hooks: the raw output parses
    as a ``SwapQuote`` and ``validator`` (default: its safety rules: one balance per coin, no
    negative amounts, amountOut below the balance, conservation) accepts it for the request,
    under the pool's fee treatment (from ``kind``, or ``fee_treatment``). Trade-specific rules
    (price impact, slippage) belong to a protocol's own validator, passed here."""
    from ..validation import SwapRequest, Validator, parse_output
    from ..validation import _rules as rules
    from ._strategies import canonical_kind

    treatment = fee_treatment or KIND_FEE_TREATMENT[canonical_kind(kind)]
    if validator is None:
        validator = Validator([rules.one_balance_per_coin(), rules.no_negative_amounts(),
                               rules.amount_out_below_balance(), rules.conservation()])

    def hooks(data: Any, output: Any) -> None:
        s = _swap(data)
        if s is None:
            raise ValueError("the input is not a calculateSwap request")
        request = SwapRequest(tokens=s.data["poolState"]["tokens"], balances=s.balances, token_in=s.data["tokenIn"],
                              token_out=s.data["tokenOut"], amount_in=s.amount_in, fee_treatment=treatment)
        validator.validate(request, parse_output(output))

    return validated_by({"plugin_host.validation": hooks}, name=name)


def amm_properties(kind: str, *, gas_budget: Optional[int] = None, determinism_check: bool = True) -> list[Property]:
    """The properties every AMM ``calculateSwap`` should meet, for a pool kind: totality, a gas
    budget (if given), conservation with the kind's fee treatment, monotonicity in amountIn, the
    round trip (fee-free legs: exact for constant product, 2 units of dust for Solidly; Curve's
    only checked where both legs pay 100 units of fee or more), and determinism."""
    from ._strategies import canonical_kind

    props = [totality()]
    if gas_budget is not None:
        props.append(gas_bound(gas_budget))
    kind = canonical_kind(kind)
    # floor division always favours a constant-product pool; the invariant solvers' tolerance
    # does not, and Curve's shows by many wei on trades too small to pay a fee (see round_trip)
    trip = {"constant-product": round_trip(0), "solidly": round_trip(2),
            "curve": round_trip(None, min_fee=100)}[kind]
    props += [conservation(KIND_FEE_TREATMENT[kind]), monotonic(), trip]
    if determinism_check:
        props.append(determinism())
    return props
