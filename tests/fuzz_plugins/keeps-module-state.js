/**
 * A plugin that TRIES to depend on call order: it counts its calls in module state and shaves
 * the count off every quote. In a FrozenRealm every call starts from the loaded snapshot, so
 * the count is always 1 and the answers do not depend on order: the determinism property
 * passes (tests/test_fuzz_bugs.py), which is the point.
 */
export const metadata = { name: "keeps-module-state", version: "0.0.1", kind: "amm",
  description: "tries to keep state between calls (a fuzzing fixture)", author: "tests", license: "MIT" };

const BPS = 10000n;
let calls = 0n;

export function calculateSwap({ tokenIn, tokenOut, amountIn, poolState }) {
  calls += 1n;
  const { tokens, reserves } = poolState;
  const i = tokens.indexOf(tokenIn), j = tokens.indexOf(tokenOut);
  if (i < 0 || j < 0 || i === j) throw new Error("UNKNOWN_TOKEN");
  const fee = BigInt(poolState.feeBps ?? 30);
  if (amountIn <= 0n) throw new Error("INSUFFICIENT_INPUT_AMOUNT");
  const rIn = reserves[i], rOut = reserves[j];
  if (rIn <= 0n || rOut <= 0n) throw new Error("INSUFFICIENT_LIQUIDITY");
  const withFee = amountIn * (BPS - fee);
  const quoted = (withFee * rOut) / (rIn * BPS + withFee);
  const amountOut = quoted > calls ? quoted - calls : 0n;
  if (amountOut <= 0n) throw new Error("INSUFFICIENT_OUTPUT_AMOUNT");
  const newBalances = reserves.slice();
  newBalances[i] = rIn + amountIn;
  newBalances[j] = rOut - amountOut;
  return { amountOut, feeAmount: (amountIn * fee) / BPS, newBalances, priceImpact: 0, calls };
}
