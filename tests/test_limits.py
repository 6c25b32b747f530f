"""Limits: each has a typed error, and the next call on the same realm works."""

import pytest

from plugin_host import (
    FrozenRealm,
    PluginSyntaxError,
    InputTooLarge,
    InvalidInput,
    InvalidOutput,
    LogLimitExceeded,
    MemoryLimitExceeded,
    OutputTooLarge,
    StackOverflow,
)
from plugin_host._receipt import MAX_STACK_LIMIT

PLUGIN = """
export function ok() { return "fine"; }
export function allocate(n) { return new Uint8Array(Number(n)).length; }
export function buffers(n) { const parts = []; for (let i = 0; i < n; i++) parts.push(new Uint8Array(1 << 20)); return parts.length; }
export function recurse() { const f = (n) => f(n + 1) + 1; return f(0); }
export function depthReached() { let d = 0; const f = (n) => { d = n; f(n + 1); }; try { f(0); } catch (e) {} return d; }
export function echo(x) { return x; }
export function big(n) { let s = "y"; while (s.length < n) s += s; return s.slice(0, Number(n)); }
export function nest(n) { let o = {}; for (let i = 0; i < n; i++) o = { o }; return o; }
export function chatty(n) { for (let i = 0; i < n; i++) console.log("line", i); return n; }
"""


@pytest.fixture(scope="module", params=["wasmer", "wasmtime"])
def realm(request):
    return FrozenRealm(PLUGIN, engine=request.param, memory_limit=16 << 20, output_limit=4096, log_limit=1024,
                       input_limit=4096, depth_limit=16, capabilities=["log"])


def test_memory_limit(realm):
    assert realm.call("allocate", 8 << 20).output == 8 << 20
    with pytest.raises(MemoryLimitExceeded) as info:
        realm.call("allocate", 32 << 20)
    assert info.value.memory_limit == 16 << 20
    with pytest.raises(MemoryLimitExceeded):
        realm.call("buffers", 64)
    assert realm.call("ok").output == "fine"


def test_memory_growth_then_a_normal_call(realm):
    # past the pre-reserved heap room and the load-time scratch region: memory grows, and the
    # next call gets a fresh instance with the snapshot
    for _ in range(2):
        assert realm.call("allocate", 12 << 20).output == 12 << 20
        assert realm.call("ok").output == "fine"


def test_stack_limit(realm):
    with pytest.raises(StackOverflow):
        realm.call("recurse")
    assert realm.call("ok").output == "fine"


DEEP = """
export function jsonParse(d) { d = Number(d); try { JSON.parse("[".repeat(d) + "]".repeat(d)); return "parsed"; }
                               catch (e) { return "caught " + e.message; } }
"""


@pytest.mark.parametrize("engine", ["wasmer", "wasmtime"])
def test_the_js_stack_check_fires_before_any_engine_limit(engine):
    """At the largest allowed stack limit, QuickJS's own check (a catchable RangeError) must
    fire before the engine's native stack runs out, on both engines: otherwise the depth at
    which a plugin fails would depend on the engine. The parser and JSON.parse use ~12x more
    native stack than shadow stack, the worst ratios measured."""
    big = FrozenRealm(PLUGIN + DEEP, engine=engine, stack_limit=MAX_STACK_LIMIT)
    small = FrozenRealm(PLUGIN + DEEP, engine=engine, stack_limit=32 << 10)
    deep, shallow = big.call("depthReached").output, small.call("depthReached").output
    assert deep > 3 * shallow > 50
    with pytest.raises(StackOverflow):
        big.call("recurse")
    for depth in (1_000, 20_000, 200_000):
        out = big.call("jsonParse", depth).output
        assert out == "parsed" or out == "caught Maximum call stack size exceeded"
    for nesting in (500, 2_000, 20_000):  # the plugin's own source, nested: a syntax error, never a trap
        src = f"export const x = {'(' * nesting}1{')' * nesting};"
        try:
            FrozenRealm(src, engine=engine, stack_limit=MAX_STACK_LIMIT)
        except PluginSyntaxError as e:
            assert "stack" in str(e)


def test_threads_with_too_little_stack_are_refused():
    import threading

    from plugin_host import ConfigurationError

    errors = []

    def body():
        try:
            FrozenRealm(PLUGIN, engine="wasmtime")
        except ConfigurationError as e:
            errors.append(e)

    old = threading.stack_size(512 * 1024)
    try:
        t = threading.Thread(target=body)
        t.start()
        t.join()
    finally:
        threading.stack_size(old)
    assert len(errors) == 1 and "stack" in str(errors[0])


def test_input_limits(realm):
    with pytest.raises(InputTooLarge) as info:
        realm.call("echo", "z" * 5000)
    assert info.value.limit == 4096 and info.value.receipt.gas_used == 0
    with pytest.raises(InvalidInput, match="deeper than"):
        nested = 1
        for _ in range(20):
            nested = [nested]
        realm.call("echo", nested)
    assert realm.call("echo", [[[1]]]).output == [[[1]]]


def test_output_limits(realm):
    assert len(realm.call("big", 1000).output) == 1000
    with pytest.raises(OutputTooLarge) as info:
        realm.call("big", 5000)
    assert info.value.limit == 4096
    with pytest.raises(OutputTooLarge):  # refused before the string is even copied
        realm.call("big", 1 << 20)
    with pytest.raises(InvalidOutput, match="too deeply"):
        realm.call("nest", 40)
    assert realm.call("ok").output == "fine"


def test_log_limit(realm):
    res = realm.call("chatty", 3)
    assert res.logs == "line 0\nline 1\nline 2\n"
    with pytest.raises(LogLimitExceeded) as info:
        realm.call("chatty", 1000)
    assert info.value.limit == 1024
    assert realm.call("chatty", 1).logs == "line 0\n"
