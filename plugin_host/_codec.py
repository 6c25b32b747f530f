"""Canonical encoding: the one encoder and the one decoder of values that cross the boundary.

Python ``int`` <-> JS ``BigInt`` (any size), ``float`` <-> ``Number``, ``str``, ``bool``,
``None`` <-> ``null``, ``list`` / ``tuple`` <-> ``Array``, ``dict[str, ...]`` <-> plain object.
msgspec Structs are accepted as input and cross as plain objects.

The wire format is JSON where an integer literal is an integer and a float always has a
fraction or an exponent (msgspec writes ``1.0``), so the guest can tell BigInt from Number.
Canonical bytes are msgspec's encoding with sorted keys: one representation per value, so
input and output hashes are stable across processes, engines and machines.
"""

from __future__ import annotations

import contextlib
import gc
import hashlib
import math
from typing import Any, Iterator

import msgspec

from .errors import InvalidInput, InvalidOutput

_encoder = msgspec.json.Encoder(order="sorted")
_decoder = msgspec.json.Decoder()

MAX_DEPTH_CEILING = 256  # the walk below is recursive; deeper limits are refused up front


@contextlib.contextmanager
def _collector_paused() -> Iterator[None]:
    """msgspec's decoder and to_builtins recurse natively as deep as a value nests, allocating
    as they go. A garbage collection that starts near Python's recursion limit runs the
    finalizers (__del__) of unrelated garbage -- an engine's native handles, say -- with no
    stack left: they fail, and what they would have released leaks. So deep values are
    converted with the collector paused (process-wide, for that one conversion; it runs at
    the next allocation after): plain values with more than MAX_DEPTH_CEILING opening
    brackets, and msgspec Structs, whose depth is unknown until converted."""
    if not gc.isenabled():
        yield
        return
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


def _may_nest_deeper_than_inputs_can(data: bytes) -> bool:
    """A cheap bound: a value cannot nest deeper than it has opening brackets (nor than it
    has bytes, which spares most inputs the count)."""
    return len(data) > MAX_DEPTH_CEILING and data.count(b"[") + data.count(b"{") > MAX_DEPTH_CEILING


def _check(value: Any, depth: int, max_depth: int, path: str) -> Any:
    """Validate and normalise one value. Returns the value to encode."""
    t = type(value)
    if t is str or t is int or t is bool or value is None:
        return value
    if t is float:
        if not math.isfinite(value):
            raise InvalidInput(f"{path}: {value!r} is not a value (NaN and Infinity cannot cross)")
        return value
    if depth >= max_depth:
        raise InvalidInput(f"{path}: input nested deeper than {max_depth} levels")
    if t is dict:
        out = {}
        for k, v in value.items():
            if type(k) is not str:
                raise InvalidInput(f"{path}: object keys must be str, got {type(k).__name__}")
            out[k] = _check(v, depth + 1, max_depth, f"{path}.{k}")
        return out
    if t is list or t is tuple:
        return [_check(v, depth + 1, max_depth, f"{path}[{i}]") for i, v in enumerate(value)]
    if isinstance(value, msgspec.Struct):
        with _collector_paused():  # converts the whole tree, however deep
            builtins = msgspec.to_builtins(value)
        return _check(builtins, depth, max_depth, path)
    if isinstance(value, int):  # IntEnum and friends cross as their integer value
        return int(value)
    if isinstance(value, float):
        return _check(float(value), depth, max_depth, path)
    if isinstance(value, str):
        return str(value)
    raise InvalidInput(f"{path}: {type(value).__name__} has no JS counterpart "
                       "(use int, float, str, bool, None, list, dict or a msgspec Struct)")


def encode(value: Any, max_depth: int = 64) -> bytes:
    """Canonical bytes of an input value; raises InvalidInput for anything that cannot cross.

    Fast path: if msgspec's encoding decodes back to an equal value, nothing was lost (a NaN,
    a tuple, a non-str key, a datetime or a Struct would not compare equal) and the bytes are
    canonical. Otherwise the strict walk explains what is wrong, or normalises tuples and
    Structs. Nesting depth is enforced by the guest as well."""
    try:
        data = _encoder.encode(value)  # allocates nothing the collector tracks
        if _may_nest_deeper_than_inputs_can(data):
            with _collector_paused():
                same = _decoder.decode(data) == value
        else:
            same = _decoder.decode(data) == value
        if same:
            return data
    except (TypeError, ValueError, RecursionError, UnicodeEncodeError, msgspec.MsgspecError):
        pass
    try:
        checked = _check(value, 0, max_depth, "input")
    except RecursionError:  # a Struct nested past Python's own recursion limit
        raise InvalidInput(f"input: nested deeper than {max_depth} levels") from None
    try:
        return _encoder.encode(checked)
    except UnicodeEncodeError as e:
        raise InvalidInput(f"input: a string is not valid Unicode ({e.reason}; lone surrogates cannot cross)") from None
    except ValueError as e:  # Python refuses int <-> decimal conversions past 4300 digits
        raise InvalidInput(f"input: an integer is too large to encode ({e}); "
                           "see sys.set_int_max_str_digits") from None


def decode(raw: bytes) -> Any:
    """A value the guest emitted."""
    try:
        return _decoder.decode(raw)
    except msgspec.DecodeError as e:
        # the one thing the guest emits that Python may refuse: an integer past Python's
        # int <-> decimal limit (4300 digits by default, sys.set_int_max_str_digits)
        raise InvalidOutput(f"the output cannot be read back: {e} (integers are limited to "
                            "Python's int/str conversion limit, 4300 digits by default)") from None


def canonical(value: Any) -> bytes:
    return _encoder.encode(value)


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()
