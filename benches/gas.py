#!/usr/bin/env python3
"""Gas bounds time: wall time per million gas over a corpus of bombs, and the metering overhead.

    .venv/bin/python benches/gas.py [--engine wasmer|wasmtime|both] [--skip-overhead | --overhead-only]

1. Every bomb runs under the default gas limit until it stops (OutOfGas or a memory error); we
   print the wall time and microseconds per million gas, and the worst ratio found. The worst
   ratio times the default limit is the longest a call can run.
2. Metering overhead: the same workloads on the real guest and on the same guest built without
   the meter (runtime/build.py --unmetered), same engine, in one process, calls in pairs of
   alternating order; the ratio is the median of the pairs' ratios. Target: <= 1.2x.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from plugin_host import DEFAULT_GAS_LIMIT, FrozenRealm, PluginError  # noqa: E402

BOMBS = {
    "while(true){}": "while (true) {}",
    "regex backtracking": "return /(a+)+$/.test('a'.repeat(40) + 'b');",
    "'x'.repeat(2**27)": "return 'x'.repeat(2 ** 27).length;",
    "2n ** (2n ** 24n)": "return (2n ** (2n ** 24n)) > 0n;",
    "BigInt mul/mod loop": "let a = 3n ** 50000n; for (;;) a = (a * a) % (7n ** 100000n);",
    "BigInt toString loop": "const b = 7n ** 300000n; for (;;) b.toString();",
    "BigInt toString loop, 2n**300000n": "const b = 2n ** 300000n; for (;;) b.toString();",
    "parseFloat loop": "for (;;) parseFloat('1.2345678901234567890123e-300');",
    "sort, costly comparator": "const a = Array.from({ length: 200000 }, (_, i) => (i * 7919) % 10007);"
                               " a.sort((x, y) => { let s = 0; for (let i = 0; i < 100; i++) s += i; return x - y; });",
    "deep JSON.stringify": "let o = {}; for (let i = 0; i < 1e6; i++) o = { o }; return JSON.stringify(o).length;",
    "JSON round trips": "const o = Array.from({ length: 1000 }, (_, i) => ({ i, s: 'x'.repeat(100) }));"
                        " for (;;) JSON.parse(JSON.stringify(o));",
    "recursion to the stack limit": "const f = (n) => f(n + 1) + 1; return f(0);",
    "recursion with catch": "const f = (n) => { try { return f(n + 1) + 1; } catch (e) { return f(n + 1); } }; return f(0);",
    "Error objects": "for (;;) new Error('x');",
    "TypedArray.copyWithin 32 MB": "const a = new Float64Array(1 << 22); for (;;) a.copyWithin(0, 1);",
    "TypedArray.indexOf 16 MB": "const a = new Uint8Array(1 << 24); for (;;) a.indexOf(1);",
    "string === 16 MB": "const a = 'x'.repeat(1 << 16).repeat(256), b = 'x'.repeat(1 << 16).repeat(256);"
                        " let c = 0; for (;;) c += (a === b + '');",
    "Proxy trap storm": "const p = new Proxy({}, { get: (t, k) => k.length }); let s = 0; for (;;) s += p.abc;",
    "Array(2**32-1).fill": "return new Array(2 ** 32 - 1).fill(0).length;",
}


def run_bombs(engine: str) -> list[dict]:
    names = list(BOMBS)
    src = "\n".join(f"export function b{i}() {{ {BOMBS[n]} }}" for i, n in enumerate(names))
    realm = FrozenRealm(src, engine=engine)
    rows = []
    for i, name in enumerate(names):
        t = time.perf_counter()
        try:
            res = realm.call(f"b{i}")
            outcome, gas = "returned", res.gas_used
        except PluginError as e:
            outcome, gas = type(e).__name__, e.receipt.gas_used
        dt = time.perf_counter() - t
        rows.append({"bomb": name, "outcome": outcome, "gas": gas, "ms": dt * 1e3,
                     "us_per_mgas": dt * 1e6 / (gas / 1e6) if gas else 0.0})
    return rows


# ---- metering overhead ---------------------------------------------------------------------

WORKLOADS = {
    "Curve quote (BigInt)": ("plugins/curve-stable-swap.js", "calculateSwap", {
        "tokenIn": "DAI", "tokenOut": "USDC", "amountIn": 10**21,
        "poolState": {"tokens": ["DAI", "USDC", "USDT"], "balances": [10**24] * 3, "decimals": [18, 18, 18],
                      "A": 100, "fee": 4000000, "adminFee": 5000000000}}),
    "JS loop (Number)": (None, "loop", 200000),
    "BigInt arithmetic": (None, "bigint", 300),
    "regex": (None, "regex", 200),
    "JSON": (None, "json", 200),
}
WORKLOAD_SLOW = {"Curve quote (BigInt)": False, "JS loop (Number)": True, "BigInt arithmetic": False,
                 "regex": True, "JSON": False}
INLINE = """
export function loop(n) { let s = 0; for (let i = 0; i < n; i++) s = (s + i * 7) % 1000003; return s; }
export function bigint(n) { let a = 1n; for (let i = 0; i < n; i++) { a = a * 3n + 7n; a %= (1n << 4000n); } return a & 255n; }
export function regex(n) { const s = 'ab'.repeat(200); let c = 0; for (let i = 0; i < n; i++) c += s.match(/a(b)/g).length; return c; }
export function json(n) { const o = []; for (let i = 0; i < n; i++) o.push({ a: i, b: 'x' + i, c: [i, i + 1] }); return JSON.parse(JSON.stringify(o)).length; }
"""


def overhead(engine: str, calls: int) -> list[dict]:
    """Both guests in this process, their calls alternating, so that both see the same machine
    (load, frequency, caches) at the same time: separate runs drifted by several percent."""
    unmetered = ROOT / "runtime" / ".cache" / "guest-unmetered.wasm"
    subprocess.run([sys.executable, str(ROOT / "runtime" / "build.py"), "--unmetered", str(unmetered)],
                   check=True, stdout=subprocess.DEVNULL)
    realms = {}
    for label, guest in (("metered", None), ("unmetered", str(unmetered))):
        if guest:
            os.environ["PLUGIN_HOST_GUEST"] = guest  # read when a realm is made
        else:
            os.environ.pop("PLUGIN_HOST_GUEST", None)
        inline = FrozenRealm(INLINE, engine=engine)
        realms[label] = {name: FrozenRealm((ROOT / path).read_text(), engine=engine) if path else inline
                         for name, (path, _, _) in WORKLOADS.items()}
    os.environ.pop("PLUGIN_HOST_GUEST", None)
    rows = []
    for name, (_, fn, data) in WORKLOADS.items():
        samples: dict[str, list[float]] = {"metered": [], "unmetered": []}
        for label in samples:
            realms[label][name].call(fn, data)  # warm
        reps = max(5, calls // 5) if WORKLOAD_SLOW[name] else calls
        for k in range(reps):
            # a pair of calls, one of each, in alternating order: the ratio is the median of
            # the pairs' ratios, so a drift of the machine's speed between pairs cancels out
            for label in (("metered", "unmetered") if k % 2 == 0 else ("unmetered", "metered")):
                t = time.perf_counter()
                realms[label][name].call(fn, data)
                samples[label].append(time.perf_counter() - t)
        m, u = (statistics.median(samples[k]) * 1e6 for k in ("metered", "unmetered"))
        ratio = statistics.median(a / b for a, b in zip(samples["metered"], samples["unmetered"]))
        rows.append({"workload": name, "metered_us": m, "unmetered_us": u, "ratio": ratio})
    return rows


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--engine", default="both", choices=("wasmer", "wasmtime", "both"))
    ap.add_argument("--calls", type=int, default=300)
    ap.add_argument("--skip-overhead", action="store_true")
    ap.add_argument("--overhead-only", action="store_true")
    args = ap.parse_args()
    engines = ("wasmer", "wasmtime") if args.engine == "both" else (args.engine,)
    if args.overhead_only:
        print_overhead(engines, args.calls)
        return 0
    print(f"## Gas bounds time (default limit {DEFAULT_GAS_LIMIT:,} gas)\n")
    print("| bomb | " + " | ".join(f"{e}: outcome, ms, µs/Mgas" for e in engines) + " |")
    print("|---|" + "---|" * len(engines))
    table = {e: run_bombs(e) for e in engines}
    worst = {e: max(table[e], key=lambda r: r["us_per_mgas"] if r["gas"] > 1e6 else 0) for e in engines}
    for k, name in enumerate(BOMBS):
        cells = [f"{table[e][k]['outcome']}, {table[e][k]['ms']:.1f}, {table[e][k]['us_per_mgas']:.0f}" for e in engines]
        print(f"| {name} | " + " | ".join(cells) + " |")
    for e in engines:
        w = worst[e]
        print(f"\nworst on {e}: {w['bomb']}: {w['us_per_mgas']:.0f} µs per million gas, so the default "
              f"limit bounds a call to about {w['us_per_mgas'] * DEFAULT_GAS_LIMIT / 1e12:.2f} s")
    if not args.skip_overhead:
        print()
        print_overhead(engines, args.calls)
    return 0


def print_overhead(engines, calls: int) -> None:
    print("## Metering overhead (median µs per call, same engine, one process, calls in alternating "
          "pairs; ratio: the median of the pairs' ratios)\n")
    print("| engine | workload | metered | unmetered | ratio |")
    print("|---|---|---|---|---|")
    for e in engines:
        for row in overhead(e, calls):
            print(f"| {e} | {row['workload']} | {row['metered_us']:.1f} | {row['unmetered_us']:.1f} | "
                  f"{row['ratio']:.2f}x |")


if __name__ == "__main__":
    raise SystemExit(main())
