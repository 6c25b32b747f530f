/**
 * EXAMPLE, APPROXIMATE: Curve StableSwap with JS Numbers (IEEE-754 doubles), not BigInt.
 *
 * The seed's Number-based formula, made to run (its calculateY called an undefined `indexOf`
 * helper; here the coin indices are found once, with Array.prototype.indexOf, and passed in).
 * Same math family as Curve's StableSwap3Pool.vy
 *   https://github.com/curvefi/curve-contract/blob/master/contracts/pools/3pool/StableSwap3Pool.vy
 * and the same calculateSwap interface as plugins/curve-stable-swap.js, but every value is a
 * double: balances of 1e24 wei already exceed 2^53, so amounts are rounded to ~16 significant
 * digits, Newton's method stops on a relative tolerance instead of the contract's "within 1 wei",
 * and there is no floor division. Results are close (typically within ~1e-12 relative) but NOT
 * the contract's to the wei: that is why the real plugin uses BigInt. Use it to see that Number
 * plugins work in a realm (deterministically: both engines give the same bits), never to settle.
 *
 * Outputs are Numbers (Python floats): amountOut, feeAmount, adminFeeAmount, newBalances in the
 * tokens' native units (not rounded to integers), priceImpact in [0, 1].
 */

export const metadata = {
  name: "curve-stable-swap-float",
  version: "1.0.0",
  author: "plugin-host developers",
  license: "MIT",
  description:
    "EXAMPLE, APPROXIMATE: Curve StableSwap quote computed with JS Numbers (doubles). Close to, but " +
    "not exactly, the contract's result; use plugins/curve-stable-swap.js (BigInt) for exact quotes.",
  kind: "amm",
  approximate: true,
  mirrors: "curvefi/curve-contract contracts/pools/3pool/StableSwap3Pool.vy (approximately)",
  link: "https://github.com/curvefi/curve-contract/blob/master/contracts/pools/3pool/StableSwap3Pool.vy",
};

const FEE_DENOMINATOR = 1e10;
const MAX_ITERATIONS = 255;
const TOLERANCE = 1e-15; // relative

function num(v, what) {
  const x = typeof v === "bigint" ? Number(v) : v;
  if (typeof x !== "number" || !Number.isFinite(x) || x < 0) throw new Error(`INVALID_INPUT: ${what} must be a non-negative number`);
  return x;
}

function converged(a, b) {
  return Math.abs(a - b) <= TOLERANCE * Math.max(Math.abs(a), Math.abs(b));
}

// Invariant D of normalised balances xp (Ann * S + D = Ann * D + D^(N+1) / (N^N prod xp)).
function calculateD(xp, A) {
  const n = xp.length;
  const S = xp.reduce((s, x) => s + x, 0);
  if (S === 0) return 0;
  const Ann = A * n;
  let D = S;
  for (let it = 0; it < MAX_ITERATIONS; it++) {
    let D_P = D;
    for (const x of xp) D_P = (D_P * D) / (x * n);
    const Dprev = D;
    D = ((Ann * S + D_P * n) * D) / ((Ann - 1) * D + (n + 1) * D_P);
    if (converged(D, Dprev)) break;
  }
  return D;
}

// Balance of coin j once coin i holds x, keeping D.
function calculateY(i, j, x, xp, A, D) {
  const n = xp.length;
  const Ann = A * n;
  let c = D;
  let S_ = 0;
  for (let k = 0; k < n; k++) {
    if (k === j) continue;
    const _x = k === i ? x : xp[k];
    S_ += _x;
    c = (c * D) / (_x * n);
  }
  c = (c * D) / (Ann * n);
  const b = S_ + D / Ann;
  let y = D;
  for (let it = 0; it < MAX_ITERATIONS; it++) {
    const yPrev = y;
    y = (y * y + c) / (2 * y + b - D);
    if (converged(y, yPrev)) break;
  }
  return y;
}

export function calculateSwap({ tokenIn, tokenOut, amountIn, poolState }) {
  const { tokens } = poolState;
  const i = tokens.indexOf(tokenIn);
  const j = tokens.indexOf(tokenOut);
  if (i < 0 || j < 0) throw new Error("UNKNOWN_TOKEN");
  if (i === j) throw new Error("same coin");
  const n = tokens.length;
  const balances = poolState.balances.map((b, k) => num(b, `balances[${k}]`));
  const scale = poolState.decimals.map((d) => 10 ** (18 - num(d, "decimals"))); // to 18 decimals
  const A = num(poolState.A, "A");
  const fee = num(poolState.fee, "fee") / FEE_DENOMINATOR;
  const adminFee = num(poolState.adminFee, "adminFee") / FEE_DENOMINATOR;
  const dx = num(amountIn, "amountIn");
  if (n < 2 || balances.length !== n || scale.length !== n) throw new Error("INVALID_INPUT: pool shape");
  if (balances.some((b) => b === 0)) throw new Error("division by zero");

  const xp = balances.map((b, k) => b * scale[k]);
  const D = calculateD(xp, A);
  const x = xp[i] + dx * scale[i];
  const y = calculateY(i, j, x, xp, A, D);
  const dy = Math.max(0, xp[j] - y);
  const dyFee = dy * fee;
  const amountOut = (dy - dyFee) / scale[j];
  const feeAmount = dyFee / scale[j];
  const adminFeeAmount = (dyFee * adminFee) / scale[j];

  const newBalances = balances.slice();
  newBalances[i] = balances[i] + dx;
  newBalances[j] = balances[j] - amountOut - adminFeeAmount;

  // marginal rate before the trade: x_j (Ann x_i + D_P) / (x_i (Ann x_j + D_P))
  let D_P = D;
  for (const v of xp) D_P = (D_P * D) / (v * n);
  const Ann = A * n;
  const spot = (xp[j] * (Ann * xp[i] + D_P)) / (xp[i] * (Ann * xp[j] + D_P));
  const rate = dx > 0 ? (amountOut * scale[j]) / (dx * scale[i]) : spot;
  const priceImpact = Math.min(1, Math.max(0, 1 - rate / spot));
  return { amountOut, feeAmount, adminFeeAmount, newBalances, priceImpact };
}
