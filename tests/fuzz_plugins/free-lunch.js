/**
 * DELIBERATELY BUGGY (tests/test_fuzz_bugs.py): a constant-product calculateSwap that quotes
 * "small" trades (under 1% of the input reserve) at the spot price, skipping slippage. Every
 * answer stays inside the pool's balances, but a trade of ~0.3-1% of the reserve and back
 * returns more than it put in. The round-trip property finds it.
 */
export const metadata = { name: "bug-free-lunch", version: "0.0.1", kind: "amm",
  description: "a round trip gains (a fuzzing fixture)", author: "tests", license: "MIT" };

const BPS = 10000n;

export function calculateSwap({ tokenIn, tokenOut, amountIn, poolState }) {
  const { tokens, reserves } = poolState;
  const i = tokens.indexOf(tokenIn), j = tokens.indexOf(tokenOut);
  if (i < 0 || j < 0 || i === j) throw new Error("UNKNOWN_TOKEN");
  const fee = BigInt(poolState.feeBps ?? 30);
  if (amountIn <= 0n) throw new Error("INSUFFICIENT_INPUT_AMOUNT");
  const rIn = reserves[i], rOut = reserves[j];
  if (rIn <= 0n || rOut <= 0n) throw new Error("INSUFFICIENT_LIQUIDITY");
  const withFee = amountIn * (BPS - fee);
  const amountOut = amountIn * 100n < rIn
    ? (withFee * rOut) / (rIn * BPS)                   // the bug: spot price for small trades
    : (withFee * rOut) / (rIn * BPS + withFee);
  if (amountOut <= 0n) throw new Error("INSUFFICIENT_OUTPUT_AMOUNT");
  if (amountOut >= rOut) throw new Error("INSUFFICIENT_LIQUIDITY");
  const newBalances = reserves.slice();
  newBalances[i] = rIn + amountIn;
  newBalances[j] = rOut - amountOut;
  return { amountOut, feeAmount: (amountIn * fee) / BPS, newBalances, priceImpact: 0 };
}
