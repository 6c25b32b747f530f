#!/usr/bin/env python3
"""Per-swap latency of each plugin in a FrozenRealm (wasmer and wasmtime) against the same math in
plain Python, and the gas each swap uses.

    .venv/bin/python benches/plugins.py [--calls N]

For every case: the median wall time of one `realm.call(...)` over N calls (a warm realm: the
snapshot restore, the input/output codec and the JS are all in it), the median of the plain-Python
function below (a small mirror of the plugin's math, checked against the plugin's answer first),
and the call's gas. The Python mirrors exist only for this comparison; the plugins are verified
against independent references in tests/test_plugins_*.py.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from plugin_host import FrozenRealm  # noqa: E402

ENGINES = ("wasmer", "wasmtime")


# ---- plain-Python mirrors of the plugins' math (no overflow checks, no validation) --------------

def py_curve_swap(i, j, dx, ps):
    balances, A, n = ps["balances"], ps["A"], len(ps["balances"])
    rates = [10 ** (36 - d) for d in ps["decimals"]]
    xp = [r * b // 10**18 for r, b in zip(rates, balances)]
    S, D, Ann = sum(xp), sum(xp), A * n
    for _ in range(255):
        D_P = D
        for x in xp:
            D_P = D_P * D // (x * n)
        prev = D
        D = (Ann * S + D_P * n) * D // ((Ann - 1) * D + (n + 1) * D_P)
        if abs(D - prev) <= 1:
            break
    x = xp[i] + dx * rates[i] // 10**18
    c, s_ = D, 0
    for k in range(n):
        if k == j:
            continue
        _x = x if k == i else xp[k]
        s_ += _x
        c = c * D // (_x * n)
    c = c * D // (Ann * n)
    b, y = s_ + D // Ann, D
    for _ in range(255):
        prev = y
        y = (y * y + c) // (2 * y + b - D)
        if abs(y - prev) <= 1:
            break
    dy = xp[j] - y - 1
    dy_fee = dy * ps["fee"] // 10**10
    out = (dy - dy_fee) * 10**18 // rates[j]
    admin = (dy_fee * ps["adminFee"] // 10**10) * 10**18 // rates[j]
    new = list(balances)
    new[i] += dx
    new[j] -= out + admin
    return out, new


def py_uniswap_swap(amount_in, r_in, r_out, fee_bps):
    a = amount_in * (10000 - fee_bps)
    return a * r_out // (r_in * 10000 + a)


def py_solidly_swap(amount_in, t, ps):
    E = 10**18
    r0, r1 = ps["reserves"]
    dec0, dec1 = 10 ** ps["decimals"][0], 10 ** ps["decimals"][1]
    amount_in -= amount_in * ps["feeBps"] // 10000
    if not ps["stable"]:
        r_a, r_b = (r0, r1) if t == 0 else (r1, r0)
        return amount_in * r_b // (r_a + amount_in)

    def f(x0, y):
        return (x0 * y // E) * (x0 * x0 // E + y * y // E) // E

    def d(x0, y):
        return 3 * x0 * (y * y // E) // E + (x0 * x0 // E) * x0 // E

    def k(x, y):
        return f(x * E // dec0, y * E // dec1)

    xy = k(r0, r1)
    n0, n1 = r0 * E // dec0, r1 * E // dec1
    r_a, r_b = (n0, n1) if t == 0 else (n1, n0)
    x0 = amount_in * E // (dec0 if t == 0 else dec1) + r_a
    y = r_b
    for _ in range(255):
        kk = f(x0, y)
        if kk < xy:
            dy = (xy - kk) * E // d(x0, y)
            if dy == 0:
                if k(x0, y + 1) > xy:  # Pool.sol's _k, rescaled by the decimals again
                    y += 1
                    break
                dy = 1
            y += dy
        else:
            dy = (kk - xy) * E // d(x0, y)
            if dy == 0:
                if kk == xy or f(x0, y - 1) < xy:
                    break
                dy = 1
            y -= dy
    return (r_b - y) * (dec1 if t == 0 else dec0) // E


# ---- cases --------------------------------------------------------------------------------------

def curve_pool(n, balances, decimals, A=2000, fee=4000000, admin=5000000000):
    return {"tokens": [f"T{k}" for k in range(n)], "balances": balances, "decimals": decimals,
            "A": A, "fee": fee, "adminFee": admin}


SPEC3 = curve_pool(3, [10**24] * 3, [18, 18, 18], A=100)
MIXED3 = curve_pool(3, [10**24, 10**12, 10**12], [18, 6, 6], A=100)
IMBAL8 = curve_pool(8, [10**24] * 7 + [2 * 10**23], [18] * 8)
SOL_STABLE = {"tokens": ["A", "B"], "reserves": [10**24, 10**24], "decimals": [18, 18], "stable": True, "feeBps": 5}
SOL_STABLE_6 = {"tokens": ["A", "B"], "reserves": [10**12, 2 * 10**12], "decimals": [6, 6], "stable": True, "feeBps": 5}
SOL_VOLATILE = dict(SOL_STABLE, stable=False, feeBps=30)
UNI = {"tokens": ["A", "B"], "reserves": [10**24, 10**24], "feeBps": 30}


def swap(ps, i, j, dx):
    return {"tokenIn": ps["tokens"][i], "tokenOut": ps["tokens"][j], "amountIn": dx, "poolState": ps}


CASES = [
    # (label, plugin file, function, input, python callable, check(output, python result))
    ("curve 3 coins (spec)", "curve-stable-swap.js", "calculateSwap", swap(SPEC3, 0, 1, 1000 * 10**18),
     lambda: py_curve_swap(0, 1, 1000 * 10**18, SPEC3), lambda o, p: o["amountOut"] == p[0] and o["newBalances"] == p[1]),
    ("curve 3 coins 18/6/6", "curve-stable-swap.js", "calculateSwap", swap(MIXED3, 0, 1, 1000 * 10**18),
     lambda: py_curve_swap(0, 1, 1000 * 10**18, MIXED3), lambda o, p: o["amountOut"] == p[0]),
    ("curve 8 coins, imbalanced", "curve-stable-swap.js", "calculateSwap", swap(IMBAL8, 7, 0, 5 * 10**23),
     lambda: py_curve_swap(7, 0, 5 * 10**23, IMBAL8), lambda o, p: o["amountOut"] == p[0]),
    ("curve-float 3 coins (Number)", "examples/curve-stable-swap-float.js", "calculateSwap",
     swap(SPEC3, 0, 1, 1000 * 10**18), lambda: py_curve_swap(0, 1, 1000 * 10**18, SPEC3),
     lambda o, p: abs(o["amountOut"] - p[0]) < 1e-9 * p[0]),
    ("uniswap-v2 calculateSwap", "uniswap-v2.js", "calculateSwap", swap(UNI, 0, 1, 1000 * 10**18),
     lambda: py_uniswap_swap(1000 * 10**18, 10**24, 10**24, 30), lambda o, p: o["amountOut"] == p),
    ("uniswap-v2 getAmountOut", "uniswap-v2.js", "getAmountOut",
     {"amountIn": 1000 * 10**18, "reserveIn": 10**24, "reserveOut": 10**24, "feeBps": 30},
     lambda: py_uniswap_swap(1000 * 10**18, 10**24, 10**24, 30), lambda o, p: o == p),
    ("solidly stable 18/18", "solidly.js", "calculateSwap", swap(SOL_STABLE, 0, 1, 1000 * 10**18),
     lambda: py_solidly_swap(1000 * 10**18, 0, SOL_STABLE), lambda o, p: o["amountOut"] == p),
    ("solidly stable 6/6", "solidly.js", "calculateSwap", swap(SOL_STABLE_6, 1, 0, 10**11),
     lambda: py_solidly_swap(10**11, 1, SOL_STABLE_6), lambda o, p: o["amountOut"] == p),
    ("solidly volatile", "solidly.js", "calculateSwap", swap(SOL_VOLATILE, 0, 1, 1000 * 10**18),
     lambda: py_solidly_swap(1000 * 10**18, 0, SOL_VOLATILE), lambda o, p: o["amountOut"] == p),
]


def median_us(fn, calls: int) -> float:
    for _ in range(min(50, calls)):
        fn()
    samples = []
    for _ in range(calls):
        t = time.perf_counter_ns()
        fn()
        samples.append(time.perf_counter_ns() - t)
    return statistics.median(samples) / 1000


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--calls", type=int, default=2000, help="calls per measurement (default 2000)")
    args = ap.parse_args()
    realms = {}
    rows = []
    for label, plugin, fn, data, py, check in CASES:
        gas = {}
        times = {}
        for engine in ENGINES:
            key = (plugin, engine)
            if key not in realms:
                realms[key] = FrozenRealm((ROOT / "plugins" / plugin).read_text(), engine=engine)
            realm = realms[key]
            res = realm.call(fn, data)
            assert check(res.output, py()), f"{label}: the plugin and the Python mirror disagree"
            gas[engine] = res.gas_used
            times[engine] = median_us(lambda: realm.call(fn, data), args.calls)
        assert gas["wasmer"] == gas["wasmtime"], f"{label}: gas differs between engines"
        rows.append((label, times["wasmer"], times["wasmtime"], median_us(py, args.calls), gas["wasmer"]))

    head = ("case", "wasmer µs", "wasmtime µs", "python µs", "realm/python", "gas")
    print(f"median per call over {args.calls} calls (warm realms; Python {sys.version.split()[0]})\n")
    print(f"{head[0]:<30} {head[1]:>10} {head[2]:>12} {head[3]:>10} {head[4]:>13} {head[5]:>9}")
    print("-" * 89)
    for label, wm, wt, py, gas in rows:
        print(f"{label:<30} {wm:>10.1f} {wt:>12.1f} {py:>10.1f} {min(wm, wt) / py:>12.1f}x {gas:>9,}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
