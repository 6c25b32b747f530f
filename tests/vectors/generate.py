#!/usr/bin/env python3
"""Generate the plugin test vectors from independent references (run once; CI only reads the JSON).

    python3 tests/vectors/generate.py            # all three
    python3 tests/vectors/generate.py curve      # or: uniswap, solidly

References (none of them written by this project; none of their code is copied here):
  curve_stable_swap.json  curvesim 0.5.0 (PyPI), curvesim.pool.stableswap.pool.CurvePool:
                          get_D, get_y, exchange, dydx (the spot price)
  uniswap_v2.json         UniswapV2Router02's published bytecode (npm @uniswap/v2-periphery
                          1.1.0-beta.0, build/UniswapV2Router02.json) executed in @ethereumjs/evm
                          10.1.3: getAmountOut / getAmountIn and their revert reasons (fee 30 bps);
                          degenbot 0.5.0 (PyPI) constant_product_calc_exact_in/out for other fees
  solidly.json            degenbot 0.5.0: degenbot.aerodrome.functions.calc_exact_in_stable
                          (Aerodrome = Velodrome v2 Pool.sol) and
                          degenbot.solidly.solidly_functions.general_calc_exact_in_volatile, _k

Those packages are too heavy for CI (pandas, web3, sqlalchemy, cvxpy; degenbot needs Python
3.12), so this script installs them once into a cache directory (default
~/.cache/plugin-host-vectors, or $PLUGIN_HOST_VECTORS_CACHE; --venv / --node-dir reuse existing
ones) and re-executes itself there. It needs python3.12 (or $PYTHON312), node and npm.

Reverts: the references compute with unbounded Python ints, while the contracts revert on uint256
overflow (Vyper; Solidity >= 0.8). To know where the contract would revert, the reference's own
code runs a second time on `Checked` integers (below), which raise when a value leaves uint256;
the reference's own exceptions (ZeroDivisionError, EVMRevertError, AssertionError) are reverts too.
The output is deterministic (fixed seeds): re-running it reproduces the JSON byte for byte.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
from fractions import Fraction
from pathlib import Path

HERE = Path(__file__).resolve().parent
PY_PINS = ["curvesim==0.5.0", "degenbot==0.5.0"]
NPM_PINS = ["@uniswap/v2-periphery@1.1.0-beta.0", "@ethereumjs/evm@10.1.3"]
MAX_UINT256 = 2**256 - 1


# ---- bootstrap: a venv with the references, then re-exec inside it ------------------------------

def _cache() -> Path:
    return Path(os.environ.get("PLUGIN_HOST_VECTORS_CACHE", Path.home() / ".cache" / "plugin-host-vectors"))


def _bootstrap(args: argparse.Namespace) -> None:
    cache = _cache()
    venv = Path(args.venv) if args.venv else cache / "venv"
    node_dir = Path(args.node_dir) if args.node_dir else cache / "node"
    py = venv / "bin" / "python"
    if not py.exists():
        base = os.environ.get("PYTHON312") or shutil.which("python3.12")
        if not base:
            sys.exit("python3.12 is needed for degenbot: set PYTHON312=/path/to/python3.12")
        subprocess.run([base, "-m", "venv", str(venv)], check=True)
        subprocess.run([str(py), "-m", "pip", "install", "--quiet", *PY_PINS], check=True)
    if not (node_dir / "node_modules" / "@ethereumjs" / "evm").exists():
        node_dir.mkdir(parents=True, exist_ok=True)
        (node_dir / "package.json").write_text('{"name": "plugin-host-vectors", "private": true, "type": "module"}\n')
        subprocess.run(["npm", "install", "--silent", "--no-audit", "--no-fund", *NPM_PINS], cwd=node_dir, check=True)
    # degenbot writes a config (and a database) under $HOME/.config/degenbot on import: give it its own HOME
    home = cache / "home"
    conf = home / ".config" / "degenbot" / "config.toml"
    if not conf.exists():
        conf.parent.mkdir(parents=True, exist_ok=True)
        conf.write_text(f'[database]\npath = "{conf.parent / "degenbot.db"}"\n\n[rpc]\n')
    env = dict(os.environ, HOME=str(home), PLUGIN_HOST_VECTORS_NODE=str(node_dir))
    argv = [str(py), str(Path(__file__).resolve()), "--inside", *args.which]
    os.execve(str(py), argv, env)


# ---- checked integers: where the contract's uint256 arithmetic would revert ---------------------

class Revert(Exception):
    pass


class Checked(int):
    """An int that raises Revert when an arithmetic result leaves uint256 (the contract's
    checked arithmetic). `underflow=False` (for curvesim, which folds `- D` into a possibly
    negative `b`) only checks overflow; the Curve underflows are checked explicitly."""

    underflow = True

    @classmethod
    def _w(cls, v):
        if v > MAX_UINT256:
            raise Revert("overflow")
        if v < 0 and cls.underflow:
            raise Revert("underflow")
        return cls(v)

    def __add__(self, o): return self._w(int(self) + int(o))
    def __radd__(self, o): return self._w(int(o) + int(self))
    def __sub__(self, o): return self._w(int(self) - int(o))
    def __rsub__(self, o): return self._w(int(o) - int(self))
    def __mul__(self, o): return self._w(int(self) * int(o))
    def __rmul__(self, o): return self._w(int(o) * int(self))
    def __floordiv__(self, o): return self._w(int(self) // int(o))
    def __rfloordiv__(self, o): return self._w(int(o) // int(self))
    def __pow__(self, o): return self._w(int(self) ** int(o))
    def __neg__(self): return self._w(-int(self))


class CheckedOverflow(Checked):
    underflow = False


# ---- sampling -----------------------------------------------------------------------------------

def log_uniform(rng: random.Random, lo: float, hi: float) -> int:
    return max(1, int(10 ** rng.uniform(math.log10(lo), math.log10(hi))))


def pick_amount(rng: random.Random, balance: int) -> int:
    r = rng.random()
    if r < 0.4:
        return max(1, int(balance * 10 ** rng.uniform(-9, 0.5)))
    if r < 0.5:
        return rng.choice([1, 2, 3, 10, 1000])
    return log_uniform(rng, 1, 1e30)


# ---- Curve (curvesim) ---------------------------------------------------------------------------

def _timeout(signum, frame):
    raise TimeoutError


def curve_cases(n_cases: int) -> dict:
    import curvesim.pool.stableswap.pool as cs

    real_mpz = cs.mpz

    def pool_of(ps, wrap):
        rates = [10 ** (36 - d) for d in ps["decimals"]]
        return cs.CurvePool(A=wrap(ps["A"]), D=[wrap(b) for b in ps["balances"]], n=len(ps["balances"]),
                            rates=rates, fee=ps["fee"], admin_fee=ps["adminFee"])

    def reference(ps, i, j, dx):
        """exchange, get_dy and get_D expectations ({"value"...} or {"revert": ...}), from curvesim."""
        # pass 1: where would the contract revert? curvesim's own code on overflow-checked ints
        cs.mpz = CheckedOverflow
        try:
            try:
                p = pool_of(ps, CheckedOverflow)  # computes D
                xp = p._xp()
                p.D(xp)
            except (Revert, ZeroDivisionError) as e:
                revert = {"revert": str(e) if isinstance(e, Revert) else "division by zero"}
                return revert, revert, revert
            swap_revert = dy_revert = None
            try:
                x = xp[i] + CheckedOverflow(dx) * p.rates[i] // 10**18
                y = p.get_y(i, j, x, xp)
                if int(xp[j]) - int(y) - 1 < 0:
                    raise Revert("underflow")
            except (Revert, ZeroDivisionError) as e:
                swap_revert = dy_revert = str(e) if isinstance(e, Revert) else "division by zero"
            if not swap_revert:
                try:  # get_dy
                    dy_raw = (xp[j] - y - 1) * 10**18 // p.rates[j]
                    p.fee * dy_raw
                except Revert as e:
                    dy_revert = str(e)
                try:  # exchange
                    p.exchange(i, j, CheckedOverflow(dx))
                except (Revert, AssertionError) as e:
                    swap_revert = str(e) if isinstance(e, Revert) else "underflow"
        finally:
            cs.mpz = real_mpz
        # pass 2: the values, plain ints
        p = pool_of(ps, int)
        xp = p._xp()
        D = {"value": int(p.D(xp))}
        get_dy = {"revert": dy_revert}
        if not dy_revert:
            x = xp[i] + dx * p.rates[i] // 10**18
            y = p.get_y(i, j, x, xp)
            dy = (xp[j] - y - 1) * 10**18 // p.rates[j]
            get_dy = {"value": int(dy - p.fee * dy // 10**10)}
        if swap_revert:
            return {"revert": swap_revert}, get_dy, D
        spot = p.dydx(i, j)  # curvesim's spot price of i in j (18-decimal units), no fee
        before = list(p.balances)
        amount_out, fee_amount = p.exchange(i, j, dx)
        after = [int(b) for b in p.balances]
        admin = before[j] - after[j] - amount_out
        return ({"amountOut": int(amount_out), "feeAmount": int(fee_amount), "adminFeeAmount": int(admin),
                 "newBalances": after, "spot": float(spot)}, get_dy, D)

    rng = random.Random(20240601)
    cases = []
    skipped = []

    def add(name, ps, i, j, dx):
        # curvesim iterates "until converged" where the contract stops after 255 rounds: a case
        # it never finishes has no reference; it is listed, not tested against
        signal.signal(signal.SIGALRM, _timeout)
        signal.alarm(5)
        try:
            swap, get_dy, D = reference(ps, i, j, dx)
        except TimeoutError:
            skipped.append({"name": name, "poolState": ps, "i": i, "j": j, "amountIn": dx,
                            "why": "curvesim's get_D/get_y did not converge within 5 s"})
            return
        finally:
            signal.alarm(0)
        cases.append({"name": name, "poolState": ps, "i": i, "j": j, "amountIn": dx,
                      "exchange": swap, "getDy": get_dy, "getD": D})

    base = {"A": 100, "fee": 4000000, "adminFee": 5000000000}
    add("spec: 3pool 18/18/18", dict(base, tokens=["DAI", "USDC", "USDT"], balances=[10**24] * 3,
                                     decimals=[18, 18, 18]), 0, 1, 1000 * 10**18)
    add("spec: 3pool 18/6/6", dict(base, tokens=["DAI", "USDC", "USDT"], balances=[10**24, 10**12, 10**12],
                                   decimals=[18, 6, 6]), 0, 1, 1000 * 10**18)
    add("curvesim docstring: A=250, 2 coins, rates 1e30", dict(A=250, fee=4000000, adminFee=5000000000,
        tokens=["USDC", "USDT"], balances=[500000 * 10**6, 500000 * 10**6], decimals=[6, 6]), 0, 1, 150 * 10**6)

    while len(cases) + len(skipped) < n_cases:
        n = rng.randint(2, 8)
        decimals = [rng.randint(6, 18) for _ in range(n)]
        if rng.random() < 0.6:  # a pool of similarly valued coins, mildly imbalanced
            tokens_each = 10 ** rng.uniform(0, 12)
            balances = [max(1, int(tokens_each * 10 ** rng.uniform(-0.5, 0.5) * 10**d)) for d in decimals]
        else:  # anything from 1 wei to 1e30 wei
            balances = [log_uniform(rng, 1, 1e30) for _ in range(n)]
        A = rng.choice([1, 2, 10, 50, 100, 200, 1000, 2000, 5000, log_uniform(rng, 1, 5000)])
        fee = rng.choice([0, 1000000, 4000000, 30000000, 100000000, rng.randint(0, 100000000)])
        admin = rng.choice([0, 5000000000, 10000000000, rng.randint(0, 10000000000)])
        i, j = rng.sample(range(n), 2)
        dx = pick_amount(rng, balances[i])
        ps = {"tokens": [f"T{k}" for k in range(n)], "balances": balances, "decimals": decimals,
              "A": A, "fee": fee, "adminFee": admin}
        add(f"random {len(cases)}", ps, i, j, dx)
    return {"reference": "curvesim==0.5.0 CurvePool (get_D, get_y, exchange, dydx); getDy = get_dy's "
                         "formula over curvesim's get_y; reverts: curvesim on overflow-checked ints",
            "cases": cases, "skipped": skipped}


# ---- Uniswap V2 (the router's bytecode in an EVM; degenbot for other fees) ----------------------

def run_evm(calls: list) -> list:
    node_dir = Path(os.environ["PLUGIN_HOST_VECTORS_NODE"])
    driver = node_dir / "uniswap_v2_evm_driver.mjs"
    shutil.copyfile(HERE / "uniswap_v2_evm_driver.mjs", driver)
    payload = json.dumps([[fn, str(a), str(b), str(c)] for fn, a, b, c in calls])
    out = subprocess.run(["node", str(driver)], input=payload, capture_output=True, text=True, check=True,
                         cwd=node_dir)
    return json.loads(out.stdout)


def uniswap_cases(n_cases: int) -> dict:
    from degenbot.uniswap.v2_functions import constant_product_calc_exact_in, constant_product_calc_exact_out

    rng = random.Random(20240602)
    raw = [("spec: getAmountOut(2, 100, 100)", "getAmountOut", 2, 100, 100),
           ("spec: getAmountIn(1, 100, 100)", "getAmountIn", 1, 100, 100),
           ("spec: 1000e18 in, 1e24/1e24", "getAmountOut", 1000 * 10**18, 10**24, 10**24),
           ("spec: 1000e18 out, 1e24/1e24", "getAmountIn", 1000 * 10**18, 10**24, 10**24),
           ("periphery: INSUFFICIENT_INPUT_AMOUNT", "getAmountOut", 0, 100, 100),
           ("periphery: INSUFFICIENT_LIQUIDITY in", "getAmountOut", 2, 0, 100),
           ("periphery: INSUFFICIENT_LIQUIDITY out", "getAmountOut", 2, 100, 0),
           ("periphery: INSUFFICIENT_OUTPUT_AMOUNT", "getAmountIn", 0, 100, 100),
           ("periphery: getAmountIn INSUFFICIENT_LIQUIDITY", "getAmountIn", 1, 100, 0),
           ("amountOut == reserveOut: division by zero", "getAmountIn", 100, 100, 100),
           ("amountOut > reserveOut: sub underflow", "getAmountIn", 101, 100, 100),
           ("mul overflow", "getAmountOut", 2**255, 10**18, 10**18)]
    e18 = 10**18
    for k, (swap, r0, r1) in enumerate([(1, 5, 10), (1, 10, 5), (2, 5, 10), (2, 10, 5), (1, 10, 10),
                                        (1, 100, 100), (1, 1000, 1000)]):
        raw.append((f"v2-core swapTestCases[{k}]", "getAmountOut", swap * e18, r0 * e18, r1 * e18))
    raw.append(("getAmountIn: 1e18 out of 5e18/5e18", "getAmountIn", e18, 5 * e18, 5 * e18))
    while len(raw) < n_cases:
        fn = rng.choice(["getAmountOut", "getAmountOut", "getAmountIn"])
        r_in = log_uniform(rng, 1, 1e30) if rng.random() < 0.5 else log_uniform(rng, 1e3, 1e30)
        r_out = log_uniform(rng, 1, 1e30) if rng.random() < 0.5 else max(1, int(r_in * 10 ** rng.uniform(-3, 3)))
        if fn == "getAmountOut":
            a = pick_amount(rng, r_in)
        else:
            a = max(1, int(r_out * 10 ** rng.uniform(-9, 0))) if rng.random() < 0.9 else log_uniform(rng, 1, 1e30)
        raw.append((f"random {len(raw)}", fn, a, r_in, r_out))
    results = run_evm([(fn, a, b, c) for _, fn, a, b, c in raw])
    cases = []
    for (name, fn, a, r_in, r_out), res in zip(raw, results):
        exp = {"value": int(res["ok"])} if "ok" in res else {"revert": res["revert"], "evm_error": res["error"]}
        cases.append({"name": name, "fn": fn, "amount": a, "reserveIn": r_in, "reserveOut": r_out, "feeBps": 30,
                      "expect": exp, "reference": "UniswapV2Router02 bytecode in @ethereumjs/evm"})
    # other fees: degenbot (valid inputs only: degenbot does not model reverts)
    while len(cases) < 2 * n_cases:
        fee_bps = rng.choice([0, 1, 5, 25, 30, 50, 100, rng.randint(0, 100)])
        r_in, r_out = log_uniform(rng, 1e3, 1e30), log_uniform(rng, 1e3, 1e30)
        fraction = Fraction(fee_bps, 10000)
        if rng.random() < 0.6:
            a = pick_amount(rng, r_in)
            value = constant_product_calc_exact_in(a, r_in, r_out, fraction)
            fn = "getAmountOut"
        else:
            a = max(1, int(r_out * 10 ** rng.uniform(-9, -0.01)))
            value = constant_product_calc_exact_out(a, r_in, r_out, fraction)
            fn = "getAmountIn"
        if a * 10000 * max(r_in, r_out) > MAX_UINT256:
            continue
        cases.append({"name": f"fee {fee_bps} bps {len(cases)}", "fn": fn, "amount": a, "reserveIn": r_in,
                      "reserveOut": r_out, "feeBps": fee_bps, "expect": {"value": int(value)},
                      "reference": "degenbot==0.5.0 constant_product_calc_exact_in/out"})
    return {"reference": "UniswapV2Router02 (npm @uniswap/v2-periphery@1.1.0-beta.0 build) run in "
                         "@ethereumjs/evm@10.1.3 for 30 bps; degenbot==0.5.0 for other fees",
            "cases": cases}


# ---- Solidly / Velodrome v2 (degenbot's Aerodrome functions) ------------------------------------

def solidly_cases(n_cases: int) -> dict:
    from degenbot.aerodrome.functions import calc_exact_in_stable
    from degenbot.exceptions.evm import EVMRevertError
    from degenbot.solidly.solidly_functions import general_calc_exact_in_volatile, general_calc_k

    def view(ps, token_in, amount_in, wrap):
        r0, r1 = (wrap(r) for r in ps["reserves"])
        dec0, dec1 = 10 ** ps["decimals"][0], 10 ** ps["decimals"][1]
        fee = Fraction(ps["feeBps"], 10000)
        if ps["stable"]:
            return calc_exact_in_stable(wrap(amount_in), token_in, r0, r1, dec0, dec1, fee)
        return general_calc_exact_in_volatile(wrap(amount_in), token_in, r0, r1, fee)

    def reference(ps, token_in, amount_in):
        try:
            view(ps, token_in, amount_in, Checked)
        except Revert as e:
            return {"revert": "Panic(0x11)", "detail": str(e)}
        except (ZeroDivisionError, EVMRevertError) as e:
            msg = str(e)
            return {"revert": "!y" if "converge" in msg else "Panic(0x12)", "detail": msg}
        out = int(view(ps, token_in, amount_in, int))
        dec0, dec1 = 10 ** ps["decimals"][0], 10 ** ps["decimals"][1]
        r = ps["reserves"]
        fee = amount_in * ps["feeBps"] // 10000
        new = list(r)
        new[token_in] = r[token_in] + amount_in - fee
        new[1 - token_in] = r[1 - token_in] - out
        res = {"value": out, "feeAmount": fee}
        if 0 < out < r[1 - token_in]:
            if ps["stable"]:
                try:
                    k0, k1 = general_calc_k(r[0], r[1], dec0, dec1), general_calc_k(new[0], new[1], dec0, dec1)
                except Exception:  # degenbot raises when _k overflows uint256
                    k0 = k1 = None
            else:
                k0, k1 = r[0] * r[1], new[0] * new[1]
            res["kBefore"], res["kAfter"] = k0, k1
        return res

    rng = random.Random(20240603)
    cases = []

    def add(name, ps, token_in, amount_in):
        cases.append({"name": name, "poolState": ps, "tokenIn": token_in, "amountIn": amount_in,
                      "getAmountOut": reference(ps, token_in, amount_in)})

    spec = {"tokens": ["A", "B"], "reserves": [10**24, 10**24], "decimals": [18, 18]}
    add("spec: stable 5 bps", dict(spec, stable=True, feeBps=5), 0, 1000 * 10**18)
    add("spec: volatile 30 bps", dict(spec, stable=False, feeBps=30), 0, 1000 * 10**18)
    while len(cases) < n_cases:
        stable = rng.random() < 0.7
        decimals = [rng.choice([6, 8, 18, rng.randint(6, 18)]) for _ in range(2)]
        if rng.random() < 0.6:
            tokens_each = 10 ** rng.uniform(0, 12)
            reserves = [max(1, int(tokens_each * 10 ** rng.uniform(-1, 1) * 10**d)) for d in decimals]
        else:
            reserves = [log_uniform(rng, 1, 1e30) for _ in range(2)]
        fee_bps = rng.choice([0, 1, 4, 5, 30, 100, rng.randint(0, 100)])
        token_in = rng.randint(0, 1)
        ps = {"tokens": ["T0", "T1"], "reserves": reserves, "decimals": decimals, "stable": stable,
              "feeBps": fee_bps}
        add(f"random {len(cases)}", ps, token_in, pick_amount(rng, reserves[token_in]))
    return {"reference": "degenbot==0.5.0: aerodrome.functions.calc_exact_in_stable (Velodrome v2 / "
                         "Aerodrome Pool.sol), solidly_functions.general_calc_exact_in_volatile, "
                         "general_calc_k; reverts: degenbot on checked ints",
            "cases": cases}


GENERATORS = {"curve": ("curve_stable_swap.json", curve_cases, 400),
              "uniswap": ("uniswap_v2.json", uniswap_cases, 300),
              "solidly": ("solidly.json", solidly_cases, 500)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("which", nargs="*", help="any of: " + ", ".join(GENERATORS) + " (default: all)")
    ap.add_argument("--venv", help="reuse this venv (with %s)" % " ".join(PY_PINS))
    ap.add_argument("--node-dir", help="reuse this npm directory (with %s)" % " ".join(NPM_PINS))
    ap.add_argument("--inside", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args()
    args.which = args.which or list(GENERATORS)
    unknown = set(args.which) - set(GENERATORS)
    if unknown:
        ap.error(f"unknown vector sets {sorted(unknown)}")
    if not args.inside:
        _bootstrap(args)
    for name in args.which:
        filename, make, n = GENERATORS[name]
        data = {"generator": "tests/vectors/generate.py", **make(n)}
        text = json.dumps(data, indent=None, separators=(",", ":"), sort_keys=True)
        with tempfile.NamedTemporaryFile("w", dir=HERE, delete=False) as f:
            f.write(text.replace('},{"', '},\n{"') + "\n")
        os.chmod(f.name, 0o644)
        os.replace(f.name, HERE / filename)
        print(f"{filename}: {len(data['cases'])} cases", file=sys.stderr)


if __name__ == "__main__":
    main()
