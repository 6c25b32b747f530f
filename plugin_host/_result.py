"""CallResult: what a successful call returns -- its output, gas, logs and (lazily) receipt."""

from __future__ import annotations

from typing import Any, Optional

from . import _codec
from ._receipt import Receipt

__all__ = ["CallResult", "receipt_fields"]


_set = object.__setattr__  # CallResult's own way past its immutability


def receipt_fields(realm_fields: dict, function: str, limits: Any, calls: list) -> dict:
    """A receipt's fields but the hashes and the gas: the realm's (runtime, plugin, engine),
    the call's, and the plugins it composed, if any."""
    fields = dict(realm_fields, function=function, limits=limits)
    if calls:
        fields["calls"] = list(calls)
    return fields


class CallResult:
    """A successful call: its ``output``, ``gas_used``, captured ``logs`` and ``receipt``.

    The receipt is built when first read: hashing the input and the output is about a tenth of
    a short call's time (measured: 7-11 µs of a Curve quote), and many callers -- quoting,
    fuzzing -- never read it. It is built from the bytes that crossed the boundary, so it
    describes the call as made, whatever happens to ``output`` in between. Immutable."""

    __slots__ = ("output", "gas_used", "logs", "_receipt", "_claim")

    def __init__(self, output: Any, gas_used: int, receipt: Optional[Receipt] = None, logs: str = "", *,
                 claim: Optional[tuple] = None):
        if receipt is None and claim is None:
            raise TypeError("CallResult needs a receipt or the claim to build it from")
        _set(self, "output", output)
        _set(self, "gas_used", gas_used)
        _set(self, "logs", logs)
        _set(self, "_receipt", receipt)
        _set(self, "_claim", claim)

    @classmethod
    def _made(cls, output: Any, gas_used: int, logs: str, claim: tuple) -> "CallResult":
        """The realm's own constructor, on its hot path: the same object as __init__ makes,
        set through the slots' descriptors rather than five object.__setattr__ calls."""
        self = _new(cls)
        _put_output(self, output)
        _put_gas(self, gas_used)
        _put_logs(self, logs)
        _put_receipt(self, None)
        _put_claim(self, claim)
        return self

    @property
    def receipt(self) -> Receipt:
        if self._receipt is None:
            # input bytes, output bytes, and the other fields: merged here, not on every call
            payload, out, *fields = self._claim
            receipt = Receipt(input_sha256=_codec.sha256_hex(payload),
                              output_sha256=_codec.sha256_hex(_codec.canonical(_codec.decode(out))),
                              gas_used=self.gas_used, **receipt_fields(*fields))
            _set(self, "_receipt", receipt)  # racing threads build equal receipts
            _set(self, "_claim", None)
        return self._receipt

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError(f"CallResult is immutable (cannot set {name!r})")

    def __delattr__(self, name: str) -> None:
        raise AttributeError(f"CallResult is immutable (cannot delete {name!r})")

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, CallResult):
            return NotImplemented
        return (self.output, self.gas_used, self.logs, self.receipt) == \
            (other.output, other.gas_used, other.logs, other.receipt)

    __hash__ = None  # type: ignore[assignment]  # output may be a dict

    def __repr__(self) -> str:
        return (f"CallResult(output={self.output!r}, gas_used={self.gas_used!r}, "
                f"receipt={self.receipt!r}, logs={self.logs!r})")


_new = object.__new__
_put_output, _put_gas, _put_logs, _put_receipt, _put_claim = (
    getattr(CallResult, name).__set__ for name in CallResult.__slots__)
