"""Hypothesis strategies for AMM plugin inputs: pool states and swaps.

Amounts are drawn by number of digits first, then digits: every magnitude from 1 wei to the
top of the pool's range is equally likely, where hypothesis's own ``integers()`` would keep
almost every draw below a billion. Values shrink towards small pools and 1-wei trades.
"""

from __future__ import annotations

from typing import Any, Optional, Sequence, Union

from hypothesis import strategies as st
from hypothesis.errors import InvalidArgument
from hypothesis.strategies import SearchStrategy

__all__ = ["KINDS", "canonical_kind", "pool_states", "swap_requests", "amounts"]

KINDS = ("curve", "constant-product", "solidly")
_ALIASES = {"cp": "constant-product", "constant_product": "constant-product", "uniswap-v2": "constant-product",
            "uniswap": "constant-product", "stableswap": "curve", "curve-stable-swap": "curve",
            "velodrome": "solidly", "aerodrome": "solidly"}

# _DIGITS[e]: the integers of exactly e + 1 decimal digits (built once: a draw is the hot path)
_DIGITS = tuple(st.integers(10**e, 10 ** (e + 1) - 1) for e in range(78))
MAX_UINT112_DIGITS = 33  # 10**33 < 2**112 (Uniswap V2 pairs store reserves as uint112)


def canonical_kind(kind: str) -> str:
    k = _ALIASES.get(kind, kind)
    if k not in KINDS:
        raise InvalidArgument(f"unknown pool kind {kind!r}: choose one of {', '.join(KINDS)}")
    return k


_RANGES: dict = {}


def _ints(lo: int, hi: int) -> SearchStrategy[int]:
    """``st.integers(lo, hi)``, built once per range (building one costs as much as a draw)."""
    s = _RANGES.get((lo, hi))
    if s is None:
        s = _RANGES[(lo, hi)] = st.integers(lo, hi)
    return s


def _digits(draw: Any, lo: int, hi: int) -> int:
    """An integer of lo + 1 .. hi + 1 digits, each length equally likely."""
    return draw(_DIGITS[draw(_ints(max(0, lo), max(0, lo, hi)))])


def amounts(max_digits: int = 30) -> SearchStrategy[int]:
    """Positive integers of every magnitude up to ``max_digits`` digits, log-uniformly."""
    return st.composite(lambda draw: _digits(draw, 0, max_digits - 1))()


def _per_coin(value: Any, default: SearchStrategy) -> SearchStrategy:
    if value is None:
        return default
    if isinstance(value, SearchStrategy):
        return value
    if isinstance(value, int):
        return st.just(value)
    return st.sampled_from(tuple(value))


def _coin_count(kind: str, coins: Union[None, int, tuple[int, int]]) -> SearchStrategy[int]:
    if kind != "curve":
        if coins not in (None, 2, (2, 2)):
            raise InvalidArgument(f"a {kind} pool has 2 coins, not {coins!r}")
        return st.just(2)
    lo, hi = (2, 8) if coins is None else (coins, coins) if isinstance(coins, int) else coins
    if not 2 <= lo <= hi <= 8:
        raise InvalidArgument(f"a Curve pool has 2..8 coins, not {coins!r}")
    return st.integers(lo, hi)


_IMBALANCE = st.sampled_from((0, 0, 0, 1, -1, 2, -3))  # digits one coin sits above the pool's size
_CURVE_FEES = st.sampled_from((4_000_000, 0, 1, 1_000_000, 30_000_000, 10**8))
_ADMIN_FEES = st.sampled_from((5 * 10**9, 0, 10**10))
_UNI_FEES = st.sampled_from((30, 0, 1, 5, 100, 1000, 9999))
_SOLIDLY_FEES = st.sampled_from((5, 30, 0, 1, 100, 10000))
_DECIMALS = st.sampled_from((18, 6, 8))


@st.composite
def _pool(draw: Any, kind: str, coins: SearchStrategy[int], decimals: SearchStrategy[int], dust: bool,
          overrides: dict) -> dict:
    n = draw(coins)
    tokens = [f"T{k}" for k in range(n)]
    if kind == "constant-product":
        # no decimals in the pair: any two magnitudes (a 6- and an 18-decimal token differ by 12 digits)
        ps = {"tokens": tokens, "reserves": [_digits(draw, 0, MAX_UINT112_DIGITS - 1) for _ in tokens],
              "feeBps": draw(_UNI_FEES)}
    else:
        decs = [draw(decimals) for _ in tokens]
        size = draw(_ints(-3 if dust else 0, 12))  # whole tokens per coin: 10**size (below 0: dust)
        balances = [draw(_DIGITS[max(0, size + d + draw(_IMBALANCE))]) for d in decs]
        if kind == "curve":
            ps = {"tokens": tokens, "balances": balances, "decimals": decs, "A": draw(_ints(1, 10_000)),
                  "fee": draw(_CURVE_FEES), "adminFee": draw(_ADMIN_FEES)}
        else:
            ps = {"tokens": tokens, "reserves": balances, "decimals": decs, "stable": draw(st.booleans()),
                  "feeBps": draw(_SOLIDLY_FEES)}
    for field, value in overrides.items():
        ps[field] = draw(value) if isinstance(value, SearchStrategy) else value
    return ps


def pool_states(kind: str = "constant-product", *, coins: Union[None, int, tuple[int, int]] = None,
                decimals: Union[None, int, Sequence[int], SearchStrategy[int]] = None, dust: bool = False,
                **fields: Any) -> SearchStrategy[dict]:
    """``poolState`` objects as plugin-interfaces.md specifies them, for ``kind``:

    - ``"curve"``: ``{tokens, balances, decimals, A, fee, adminFee}``, ``coins`` 2..8 (an int or
      a ``(min, max)`` pair), A 1..10000, realistic fees and admin fees.
    - ``"constant-product"`` (Uniswap V2): ``{tokens, reserves, feeBps}``, reserves of any
      magnitude below 2**112.
    - ``"solidly"``: ``{tokens, reserves, decimals, stable, feeBps}``.

    ``decimals``: per coin, an int, a list to pick from or a strategy (default 18, 6 or 8).
    Curve and Solidly balances are sized in whole tokens (1 .. 10**13 of them; 0.001 and up with
    ``dust=True``) with some coins off balance by up to 1000x. Any other keyword pins a field: a
    value, or a strategy (``A=st.just(100)``).

    Dust pools are off by default because the invariant solvers' integer rounding is coarse
    there: Velodrome's stable ``_get_y`` is not even monotonic in pools of a few hundred wei
    (amountIn 21 -> 43 out, 22 -> 42 out with reserves [170, 151], decimals [6, 8]), exactly
    as the contract computes it.
    """
    kind = canonical_kind(kind)
    return _pool(kind, _coin_count(kind, coins), _per_coin(decimals, _DECIMALS), dust, fields)


def _amount_in(draw: Any, balance: int) -> int:
    mode = draw(_ints(0, 3))
    if mode == 0:  # dust (0 comes from the last mode, for pools of a few wei)
        return draw(_ints(1, 1000))
    if mode == 1:  # a fraction or a multiple of the pool's balance: where AMM branches live
        return max(1, balance * draw(_ints(1, 256)) // draw(_ints(1, 64)))
    if mode == 2:  # any magnitude up to 10x the balance
        return _digits(draw, 0, len(str(balance)))
    return max(0, balance + draw(_ints(-3, 3)))  # at the edge of the balance


@st.composite
def _swap(draw: Any, pool: Any, amount: Optional[SearchStrategy[int]]) -> dict:
    ps = draw(pool) if isinstance(pool, SearchStrategy) else pool
    tokens = ps["tokens"]
    n = len(tokens)
    i = draw(_ints(0, n - 1))
    j = 1 - i if n == 2 else draw(_ints(0, n - 2))
    j += n > 2 and j >= i
    balances = ps.get("balances", ps.get("reserves"))
    amount_in = draw(amount) if amount is not None else _amount_in(draw, balances[i])
    return {"tokenIn": tokens[i], "tokenOut": tokens[j], "amountIn": amount_in, "poolState": ps}


def swap_requests(pool: Union[dict, SearchStrategy[dict], None] = None, *,
                  amount: Optional[SearchStrategy[int]] = None) -> SearchStrategy[dict]:
    """``calculateSwap`` inputs ``{tokenIn, tokenOut, amountIn, poolState}`` on ``pool`` (a pool
    state, or a strategy of them; default constant-product pools). ``amountIn`` mixes dust
    (1..1000), fractions and multiples of the input balance, any magnitude up to 10x it, and
    the balance itself +-3; pass ``amount`` to draw it yourself."""
    return _swap(pool_states() if pool is None else pool, amount)
