"""``plugin-host near anchor | verify-anchor | pool``: the NEAR tie-in on the command line.

Exit codes as everywhere: 0 ok, 1 a plugin, registry or NEAR error (an unreachable node, a
failed transaction, an anchor that does not match), 2 a usage error.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path
from typing import Any

from ..registry._commands import UsageError, default_registry, print_json, table

__all__ = ["add_commands", "RPC_ENV"]

RPC_ENV = "NEAR_RPC_URL"


def _rpc_url(args: argparse.Namespace, *, why: str) -> str:
    url = args.rpc or os.environ.get(RPC_ENV)
    if not url:
        raise UsageError(f"no NEAR RPC to {why}: pass --rpc URL or set ${RPC_ENV}")
    return url


def _open_registry(args: argparse.Namespace) -> Any:
    from ..registry import PluginRegistry

    if not Path(args.registry).exists():
        raise UsageError(f"no registry at {args.registry} (pass --registry PATH)")
    return PluginRegistry(args.registry)


def cmd_anchor(args: argparse.Namespace) -> int:
    from . import NearRpc, NearSigner, anchor, submit_anchor

    offline = args.nonce is not None and args.block_hash is not None
    if (args.nonce is None) != (args.block_hash is None):
        raise UsageError("offline signing needs both --nonce and --block-hash")
    signer = NearSigner.from_file(args.key, account_id=args.account)
    with _open_registry(args) as reg:
        if offline:
            tx = anchor(reg, args.contract, signer, refs=args.refs or None, nonce=args.nonce, block_hash=args.block_hash,
                        gas=args.gas, deposit=args.deposit)
            outcome = None
        else:
            with NearRpc(_rpc_url(args, why="read the nonce from (or sign offline with --nonce and --block-hash)")) as rpc:
                tx = anchor(reg, args.contract, signer, rpc=rpc, refs=args.refs or None, gas=args.gas,
                            deposit=args.deposit)
                outcome = None if args.dry_run else submit_anchor(rpc, tx)
    if args.json:
        print_json({"anchor": tx, "outcome": outcome})
        return 0
    for e in tx.entries:
        print(f"{e.plugin:<32} {e.plugin_sha256[:16]}  {len(e.attestations)} attestation(s)")
    if outcome is None:
        print(f"signed, not sent: {tx.tx.hash} (nonce {tx.tx.nonce}, block {tx.tx.block_hash})")
        print(tx.tx.signed_base64)
    else:
        print(f"anchored {len(tx.entries)} plugin(s) on {tx.contract_id} in transaction {outcome.tx_hash}")
    return 0


def cmd_verify_anchor(args: argparse.Namespace) -> int:
    from . import NearRpc, verify_anchor

    with _open_registry(args) as reg, NearRpc(_rpc_url(args, why="read the anchors from")) as rpc:
        result = verify_anchor(reg, args.contract, rpc, refs=args.refs or None, anchored_by=args.anchored_by)
    if args.json:
        print_json({"ok": result.ok, "verification": result})
    else:
        table([(c.plugin, c.plugin_sha256[:16], "yes" if c.ok else "NO", "; ".join(c.problems) or "-")
               for c in result.checks], ("PLUGIN", "SHA256", "ANCHORED", "PROBLEMS"))
        print(f"{args.contract} at block {result.block_height}: {'ok' if result.ok else 'MISMATCH'}")
    return 0 if result.ok else 1


def cmd_pool(args: argparse.Namespace) -> int:
    from .. import FrozenRealm
    from . import NearRpc, RefPoolSource

    with NearRpc(_rpc_url(args, why="read the pool from")) as rpc:
        source = RefPoolSource(rpc, args.contract)
        if args.quote is None:
            pool = source.pool(args.pool_id)
            state = pool.pool_state() if pool.kind in ("SIMPLE_POOL", "STABLE_SWAP") else None
            if args.json:
                print_json({"pool": pool, "plugin": pool.plugin if state else None, "poolState": state})
            else:
                print(f"{args.contract} pool {pool.pool_id}: {pool.kind} at block {pool.block_height}")
                if state is None:
                    print("no plugin models this kind of pool")
                    table(list(zip(pool.tokens, pool.amounts)), ("TOKEN", "AMOUNT"))
                else:
                    print(f"plugin: {pool.plugin}")
                    print_json(state)
            return 0
        token_in, amount, token_out = args.quote
        try:
            amount_in = int(amount)
        except ValueError:
            raise UsageError(f"--quote: the amount must be an integer in the token's units, got {amount!r}") from None
        plugin = args.plugin or str(Path("plugins") / f"{source.pool(args.pool_id).plugin}.js")
        realm = FrozenRealm(Path(plugin).read_bytes())
        q = source.quote(args.pool_id, token_in, amount_in, token_out, realm, precise=not args.native)
    if args.json:
        print_json({"quote": q, "difference": q.difference, "agrees": q.agrees})
    else:
        print(f"Ref get_return    {q.ref_amount_out}")
        print(f"{q.plugin:<17} {q.plugin_amount_out if q.plugin_error is None else q.plugin_error}")
        print(f"difference        {q.difference if q.difference is not None else '-'} (block {q.block_height})")
    return 0


def add_commands(sub: argparse._SubParsersAction, read_input: Any = None) -> None:
    """Add ``plugin-host near ...`` to the ``plugin-host`` parser."""
    from ._ref import REF_MAINNET
    from ._tx import DEFAULT_GAS

    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--rpc", help=f"NEAR JSON-RPC URL (default: ${RPC_ENV})")
    common.add_argument("--json", action="store_true", help="machine-readable output")
    registry = argparse.ArgumentParser(add_help=False)
    registry.add_argument("--registry", default=default_registry(), help="the registry database")
    registry.add_argument("--contract", required=True, help="the anchor contract's account id")
    registry.add_argument("refs", nargs="*", help="plugins (sha256 or name@version; default: every active one)")

    p = sub.add_parser("near", help="NEAR: registry anchors and Ref Finance pools")
    nsub = p.add_subparsers(dest="near_command", required=True)

    a = nsub.add_parser("anchor", parents=[common, registry],
                        help="sign (and send) a transaction recording the registry's plugins on a NEAR contract")
    a.add_argument("--key", required=True, help="NEAR credentials JSON of the signing account")
    a.add_argument("--account", help="the signing account (default: the key file's account_id)")
    a.add_argument("--nonce", type=int, help="sign offline with this nonce (the key's nonce + 1)")
    a.add_argument("--block-hash", help="sign offline referencing this recent block hash (base58)")
    a.add_argument("--dry-run", action="store_true", help="read the nonce, sign, but do not send")
    a.add_argument("--gas", type=int, default=DEFAULT_GAS, help="gas to attach (default 30 Tgas)")
    a.add_argument("--deposit", type=int, default=0, help="yoctoNEAR to attach (storage)")
    a.set_defaults(func=cmd_anchor)

    v = nsub.add_parser("verify-anchor", parents=[common, registry],
                        help="compare the registry with its anchors on chain (exit 1 on a mismatch)")
    v.add_argument("--anchored-by", help="also require that this account wrote the anchors")
    v.set_defaults(func=cmd_verify_anchor)

    q = nsub.add_parser("pool", parents=[common], help="a Ref Finance pool as plugin input; --quote to compare")
    q.add_argument("pool_id", type=int)
    q.add_argument("--contract", default=REF_MAINNET, help=f"the Ref exchange contract (default {REF_MAINNET})")
    q.add_argument("--quote", nargs=3, metavar=("TOKEN_IN", "AMOUNT_IN", "TOKEN_OUT"),
                   help="price this swap with the pool's plugin and with Ref's get_return")
    q.add_argument("--plugin", help="the plugin file (default: plugins/<the pool's plugin>.js)")
    q.add_argument("--native", action="store_true",
                   help="quote on the poolState in token units instead of Ref's 18-decimal balances")
    q.set_defaults(func=cmd_pool)
