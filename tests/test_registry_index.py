"""The curated index (registry/): the project's own pins, check/update/import, drift."""

import json
import shutil
from pathlib import Path

import msgspec
import pytest
from registry_support import dump, plugin, reg  # noqa: F401  (reg is a fixture)

from plugin_host import IndexCheckFailed, PluginRegistry, RegistryPolicy
from plugin_host._cli import main
from plugin_host.registry import generate_key, sign
from plugin_host.registry._attest import make_statement
from plugin_host.registry._index import check, update

ROOT = Path(__file__).resolve().parent.parent


def test_the_projects_index_pins_every_bundled_plugin(capsys):
    """A plugin in plugins/ cannot change without its pin in registry/, nor the runtime without the
    bundled plugins being re-checked on it (run `plugin-host index update` after a reviewed change:
    the test suite is what checks them)."""
    status = main(["index", "check", "--index", str(ROOT / "registry"), "--strict"])
    out = capsys.readouterr().out
    assert status == 0, out
    checked = check(ROOT / "registry")
    assert {m.path for m, _ in checked.inspected} == {p.relative_to(ROOT).as_posix()
                                                      for p in (ROOT / "plugins").rglob("*.js")}
    for path in (ROOT / "registry" / "auditors").iterdir():
        assert "private_key" not in path.read_text(), path


@pytest.fixture
def tree(tmp_path):
    """A project with two plugins and a fresh index; returns (root, index directory)."""
    (tmp_path / "plugins" / "examples").mkdir(parents=True)
    (tmp_path / "plugins" / "adder.js").write_text(plugin())
    (tmp_path / "plugins" / "examples" / "logger.js").write_text(plugin("logger", "0.1.0", capabilities=["log"]))
    index = tmp_path / "registry"
    changes = update(index)
    assert len(changes) == 2
    return tmp_path, index


def _problems(index, **kw):
    return check(index, **kw).problems


def test_update_writes_manifests_and_check_passes(tree):
    root, index = tree
    m = json.loads((index / "plugins" / "logger@0.1.0.json").read_text())
    assert m["path"] == "plugins/examples/logger.js" and m["capabilities"] == ["log"] and m["kind"] == "amm"
    assert len(m["sha256"]) == 64 and len(m["runtime_sha256"]) == 64 and m["attestations"] == []
    assert (index / "auditors").is_dir()
    assert _problems(index) == [] and check(index, strict=True).ok
    assert update(index) == []  # idempotent


def test_a_changed_plugin_fails_until_its_pin_is_updated(tree):
    root, index = tree
    (root / "plugins" / "adder.js").write_text(plugin(body="// changed\n"))
    problems = _problems(index)
    assert len(problems) == 1 and "plugins/adder.js changed" in problems[0]
    assert main(["index", "check", "--index", str(index)]) == 1
    update(index)
    assert _problems(index) == []


def test_missing_and_unpinned_plugins_fail(tree):
    root, index = tree
    (root / "plugins" / "new.js").write_text(plugin("new"))
    (root / "plugins" / "examples" / "logger.js").unlink()
    problems = " ".join(_problems(index))
    assert "plugins/new.js has no manifest" in problems and "does not exist" in problems


def test_runtime_drift_is_reported_and_fails_only_when_strict(tree, capsys):
    root, index = tree
    path = index / "plugins" / "adder@1.0.0.json"
    path.write_text(path.read_text().replace(json.loads(path.read_text())["runtime_sha256"], "0" * 64))
    checked = check(index)
    assert checked.ok and checked.problems == [] and len(checked.drift) == 1
    assert not check(index, strict=True).ok
    assert main(["index", "check", "--index", str(index)]) == 0
    assert "drift" in capsys.readouterr().out
    assert main(["index", "check", "--index", str(index), "--strict"]) == 1


def test_edited_manifest_fields_fail(tree):
    root, index = tree
    path = index / "plugins" / "logger@0.1.0.json"
    m = json.loads(path.read_text())
    path.write_text(json.dumps({**m, "capabilities": []}))
    assert any("capabilities" in p for p in _problems(index))
    path.write_text(json.dumps({**m, "extra": 1}))
    assert any("unknown field" in p for p in _problems(index))


def test_a_private_key_in_the_index_fails(tree):
    root, index = tree
    secret, public = generate_key()
    (index / "auditors" / "alice.near.json").write_text(
        json.dumps({"account_id": "alice.near", "public_key": public, "private_key": secret}))
    assert any("holds a private key" in p for p in _problems(index))


def _add_attested_auditor(root, index, verdict="approved"):
    secret, public = generate_key()
    (index / "auditors" / "alice.near.json").write_text(json.dumps({"account_id": "alice.near", "public_key": public}))
    path = index / "plugins" / "adder@1.0.0.json"
    m = json.loads(path.read_text())
    st = make_statement(plugin_sha256=m["sha256"], runtime_sha256=m["runtime_sha256"], verdict=verdict,
                        report="ipfs://report", auditor="alice.near", timestamp=1_700_000_000)
    m["attestations"] = [msgspec.to_builtins(sign(st, secret))]
    path.write_text(json.dumps(m))
    return secret


def test_attestations_in_manifests_are_verified_and_kept_by_update(tree):
    root, index = tree
    _add_attested_auditor(root, index)
    assert _problems(index) == []
    update(index)
    path = index / "plugins" / "adder@1.0.0.json"
    assert len(json.loads(path.read_text())["attestations"]) == 1  # same code: kept
    m = json.loads(path.read_text())
    m["attestations"][0]["statement"]["report"] = "ipfs://forged"
    path.write_text(json.dumps(m))
    assert any("does not verify" in p for p in _problems(index))
    update(index)  # rewrites from the sources; the (forged) attestation is about the same hash
    (root / "plugins" / "adder.js").write_text(plugin(body="// v2\n"))
    changes = update(index)
    assert any("dropped 1 attestation" in c for c in changes)
    assert json.loads(path.read_text())["attestations"] == []


def test_update_writes_nothing_when_a_plugin_is_broken(tree):
    root, index = tree
    before = {p: p.read_bytes() for p in (index / "plugins").iterdir()}
    (root / "plugins" / "broken.js").write_text("export function f( {")
    with pytest.raises(IndexCheckFailed, match="broken.js"):
        update(index)
    assert {p: p.read_bytes() for p in (index / "plugins").iterdir()} == before


def test_import_index_installs_the_curated_set(tree, reg):
    root, index = tree
    _add_attested_auditor(root, index)
    records = reg.import_index(index)
    assert [r.ref for r in records] == ["adder@1.0.0", "logger@0.1.0"]
    assert not any(r.active for r in reg.list())
    assert [a.auditor for a in reg.auditors()] == ["alice.near"]
    reg.set_policy(RegistryPolicy(trusted_auditors=["alice.near"], min_approvals=1))
    assert reg.activate("adder@1.0.0").active
    again = reg.import_index(index)  # idempotent, and leaves activation alone
    assert [r.sha256 for r in again] == [r.sha256 for r in records] and again[0].active


def test_import_index_verifies_every_hash_and_writes_nothing_on_failure(tree, reg):
    root, index = tree
    (root / "plugins" / "examples" / "logger.js").write_text(plugin("logger", "0.1.0", body="// evil\n"))
    before = dump(reg)
    with pytest.raises(IndexCheckFailed) as info:
        reg.import_index(index)
    assert any("logger.js changed" in p for p in info.value.problems)
    assert dump(reg) == before


def test_the_projects_index_imports(reg):
    records = reg.import_index(ROOT / "registry")
    assert {r.name for r in records} >= {"uniswap-v2", "curve-stable-swap", "solidly"}


def test_index_update_via_the_cli(tmp_path, capsys):
    shutil.copytree(ROOT / "plugins", tmp_path / "plugins")
    assert main(["index", "update", "--index", str(tmp_path / "registry")]) == 0
    assert "added" in capsys.readouterr().out
    assert main(["index", "check", "--index", str(tmp_path / "registry"), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["ok"] is True
    with PluginRegistry(tmp_path / "r.sqlite") as r:
        assert len(r.import_index(tmp_path / "registry")) == len(list((tmp_path / "plugins").rglob("*.js")))
