"""The registry's SQLite database: its schema and migrations (the file handling is shared,
plugin_host/_sqlite.py)."""

from __future__ import annotations

from .._sqlite import SqliteStore
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


class Store(SqliteStore):
    KIND = "registry"
    APPLICATION_ID = APPLICATION_ID
    ERROR = RegistryError

    def migrations(self) -> tuple[str, ...]:
        return MIGRATIONS  # looked up at call time: tests append a migration
