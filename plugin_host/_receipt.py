"""Limits and receipts: what a call was allowed, and what it provably did."""

from __future__ import annotations

from typing import Optional

import msgspec

from ._codec import canonical, sha256_hex

KiB = 1024
MiB = 1024 * KiB

DEFAULT_GAS_LIMIT = 50_000_000
DEFAULT_MEMORY_LIMIT = 64 * MiB
# The JS stack limit is checked on the guest's shadow stack, but the engines also run wasm on a
# native stack (wasmtime: at most 2 MiB; wasmer: the calling thread's). Some recursive paths
# (the parser, JSON.parse) use ~12x more native than shadow stack, so 128 KiB is the most that
# keeps QuickJS's own, deterministic check firing first on both engines (measured; tested).
DEFAULT_STACK_LIMIT = 128 * KiB
MAX_STACK_LIMIT = 128 * KiB
DEFAULT_IO_LIMIT = 1 * MiB
DEFAULT_LOG_LIMIT = 64 * KiB
DEFAULT_DEPTH_LIMIT = 64
MAX_SOURCE_BYTES = 1 * MiB


class Limits(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """Every bound a call runs under. Part of each receipt: the same plugin and input under
    other limits may end differently (out of gas, out of memory)."""

    gas: int = DEFAULT_GAS_LIMIT
    memory: int = DEFAULT_MEMORY_LIMIT  # JS heap, bytes
    stack: int = DEFAULT_STACK_LIMIT  # JS stack, bytes
    input: int = DEFAULT_IO_LIMIT  # encoded input, bytes
    output: int = DEFAULT_IO_LIMIT  # encoded output, bytes
    log: int = DEFAULT_LOG_LIMIT  # captured console output, bytes
    depth: int = DEFAULT_DEPTH_LIMIT  # nesting of input and output values


class ReceiptError(msgspec.Struct, frozen=True):
    type: str  # the plugin_host.errors class name
    message: str


class SubCall(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """A plugin this call composed (plugins.call), as its own receipt summarised. Its gas is
    already included in the caller's gas_used."""

    plugin_sha256: str
    function: str
    input_sha256: str
    output_sha256: Optional[str] = None
    error: Optional[ReceiptError] = None
    gas_used: int
    receipt_digest: str  # the callee's full receipt, digested


class Receipt(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """What one call did, in canonical form.

    ``digest()`` covers everything but ``engine``: the determinism claim is that the same
    (runtime, plugin, function, input, limits) gives the same output and gas on every engine,
    so two nodes on different engines must produce the same digest.
    """

    version: int = 1
    runtime_sha256: str
    plugin_sha256: str
    function: str
    input_sha256: str
    output_sha256: Optional[str] = None  # None when the call failed
    error: Optional[ReceiptError] = None  # None when the call succeeded
    gas_used: int
    limits: Limits
    calls: list[SubCall] = []  # plugins composed through the host, in call order
    engine: str = ""  # where it ran; recorded, not digested

    def canonical(self) -> bytes:
        """Canonical bytes of the execution claim (all fields but ``engine``)."""
        claim = msgspec.to_builtins(self)
        del claim["engine"]
        return canonical(claim)

    def digest(self) -> str:
        return sha256_hex(self.canonical())

    def to_json(self) -> bytes:
        """The full receipt, engine included, canonical JSON."""
        return canonical(self)

    @classmethod
    def from_json(cls, data: bytes | str) -> "Receipt":
        return msgspec.json.decode(data, type=cls)
