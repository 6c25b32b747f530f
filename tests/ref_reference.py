"""Ref Finance's exchange math in plain Python, for the loopback node's mock Ref contract.

A line-by-line port of ref-finance/ref-contracts, ref-exchange/src:
- stable_swap/math.rs (``compute_d``, ``compute_y``, ``swap_to``; the version whose ``ann`` is
  ``amp * n**n``, whose ``dy`` is ``saturating(x_j - y - 1)``) and stable_swap/mod.rs
  (``amount_to_c_amount``, ``c_amount_to_amount``, ``internal_get_return``, ``get_return``);
- simple_pool.rs (``internal_get_return``).
It is written from Ref's source, not from our plugins, and tests/test_near_ref.py checks it
against the input/output pairs Ref's own Rust unit tests publish (stable_swap/mod.rs
``test_stable_julia_*``, ``test_stable_romeo_*``, ``test_stable_basics``, ``test_stable_max``).
"""

from __future__ import annotations

TARGET_DECIMAL = 18
FEE_DIVISOR = 10_000


class RefPanic(Exception):
    """The contract would panic (the view call fails)."""


def amount_to_c_amount(amount: int, decimals: int) -> int:
    if decimals <= TARGET_DECIMAL:
        return amount * 10 ** (TARGET_DECIMAL - decimals)
    return amount // 10 ** (decimals - TARGET_DECIMAL)


def c_amount_to_amount(c_amount: int, decimals: int) -> int:
    if decimals <= TARGET_DECIMAL:
        return c_amount // 10 ** (TARGET_DECIMAL - decimals)
    return c_amount * 10 ** (decimals - TARGET_DECIMAL)


def compute_d(c_amounts: list[int], amp: int) -> int:
    n = len(c_amounts)
    sum_x = sum(c_amounts)
    if sum_x == 0:
        return 0
    d = sum_x
    for _ in range(256):
        d_prod = d
        for c in c_amounts:
            d_prod = d_prod * d // (c * n)
        d_prev = d
        ann = amp * n**n
        d = d_prev * (d_prod * n + sum_x * ann) // (d_prev * (ann - 1) + d_prod * (n + 1))
        if abs(d - d_prev) <= 1:
            break
    return d


def compute_y(x_c_amount: int, c_amounts: list[int], i: int, j: int, amp: int) -> int:
    n = len(c_amounts)
    ann = amp * n**n
    d = compute_d(c_amounts, amp)
    s_ = x_c_amount
    c = d * d // x_c_amount
    for k, a in enumerate(c_amounts):
        if k != i and k != j:
            s_ += a
            c = c * d // a
    c = c * d // (ann * n**n)
    b = d // ann + s_
    y = d
    for _ in range(256):
        y_prev = y
        y = (y * y + c) // (2 * y + b - d)
        if abs(y - y_prev) <= 1:
            break
    return y


def swap_to(i: int, c_in: int, j: int, c_amounts: list[int], amp: int, total_fee: int,
            admin_fee_bps: int = 0) -> tuple[int, int, int, int]:
    """(amount_swapped, new_source, new_destination, admin_fee), all in c_amounts."""
    y = compute_y(c_in + c_amounts[i], c_amounts, i, j, amp)
    if y > c_amounts[j]:
        raise RefPanic("E70: swap out amount calculation error")
    dy = max(c_amounts[j] - y - 1, 0)
    trade_fee = dy * total_fee // FEE_DIVISOR
    admin_fee = trade_fee * admin_fee_bps // FEE_DIVISOR
    swapped = dy - trade_fee
    return swapped, c_amounts[i] + c_in, c_amounts[j] - swapped - admin_fee, admin_fee


def stable_get_return(pool: dict, i: int, amount_in: int, j: int) -> int:
    if i == j:
        raise RefPanic("E71: illegal swap with duplicated tokens")
    c_in = amount_to_c_amount(amount_in, pool["decimals"][i])
    swapped = swap_to(i, c_in, j, pool["c_amounts"], pool["amp"], pool["total_fee"])[0]
    return c_amount_to_amount(swapped, pool["decimals"][j])


def stable_swap(pool: dict, i: int, amount_in: int, j: int, admin_fee_bps: int = 0) -> int:
    """Swap in place. The admin fee leaves the balances in ``swap_to`` and comes straight back
    as liquidity minted to the exchange (``admin_fee_to_liquidity``), as Ref does."""
    c_in = amount_to_c_amount(amount_in, pool["decimals"][i])
    swapped, new_src, new_dst, admin_fee = swap_to(i, c_in, j, pool["c_amounts"], pool["amp"], pool["total_fee"],
                                                   admin_fee_bps)
    pool["c_amounts"][i], pool["c_amounts"][j] = new_src, new_dst + admin_fee
    return c_amount_to_amount(swapped, pool["decimals"][j])


def stable_amounts(pool: dict) -> list[int]:
    return [c_amount_to_amount(c, d) for c, d in zip(pool["c_amounts"], pool["decimals"])]


def simple_get_return(pool: dict, i: int, amount_in: int, j: int) -> int:
    in_balance, out_balance = pool["amounts"][i], pool["amounts"][j]
    if not (in_balance > 0 and out_balance > 0 and i != j and amount_in > 0):
        raise RefPanic("ERR_INVALID")
    with_fee = amount_in * (FEE_DIVISOR - pool["total_fee"])
    return with_fee * out_balance // (FEE_DIVISOR * in_balance + with_fee)
