"""PluginRegistry: a protocol's installed plugins, pinned by hash, curated by policy."""

from __future__ import annotations

import collections
import os
import re
import threading
import time
from pathlib import Path
from typing import Any, Optional, Union

import msgspec

from .. import _guest
from .._codec import canonical, sha256_hex
from .._realm import FrozenRealm
from .._result import CallResult
from .._receipt import MAX_SOURCE_BYTES, Receipt
from ..errors import (
    BadSignature,
    ConfigurationError,
    HashMismatch,
    NotFound,
    PluginError,
    PluginInactive,
    PolicyViolation,
    RegistryError,
    UnknownAuditor,
    VersionConflict,
)
from . import _attest, _index, _keys
from ._attest import AccountId, Attestation
from ._metadata import Inspected, inspect, semver_key, source_bytes
from ._policy import RegistryPolicy, decide, granted_capabilities
from ._records import AttestationCheck, Auditor, PluginRecord, Usage, Verification
from ._store import Store

__all__ = ["PluginRegistry", "PluginRecord", "Usage", "Auditor", "AttestationCheck", "Verification"]

_SHA256 = re.compile(r"^[0-9a-f]{64}$")
_COLUMNS = "sha256, name, version, metadata, exports, length(source), runtime_sha256, active, installed_at"
_REALMS_PER_THREAD = 16


class _Grant(msgspec.Struct, frozen=True):
    record: PluginRecord
    capabilities: frozenset


def _sha_arg(value: Any, what: str) -> str:
    if not isinstance(value, str) or not _SHA256.match(value.lower()):
        raise ConfigurationError(f"{what} must be a sha256 (64 hex digits), got {value!r}")
    return value.lower()


class PluginRegistry:
    """Installed plugins in one SQLite database (``":memory:"`` for tests).

        reg = PluginRegistry(":memory:")
        rec = reg.install(source)                 # checked and stored, inactive
        reg.activate(rec.sha256)                  # if the policy allows
        reg.call("uniswap-v2@1.0.0", "getAmountOut", {...}, sha256=rec.sha256)

    A reference (``ref``) is a plugin's sha256 or ``name@version``; pass ``sha256=`` to
    ``realm()`` / ``call()`` to pin a name to exact code. Thread-safe; realms are cached per
    thread because wasmer realms belong to the thread that made them.
    """

    def __init__(self, path: Union[str, os.PathLike], *, engine: str = "wasmer",
                 max_source_bytes: int = MAX_SOURCE_BYTES):
        self.path = str(path)
        self.engine = engine
        self.max_source_bytes = max_source_bytes
        self._store = Store(path)
        self._local = threading.local()
        self._grants: dict = {}
        self._grants_version: Any = None

    def close(self) -> None:
        self._store.close()

    def __enter__(self) -> "PluginRegistry":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"<PluginRegistry {self.path}>"

    # ---- installing and looking up -----------------------------------------------------------

    def install(self, source: Union[str, bytes], *, expected_sha256: Optional[str] = None) -> PluginRecord:
        """Check and store a plugin (inactive). Installing the same bytes again returns the
        existing record. Nothing is written unless every check passes."""
        data = source_bytes(source, self.max_source_bytes)
        sha = sha256_hex(data)
        if expected_sha256 is not None:
            expected = _sha_arg(expected_sha256, "expected_sha256")
            if expected != sha:
                raise HashMismatch(f"the source hashes to {sha}, not the expected {expected}",
                                   expected=expected, actual=sha)
        existing = self._find(sha)
        if existing is not None:
            return existing
        inspected = inspect(data, engine=self.engine)
        with self._store.write() as c:
            self._insert(c, inspected)
        return self.get(sha)

    def _insert(self, c, ins: Inspected) -> None:
        m = ins.metadata
        row = c.execute("SELECT sha256 FROM plugins WHERE name = ? AND version = ?", (m.name, m.version)).fetchone()
        if row and row[0] == ins.sha256:
            return  # the same bytes, installed meanwhile
        if row:
            raise VersionConflict(f"{m.name}@{m.version} is already installed with other code ({row[0]}); "
                                  "an upgrade needs a new version", name=m.name, version=m.version,
                                  installed_sha256=row[0])
        c.execute("INSERT INTO plugins (sha256, name, version, kind, capabilities, exports, metadata, source, "
                  "runtime_sha256, active, installed_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 0, ?)",
                  (ins.sha256, m.name, m.version, m.kind, canonical(list(m.capabilities)).decode(),
                   canonical(list(ins.exports)).decode(), canonical(ins.raw_metadata), ins.source,
                   ins.runtime_sha256, int(time.time())))

    @staticmethod
    def _record(row: tuple) -> PluginRecord:
        sha, name, version, meta_blob, exports, size, runtime, active, installed_at = row
        meta = msgspec.json.decode(meta_blob)
        return PluginRecord(sha256=sha, name=name, version=version, kind=meta.get("kind"),
                            author=meta.get("author", ""), license=meta.get("license", ""),
                            description=meta.get("description", ""),
                            capabilities=tuple(sorted(meta.get("capabilities") or ())),
                            exports=tuple(msgspec.json.decode(exports)), metadata=meta, size=size,
                            runtime_sha256=runtime, active=bool(active), installed_at=installed_at)

    def _find(self, sha: str) -> Optional[PluginRecord]:
        rows = self._store.read(f"SELECT {_COLUMNS} FROM plugins WHERE sha256 = ?", (sha,))
        return self._record(rows[0]) if rows else None

    def get(self, ref: Union[str, PluginRecord]) -> PluginRecord:
        """The plugin ``ref`` names: a sha256 (64 hex digits) or ``name@version``."""
        if isinstance(ref, PluginRecord):
            ref = ref.sha256
        if not isinstance(ref, str):
            raise NotFound(f"a plugin reference is a str, not {type(ref).__name__}", ref=repr(ref))
        if _SHA256.match(ref.lower()):
            rows = self._store.read(f"SELECT {_COLUMNS} FROM plugins WHERE sha256 = ?", (ref.lower(),))
        elif "@" in ref:
            name, _, version = ref.rpartition("@")
            rows = self._store.read(f"SELECT {_COLUMNS} FROM plugins WHERE name = ? AND version = ?", (name, version))
        else:
            raise NotFound(f"{ref!r} is not a plugin reference: use a sha256 (64 hex digits) or name@version",
                           ref=ref)
        if not rows:
            raise NotFound(f"no plugin {ref} is installed", ref=ref)
        return self._record(rows[0])

    def list(self, *, name: Optional[str] = None, active: Optional[bool] = None) -> list[PluginRecord]:
        """Installed plugins by name, then version (semver order)."""
        where, params = [], []
        if name is not None:
            where.append("name = ?")
            params.append(name)
        if active is not None:
            where.append("active = ?")
            params.append(int(active))
        sql = f"SELECT {_COLUMNS} FROM plugins" + (" WHERE " + " AND ".join(where) if where else "")
        records = [self._record(r) for r in self._store.read(sql, tuple(params))]
        return sorted(records, key=lambda r: (r.name, semver_key(r.version)))

    def source(self, ref: Union[str, PluginRecord]) -> bytes:
        """The plugin's exact source, re-verified against its sha256."""
        return self._verified_source(self.get(ref).sha256)

    def _verified_source(self, sha: str) -> bytes:
        rows = self._store.read("SELECT source FROM plugins WHERE sha256 = ?", (sha,))
        if not rows:
            raise NotFound(f"no plugin {sha} is installed", ref=sha)
        actual = sha256_hex(bytes(rows[0][0]))
        if actual != sha:
            raise HashMismatch(f"the stored source of plugin {sha} hashes to {actual}: the registry database "
                               "was modified outside plugin-host; refusing to run it", expected=sha, actual=actual)
        return bytes(rows[0][0])

    # ---- lifecycle ---------------------------------------------------------------------------

    def activate(self, ref: Union[str, PluginRecord]) -> PluginRecord:
        """Allow the plugin to run. Raises PolicyViolation unless it meets the policy."""
        rec = self.get(ref)
        with self._store.write() as c:
            verification = self._verification(rec.sha256)  # inside the transaction: no audit can slip by
            if not verification.meets_policy:
                raise PolicyViolation(f"{rec.ref} ({rec.sha256[:12]}) does not meet the registry policy: "
                                      + "; ".join(verification.reasons), reasons=verification.reasons)
            c.execute("UPDATE plugins SET active = 1 WHERE sha256 = ?", (rec.sha256,))
        return self.get(rec.sha256)

    def deactivate(self, ref: Union[str, PluginRecord]) -> PluginRecord:
        rec = self.get(ref)
        with self._store.write() as c:
            c.execute("UPDATE plugins SET active = 0 WHERE sha256 = ?", (rec.sha256,))
        return self.get(rec.sha256)

    def uninstall(self, ref: Union[str, PluginRecord]) -> PluginRecord:
        """Remove the plugin's code. Its attestations and usage ledger stay: they are facts
        about a hash, and come back with the same bytes."""
        rec = self.get(ref)
        with self._store.write() as c:
            c.execute("DELETE FROM plugins WHERE sha256 = ?", (rec.sha256,))
        return msgspec.structs.replace(rec, active=False)

    # ---- policy and auditors -----------------------------------------------------------------

    @property
    def policy(self) -> RegistryPolicy:
        rows = self._store.read("SELECT body FROM policy WHERE id = 1")
        return RegistryPolicy.from_json(rows[0][0]) if rows else RegistryPolicy()

    def set_policy(self, policy: RegistryPolicy) -> RegistryPolicy:
        """Replace the policy. Active plugins that no longer meet it stay marked active but
        are refused by ``realm()`` and ``call()`` until they do."""
        if not isinstance(policy, RegistryPolicy):
            raise ConfigurationError(f"set_policy takes a RegistryPolicy, not {type(policy).__name__}")
        policy = RegistryPolicy.from_json(canonical(policy))  # constraints are checked on decode
        with self._store.write() as c:
            c.execute("INSERT OR REPLACE INTO policy (id, body) VALUES (1, ?)", (canonical(policy),))
        return policy

    def add_auditor(self, auditor: str, public_key: str) -> Auditor:
        """Register one of an auditor's public keys (NEAR format). Idempotent."""
        try:
            auditor = msgspec.convert(auditor, AccountId)
        except msgspec.ValidationError:
            raise ConfigurationError(f"auditor id {auditor!r} is not a NEAR account id (like 'auditor.near')") from None
        _keys.parse_public_key(public_key)
        with self._store.write() as c:
            self._insert_auditor(c, auditor, public_key)
        return next(a for a in self.auditors() if a.auditor == auditor and a.public_key == public_key)

    @staticmethod
    def _insert_auditor(c, auditor: str, public_key: str) -> None:
        c.execute("INSERT OR IGNORE INTO auditors (auditor, public_key, added_at) VALUES (?, ?, ?)",
                  (auditor, public_key, int(time.time())))

    def remove_auditor(self, auditor: str, public_key: Optional[str] = None) -> int:
        """Forget an auditor's key (or all their keys). Their attestations no longer count.
        Returns how many keys were removed."""
        with self._store.write() as c:
            if public_key is None:
                return c.execute("DELETE FROM auditors WHERE auditor = ?", (auditor,)).rowcount
            return c.execute("DELETE FROM auditors WHERE auditor = ? AND public_key = ?",
                             (auditor, public_key)).rowcount

    def auditors(self) -> list[Auditor]:
        return [Auditor(*r) for r in self._store.read(
            "SELECT auditor, public_key, added_at FROM auditors ORDER BY auditor, public_key")]

    def _keys_of(self, auditor: str) -> set[str]:
        return {r[0] for r in self._store.read("SELECT public_key FROM auditors WHERE auditor = ?", (auditor,))}

    # ---- attestations ------------------------------------------------------------------------

    def attest(self, ref: Union[str, PluginRecord], secret_key: str, *, auditor: str, verdict: str, report: str,
               timestamp: Optional[int] = None, scheme: str = "ed25519") -> Attestation:
        """Sign a statement about the plugin on this host's runtime, and store it. ``scheme``:
        ``"ed25519"`` (the canonical bytes) or ``"nep413"`` (as a NEAR wallet signs a message)."""
        rec = self.get(ref)
        statement = _attest.make_statement(plugin_sha256=rec.sha256, runtime_sha256=_guest.runtime_sha256(),
                                           verdict=verdict, report=report, auditor=auditor, timestamp=timestamp)
        return self.add_attestation(_attest.sign(statement, secret_key, scheme=scheme))

    def add_attestation(self, attestation: Attestation) -> Attestation:
        """Verify an attestation signed elsewhere and store it. Idempotent. Raises
        UnknownAuditor, BadSignature, or NotFound when its plugin is not installed."""
        if not isinstance(attestation, Attestation):
            raise BadSignature(f"not an Attestation: {type(attestation).__name__}")
        att = _attest.decode_attestation(canonical(attestation))  # constraints are checked on decode
        self.get(att.statement.plugin_sha256)
        with self._store.write() as c:
            self._insert_attestation(c, att)
        return att

    def _insert_attestation(self, c, att: Attestation) -> None:
        self.verify_attestation(att)
        st = att.statement
        c.execute("INSERT OR IGNORE INTO attestations (digest, plugin_sha256, auditor, verdict, timestamp, body) "
                  "VALUES (?, ?, ?, ?, ?, ?)",
                  (att.digest(), st.plugin_sha256, st.auditor, st.verdict, st.timestamp, canonical(att)))

    def verify_attestation(self, attestation: Attestation, *, plugin_sha256: Optional[str] = None) -> None:
        """Raises UnknownAuditor, BadSignature or HashMismatch unless the attestation is
        signed by a registered key of its auditor (and, if given, is about ``plugin_sha256``)."""
        _attest.verify_attestation(attestation, self._keys_of, plugin_sha256=plugin_sha256)

    def attestations(self, ref: Union[str, PluginRecord]) -> list[Attestation]:
        """The plugin's stored attestations, oldest first (not re-verified: see ``verify``)."""
        sha = ref if isinstance(ref, str) and _SHA256.match(ref.lower()) else self.get(ref).sha256
        rows = self._store.read("SELECT body FROM attestations WHERE plugin_sha256 = ? ORDER BY timestamp, digest",
                                (sha.lower(),))
        out = []
        for (body,) in rows:
            try:
                out.append(_attest.decode_attestation(body))
            except BadSignature:
                continue  # a damaged row is not an attestation; verify() cannot count it either
        return out

    def verify(self, ref: Union[str, PluginRecord]) -> Verification:
        """Re-verify every stored attestation of the plugin and apply the policy."""
        return self._verification(self.get(ref).sha256)

    def _verification(self, sha: str) -> Verification:
        runtime = _guest.runtime_sha256()
        checks = []
        for att in self.attestations(sha):
            try:
                self.verify_attestation(att, plugin_sha256=sha)
                checks.append(AttestationCheck(att, True))
            except (BadSignature, UnknownAuditor, HashMismatch) as e:
                checks.append(AttestationCheck(att, False, f"{type(e).__name__}: {e}"))
        d = decide(self.policy, [c.attestation for c in checks if c.valid], runtime)
        return Verification(plugin_sha256=sha, runtime_sha256=runtime, checks=tuple(checks), approvals=d.approvals,
                            rejections=d.rejections, reasons=d.reasons, meets_policy=d.allowed)

    # ---- running -----------------------------------------------------------------------------

    def _authorize(self, ref: Union[str, PluginRecord], sha256: Optional[str]) -> _Grant:
        rec = self.get(ref)
        if sha256 is not None:
            pin = _sha_arg(sha256, "sha256")
            if pin != rec.sha256:
                raise HashMismatch(f"{ref} is {rec.sha256}, not the pinned {pin}", expected=pin, actual=rec.sha256)
        if not rec.active:
            raise PluginInactive(f"{rec.ref} ({rec.sha256[:12]}) is not active: activate it first", sha256=rec.sha256)
        verification = self._verification(rec.sha256)
        if not verification.meets_policy:
            raise PolicyViolation(f"{rec.ref} ({rec.sha256[:12]}) no longer meets the registry policy: "
                                  + "; ".join(verification.reasons), reasons=verification.reasons)
        return _Grant(rec, granted_capabilities(self.policy, rec.capabilities))

    def realm(self, ref: Union[str, PluginRecord], *, sha256: Optional[str] = None, engine: Optional[str] = None,
              **limits: int) -> FrozenRealm:
        """A new FrozenRealm for an active plugin that meets the policy, from its re-verified
        source, granted the capabilities it requests that the policy allows. ``limits`` are
        FrozenRealm's (``gas_limit=``, ``memory_limit=``, ...)."""
        return self._open_realm(self._authorize(ref, sha256), engine or self.engine, limits)

    def _open_realm(self, grant: _Grant, engine: str, limits: dict) -> FrozenRealm:
        if "capabilities" in limits:
            raise ConfigurationError("a registry realm's capabilities come from the policy, not the caller")
        rec = grant.record
        resolver = None
        if "compose" in grant.capabilities:
            # a composed plugin is pinned by its sha256 and authorized like any other: active,
            # within the policy, its stored source re-verified
            def resolver(sha: str) -> FrozenRealm:
                return self._cached_realm(self._cached_grant(sha, sha), engine, limits)
        realm = FrozenRealm(self._verified_source(rec.sha256), engine=engine, capabilities=grant.capabilities,
                            resolver=resolver, **limits)
        if canonical(realm.metadata) != canonical(rec.metadata):
            raise RegistryError(f"the stored metadata of {rec.sha256} differs from what its source exports: "
                                "the registry database was modified outside plugin-host")
        return realm

    def call(self, ref: Union[str, PluginRecord], function: str, data: Any = None, *,
             sha256: Optional[str] = None, engine: Optional[str] = None, gas_limit: Optional[int] = None,
             **limits: int) -> CallResult:
        """``realm(ref).call(function, data)`` on a cached realm, recorded in the usage ledger
        (failed calls too: they used gas). Raises what the call raises."""
        grant = self._cached_grant(ref, sha256)
        realm = self._cached_realm(grant, engine or self.engine, limits)
        try:
            result = realm.call(function, data, gas_limit=gas_limit)
        except PluginError as e:
            if e.receipt is not None:
                self._log_call(e.receipt)
            raise
        self._log_call(result.receipt)
        return result

    def _cached_grant(self, ref: Union[str, PluginRecord], sha256: Optional[str]) -> _Grant:
        key = (ref.sha256 if isinstance(ref, PluginRecord) else ref, sha256)
        with self._store.lock:
            version = self._store.version()
            if version != self._grants_version:  # anything committed since may change the answer
                self._grants.clear()
                self._grants_version = version
            grant = self._grants.get(key)
            if grant is None:
                grant = self._grants[key] = self._authorize(ref, sha256)
            return grant

    def _cached_realm(self, grant: _Grant, engine: str, limits: dict) -> FrozenRealm:
        realms = getattr(self._local, "realms", None)
        if realms is None:
            realms = self._local.realms = collections.OrderedDict()
        key = (grant.record.sha256, grant.capabilities, engine, tuple(sorted(limits.items())))
        realm = realms.get(key)
        if realm is None:
            realm = realms[key] = self._open_realm(grant, engine, limits)
            while len(realms) > _REALMS_PER_THREAD:
                realms.popitem(last=False)
        realms.move_to_end(key)
        return realm

    def _log_call(self, receipt: Receipt) -> None:
        # composed calls count for the composed plugin too (royalties are per use)
        rows = [(receipt.plugin_sha256, receipt.function, receipt.gas_used, int(receipt.error is None),
                 receipt.error.type if receipt.error else None, receipt.digest(), receipt.to_json())]
        rows += [(sub.plugin_sha256, sub.function, sub.gas_used, int(sub.error is None),
                  sub.error.type if sub.error else None, sub.receipt_digest, canonical(sub))
                 for sub in receipt.calls]
        now = int(time.time())
        with self._store.write(invalidates=False) as c:
            c.executemany("INSERT INTO calls (plugin_sha256, function, gas_used, ok, error, receipt_digest, receipt, at) "
                          "VALUES (?, ?, ?, ?, ?, ?, ?, ?)", [row + (now,) for row in rows])

    def usage(self, ref: Union[str, PluginRecord]) -> Usage:
        """Calls, failures and gas from the ledger. A sha256 works after an uninstall too."""
        sha = ref.lower() if isinstance(ref, str) and _SHA256.match(ref.lower()) else self.get(ref).sha256
        calls, failures, gas = self._store.read(
            "SELECT count(*), coalesce(sum(1 - ok), 0), coalesce(sum(gas_used), 0) FROM calls "
            "WHERE plugin_sha256 = ?", (sha,))[0]
        return Usage(sha, calls, failures, gas)

    # ---- the curated index ---------------------------------------------------------------------

    def import_index(self, path: Union[str, os.PathLike], *, root: Union[str, os.PathLike, None] = None
                     ) -> list[PluginRecord]:
        """Install a curated index (``registry/``): its auditors' keys, every plugin it pins
        (each verified against its sha256) and their attestations, in one transaction.
        Plugins are installed inactive. Raises IndexCheckFailed when any pin does not hold."""
        checked = _index.check(Path(path), root=None if root is None else Path(root), strict=False,
                               engine=self.engine)
        checked.raise_for_problems()
        with self._store.write() as c:
            for auditor, keys in checked.index.auditors.items():
                for key in keys:
                    self._insert_auditor(c, auditor, key)
            for manifest, inspected in checked.inspected:
                self._insert(c, inspected)
                for att in manifest.attestations:
                    self._insert_attestation(c, att)
        return [self.get(m.sha256) for m, _ in checked.inspected]
