"""``plugin-host fuzz``: property-based fuzzing of one plugin function from the command line.

Kept apart from plugin_host.fuzz so that building the parser does not import hypothesis: the
other commands start faster without it.
"""

from __future__ import annotations

import argparse
import importlib
import importlib.util
import os
import sys
import time
from typing import Any, Callable

from ._engines import ENGINES
from ._receipt import DEFAULT_GAS_LIMIT
from .registry._commands import REGISTRY_ENV, UsageError, default_registry, print_json

PROPERTY_NAMES = ("totality", "gas", "determinism", "conservation", "monotonic", "round-trip")
KIND_NAMES = ("curve", "constant-product", "solidly")


def add_command(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "fuzz", help="property-based fuzzing of a plugin function (hypothesis)",
        description="Fuzz FUNCTION of a plugin with generated inputs and check properties on every answer. "
                    "Exit 0 if none failed, 1 on a failure (the shrunk input is printed as JSON), 2 on a usage error.")
    p.add_argument("plugin", metavar="REF_OR_FILE", help="a plugin .js file, or a registry reference (sha256 or name@version)")
    p.add_argument("function")
    what = p.add_mutually_exclusive_group(required=True)
    what.add_argument("--kind", choices=KIND_NAMES, help="AMM calculateSwap inputs on pools of this kind")
    what.add_argument("--strategy", metavar="MODULE:NAME",
                      help="a hypothesis strategy, a msgspec Struct (fuzzed from its fields) or a function returning a "
                           "strategy; MODULE is a dotted module or a .py file")
    p.add_argument("--examples", type=int, default=1000,
                   help="inputs to run (default 1000; rounded up to whole batches)")
    p.add_argument("--seed", type=int, help="reproduce a run (default: random, printed)")
    p.add_argument("--property", action="append", metavar="NAME|MODULE:NAME", dest="properties",
                   help=f"check this property (repeatable): {', '.join(PROPERTY_NAMES)}, or your own (a Property, a "
                        "list of them, or a function (target, data, outcome)). Default: with --kind every AMM "
                        "property, else totality, gas and determinism")
    p.add_argument("--gas-budget", type=int, help="the gas property's budget (default: --gas)")
    p.add_argument("--gas", type=int, default=DEFAULT_GAS_LIMIT, help="the realm's gas limit per call")
    p.add_argument("--engine", choices=ENGINES, default="wasmer")
    p.add_argument("--capability", action="append", help="grant a capability (e.g. log)")
    p.add_argument("--batch", type=int, default=16, help="inputs per hypothesis example (default 16)")
    p.add_argument("--no-database", action="store_true",
                   help="do not read or write the example database (<data dir>/hypothesis; the data dir is "
                        "$PLUGIN_HOST_DATA_DIR or .plugin-host)")
    p.add_argument("--registry", default=default_registry(),
                   help=f"the registry database, for a REF (default: ${REGISTRY_ENV} or .plugin-host/registry.sqlite)")
    p.add_argument("--json", action="store_true", help="print the report as JSON")
    p.set_defaults(func=cmd_fuzz)


def _import(spec: str) -> Any:
    """``MODULE:NAME``: MODULE is a dotted module (found from the current directory too) or a
    .py file."""
    module, sep, name = spec.rpartition(":")
    if not sep or not module or not name:
        raise UsageError(f"{spec!r} is not MODULE:NAME")
    try:
        if module.endswith(".py") or os.sep in module:
            loaded = importlib.util.spec_from_file_location(f"_plugin_host_fuzz_{abs(hash(module))}", module)
            if loaded is None or loaded.loader is None:
                raise UsageError(f"cannot load {module}")
            mod = importlib.util.module_from_spec(loaded)
            loaded.loader.exec_module(mod)
        else:
            if os.getcwd() not in sys.path:
                sys.path.insert(0, os.getcwd())
            mod = importlib.import_module(module)
    except (ImportError, OSError, SyntaxError) as e:
        raise UsageError(f"cannot import {module}: {e}") from None
    try:
        return getattr(mod, name)
    except AttributeError:
        raise UsageError(f"{module} has no {name}") from None


def _strategy(args: argparse.Namespace, fuzz: Any) -> Any:
    from hypothesis.strategies import SearchStrategy

    if args.kind:
        return fuzz.swap_requests(fuzz.pool_states(args.kind))
    obj = _import(args.strategy)
    if isinstance(obj, SearchStrategy):
        return obj
    if isinstance(obj, type):
        return fuzz.from_struct(obj)
    if callable(obj):
        made = obj()
        if isinstance(made, SearchStrategy):
            return made
    raise UsageError(f"{args.strategy} is not a strategy, a Struct type, or a function returning a strategy")


def _properties(args: argparse.Namespace, fuzz: Any, budget: int) -> list:
    from .fuzz._properties import KIND_FEE_TREATMENT

    builtin: dict[str, Callable[[], Any]] = {
        "totality": fuzz.totality, "gas": lambda: fuzz.gas_bound(budget), "determinism": fuzz.determinism,
        "conservation": lambda: fuzz.conservation(KIND_FEE_TREATMENT.get(args.kind or "")),
        "monotonic": fuzz.monotonic, "round-trip": fuzz.round_trip}
    if not args.properties:
        if args.kind:
            return fuzz.amm_properties(args.kind, gas_budget=budget)
        return [fuzz.totality(), fuzz.gas_bound(budget), fuzz.determinism()]
    out: list = []
    for name in args.properties:
        if name in builtin:
            out.append(builtin[name]())
            continue
        if ":" not in name:
            raise UsageError(f"unknown property {name!r}: use one of {', '.join(PROPERTY_NAMES)} or MODULE:NAME")
        obj = _import(name)
        items = list(obj) if isinstance(obj, (list, tuple)) else [obj]
        if not all(isinstance(o, fuzz.Property) or callable(o) for o in items):
            raise UsageError(f"{name} is not a Property, a list of them, or a function (target, data, outcome)")
        out += items
    return out


class _Progress:
    """A one-line progress bar on stderr, when stderr is a terminal."""

    def __init__(self, enabled: bool):
        self.enabled = enabled
        self.start = self.last = time.perf_counter()

    def __call__(self, done: int, total: int) -> None:
        now = time.perf_counter()
        if not self.enabled or (now - self.last < 0.1 and done < total):
            return
        self.last = now
        width = 30
        filled = width * done // max(total, 1)
        rate = done / (now - self.start) if now > self.start else 0.0
        sys.stderr.write(f"\r  [{'#' * filled}{'.' * (width - filled)}] {done}/{total}  {rate:,.0f}/s ")
        sys.stderr.flush()

    def close(self) -> None:
        if self.enabled:
            sys.stderr.write("\r" + " " * 70 + "\r")
            sys.stderr.flush()


def cmd_fuzz(args: argparse.Namespace) -> int:
    from hypothesis.errors import InvalidArgument

    from . import fuzz

    if args.examples < 1 or args.batch < 1:
        raise UsageError("--examples and --batch must be at least 1")
    budget = args.gas_budget if args.gas_budget is not None else args.gas
    try:
        strategy = _strategy(args, fuzz)
        props = _properties(args, fuzz, budget)
    except InvalidArgument as e:
        raise UsageError(str(e)) from None
    # a gas budget below the realm's limit becomes the limit: runaway inputs stop at the budget
    target = fuzz.PluginTarget.load(args.plugin, args.function, registry=args.registry, engine=args.engine,
                                    gas_limit=min(args.gas, budget), capabilities=args.capability or ())
    if args.function not in target.realm().exports:
        raise UsageError(f"{target.label} exports no function {args.function!r} "
                         f"(it exports {', '.join(target.realm().exports)})")
    quiet = args.json or not sys.stderr.isatty()
    if not args.json:
        print(f"fuzzing {target.label} {args.function}: {args.batch * -(-args.examples // args.batch)} examples, "
              f"properties {', '.join(getattr(p, 'name', getattr(p, '__name__', '?')) for p in props)}", file=sys.stderr)
    bar = _Progress(not quiet)
    try:
        report = fuzz.run(target, strategy, props, examples=args.examples, seed=args.seed, batch=args.batch,
                          database=None if args.no_database else fuzz.example_database(), progress=bar)
    except InvalidArgument as e:
        raise UsageError(str(e)) from None
    finally:
        bar.close()
    if args.json:
        print_json(report)
    else:
        print(report.summary())
    return 0 if report.ok else 1


__all__ = ["add_command", "cmd_fuzz"]
