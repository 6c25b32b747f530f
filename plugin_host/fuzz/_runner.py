"""``fuzz.run``: many inputs through one warm realm, under hypothesis, summed up in a FuzzReport.

Each hypothesis example is a batch of up to ``batch`` inputs, drawn and run one after another
through the same target (every realm call still starts from the realm's snapshot). Batching
pays hypothesis's per-example cost (~0.4 ms here) once per batch instead of once per input; a
failure ends its batch, hypothesis shrinks that batch, and the report keeps its failing input.
"""

from __future__ import annotations

import hashlib
import math
import os
import random
import statistics
import time
from pathlib import Path
from typing import Any, Callable, Iterable, Optional, Union

import msgspec
from hypothesis import HealthCheck, Phase, Verbosity, given, settings
from hypothesis import seed as hypothesis_seed
from hypothesis import strategies as st
from hypothesis.database import DirectoryBasedExampleDatabase, ExampleDatabase
from hypothesis.errors import FlakyFailure, FlakyStrategyDefinition

from ..errors import PluginException
from ._properties import PropertyFailed, as_property, check_all
from ._target import PluginTarget, Target, to_json

__all__ = ["run", "FuzzReport", "Counterexample", "PropertyStats", "SlowInput", "data_dir", "example_database"]

DATA_DIR_ENV = "PLUGIN_HOST_DATA_DIR"
DEFAULT_DATA_DIR = ".plugin-host"


def data_dir() -> Path:
    """The project's data directory: ``$PLUGIN_HOST_DATA_DIR``, or ``.plugin-host`` here."""
    return Path(os.environ.get(DATA_DIR_ENV) or DEFAULT_DATA_DIR)


def example_database(path: Union[None, str, os.PathLike] = None) -> ExampleDatabase:
    """Hypothesis's example database in the data directory (``<data dir>/hypothesis``): failing
    inputs found once are replayed first the next time."""
    return DirectoryBasedExampleDatabase(str(Path(path) if path is not None else data_dir() / "hypothesis"))


class _Namespaced(ExampleDatabase):
    """One database, a key space per (plugin, function, strategy, properties): ``run`` always
    wraps the same inner test function, whose own key would be shared by every target."""

    def __init__(self, db: ExampleDatabase, namespace: bytes):
        super().__init__()
        self._db, self._ns = db, namespace

    def save(self, key: bytes, value: bytes) -> None:
        self._db.save(self._ns + key, value)

    def fetch(self, key: bytes) -> Iterable[bytes]:
        return self._db.fetch(self._ns + key)

    def delete(self, key: bytes, value: bytes) -> None:
        self._db.delete(self._ns + key, value)

    def move(self, src: bytes, dest: bytes, value: bytes) -> None:
        self._db.move(self._ns + src, self._ns + dest, value)


class SlowInput(msgspec.Struct, frozen=True):
    seconds: float
    input_json: str


class PropertyStats(msgspec.Struct, frozen=True):
    name: str
    checked: int  # inputs it applied to
    skipped: int  # inputs it did not apply to (a round trip after a revert, ...)


class Counterexample(msgspec.Struct, frozen=True):
    """The shrunk failing input. ``flaky``: it failed once but not when replayed (the target
    depends on something besides its input)."""

    property: str
    reason: str
    input_json: str
    outcome: str
    flaky: bool = False


class FuzzReport(msgspec.Struct, kw_only=True):
    target: str
    function: str
    plugin_sha256: Optional[str]
    origin: Optional[str]  # the plugin file, or "registry:name@version"
    engine: str
    seed: int
    examples: int  # inputs run while searching (shrinking not included)
    answered: int  # of which the plugin returned a value
    errors: dict  # for the rest: error class (and revert reason) -> count, most frequent first
    gas_min: int
    gas_median: int
    gas_max: int
    search_seconds: float  # until the first failure, or the end
    seconds: float  # the whole run, shrinking included
    slowest: Optional[SlowInput]
    properties: list
    failure: Optional[Counterexample] = None
    shrink_calls: int = 0

    @property
    def ok(self) -> bool:
        return self.failure is None

    @property
    def examples_per_second(self) -> float:
        return self.examples / self.search_seconds if self.search_seconds > 0 else 0.0

    def summary(self) -> str:
        """The report as plain text (what ``plugin-host fuzz`` prints)."""
        from ._report import render

        return render(self)


class _Run:
    """The mutable state of one run, shared by the hypothesis test body."""

    def __init__(self, examples: int, progress: Optional[Callable[[int, int], None]]):
        self.limit, self.progress = examples, progress
        self.done = self.answered = self.shrink_calls = 0
        self.errors: dict[str, int] = {}
        self.gas: list[int] = []
        self.applied: dict[str, int] = {}
        self.slowest: tuple[float, Any] = (-1.0, None)
        self.first: Optional[PropertyFailed] = None
        self.last: Optional[PropertyFailed] = None
        self.failing: dict[tuple[int, str], PropertyFailed] = {}  # (index in batch, input JSON) -> failure
        self.start = time.perf_counter()
        self.search_end: Optional[float] = None

    def record(self, data: Any, outcome: Any) -> None:
        self.done += 1
        self.gas.append(outcome.gas_used)
        if outcome.ok:
            self.answered += 1
        else:
            key = _error_key(outcome.error)
            self.errors[key] = self.errors.get(key, 0) + 1
        if outcome.seconds > self.slowest[0]:
            self.slowest = (outcome.seconds, data)
        if self.progress is not None:
            self.progress(self.done, self.limit)


def _error_key(err: BaseException) -> str:
    """``PluginException(INSUFFICIENT_LIQUIDITY)``: a revert by its reason (the message up to its
    first colon), so the report shows which reverts the inputs hit."""
    name = type(err).__name__
    if isinstance(err, PluginException):
        reason = (err.js_message or str(err)).split(":")[0].strip()[:40]
        return f"{name}({reason})" if reason else name
    return name


def _namespace(target: Target, strategy: Any, properties: list) -> bytes:
    ident = [getattr(target, "plugin_sha256", None) or target.label, target.function, repr(strategy),
             [p.name for p in properties]]
    return hashlib.sha256(to_json(ident).encode()).hexdigest()[:32].encode() + b"."


def run(target: Target, strategy: Any, properties: Iterable[Any] = (), *, examples: int = 1000,
        seed: Optional[int] = None, batch: int = 16, database: Union[None, str, os.PathLike, ExampleDatabase] = None,
        shrink_budget: int = 2000, progress: Optional[Callable[[int, int], None]] = None) -> FuzzReport:
    """Fuzz ``target`` with ``examples`` inputs drawn from ``strategy`` (rounded up to whole
    batches), checking ``properties`` on each; stop at the first violation, shrink it, and report.

    ``seed`` makes the run reproducible (None: a random one, recorded in the report). ``database``:
    a hypothesis ExampleDatabase or a directory for one (None: none; the CLI uses the data
    directory), so failures found once are replayed first. Shrinking stops after
    ``shrink_budget`` inputs (the counterexample is then the smallest found so far; hypothesis
    alone may spend minutes on a slow plugin). ``progress(done, total)`` is called
    after every input. Raises what a property raises other than an AssertionError (a bug in the
    property), and hypothesis's own errors (e.g. Unsatisfiable) as they are.
    """
    if examples < 1 or batch < 1:
        raise ValueError("examples and batch must be at least 1")
    props = [as_property(p) for p in properties]
    seed = random.SystemRandom().randrange(2**32) if seed is None else seed
    if database is not None and not isinstance(database, ExampleDatabase):
        database = example_database(database)
    db = _Namespaced(database, _namespace(target, strategy, props)) if database is not None else None
    state = _Run(batch * math.ceil(examples / batch), progress)

    def body(draws: Any) -> None:
        # Whole batches only: what an example draws must not depend on anything but its own
        # choices (say, how many inputs ran before), or hypothesis calls the strategy flaky.
        for index in range(batch):
            searching = state.first is None
            data = draws.draw(strategy)
            if not searching and state.shrink_calls >= shrink_budget:
                # out of budget: only inputs seen failing still fail (without another call), so the
                # shrinker stops, and hypothesis's final replay of its best example raises again.
                # Every other input passes, but is still drawn: a batch seen before must draw what
                # it drew then, or hypothesis calls the strategy flaky.
                seen = state.failing.get((index, to_json(data)))
                if seen is not None:
                    state.last = seen
                    raise seen
                continue
            outcome = target.call(data)
            if searching:
                state.record(data, outcome)
            else:
                state.shrink_calls += 1
            try:
                check_all(target, data, outcome, props, state.applied if searching else None)
            except PropertyFailed as e:
                if state.first is None:
                    state.first, state.search_end = e, time.perf_counter()
                state.last = state.failing[(index, e.input_json)] = e
                raise

    # inputs are drawn one at a time, so that a failure ends the example: shrinking then never
    # regenerates the inputs after the failing one
    test = hypothesis_seed(seed)(given(st.data())(body))
    # settings after @seed: @seed turns the database off, and here the seed only fixes what is
    # generated; failures found before are still replayed first
    test = settings(max_examples=math.ceil(examples / batch), database=db, deadline=None,
                    phases=(Phase.explicit, Phase.reuse, Phase.generate, Phase.shrink),
                    suppress_health_check=list(HealthCheck), report_multiple_bugs=False,
                    verbosity=Verbosity.quiet, print_blob=False)(test)
    flaky = False
    try:
        test()
    except PropertyFailed as e:
        state.last = e
    except (FlakyFailure, FlakyStrategyDefinition):
        if state.first is None:
            raise  # no failure seen: the strategy itself depends on something outside its draws
        # a failure that did not repeat on replay, or that moved within its batch: the target's
        # answers depend on more than its input (state kept between calls); report the first one
        flaky = True
        state.last = state.first
    end = time.perf_counter()
    return _report(target, state, props, seed, end, flaky)


def _report(target: Target, state: _Run, props: list, seed: int, end: float, flaky: bool) -> FuzzReport:
    gas = state.gas or [0]
    failure = None
    if state.last is not None:
        e = state.last
        failure = Counterexample(e.property, e.reason, e.input_json, e.outcome.describe(), flaky)
    slow_s, slow_in = state.slowest
    return FuzzReport(
        target=target.label, function=target.function,
        plugin_sha256=target.plugin_sha256 if isinstance(target, PluginTarget) else None,
        origin=getattr(target, "origin", None),
        engine=target.engine, seed=seed, examples=state.done, answered=state.answered,
        errors=dict(sorted(state.errors.items(), key=lambda kv: (-kv[1], kv[0]))), gas_min=min(gas), gas_median=int(statistics.median_low(gas)),
        gas_max=max(gas), search_seconds=(state.search_end or end) - state.start, seconds=end - state.start,
        slowest=SlowInput(slow_s, to_json(slow_in)) if slow_s >= 0 else None,
        properties=[PropertyStats(p.name, state.applied.get(p.name, 0),
                                  state.done - state.applied.get(p.name, 0)) for p in props],
        failure=failure, shrink_calls=state.shrink_calls)
