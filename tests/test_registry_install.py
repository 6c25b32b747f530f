"""PluginRegistry: install, every rejection path (and that it writes nothing), lookup,
lifecycle, pinning, tamper detection, the SQLite schema."""

import sqlite3

import msgspec
import pytest
from registry_support import dump, plugin, reg  # noqa: F401  (reg is a fixture)

from plugin_host import (
    ConfigurationError,
    HashMismatch,
    InvalidMetadata,
    NotFound,
    PluginError,
    PluginException,
    PluginInactive,
    PluginRecord,
    PluginRegistry,
    PluginSyntaxError,
    RegistryError,
    SourceTooLarge,
    VersionConflict,
)
from plugin_host._codec import sha256_hex
from plugin_host.registry import SCHEMA_VERSION


def test_install_stores_source_metadata_and_hash(reg):
    src = plugin(capabilities=["log"], homepage="https://example.org")
    rec = reg.install(src)
    assert isinstance(rec, PluginRecord)
    assert rec.sha256 == sha256_hex(src.encode())
    assert (rec.name, rec.version, rec.kind, rec.ref) == ("adder", "1.0.0", "amm", "adder@1.0.0")
    assert (rec.author, rec.license, rec.description) == ("tester.near", "MIT", "adds two BigInts")
    assert rec.capabilities == ("log",)
    assert set(rec.exports) == {"add", "fail", "spin", "chatty"}
    assert rec.metadata["homepage"] == "https://example.org"  # extra fields are kept
    assert rec.size == len(src.encode()) and len(rec.runtime_sha256) == 64
    assert rec.active is False
    assert reg.source(rec) == src.encode()


def test_str_and_bytes_are_the_same_plugin_and_reinstall_is_idempotent(reg):
    src = plugin()
    a = reg.install(src)
    before = dump(reg)
    assert reg.install(src.encode()) == a
    assert dump(reg) == before
    assert len(reg.list()) == 1


@pytest.mark.parametrize("source, error", [
    ("export function f( {", PluginSyntaxError),
    (b"\xff\xfe not utf-8", PluginSyntaxError),
    ("throw new Error('at load')", PluginException),
    ("export function f() { return 1n }", InvalidMetadata),  # no metadata at all
    ("export const metadata = 42; export function f() {}", InvalidMetadata),
    (plugin(name=None), InvalidMetadata),
    (plugin(version=None), InvalidMetadata),
    (plugin(author=None), InvalidMetadata),
    (plugin(license=None), InvalidMetadata),
    (plugin(description=None), InvalidMetadata),
    (plugin(name="Has Spaces"), InvalidMetadata),
    (plugin(name="a@b"), InvalidMetadata),
    (plugin(version="1.0"), InvalidMetadata),
    (plugin(version="01.0.0"), InvalidMetadata),
    (plugin(license="MIT OR"), InvalidMetadata),
    (plugin(license="NOASSERTION"), InvalidMetadata),
    (plugin(license="not a license"), InvalidMetadata),
    (plugin(description=""), InvalidMetadata),
    (plugin(capabilities=["network"]), InvalidMetadata),
    (plugin(capabilities="log"), InvalidMetadata),
    (plugin(capabilities=["log", "log"]), InvalidMetadata),
    (plugin(kind="AMM!"), InvalidMetadata),
    (plugin(version=100), InvalidMetadata),
])
def test_rejected_installs_raise_typed_errors_and_write_nothing(reg, source, error):
    reg.install(plugin(name="keep"))
    before = dump(reg)
    with pytest.raises(error) as info:
        reg.install(source)
    assert isinstance(info.value, PluginError)
    assert dump(reg) == before


@pytest.mark.parametrize("license", ["MIT", "Apache-2.0", "MIT OR Apache-2.0", "(MIT AND BSD-3-Clause) OR GPL-2.0+",
                                     "GPL-2.0-only WITH Classpath-exception-2.0", "LicenseRef-acme-1"])
def test_spdx_expressions_are_accepted(reg, license):
    assert reg.install(plugin(license=license)).license == license


def test_metadata_error_says_what_is_wrong(reg):
    with pytest.raises(InvalidMetadata, match="semantic version"):
        reg.install(plugin(version="v1"))
    with pytest.raises(InvalidMetadata, match="export const metadata"):
        reg.install("export function f() {}")


def test_expected_sha256_is_enforced(reg):
    src = plugin()
    before = dump(reg)
    with pytest.raises(HashMismatch) as info:
        reg.install(src, expected_sha256="0" * 64)
    assert info.value.expected == "0" * 64 and info.value.actual == sha256_hex(src.encode())
    assert dump(reg) == before
    assert reg.install(src, expected_sha256=sha256_hex(src.encode()).upper()).sha256 == sha256_hex(src.encode())
    with pytest.raises(ConfigurationError):
        reg.install(src, expected_sha256="abc")


def test_same_name_and_version_with_other_code_is_a_conflict(reg):
    first = reg.install(plugin())
    before = dump(reg)
    with pytest.raises(VersionConflict) as info:
        reg.install(plugin(body="// a change\n"))
    assert info.value.installed_sha256 == first.sha256
    assert (info.value.name, info.value.version) == ("adder", "1.0.0")
    assert dump(reg) == before


def test_source_over_the_size_limit_is_refused_before_loading():
    with PluginRegistry(":memory:", max_source_bytes=2048) as small:
        with pytest.raises(SourceTooLarge) as info:
            small.install(plugin(body="// " + "x" * 4096 + "\n"))
        assert info.value.limit == 2048 and small.list() == []


def test_versions_live_side_by_side_and_list_in_semver_order(reg):
    for v in ("1.10.0", "1.2.0", "1.2.0-rc.1", "0.9.0"):
        reg.install(plugin(version=v, body=f"// {v}\n"))
    reg.install(plugin(name="other"))
    assert [r.version for r in reg.list(name="adder")] == ["0.9.0", "1.2.0-rc.1", "1.2.0", "1.10.0"]
    assert [r.ref for r in reg.list()][-1] == "other@1.0.0"
    assert len({r.sha256 for r in reg.list()}) == 5


def test_lookup_by_sha256_or_name_at_version(reg):
    rec = reg.install(plugin())
    assert reg.get(rec.sha256) == rec == reg.get(rec.sha256.upper()) == reg.get("adder@1.0.0") == reg.get(rec)
    for ref in ("adder@2.0.0", "f" * 64, "adder", "", "adder@"):
        with pytest.raises(NotFound):
            reg.get(ref)
    with pytest.raises(NotFound):
        reg.get(42)


def test_activate_deactivate_uninstall(reg):
    rec = reg.install(plugin())
    with pytest.raises(PluginInactive):
        reg.realm(rec)
    assert reg.activate(rec).active is True
    assert reg.list(active=True) == [reg.get(rec.sha256)]
    assert reg.realm(rec).call("add", {"a": 1, "b": 2}).output == 3
    assert reg.deactivate(rec.sha256).active is False
    with pytest.raises(PluginInactive):
        reg.realm(rec)
    reg.activate(rec)
    reg.uninstall("adder@1.0.0")
    with pytest.raises(NotFound):
        reg.realm(rec)
    assert reg.list() == []


def test_realm_is_pinned_to_an_exact_sha256(reg):
    rec = reg.activate(reg.install(plugin()))
    assert reg.realm("adder@1.0.0", sha256=rec.sha256).plugin_sha256 == rec.sha256
    with pytest.raises(HashMismatch):
        reg.realm("adder@1.0.0", sha256="a" * 64)
    with pytest.raises(ConfigurationError):
        reg.realm("adder@1.0.0", sha256="not-a-hash")


def test_realm_takes_limits_but_not_capabilities(reg):
    rec = reg.activate(reg.install(plugin()))
    realm = reg.realm(rec, gas_limit=1_000_000, memory_limit=8 << 20, engine="wasmtime")
    assert realm.limits.gas == 1_000_000 and realm.limits.memory == 8 << 20 and realm.engine == "wasmtime"
    with pytest.raises(ConfigurationError):
        reg.realm(rec, capabilities=("log",))


def test_tampered_source_is_detected_and_refused(reg):
    rec = reg.activate(reg.install(plugin()))
    evil = plugin(body="export function steal() { return 1n }\n").encode()
    with reg._store.write() as c:
        c.execute("UPDATE plugins SET source = ? WHERE sha256 = ?", (evil, rec.sha256))
    with pytest.raises(HashMismatch) as info:
        reg.realm(rec)
    assert info.value.expected == rec.sha256 and info.value.actual == sha256_hex(evil)
    with pytest.raises(HashMismatch):
        reg.call(rec, "add", {"a": 1, "b": 1})
    with pytest.raises(HashMismatch):
        reg.source(rec)


def test_tampered_metadata_is_detected(reg):
    rec = reg.activate(reg.install(plugin()))
    forged = dict(rec.metadata, capabilities=["log"])
    with reg._store.write() as c:
        c.execute("UPDATE plugins SET metadata = ? WHERE sha256 = ?", (msgspec.json.encode(forged), rec.sha256))
    with pytest.raises(RegistryError, match="modified outside plugin-host"):
        reg.realm(rec)


def test_a_file_registry_persists_and_uses_wal(tmp_path):
    path = tmp_path / "sub" / "registry.sqlite"
    with PluginRegistry(path) as r:
        rec = r.activate(r.install(plugin()))
    with PluginRegistry(str(path)) as r:
        assert r.get("adder@1.0.0") == rec
    conn = sqlite3.connect(path)
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"


def test_a_foreign_or_newer_database_is_refused(tmp_path):
    foreign = tmp_path / "foreign.sqlite"
    sqlite3.connect(foreign).execute("CREATE TABLE t (x)")
    with pytest.raises(RegistryError, match="not a plugin-host registry"):
        PluginRegistry(foreign)
    newer = tmp_path / "newer.sqlite"
    PluginRegistry(newer).close()
    conn = sqlite3.connect(newer)
    conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    conn.close()
    with pytest.raises(RegistryError, match="upgrade plugin-host"):
        PluginRegistry(newer)
    garbage = tmp_path / "garbage.sqlite"
    garbage.write_bytes(b"this is not a database" * 100)
    with pytest.raises(RegistryError, match="cannot open"):
        PluginRegistry(garbage)


def test_a_refused_foreign_database_is_left_untouched(tmp_path):
    foreign = tmp_path / "foreign.sqlite"
    sqlite3.connect(foreign).execute("CREATE TABLE t (x)")
    with pytest.raises(RegistryError):
        PluginRegistry(foreign)
    conn = sqlite3.connect(foreign)
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "delete"
    assert conn.execute("PRAGMA application_id").fetchone()[0] == 0


def test_migrations_upgrade_an_existing_registry_in_place(tmp_path, monkeypatch):
    from plugin_host.registry import _store

    path = tmp_path / "r.sqlite"
    with PluginRegistry(path) as r:
        rec = r.install(plugin())
    extra = "CREATE TABLE notes (sha256 TEXT PRIMARY KEY, note TEXT NOT NULL);"
    monkeypatch.setattr(_store, "MIGRATIONS", _store.MIGRATIONS + (extra,))
    monkeypatch.setattr(_store, "SCHEMA_VERSION", SCHEMA_VERSION + 1)
    with PluginRegistry(path) as r:
        assert r.get(rec.sha256) == rec
        r._store.read("SELECT * FROM notes")
    assert sqlite3.connect(path).execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION + 1
