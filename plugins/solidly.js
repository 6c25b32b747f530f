/**
 * Solidly / Velodrome v2 pools, stable (x^3*y + y^3*x >= k) and volatile (x*y >= k), in BigInt.
 *
 * Mirrors Velodrome v2's Pool.sol (getAmountOut, _getAmountOut, _k, _f, _d, _get_y and the checks
 * of swap):
 *   https://github.com/velodrome-finance/contracts/blob/main/contracts/Pool.sol
 * Every step is the contract's, including Solidity 0.8's checked arithmetic (where the contract
 * would revert with Panic(0x11) or Panic(0x12) this plugin throws) and _get_y's edge rules. Note:
 * in _get_y's "dy == 0, k < xy" branch the contract tests _k(x0, y + 1), which rescales both
 * arguments by the pool's token0/token1 decimals again; this plugin does the same (for 18/18
 * pools it is _f(x0, y + 1)).
 *
 * Interface: /work/shared/specs/plugin-interfaces.md ("plugins/solidly.js").
 *   poolState = { tokens: [t0, t1], reserves: [r0, r1], decimals: [d0, d1], stable, feeBps }
 */

export const metadata = {
  name: "solidly",
  version: "1.0.0",
  author: "plugin-host developers",
  license: "MIT",
  description:
    "Solidly / Velodrome v2 pools (Pool.sol semantics): stable x^3y+y^3x and volatile x*y swap " +
    "quotes in BigInt, exact to the wei, fees leaving the pool.",
  kind: "amm",
  mirrors: "velodrome-finance/contracts contracts/Pool.sol (Velodrome v2)",
  link: "https://github.com/velodrome-finance/contracts/blob/main/contracts/Pool.sol",
};

const E = 10n ** 18n;
const MAX_UINT256 = (1n << 256n) - 1n;
const BPS = 10000n;

function fail(reason) {
  throw new Error(reason);
}

// Solidity >= 0.8 checked arithmetic
function mul(a, b) {
  const p = a * b;
  if (p > MAX_UINT256) fail("Panic(0x11): arithmetic overflow");
  return p;
}

function add(a, b) {
  const s = a + b;
  if (s > MAX_UINT256) fail("Panic(0x11): arithmetic overflow");
  return s;
}

function sub(a, b) {
  if (b > a) fail("Panic(0x11): arithmetic underflow");
  return a - b;
}

function div(a, b) {
  if (b === 0n) fail("Panic(0x12): division by zero");
  return a / b;
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
  const { tokens, reserves, decimals, stable } = poolState;
  if (!Array.isArray(tokens) || tokens.length !== 2) fail("INVALID_INPUT: poolState.tokens must list 2 tokens");
  if (!Array.isArray(reserves) || reserves.length !== 2) fail("INVALID_INPUT: poolState.reserves must list 2 reserves");
  if (!Array.isArray(decimals) || decimals.length !== 2) fail("INVALID_INPUT: poolState.decimals must list 2 decimals");
  if (typeof stable !== "boolean") fail("INVALID_INPUT: poolState.stable must be a boolean");
  const feeBps = uint(poolState.feeBps, "poolState.feeBps");
  if (feeBps > BPS) fail("INVALID_INPUT: poolState.feeBps must be at most 10000");
  const d0 = uint(decimals[0], "poolState.decimals[0]");
  const d1 = uint(decimals[1], "poolState.decimals[1]");
  if (d0 > 77n || d1 > 77n) fail("INVALID_INPUT: poolState.decimals must be at most 77");
  return {
    tokens,
    stable,
    feeBps,
    r0: uint(reserves[0], "poolState.reserves[0]"),
    r1: uint(reserves[1], "poolState.reserves[1]"),
    dec0: 10n ** d0, // Pool.sol's decimals0 = 10 ** token0.decimals()
    dec1: 10n ** d1,
  };
}

function _f(x0, y) {
  const _a = mul(x0, y) / E;
  const _b = add(mul(x0, x0) / E, mul(y, y) / E);
  return mul(_a, _b) / E;
}

function _d(x0, y) {
  return add(mul(mul(3n, x0), mul(y, y) / E) / E, mul(mul(x0, x0) / E, x0) / E);
}

function _k(p, x, y) {
  if (p.stable) {
    const _x = div(mul(x, E), p.dec0);
    const _y = div(mul(y, E), p.dec1);
    const _a = mul(_x, _y) / E;
    const _b = add(mul(_x, _x) / E, mul(_y, _y) / E);
    return mul(_a, _b) / E; // x3y+y3x >= k
  }
  return mul(x, y); // xy >= k
}

function _get_y(p, x0, xy, y) {
  for (let i = 0; i < 255; i++) {
    const k = _f(x0, y);
    if (k < xy) {
      let dy = div(mul(xy - k, E), _d(x0, y));
      if (dy === 0n) {
        if (k === xy) return y;
        if (_k(p, x0, add(y, 1n)) > xy) return y + 1n;
        dy = 1n;
      }
      y = add(y, dy);
    } else {
      let dy = div(mul(k - xy, E), _d(x0, y));
      if (dy === 0n) {
        if (k === xy || _f(x0, sub(y, 1n)) < xy) return y;
        dy = 1n;
      }
      y = sub(y, dy);
    }
  }
  fail("!y");
}

// Pool._getAmountOut: amountIn is already net of the fee.
function _getAmountOut(p, amountIn, zeroForOne) {
  let _reserve0 = p.r0;
  let _reserve1 = p.r1;
  if (p.stable) {
    const xy = _k(p, _reserve0, _reserve1);
    _reserve0 = div(mul(_reserve0, E), p.dec0);
    _reserve1 = div(mul(_reserve1, E), p.dec1);
    const [reserveA, reserveB] = zeroForOne ? [_reserve0, _reserve1] : [_reserve1, _reserve0];
    amountIn = zeroForOne ? div(mul(amountIn, E), p.dec0) : div(mul(amountIn, E), p.dec1);
    const y = sub(reserveB, _get_y(p, add(amountIn, reserveA), xy, reserveB));
    return div(mul(y, zeroForOne ? p.dec1 : p.dec0), E);
  }
  const [reserveA, reserveB] = zeroForOne ? [_reserve0, _reserve1] : [_reserve1, _reserve0];
  return div(mul(amountIn, reserveB), add(reserveA, amountIn));
}

function direction(p, tokenIn, tokenOut) {
  const { tokens } = p;
  const i = tokens.indexOf(tokenIn);
  if (i < 0) fail("UNKNOWN_TOKEN: tokenIn is not one of the pool's tokens");
  if (tokenOut !== undefined) {
    const j = tokens.indexOf(tokenOut);
    if (j < 0) fail("UNKNOWN_TOKEN: tokenOut is not one of the pool's tokens");
    if (i === j) fail("SAME_TOKEN: tokenIn and tokenOut are the same token");
  }
  return i;
}

function spotRatio(p, i, amountIn, amountOut) {
  // (amountOut / amountIn) / spot, in 18-decimal units, as a Number
  const decIn = i === 0 ? p.dec0 : p.dec1;
  const decOut = i === 0 ? p.dec1 : p.dec0;
  const rIn = i === 0 ? p.r0 : p.r1;
  const rOut = i === 0 ? p.r1 : p.r0;
  let num;
  let den;
  if (p.stable) {
    // marginal rate of x^3 y + x y^3 = k: dy/dx = (3x^2 y + y^3) / (x^3 + 3x y^2)
    const x = (rIn * E) / decIn;
    const y = (rOut * E) / decOut;
    const outN = (amountOut * E) / decOut;
    const inN = (amountIn * E) / decIn;
    num = outN * (x * x * x + 3n * x * y * y);
    den = inN * (3n * x * x * y + y * y * y);
  } else {
    num = amountOut * rIn;
    den = amountIn * rOut;
  }
  if (den === 0n) return 1;
  return Number((num * E) / den) / 1e18;
}

/** Pool.getAmountOut(amountIn, tokenIn): the view, fee deducted first. */
export function getAmountOut({ amountIn, tokenIn, poolState }) {
  const p = pool(poolState);
  const i = direction(p, tokenIn);
  let a = uint(amountIn, "amountIn");
  a -= mul(a, p.feeBps) / BPS;
  return _getAmountOut(p, a, i === 0);
}

/** A swap of amountIn through the router: getAmountOut, then the pool's swap checks. */
export function calculateSwap({ tokenIn, tokenOut, amountIn, poolState }) {
  const p = pool(poolState);
  const i = direction(p, tokenIn, tokenOut);
  const dx = uint(amountIn, "amountIn");
  const feeAmount = mul(dx, p.feeBps) / BPS;
  const amountOut = _getAmountOut(p, dx - feeAmount, i === 0);

  // Pool.swap
  const rIn = i === 0 ? p.r0 : p.r1;
  const rOut = i === 0 ? p.r1 : p.r0;
  if (amountOut === 0n) fail("InsufficientOutputAmount");
  if (amountOut >= rOut) fail("InsufficientLiquidity");
  const newIn = sub(add(rIn, dx), feeAmount); // the fee is moved out to PoolFees
  const newOut = rOut - amountOut;
  const newBalances = i === 0 ? [newIn, newOut] : [newOut, newIn];
  if (_k(p, newBalances[0], newBalances[1]) < _k(p, p.r0, p.r1)) fail("K");

  return {
    amountOut,
    feeAmount,
    newBalances,
    priceImpact: Math.min(1, Math.max(0, 1 - spotRatio(p, i, dx, amountOut))),
  };
}
