#!/usr/bin/env python3
"""Fuzzing throughput: where the time goes, hypothesis or the realm.

    .venv/bin/python benches/fuzz.py [--examples N] [--repeat R]

Three measurements, each the best of R runs (other processes share the machine's cores):
- generation: inputs/s hypothesis draws from each strategy, batched the way fuzz.run draws them
  (one example = up to 16 inputs drawn with st.data()), with nothing else in the loop;
- realm: calls/s of a warm FrozenRealm on one fixed input (restore, codec, gas and receipt in);
- fuzz.run: examples/s end to end, for a trivial plugin and for the AMM plugins, with the cheap
  properties (totality, gas) and with every AMM property (each adds realm calls: monotonicity 2,
  round trip 1, determinism 3 of which one in a fresh realm, ~1 ms).
One core: everything runs in this process.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests" / "fuzz_plugins"))

from hypothesis import HealthCheck, Phase, Verbosity, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from inputs import GetAmountOut  # noqa: E402  the fuzz CLI's example input module (tests/fuzz_plugins)
from plugin_host import FrozenRealm, fuzz  # noqa: E402

PLUGINS = {"constant-product": ROOT / "plugins" / "uniswap-v2.js", "solidly": ROOT / "plugins" / "solidly.js",
           "curve": ROOT / "plugins" / "curve-stable-swap.js"}
TRIVIAL = "export function echo(x) { return x }"


def best(repeat: int, fn) -> float:
    return max(fn() for _ in range(repeat))


def generation_rate(strategy, n: int, batch: int = 16) -> float:
    count = [0]

    @settings(max_examples=max(1, n // batch), database=None, deadline=None, phases=[Phase.generate],
              suppress_health_check=list(HealthCheck), verbosity=Verbosity.quiet)
    @given(st.data())
    def draw(data):
        for _ in range(batch):
            data.draw(strategy)
            count[0] += 1

    start = time.perf_counter()
    draw()
    return count[0] / (time.perf_counter() - start)


def call_rate(realm: FrozenRealm, function: str, data, n: int) -> float:
    for _ in range(50):
        realm.call(function, data)
    start = time.perf_counter()
    for _ in range(n):
        realm.call(function, data)
    return n / (time.perf_counter() - start)


def run_rate(target, strategy, props, n: int) -> float:
    report = fuzz.run(target, strategy, props, examples=n, seed=1)
    assert report.ok, report.summary()
    return report.examples_per_second


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--examples", type=int, default=3000)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    n, r = args.examples, args.repeat
    swaps = {k: fuzz.swap_requests(fuzz.pool_states(k)) for k in PLUGINS}

    rows = [("generation", "st.integers(0, 2**64)", best(r, lambda: generation_rate(st.integers(0, 2**64), n))),
            ("generation", "from_struct(GetAmountOut)", best(r, lambda: generation_rate(fuzz.from_struct(GetAmountOut), n)))]
    rows += [("generation", f"swap_requests({k})", best(r, lambda k=k: generation_rate(swaps[k], n))) for k in PLUGINS]

    trivial = FrozenRealm(TRIVIAL)
    uni = FrozenRealm(PLUGINS["constant-product"].read_text())
    swap = {"tokenIn": "T0", "tokenOut": "T1", "amountIn": 10**21,
            "poolState": {"tokens": ["T0", "T1"], "reserves": [10**24, 10**24], "feeBps": 30}}
    rows += [("realm call", "echo(int)", best(r, lambda: call_rate(trivial, "echo", 12345, n))),
             ("realm call", "uniswap-v2 getAmountOut", best(r, lambda: call_rate(
                 uni, "getAmountOut", {"amountIn": 10**21, "reserveIn": 10**24, "reserveOut": 10**24}, n))),
             ("realm call", "uniswap-v2 calculateSwap", best(r, lambda: call_rate(uni, "calculateSwap", swap, n)))]

    cheap = [fuzz.totality(), fuzz.gas_bound(5_000_000)]
    echo = fuzz.PluginTarget(TRIVIAL, "echo")
    rows.append(("fuzz.run", "echo, st.integers, totality+gas",
                 best(r, lambda: run_rate(echo, st.integers(0, 2**64), cheap, n))))
    get_out = fuzz.PluginTarget.load(PLUGINS["constant-product"], "getAmountOut")
    rows.append(("fuzz.run", "uniswap-v2 getAmountOut, from_struct, totality+gas",
                 best(r, lambda: run_rate(get_out, fuzz.from_struct(GetAmountOut), cheap, n))))
    for kind, path in PLUGINS.items():
        target = fuzz.PluginTarget.load(path, "calculateSwap", gas_limit=5_000_000)
        rows.append(("fuzz.run", f"{target.label} calculateSwap, totality+gas",
                     best(r, lambda: run_rate(target, swaps[kind], cheap, n))))
        every = fuzz.amm_properties(kind, gas_budget=5_000_000)
        rows.append(("fuzz.run", f"{target.label} calculateSwap, every AMM property",
                     best(r, lambda: run_rate(target, swaps[kind], every, max(300, n // 5)))))

    width = max(len(w) for _, w, _ in rows)
    print(f"{'what':<11} {'workload':<{width}} {'per second':>11} {'us each':>9}")
    for what, workload, rate in rows:
        print(f"{what:<11} {workload:<{width}} {rate:>11,.0f} {1e6 / rate:>9.0f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
