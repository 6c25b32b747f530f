"""Row-level bookkeeping inside one transaction: every movement of tokens goes through here.

Each holding (a user's balance, a pool's balance, LP shares, a fee account) is a row whose
``amount`` is changed only by ``_add``, which refuses to take a holding below zero. So "nothing
is lost" reduces to: every operation moves amounts between rows, and runs in one transaction.
"""

from __future__ import annotations

import sqlite3
from typing import Optional

import msgspec

from .._codec import canonical
from ..errors import DexError, InsufficientFunds
from ..validation import FeeTreatment
from ._records import DexPlugin, Pool
from ._store import MAX_AMOUNT

__all__ = ["check_amount", "amount_of", "credit", "debit", "ensure_token", "add_supply", "load_plugin", "load_pool",
           "insert_pool", "set_pool_balances", "set_total_shares"]

# the holdings: table -> its two key columns (its third is ``amount``)
_HOLDINGS = {
    "balances": ("account", "token"),
    "shares": ("pool_id", "account"),
    "fees": ("pool_id", "token"),
    "royalties": ("plugin_id", "token"),
}


def check_amount(value: object, what: str, *, positive: bool = True) -> int:
    """An amount from a caller: an int (not a bool) in [1, 2**256) ([0, ...) if not positive)."""
    if type(value) is not int or value < (1 if positive else 0) or value > MAX_AMOUNT:
        lo = "1" if positive else "0"
        raise DexError(f"{what} must be an int in [{lo}, 2**256), got {value!r}")
    return value


def amount_of(c: sqlite3.Connection, table: str, k1: str, k2: str) -> int:
    a, b = _HOLDINGS[table]
    row = c.execute(f"SELECT amount FROM {table} WHERE {a} = ? AND {b} = ?", (k1, k2)).fetchone()
    return int(row[0]) if row else 0


def _add(c: sqlite3.Connection, table: str, k1: str, k2: str, delta: int, *, who: str, what: str) -> int:
    a, b = _HOLDINGS[table]
    have = amount_of(c, table, k1, k2)
    new = have + delta
    if new < 0:
        raise InsufficientFunds(f"{who} holds {have} {what}, needs {-delta}", account=who, token=what,
                                needed=-delta, available=have)
    if new > MAX_AMOUNT:
        raise DexError(f"{who}'s {what} would overflow a uint256")
    c.execute(f"INSERT INTO {table} ({a}, {b}, amount) VALUES (?, ?, ?) "
              f"ON CONFLICT ({a}, {b}) DO UPDATE SET amount = excluded.amount", (k1, k2, str(new)))
    return new


def credit(c: sqlite3.Connection, table: str, k1: str, k2: str, amount: int, *, who: str = "", what: str = "") -> int:
    return _add(c, table, k1, k2, amount, who=who or k1, what=what or k2)


def debit(c: sqlite3.Connection, table: str, k1: str, k2: str, amount: int, *, who: str = "", what: str = "") -> int:
    return _add(c, table, k1, k2, -amount, who=who or k1, what=what or k2)


def ensure_token(c: sqlite3.Connection, token: str) -> None:
    c.execute("INSERT OR IGNORE INTO tokens (token, supply) VALUES (?, '0')", (token,))


def add_supply(c: sqlite3.Connection, token: str, delta: int) -> int:
    ensure_token(c, token)
    supply = int(c.execute("SELECT supply FROM tokens WHERE token = ?", (token,)).fetchone()[0]) + delta
    if supply < 0 or supply > MAX_AMOUNT:  # unreachable while holdings stay >= 0; the CHECK would refuse it too
        raise DexError(f"the supply of {token} would leave [0, 2**256)")
    c.execute("UPDATE tokens SET supply = ? WHERE token = ?", (str(supply), token))
    return supply


def load_plugin(c: sqlite3.Connection, plugin_id: str) -> Optional[DexPlugin]:
    row = c.execute("SELECT plugin_id, sha256, ref, royalty_account, royalty_bps, active, installed_at "
                    "FROM plugins WHERE plugin_id = ?", (plugin_id,)).fetchone()
    if row is None:
        return None
    return DexPlugin(plugin_id=row[0], sha256=row[1], ref=row[2], royalty_account=row[3], royalty_bps=row[4],
                     active=bool(row[5]), installed_at=row[6])


def load_pool(c: sqlite3.Connection, pool_id: str) -> Pool:
    row = c.execute("SELECT plugin_id, tokens, params, balances_key, fee_treatment, total_shares FROM pools "
                    "WHERE pool_id = ?", (pool_id,)).fetchone()
    if row is None:
        raise DexError(f"no pool {pool_id!r}")
    balances = [int(r[0]) for r in c.execute("SELECT amount FROM pool_balances WHERE pool_id = ? ORDER BY idx",
                                             (pool_id,))]
    return Pool(pool_id=pool_id, plugin_id=row[0], tokens=tuple(msgspec.json.decode(row[1])),
                balances=tuple(balances), params=msgspec.json.decode(row[2]), balances_key=row[3],
                fee_treatment=FeeTreatment(row[4]), total_shares=int(row[5]))


def insert_pool(c: sqlite3.Connection, pool: Pool, at: int) -> None:
    c.execute("INSERT INTO pools (pool_id, plugin_id, tokens, params, balances_key, fee_treatment, total_shares, "
              "created_at) VALUES (?, ?, ?, ?, ?, ?, '0', ?)",
              (pool.pool_id, pool.plugin_id, canonical(list(pool.tokens)).decode(), canonical(pool.params),
               pool.balances_key, pool.fee_treatment.value, at))
    for idx, token in enumerate(pool.tokens):
        ensure_token(c, token)
        c.execute("INSERT INTO pool_balances (pool_id, idx, token, amount) VALUES (?, ?, ?, '0')",
                  (pool.pool_id, idx, token))


def set_pool_balances(c: sqlite3.Connection, pool_id: str, balances: "tuple[int, ...] | list[int]") -> None:
    for idx, amount in enumerate(balances):
        if not 0 <= amount <= MAX_AMOUNT:  # validated before; the CHECK constraint is the last line
            raise DexError(f"pool {pool_id}: balance {amount} is out of range")
        c.execute("UPDATE pool_balances SET amount = ? WHERE pool_id = ? AND idx = ?", (str(amount), pool_id, idx))


def set_total_shares(c: sqlite3.Connection, pool_id: str, total: int) -> None:
    c.execute("UPDATE pools SET total_shares = ? WHERE pool_id = ?", (str(total), pool_id))
