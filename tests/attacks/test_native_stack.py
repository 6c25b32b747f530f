"""Families 3 and 5, continued: the engine's *native* stack.

The guest's JS stack limit is checked against the wasm shadow stack, which is deterministic.
But every wasm frame also lives on a native stack: wasmtime's own (max_wasm_stack, 2 MiB) or,
for wasmer, the stack of the host thread that makes the call. Deep native recursion that stays
under the JS limit can exhaust the native stack first, and then the outcome depends on the
engine and on the host thread — or the process dies.

These run in a child process: the failure mode being tested for is a segfault.
"""

import json
import subprocess
import sys

import pytest

CHILD = r"""
import json, sys, threading
from plugin_host import FrozenRealm
from plugin_host.errors import ConfigurationError, PluginError

engine, stack_size = sys.argv[1], int(sys.argv[2])
SOURCES = {
    "js-recursion": "export function f(d) { function r(n) { return n ? r(n - 1) + 1 : 0; }"
                    " try { return r(Number(d)); } catch (e) { return 'caught ' + e.message; } }",
    "json-parse": "export function f(d) { d = Number(d); try { JSON.parse('['.repeat(d) + ']'.repeat(d));"
                  " return 'parsed'; } catch (e) { return 'caught ' + e.message; } }",
    "regexp-compile": "export function f(d) { d = Number(d); try { return new RegExp('(?:'.repeat(d) + 'a' +"
                      " ')'.repeat(d)).test('a'); } catch (e) { return 'caught ' + e.message; } }",
}
DEPTHS = [1000, 5000, 12000, 100000]

def run_all():
    out = {}
    for name, src in SOURCES.items():
        realm = FrozenRealm(src, engine=engine)
        for d in DEPTHS:
            try:
                res = realm.call("f", d)
                out[f"{name}@{d}"] = [res.output, res.gas_used]
            except PluginError as e:
                out[f"{name}@{d}"] = [type(e).__name__, None]
    return out

result = {"main": run_all()}
print(json.dumps(result), flush=True)
def on_thread():
    try:
        result["thread"] = run_all()
    except ConfigurationError as e:  # a thread with too little native stack is refused, typed
        result["thread"] = {"refused": str(e)}

threading.stack_size(stack_size)
t = threading.Thread(target=on_thread)
t.start()
t.join()
print(json.dumps(result), flush=True)
"""


@pytest.mark.parametrize("stack_kib", [512, 8192])
def test_outcome_does_not_depend_on_the_host_thread(engine, stack_kib):
    """512 KiB is the default stack of a secondary thread on macOS (musl's is 128 KiB). A call
    made from such a thread must give the same outcome as from the main thread or be refused
    with a typed error, and must never crash the process. 8 MiB (Linux's default) must agree."""
    proc = subprocess.run([sys.executable, "-c", CHILD, engine, str(stack_kib << 10)], capture_output=True,
                          text=True, timeout=120)
    lines = proc.stdout.strip().splitlines()
    assert lines, f"the child produced nothing (exit {proc.returncode}): {proc.stderr[-2000:]}"
    assert proc.returncode == 0, (f"the process died with exit code {proc.returncode} (signal "
                                  f"{-proc.returncode if proc.returncode < 0 else '-'}) calling the realm from a "
                                  f"thread with a {stack_kib} KiB stack")
    result = json.loads(lines[-1])
    if "refused" in result["thread"]:  # refused up front with a typed error: fine, and explained
        assert "stack" in result["thread"]["refused"]
        return
    diff = {k: (v, result["thread"][k]) for k, v in result["main"].items() if result["thread"][k] != v}
    assert not diff, f"outcome differs between the main thread and a {stack_kib} KiB thread: {diff}"


def test_outcome_does_not_depend_on_the_engine():
    """Deep native recursion below the JS stack limit: the same outcome on both engines."""
    results = {}
    for engine in ("wasmer", "wasmtime"):
        proc = subprocess.run([sys.executable, "-c", CHILD, engine, str(8 << 20)], capture_output=True, text=True,
                              timeout=120)
        assert proc.returncode == 0, proc.stderr[-2000:]
        results[engine] = json.loads(proc.stdout.strip().splitlines()[-1])["main"]
    diff = {k: (v, results["wasmtime"][k]) for k, v in results["wasmer"].items() if results["wasmtime"][k] != v}
    assert not diff, f"wasmer vs wasmtime: {diff}"
