"""Determinism: same (runtime, plugin, function, input, limits) -> same output bytes and gas,
on both engines, in any call order, in any process. And the gas snapshot."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from plugin_host import FrozenRealm, PluginError
from plugin_host._codec import canonical

# A Number plugin: float StableSwap-style math with transcendental functions.
NUMBER_PLUGIN = """
export function quote({ balances, amp, dx }) {
  const n = balances.length;
  let s = 0, d = 0;
  for (const b of balances) s += b;
  d = s;
  for (let k = 0; k < 64; k++) {
    let dp = d;
    for (const b of balances) dp = dp * d / (b * n);
    const prev = d;
    d = (amp * n * s + dp * n) * d / ((amp * n - 1) * d + (n + 1) * dp);
    if (Math.abs(d - prev) < 1e-9) break;
  }
  return { d, out: dx * Math.exp(-dx / d) * Math.cbrt(1 + Math.sin(amp)), impact: Math.atan2(dx, d) };
}
"""

# A BigInt plugin: Curve's get_D in integers.
BIGINT_PLUGIN = """
export function getD({ xp, amp }) {
  const n = BigInt(xp.length);
  let s = 0n;
  for (const x of xp) s += x;
  if (s === 0n) return 0n;
  let d = s;
  const ann = amp * n;
  for (let i = 0; i < 255; i++) {
    let dp = d;
    for (const x of xp) dp = dp * d / (x * n);
    const prev = d;
    d = (ann * s + dp * n) * d / ((ann - 1n) * d + (n + 1n) * dp);
    if (d > prev ? d - prev <= 1n : prev - d <= 1n) return d;
  }
  throw new Error("D did not converge");
}
"""

PLUGINS = {"number": (NUMBER_PLUGIN, "quote"), "bigint": (BIGINT_PLUGIN, "getD")}

floats = st.floats(min_value=1.0, max_value=1e9, allow_nan=False)
number_inputs = st.fixed_dictionaries({
    "balances": st.lists(floats, min_size=2, max_size=6),
    "amp": st.floats(min_value=1.0, max_value=5000.0),
    "dx": st.floats(min_value=0.0, max_value=1e6),
})
bigint_inputs = st.fixed_dictionaries({
    "xp": st.lists(st.integers(min_value=1, max_value=10**30), min_size=2, max_size=8),
    "amp": st.integers(min_value=1, max_value=5000),
})
INPUTS = {"number": number_inputs, "bigint": bigint_inputs}


def outcome(realm, function, data):
    """Output bytes and gas, or the error type and gas: what must repeat."""
    try:
        res = realm.call(function, data)
        return ("ok", canonical(res.output), res.gas_used, res.receipt.digest())
    except PluginError as e:
        return (type(e).__name__, e.message, e.receipt.gas_used, e.receipt.digest())


@pytest.fixture(scope="module")
def realms():
    return {(kind, eng): FrozenRealm(src, engine=eng)
            for kind, (src, _) in PLUGINS.items() for eng in ("wasmer", "wasmtime")}


@pytest.mark.parametrize("kind", list(PLUGINS))
def test_engines_agree(realms, kind):
    fn = PLUGINS[kind][1]

    @settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
    @given(INPUTS[kind])
    def check(data):
        assert outcome(realms[kind, "wasmer"], fn, data) == outcome(realms[kind, "wasmtime"], fn, data)

    check()


@pytest.mark.parametrize("kind", list(PLUGINS))
def test_call_order_does_not_matter(realms, kind):
    fn = PLUGINS[kind][1]
    src = PLUGINS[kind][0]

    @settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
    @given(INPUTS[kind], st.lists(INPUTS[kind], max_size=5))
    def check(data, before):
        fresh = FrozenRealm(src)
        expected = outcome(fresh, fn, data)
        used = realms[kind, "wasmer"]
        for other in before:
            outcome(used, fn, other)
        assert outcome(used, fn, data) == expected

    check()


def test_a_fresh_process_agrees(realms, tmp_path):
    cases = [("bigint", {"xp": [10**24, 10**24, 10**24], "amp": 100}),
             ("bigint", {"xp": [1, 10**30], "amp": 1}),
             ("number", {"balances": [1e6, 2e6, 3.5e6], "amp": 85.0, "dx": 1234.5})]
    here = [outcome(realms[kind, "wasmer"], PLUGINS[kind][1], data)[1:] for kind, data in cases]
    script = tmp_path / "child.py"
    script.write_text(
        "import json, sys\n"
        "from plugin_host import FrozenRealm\n"
        "from plugin_host._codec import canonical\n"
        "from tests.test_determinism import PLUGINS, outcome\n"
        "cases = json.loads(sys.stdin.read())\n"
        "out = []\n"
        "for kind, data in cases:\n"
        "    src, fn = PLUGINS[kind]\n"
        "    r = outcome(FrozenRealm(src, engine='wasmtime'), fn, data)\n"
        "    out.append([r[1].decode() if isinstance(r[1], bytes) else r[1], r[2], r[3]])\n"
        "print(json.dumps(out))\n"
    )
    root = Path(__file__).resolve().parent.parent
    env = dict(os.environ, PYTHONPATH=str(root))
    proc = subprocess.run([sys.executable, str(script)], input=json.dumps(cases), capture_output=True,
                          text=True, env=env, cwd=root, check=True)
    there = json.loads(proc.stdout)
    assert [[h[0].decode(), h[1], h[2]] for h in here] == there


# ---- the gas snapshot ----------------------------------------------------------------------

SNAPSHOT = Path(__file__).with_name("gas-snapshot.json")

SNAPSHOT_CALLS = {
    "bigint.getD[3x1e24,A=100]": ("bigint", {"xp": [10**24] * 3, "amp": 100}),
    "bigint.getD[8 coins]": ("bigint", {"xp": [10**18 * (i + 1) for i in range(8)], "amp": 2000}),
    "number.quote[3 coins]": ("number", {"balances": [1e6, 2e6, 3e6], "amp": 100.0, "dx": 1000.0}),
}


def current_snapshot(realms):
    return {name: outcome(realms[kind, "wasmer"], PLUGINS[kind][1], data)[2]
            for name, (kind, data) in SNAPSHOT_CALLS.items()}


def test_gas_snapshot(realms, request):
    """Like Foundry's .gas-snapshot: any runtime change that moves gas shows up in review.
    Refresh with: pytest tests/test_determinism.py --update-gas-snapshot"""
    now = current_snapshot(realms)
    if request.config.getoption("--update-gas-snapshot"):
        SNAPSHOT.write_text(json.dumps(now, indent=2, sort_keys=True) + "\n")
    recorded = json.loads(SNAPSHOT.read_text())
    assert now == recorded, "gas moved: review the change, then run with --update-gas-snapshot"


# ---- the realm image cache -----------------------------------------------------------------

def test_a_realm_from_the_image_cache_is_the_same_realm(tmp_path, monkeypatch):
    monkeypatch.setenv("PLUGIN_HOST_CACHE_DIR", str(tmp_path))  # engines stay compiled in-process
    fresh = FrozenRealm(BIGINT_PLUGIN)
    images = list((tmp_path / "realms").glob("*.image"))
    assert len(images) == 1
    cached = FrozenRealm(BIGINT_PLUGIN)
    assert cached._snapshot == fresh._snapshot
    assert (cached.exports, cached.metadata, cached.load_gas_used) == (fresh.exports, fresh.metadata,
                                                                       fresh.load_gas_used)
    for data in ({"xp": [10**24] * 3, "amp": 100}, {"xp": [5, 7], "amp": 1}):
        assert outcome(cached, "getD", data) == outcome(fresh, "getD", data)

    # a damaged image is ignored (and replaced)
    images[0].write_bytes(images[0].read_bytes()[:-10] + b"0123456789")
    again = FrozenRealm(BIGINT_PLUGIN)
    assert again._snapshot == fresh._snapshot


def test_a_cached_load_still_honours_the_gas_limit(tmp_path, monkeypatch):
    monkeypatch.setenv("PLUGIN_HOST_CACHE_DIR", str(tmp_path))
    src = "let s = 0; for (let i = 0; i < 20000; i++) s += i;\nexport function f() { return s; }"
    needed = FrozenRealm(src).load_gas_used  # loads and caches
    from plugin_host import OutOfGas
    with pytest.raises(OutOfGas):
        FrozenRealm(src, gas_limit=needed - 1)
    assert FrozenRealm(src, gas_limit=needed).call("f").output == 199990000.0


def test_a_fork_is_a_fresh_realm():
    realm = FrozenRealm(BIGINT_PLUGIN)
    before = outcome(realm, "getD", {"xp": [10**24] * 3, "amp": 100})
    twin = realm.fork()
    assert twin._snapshot is realm._snapshot and twin._inst is not realm._inst
    assert (twin.exports, twin.plugin_sha256, twin.limits) == (realm.exports, realm.plugin_sha256, realm.limits)
    assert outcome(twin, "getD", {"xp": [10**24] * 3, "amp": 100}) == before


def test_a_wasmer_realm_forks_on_another_thread():
    """wasmer modules are bound to their thread: a fork made on another thread compiles (or
    reuses) that thread's module of the same runtime and answers the same."""
    import threading

    realm = FrozenRealm(BIGINT_PLUGIN, engine="wasmer")
    before = outcome(realm, "getD", {"xp": [10**24] * 3, "amp": 100})
    got = []
    worker = threading.Thread(target=lambda: got.append(outcome(realm.fork(), "getD",
                                                                {"xp": [10**24] * 3, "amp": 100})))
    worker.start()
    worker.join(timeout=120)
    assert got == [before]
