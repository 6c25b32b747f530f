"""Reporting for the attack corpus: the wall time of every resource bomb, at the end of the run."""

import os

import pytest

_BOMB_TIMES = []


def record_bomb(item_id: str, engine: str, outcome: str, seconds: float, gas) -> None:
    _BOMB_TIMES.append((item_id, engine, outcome, seconds, gas))


@pytest.fixture
def bomb_log():
    return record_bomb


def pytest_terminal_summary(terminalreporter):
    if not _BOMB_TIMES:
        return
    tr = terminalreporter
    tr.section("resource bombs: wall time of the call (default limits unless noted)")
    base = {eng: secs / gas for (i, eng, _, secs, gas) in _BOMB_TIMES if i == "empty-loop" and gas}
    for item_id, engine, outcome, seconds, gas in sorted(_BOMB_TIMES, key=lambda t: (t[0], t[1])):
        rate = ""
        if gas and engine in base:
            rate = f"{seconds / gas * 1e9:7.2f} ns/gas ({seconds / gas / base[engine]:4.1f}x empty loop)"
        tr.write_line(f"{item_id:42} {engine:9} {outcome:22} {seconds:8.3f} s  {rate}")
    limit = float(os.environ.get("PLUGIN_HOST_BOMB_SECONDS", "1.0"))
    slow = [t for t in _BOMB_TIMES if t[3] > limit]
    tr.write_line(f"{len(_BOMB_TIMES)} runs, {len(slow)} over {limit} s")
