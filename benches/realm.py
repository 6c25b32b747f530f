#!/usr/bin/env python3
"""A pure call, side by side with the peers, in one run.

    .venv/bin/python benches/realm.py [--calls N]

Workload: a 3-coin Curve StableSwap quote (calculateSwap, DAI -> USDC, 1000e18 into 1e24 each):
the BigInt plugin (plugins/curve-stable-swap.js, exact to the wei) and the Number example
(plugins/examples/curve-stable-swap-float.js). Rows:
- FrozenRealm on wasmer and wasmtime: `realm.call(...)`, everything included (restore, codec,
  gas, receipt);
- native quickjs-ng (PyPI `quickjs-ng`, the same engine built for the host, no sandbox, no gas):
  one context reused for every call (impure: state survives calls), and a fresh context per call
  (the only native way to be pure);
- plain Python: the same integer math (benches/plugins.py's mirror), no isolation at all.
The rows are timed in interleaved rounds, so that they all see the same machine.
Cold start: a new process with the module and realm caches warm, from FrozenRealm(...) to the
first result (the Python imports, ~50-100 ms, are reported separately).
"""

from __future__ import annotations

import argparse
import json
import re
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benches"))

from plugin_host import FrozenRealm  # noqa: E402
from plugins import py_curve_swap  # noqa: E402  benches/plugins.py

BIGINT = ROOT / "plugins" / "curve-stable-swap.js"
NUMBER = ROOT / "plugins" / "examples" / "curve-stable-swap-float.js"
POOL = {"tokens": ["DAI", "USDC", "USDT"], "balances": [10**24] * 3, "decimals": [18, 18, 18],
        "A": 100, "fee": 4000000, "adminFee": 5000000000}
REQUEST = {"tokenIn": "DAI", "tokenOut": "USDC", "amountIn": 10**21, "poolState": POOL}
REQUEST_FLOAT = {"tokenIn": "DAI", "tokenOut": "USDC", "amountIn": 1e21,
                 "poolState": {**POOL, "balances": [1e24] * 3}}

# For the native peer: the plugin as a script, BigInts carried as "123n" strings through JSON.
NATIVE_WRAPPER = """
function __call(json) {
  const input = JSON.parse(json, (k, v) => typeof v === "string" && /^-?[0-9]+n$/.test(v) ? BigInt(v.slice(0, -1)) : v);
  return JSON.stringify(calculateSwap(input), (k, v) => typeof v === "bigint" ? v.toString() + "n" : v);
}
"""


def as_script(source: str) -> str:
    return re.sub(r"^export\s+", "", source, flags=re.M) + NATIVE_WRAPPER


def to_native_json(value) -> str:
    def conv(v):
        if isinstance(v, bool) or v is None or isinstance(v, (float, str)):
            return v
        if isinstance(v, int):
            return f"{v}n"
        if isinstance(v, list):
            return [conv(x) for x in v]
        return {k: conv(x) for k, x in v.items()}
    return json.dumps(conv(value))


def native_calls(source: str, request: dict) -> dict:
    """The native peer's two ways to call, as functions to time."""
    try:
        import quickjs
    except ImportError:
        return {}
    script, payload = as_script(source), to_native_json(request)
    ctx = quickjs.Context()
    ctx.eval(script)
    reused = ctx.get("__call")

    def fresh():
        c = quickjs.Context()
        c.eval(script)
        return c.get("__call")(payload)

    return {"native quickjs-ng, reused context (impure)": (lambda: reused(payload), 1),
            "native quickjs-ng, fresh context per call": (fresh, 20)}


def interleaved_medians(cases: dict, calls: int, rounds: int = 10) -> tuple[dict, dict]:
    """Median µs per call of each case, measured in rounds that take turns, so that every case
    sees the same machine: this VM drifts between fast and slow phases within a minute, and
    cases timed one after another then disagree. A case (fn, divisor) gets calls // divisor
    calls in all. Also returns each case's fastest and slowest round median."""
    samples: dict = {key: [] for key in cases}
    per_round: dict = {key: [] for key in cases}
    for fn, _ in cases.values():
        for _ in range(20):
            fn()
    for _ in range(rounds):
        for key, (fn, divisor) in cases.items():
            batch = []
            for _ in range(max(2, calls // divisor // rounds)):
                t = time.perf_counter_ns()
                fn()
                batch.append(time.perf_counter_ns() - t)
            samples[key] += batch
            per_round[key].append(statistics.median(batch) / 1000)
    medians = {key: statistics.median(v) / 1000 for key, v in samples.items()}
    spread = {key: (min(v), max(v)) for key, v in per_round.items()}
    return medians, spread


def cold_start(engine: str) -> tuple[float, float, float]:
    """(imports ms, FrozenRealm + first call ms, the minor page faults of the latter): fresh
    memory is most of a cold start's work, and the fault count does not drift with the VM."""
    code = (
        "import resource, time, sys\n"
        f"sys.path.insert(0, {str(ROOT)!r})\n"
        "t0 = time.perf_counter()\n"
        f"import plugin_host, {'wasmer' if engine == 'wasmer' else 'wasmtime'}\n"
        "f1 = resource.getrusage(resource.RUSAGE_SELF).ru_minflt\n"
        "t1 = time.perf_counter()\n"
        f"r = plugin_host.FrozenRealm(open({str(BIGINT)!r}).read(), engine={engine!r})\n"
        f"r.call('calculateSwap', {REQUEST!r})\n"
        "t2 = time.perf_counter()\n"
        "f2 = resource.getrusage(resource.RUSAGE_SELF).ru_minflt\n"
        "print((t1 - t0) * 1e3, (t2 - t1) * 1e3, f2 - f1)\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, capture_output=True)  # warm the caches
    runs = [tuple(map(float, subprocess.run([sys.executable, "-c", code], check=True, capture_output=True,
                                            text=True).stdout.split())) for _ in range(5)]
    return tuple(statistics.median(r[k] for r in runs) for k in range(3))  # type: ignore[return-value]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--calls", type=int, default=2000)
    args = ap.parse_args()
    cases: dict = {}
    gas = {}
    for label, path, request in (("BigInt", BIGINT, REQUEST), ("Number", NUMBER, REQUEST_FLOAT)):
        source = path.read_text()
        for engine in ("wasmer", "wasmtime"):
            realm = FrozenRealm(source, engine=engine)
            gas[label] = realm.call("calculateSwap", request).gas_used
            cases[f"FrozenRealm, {engine} (pure, metered)", label] = (
                lambda realm=realm, request=request: realm.call("calculateSwap", request), 1)
        for name, case in native_calls(source, request).items():
            cases[name, label] = case
    cases["plain Python (no isolation)", "BigInt"] = (lambda: py_curve_swap(0, 1, 10**21, POOL), 1)
    medians, spread = interleaved_medians(cases, args.calls)
    rows: dict[str, dict[str, float]] = {}
    for (name, label), us in medians.items():
        rows.setdefault(name, {})[label] = us

    print("## Pure-call latency: 3-coin Curve quote (median µs per call)\n")
    print(f"| | BigInt plugin ({gas['BigInt']:,} gas) | Number plugin ({gas['Number']:,} gas) |")
    print("|---|---|---|")
    for name, cols in rows.items():
        print(f"| {name} | " + " | ".join(f"{cols[c]:.1f}" if c in cols else "—" for c in ("BigInt", "Number")) + " |")
    lo, hi = spread["FrozenRealm, wasmer (pure, metered)", "Number"]
    nlo, nhi = spread["native quickjs-ng, reused context (impure)", "Number"] if (
        "native quickjs-ng, reused context (impure)", "Number") in spread else (0, 0)
    print(f"\nMeasured in 10 interleaved rounds; the round medians of the wasmer Number row ranged "
          f"{lo:.1f}-{hi:.1f} µs (native reused context: {nlo:.1f}-{nhi:.1f} µs).")
    native = rows.get("native quickjs-ng, reused context (impure)", {})
    if native:
        # the price of the sandbox, in units of the same engine unsandboxed: the VM's drift
        # moves both rows, so this moves much less than either
        parts = [f"{engine} {rows[f'FrozenRealm, {engine} (pure, metered)'][c] / native[c]:.2f}x ({c})"
                 for engine in ("wasmer", "wasmtime") for c in ("BigInt", "Number")]
        print("A pure call costs, in native reused-context calls: " + ", ".join(parts) + ".")
    print("\n## Cold start from cache to first result (median of 5 new processes, ms)\n")
    print("| engine | FrozenRealm(...) + first call | its minor page faults | Python imports (plugin_host + engine) |")
    print("|---|---|---|---|")
    for engine in ("wasmer", "wasmtime"):
        imports, first, faults = cold_start(engine)
        print(f"| {engine} | {first:.1f} | {faults:,.0f} | {imports:.0f} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
