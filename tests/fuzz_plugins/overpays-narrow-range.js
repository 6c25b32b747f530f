/**
 * DELIBERATELY BUGGY (tests/test_fuzz_bugs.py): a constant-product calculateSwap with a "whale"
 * branch for trades of 2x to 2.04x the input reserve that prices them at the spot price, so it
 * pays out more than the pool holds, for that narrow range only. The conservation property
 * finds it.
 */
export const metadata = { name: "bug-overpays-narrow-range", version: "0.0.1", kind: "amm",
  description: "pays out more than the pool holds for a narrow input range (a fuzzing fixture)",
  author: "tests", license: "MIT" };

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
  let amountOut = (withFee * rOut) / (rIn * BPS + withFee);
  if (amountIn * 50n >= rIn * 100n && amountIn * 50n <= rIn * 102n) {
    amountOut = (amountIn * rOut) / rIn;  // the bug: the spot price, no slippage, no liquidity check
  } else if (amountOut >= rOut) {
    throw new Error("INSUFFICIENT_LIQUIDITY");
  }
  if (amountOut <= 0n) throw new Error("INSUFFICIENT_OUTPUT_AMOUNT");
  const newBalances = reserves.slice();
  newBalances[i] = rIn + amountIn;
  newBalances[j] = rOut - amountOut;
  return { amountOut, feeAmount: (amountIn * fee) / BPS, newBalances, priceImpact: 0 };
}
