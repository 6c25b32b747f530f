/**
 * Curve StableSwap: exchange / get_dy / get_D quotes, exact to the wei (BigInt).
 *
 * Mirrors Curve's classic StableSwap pool contract, StableSwap3Pool.vy
 *   https://github.com/curvefi/curve-contract/blob/master/contracts/pools/3pool/StableSwap3Pool.vy
 * (get_D, get_y, exchange, get_dy), generalised from 3 to N = 2..8 coins like the other pools of
 * that family. Every multiplication and floor division happens in the contract's order, and
 * Vyper's checked uint256 arithmetic is reproduced: where the contract would revert (overflow,
 * underflow, division by zero, i == j) this plugin throws.
 *
 * Interface: /work/shared/specs/plugin-interfaces.md ("plugins/curve-stable-swap.js").
 *   poolState = { tokens, balances, decimals, A, fee, adminFee }
 *   A is what the contract's A() returns (Ann = A * N); fee and adminFee have denominator 1e10.
 * Not modelled: fee-on-transfer coins (3pool's USDT branch) and A ramping (pass the current A).
 */

export const metadata = {
  name: "curve-stable-swap",
  version: "1.0.0",
  author: "plugin-host developers",
  license: "MIT",
  description:
    "Curve StableSwap (StableSwap3Pool.vy semantics, 2-8 coins): exchange, get_dy and get_D in " +
    "BigInt, reproducing the contract's integer rounding to the wei.",
  kind: "amm",
  mirrors: "curvefi/curve-contract contracts/pools/3pool/StableSwap3Pool.vy",
  link: "https://github.com/curvefi/curve-contract/blob/master/contracts/pools/3pool/StableSwap3Pool.vy",
};

const PRECISION = 10n ** 18n;
const FEE_DENOMINATOR = 10n ** 10n;
const MAX_UINT256 = (1n << 256n) - 1n;
const MAX_COINS = 8;

function fail(reason) {
  throw new Error(reason);
}

// Vyper's checked uint256 arithmetic: the contract reverts where these throw.
function chk(v) {
  if (v > MAX_UINT256) fail("uint256 overflow");
  return v;
}

function sub(a, b) {
  if (b > a) fail("uint256 underflow");
  return a - b;
}

function uint(v, what) {
  let b;
  if (typeof v === "bigint") b = v;
  else if (typeof v === "number" && Number.isSafeInteger(v)) b = BigInt(v);
  else fail(`INVALID_INPUT: ${what} must be an integer`);
  if (b < 0n || b > MAX_UINT256) fail(`INVALID_INPUT: ${what} must be a uint256`);
  return b;
}

function pool(poolState) {
  if (poolState === null || typeof poolState !== "object") fail("INVALID_INPUT: poolState must be an object");
  const { tokens, balances, decimals } = poolState;
  if (!Array.isArray(tokens) || tokens.length < 2 || tokens.length > MAX_COINS)
    fail(`INVALID_INPUT: poolState.tokens must list 2..${MAX_COINS} tokens`);
  const n = tokens.length;
  if (!Array.isArray(balances) || balances.length !== n) fail("INVALID_INPUT: poolState.balances must match tokens");
  if (!Array.isArray(decimals) || decimals.length !== n) fail("INVALID_INPUT: poolState.decimals must match tokens");
  const A = uint(poolState.A, "poolState.A");
  // Ann - 1 underflows in the contract when A = 0
  if (A < 1n) fail("uint256 underflow");
  const fee = uint(poolState.fee, "poolState.fee");
  const adminFee = uint(poolState.adminFee, "poolState.adminFee");
  if (fee > FEE_DENOMINATOR) fail("INVALID_INPUT: poolState.fee is over FEE_DENOMINATOR (1e10)");
  if (adminFee > FEE_DENOMINATOR) fail("INVALID_INPUT: poolState.adminFee is over FEE_DENOMINATOR (1e10)");
  const bal = [];
  const rates = [];
  const xp = [];
  for (let k = 0; k < n; k++) {
    if (typeof tokens[k] !== "string") fail("INVALID_INPUT: poolState.tokens must be strings");
    const d = uint(decimals[k], "poolState.decimals[k]");
    if (d > 36n) fail("INVALID_INPUT: poolState.decimals must be <= 36");
    const b = uint(balances[k], "poolState.balances[k]");
    const rate = 10n ** (36n - d);
    bal.push(b);
    rates.push(rate);
    xp.push(chk(rate * b) / PRECISION);
  }
  return { tokens, n, A, fee, adminFee, bal, rates, xp };
}

function get_D(xp, amp) {
  const N = BigInt(xp.length);
  let S = 0n;
  for (const x of xp) S = chk(S + x);
  if (S === 0n) return 0n;
  const xN = [];
  for (const x of xp) {
    if (x === 0n) fail("division by zero");
    xN.push(chk(x * N));
  }
  const Ann = amp * N;
  const AnnS = chk(Ann * S);
  let D = S;
  for (let it = 0; it < 255; it++) {
    let D_P = D;
    for (const x of xN) D_P = chk(D_P * D) / x;
    const Dprev = D;
    const den = chk((Ann - 1n) * D + (N + 1n) * D_P);
    if (den === 0n) fail("division by zero");
    D = chk((AnnS + D_P * N) * D) / den;
    if (D > Dprev ? D - Dprev <= 1n : Dprev - D <= 1n) break;
  }
  return D;
}

function get_y(i, j, x, xp, amp, D) {
  const n = xp.length;
  const N = BigInt(n);
  const Ann = amp * N;
  let c = D;
  let S_ = 0n;
  for (let k = 0; k < n; k++) {
    let _x;
    if (k === i) _x = x;
    else if (k !== j) _x = xp[k];
    else continue;
    S_ = chk(S_ + _x);
    const den = chk(_x * N);
    if (den === 0n) fail("division by zero");
    c = chk(c * D) / den;
  }
  c = chk(c * D) / chk(Ann * N);
  const b = chk(S_ + D / Ann);
  let y = D;
  for (let it = 0; it < 255; it++) {
    const yPrev = y;
    const den = sub(chk(2n * y + b), D);
    if (den === 0n) fail("division by zero");
    y = chk(y * y + c) / den;
    if (y > yPrev ? y - yPrev <= 1n : yPrev - y <= 1n) break;
  }
  return y;
}

function index(tokens, token, what) {
  const k = tokens.indexOf(token);
  if (k < 0) fail(`UNKNOWN_TOKEN: ${what} is not in poolState.tokens`);
  return k;
}

function coinIndex(v, n, what) {
  const k = uint(v, what);
  if (k >= BigInt(n)) fail(`INVALID_INPUT: ${what} is out of range`);
  return Number(k);
}

// 1 - (execution rate) / (marginal rate before the trade), both in 18-decimal units (xp).
// The marginal rate of the invariant  Ann*S + D = Ann*D + D_P  (D_P = D^(N+1) / (N^N prod x))
// is  dy/dx = x_j (Ann x_i + D_P) / (x_i (Ann x_j + D_P)).
function priceImpact(p, i, j, D, dxNorm, dyNorm) {
  if (dxNorm === 0n || D === 0n) return 0;
  const N = BigInt(p.n);
  let D_P = D;
  for (const x of p.xp) D_P = (D_P * D) / (x * N);
  const Ann = p.A * N;
  const num = dyNorm * (Ann * p.xp[j] + D_P) * p.xp[i] * PRECISION;
  const den = dxNorm * (Ann * p.xp[i] + D_P) * p.xp[j];
  const ratio = Number(num / den) / 1e18;
  return Math.min(1, Math.max(0, 1 - ratio));
}

/** exchange(i, j, dx): what the pool pays out and how its balances change. */
export function calculateSwap({ tokenIn, tokenOut, amountIn, poolState }) {
  const p = pool(poolState);
  const i = index(p.tokens, tokenIn, "tokenIn");
  const j = index(p.tokens, tokenOut, "tokenOut");
  if (i === j) fail("same coin");
  const dx = uint(amountIn, "amountIn");
  const { xp, rates, bal } = p;

  const x = chk(xp[i] + chk(dx * rates[i]) / PRECISION);
  const D = get_D(xp, p.A);
  const y = get_y(i, j, x, xp, p.A, D);
  const dy = sub(sub(xp[j], y), 1n); // -1 just in case there were some rounding errors
  const dyFee = chk(dy * p.fee) / FEE_DENOMINATOR;
  const amountOut = chk(sub(dy, dyFee) * PRECISION) / rates[j];
  const adminFeeAmount = chk((chk(dyFee * p.adminFee) / FEE_DENOMINATOR) * PRECISION) / rates[j];
  const feeAmount = (dyFee * PRECISION) / rates[j];

  const newBalances = bal.slice();
  newBalances[i] = chk(bal[i] + dx);
  newBalances[j] = sub(sub(bal[j], amountOut), adminFeeAmount);

  const dxNorm = (dx * rates[i]) / PRECISION;
  const dyNorm = (amountOut * rates[j]) / PRECISION;
  return {
    amountOut,
    feeAmount,
    adminFeeAmount,
    newBalances,
    priceImpact: priceImpact(p, i, j, D, dxNorm, dyNorm),
  };
}

/** The contract's get_dy(i, j, dx) view (fee taken after conversion to native units). */
export function getDy({ i, j, dx, poolState }) {
  const p = pool(poolState);
  const ii = coinIndex(i, p.n, "i");
  const jj = coinIndex(j, p.n, "j");
  if (ii === jj) fail("same coin");
  const d = uint(dx, "dx");
  const { xp, rates } = p;
  const x = chk(xp[ii] + chk(d * rates[ii]) / PRECISION);
  const y = get_y(ii, jj, x, xp, p.A, get_D(xp, p.A));
  const dy = chk(sub(sub(xp[jj], y), 1n) * PRECISION) / rates[jj];
  const fee = chk(p.fee * dy) / FEE_DENOMINATOR;
  return dy - fee;
}

/** The invariant D of the pool, get_D(xp, A). */
export function getD({ poolState }) {
  const p = pool(poolState);
  return get_D(p.xp, p.A);
}
