/**
 * DELIBERATELY BUGGY (tests/test_fuzz_bugs.py): a constant-product calculateSwap that rounds the
 * output UP once the input reserve passes 1e27 wei, "to be fair to large traders". Off by one
 * wei, only on large balances: the reference-agreement property finds it.
 */
export const metadata = { name: "bug-rounding-large-balances", version: "0.0.1", kind: "amm",
  description: "rounds up on large balances (a fuzzing fixture)", author: "tests", license: "MIT" };

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
  const num = withFee * rOut, den = rIn * BPS + withFee;
  const amountOut = rIn > 10n ** 27n ? (num + den - 1n) / den : num / den;  // the bug
  if (amountOut <= 0n) throw new Error("INSUFFICIENT_OUTPUT_AMOUNT");
  if (amountOut >= rOut) throw new Error("INSUFFICIENT_LIQUIDITY");
  const newBalances = reserves.slice();
  newBalances[i] = rIn + amountIn;
  newBalances[j] = rOut - amountOut;
  return { amountOut, feeAmount: (amountIn * fee) / BPS, newBalances, priceImpact: 0 };
}
