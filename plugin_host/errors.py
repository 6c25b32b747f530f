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
