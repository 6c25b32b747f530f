"""Shared pieces of the DEX and validation tests: the real plugins, hostile plugins, pools."""

from __future__ import annotations

import json
from pathlib import Path

from plugin_host import ExtensibleDex, InvalidOutput, OutOfGas, PluginException, ValidationFailed

ROOT = Path(__file__).resolve().parent.parent
OWNER = "dex.near"
GAS = 2_000_000  # a swap through our plugins uses ~7k-25k gas; keeps the spinning plugin quick


def source(name: str) -> str:
    return (ROOT / "plugins" / f"{name}.js").read_text()


CURVE, UNIV2, SOLIDLY = source("curve-stable-swap"), source("uniswap-v2"), source("solidly")

# pool_id -> (plugin_id, tokens, fee treatment, params, balances_key, one unit of each token)
POOLS = {
    "3pool": ("curve", ("DAI", "USDC", "USDT"), "admin-fee-leaves",
              {"decimals": [18, 6, 6], "A": 200, "fee": 4_000_000, "adminFee": 5_000_000_000}, "balances",
              (10**18, 10**6, 10**6)),
    "weth-usdc": ("univ2", ("WETH", "USDC"), "kept", {"feeBps": 30}, "reserves", (10**18, 10**6)),
    "usdc-dai": ("solidly", ("USDC", "DAI"), "fee-leaves", {"decimals": [6, 18], "stable": True, "feeBps": 5},
                 "reserves", (10**6, 10**18)),
}
PLUGINS = {"curve": CURVE, "univ2": UNIV2, "solidly": SOLIDLY}
UNIT = {"DAI": 10**18, "USDC": 10**6, "USDT": 10**6, "WETH": 10**18}


def setup_dex(dex: ExtensibleDex, *, liquidity: bool = True) -> ExtensibleDex:
    """Install the three AMM plugins, create their pools and (optionally) fund them from "lp"."""
    for plugin_id, src in PLUGINS.items():
        dex.install_plugin(OWNER, src, plugin_id)
    for pool_id, (plugin_id, tokens, treatment, params, key, _units) in POOLS.items():
        dex.create_pool(OWNER, pool_id, plugin_id=plugin_id, tokens=list(tokens), fee_treatment=treatment,
                        params=params, balances_key=key)
    if liquidity:
        seed = {"3pool": (1_000_000, 1_000_000, 1_000_000), "weth-usdc": (1_000, 3_000_000),
                "usdc-dai": (1_000_000, 1_000_000)}
        for pool_id, sizes in seed.items():
            tokens = POOLS[pool_id][1]
            amounts = [n * UNIT[t] for n, t in zip(sizes, tokens)]
            for t, a in zip(tokens, amounts):
                dex.deposit("lp", t, a)
            dex.add_liquidity("lp", pool_id, amounts)
    return dex


# ---- hostile plugins -------------------------------------------------------------------------

_PRELUDE = """
function ctx({ tokenIn, tokenOut, amountIn, poolState }) {
  const b = (poolState.balances ?? poolState.reserves).slice();
  return { b, i: poolState.tokens.indexOf(tokenIn), j: poolState.tokens.indexOf(tokenOut), amountIn };
}
"""

# kind -> (calculateSwap body, the error it must be refused with, the rules that may catch it)
HOSTILE = {
    # everything the pool holds of tokenOut
    "drain": ("const { b, i, j, amountIn } = ctx(req); const out = b[j]; b[i] += amountIn; b[j] -= out;"
              "return { amountOut: out, feeAmount: 0n, newBalances: b, priceImpact: 0 };",
              ValidationFailed, {"amountOut < balance out"}),
    # more than the pool holds
    "overdraw": ("const { b, i, j, amountIn } = ctx(req); const out = b[j] + 1000n; b[i] += amountIn; b[j] -= out;"
                 "return { amountOut: out, feeAmount: 0n, newBalances: b, priceImpact: 0 };",
                 ValidationFailed, {"no negative amounts"}),
    "negative": ("const { b, i, j, amountIn } = ctx(req); b[i] += amountIn; b[j] += amountIn;"
                 "return { amountOut: -amountIn, feeAmount: 0n, newBalances: b, priceImpact: 0 };",
                 ValidationFailed, {"no negative amounts"}),
    # pays out 1 but keeps the trader's input out of the books
    "skim": ("const { b, j } = ctx(req); b[j] -= 1n;"
             "return { amountOut: 1n, feeAmount: 0n, newBalances: b, priceImpact: 0 };",
             ValidationFailed, {"conservation", "amountOut < balance out"}),
    # a 'fee' of the whole input
    "fee-thief": ("const { b, i, j, amountIn } = ctx(req); b[i] += amountIn; b[j] -= 1n;"
                  "return { amountOut: 1n, feeAmount: amountIn, newBalances: b, priceImpact: 0 };",
                  ValidationFailed, {"fee bound", "conservation", "amountOut < balance out"}),
    "short": ("const { b, i, j, amountIn } = ctx(req);"
              "return { amountOut: 1n, feeAmount: 0n, newBalances: [b[i] + amountIn], priceImpact: 0 };",
              ValidationFailed, {"one balance per coin"}),
    "throws": ("throw new Error('INSUFFICIENT_LIQUIDITY: not today');", PluginException, set()),
    "spins": ("for (;;) {}", OutOfGas, set()),
    "junk": ("const { b } = ctx(req); return { amountOut: 1.5, feeAmount: 0n, newBalances: b, priceImpact: 0 };",
             InvalidOutput, set()),
    "nothing": ("return 'a string';", InvalidOutput, set()),
}


def hostile_source(kind: str) -> str:
    meta = {"name": f"hostile-{kind}", "version": "1.0.0", "author": "mallory.near", "license": "MIT",
            "description": f"a hostile AMM plugin ({kind})", "kind": "amm"}
    body = HOSTILE[kind][0]
    return (f"export const metadata = {json.dumps(meta)};\n{_PRELUDE}\n"
            f"export function calculateSwap(req) {{ {body} }}\n")


def state(dex: ExtensibleDex) -> dict:
    """Everything a swap could change (not the rejection log), to show a refusal changed nothing."""
    tables = ("tokens", "balances", "pools", "pool_balances", "shares", "fees", "royalties", "plugins", "swaps")
    return {t: dex._store.read(f"SELECT * FROM {t} ORDER BY 1, 2") for t in tables}
