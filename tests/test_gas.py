"""Gas: one meter inside the guest that bounds JS code and native builtins alike."""

import pytest

from plugin_host import (
    DEFAULT_GAS_LIMIT,
    FrozenRealm,
    MemoryLimitExceeded,
    OutOfGas,
    PluginException,
    StackOverflow,
)

BOMBS = """
export function loop() { while (true) {} }
export function tryFinally() { for (;;) { try { while (true) {} } finally { continue; } } }
export function catchAll() { for (;;) { try { for (;;) {} } catch (e) { } } }
export function regex() { return /(a+)+$/.test("a".repeat(40) + "b"); }
export function sortCostly() {
  const a = Array.from({ length: 100000 }, (_, i) => (i * 7919) % 10007);
  return a.sort((x, y) => { let s = 0; for (let i = 0; i < 100; i++) s += i; return x - y; }).length;
}
export function bigMul() { let a = 3n ** 50000n; for (;;) a = (a * a) % (7n ** 100000n); }
export function bigToString() { const b = 7n ** 300000n; for (;;) b.toString(); }
export function parseFloats() { for (;;) parseFloat("1.2345678901234567890123e-300"); }
export function typedCopy() { const a = new Float64Array(1 << 22); for (;;) a.copyWithin(0, 1); }
export function typedIndexOf() { const a = new Uint8Array(1 << 24); for (;;) a.indexOf(1); }
export function stringEq() { const a = "x".repeat(1 << 24), b = "x".repeat(1 << 24); let c = 0; for (;;) c += (a === b); }
export function jsonRoundTrip() {
  const o = Array.from({ length: 1000 }, (_, i) => ({ i, s: "x".repeat(100) }));
  for (;;) JSON.parse(JSON.stringify(o));
}
export function proxyStorm() { const p = new Proxy({}, { get: (t, k) => k.length }); let s = 0; for (;;) s += p.abc; }
export function huge() { return "x".repeat(2 ** 27).length; }
export function recurse() { const f = (n) => f(n + 1) + 1; return f(0); }
export function recurseCatch() { const f = (n) => { try { return f(n + 1) + 1; } catch (e) { return f(n + 1); } }; return f(0); }
export function work(n) { let s = 0n; for (let i = 0n; i < n; i++) s += i; return s; }
"""

OUT_OF_GAS = ["loop", "tryFinally", "catchAll", "regex", "sortCostly", "bigMul", "bigToString", "parseFloats",
              "typedCopy", "typedIndexOf", "stringEq", "jsonRoundTrip", "proxyStorm", "recurseCatch"]


@pytest.fixture(scope="module", params=["wasmer", "wasmtime"])
def realm(request):
    return FrozenRealm(BOMBS, engine=request.param, gas_limit=5_000_000)


@pytest.mark.parametrize("name", OUT_OF_GAS)
def test_bombs_run_out_of_gas_and_the_realm_recovers(realm, name):
    with pytest.raises(OutOfGas) as info:
        realm.call(name)
    e = info.value
    assert e.gas_limit == 5_000_000
    assert e.receipt.gas_used == 5_000_000 and e.receipt.error.type == "OutOfGas"
    assert realm.call("work", 10).output == 45


def test_other_bombs_end_in_their_own_typed_errors(realm):
    # 128 MiB: the allocation's gas (1 per 16 bytes) fits the default budget, the heap does not
    with pytest.raises(MemoryLimitExceeded):
        realm.call("huge", gas_limit=DEFAULT_GAS_LIMIT)
    with pytest.raises(OutOfGas):  # ... and under a small budget the gas runs out first
        realm.call("huge", gas_limit=1_000_000)
    with pytest.raises(StackOverflow):
        realm.call("recurse")
    assert realm.call("work", 10).output == 45


def test_gas_grows_with_work_and_is_exact(realm):
    used = [realm.call("work", n).gas_used for n in (0, 10, 100, 1000)]
    assert used == sorted(used) and len(set(used)) == 4
    # the same call costs the same, every time
    assert realm.call("work", 100).gas_used == used[2]
    # per-iteration cost is (nearly) constant: gas is about affine in n
    assert abs((used[3] - used[2]) - 10 * (used[2] - used[1])) < 0.01 * used[3]


def test_per_call_gas_limit(realm):
    cost = realm.call("work", 1000).gas_used
    assert realm.call("work", 1000, gas_limit=cost).gas_used == cost
    with pytest.raises(OutOfGas) as info:
        realm.call("work", 1000, gas_limit=cost - 1)
    assert info.value.gas_limit == cost - 1


def test_load_runs_on_the_plugins_gas(engine):
    with pytest.raises(OutOfGas):
        FrozenRealm("for (;;) {}\nexport function f() {}", engine=engine, gas_limit=1_000_000)
    realm = FrozenRealm("let s = 0; for (let i = 0; i < 1000; i++) s += i;\nexport function f() { return s; }",
                        engine=engine)
    assert realm.load_gas_used > 1000


def test_the_default_limit_is_documented_and_used():
    assert DEFAULT_GAS_LIMIT == 50_000_000
    assert FrozenRealm("export function f() {}").limits.gas == DEFAULT_GAS_LIMIT


def test_catching_out_of_gas_is_impossible(engine):
    realm = FrozenRealm("""
        export function f() {
          try { for (;;) {} } catch (e) { return "caught"; } finally { return "finally"; }
        }""", engine=engine, gas_limit=1_000_000)
    with pytest.raises(OutOfGas):
        realm.call("f")


def test_a_throw_still_reports_its_gas(engine):
    realm = FrozenRealm("export function f(n) { let s = 0; for (let i = 0; i < n; i++) s++; throw new Error('x'); }",
                        engine=engine)
    small = pytest.raises(PluginException)
    with small as a:
        realm.call("f", 1)
    with pytest.raises(PluginException) as b:
        realm.call("f", 1000)
    assert 0 < a.value.receipt.gas_used < b.value.receipt.gas_used


def test_compiling_the_source_is_metered(engine):
    """A source that is costly to compile (tens of thousands of locals in one function) runs out
    of the load budget instead of tying the host up for seconds."""
    locals_ = ", ".join(f"v{i}" for i in range(30_000))
    src = f"export function f() {{ let {locals_}; return 1n; }}"
    with pytest.raises(OutOfGas):
        FrozenRealm(src, engine=engine, gas_limit=2_000_000)
    small = FrozenRealm("export function f() { let a, b, c; return 1n; }", engine=engine)
    assert small.load_gas_used > 0


WORKLOADS = """
export function loop(n) { let s = 0; for (let i = 0; i < n; i++) s = (s + i * 7) % 1000003; return s; }
export function json(n) { const o = []; for (let i = 0; i < n; i++) o.push({ a: i, b: 'x' + i }); return JSON.stringify(o).length; }
export function regex(n) { return ('ab'.repeat(Number(n))).match(/a(b)/g).length; }
export function big(n) { let a = 1n; for (let i = 0; i < n; i++) a = (a * 3n + 7n) % (1n << 521n); return a; }
export function sorted(n) { return Array.from({ length: Number(n) }, (_, i) => (i * 7919) % 101).sort((x, y) => x - y); }
export function thrown(n) { try { null.x; } catch (e) { return String(e).length + Number(n); } }
"""


def test_both_ways_of_counting_give_the_same_gas_on_the_real_guest(tmp_path, monkeypatch):
    """The pinned guest keeps a budget in functions with loops and a count in the others
    (runtime/inject_gas.py). The same linked wasm rewritten to count everywhere must charge
    exactly the same gas for every call that completes -- the load included -- and answer
    the same: which way a function counts changes only where an exhausted budget traps."""
    import sys
    from pathlib import Path

    from plugin_host import _guest

    root = Path(__file__).resolve().parent.parent
    sys.path.insert(0, str(root / "runtime"))
    try:
        import build
        import inject_gas
    finally:
        sys.path.pop(0)
    linked = root / "runtime" / ".cache" / "build" / "metered" / "guest.wasm"
    if not linked.exists():
        pytest.skip("no linked guest in runtime/.cache/build (make builds it)")
    relinked = build.set_data_low(linked.read_bytes())
    if inject_gas.inject(relinked) != _guest.load()[0]:
        pytest.skip("runtime/.cache/build holds an experiment, not the pinned guest's link")
    counting = tmp_path / "counting.wasm"
    counting.write_bytes(inject_gas.inject(relinked, budget_mode=False))
    monkeypatch.setenv("PLUGIN_HOST_CACHE_DIR", str(tmp_path / "cache"))
    curve = (root / "plugins" / "curve-stable-swap.js").read_text()
    pinned = [FrozenRealm(src, engine="wasmtime") for src in (WORKLOADS, curve)]
    monkeypatch.setenv("PLUGIN_HOST_GUEST", str(counting))
    other = [FrozenRealm(src, engine="wasmtime") for src in (WORKLOADS, curve)]
    assert other[0].runtime_sha256 != pinned[0].runtime_sha256
    assert [r.load_gas_used for r in other] == [r.load_gas_used for r in pinned]
    calls = [(0, fn, n) for fn in ("loop", "json", "regex", "big", "sorted", "thrown") for n in (1, 7, 300)]
    calls.append((1, "calculateSwap", {"tokenIn": "DAI", "tokenOut": "USDC", "amountIn": 10**21, "poolState": {
        "tokens": ["DAI", "USDC", "USDT"], "balances": [10**24, 2 * 10**24, 10**23], "decimals": [18, 18, 18],
        "A": 100, "fee": 4000000, "adminFee": 5000000000}}))
    for k, fn, data in calls:
        a, b = pinned[k].call(fn, data), other[k].call(fn, data)
        assert (b.output, b.gas_used) == (a.output, a.gas_used), (fn, data)
