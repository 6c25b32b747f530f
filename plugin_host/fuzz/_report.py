"""A FuzzReport as plain text: a summary table, per-property counts, the counterexample."""

from __future__ import annotations

import shlex
from typing import TYPE_CHECKING, Sequence

if TYPE_CHECKING:
    from ._runner import FuzzReport


def _table(rows: Sequence[Sequence[object]], indent: str = "  ") -> list[str]:
    cells = [[str(v) for v in r] for r in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(cells[0]))]
    return [indent + "  ".join(v.ljust(w) for v, w in zip(r, widths)).rstrip() for r in cells]


def _clip(text: str, n: int = 100) -> str:
    return text if len(text) <= n else text[:n - 3] + "..."


def render(r: "FuzzReport") -> str:
    sha = f" (plugin {r.plugin_sha256[:12]})" if r.plugin_sha256 else ""
    top = list(r.errors.items())
    errors = ", ".join(f"{n} {name}" for name, n in top[:4]) or "none"
    if len(top) > 4:
        errors += f", {sum(n for _, n in top[4:])} other"
    rows = [
        ("examples run", f"{r.examples} in {r.search_seconds:.2f} s ({r.examples_per_second:.0f}/s)"),
        ("answered", r.answered),
        ("errors", errors),
        ("failures", 0 if r.ok else 1),
        ("gas", f"min {r.gas_min} / median {r.gas_median} / max {r.gas_max}"),
    ]
    if r.slowest is not None:
        rows.append(("slowest input", f"{r.slowest.seconds * 1e3:.2f} ms: {_clip(r.slowest.input_json)}"))
    rows.append(("seed", f"{r.seed} (--seed {r.seed} reproduces this run)"))
    lines = [f"{r.target} {r.function} on {r.engine}{sha}", ""] + _table(rows)
    if r.properties:
        lines += [""] + _table([("PROPERTY", "CHECKED", "NOT APPLICABLE")] +
                               [(p.name, p.checked, p.skipped) for p in r.properties])
    lines.append("")
    f = r.failure
    if f is None:
        lines.append(f"OK: no property failed in {r.examples} examples")
        return "\n".join(lines)
    lines += [f"FAILED: property {f.property!r}: {f.reason}",
              f"  the call {f.outcome}"]
    if f.flaky:
        lines.append("  FLAKY: it did not fail again when replayed: the answer depends on more than the input")
    lines += [f"  shrunk counterexample ({r.shrink_calls} calls while shrinking), as input JSON:", f.input_json]
    if r.plugin_sha256:
        lines.append("  reproduce:")
        origin = r.origin or "PLUGIN.js"
        if origin.startswith("registry:"):
            lines.append(f"    plugin-host show {r.plugin_sha256} --source > plugin.js")
            origin = "plugin.js"
        lines.append(f"    plugin-host run {shlex.quote(origin)} {r.function} --engine {r.engine} "
                     f"--input {shlex.quote(f.input_json)}")
    return "\n".join(lines)
