"""Runs resource bombs for test_resource_bombs.py in a child process.

A bomb that gas fails to bound would hang the calling thread inside wasm, where Python cannot
interrupt it; and one that crashes the engine would take the interpreter with it. So the bombs
run here, one JSON request per stdin line, one JSON answer per stdout line, and the parent
kills this process when an answer is late.

Request: {"engine", "source", "function", "input", "limits": {...}}
Answer:  {"outcome": "ok"|"error", "type", "message", "output", "gas", "seconds", "probe"}
where "probe" is the result of a normal call on the same realm right after the bomb.
"""

import json
import os
import sys
import time

os.environ.setdefault("PLUGIN_HOST_VERIFY_RESTORE", "1")

from plugin_host import FrozenRealm  # noqa: E402
from plugin_host.errors import PluginError  # noqa: E402

PROBE_SOURCE = "\nexport function __probe({ a, b }) { return a * b + 1n; }\n"


def run(req: dict) -> dict:
    ans: dict = {}
    t0 = time.perf_counter()
    try:
        realm = FrozenRealm(req["source"] + PROBE_SOURCE, engine=req["engine"], **req.get("limits", {}))
    except PluginError as e:
        return {"outcome": "error", "type": type(e).__name__, "message": e.message, "phase": "load",
                "seconds": time.perf_counter() - t0, "probe": None}
    t0 = time.perf_counter()
    try:
        res = realm.call(req.get("function", "f"), req.get("input"))
        ans.update(outcome="ok", output=repr(res.output)[:200], gas=res.gas_used)
    except PluginError as e:
        ans.update(outcome="error", type=type(e).__name__, message=e.message[:300],
                   gas=e.receipt.gas_used if e.receipt else None)
    except Exception as e:  # untyped: the parent fails the case
        ans.update(outcome="untyped", type=type(e).__name__, message=str(e)[:300])
    ans["seconds"] = time.perf_counter() - t0
    try:
        ans["probe"] = realm.call("__probe", {"a": 6, "b": 7}).output
    except Exception as e:
        ans["probe"] = f"{type(e).__name__}: {e}"
    return ans


def main() -> None:
    for line in sys.stdin:
        if not line.strip():
            continue
        print(json.dumps(run(json.loads(line))), flush=True)


if __name__ == "__main__":
    main()
