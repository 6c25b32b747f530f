"""The registry's ``plugin-host`` subcommands (the parser itself is in ``plugin_host/_cli.py``).

Each command prints a table or a few lines for people, or JSON with ``--json``. Exit codes:
0 ok, 1 a plugin or registry error, 2 a usage error.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import sys
from pathlib import Path
from typing import Any, Sequence

import msgspec

from .._engines import ENGINES
from ..errors import InvalidKey
from . import _index, _keys
from ._policy import RegistryPolicy
from ._registry import PluginRecord, PluginRegistry

__all__ = ["add_commands", "UsageError", "default_registry"]

REGISTRY_ENV = "PLUGIN_HOST_REGISTRY"
DEFAULT_REGISTRY = os.path.join(".plugin-host", "registry.sqlite")


class UsageError(Exception):
    """Bad command-line input: exit status 2."""


def default_registry() -> str:
    return os.environ.get(REGISTRY_ENV) or DEFAULT_REGISTRY


def print_json(obj: Any) -> None:
    sys.stdout.write(msgspec.json.format(msgspec.json.encode(obj, order="sorted"), indent=2).decode() + "\n")


def table(rows: Sequence[Sequence[Any]], headers: Sequence[str]) -> None:
    cells = [[str(h) for h in headers]] + [["" if v is None else str(v) for v in r] for r in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(headers))]
    for r in cells:
        print("  ".join(v.ljust(w) for v, w in zip(r, widths)).rstrip())


def _when(ts: int) -> str:
    return datetime.datetime.fromtimestamp(ts, datetime.timezone.utc).strftime("%Y-%m-%d %H:%M:%SZ")


def _open(args: argparse.Namespace) -> PluginRegistry:
    return PluginRegistry(args.registry, engine=getattr(args, "engine", None) or "wasmer")


def _summary(rec: PluginRecord) -> str:
    return f"{rec.ref}  {rec.sha256}  ({'active' if rec.active else 'inactive'})"


def _csv(text: str) -> tuple[str, ...]:
    return tuple(x.strip() for x in text.split(",") if x.strip())


# ---- commands ------------------------------------------------------------------------------------


def cmd_install(args: argparse.Namespace) -> int:
    with _open(args) as reg:
        rec = reg.install(Path(args.file).read_bytes(), expected_sha256=args.sha256)
        if args.activate:
            rec = reg.activate(rec)
    if args.json:
        print_json(rec)
    else:
        print(f"installed {_summary(rec)}")
    return 0


def cmd_list(args: argparse.Namespace) -> int:
    with _open(args) as reg:
        records = reg.list(name=args.name, active=args.active)
    if args.json:
        print_json(records)
    elif not records:
        print(f"no plugins installed in {args.registry}")
    else:
        table([(r.name, r.version, r.kind or "-", "yes" if r.active else "no", r.sha256[:16],
                ",".join(r.capabilities) or "-") for r in records],
              ("NAME", "VERSION", "KIND", "ACTIVE", "SHA256", "CAPABILITIES"))
    return 0


def cmd_show(args: argparse.Namespace) -> int:
    with _open(args) as reg:
        rec = reg.get(args.ref)
        if args.source:
            sys.stdout.write(reg.source(rec).decode("utf-8"))
            return 0
        verification, usage = reg.verify(rec), reg.usage(rec.sha256)
    if args.json:
        print_json({"plugin": rec, "verification": verification, "usage": usage})
        return 0
    for label, value in (("name", rec.name), ("version", rec.version), ("kind", rec.kind or "-"),
                         ("sha256", rec.sha256), ("active", "yes" if rec.active else "no"),
                         ("author", rec.author), ("license", rec.license), ("description", rec.description),
                         ("capabilities", ", ".join(rec.capabilities) or "-"), ("exports", ", ".join(rec.exports)),
                         ("size", f"{rec.size} bytes"), ("runtime", f"{rec.runtime_sha256} (at install)"),
                         ("installed", _when(rec.installed_at)),
                         ("attestations", f"{len(verification.checks)} ({len(verification.approvals)} trusted "
                                          f"approval(s), {len(verification.rejections)} trusted rejection(s))"),
                         ("policy", "met" if verification.meets_policy else "NOT met: " + "; ".join(verification.reasons)),
                         ("usage", f"{usage.calls} call(s), {usage.failures} failed, {usage.gas_used} gas")):
        print(f"{label:<13} {value}")
    return 0


def print_result(result: Any, as_json: bool) -> None:
    """A CallResult: the output on stdout (logs, gas and receipt on stderr), or all of it as JSON."""
    if as_json:
        print_json({"output": result.output, "gas_used": result.gas_used, "logs": result.logs,
                    "receipt": result.receipt, "digest": result.receipt.digest()})
        return
    if result.logs:
        sys.stderr.write(result.logs)
    print_json(result.output)
    print(f"gas used: {result.gas_used}   receipt: {result.receipt.digest()}", file=sys.stderr)


def cmd_call(args: argparse.Namespace, data: Any) -> int:
    with _open(args) as reg:
        result = reg.call(args.ref, args.function, data, sha256=args.sha256, gas_limit=args.gas)
    print_result(result, args.json)
    return 0


def cmd_lifecycle(args: argparse.Namespace) -> int:
    with _open(args) as reg:
        rec = getattr(reg, args.command)(args.ref)
    if args.json:
        print_json(rec)
    else:
        print(f"{args.command}d {_summary(rec)}" if args.command != "uninstall" else f"uninstalled {rec.ref}  {rec.sha256}")
    return 0


def cmd_keygen(args: argparse.Namespace) -> int:
    secret, public = _keys.generate_key()
    creds = {"account_id": args.account, "public_key": public, "private_key": secret}
    if args.out:
        out = Path(args.out)
        if out.exists():
            raise UsageError(f"{out} exists; refusing to overwrite a key")
        fd = os.open(out, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(json.dumps(creds, indent=2) + "\n")
        if args.json:
            print_json({"account_id": args.account, "public_key": public, "key_file": str(out)})
        else:
            print(f"public key {public}\nsecret key written to {out} (mode 600); never commit it")
    elif args.json:
        print_json(creds)
    else:
        print(f"public key {public}\nsecret key {secret}")
    return 0


def _read_secret(path: str) -> tuple[str, str | None]:
    text = Path(path).read_text().strip()
    if text.startswith("{"):
        try:
            creds = json.loads(text)
        except json.JSONDecodeError as e:
            raise InvalidKey(f"{path} is not a NEAR credentials file: {e}") from None
        secret = creds.get("private_key") or creds.get("secret_key")
        if not secret:
            raise InvalidKey(f"{path} has no private_key")
        return secret, creds.get("account_id")
    return text, None


def cmd_attest(args: argparse.Namespace) -> int:
    secret, account = _read_secret(args.key)
    auditor = args.auditor or account
    if not auditor:
        raise UsageError("--auditor is required when the key file does not name an account_id")
    with _open(args) as reg:
        att = reg.attest(args.ref, secret, auditor=auditor, verdict=args.verdict, report=args.report,
                         timestamp=args.timestamp, scheme=args.scheme)
    if args.json:
        print_json(att)
    else:
        st = att.statement
        print(f"{st.auditor} {st.verdict} {st.plugin_sha256} on runtime {st.runtime_sha256[:12]} ({att.digest()[:16]})")
    return 0


def cmd_verify(args: argparse.Namespace) -> int:
    with _open(args) as reg:
        v = reg.verify(args.ref)
    ok = v.meets_policy and all(c.valid for c in v.checks)
    if args.json:
        print_json(v)
        return 0 if ok else 1
    if v.checks:
        table([(c.attestation.statement.auditor, c.attestation.statement.verdict, "yes" if c.valid else "NO",
                _when(c.attestation.statement.timestamp), c.attestation.statement.runtime_sha256[:12],
                c.attestation.statement.report if c.valid else c.problem) for c in v.checks],
              ("AUDITOR", "VERDICT", "VALID", "SIGNED", "RUNTIME", "REPORT"))
    else:
        print("no attestations")
    print(f"policy: {'met' if v.meets_policy else 'NOT met: ' + '; '.join(v.reasons)}")
    return 0 if ok else 1


def cmd_auditor(args: argparse.Namespace) -> int:
    with _open(args) as reg:
        if args.action == "add":
            result: Any = reg.add_auditor(args.auditor, args.public_key)
            message = f"added {args.auditor} {args.public_key}"
        elif args.action == "remove":
            n = reg.remove_auditor(args.auditor, args.public_key)
            result, message = {"removed": n}, f"removed {n} key(s) of {args.auditor}"
        else:
            result = reg.auditors()
            message = ""
    if args.json:
        print_json(result)
    elif args.action == "list":
        table([(a.auditor, a.public_key, _when(a.added_at)) for a in result], ("AUDITOR", "PUBLIC KEY", "ADDED"))
    else:
        print(message)
    return 0


def cmd_policy(args: argparse.Namespace) -> int:
    with _open(args) as reg:
        policy = reg.policy
        if args.action == "set":
            changes = {}
            if args.trusted_auditors is not None:
                changes["trusted_auditors"] = _csv(args.trusted_auditors)
            if args.min_approvals is not None:
                changes["min_approvals"] = args.min_approvals
            if args.allowed_capabilities is not None:
                changes["allowed_capabilities"] = _csv(args.allowed_capabilities)
            if args.require_runtime_match is not None:
                changes["require_runtime_match"] = args.require_runtime_match
            if not changes:
                raise UsageError("policy set: give at least one of --trusted-auditors, --min-approvals, "
                                 "--allowed-capabilities, --require-runtime-match")
            policy = reg.set_policy(RegistryPolicy(**{**msgspec.structs.asdict(policy), **changes}))
    if args.json:
        print_json(policy)
    else:
        print(f"trusted auditors       {', '.join(policy.trusted_auditors) or '-'}")
        print(f"min approvals          {policy.min_approvals}")
        print(f"allowed capabilities   {', '.join(policy.allowed_capabilities) or '-'}")
        print(f"require runtime match  {'yes' if policy.require_runtime_match else 'no'}")
    return 0


def cmd_usage(args: argparse.Namespace) -> int:
    with _open(args) as reg:
        usage = reg.usage(args.ref)
    if args.json:
        print_json(usage)
    else:
        table([(usage.plugin_sha256[:16], usage.calls, usage.failures, usage.gas_used)],
              ("SHA256", "CALLS", "FAILURES", "GAS USED"))
    return 0


def cmd_index(args: argparse.Namespace) -> int:
    directory = Path(args.index)
    root = Path(args.root) if args.root else None
    if args.action == "update":
        changes = _index.update(directory, root=root)
        if args.json:
            print_json({"changes": changes})
        else:
            print("\n".join(changes) if changes else "the index is up to date")
        return 0
    if args.action == "import":
        with _open(args) as reg:
            records = reg.import_index(directory, root=root)
        if args.json:
            print_json(records)
        else:
            print(f"imported {len(records)} plugin(s) from {directory} into {args.registry} (inactive)")
            for rec in records:
                print(f"  {_summary(rec)}")
        return 0
    checked = _index.check(directory, root=root, strict=args.strict)
    if args.json:
        print_json({"ok": checked.ok, "runtime_sha256": checked.runtime_sha256, "problems": checked.problems,
                    "drift": checked.drift, "plugins": [m.filename for m, _ in checked.inspected]})
    else:
        for p in checked.problems:
            print(f"FAIL   {p}")
        for d in checked.drift:
            print(f"{'FAIL' if args.strict else 'drift'}  {d}")
        print(f"{len(checked.inspected)} plugin(s) pinned, {len(checked.problems)} problem(s), "
              f"{len(checked.drift)} on another runtime -> {'ok' if checked.ok else 'FAILED'}")
    return 0 if checked.ok else 1


# ---- the parser ----------------------------------------------------------------------------------


def add_commands(sub: argparse._SubParsersAction, read_input: Any) -> None:
    """Add the registry's subcommands to the ``plugin-host`` parser."""
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--registry", default=default_registry(),
                        help=f"the registry database (default: ${REGISTRY_ENV} or {DEFAULT_REGISTRY})")
    common.add_argument("--json", action="store_true", help="machine-readable output")

    def add(name: str, help: str, func: Any, *, group: bool = False) -> argparse.ArgumentParser:
        # a group's options go on its leaves: argparse lets a subparser's defaults overwrite them
        p = sub.add_parser(name, help=help, parents=[] if group else [common])
        p.set_defaults(func=func)
        return p

    p = add("install", "check a plugin file and install it (inactive)", cmd_install)
    p.add_argument("file")
    p.add_argument("--sha256", help="refuse unless the file has this sha256")
    p.add_argument("--activate", action="store_true", help="activate it too (if the policy allows)")

    p = add("list", "installed plugins", cmd_list)
    p.add_argument("--name")
    p.add_argument("--active", action=argparse.BooleanOptionalAction, default=None, help="only (in)active ones")

    p = add("show", "one plugin: metadata, audit status, usage", cmd_show)
    p.add_argument("ref", help="sha256 or name@version")
    p.add_argument("--source", action="store_true", help="print its verified source instead")

    p = add("call", "call a function of an active plugin (recorded in the usage ledger)",
            lambda a: cmd_call(a, read_input(a.input)))
    p.add_argument("ref", help="sha256 or name@version")
    p.add_argument("function")
    p.add_argument("--input", help="JSON, or @file")
    p.add_argument("--gas", type=int, default=None, help="gas limit of the call")
    p.add_argument("--engine", choices=ENGINES, default="wasmer")
    p.add_argument("--sha256", help="refuse unless REF is exactly this code")

    for name, text in (("activate", "allow a plugin to run (if the policy allows)"),
                       ("deactivate", "stop a plugin from running"),
                       ("uninstall", "remove a plugin's code (its attestations and usage stay)")):
        add(name, text, cmd_lifecycle).add_argument("ref", help="sha256 or name@version")

    p = sub.add_parser("keygen", help="a new ed25519 auditor key in NEAR's format", parents=[common])
    p.set_defaults(func=cmd_keygen)
    p.add_argument("--account", help="the auditor's account id, stored with the key")
    p.add_argument("--out", help="write NEAR credentials JSON here (mode 600) instead of printing the secret")

    p = add("attest", "sign and store an audit verdict on a plugin", cmd_attest)
    p.add_argument("ref", help="sha256 or name@version")
    p.add_argument("--key", required=True, help="the auditor's key file (NEAR credentials JSON or ed25519:...)")
    p.add_argument("--verdict", required=True, choices=("approved", "rejected"))
    p.add_argument("--report", required=True, help="the audit report's URI or digest")
    p.add_argument("--auditor", help="the auditor's account id (default: the key file's account_id)")
    p.add_argument("--timestamp", type=int, help="unix seconds (default: now)")
    p.add_argument("--scheme", choices=("ed25519", "nep413"), default="ed25519",
                   help="sign the canonical statement, or as a NEAR wallet signs a message (NEP-413)")

    p = add("verify", "re-verify a plugin's attestations and check the policy (exit 1 if not met)", cmd_verify)
    p.add_argument("ref", help="sha256 or name@version")

    p = add("auditor", "the auditors' public keys the registry knows", cmd_auditor, group=True)
    asub = p.add_subparsers(dest="action", required=True)
    a = asub.add_parser("add", parents=[common])
    a.add_argument("auditor")
    a.add_argument("public_key")
    a = asub.add_parser("remove", parents=[common])
    a.add_argument("auditor")
    a.add_argument("public_key", nargs="?")
    asub.add_parser("list", parents=[common])

    p = add("policy", "the curation policy", cmd_policy, group=True)
    psub = p.add_subparsers(dest="action", required=True)
    psub.add_parser("show", parents=[common])
    s = psub.add_parser("set", parents=[common], help="change the given fields, keep the rest")
    s.add_argument("--trusted-auditors", help="comma-separated auditor ids ('' for none)")
    s.add_argument("--min-approvals", type=int)
    s.add_argument("--allowed-capabilities", help="comma-separated capabilities ('' for none)")
    s.add_argument("--require-runtime-match", action=argparse.BooleanOptionalAction, default=None)

    p = add("usage", "a plugin's usage ledger totals", cmd_usage)
    p.add_argument("ref", help="sha256 or name@version")

    p = add("index", "the curated index (registry/): check, update, import", cmd_index, group=True)
    isub = p.add_subparsers(dest="action", required=True)
    for action, text in (("check", "verify every pin against plugins/ (exit 1 on a mismatch)"),
                         ("update", "rewrite the manifests from plugins/"),
                         ("import", "install the index into the registry database")):
        i = isub.add_parser(action, parents=[common], help=text)
        i.add_argument("--index", default="registry", help="the index directory (default: registry)")
        i.add_argument("--root", help="where plugins/ is (default: the index's parent)")
        if action == "check":
            i.add_argument("--strict", action="store_true", help="fail on runtime drift too")

