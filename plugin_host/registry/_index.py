"""The curated index: ``registry/`` pins every plugin in ``plugins/`` by sha256.

    registry/plugins/<name>@<version>.json   one manifest per plugin source file
    registry/auditors/<account>.json         {"account_id": ..., "public_key": "ed25519:..."}

A manifest records what the plugin is (name, version, kind, requested capabilities), the exact
source it pins (path, size, sha256), the runtime it was checked on, and any attestations. The
runtime hash changes whenever the runtime is rebuilt, so runtime drift is reported, and is a
failure only in strict mode; a source that no longer matches its pin always fails.
"""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import msgspec

from .. import _guest
from .._codec import canonical, sha256_hex
from ..errors import IndexCheckFailed, InvalidKey, PluginError
from . import _attest, _keys
from ._attest import AccountId, Attestation, Sha256
from ._metadata import Inspected, inspect

__all__ = ["Manifest", "Index", "Checked", "load", "check", "update"]

MANIFESTS = "plugins"
AUDITORS = "auditors"


class Manifest(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    name: str
    version: str
    kind: Optional[str] = None
    path: str  # the source file, relative to the index's root (the folder holding registry/ and plugins/)
    size: int
    sha256: Sha256
    runtime_sha256: Sha256  # the runtime the plugin was checked on
    capabilities: tuple[str, ...] = ()
    attestations: tuple[Attestation, ...] = ()

    @property
    def filename(self) -> str:
        return f"{self.name}@{self.version}.json"


class AuditorKey(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    account_id: AccountId
    public_key: str


class Index(msgspec.Struct):
    directory: Path
    root: Path
    manifests: dict  # file name -> Manifest
    auditors: dict  # account id -> set of public keys


class Checked(msgspec.Struct):
    index: Index
    runtime_sha256: str
    problems: list  # each one fails the check
    drift: list  # plugins pinned on another runtime: a failure only when strict
    inspected: list  # (Manifest, Inspected) of every plugin whose pin holds
    strict: bool = False

    @property
    def ok(self) -> bool:
        return not self.problems and not (self.strict and self.drift)

    def raise_for_problems(self) -> None:
        failures = self.problems + (self.drift if self.strict else [])
        if failures:
            raise IndexCheckFailed(f"the index {self.index.directory} does not hold: " + "; ".join(failures),
                                   problems=tuple(failures))


def _decode(path: Path, type_: type, problems: list):
    try:
        return msgspec.json.decode(path.read_bytes(), type=type_)
    except (OSError, msgspec.DecodeError, msgspec.ValidationError) as e:
        problems.append(f"{path}: {e}")
        return None


def load(directory: Path, *, root: Optional[Path] = None, problems: Optional[list] = None) -> Index:
    """Read an index; unreadable files are appended to ``problems``."""
    problems = [] if problems is None else problems
    if not directory.is_dir():
        raise IndexCheckFailed(f"{directory} is not a directory", problems=(f"{directory} is not a directory",))
    manifests, auditors = {}, {}
    for path in sorted((directory / MANIFESTS).glob("*.json")):
        manifest = _decode(path, Manifest, problems)
        if manifest is not None:
            manifests[path.name] = manifest
    for path in sorted((directory / AUDITORS).glob("*")):
        if path.name.startswith(".") or path.name.lower().startswith("readme"):
            continue
        text = path.read_text(errors="replace")
        if "private_key" in text or "secret_key" in text:
            problems.append(f"{path} holds a private key: delete it from the index and rotate that key")
            continue
        entry = _decode(path, AuditorKey, problems)
        if entry is None:
            continue
        try:
            _keys.parse_public_key(entry.public_key)
        except InvalidKey as e:
            problems.append(f"{path}: {e}")
            continue
        auditors.setdefault(entry.account_id, set()).add(entry.public_key)
    return Index(directory, root if root is not None else directory.resolve().parent, manifests, auditors)


def sources(root: Path) -> list[Path]:
    """Every plugin source the index must pin: ``plugins/**/*.js``."""
    return sorted(p for p in (root / "plugins").rglob("*.js") if p.is_file())


def _rel(root: Path, path: Path) -> str:
    return path.resolve().relative_to(root.resolve()).as_posix()


def check(directory: Path, *, root: Optional[Path] = None, strict: bool = False, engine: str = "wasmer") -> Checked:
    """Check every pin of the index against the plugin sources. Never raises for a mismatch:
    read ``.problems`` / ``.drift`` or call ``.raise_for_problems()``."""
    problems: list[str] = []
    index = load(directory, root=root, problems=problems)
    runtime = _guest.runtime_sha256()
    checked = Checked(index, runtime, problems, [], [], strict)
    pinned: dict[str, str] = {}
    for filename, m in index.manifests.items():
        where = f"{MANIFESTS}/{filename}"
        if filename != m.filename:
            problems.append(f"{where} should be named {m.filename}")
        if m.path in pinned:
            problems.append(f"{where} pins {m.path}, which {pinned[m.path]} pins already")
        pinned[m.path] = where
        path = index.root / m.path
        try:
            source = path.read_bytes()
        except OSError:
            problems.append(f"{where} pins {m.path}, which does not exist")
            continue
        actual = sha256_hex(source)
        if actual != m.sha256:
            problems.append(f"{m.path} changed: it hashes to {actual}, pinned {m.sha256} "
                            "(re-audit it, then run `plugin-host index update`)")
            continue
        try:
            ins = inspect(source, engine=engine)
        except PluginError as e:
            problems.append(f"{m.path} no longer loads: {type(e).__name__}: {e}")
            continue
        expected = _manifest_for(index.root, path, ins, m.attestations)
        for field in ("name", "version", "kind", "size", "capabilities"):
            if getattr(m, field) != getattr(expected, field):
                problems.append(f"{where}: {field} is {getattr(m, field)!r}, the plugin says {getattr(expected, field)!r}")
        for att in m.attestations:
            try:
                _attest.verify_attestation(att, lambda a: index.auditors.get(a, set()), plugin_sha256=m.sha256)
            except PluginError as e:
                problems.append(f"{where}: an attestation by {att.statement.auditor!r} does not verify: "
                                f"{type(e).__name__}: {e}")
        if m.runtime_sha256 != runtime:
            checked.drift.append(f"{m.path} was checked on runtime {m.runtime_sha256[:12]}, this host runs "
                                 f"{runtime[:12]}")
        checked.inspected.append((m, ins))
    for path in sources(index.root):
        if _rel(index.root, path) not in pinned:
            problems.append(f"{_rel(index.root, path)} has no manifest (run `plugin-host index update`)")
    return checked


def _manifest_for(root: Path, path: Path, ins: Inspected, attestations: tuple) -> Manifest:
    meta = ins.metadata
    return Manifest(name=meta.name, version=meta.version, kind=meta.kind, path=_rel(root, path),
                    size=len(ins.source), sha256=ins.sha256, runtime_sha256=ins.runtime_sha256,
                    capabilities=meta.capabilities, attestations=attestations)


def _render(manifest: Manifest) -> bytes:
    return msgspec.json.format(canonical(manifest), indent=2) + b"\n"


def update(directory: Path, *, root: Optional[Path] = None, engine: str = "wasmer") -> list[str]:
    """Rewrite the manifests from the plugin sources. Attestations are kept while the hash
    they certify is unchanged. Writes nothing unless every plugin loads. Returns the changes."""
    problems: list[str] = []
    directory.mkdir(parents=True, exist_ok=True)
    index = load(directory, root=root, problems=problems)
    by_path = {m.path: m for m in index.manifests.values()}
    wanted: dict[str, Manifest] = {}
    changes: list[str] = []
    for path in sources(index.root):
        rel = _rel(index.root, path)
        try:
            ins = inspect(path.read_bytes(), engine=engine)
        except PluginError as e:
            problems.append(f"{rel}: {type(e).__name__}: {e}")
            continue
        old = by_path.get(rel)
        kept = tuple(a for a in (old.attestations if old else ()) if a.statement.plugin_sha256 == ins.sha256)
        if old and len(kept) < len(old.attestations):
            changes.append(f"{rel}: dropped {len(old.attestations) - len(kept)} attestation(s) of the old code")
        m = _manifest_for(index.root, path, ins, kept)
        if m.filename in wanted:
            problems.append(f"{rel}: {m.name}@{m.version} is also {wanted[m.filename].path}")
        wanted[m.filename] = m
    if problems:
        raise IndexCheckFailed("index update wrote nothing: " + "; ".join(problems), problems=tuple(problems))
    folder = directory / MANIFESTS
    folder.mkdir(parents=True, exist_ok=True)
    (directory / AUDITORS).mkdir(exist_ok=True)
    for filename, m in sorted(wanted.items()):
        target = folder / filename
        data = _render(m)
        if not target.exists() or target.read_bytes() != data:
            changes.append(f"{'updated' if target.exists() else 'added'} {MANIFESTS}/{filename} ({m.sha256[:12]})")
            tmp = target.with_suffix(".tmp")
            tmp.write_bytes(data)
            tmp.replace(target)
    for filename in sorted(set(index.manifests) - set(wanted)):
        (folder / filename).unlink()
        changes.append(f"removed {MANIFESTS}/{filename}")
    return changes
