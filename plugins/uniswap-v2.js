/**
 * Uniswap V2 constant product (x * y = k): getAmountOut / getAmountIn / swap quotes (BigInt).
 *
 * Mirrors UniswapV2Library.sol (v2-periphery) and the reserve checks of UniswapV2Pair.sol (v2-core):
 *   https://github.com/Uniswap/v2-periphery/blob/master/contracts/libraries/UniswapV2Library.sol
 *   https://github.com/Uniswap/v2-core/blob/master/contracts/UniswapV2Pair.sol
 * The fee is a parameter (feeBps, default 30): the library's 997/1000 is (10000 - feeBps)/10000
 * reduced by their greatest common divisor, so with feeBps = 30 every intermediate value, and so
 * every SafeMath overflow revert, is the library's own. Revert reasons are the contracts' reasons
 * without their "UniswapV2Library: " / "UniswapV2: " prefix.
 *
 * Interface: /work/shared/specs/plugin-interfaces.md ("plugins/uniswap-v2.js").
 *   poolState = { tokens: [t0, t1], reserves: [r0, r1], feeBps = 30 }
 */

export const metadata = {
  name: "uniswap-v2",
  version: "1.0.0",
  author: "plugin-host developers",
  license: "MIT",
  description:
    "Uniswap V2 constant-product AMM (UniswapV2Library semantics, configurable fee in bps): " +
    "getAmountOut, getAmountIn and exact-in / exact-out swap quotes in BigInt, exact to the wei.",
  kind: "amm",
  mirrors: "Uniswap/v2-periphery contracts/libraries/UniswapV2Library.sol, Uniswap/v2-core contracts/UniswapV2Pair.sol",
  link: "https://github.com/Uniswap/v2-periphery/blob/master/contracts/libraries/UniswapV2Library.sol",
};

const MAX_UINT256 = (1n << 256n) - 1n;
const MAX_UINT112 = (1n << 112n) - 1n;
const BPS = 10000n;

function fail(reason) {
  throw new Error(reason);
}

// DSMath-style SafeMath, as UniswapV2Library uses it
function mul(a, b) {
  const p = a * b;
  if (p > MAX_UINT256) fail("ds-math-mul-overflow");
  return p;
}

function add(a, b) {
  const s = a + b;
  if (s > MAX_UINT256) fail("ds-math-add-overflow");
  return s;
}

function sub(a, b) {
  if (b > a) fail("ds-math-sub-underflow");
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

function gcd(a, b) {
  while (b !== 0n) [a, b] = [b, a % b];
  return a;
}

// (10000 - feeBps) / 10000 in lowest terms: 997 / 1000 for the canonical 30 bps.
function feeFraction(feeBps) {
  const f = feeBps === undefined ? 30n : uint(feeBps, "feeBps");
  if (f >= BPS) fail("INVALID_INPUT: feeBps must be below 10000");
  const g = gcd(BPS - f, BPS);
  return { feeBps: f, num: (BPS - f) / g, den: BPS / g };
}

function amountOutOf(amountIn, reserveIn, reserveOut, fee) {
  if (amountIn <= 0n) fail("INSUFFICIENT_INPUT_AMOUNT");
  if (reserveIn <= 0n || reserveOut <= 0n) fail("INSUFFICIENT_LIQUIDITY");
  const amountInWithFee = mul(amountIn, fee.num);
  const numerator = mul(amountInWithFee, reserveOut);
  const denominator = add(mul(reserveIn, fee.den), amountInWithFee);
  return numerator / denominator;
}

function amountInOf(amountOut, reserveIn, reserveOut, fee) {
  if (amountOut <= 0n) fail("INSUFFICIENT_OUTPUT_AMOUNT");
  if (reserveIn <= 0n || reserveOut <= 0n) fail("INSUFFICIENT_LIQUIDITY");
  const numerator = mul(mul(reserveIn, amountOut), fee.den);
  const denominator = mul(sub(reserveOut, amountOut), fee.num);
  if (denominator === 0n) fail("division by zero");
  return add(numerator / denominator, 1n);
}

/** UniswapV2Library.getAmountOut, with the fee in bps (30 = the library's 997/1000). */
export function getAmountOut({ amountIn, reserveIn, reserveOut, feeBps }) {
  return amountOutOf(uint(amountIn, "amountIn"), uint(reserveIn, "reserveIn"), uint(reserveOut, "reserveOut"),
                     feeFraction(feeBps));
}

/** UniswapV2Library.getAmountIn: the least amountIn that buys amountOut. */
export function getAmountIn({ amountOut, reserveIn, reserveOut, feeBps }) {
  return amountInOf(uint(amountOut, "amountOut"), uint(reserveIn, "reserveIn"), uint(reserveOut, "reserveOut"),
                    feeFraction(feeBps));
}

function pair(tokenIn, tokenOut, poolState) {
  if (poolState === null || typeof poolState !== "object") fail("INVALID_INPUT: poolState must be an object");
  const { tokens, reserves } = poolState;
  if (!Array.isArray(tokens) || tokens.length !== 2) fail("INVALID_INPUT: poolState.tokens must list 2 tokens");
  if (!Array.isArray(reserves) || reserves.length !== 2) fail("INVALID_INPUT: poolState.reserves must list 2 reserves");
  const r = [uint(reserves[0], "poolState.reserves[0]"), uint(reserves[1], "poolState.reserves[1]")];
  // the pair stores its reserves as uint112
  if (r[0] > MAX_UINT112 || r[1] > MAX_UINT112) fail("INVALID_INPUT: a pair's reserves are uint112");
  if (tokenIn === tokenOut) fail("IDENTICAL_ADDRESSES");
  const i = tokens.indexOf(tokenIn);
  const j = tokens.indexOf(tokenOut);
  if (i < 0 || j < 0) fail("UNKNOWN_TOKEN: tokenIn and tokenOut must be the pair's tokens");
  return { i, j, r, fee: feeFraction(poolState.feeBps) };
}

// The pair's own checks on a swap (UniswapV2Pair.swap and _update).
function settle(p, amountIn, amountOut) {
  const { i, j, r, fee } = p;
  if (amountOut <= 0n) fail("INSUFFICIENT_OUTPUT_AMOUNT");
  if (amountOut >= r[j]) fail("INSUFFICIENT_LIQUIDITY");
  const newBalances = r.slice();
  newBalances[i] = r[i] + amountIn;
  newBalances[j] = r[j] - amountOut;
  if (newBalances[i] > MAX_UINT112) fail("OVERFLOW");
  // 1 - (amountOut / amountIn) / (reserveOut / reserveIn): the fee-less mid price, as v2-sdk does
  const ratio = Number((amountOut * r[i] * 10n ** 18n) / (amountIn * r[j])) / 1e18;
  return {
    amountIn,
    amountOut,
    feeAmount: (amountIn * fee.feeBps) / BPS,
    newBalances,
    priceImpact: Math.min(1, Math.max(0, 1 - ratio)),
  };
}

/** Exact input: swap amountIn of tokenIn for as much tokenOut as the pair gives. */
export function calculateSwap({ tokenIn, tokenOut, amountIn, poolState }) {
  const p = pair(tokenIn, tokenOut, poolState);
  const dx = uint(amountIn, "amountIn");
  return settle(p, dx, amountOutOf(dx, p.r[p.i], p.r[p.j], p.fee));
}

/** Exact output: the least amountIn of tokenIn that buys amountOut of tokenOut. */
export function calculateSwapExactOut({ tokenIn, tokenOut, amountOut, poolState }) {
  const p = pair(tokenIn, tokenOut, poolState);
  const dy = uint(amountOut, "amountOut");
  return settle(p, amountInOf(dy, p.r[p.i], p.r[p.j], p.fee), dy);
}
