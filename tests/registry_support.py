"""Shared helpers of the registry tests (tests/test_registry_*.py)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from plugin_host import PluginRegistry


def plugin(name: str = "adder", version: str = "1.0.0", *, body: str = "", **meta: Any) -> str:
    """A small valid plugin; ``meta`` overrides or adds metadata fields (None removes one)."""
    fields = {"name": name, "version": version, "author": "tester.near", "license": "MIT",
              "description": "adds two BigInts", "kind": "amm", **meta}
    fields = {k: v for k, v in fields.items() if v is not None}
    return (f"export const metadata = {json.dumps(fields)};\n"
            "export function add({ a, b }) { return a + b; }\n"
            "export function fail() { throw new Error('nope'); }\n"
            "export function spin() { for (;;) {} }\n"
            "export function chatty() { console.log('hello'); return 1n; }\n" + body)


def dump(reg: PluginRegistry) -> list[str]:
    """Every row of the database, to show that a failed operation wrote nothing."""
    with reg._store.lock:
        return list(reg._store.conn.iterdump())


@pytest.fixture
def reg():
    with PluginRegistry(":memory:") as r:
        yield r
