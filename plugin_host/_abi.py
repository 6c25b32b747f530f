"""The guest ABI as the host sees it: the control block layout and the status codes.

Mirrors ``runtime/harness/ph.h``. Change both together (and the ABI version).
"""

from __future__ import annotations

import struct
from typing import NamedTuple

ABI_VERSION = 2

# ph_ctl_t, little-endian, field by field
CTL = struct.Struct("<IIQQIIIIIIIIIIIIIIIIII")


class Ctl(NamedTuple):
    abi_version: int
    status: int
    gas_limit: int
    gas_used: int
    in_ptr: int
    in_cap: int
    out_ptr: int
    out_len: int
    log_ptr: int
    log_len: int
    memory_limit: int
    stack_limit: int
    capabilities: int
    max_output: int
    max_log: int
    max_depth: int
    dirty_low: int
    dirty_high: int
    gas_word: int  # address of the guest's int64 gas counter; below zero after a trap = out of gas
    denied: int
    stack_high: int
    data_low: int


# what the host reads after every call, straight from the control block: gas_used, out_ptr,
# out_len, log_ptr, log_len, dirty_low, dirty_high, stack_high, data_low
REPORT = struct.Struct("<16xQ8xIIII24xII8xII")

# offsets of the fields the host writes, for struct.pack_into
OFF_GAS_LIMIT = 8
OFF_LOAD_PARAMS = 48  # memory_limit, stack_limit, capabilities, max_output, max_log, max_depth
LOAD_PARAMS = struct.Struct("<IIIIII")
GAS = struct.Struct("<Q")
GAS_WORD = struct.Struct("<q")  # the guest's gas counter, signed

# enum ph_status
OK = 0
JS_EXCEPTION = 1
NO_SUCH_EXPORT = 2
INVALID_INPUT = 3
INVALID_OUTPUT = 4
OUT_OF_MEMORY = 5
STACK_OVERFLOW = 6
CAPABILITY_DENIED = 7
OUTPUT_TOO_LARGE = 8
LOG_TOO_LARGE = 9
SYNTAX_ERROR = 10
BAD_REQUEST = 11

# enum ph_capability / ph_denial
CAPABILITY_BITS = {"log": 1 << 0, "compose": 1 << 1}
DENIAL_BITS = {"import": 1 << 16}


# compose.c: ph_host_io_t and enum host_status
HOST_IO = struct.Struct("<QQII")  # gas_left (in), gas_used, status, resp_len (out)
HOST_OK, HOST_CALLEE_FAILED, HOST_REFUSED, HOST_RETRY = 0, 1, 2, 3


def denied_names(bits: int) -> list[str]:
    names = {**CAPABILITY_BITS, **DENIAL_BITS}
    return [name for name, bit in names.items() if bits & bit] or ["unknown"]


def out_of_gas(mem, ctl: int) -> bool:
    """After a trap: was it the meter? Its counter (at the address the control block gives)
    is below zero then, and only then."""
    word = Ctl._make(CTL.unpack_from(mem, ctl)).gas_word
    return GAS_WORD.unpack_from(mem, word)[0] < 0
