"""The DEX's SQLite database: the schema, its migrations, and one-transaction writes.

Amounts are exact integers of any size (wei), so they are stored as canonical decimal TEXT and
the database itself refuses a negative or malformed one (the ``amount`` CHECK below): even a bug
in the settlement code cannot write a negative balance. Arithmetic happens in Python.
The file handling (WAL, ``BEGIN IMMEDIATE``, all or nothing) is shared: plugin_host/_sqlite.py.
"""

from __future__ import annotations

from .._sqlite import SqliteStore
from ..errors import DexError

__all__ = ["Store", "SCHEMA_VERSION", "MAX_AMOUNT"]

APPLICATION_ID = 0x50484458  # "PHDX"
MAX_AMOUNT = 2**256 - 1  # a uint256, as on chain; 78 decimal digits


def _amount(col: str) -> str:
    # digits only, no leading zero, at most 78 of them. Part of migration 1: never change it.
    return (f"CHECK ({col} GLOB '[0-9]*' AND NOT {col} GLOB '*[^0-9]*' AND length({col}) <= 78 "
            f"AND ({col} = '0' OR NOT {col} GLOB '0*'))")


# MIGRATIONS[i] takes the schema from version i to i + 1. Append only; never edit a shipped one.
MIGRATIONS: tuple[str, ...] = (
    f"""
    CREATE TABLE dex (
        id         INTEGER PRIMARY KEY CHECK (id = 1),
        owner      TEXT NOT NULL,
        created_at INTEGER NOT NULL
    );
    -- what deposits brought in minus what withdrawals took out: every holding adds up to it
    CREATE TABLE tokens (
        token  TEXT PRIMARY KEY,
        supply TEXT NOT NULL {_amount("supply")}
    );
    CREATE TABLE balances (
        account TEXT NOT NULL,
        token   TEXT NOT NULL REFERENCES tokens (token),
        amount  TEXT NOT NULL {_amount("amount")},
        PRIMARY KEY (account, token)
    );
    -- the DEX's plugin ids, each pinned to one registry sha256 for good
    CREATE TABLE plugins (
        plugin_id       TEXT PRIMARY KEY,
        sha256          TEXT NOT NULL CHECK (length(sha256) = 64),
        ref             TEXT NOT NULL,   -- name@version in the registry, for people
        royalty_account TEXT NOT NULL,   -- credited royalty_bps of every swap fee it prices
        royalty_bps     INTEGER NOT NULL CHECK (royalty_bps BETWEEN 0 AND 10000),
        active          INTEGER NOT NULL CHECK (active IN (0, 1)),
        installed_at    INTEGER NOT NULL
    );
    CREATE TABLE pools (
        pool_id       TEXT PRIMARY KEY,
        plugin_id     TEXT NOT NULL REFERENCES plugins (plugin_id),
        tokens        TEXT NOT NULL,     -- JSON array: the coin order of balances and poolState
        params        BLOB NOT NULL,     -- canonical JSON object: the rest of the plugin's poolState
        balances_key  TEXT NOT NULL,     -- the poolState field that carries the balances
        fee_treatment TEXT NOT NULL,     -- a validation.FeeTreatment value
        total_shares  TEXT NOT NULL {_amount("total_shares")},
        created_at    INTEGER NOT NULL
    );
    CREATE TABLE pool_balances (
        pool_id TEXT NOT NULL REFERENCES pools (pool_id),
        idx     INTEGER NOT NULL,
        token   TEXT NOT NULL REFERENCES tokens (token),
        amount  TEXT NOT NULL {_amount("amount")},
        PRIMARY KEY (pool_id, idx),
        UNIQUE (pool_id, token)
    );
    CREATE TABLE shares (
        pool_id TEXT NOT NULL REFERENCES pools (pool_id),
        account TEXT NOT NULL,
        amount  TEXT NOT NULL {_amount("amount")},
        PRIMARY KEY (pool_id, account)
    );
    -- fee accounts: the fees that left each pool (Curve's admin fee, Solidly's fee), until collected
    CREATE TABLE fees (
        pool_id TEXT NOT NULL REFERENCES pools (pool_id),
        token   TEXT NOT NULL REFERENCES tokens (token),
        amount  TEXT NOT NULL {_amount("amount")},
        PRIMARY KEY (pool_id, token)
    );
    -- royalties paid per plugin: a record (the tokens themselves are in royalty_account's balance)
    CREATE TABLE royalties (
        plugin_id TEXT NOT NULL REFERENCES plugins (plugin_id),
        token     TEXT NOT NULL,
        amount    TEXT NOT NULL {_amount("amount")},
        PRIMARY KEY (plugin_id, token)
    );
    -- the audit trail: one row per settled swap, each linked to the previous one by digest
    CREATE TABLE swaps (
        id             INTEGER PRIMARY KEY,
        pool_id        TEXT NOT NULL,
        plugin_id      TEXT NOT NULL,
        plugin_sha256  TEXT NOT NULL,
        trader         TEXT NOT NULL,
        token_in       TEXT NOT NULL,
        token_out      TEXT NOT NULL,
        amount_in      TEXT NOT NULL {_amount("amount_in")},
        min_amount_out TEXT NOT NULL {_amount("min_amount_out")},
        amount_out     TEXT NOT NULL {_amount("amount_out")},
        fee_amount     TEXT NOT NULL {_amount("fee_amount")},
        fee_token      TEXT NOT NULL,
        fee_left       TEXT NOT NULL {_amount("fee_left")},   -- to the pool's fee account
        royalty        TEXT NOT NULL {_amount("royalty")},    -- to the plugin's royalty account
        gas_used       INTEGER NOT NULL,
        input          BLOB NOT NULL,    -- the exact calculateSwap input: hashes to the receipt's input_sha256
        output         BLOB NOT NULL,    -- the plugin's answer, canonical: hashes to its output_sha256
        receipt        BLOB NOT NULL,    -- Receipt.to_json()
        receipt_digest TEXT NOT NULL,
        at             INTEGER NOT NULL,
        prev_digest    TEXT NOT NULL,    -- the previous swap's digest ('' for the first)
        digest         TEXT NOT NULL UNIQUE
    );
    CREATE INDEX swaps_by_plugin ON swaps (plugin_id);
    -- plugin answers the DEX refused (the plugin failed, or its answer broke a rule): nothing settled
    CREATE TABLE rejections (
        id             INTEGER PRIMARY KEY,
        pool_id        TEXT NOT NULL,
        plugin_id      TEXT NOT NULL,
        plugin_sha256  TEXT NOT NULL,
        trader         TEXT NOT NULL,
        token_in       TEXT NOT NULL,
        token_out      TEXT NOT NULL,
        amount_in      TEXT NOT NULL,
        error          TEXT NOT NULL,    -- the plugin_host.errors class name
        rule           TEXT,             -- the validation rule, for ValidationFailed
        message        TEXT NOT NULL,
        gas_used       INTEGER NOT NULL,
        receipt        BLOB NOT NULL,
        at             INTEGER NOT NULL
    );
    CREATE INDEX rejections_by_plugin ON rejections (plugin_id);
    """,
)
SCHEMA_VERSION = len(MIGRATIONS)


class Store(SqliteStore):
    KIND = "DEX database"
    APPLICATION_ID = APPLICATION_ID
    ERROR = DexError
    FOREIGN_KEYS = True

    def migrations(self) -> tuple[str, ...]:
        return MIGRATIONS
