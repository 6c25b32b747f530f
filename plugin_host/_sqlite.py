"""One SQLite database file of ours: opening it, migrating its schema, one-transaction writes.

Shared by the registry and the DEX. WAL journal and one ``BEGIN IMMEDIATE`` transaction per
write: a process killed at any instant leaves the database as it was before or after each
write, never between. ``synchronous=NORMAL`` is SQLite's advice for WAL: still atomic and
uncorruptible, and a commit survives the process dying; only an OS crash or power cut may roll
back the last commits (FULL would fsync every ledger row: ~4 ms a call instead of ~0.1 ms).
The schema version is ``PRAGMA user_version``; ``application_id`` marks the file as ours, so a
stray SQLite file is refused instead of being migrated.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import threading
from pathlib import Path
from typing import Iterator, Union

from .errors import PluginError


class SqliteStore:
    """One connection, shared by threads behind a lock. Subclasses say what the file is."""

    KIND = "database"  # for messages: "cannot open the <KIND> <path>"
    APPLICATION_ID = 0
    ERROR: type[PluginError] = PluginError
    FOREIGN_KEYS = False

    def migrations(self) -> tuple[str, ...]:
        """MIGRATIONS[i] takes the schema from version i to i + 1. Append only."""
        raise NotImplementedError

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
            raise self.ERROR(f"cannot open the {self.KIND} {self.path}: {e}") from None
        try:
            self.conn.execute("PRAGMA busy_timeout = 10000")
            if self.FOREIGN_KEYS:
                self.conn.execute("PRAGMA foreign_keys = ON")
            self._check_ours()  # before changing anything in a file that may not be ours
            self.conn.execute("PRAGMA journal_mode = WAL")
            self.conn.execute("PRAGMA synchronous = NORMAL")
            migrations = self.migrations()
            with self.write() as c:
                self._check_ours()  # again, now that no other process can be migrating
                version = c.execute("PRAGMA user_version").fetchone()[0]
                for i in range(version, len(migrations)):
                    for statement in statements(migrations[i]):
                        c.execute(statement)
                if version < len(migrations):
                    c.execute(f"PRAGMA application_id = {self.APPLICATION_ID}")
                    c.execute(f"PRAGMA user_version = {len(migrations)}")
        except BaseException as e:
            self.conn.close()
            if isinstance(e, sqlite3.Error):
                raise self.ERROR(f"cannot open the {self.KIND} {self.path}: {e}") from None
            raise

    def _check_ours(self) -> None:
        c = self.conn
        app, version = c.execute("PRAGMA application_id").fetchone()[0], c.execute("PRAGMA user_version").fetchone()[0]
        empty = c.execute("SELECT count(*) FROM sqlite_master").fetchone()[0] == 0
        if app != self.APPLICATION_ID and not (app == 0 and version == 0 and empty):
            raise self.ERROR(f"{self.path} is not a plugin-host {self.KIND}")
        known = len(self.migrations())
        if version > known:
            raise self.ERROR(f"{self.path} has {self.KIND} schema {version}; this plugin-host knows up to "
                             f"{known}: upgrade plugin-host")

    @contextlib.contextmanager
    def write(self, *, invalidates: bool = True) -> Iterator[sqlite3.Connection]:
        """One write transaction: all of it is committed, or none of it. A write that cannot
        change what readers cache (a ledger row) passes ``invalidates=False``."""
        with self.lock:
            try:
                self.conn.execute("BEGIN IMMEDIATE")
            except sqlite3.Error as e:
                raise self.ERROR(f"cannot write the {self.KIND} {self.path}: {e}") from None
            try:
                yield self.conn
                self.conn.execute("COMMIT")
            except BaseException as e:
                if self.conn.in_transaction:
                    self.conn.execute("ROLLBACK")
                if isinstance(e, sqlite3.Error):
                    raise self.ERROR(f"{self.KIND} write failed: {e}") from None
                raise
            finally:
                if invalidates:
                    self.writes += 1

    def read(self, sql: str, params: tuple = ()) -> list[tuple]:
        with self.lock:
            try:
                return self.conn.execute(sql, params).fetchall()
            except sqlite3.Error as e:
                raise self.ERROR(f"{self.KIND} read failed: {e}") from None

    def version(self) -> tuple[int, int]:
        """Changes whenever anything, in this process or another, commits a write."""
        with self.lock:
            return self.writes, self.conn.execute("PRAGMA data_version").fetchone()[0]

    def close(self) -> None:
        with self.lock:
            self.conn.close()


def statements(script: str) -> list[str]:
    # executescript() would COMMIT our transaction first; split and run one by one instead
    out, buf = [], ""
    for line in script.splitlines(keepends=True):
        buf += line
        if sqlite3.complete_statement(buf):
            out.append(buf.strip())
            buf = ""
    return [s for s in out if s]
