"""registry.call(): pinned, cached realms, the usage ledger, threads, other processes."""

import threading

import pytest
from registry_support import plugin, reg  # noqa: F401  (reg is a fixture)

from plugin_host import (
    HashMismatch,
    InvalidInput,
    NoSuchExport,
    OutOfGas,
    PluginException,
    PluginInactive,
    PluginRegistry,
    Receipt,
)


@pytest.fixture
def active(reg):
    return reg, reg.activate(reg.install(plugin()))


def test_call_runs_the_pinned_plugin_and_records_usage(active):
    reg, rec = active
    res = reg.call("adder@1.0.0", "add", {"a": 2, "b": 40}, sha256=rec.sha256)
    assert res.output == 42 and res.receipt.plugin_sha256 == rec.sha256
    reg.call(rec, "add", {"a": 2, "b": 40}, engine="wasmtime")
    u = reg.usage(rec)
    assert (u.calls, u.failures, u.gas_used) == (2, 0, 2 * res.gas_used)  # same gas on both engines
    rows = reg._store.read("SELECT function, ok, receipt_digest, receipt FROM calls")
    assert [r[:2] for r in rows] == [("add", 1), ("add", 1)]
    assert Receipt.from_json(rows[0][3]).digest() == rows[0][2] == res.receipt.digest()


def test_failed_calls_are_recorded_with_their_gas(active):
    reg, rec = active
    with pytest.raises(PluginException):
        reg.call(rec, "fail")
    with pytest.raises(OutOfGas):
        reg.call(rec, "spin", gas_limit=50_000)
    with pytest.raises(NoSuchExport):
        reg.call(rec, "missing")
    with pytest.raises(InvalidInput):
        reg.call(rec, "add", {"a": float("nan")})  # refused before the realm ran: no receipt, no row
    u = reg.usage(rec.sha256)
    assert (u.calls, u.failures) == (3, 3) and u.gas_used >= 50_000
    errors = [r[0] for r in reg._store.read("SELECT error FROM calls ORDER BY id")]
    assert errors == ["PluginException", "OutOfGas", "NoSuchExport"]


def test_the_ledger_outlives_an_uninstall(active):
    reg, rec = active
    reg.call(rec, "add", {"a": 1, "b": 1})
    reg.uninstall(rec)
    assert reg.usage(rec.sha256).calls == 1


def test_realms_are_cached_per_limits_and_state_does_not_leak(reg):
    rec = reg.activate(reg.install(plugin(body="let n = 0; export function count() { return ++n; }\n")))
    assert [reg.call(rec, "count").output for _ in range(3)] == [1, 1, 1]
    reg.call(rec, "count", memory_limit=8 << 20)
    realms = reg._local.realms
    assert len(realms) == 2
    reg.call(rec, "count", gas_limit=1_000_000)  # a per-call gas limit reuses the realm
    assert len(realms) == 2


def test_refusals_before_running(active):
    reg, rec = active
    with pytest.raises(HashMismatch):
        reg.call(rec, "add", {"a": 1, "b": 1}, sha256="e" * 64)
    reg.deactivate(rec)
    with pytest.raises(PluginInactive):
        reg.call(rec, "add", {"a": 1, "b": 1})
    assert reg.usage(rec).calls == 0


def test_threads_share_one_registry(active):
    reg, rec = active
    results, errors = [], []

    def work(i: int) -> None:
        try:
            for j in range(5):
                # wasmtime: _engines caches wasmer modules by thread ident, which a new thread may
                # reuse from a dead one (a panic); the registry's own cache is a threading.local
                results.append(reg.call(rec, "add", {"a": i, "b": j}, engine="wasmtime").output)
        except Exception as e:  # pragma: no cover - reported below
            errors.append(e)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors and sorted(results) == sorted(i + j for i in range(4) for j in range(5))
    assert reg.usage(rec).calls == 20


def test_a_change_by_another_process_is_seen_by_cached_calls(tmp_path):
    path = tmp_path / "r.sqlite"
    with PluginRegistry(path) as a, PluginRegistry(path) as b:
        rec = a.activate(a.install(plugin()))
        assert b.call(rec.ref, "add", {"a": 1, "b": 2}).output == 3
        a.deactivate(rec)  # another connection: b learns through PRAGMA data_version
        with pytest.raises(PluginInactive):
            b.call(rec.ref, "add", {"a": 1, "b": 2})
        assert a.usage(rec).calls == 1
