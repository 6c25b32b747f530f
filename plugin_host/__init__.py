"""plugin-host: run third-party JavaScript plugins as pure, deterministic, metered functions.

    from plugin_host import FrozenRealm
    realm = FrozenRealm(source)
    result = realm.call("calculateSwap", {...})
    result.output, result.gas_used, result.receipt

The security model in five nouns: a *realm* is a frozen JS world with no *capability* unless
granted; every call pays *gas*; every call yields a *receipt*; every plugin and runtime is
*pinned* by sha256.
"""

from . import errors
from ._realm import CAPABILITIES, CallResult, FrozenRealm
from ._receipt import DEFAULT_GAS_LIMIT, Limits, Receipt, ReceiptError
from .errors import (
    CapabilityDenied,
    ConfigurationError,
    GuestFault,
    InputTooLarge,
    InvalidInput,
    InvalidOutput,
    LogLimitExceeded,
    MemoryLimitExceeded,
    NoSuchExport,
    OutOfGas,
    OutputTooLarge,
    PluginError,
    PluginException,
    PluginSyntaxError,
    RuntimeUnavailable,
    StackOverflow,
)
from .errors import (
    BadSignature,
    HashMismatch,
    IndexCheckFailed,
    InvalidKey,
    InvalidMetadata,
    NotFound,
    PluginInactive,
    PolicyViolation,
    RegistryError,
    SourceTooLarge,
    UnknownAuditor,
    VersionConflict,
)
from .registry import Attestation, PluginRecord, PluginRegistry, RegistryPolicy
from .errors import DexError, InsufficientFunds, NotAuthorized, ReplayMismatch, ValidationFailed
from .validation import FeeTreatment, Rule, SwapQuote, SwapRequest, Validator, default_rules, parse_output
from .dex import ExtensibleDex, Hop, Pool, Replay, SwapRecord

__version__ = "0.1.0"

__all__ = [
    "FrozenRealm",
    "CallResult",
    "Receipt",
    "ReceiptError",
    "Limits",
    "CAPABILITIES",
    "DEFAULT_GAS_LIMIT",
    "errors",
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
    "PluginRegistry",
    "RegistryPolicy",
    "PluginRecord",
    "Attestation",
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
    "ValidationFailed",
    "DexError",
    "NotAuthorized",
    "InsufficientFunds",
    "ReplayMismatch",
    "SwapQuote",
    "SwapRequest",
    "FeeTreatment",
    "Rule",
    "Validator",
    "default_rules",
    "parse_output",
    "ExtensibleDex",
    "Pool",
    "Hop",
    "SwapRecord",
    "Replay",
]
