"""The registry's SQLite database: opening, the schema and its migrations, transactions.

WAL journal and one ``BEGIN IMMEDIATE`` transaction per write: a process killed at any instant
leaves the database as it was before or after each write, never between. ``synchronous=NORMAL``
is SQLite's advice for WAL: still atomic and uncorruptible, and a commit survives the process
dying; only an OS crash or power cut may roll back the last commits. (FULL would fsync every
usage-ledger row: ~4 ms a call instead of ~0.1 ms.)
The schema version is ``PRAGMA user_version``; ``application_id`` marks the file as ours so
that a stray SQLite file is refused instead of being migrated.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import threading
from pathlib import Path
from typing import Iterator, Union

from ..errors import RegistryError

__all__ = ["Store", "SCHEMA_VERSION"]

APPLICATION_ID = 0x50485247  # "PHRG"

# MIGRATIONS[i] takes the schema from version i to i + 1. Append only; never edit a shipped one.
MIGRATIONS: tuple[str, ...] = (
    """
    CREATE TABLE plugins (
        sha256         TEXT PRIMARY KEY CHECK (length(sha256) = 64),
        name           TEXT NOT NULL,
        version        TEXT NOT NULL,
        kind           TEXT,
        capabilities   TEXT NOT NULL,   -- JSON array: what the metadata requests
        exports        TEXT NOT NULL,   -- JSON array
        metadata       BLOB NOT NULL,   -- canonical JSON of the plugin's whole metadata object
        source         BLOB NOT NULL,   -- the exact bytes that hash to sha256
        runtime_sha256 TEXT NOT NULL,   -- the runtime it was checked on at install
        active         INTEGER NOT NULL DEFAULT 0 CHECK (active IN (0, 1)),
        installed_at   INTEGER NOT NULL,
        UNIQUE (name, version)
    );
    CREATE TABLE auditors (
        auditor    TEXT NOT NULL,
        public_key TEXT NOT NULL,
        added_at   INTEGER NOT NULL,
        PRIMARY KEY (auditor, public_key)
    );
    -- attestations are facts about a hash: they outlive an uninstall
    CREATE TABLE attestations (
        digest        TEXT PRIMARY KEY,  -- sha256 of the canonical attestation
        plugin_sha256 TEXT NOT NULL,
        auditor       TEXT NOT NULL,
        verdict       TEXT NOT NULL CHECK (verdict IN ('approved', 'rejected')),
        timestamp     INTEGER NOT NULL,
        body          BLOB NOT NULL      -- canonical JSON of the Attestation
    );
    CREATE INDEX attestations_by_plugin ON attestations (plugin_sha256);
    CREATE TABLE policy (
        id   INTEGER PRIMARY KEY CHECK (id = 1),
        body BLOB NOT NULL               -- canonical JSON of the RegistryPolicy
    );
    -- the usage ledger, one row per call: the basis of per-use royalties
    CREATE TABLE calls (
        id             INTEGER PRIMARY KEY,
        plugin_sha256  TEXT NOT NULL,
        function       TEXT NOT NULL,
        gas_used       INTEGER NOT NULL,
        ok             INTEGER NOT NULL CHECK (ok IN (0, 1)),
        error          TEXT,             -- the error class name when the call failed
        receipt_digest TEXT NOT NULL,
        receipt        BLOB NOT NULL,    -- Receipt.to_json()
        at             INTEGER NOT NULL
    );
    CREATE INDEX calls_by_plugin ON calls (plugin_sha256);
    """,
)
SCHEMA_VERSION = len(MIGRATIONS)


class Store:
    """One SQLite connection, shared by the registry's threads behind a lock."""

    def __init__(self, path: Union[str, os.PathLike]):
        self.path = str(path)
        self.lock = threading.RLock()
        self.writes = 0  # our own commits; PRAGMA data_version counts everyone else's
        if self.path != ":memory:" and not self.path.startswith("file:"):
            Path(self.path).parent.mkdir(parents=True, exist_ok=True)
        try:
            # autocommit mode: transactions are explicit, below
            self.conn = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False, timeout=10.0)
        except sqlite3.Error as e:
            raise RegistryError(f"cannot open the registry {self.path}: {e}") from None
        try:
            self.conn.execute("PRAGMA busy_timeout = 10000")
            self._check_ours()  # before changing anything in a file that may not be ours
            self.conn.execute("PRAGMA journal_mode = WAL")
            self.conn.execute("PRAGMA synchronous = NORMAL")
            with self.write() as c:
                self._check_ours()  # again, now that no other process can be migrating
                version = c.execute("PRAGMA user_version").fetchone()[0]
                for i in range(version, SCHEMA_VERSION):
                    for statement in _statements(MIGRATIONS[i]):
                        c.execute(statement)
                if version < SCHEMA_VERSION:
                    c.execute(f"PRAGMA application_id = {APPLICATION_ID}")
                    c.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
        except BaseException as e:
            self.conn.close()
            if isinstance(e, sqlite3.Error):
                raise RegistryError(f"cannot open the registry {self.path}: {e}") from None
            raise

    def _check_ours(self) -> None:
        c = self.conn
        app, version = c.execute("PRAGMA application_id").fetchone()[0], c.execute("PRAGMA user_version").fetchone()[0]
        empty = c.execute("SELECT count(*) FROM sqlite_master").fetchone()[0] == 0
        if app != APPLICATION_ID and not (app == 0 and version == 0 and empty):
            raise RegistryError(f"{self.path} is not a plugin-host registry")
        if version > SCHEMA_VERSION:
            raise RegistryError(f"{self.path} has registry schema {version}; this plugin-host knows up to "
                                f"{SCHEMA_VERSION}: upgrade plugin-host")

    @contextlib.contextmanager
    def write(self, *, invalidates: bool = True) -> Iterator[sqlite3.Connection]:
        """One write transaction: all of it is committed, or none of it. A write that cannot
        change what may run (a ledger row) passes ``invalidates=False``."""
        with self.lock:
            try:
                self.conn.execute("BEGIN IMMEDIATE")
            except sqlite3.Error as e:
                raise RegistryError(f"cannot write the registry {self.path}: {e}") from None
            try:
                yield self.conn
                self.conn.execute("COMMIT")
            except BaseException as e:
                if self.conn.in_transaction:
                    self.conn.execute("ROLLBACK")
                if isinstance(e, sqlite3.Error):
                    raise RegistryError(f"registry write failed: {e}") from None
                raise
            finally:
                if invalidates:
                    self.writes += 1

    def read(self, sql: str, params: tuple = ()) -> list[tuple]:
        with self.lock:
            try:
                return self.conn.execute(sql, params).fetchall()
            except sqlite3.Error as e:
                raise RegistryError(f"registry read failed: {e}") from None

    def version(self) -> tuple[int, int]:
        """Changes whenever anything, in this process or another, commits a write."""
        with self.lock:
            return self.writes, self.conn.execute("PRAGMA data_version").fetchone()[0]

    def close(self) -> None:
        with self.lock:
            self.conn.close()


def _statements(script: str) -> list[str]:
    # executescript() would COMMIT our transaction first; split and run one by one instead
    out, buf = [], ""
    for line in script.splitlines(keepends=True):
        buf += line
        if sqlite3.complete_statement(buf):
            out.append(buf.strip())
            buf = ""
    return [s for s in out if s]
