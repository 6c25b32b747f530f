"""The public FrozenRealm API: construct, call, results, receipts, typed errors."""

import threading

import msgspec
import pytest

from plugin_host import (
    CallResult,
    ConfigurationError,
    FrozenRealm,
    InvalidInput,
    NoSuchExport,
    PluginError,
    PluginException,
    PluginSyntaxError,
    Receipt,
)
from plugin_host._codec import canonical, sha256_hex

PLUGIN = """
export const metadata = { name: "api-test", version: "1.2.3", author: "t.near", license: "MIT",
                          description: "test", kind: "amm" };
export function add({ a, b }) { return a + b; }
export function fail() { throw new RangeError("bad range"); }
export function throwString() { throw "just a string"; }
export async function later(x) { await null; return x * 2n; }
export async function rejects() { await null; throw new TypeError("async no"); }
export function never() { return new Promise(() => {}); }
export const notAFunction = 42;
"""


@pytest.fixture
def realm(engine):
    return FrozenRealm(PLUGIN, engine=engine)


def test_metadata_exports_and_hashes(realm):
    assert realm.metadata["name"] == "api-test"
    assert realm.metadata["version"] == "1.2.3"
    assert set(realm.exports) == {"add", "fail", "throwString", "later", "rejects", "never"}
    assert realm.plugin_sha256 == sha256_hex(PLUGIN.encode())
    assert len(realm.runtime_sha256) == 64


def test_call_result_and_receipt(realm, engine):
    res = realm.call("add", {"a": 2, "b": 40})
    assert isinstance(res, CallResult)
    assert res.output == 42 and type(res.output) is int
    assert res.gas_used > 0
    r = res.receipt
    assert r.function == "add" and r.engine == engine
    assert r.plugin_sha256 == realm.plugin_sha256 and r.runtime_sha256 == realm.runtime_sha256
    assert r.input_sha256 == sha256_hex(canonical({"a": 2, "b": 40}))
    assert r.output_sha256 == sha256_hex(canonical(42))
    assert r.gas_used == res.gas_used and r.error is None
    assert r.limits == realm.limits


def test_the_receipt_describes_the_call_as_made(engine):
    """Receipts are built when first read, from the bytes that crossed the boundary: what the
    caller does to the output in between does not change them. Results are immutable."""
    realm = FrozenRealm("export function f(x) { return { got: x.list, n: 1n }; }", engine=engine)
    data = {"list": [1, 2.5, "x"]}
    res = realm.call("f", data)
    res.output["got"].append("mutated")
    res.output["n"] = 2
    data["list"].append("also mutated")
    r = res.receipt
    assert r.input_sha256 == sha256_hex(canonical({"list": [1, 2.5, "x"]}))
    assert r.output_sha256 == sha256_hex(canonical({"got": [1, 2.5, "x"], "n": 1}))
    assert res.receipt is r
    with pytest.raises(AttributeError):
        res.gas_used = 0
    again = realm.call("f", {"list": [1, 2.5, "x"]})
    assert again != res  # the outputs differ now
    assert again == realm.call("f", {"list": [1, 2.5, "x"]})
    assert again.receipt.digest() == r.digest()


def test_receipt_digest_excludes_engine_and_round_trips(realm):
    r = realm.call("add", {"a": 1, "b": 1}).receipt
    other = msgspec.structs.replace(r, engine="elsewhere")
    assert other.digest() == r.digest()
    assert b"engine" not in r.canonical()
    assert Receipt.from_json(r.to_json()) == r


def test_str_and_bytes_sources_are_the_same_plugin(engine):
    a = FrozenRealm("export function f() { return 1n }", engine=engine)
    b = FrozenRealm(b"export function f() { return 1n }", engine=engine)
    assert a.plugin_sha256 == b.plugin_sha256


def test_plugin_exception_carries_js_details(realm):
    with pytest.raises(PluginException) as info:
        realm.call("fail")
    e = info.value
    assert e.js_name == "RangeError" and e.js_message == "bad range"
    assert "plugin.js" in e.js_stack
    assert e.receipt.error.type == "PluginException"
    assert e.receipt.output_sha256 is None


def test_non_error_throw(realm):
    with pytest.raises(PluginException, match="just a string"):
        realm.call("throwString")


def test_async_exports_run_to_completion(realm):
    assert realm.call("later", 21).output == 42
    with pytest.raises(PluginException, match="async no"):
        realm.call("rejects")


def test_promise_that_never_settles_is_invalid_output(realm):
    from plugin_host import InvalidOutput

    with pytest.raises(InvalidOutput, match="never settled"):
        realm.call("never")


def test_no_such_export(realm):
    for name in ("missing", "notAFunction", "metadata"):
        with pytest.raises(NoSuchExport) as info:
            realm.call(name)
        assert info.value.name == name


def test_function_name_with_nul_is_refused(realm):
    with pytest.raises(InvalidInput):
        realm.call("add\0x", {})


@pytest.mark.parametrize("source, match", [
    ("export function (", "SyntaxError|expecting|unexpected"),
    (b"export const a = '\xff';", "not UTF-8"),
    ("x".encode() * (1024 * 1024 + 1), "over the"),
    ("export const a = 1;\0", "NUL"),
])
def test_syntax_errors(source, match, engine):
    with pytest.raises(PluginSyntaxError, match=match):
        FrozenRealm(source, engine=engine)


def test_top_level_throw_fails_the_load(engine):
    with pytest.raises(PluginException, match="at load"):
        FrozenRealm("throw new Error('at load');", engine=engine)


def test_configuration_errors():
    with pytest.raises(ConfigurationError):
        FrozenRealm("export function f(){}", engine="v8")
    with pytest.raises(ConfigurationError):
        FrozenRealm("export function f(){}", capabilities=["network"])
    with pytest.raises(ConfigurationError):
        FrozenRealm("export function f(){}", gas_limit=0)
    with pytest.raises(ConfigurationError):
        FrozenRealm("export function f(){}", stack_limit=10**9)
    assert issubclass(ConfigurationError, PluginError)


def test_a_module_with_no_exports_loads(engine):
    realm = FrozenRealm("const x = 1;", engine=engine)
    assert realm.exports == () and realm.metadata == {}


def test_per_call_gas_limit(realm):
    res = realm.call("add", {"a": 1, "b": 2}, gas_limit=10_000_000)
    assert res.receipt.limits.gas == 10_000_000
    with pytest.raises(ConfigurationError):
        realm.call("add", {"a": 1, "b": 2}, gas_limit=-1)


def _hammer(make_realm, workers=4, calls=30):
    results, errors = [], []

    def worker(k):
        try:
            realm = make_realm()
            for i in range(calls):
                results.append(realm.call("add", {"a": k, "b": i}).output == k + i)
        except Exception as e:  # reported below
            errors.append(e)

    threads = [threading.Thread(target=worker, args=(k,)) for k in range(workers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return results, errors


def test_threads_share_one_wasmtime_realm():
    shared = FrozenRealm(PLUGIN, engine="wasmtime")
    results, errors = _hammer(lambda: shared)
    assert not errors and all(results) and len(results) == 120


def test_one_wasmer_realm_per_thread():
    results, errors = _hammer(lambda: FrozenRealm(PLUGIN, engine="wasmer"))
    assert not errors and all(results) and len(results) == 120


def test_a_wasmer_realm_refuses_other_threads():
    realm = FrozenRealm(PLUGIN, engine="wasmer")
    results, errors = _hammer(lambda: realm, workers=1, calls=1)
    assert len(errors) == 1 and isinstance(errors[0], ConfigurationError)


def test_a_throw_survives_the_jobs_it_queued(engine):
    realm = FrozenRealm("export function f() { Promise.resolve().then(() => { throw 1; }); throw new Error('main'); }",
                        engine=engine)
    with pytest.raises(PluginException) as info:
        realm.call("f")
    assert info.value.js_message == "main"


def test_a_caught_out_of_memory_does_not_mislabel_the_plugins_own_error(engine):
    from plugin_host import MemoryLimitExceeded

    realm = FrozenRealm("""
        export function f() {
          try { const a = []; for (;;) a.push(new Uint8Array(1 << 20)); } catch (e) {}
          throw new Error("INSUFFICIENT_LIQUIDITY");
        }
        export function g() { const a = []; for (;;) a.push(new Uint8Array(1 << 20)); }""",
                        engine=engine, memory_limit=8 << 20)
    with pytest.raises(PluginException, match="INSUFFICIENT_LIQUIDITY"):
        realm.call("f")
    with pytest.raises(MemoryLimitExceeded):
        realm.call("g")


def test_long_error_messages_keep_their_details(engine):
    realm = FrozenRealm("export function f() { throw new Error('\\x01'.repeat(3000)); }", engine=engine)
    with pytest.raises(PluginException) as info:
        realm.call("f")
    assert info.value.js_name == "Error" and len(info.value.js_message) >= 3000


def test_function_names_must_be_valid_unicode(realm):
    with pytest.raises(InvalidInput, match="lone surrogates"):
        realm.call("add\ud800", {})
