"""``from_struct``: a strategy from a msgspec Struct (or dataclass) describing a plugin's input.

The type annotations are walked with ``typing`` rather than ``msgspec.inspect``: msgspec refuses
integer bounds outside int64 there, and DeFi inputs are bounded by 2**112 or 2**256.
"""

from __future__ import annotations

import dataclasses
import enum
import types
import typing
from typing import Any, Literal, Optional, Union

import msgspec
from hypothesis import strategies as st
from hypothesis.errors import InvalidArgument
from hypothesis.strategies import SearchStrategy

__all__ = ["from_struct"]

_CHARS = st.characters(exclude_categories=("Cs",))  # lone surrogates cannot cross
_TEXT = st.text(_CHARS, max_size=32)
_JSON = st.recursive(st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False)
                     | _TEXT, lambda inner: st.lists(inner, max_size=4) | st.dictionaries(_TEXT, inner, max_size=4),
                     max_leaves=12)
_CONSTRAINTS = ("gt", "ge", "lt", "le", "multiple_of", "min_length", "max_length", "pattern")


def _constraints(metas: tuple) -> dict:
    out: dict = {}
    for m in metas:
        if isinstance(m, msgspec.Meta):
            out.update({k: getattr(m, k) for k in _CONSTRAINTS if getattr(m, k) is not None})
    return out


def _int(c: dict) -> SearchStrategy[int]:
    lo = c["ge"] if "ge" in c else (c["gt"] + 1 if "gt" in c else None)
    hi = c["le"] if "le" in c else (c["lt"] - 1 if "lt" in c else None)
    m = c.get("multiple_of")
    if not m:
        return st.integers(lo, hi)
    return st.integers(None if lo is None else -(-lo // m), None if hi is None else hi // m).map(lambda k: k * m)


def _float(c: dict) -> SearchStrategy[float]:
    return st.floats(c.get("ge", c.get("gt")), c.get("le", c.get("lt")), exclude_min="gt" in c,
                     exclude_max="lt" in c, allow_nan=False, allow_infinity=False)


def _str(c: dict) -> SearchStrategy[str]:
    lo, hi = c.get("min_length", 0), c.get("max_length")
    if "pattern" in c:
        return st.from_regex(c["pattern"], alphabet=_CHARS).filter(lambda s: lo <= len(s) and (hi is None or len(s) <= hi))
    return st.text(_CHARS, min_size=lo, max_size=hi)


def _fields(cls: type, given: dict, inside: frozenset) -> SearchStrategy:
    if cls in inside:  # a Struct that contains itself (a tree): build it lazily, or never finish
        return st.deferred(lambda: _fields(cls, {}, frozenset()))
    if isinstance(cls, type) and issubclass(cls, msgspec.Struct):
        fields = [(f.name, f.type) for f in msgspec.structs.fields(cls)]
    else:
        hints = typing.get_type_hints(cls, include_extras=True)
        fields = [(f.name, hints[f.name]) for f in dataclasses.fields(cls)]
    inside = inside | {cls}
    return st.builds(cls, **{name: _value(given[name]) if name in given else _strategy(t, inside=inside)
                             for name, t in fields})


def _strategy(t: Any, c: Optional[dict] = None, inside: frozenset = frozenset()) -> SearchStrategy:
    c = c or {}
    origin, args = typing.get_origin(t), typing.get_args(t)
    if origin is typing.Annotated:
        return _strategy(args[0], {**c, **_constraints(t.__metadata__)}, inside)
    if t is bool:
        return st.booleans()
    if t is int:
        return _int(c)
    if t is float:
        return _float(c)
    if t is str:
        return _str(c)
    if t is None or t is type(None):
        return st.none()
    if t is Any:
        return _JSON
    if origin is Literal:
        return st.sampled_from(args)
    if origin is Union or (hasattr(types, "UnionType") and isinstance(t, types.UnionType)):
        return st.one_of(*(_strategy(a, inside=inside) for a in args))
    if origin in (list, tuple) and (origin is not tuple or (len(args) == 2 and args[1] is ...)):
        items = st.lists(_strategy(args[0] if args else Any, inside=inside), min_size=c.get("min_length", 0), max_size=c.get("max_length"))
        return items if origin is not tuple else items.map(tuple)
    if origin is tuple:
        return st.tuples(*(_strategy(a, inside=inside) for a in args))
    if origin is dict:
        key, value = args or (str, Any)
        if key is not str and typing.get_origin(key) is not Literal:
            raise InvalidArgument("only str-keyed dicts cross into a realm")
        return st.dictionaries(_strategy(key), _strategy(value, inside=inside), min_size=c.get("min_length", 0),
                               max_size=c.get("max_length"))
    if isinstance(t, type) and issubclass(t, enum.Enum):
        return st.sampled_from(list(t))
    if isinstance(t, type) and (issubclass(t, msgspec.Struct) or dataclasses.is_dataclass(t)):
        return _fields(t, {}, inside)
    if typing.is_typeddict(t):
        hints = typing.get_type_hints(t, include_extras=True)
        return st.fixed_dictionaries({k: _strategy(v) for k, v in hints.items() if k in t.__required_keys__},
                                     optional={k: _strategy(v) for k, v in hints.items() if k in t.__optional_keys__})
    raise InvalidArgument(f"{t!r} has no JS counterpart: plugin inputs are int, float, str, bool, None, lists, "
                          "str-keyed dicts, Literals, Enums and Structs of them")


def _value(v: Any) -> SearchStrategy:
    return v if isinstance(v, SearchStrategy) else st.just(v)


def from_struct(struct_type: type, **fields: Any) -> SearchStrategy:
    """Instances of a msgspec Struct (or dataclass) describing a plugin's input, from its type
    annotations and ``msgspec.Meta`` constraints (``ge``/``gt``/``le``/``lt``/``multiple_of``,
    lengths, ``pattern``; integer bounds of any size); any keyword pins a field to a value or a
    strategy. Structs cross into the realm as objects, under their encoded (renamed) names.

        class Quote(msgspec.Struct, rename="camel"):
            amount_in: Annotated[int, msgspec.Meta(ge=1, lt=2**112)]
            reserve_in: Annotated[int, msgspec.Meta(ge=1, lt=2**112)]
            reserve_out: Annotated[int, msgspec.Meta(ge=1, lt=2**112)]
            fee_bps: Annotated[int, msgspec.Meta(ge=0, le=100)] = 30

        @given(fuzz.from_struct(Quote, fee_bps=30))
    """
    if not (isinstance(struct_type, type) and (issubclass(struct_type, msgspec.Struct)
                                               or dataclasses.is_dataclass(struct_type))):
        raise InvalidArgument(f"from_struct needs a msgspec Struct or a dataclass, not {struct_type!r}")
    names = ({f.name for f in msgspec.structs.fields(struct_type)} if issubclass(struct_type, msgspec.Struct)
             else {f.name for f in dataclasses.fields(struct_type)})
    unknown = set(fields) - names
    if unknown:
        raise InvalidArgument(f"{struct_type.__name__} has no field(s) {sorted(unknown)}")
    return _fields(struct_type, fields, frozenset())
