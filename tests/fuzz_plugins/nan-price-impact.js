/**
 * DELIBERATELY BUGGY (tests/test_fuzz_bugs.py): computes priceImpact with Numbers and divides
 * 0 by 0 when a dust trade's output and spot value both round to zero, returning NaN, which
 * cannot leave the realm
 * (InvalidOutput). A typed error, so plain totality accepts it; totality restricted to answers
 * and reverts (allowed=(PluginException,)) finds it.
 */
export const metadata = { name: "bug-nan-price-impact", version: "0.0.1", kind: "amm",
  description: "returns NaN for dust trades (a fuzzing fixture)", author: "tests", license: "MIT" };

const BPS = 10000n;

export function calculateSwap({ tokenIn, tokenOut, amountIn, poolState }) {
  const { tokens, reserves } = poolState;
  const i = tokens.indexOf(tokenIn), j = tokens.indexOf(tokenOut);
  if (i < 0 || j < 0 || i === j) throw new Error("UNKNOWN_TOKEN");
  const fee = BigInt(poolState.feeBps ?? 30);
  const rIn = reserves[i], rOut = reserves[j];
  if (rIn <= 0n || rOut <= 0n) throw new Error("INSUFFICIENT_LIQUIDITY");
  const withFee = amountIn * (BPS - fee);
  const amountOut = (withFee * rOut) / (rIn * BPS + withFee);
  const spot = Number((amountIn * rOut) / rIn);  // floored: 0 for dust trades into a deep pool
  const newBalances = reserves.slice();
  newBalances[i] = rIn + amountIn;
  newBalances[j] = rOut - amountOut;
  // the bug: 0 / 0 when amountOut and the spot value are both 0
  return { amountOut, feeAmount: (amountIn * fee) / BPS, newBalances,
           priceImpact: 1 - Number(amountOut) / spot };
}
