/**
 * DELIBERATELY BUGGY (tests/test_fuzz_bugs.py): a constant-product calculateSwap that "models
 * slippage" by splitting a trade into steps of 1% of the input reserve. Cheap for the small
 * trades its author tried; a trade of 100x the reserve takes 10,000 steps. The gas-bound
 * property finds it.
 */
export const metadata = { name: "bug-gas-bomb", version: "0.0.1", kind: "amm",
  description: "gas grows with the trade size (a fuzzing fixture)", author: "tests", license: "MIT" };

const BPS = 10000n;

export function calculateSwap({ tokenIn, tokenOut, amountIn, poolState }) {
  const { tokens, reserves } = poolState;
  const i = tokens.indexOf(tokenIn), j = tokens.indexOf(tokenOut);
  if (i < 0 || j < 0 || i === j) throw new Error("UNKNOWN_TOKEN");
  const fee = BigInt(poolState.feeBps ?? 30);
  if (amountIn <= 0n) throw new Error("INSUFFICIENT_INPUT_AMOUNT");
  let rIn = reserves[i], rOut = reserves[j];
  if (rIn <= 0n || rOut <= 0n) throw new Error("INSUFFICIENT_LIQUIDITY");
  const step = rIn / 100n > 0n ? rIn / 100n : 1n;
  let left = amountIn, amountOut = 0n;
  while (left > 0n) {  // the bug: amountIn / step iterations
    const a = left < step ? left : step;
    const withFee = a * (BPS - fee);
    const out = (withFee * rOut) / (rIn * BPS + withFee);
    amountOut += out; rIn += a; rOut -= out; left -= a;
  }
  if (amountOut <= 0n) throw new Error("INSUFFICIENT_OUTPUT_AMOUNT");
  const newBalances = reserves.slice();
  newBalances[i] = reserves[i] + amountIn;
  newBalances[j] = reserves[j] - amountOut;
  return { amountOut, feeAmount: (amountIn * fee) / BPS, newBalances, priceImpact: 0 };
}
