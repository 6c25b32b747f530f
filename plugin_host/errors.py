"""Typed errors. Every failure the host reports is a subclass of :class:`PluginError`.

Errors raised by a call carry the call's receipt (``err.receipt``), so a protocol can record a
failed call as faithfully as a successful one; errors raised while loading a plugin have
``receipt = None``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Optional

if TYPE_CHECKING:
    from ._receipt import Receipt

__all__ = [
    "PluginError",
    "ConfigurationError",
    "RuntimeUnavailable",
    "PluginSyntaxError",
    "PluginException",
    "NoSuchExport",
    "InvalidInput",
    "InputTooLarge",
    "InvalidOutput",
    "OutputTooLarge",
    "OutOfGas",
    "MemoryLimitExceeded",
    "StackOverflow",
    "CapabilityDenied",
    "LogLimitExceeded",
    "GuestFault",
]


class PluginError(Exception):
    """Base class of every error plugin-host raises."""

    receipt: Optional["Receipt"] = None

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


class ConfigurationError(PluginError):
    """The host was asked for something impossible: an unknown engine, a limit out of range,
    an unknown capability."""


class RuntimeUnavailable(PluginError):
    """The guest runtime (the QuickJS wasm) is missing or cannot be loaded. Build it with
    ``make`` or ``python runtime/build.py``."""


class PluginSyntaxError(PluginError):
    """The source is not a loadable ES module: a syntax error, not UTF-8, or too large."""


class PluginException(PluginError):
    """The plugin threw. ``js_name`` / ``js_message`` / ``js_stack`` are what it threw."""

    def __init__(self, message: str, *, js_name: str = "", js_message: str = "", js_stack: str = ""):
        super().__init__(message)
        self.js_name = js_name
        self.js_message = js_message
        self.js_stack = js_stack


class NoSuchExport(PluginError):
    """The plugin has no exported function of that name."""

    def __init__(self, message: str, *, name: str):
        super().__init__(message)
        self.name = name


class InvalidInput(PluginError):
    """The input cannot cross into the realm (a type with no JS counterpart, NaN, a lone
    surrogate, nesting too deep)."""


class InputTooLarge(InvalidInput):
    """The encoded input is over the realm's input limit."""

    def __init__(self, message: str, *, limit: int):
        super().__init__(message)
        self.limit = limit


class InvalidOutput(PluginError):
    """The plugin returned something that cannot cross back (a function, a cycle, NaN, a
    class instance, a getter, a promise that never settled)."""


class OutputTooLarge(InvalidOutput):
    """The encoded output is over the realm's output limit."""

    def __init__(self, message: str, *, limit: int):
        super().__init__(message)
        self.limit = limit


class OutOfGas(PluginError):
    """The call used its whole gas budget. ``gas_limit`` is that budget."""

    def __init__(self, message: str, *, gas_limit: int):
        super().__init__(message)
        self.gas_limit = gas_limit


class MemoryLimitExceeded(PluginError):
    """The plugin needed more JS heap than the realm allows."""

    def __init__(self, message: str, *, memory_limit: int):
        super().__init__(message)
        self.memory_limit = memory_limit


class StackOverflow(PluginError):
    """The plugin recursed past the realm's stack limit."""


class CapabilityDenied(PluginError):
    """The plugin used a capability the realm was not granted (``capability`` names it), or
    tried to import a module."""

    def __init__(self, message: str, *, capability: str):
        super().__init__(message)
        self.capability = capability


class LogLimitExceeded(PluginError):
    """The plugin wrote more console output than the realm's log limit."""

    def __init__(self, message: str, *, limit: int):
        super().__init__(message)
        self.limit = limit


class GuestFault(PluginError):
    """The guest stopped for a reason that is not the plugin's doing (an engine or harness
    fault). The realm recovers with a fresh instance; please report it."""


# ---- the plugin registry (plugin_host.registry) -------------------------------------------


class RegistryError(PluginError):
    """Base of the registry's errors; raised as itself when the registry's database cannot be
    opened, is not a plugin-host registry, or is from a newer plugin-host."""


class InvalidMetadata(RegistryError):
    """The plugin's ``export const metadata`` is missing or does not meet the schema."""


class SourceTooLarge(RegistryError):
    """The plugin source is over the registry's size limit (``limit`` bytes)."""

    def __init__(self, message: str, *, limit: int):
        super().__init__(message)
        self.limit = limit


class HashMismatch(RegistryError):
    """A sha256 is not the one it was pinned to: ``expected`` vs ``actual``. Raised for an
    install with the wrong ``expected_sha256``, a stored source that no longer hashes to its
    pin (the database was tampered with), or an attestation about another plugin."""

    def __init__(self, message: str, *, expected: str, actual: str):
        super().__init__(message)
        self.expected = expected
        self.actual = actual


class VersionConflict(RegistryError):
    """``name@version`` is already installed with different code (``installed_sha256``): an
    upgrade is a new version, never an in-place change."""

    def __init__(self, message: str, *, name: str, version: str, installed_sha256: str):
        super().__init__(message)
        self.name = name
        self.version = version
        self.installed_sha256 = installed_sha256


class NotFound(RegistryError):
    """No installed plugin matches ``ref`` (a sha256 or ``name@version``)."""

    def __init__(self, message: str, *, ref: str):
        super().__init__(message)
        self.ref = ref


class PluginInactive(RegistryError):
    """The plugin is installed but not active, so the registry will not run it."""

    def __init__(self, message: str, *, sha256: str):
        super().__init__(message)
        self.sha256 = sha256


class PolicyViolation(RegistryError):
    """The plugin does not meet the registry's curation policy; ``reasons`` says why."""

    def __init__(self, message: str, *, reasons: "tuple[str, ...]" = ()):
        super().__init__(message)
        self.reasons = tuple(reasons)


class InvalidKey(RegistryError):
    """A key is not in NEAR's text format (``ed25519:<base58>``) or is inconsistent."""


class BadSignature(RegistryError):
    """An attestation's signature does not verify over its statement."""


class UnknownAuditor(RegistryError):
    """The attestation's auditor, or its public key, is not registered with the registry."""

    def __init__(self, message: str, *, auditor: str):
        super().__init__(message)
        self.auditor = auditor


class IndexCheckFailed(RegistryError):
    """The curated index (``registry/``) does not match the plugins it pins; ``problems``
    lists every mismatch."""

    def __init__(self, message: str, *, problems: "tuple[str, ...]" = ()):
        super().__init__(message)
        self.problems = tuple(problems)


__all__ += [
    "RegistryError",
    "InvalidMetadata",
    "SourceTooLarge",
    "HashMismatch",
    "VersionConflict",
    "NotFound",
    "PluginInactive",
    "PolicyViolation",
    "InvalidKey",
    "BadSignature",
    "UnknownAuditor",
    "IndexCheckFailed",
]


# ---- validation hooks and the reference DEX (plugin_host.validation, plugin_host.dex) -------


class ValidationFailed(PluginError):
    """A plugin's answer broke one of the protocol's validation rules: ``rule`` names it,
    ``values`` holds the numbers it looked at. ``receipt`` is the call that produced the answer.
    Nothing was settled."""

    def __init__(self, message: str, *, rule: str, values: "Optional[dict]" = None):
        super().__init__(message)
        self.rule = rule
        self.values = dict(values or {})


class DexError(PluginError):
    """Base of the reference DEX's errors; raised as itself for a request that names an unknown
    pool, plugin or token, or that is malformed (a negative amount, a pool priced by another
    plugin). Nothing was changed."""


class NotAuthorized(DexError):
    """``caller`` may not do this (only the DEX's owner installs plugins and manages pools)."""

    def __init__(self, message: str, *, caller: str):
        super().__init__(message)
        self.caller = caller


class InsufficientFunds(DexError):
    """``account`` holds ``available`` of ``token`` (tokens, or LP shares of a pool), and the
    operation needs ``needed``. Nothing was changed."""

    def __init__(self, message: str, *, account: str, token: str, needed: int, available: int):
        super().__init__(message)
        self.account = account
        self.token = token
        self.needed = needed
        self.available = available


class ReplayMismatch(DexError):
    """A recorded swap does not stand up: re-running its pinned plugin on its recorded input
    gave another answer or gas, or the record was altered after it was written. ``problems``
    lists every discrepancy."""

    def __init__(self, message: str, *, swap_id: int, problems: "tuple[str, ...]" = ()):
        super().__init__(message)
        self.swap_id = swap_id
        self.problems = tuple(problems)


__all__ += [
    "ValidationFailed",
    "DexError",
    "NotAuthorized",
    "InsufficientFunds",
    "ReplayMismatch",
]


# ---- the NEAR tie-in (plugin_host.near) ---------------------------------------------------


class NearError(PluginError):
    """Base of the NEAR tie-in's errors (``plugin_host.near``)."""


class NearUnavailable(NearError):
    """The optional NEAR client is not installed: ``pip install 'plugin-host[near]'``."""


class NearRpcError(NearError):
    """The NEAR RPC node could not be reached, or answered with an error (``cause`` is NEAR's
    error name, like ``UNKNOWN_ACCOUNT``, or ``UNREACHABLE`` when no answer came)."""

    def __init__(self, message: str, *, url: str, cause: str = ""):
        super().__init__(message)
        self.url = url
        self.cause = cause


class NearTransactionFailed(NearError):
    """The transaction was accepted and executed, but failed on chain; ``tx_hash`` names it and
    ``failure`` is NEAR's failure object."""

    def __init__(self, message: str, *, tx_hash: str, failure: "Optional[dict]" = None):
        super().__init__(message)
        self.tx_hash = tx_hash
        self.failure = dict(failure or {})


__all__ += ["NearError", "NearUnavailable", "NearRpcError", "NearTransactionFailed"]
