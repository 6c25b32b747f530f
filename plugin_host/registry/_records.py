"""What the registry hands back: plain, frozen msgspec Structs (``--json`` prints them as is)."""

from __future__ import annotations

from typing import Optional

import msgspec

from ._attest import Attestation

__all__ = ["PluginRecord", "Usage", "Auditor", "AttestationCheck", "Verification"]


class PluginRecord(msgspec.Struct, frozen=True, kw_only=True):
    """An installed plugin. Its source is ``registry.source(ref)``."""

    sha256: str
    name: str
    version: str
    kind: Optional[str]
    author: str
    license: str
    description: str
    capabilities: tuple[str, ...]  # requested by the metadata; granted only as the policy allows
    exports: tuple[str, ...]
    metadata: dict  # the plugin's whole metadata object
    size: int
    runtime_sha256: str  # the runtime it was checked on at install
    active: bool
    installed_at: int

    @property
    def ref(self) -> str:
        return f"{self.name}@{self.version}"


class Usage(msgspec.Struct, frozen=True):
    plugin_sha256: str
    calls: int
    failures: int
    gas_used: int


class Auditor(msgspec.Struct, frozen=True):
    auditor: str
    public_key: str
    added_at: int


class AttestationCheck(msgspec.Struct, frozen=True):
    attestation: Attestation
    valid: bool
    problem: str = ""


class Verification(msgspec.Struct, frozen=True, kw_only=True):
    """Every stored attestation of a plugin re-verified, and the policy's verdict."""

    plugin_sha256: str
    runtime_sha256: str  # the runtime this host runs
    checks: tuple[AttestationCheck, ...]
    approvals: tuple[str, ...]
    rejections: tuple[str, ...]
    reasons: tuple[str, ...]  # why the policy is not met; empty when it is
    meets_policy: bool
