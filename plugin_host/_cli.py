"""The ``plugin-host`` command line: run plugin files, and manage a plugin registry.

Exit status: 0 ok, 1 a plugin or registry error, 2 a usage error.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any, Optional, Sequence

import msgspec

from . import FrozenRealm, PluginError
from ._codec import sha256_hex
from ._engines import ENGINES
from ._fuzz_cli import add_command as add_fuzz_command
from ._receipt import DEFAULT_GAS_LIMIT
from .near._commands import add_commands as add_near_commands
from .registry._commands import UsageError, add_commands, print_json, print_result

EXIT_PLUGIN_ERROR = 1
EXIT_USAGE = 2


def _read_input(text: Optional[str]) -> Any:
    if text is None:
        return None
    raw = Path(text[1:]).read_bytes() if text.startswith("@") else text.encode()
    try:
        return msgspec.json.decode(raw)
    except msgspec.DecodeError as e:
        raise UsageError(f"--input is not JSON: {e}") from None


def cmd_hash(args: argparse.Namespace) -> int:
    print(sha256_hex(Path(args.file).read_bytes()))
    return 0


def cmd_run(args: argparse.Namespace) -> int:
    """Call a function of a plugin file in a fresh realm (no registry)."""
    source = Path(args.file).read_bytes()
    realm = FrozenRealm(source, engine=args.engine, gas_limit=args.gas, capabilities=args.capability or ())
    result = realm.call(args.function, _read_input(args.input))
    print_result(result, args.json)
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    from ._demo import main as demo

    return demo(args)


def build_parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(prog="plugin-host", description=__doc__)
    sub = ap.add_subparsers(dest="command", required=True)

    p = sub.add_parser("hash", help="sha256 of a plugin source file (its pin)")
    p.add_argument("file")
    p.set_defaults(func=cmd_hash)

    p = sub.add_parser("run", help="call a function of a plugin file in a fresh realm")
    p.add_argument("file")
    p.add_argument("function")
    p.add_argument("--input", help="JSON, or @file")
    p.add_argument("--gas", type=int, default=DEFAULT_GAS_LIMIT)
    p.add_argument("--engine", choices=ENGINES, default="wasmer")
    p.add_argument("--capability", action="append", help="grant a capability (e.g. log)")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.set_defaults(func=cmd_run)

    p = sub.add_parser("demo", help="the tour: an extensible DEX priced by sandboxed plugins")
    p.add_argument("--fresh", action="store_true", help="start over: delete the demo's state first")
    p.set_defaults(func=cmd_demo)

    add_fuzz_command(sub)
    add_commands(sub, _read_input)
    add_near_commands(sub)
    return ap


def main(argv: Optional[Sequence[str]] = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except PluginError as e:
        return _fail(args, type(e).__name__, str(e), EXIT_PLUGIN_ERROR)
    except UsageError as e:
        return _fail(args, "UsageError", str(e), EXIT_USAGE)
    except OSError as e:  # a file named on the command line is missing or unreadable
        return _fail(args, type(e).__name__, str(e), EXIT_USAGE)


def _fail(args: argparse.Namespace, kind: str, message: str, status: int) -> int:
    print(f"plugin-host: {kind}: {message}", file=sys.stderr)
    if getattr(args, "json", False):
        print_json({"error": {"type": kind, "message": message}})
    return status


if __name__ == "__main__":
    raise SystemExit(main())
