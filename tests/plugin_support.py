"""Shared helpers for the plugin tests (tests/test_plugins_*.py): realms on both engines, vectors."""

from __future__ import annotations

import json
import re
from pathlib import Path

from plugin_host import FrozenRealm, PluginException

ROOT = Path(__file__).resolve().parent.parent
PLUGINS = ROOT / "plugins"
VECTORS = Path(__file__).resolve().parent / "vectors"
ENGINES = ("wasmer", "wasmtime")

SEMVER = re.compile(r"^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(?:-[0-9A-Za-z.-]+)?(?:\+[0-9A-Za-z.-]+)?$")
# the SPDX identifiers a plugin of ours may carry
SPDX = {"MIT", "Apache-2.0", "BSD-2-Clause", "BSD-3-Clause", "ISC", "MPL-2.0", "GPL-3.0-or-later",
        "LGPL-3.0-or-later", "Unlicense", "CC0-1.0"}


def source(name: str) -> str:
    return (PLUGINS / name).read_text()


def load_vectors(name: str) -> dict:
    return json.loads((VECTORS / name).read_text())


class Reverted(Exception):
    """The plugin threw (on both engines, with the same message and gas)."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


class Both:
    """One plugin loaded in a realm on each engine. ``call`` runs it on both, checks that the
    engines agree exactly (output or thrown message, and gas), and returns the output or raises
    Reverted."""

    def __init__(self, filename: str):
        self.filename = filename
        self.source = source(filename)
        self.realms = {e: FrozenRealm(self.source, engine=e) for e in ENGINES}
        self.max_gas: dict[str, int] = {}

    def __getitem__(self, engine: str) -> FrozenRealm:
        return self.realms[engine]

    @property
    def metadata(self) -> dict:
        return self.realms["wasmer"].metadata

    def call(self, fn: str, data):
        seen = []
        for engine, realm in self.realms.items():
            try:
                res = realm.call(fn, data)
                seen.append(("ok", res.output, res.gas_used, res.receipt.digest()))
            except PluginException as e:
                seen.append(("throw", e.js_message, e.receipt.gas_used, e.receipt.digest()))
        assert seen[0] == seen[1], f"the engines disagree on {fn}: {seen}"
        kind, value, gas, _ = seen[0]
        self.max_gas[fn] = max(self.max_gas.get(fn, 0), gas)
        if kind == "throw":
            raise Reverted(value)
        return value


def call_one(realm: FrozenRealm, fn: str, data):
    """Run on one engine: ("ok", output) or ("throw", js_message)."""
    try:
        return "ok", realm.call(fn, data).output
    except PluginException as e:
        return "throw", e.js_message


def check_metadata(meta: dict, src: str, *, contract: str) -> None:
    for key in ("name", "version", "author", "license", "description", "kind"):
        assert isinstance(meta.get(key), str) and meta[key], f"metadata.{key} is missing"
    assert SEMVER.match(meta["version"]), meta["version"]
    assert meta["license"] in SPDX, meta["license"]
    assert meta["kind"] == "amm"
    header = src.split("*/", 1)[0]
    assert src.lstrip().startswith("/**") and contract in header and "https://github.com/" in header
