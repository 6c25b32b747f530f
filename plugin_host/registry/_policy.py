"""The curation policy: which plugins a registry will run, and with which capabilities.

``decide`` is the one place the rule lives; activation, ``realm()``, ``call()`` and ``verify()``
all ask it.
"""

from __future__ import annotations

from typing import Annotated, Iterable

import msgspec

from .._realm import CAPABILITIES
from ..errors import ConfigurationError
from ._attest import AccountId, Attestation

__all__ = ["RegistryPolicy", "Decision", "decide", "granted_capabilities"]


class RegistryPolicy(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """A protocol's curation rule.

    - ``trusted_auditors``: the auditor ids whose verdicts count.
    - ``min_approvals``: how many trusted auditors must approve before a plugin may be activated
      (0: no audit needed, the default, for development).
    - ``allowed_capabilities``: the capabilities a plugin may be granted, if it requests them.
    - ``require_runtime_match``: count only approvals made on the runtime this host runs.

    A trusted auditor's latest verdict on a plugin is their verdict; any trusted rejection
    blocks the plugin, whatever the approvals.
    """

    trusted_auditors: tuple[AccountId, ...] = ()
    min_approvals: Annotated[int, msgspec.Meta(ge=0)] = 0
    allowed_capabilities: tuple[str, ...] = ()
    require_runtime_match: bool = False

    def __post_init__(self) -> None:
        # normalised so that equal policies have equal canonical bytes
        msgspec.structs.force_setattr(self, "trusted_auditors", tuple(sorted(set(self.trusted_auditors))))
        msgspec.structs.force_setattr(self, "allowed_capabilities", tuple(sorted(set(self.allowed_capabilities))))
        unknown = set(self.allowed_capabilities) - CAPABILITIES
        if unknown:
            raise ConfigurationError(f"policy allows unknown capabilities {sorted(unknown)}; "
                                     f"known: {sorted(CAPABILITIES)}")
        if type(self.min_approvals) is not int or self.min_approvals < 0:
            raise ConfigurationError(f"min_approvals must be an int >= 0, got {self.min_approvals!r}")
        if self.min_approvals > len(self.trusted_auditors):
            raise ConfigurationError(f"min_approvals={self.min_approvals} can never be met by "
                                     f"{len(self.trusted_auditors)} trusted auditor(s)")

    @classmethod
    def from_json(cls, data: bytes | str) -> "RegistryPolicy":
        try:
            return msgspec.json.decode(data, type=cls)
        except (msgspec.ValidationError, msgspec.DecodeError) as e:
            raise ConfigurationError(f"invalid policy: {e}") from None


class Decision(msgspec.Struct, frozen=True):
    approvals: tuple[str, ...]  # trusted auditors whose latest verdict approves
    rejections: tuple[str, ...]  # trusted auditors whose latest verdict rejects
    reasons: tuple[str, ...]  # why the policy is not met; empty when it is

    @property
    def allowed(self) -> bool:
        return not self.reasons


def decide(policy: RegistryPolicy, valid: Iterable[Attestation], runtime_sha256: str) -> Decision:
    """The policy's verdict on a plugin, given its attestations that verified."""
    trusted = set(policy.trusted_auditors)
    latest: dict[str, Attestation] = {}
    # by time; at equal times a rejection wins
    for att in sorted(valid, key=lambda a: (a.statement.timestamp, a.statement.verdict == "rejected")):
        if att.statement.auditor in trusted:
            latest[att.statement.auditor] = att
    rejections = tuple(sorted(a for a, att in latest.items() if att.statement.verdict == "rejected"))
    approvals = tuple(sorted(
        a for a, att in latest.items() if att.statement.verdict == "approved"
        and (not policy.require_runtime_match or att.statement.runtime_sha256 == runtime_sha256)))
    reasons = []
    if rejections:
        reasons.append(f"rejected by trusted auditor(s): {', '.join(rejections)}")
    if len(approvals) < policy.min_approvals:
        on = " on this runtime" if policy.require_runtime_match else ""
        reasons.append(f"needs {policy.min_approvals} approval(s) from trusted auditors{on}, has {len(approvals)}")
    return Decision(approvals, rejections, tuple(reasons))


def granted_capabilities(policy: RegistryPolicy, requested: Iterable[str]) -> frozenset[str]:
    """What a plugin gets: what it asked for, as far as the policy allows. Nothing else."""
    return frozenset(requested) & frozenset(policy.allowed_capabilities)
