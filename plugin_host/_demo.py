"""`plugin-host demo`: the extensible DEX, end to end, in a few seconds.

A protocol (an ExtensibleDex) installs AMM plugins through a registry whose policy needs an
auditor's signature, prices a Curve pool and a Uniswap V2 pool with them, settles swaps only
after validating every answer, refuses hostile plugins without losing a wei, and replays its
receipts. State lives in ``$PLUGIN_HOST_DATA_DIR/demo`` (default ``.plugin-host/demo``), so a
second run continues where the first stopped; ``--fresh`` starts over.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sqlite3
import tempfile
import textwrap
import time
from pathlib import Path

from . import ExtensibleDex, PluginError, PolicyViolation, RegistryPolicy, ReplayMismatch
from .registry import generate_key

OWNER, AUDITOR, LP = "dex.near", "auditor.near", "lp.near"
DECIMALS = {"DAI": 18, "USDC": 6, "USDT": 6, "WETH": 18}
GAS_LIMIT = 5_000_000  # per plugin call: our AMMs need ~7k-25k, so a runaway plugin stops within ~30 ms

PLUGINS = {"curve": "curve-stable-swap.js", "univ2": "uniswap-v2.js"}
POOLS = {  # pool -> plugin, tokens, fee treatment, params, balances key, initial liquidity (whole tokens)
    "3pool": ("curve", ["DAI", "USDC", "USDT"], "admin-fee-leaves",
              {"decimals": [18, 6, 6], "A": 200, "fee": 4_000_000, "adminFee": 5_000_000_000}, "balances",
              [1_000_000, 1_000_000, 1_000_000]),
    "weth-usdc": ("univ2", ["WETH", "USDC"], "kept", {"feeBps": 30}, "reserves", [1_000, 3_000_000]),
}

_HOSTILE_META = '{name: "%s", version: "1.0.0", author: "mallory.near", license: "MIT", description: "%s", kind: "amm"}'
HOSTILE = {
    # a plausible bug or theft: quotes a generous 1:1 but never credits the pool with the input
    "turbo-swap": ("pays a generous 1:1, forgets the pool must receive the input", """
export function calculateSwap({ tokenIn, tokenOut, amountIn, poolState }) {
  const b = (poolState.balances ?? poolState.reserves).slice();
  const i = poolState.tokens.indexOf(tokenIn), j = poolState.tokens.indexOf(tokenOut);
  const d = poolState.decimals ?? b.map(() => 18n);
  const amountOut = amountIn * 10n ** BigInt(d[j]) / 10n ** BigInt(d[i]);
  b[j] -= amountOut;
  return { amountOut, feeAmount: 0n, newBalances: b, priceImpact: 0 };
}"""),
    "spin-swap": ("never returns", "export function calculateSwap() { for (;;) {} }"),
}


def _data_dir() -> Path:
    return Path(os.environ.get("PLUGIN_HOST_DATA_DIR") or ".plugin-host") / "demo"


def _plugins_dir() -> Path:
    for candidate in (Path(__file__).resolve().parent.parent / "plugins", Path.cwd() / "plugins"):
        if (candidate / PLUGINS["curve"]).is_file():
            return candidate
    raise SystemExit("plugin-host demo: cannot find plugins/ (run it from a checkout of plugin-host)")


def fmt(amount: int, token: str, places: int = 2) -> str:
    return f"{amount / 10 ** DECIMALS[token]:,.{places}f} {token}"


def units(n: float, token: str) -> int:
    return int(round(n * 10 ** DECIMALS[token]))


def say(label: str, text: str) -> None:
    print(textwrap.fill(text, width=104, initial_indent=f"  {label:<11} ", subsequent_indent=" " * 14,
                        break_on_hyphens=False))


def heading(n: int, text: str) -> None:
    print(f"\n{n}. {text}")


def _auditor_key(path: Path) -> tuple[str, str, bool]:
    """The demo auditor's key: generated on first use and kept in the (git-ignored) data dir."""
    if path.exists():
        creds = json.loads(path.read_text())
        return creds["private_key"], creds["public_key"], False
    secret, public = generate_key()
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as f:
        json.dump({"account_id": AUDITOR, "public_key": public, "private_key": secret}, f, indent=2)
    return secret, public, True


def _install(dex: ExtensibleDex, secret: str, plugin_id: str, source: str) -> None:
    """Owner installs; the registry refuses until the auditor has signed an approval."""
    if plugin_id in {p.plugin_id for p in dex.plugins()}:
        p = dex.activate_plugin(OWNER, plugin_id) if not dex.plugin(plugin_id).active else dex.plugin(plugin_id)
        say("installed", f"{plugin_id:<11} {p.ref:<24} {p.sha256[:12]}  (from an earlier run)")
        return
    try:
        p = dex.install_plugin(OWNER, source, plugin_id)
    except PolicyViolation as e:
        say("refused", f"{plugin_id:<11} unaudited: {'; '.join(e.reasons)}")
        rec = dex.registry.get(dex.registry.install(source).sha256)  # submitted, inactive: the auditor's turn
        att = dex.registry.attest(rec, secret, auditor=AUDITOR, verdict="approved",
                                  report=f"ipfs://audit-of-{rec.name}")
        say("attested", f"{AUDITOR} signs an approval of {rec.ref} ({att.digest()[:12]})")
        p = dex.install_plugin(OWNER, source, plugin_id)
    say("installed", f"{plugin_id:<11} {p.ref:<24} {p.sha256[:12]}  royalty {p.royalty_bps / 100:g}% of fees "
                     f"-> {p.royalty_account}")


def _swap(dex: ExtensibleDex, who: str, plugin_id: str, pool_id: str, tin: str, tout: str, amount: int,
          min_out: int = 0) -> None:
    rec = dex.swap_with_plugin(who, plugin_id, pool_id, tin, tout, amount, min_out)
    say(who, f"{fmt(amount, tin):>16} -> {fmt(rec.amount_out, tout):<16} {pool_id:<9} gas {rec.gas_used:>6,}  "
             f"swap #{rec.swap_id}  receipt {rec.receipt.digest()[:12]}")


def main(args: argparse.Namespace) -> int:
    t0 = time.perf_counter()
    data = _data_dir()
    if getattr(args, "fresh", False) and data.exists():
        shutil.rmtree(data)
    data.mkdir(parents=True, exist_ok=True)
    plugins = _plugins_dir()
    first = not (data / "dex.sqlite").exists()

    print("plugin-host demo: an extensible DEX. Plugins compute in frozen realms; the protocol")
    print("validates every answer, keeps the funds, and can replay every receipt.\n")
    say("data", f"{data}  ({'new' if first else 'continuing an earlier run'}; --fresh starts over)")
    with ExtensibleDex(data / "dex.sqlite", owner=OWNER, gas_limit=GAS_LIMIT) as dex:
        earlier = len(dex.swaps())
        if not first:
            say("found", f"{earlier} swaps, {len(dex.rejections())} refusals from earlier runs")

        heading(1, "The protocol and its curation policy")
        secret, public, new_key = _auditor_key(data / "auditor.json")
        dex.registry.add_auditor(AUDITOR, public)
        dex.registry.set_policy(RegistryPolicy(trusted_auditors=[AUDITOR], min_approvals=1))
        say("owner", f"{OWNER} (only the owner installs plugins and creates pools)")
        say("auditor", f"{AUDITOR} {public[:24]}... ({'new key' if new_key else 'key'} in {data / 'auditor.json'}, "
                       "mode 600)")
        say("policy", f"a plugin runs only with 1 approval from {AUDITOR}")

        heading(2, "Installing plugins: owner only, through the registry and its policy")
        for plugin_id, filename in PLUGINS.items():
            _install(dex, secret, plugin_id, (plugins / filename).read_text())

        heading(3, f"Pools, priced by plugins; liquidity from {LP}")
        for pool_id, (plugin_id, tokens, treatment, params, key, sizes) in POOLS.items():
            if pool_id not in {p.pool_id for p in dex.pools()}:
                dex.create_pool(OWNER, pool_id, plugin_id=plugin_id, tokens=tokens, fee_treatment=treatment,
                                params=params, balances_key=key)
                amounts = [units(n, t) for n, t in zip(sizes, tokens)]
                for t, a in zip(tokens, amounts):
                    dex.deposit(LP, t, a)
                dex.add_liquidity(LP, pool_id, amounts)
            pool = dex.pool(pool_id)
            say(pool_id, f"{plugin_id:<6} {' / '.join(fmt(b, t, 0) for b, t in zip(pool.balances, pool.tokens))}"
                         f"   fee treatment: {pool.fee_treatment.value}")

        heading(4, "Swaps: quote in the realm -> validate -> settle, one transaction each")
        dex.deposit("alice", "DAI", units(10_000, "DAI"))
        dex.deposit("bob", "WETH", units(2, "WETH"))
        dex.deposit("carol", "WETH", units(1, "WETH"))
        _swap(dex, "alice", "curve", "3pool", "DAI", "USDC", units(10_000, "DAI"), min_out=units(9_950, "USDC"))
        _swap(dex, "bob", "univ2", "weth-usdc", "WETH", "USDC", units(2, "WETH"))
        hops = [("univ2", "weth-usdc", "WETH", "USDC"), ("curve", "3pool", "USDC", "DAI")]
        q1 = dex.quote(*hops[0][:2], "WETH", "USDC", units(1, "WETH"))
        q2 = dex.quote(*hops[1][:2], "USDC", "DAI", q1.amount_out)
        route = dex.swap_route("carol", hops, units(1, "WETH"), min_amount_out=q2.amount_out * 995 // 1000)
        say("carol", f"{fmt(units(1, 'WETH'), 'WETH'):>16} -> {fmt(route[-1].amount_out, 'DAI'):<16} routed "
                     f"weth-usdc then 3pool, both hops or neither (swaps #{route[0].swap_id}, #{route[1].swap_id})")
        say("validated", f"every answer, by {len(dex.validator)} rules: {'; '.join(dex.validator.names)}")

        heading(5, "Hostile plugins: approved by mistake, refused by validation")
        dex.deposit("alice", "DAI", units(10_000, "DAI"))
        for name, (what, body) in HOSTILE.items():
            source = f"export const metadata = {_HOSTILE_META % (name, what)};\n{body}\n"
            rec = dex.registry.install(source)
            if not dex.registry.verify(rec).meets_policy:
                dex.registry.attest(rec, secret, auditor=AUDITOR, verdict="approved", report="ipfs://a-hasty-audit")
            dex.install_plugin(OWNER, source, name)
            dex.set_pool_plugin(OWNER, "3pool", name)
            before = _books(dex)
            t = time.perf_counter()
            try:
                dex.swap_with_plugin("alice", name, "3pool", "DAI", "USDC", units(10_000, "DAI"))
                raise AssertionError(f"{name} was not refused")
            except PluginError as e:
                ms = (time.perf_counter() - t) * 1e3
                say(name, f"{what}; the owner points 3pool at it")
                say("alice", f"{fmt(units(10_000, 'DAI'), 'DAI'):>16} -> 3pool via {name}: REFUSED")
                say("", f"{type(e).__name__}: {_why(e, ms)}")
            finally:
                dex.set_pool_plugin(OWNER, "3pool", "curve")
                dex.deactivate_plugin(OWNER, name)
            say("books", "unchanged: 3pool, its fee account, alice" if _books(dex) == before else "CHANGED (a bug!)")
        say("after", "3pool is back on curve; turbo-swap and spin-swap are deactivated")

        heading(6, "The audit trail: every swap's receipt, replayed")
        first_id = dex.swaps()[earlier].swap_id
        proof = dex.replay(first_id)
        rec = dex.swap(first_id)
        say(f"swap #{first_id}", f"re-ran {dex.plugin(rec.plugin_id).ref} ({proof.plugin_sha256[:12]}) on the "
                                 f"recorded input: output {proof.output_sha256[:12]}, {proof.gas_used:,} gas, "
                                 "as recorded")
        # a receipt pins the runtime it ran on: swaps an earlier run recorded on another
        # runtime (the guest was rebuilt since) cannot replay to the same gas here
        runtime = rec.receipt.runtime_sha256
        same = [s for s in dex.swaps() if s.receipt.runtime_sha256 == runtime]
        for s in same:
            dex.replay(s.swap_id)
        older = len(dex.swaps()) - len(same)
        say("all", f"{len(same)} recorded swaps replay to the same output hash and gas"
                   + (f"; {older} recorded on other runtimes are pinned to those (--fresh starts over)"
                      if older else ""))
        say("tampered", _tampered(dex, first_id))

        heading(7, "Summary")
        _summary(dex, earlier)
        path = data / "dex.sqlite"
    print(f"\n  state kept in {path}: run again to continue; `plugin-host demo --fresh` starts over.")
    print(f"  done in {time.perf_counter() - t0:.1f} s")
    return 0


def _books(dex: ExtensibleDex) -> tuple:
    return dex.pool("3pool").balances, dex.fees("3pool"), dex.balances("alice"), dex.audit()


def _why(e: PluginError, ms: float) -> str:
    rule = getattr(e, "rule", None)
    if rule is None:
        return f"{e} (stopped in {ms:.0f} ms)"
    shown = []
    for key, value in e.values.items():
        token = key[key.find("[") + 1:-1] if key.endswith("]") else ""
        readable = fmt(value, token) if token in DECIMALS and isinstance(value, int) else value
        shown.append(f"{key} = {readable}")
    return f"rule {rule!r}: {', '.join(shown)}"


def _tampered(dex: ExtensibleDex, swap_id: int) -> str:
    """Edit amount_out in a copy of the database and replay: the record no longer stands up."""
    with tempfile.TemporaryDirectory() as tmp:
        copy = Path(tmp) / "dex.sqlite"
        with sqlite3.connect(copy) as target, dex._store.lock:
            dex._store.conn.backup(target)
        with sqlite3.connect(copy) as conn:
            conn.execute("UPDATE swaps SET amount_out = CAST(amount_out + 1 AS TEXT) WHERE id = ?", (swap_id,))
        with ExtensibleDex(copy, registry=dex.registry) as forged:
            try:
                forged.replay(swap_id)
            except ReplayMismatch as e:
                return f"a copy of the database with swap #{swap_id}'s amountOut + 1: ReplayMismatch, {e.problems[0]}"
    return "NOT CAUGHT (a bug!)"


def _summary(dex: ExtensibleDex, earlier: int) -> None:
    rows = [("plugin", "version", "swaps", "gas", "refused", "gas", "royalties to its author")]
    for s in dex.stats():
        royalties = ", ".join(fmt(a, t, 4) for t, a in s.royalties.items()) or "-"
        rows.append((s.plugin_id, s.ref, str(s.swaps), f"{s.gas_used:,}", str(s.rejections),
                     f"{s.rejected_gas_used:,}", royalties))
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    for r in rows:
        print(("  " + "  ".join(v.ljust(w) if i in (0, 1, 6) else v.rjust(w)
                                for i, (v, w) in enumerate(zip(r, widths)))).rstrip())
    swaps, refused = dex.swaps(), dex.rejections()
    fees: dict[str, int] = {}
    for p in dex.pools():
        for t, a in dex.fees(p.pool_id).items():
            fees[t] = fees.get(t, 0) + a
    print()
    say("swaps", f"{len(swaps)} settled ({len(swaps) - earlier} this run) using {sum(s.gas_used for s in swaps):,} "
                 f"gas; {len(refused)} refused, having burnt {sum(r.gas_used for r in refused):,} gas")
    say("fees", "to the fee accounts: " + (", ".join(fmt(a, t, 4) for t, a in fees.items()) or "-"))
    problems = dex.audit()
    say("books", "balanced: every token's supply = users + pools + fee accounts" if not problems
        else "NOT balanced: " + "; ".join(problems))
