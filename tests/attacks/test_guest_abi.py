"""Family 7: driving the guest ABI directly, and abusing the load path.

The guest exports ph_ctl_ptr, ph_reserve, ph_load and ph_call (runtime/harness/guest.c).
Misuse must end in a BAD_REQUEST status, another status, or a trap (the host replaces a trapped
instance) — never a crash of this process, and an instance that answered a status must still
serve a correct call afterwards.
"""

import json
import random
import struct

import pytest

from _harness import Attack, params, run_attack, assert_host_works
from plugin_host import FrozenRealm, _abi, _guest
from plugin_host._engines import Trap, get_engine
from plugin_host.errors import (
    InvalidOutput,
    NoSuchExport,
    OutOfGas,
    PluginException,
    PluginSyntaxError,
    StackOverflow,
)

SOURCE = b"export function f(x) { return x; }"


def i32(x):
    return x - (1 << 32) if x >= (1 << 31) else x


class Raw:
    """One bare guest instance, with the host's usual load parameters."""

    def __init__(self, engine, gas=10_000_000, depth=64):
        wasm, sha = _guest.load()
        self.inst = get_engine(engine, wasm, sha).instantiate(lambda *args: None)
        self.ctl = self.inst.call("ph_ctl_ptr")
        mv = self.inst.memory()
        _abi.LOAD_PARAMS.pack_into(mv, self.ctl + _abi.OFF_LOAD_PARAMS, 64 << 20, 192 << 10, 0, 1 << 20, 1 << 16, depth)
        _abi.GAS.pack_into(mv, self.ctl + _abi.OFF_GAS_LIMIT, gas)

    def put(self, data: bytes) -> None:
        ptr = self.inst.call("ph_reserve", len(data) + 1)
        assert ptr, "ph_reserve refused a small buffer"
        self.inst.memory()[ptr:ptr + len(data)] = data

    def ctlblock(self):
        return _abi.Ctl._make(_abi.CTL.unpack_from(self.inst.memory(), self.ctl))

    def output(self) -> bytes:
        c = self.ctlblock()
        return bytes(self.inst.memory()[c.out_ptr:c.out_ptr + c.out_len])

    def load(self, src: bytes = SOURCE) -> int:
        self.put(src)
        return self.inst.call("ph_load", len(src))

    def call(self, request: bytes) -> int:
        self.put(request)
        return self.inst.call("ph_call", len(request))

    def assert_serves(self) -> None:
        assert self.call(b"f\0[1,{\"a\":2}]") == _abi.OK
        assert json.loads(self.output()) == [1, {"a": 2}]


def test_call_before_load(engine):
    raw = Raw(engine)
    for n in (0, 5, -1):
        assert raw.inst.call("ph_call", n) == _abi.BAD_REQUEST
    assert raw.load() == _abi.OK
    raw.assert_serves()


def test_load_lengths_out_of_range(engine):
    raw = Raw(engine)
    for n in (-1, i32(0x80000000), 16384, 1 << 20):
        assert raw.inst.call("ph_load", n) == _abi.BAD_REQUEST
    assert raw.load() == _abi.OK
    raw.assert_serves()


def test_load_twice(engine):
    raw = Raw(engine)
    assert raw.load() == _abi.OK
    assert raw.load(b"export function f() { return 'replaced'; }") == _abi.BAD_REQUEST
    raw.assert_serves()


@pytest.mark.parametrize("n", [-1, i32(0x80000000), 0x7FFFFFFF, 1 << 20, 16385])
def test_call_lengths_out_of_range(engine, n):
    raw = Raw(engine)
    assert raw.load() == _abi.OK
    assert raw.inst.call("ph_call", i32(n)) == _abi.BAD_REQUEST
    raw.assert_serves()


@pytest.mark.parametrize("request_, status", [pytest.param(r, st, id=repr(r[:12])[2:-1]) for r, st in [
    (b"f", _abi.BAD_REQUEST),  # no NUL between name and value
    (b"", _abi.BAD_REQUEST),
    (b"f\0", _abi.INVALID_INPUT),
    (b"\0null", _abi.NO_SUCH_EXPORT),
    (b"g\0null", _abi.NO_SUCH_EXPORT),
    (b"f\0{", _abi.INVALID_INPUT),
    (b"f\0[1,]", _abi.INVALID_INPUT),
    (b"f\0 1 2", _abi.INVALID_INPUT),
    (b"f\0nul", _abi.INVALID_INPUT),
    (b"f\0\"\\ud800\"", _abi.INVALID_INPUT),
    (b"f\0\"\\udc00x\"", _abi.INVALID_INPUT),
    (b"f\0\"\x01\"", _abi.INVALID_INPUT),
    (b"f\0NaN", _abi.INVALID_INPUT),
    (b"f\0" + b"1." + b"0" * 500, _abi.INVALID_INPUT),
    (b"f\0" + b"[" * 10_000 + b"]" * 10_000, _abi.INVALID_INPUT),  # 10,000 levels: over the depth limit
    (b"f\0" + b'{"a":' * 5_000 + b"1" + b"}" * 5_000, _abi.INVALID_INPUT),
    (b"f\0" + b"9" * 4_000, _abi.OK),  # a 4000-digit BigInt
    (b"f\0\"\xff\xfe\"", _abi.OK),  # bytes that are not UTF-8: decoded leniently, the host never sends them
]])
def test_malformed_requests(engine, request_, status):
    """(ids are the request's first bytes)"""
    raw = Raw(engine)
    assert raw.load() == _abi.OK
    assert raw.call(request_) == status
    out = raw.output()
    if out:
        json.loads(out.decode("utf-8"))  # whatever the guest answers is valid data
    raw.assert_serves()


def test_reserve_refuses_impossible_sizes(engine):
    raw = Raw(engine)
    for n in (0x7FFFFFFF, -1, i32(0xFFFFFFF0)):
        assert raw.inst.call("ph_reserve", i32(n) if n > 0 else n) == 0
    assert raw.load() == _abi.OK
    raw.assert_serves()


def test_reserve_after_a_call_is_bounded(engine):
    """After a call the meter still holds that call's remaining budget: a huge ph_reserve is
    charged against it and may trap out of gas. The host always restores before reserving."""
    raw = Raw(engine)
    assert raw.load() == _abi.OK
    raw.assert_serves()
    try:
        assert raw.inst.call("ph_reserve", 0x7FFFFFFF) == 0
    except Trap:
        assert _abi.out_of_gas(raw.inst.memory(), raw.ctl)


def test_corrupted_control_block_traps_not_crashes(engine):
    raw = Raw(engine)
    assert raw.load() == _abi.OK
    struct.pack_into("<II", raw.inst.memory(), raw.ctl + 24, 0xFFFFFF00, 0xFFFFFFFF)  # in_ptr, in_cap
    with pytest.raises(Trap):
        raw.inst.call("ph_call", 100)
    assert_host_works(engine)


def test_zero_gas_is_out_of_gas(engine):
    raw = Raw(engine, gas=0)
    with pytest.raises(Trap):
        raw.load()
    assert _abi.out_of_gas(raw.inst.memory(), raw.ctl)


def test_tiny_depth_limit(engine):
    assert Raw(engine, depth=1).load() == _abi.INVALID_OUTPUT  # the load report itself is 2 deep
    raw = Raw(engine, depth=2)
    assert raw.load() == _abi.OK
    assert raw.call(b"f\0[[[1]]]") == _abi.INVALID_INPUT
    assert raw.call(b"f\0[[1]]") == _abi.OK


def test_source_not_utf8_at_the_abi(engine):
    raw = Raw(engine)
    assert raw.load(b"export const a = '\xff\xfe\xed\xa0\x80'; export function f() { return a; }") == _abi.SYNTAX_ERROR
    assert b"UTF-8" in raw.output()
    assert raw.call(b"f\0null") == _abi.BAD_REQUEST  # nothing was loaded


def test_source_over_the_host_limit_at_the_abi(engine):
    """The host refuses sources over 1 MiB; the guest itself copes with a bigger one, and
    compiling it is paid for: a 2 MiB comment costs about 10.5M gas of the load budget."""
    src = b"//" + b"x" * (2 << 20) + b"\n" + SOURCE
    raw = Raw(engine, gas=100_000_000)
    assert raw.load(src) == _abi.OK
    assert 10_000_000 < raw.ctlblock().gas_used < 100_000_000
    raw.assert_serves()
    poor = Raw(engine, gas=10_000_000)
    with pytest.raises(Trap):
        poor.load(src)
    assert _abi.out_of_gas(poor.inst.memory(), poor.ctl)


def test_random_requests(engine):
    """Random bytes as requests: statuses only, and the instance keeps serving."""
    rng = random.Random(1234)
    raw = Raw(engine)
    assert raw.load() == _abi.OK
    pieces = [b"f\0", b"{", b"}", b"[", b"]", b'"', b"\\u", b"d800", b",", b":", b"1", b"-", b".", b"e", b"null",
              b"\0", b"\xff", b" ", b"true"]
    for _ in range(150):
        req = b"".join(rng.choice(pieces) for _ in range(rng.randrange(1, 40)))
        if rng.random() < 0.3:
            req = bytes(rng.randrange(256) for _ in range(rng.randrange(0, 64)))
        status = raw.call(req)
        assert status in (_abi.OK, _abi.BAD_REQUEST, _abi.INVALID_INPUT, _abi.NO_SUCH_EXPORT), (req, status)
        if status == _abi.OK:
            json.loads(raw.output().decode("utf-8", "replace"))
    raw.assert_serves()


# ---- abusing the load path through FrozenRealm -----------------------------------------------

LOADS = [
    Attack("source-not-utf8", "", raises=PluginSyntaxError, at_load=True, match="UTF-8"),
    Attack("source-over-limit", "", raises=PluginSyntaxError, at_load=True, match="limit"),
    Attack("source-with-nul", "", raises=PluginSyntaxError, at_load=True, match="NUL"),
    Attack("exports-nothing", "const x = 1;", raises=NoSuchExport, fn="x"),
    Attack("exports-non-functions", "export const f = 1; export let g = {}; export default 5;", raises=NoSuchExport),
    Attack("exports-a-class", "export class f {}", raises=PluginException, match="new"),
    Attack("odd-export-names", 'function g() { return 1n; } export { g as "__proto__", g as "then", g as "a b" };',
           fn="__proto__", returns=1),
    Attack("metadata-with-function", "export const metadata = { f() {} }; export function f() {}",
           raises=InvalidOutput, at_load=True, match="metadata"),
    Attack("metadata-proxy-with-looping-traps",
           "export const metadata = new Proxy({}, { ownKeys() { for (;;) {} } }); export function f() {}",
           raises=InvalidOutput, at_load=True),
    Attack("metadata-cyclic", "const m = {}; m.m = m; export const metadata = m; export function f() {}",
           raises=InvalidOutput, at_load=True),
    Attack("top-level-await-never-settles", "await new Promise(() => {}); export function f() {}",
           raises=PluginException, at_load=True, match="never settled"),
    Attack("top-level-throw", "throw new Error('at load'); export function f() {}", raises=PluginException,
           at_load=True),
    Attack("top-level-loop", "for (;;) {} export function f() {}", raises=OutOfGas, at_load=True),
    Attack("top-level-recursion", "(function r() { r(); })(); export function f() {}", raises=StackOverflow,
           at_load=True),
]


@pytest.mark.parametrize("attack", params(LOADS))
def test_load_path(attack, engine):
    if attack.id == "source-not-utf8":
        attack = Attack(**{**attack.__dict__, "source": b"export const a = '\xff';"})
    elif attack.id == "source-over-limit":
        attack = Attack(**{**attack.__dict__, "source": "//" + "x" * (1 << 20) + "\n"})
    elif attack.id == "source-with-nul":
        attack = Attack(**{**attack.__dict__, "source": "export function f() {}\0"})
    if isinstance(attack.source, bytes):
        with pytest.raises(attack.raises, match=attack.match):
            FrozenRealm(attack.source, engine=engine)
        assert_host_works(engine)
    else:
        run_attack(attack, engine)


def test_the_call_report_reads_the_control_block_fields_it_names():
    """_abi.REPORT (what the host reads after every call) picks its fields out of CTL by
    offset: a layout change that forgot it would read the wrong words."""
    import os

    from plugin_host import _abi

    for _ in range(50):
        raw = os.urandom(_abi.CTL.size)
        c = _abi.Ctl._make(_abi.CTL.unpack_from(raw, 0))
        assert _abi.REPORT.unpack_from(raw, 0) == (c.gas_used, c.out_ptr, c.out_len, c.log_ptr, c.log_len,
                                                   c.dirty_low, c.dirty_high, c.stack_high, c.data_low)
