"""What the fuzzer calls, and what one call gave back.

A *target* is one function under test: a plugin function run in FrozenRealms
(:class:`PluginTarget`), or any Python callable (:class:`CallableTarget`, for references,
fakes and tests of the properties themselves). ``target.call(data)`` never raises for what the
function does: every answer, typed error or stray exception becomes an :class:`Outcome`, so the
properties decide what is a bug.
"""

from __future__ import annotations

import hashlib
import os
import time
from pathlib import Path
from typing import Any, Callable, Iterable, Optional, Sequence, Union

import msgspec

from .. import _codec
from .._engines import ENGINES
from .._realm import FrozenRealm
from .._receipt import Receipt
from ..errors import PluginError, RuntimeUnavailable

__all__ = ["Outcome", "Target", "PluginTarget", "CallableTarget", "to_json", "load_source"]



def to_json(value: Any) -> str:
    """A value as ready-to-paste JSON, in the canonical encoding the realm uses (sorted keys,
    integers of any size as integer literals, so ``plugin-host run --input`` reads it back)."""
    try:
        return _codec.canonical(value).decode()
    except (TypeError, ValueError, msgspec.MsgspecError):
        return repr(value)  # not JSON at all (a custom strategy's value): the repr still helps


class Outcome(msgspec.Struct, frozen=True):
    """One call: its ``output``, or the ``error`` it ended with (a PluginError, or an untyped
    exception if the target misbehaved), the gas it used and its wall time. ``receipt`` is the
    realm's receipt (None for a callable target)."""

    output: Any = None
    error: Optional[BaseException] = None
    gas_used: int = 0
    seconds: float = 0.0
    receipt: Optional[Receipt] = None

    @property
    def ok(self) -> bool:
        return self.error is None

    def fingerprint(self) -> str:
        """What the determinism claim covers. For a realm it is the receipt's digest: runtime,
        plugin, function, input, limits, output bytes or error, and gas, but not the engine."""
        if self.receipt is not None:
            return self.receipt.digest()
        err = self.error
        claim = [self.output if err is None else None, None if err is None else type(err).__name__,
                 None if err is None else str(err), self.gas_used]
        return hashlib.sha256(to_json(claim).encode()).hexdigest()

    def describe(self, limit: int = 300) -> str:
        if self.error is None:
            text = f"returned {to_json(self.output)}"
        else:
            text = f"{type(self.error).__name__}: {self.error}"
        text = text if len(text) <= limit else text[:limit] + "..."
        return f"{text} (gas {self.gas_used})"


class Target:
    """One function under test. Subclasses implement ``_invoke``."""

    function: str = ""
    engine: str = "python"
    label: str = ""

    @property
    def engines(self) -> tuple[str, ...]:
        """The engines this target can run on (determinism compares them)."""
        return (self.engine,)

    def call(self, data: Any, *, engine: Optional[str] = None, fresh: bool = False) -> Outcome:
        """Run the function on ``data``: on ``engine`` (default: the target's own), in a brand
        new instance if ``fresh``. Never raises for what the function does."""
        start = time.perf_counter()
        try:
            output, gas, receipt = self._invoke(data, engine or self.engine, fresh)
        except Exception as e:  # noqa: BLE001 - every failure is evidence for the properties
            receipt = getattr(e, "receipt", None) if isinstance(e, PluginError) else None
            gas = receipt.gas_used if receipt is not None else 0
            return Outcome(None, e, gas, time.perf_counter() - start, receipt)
        return Outcome(output, None, gas, time.perf_counter() - start, receipt)

    def _invoke(self, data: Any, engine: str, fresh: bool) -> tuple[Any, int, Optional[Receipt]]:
        raise NotImplementedError

    def check(self, data: Any, *properties: Any) -> Outcome:
        """Call the function on ``data`` and check every property; raise PropertyFailed (an
        AssertionError whose message carries ``data`` as ready-to-paste JSON) on the first
        violation. Made for ``@given`` tests."""
        from ._properties import check_all  # the properties module depends on this one

        outcome = self.call(data)
        check_all(self, data, outcome, properties)
        return outcome

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.label}>"


def load_source(ref_or_file: Union[str, os.PathLike], *, registry: Optional[str] = None) -> tuple[bytes, str]:
    """A plugin's source and a label for it: a ``.js`` file, or a registry reference (a sha256 or
    ``name@version``; the plugin need not be active: auditors fuzz before they attest). The
    registry re-verifies the stored source against its sha256."""
    path = Path(ref_or_file)
    if path.is_file():
        return path.read_bytes(), str(path)
    ref = str(ref_or_file)
    if ref.endswith((".js", ".mjs")) or os.sep in ref:
        raise FileNotFoundError(f"no such plugin file: {ref}")
    from ..registry import PluginRegistry
    from ..registry._commands import default_registry

    with PluginRegistry(registry or default_registry()) as reg:
        rec = reg.get(ref)
        return reg.source(rec), rec.ref


class PluginTarget(Target):
    """A function of one plugin, in FrozenRealms: one warm realm per engine, reused for every
    input (the realm restores its snapshot before each call, so calls stay isolated), and a new
    realm whenever a property asks for a fresh one.

        target = PluginTarget.load("plugins/uniswap-v2.js", "calculateSwap", gas_limit=2_000_000)
        target.call({...}).output

    ``realm_options`` are FrozenRealm's (``gas_limit``, ``memory_limit``, ``capabilities``, ...).
    """

    def __init__(self, source: Union[str, bytes], function: str, *, engine: str = "wasmer",
                 label: Optional[str] = None, **realm_options: Any):
        self.source = source.encode() if isinstance(source, str) else bytes(source)
        self.function = function
        self.engine = engine
        self.realm_options = realm_options
        self.plugin_sha256 = hashlib.sha256(self.source).hexdigest()
        self._realms: dict[str, FrozenRealm] = {}
        self.origin: Optional[str] = None  # the file or registry entry it was loaded from
        realm = self.realm(engine)  # load now: a plugin that does not load is not fuzzable
        meta = realm.metadata
        name = f"{meta['name']}@{meta.get('version', '?')}" if isinstance(meta.get("name"), str) else None
        self.label = label or name or self.plugin_sha256[:12]
        self._available: Optional[tuple[str, ...]] = None

    @classmethod
    def load(cls, ref_or_file: Union[str, os.PathLike], function: str, *, registry: Optional[str] = None,
             **options: Any) -> "PluginTarget":
        """From a ``.js`` file or a registry reference (see :func:`load_source`)."""
        source, where = load_source(ref_or_file, registry=registry)
        target = cls(source, function, **options)
        if target.label == target.plugin_sha256[:12]:
            target.label = where
        target.origin = str(ref_or_file) if Path(ref_or_file).is_file() else f"registry:{where}"
        return target

    def realm(self, engine: Optional[str] = None) -> FrozenRealm:
        """The warm realm of ``engine`` (created on first use)."""
        engine = engine or self.engine
        realm = self._realms.get(engine)
        if realm is None:
            realm = self._realms[engine] = FrozenRealm(self.source, engine=engine, **self.realm_options)
        return realm

    @property
    def engines(self) -> tuple[str, ...]:
        """Every engine that runs here (wasmer has no wheels past CPython 3.10)."""
        if self._available is None:
            ok = []
            for e in ENGINES:
                try:
                    self.realm(e)
                    ok.append(e)
                except RuntimeUnavailable:
                    pass
            self._available = tuple(ok)
        return self._available

    def _invoke(self, data: Any, engine: str, fresh: bool) -> tuple[Any, int, Optional[Receipt]]:
        realm = self.realm(engine).fork() if fresh else self.realm(engine)
        res = realm.call(self.function, data)
        return res.output, res.gas_used, res.receipt


class CallableTarget(Target):
    """A Python function as a target: ``factory()`` makes a new instance of it (a fresh one is
    made when a property asks for it), and calling the instance with the input returns the output;
    raising a PluginError is a typed failure, anything else an untyped one. Gas is 0.

        CallableTarget(lambda: reference_quote)                   # a pure function
        CallableTarget(QuoteCache)                                # a class: a fresh instance each time
    """

    def __init__(self, factory: Callable[[], Callable[[Any], Any]], *, label: Optional[str] = None,
                 function: str = ""):
        self.factory = factory
        self.function = function or getattr(factory, "__name__", "function")
        self.label = label or self.function
        self._instance: Optional[Callable[[Any], Any]] = None

    def _invoke(self, data: Any, engine: str, fresh: bool) -> tuple[Any, int, Optional[Receipt]]:
        if fresh:
            return self.factory()(data), 0, None
        if self._instance is None:
            self._instance = self.factory()
        return self._instance(data), 0, None


def other_engines(target: Target, engines: Optional[Sequence[str]]) -> Iterable[str]:
    """The engines to compare the target's own against: the named ones, or every one available."""
    if engines is None:
        chosen: Sequence[str] = target.engines
    elif isinstance(target, PluginTarget):
        chosen = engines  # asked for by name: an engine that cannot load is an error, not a skip
    else:
        chosen = [e for e in engines if e in target.engines]
    return [e for e in chosen if e != target.engine]
