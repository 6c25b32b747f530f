"""Host-mediated composition: plugins.call(sha256, name, input), a capability."""

import pytest

from plugin_host import CapabilityDenied, FrozenRealm, OutOfGas, PluginException
from plugin_host._codec import sha256_hex
from plugin_host.errors import NotFound

CALLEE = """
export function double(x) { return x * 2n; }
export function fail() { throw new Error("INSUFFICIENT_LIQUIDITY"); }
export function spin() { for (;;) {} }
export function big(n) { return "z".repeat(Number(n)); }
export function work(n) { let s = 0n; for (let i = 0n; i < n; i++) s += i; return s; }
"""

CALLER = """
export function viaHost({ plugin, fn, input }) { return plugins.call(plugin, fn, input); }
export function withFallback({ plugin }) {
  try { return plugins.call(plugin, "fail", null); } catch (e) { return "fallback: " + e.message; }
}
export function twice({ plugin }) { return plugins.call(plugin, "double", plugins.call(plugin, "double", 5n)); }
"""


def realms(engine, callee_src=CALLEE):
    sources = {}

    def add(src, caps=("compose",)):
        sha = sha256_hex(src.encode())
        sources[sha] = FrozenRealm(src, engine=engine, capabilities=caps, resolver=resolve)
        return sources[sha]

    def resolve(sha):
        try:
            return sources[sha]
        except KeyError:
            raise NotFound(f"no plugin {sha}", ref=sha) from None

    callee = add(callee_src, ())
    caller = add(CALLER)
    return caller, callee, add


def test_a_plugin_calls_another_through_the_host(engine):
    caller, callee, _ = realms(engine)
    res = caller.call("viaHost", {"plugin": callee.plugin_sha256, "fn": "double", "input": 21})
    assert res.output == 42
    [sub] = res.receipt.calls
    assert sub.plugin_sha256 == callee.plugin_sha256 and sub.function == "double"
    assert sub.error is None and sub.gas_used > 0
    assert res.gas_used > sub.gas_used  # the callee's gas is inside the caller's
    assert caller.call("twice", {"plugin": callee.plugin_sha256}).output == 20


def test_gas_is_charged_to_the_caller(engine):
    caller, callee, _ = realms(engine)
    cheap = caller.call("viaHost", {"plugin": callee.plugin_sha256, "fn": "work", "input": 10})
    dear = caller.call("viaHost", {"plugin": callee.plugin_sha256, "fn": "work", "input": 5000})
    diff_callee = dear.receipt.calls[0].gas_used - cheap.receipt.calls[0].gas_used
    # all of the callee's extra gas, plus a little for the caller decoding a longer answer
    assert diff_callee <= dear.gas_used - cheap.gas_used < diff_callee + 100
    with pytest.raises(OutOfGas) as info:  # the callee spins on the caller's budget
        caller.call("viaHost", {"plugin": callee.plugin_sha256, "fn": "spin", "input": None}, gas_limit=2_000_000)
    assert info.value.receipt.calls[0].error.type == "OutOfGas"


def test_callee_failures_are_catchable_and_recorded(engine):
    caller, callee, _ = realms(engine)
    res = caller.call("withFallback", {"plugin": callee.plugin_sha256})
    assert res.output.startswith("fallback: PLUGIN_CALL_FAILED: PluginException: Error: INSUFFICIENT_LIQUIDITY")
    assert res.receipt.calls[0].error.type == "PluginException"


def test_large_responses(engine):
    caller, callee, _ = realms(engine)
    out = caller.call("viaHost", {"plugin": callee.plugin_sha256, "fn": "big", "input": 100_000}).output
    assert out == "z" * 100_000


def test_refusals(engine):
    caller, callee, add = realms(engine)
    with pytest.raises(PluginException, match="PLUGIN_CALL_REFUSED: NotFound"):
        caller.call("viaHost", {"plugin": "ab" * 32, "fn": "double", "input": 1})
    # a plugin cannot re-enter itself (its realm is mid-call): no cycles
    with pytest.raises(PluginException, match="already on the call path"):
        caller.call("viaHost", {"plugin": caller.plugin_sha256, "fn": "viaHost", "input": None})
    # depth is limited
    chain = callee
    for k in range(5):
        fn = "double" if chain is callee else "f"
        chain = add(f"// link {k}\nexport function f(x) {{ return plugins.call('{chain.plugin_sha256}', '{fn}', x); }}")
    with pytest.raises(PluginException, match="deeper than"):
        chain.call("f", 1)


def test_without_the_capability_or_a_resolver(engine):
    plain = FrozenRealm(CALLER, engine=engine)
    with pytest.raises(CapabilityDenied) as info:
        plain.call("viaHost", {"plugin": "00" * 32, "fn": "double", "input": 1})
    assert info.value.capability == "compose"
    alone = FrozenRealm(CALLER, engine=engine, capabilities=["compose"])
    with pytest.raises(PluginException, match="no resolver"):
        alone.call("viaHost", {"plugin": "00" * 32, "fn": "double", "input": 1})


def test_composition_is_deterministic_across_engines():
    outs = []
    for engine in ("wasmer", "wasmtime"):
        caller, callee, _ = realms(engine)
        res = caller.call("twice", {"plugin": callee.plugin_sha256})
        outs.append((res.output, res.gas_used, res.receipt.digest()))
    assert outs[0] == outs[1]


# ---- through the registry: only active plugins the policy allows ---------------------------

def test_registry_composition_is_pinned_authorized_and_ledgered():
    from plugin_host import PluginRegistry, RegistryPolicy
    from tests.registry_support import plugin

    with PluginRegistry(":memory:") as reg:
        callee = reg.install(plugin("doubler", body="export function double(x) { return x * 2n; }\n"))
        caller = reg.install(plugin("composer", capabilities=["compose"], body=(
            f"export function go(x) {{ return plugins.call('{callee.sha256}', 'double', x); }}\n")))
        reg.activate(caller)
        reg.activate(callee)
        with pytest.raises(CapabilityDenied):  # requested, but the policy does not grant it
            reg.call(caller, "go", 4)
        reg.set_policy(RegistryPolicy(allowed_capabilities=["compose"]))
        reg.deactivate(callee)
        with pytest.raises(PluginException, match="PLUGIN_CALL_REFUSED"):  # the callee is not active
            reg.call(caller, "go", 4)
        reg.activate(callee)
        res = reg.call(caller, "go", 4)
        assert res.output == 8 and res.receipt.calls[0].plugin_sha256 == callee.sha256
        assert reg.usage(callee).calls == 1 and reg.usage(caller).calls == 3


# ---- found in review ------------------------------------------------------------------------

def test_a_caller_pays_for_a_callee_even_when_it_cannot_take_the_answer(engine):
    caller, callee, add = realms(engine)
    hoarder = add(f"""
export function go() {{
  const hoard = [];
  try {{ for (;;) hoard.push(new Uint8Array(1 << 16)); }} catch (e) {{}}   // fill the heap
  let tries = 0;
  for (let i = 0; i < 50; i++) {{
    try {{ plugins.call('{callee.plugin_sha256}', 'big', 100000n); }} catch (e) {{ tries++; }}
  }}
  return tries;
}}""")
    try:
        res = hoarder.call("go", gas_limit=20_000_000)
        calls, used = res.receipt.calls, res.gas_used
    except Exception as e:  # running out of gas is the expected end
        calls, used = e.receipt.calls, e.receipt.gas_used
    assert sum(c.gas_used for c in calls) <= used


def test_realms_and_forks_are_collected():
    import gc
    import weakref

    realm = FrozenRealm(CALLEE)
    twin = realm.fork()
    refs = [weakref.ref(realm), weakref.ref(twin)]
    del realm, twin
    gc.collect()
    assert all(r() is None for r in refs)


def test_threads_composing_each_other_do_not_deadlock():
    """Thread 1 runs A calling B while thread 2 runs B calling A, on shared wasmtime realms:
    each callee runs on a private fork, so neither waits for the other's lock."""
    import threading

    relay = "export function go({ n, to }) { return n > 0n ? plugins.call(to, 'go', { n: n - 1n, to }) : 0n; }"
    sources = {}
    for name in ("A", "B"):
        src = f"// {name}\n{relay}"
        sources[sha256_hex(src.encode())] = FrozenRealm(src, engine="wasmtime", capabilities=["compose"],
                                                        resolver=lambda sha: sources[sha])
    a, b = list(sources)
    results = []

    def worker(me, other):
        for _ in range(25):
            results.append(sources[me].call("go", {"n": 1, "to": other}).output)

    threads = [threading.Thread(target=worker, args=pair) for pair in ((a, b), (b, a))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert not any(t.is_alive() for t in threads) and results == [0] * 50


def test_no_composition_at_load(engine):
    from plugin_host import PluginException

    with pytest.raises(PluginException, match="while the module loads"):
        FrozenRealm("plugins.call('" + "0" * 64 + "', 'f', null);\nexport function f() {}", engine=engine,
                    capabilities=["compose"], resolver=lambda sha: None)


def test_the_resolver_must_answer_the_plugin_asked_for(engine):
    caller, callee, _ = realms(engine)
    liar = FrozenRealm(CALLER, engine=engine, capabilities=["compose"], resolver=lambda sha: callee)
    with pytest.raises(PluginException, match="another plugin"):
        liar.call("viaHost", {"plugin": "ab" * 32, "fn": "double", "input": 1})
