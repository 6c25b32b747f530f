"""The gas injection (runtime/inject_gas.py) on small hand-written modules: exact counts for
each control-flow shape, the flush at every way out of a function, the trap, the stack mark,
and a loud failure on what it does not understand. The guest-level properties (same gas on both engines,
bombs bounded) are in test_gas.py, test_determinism.py and tests/attacks/."""

import struct
import sys
from pathlib import Path

import pytest
import wasmtime

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "runtime"))
import inject_gas  # noqa: E402

WORD = 8  # the counter's address in these modules
MARK = 16  # the stack mark's
STACK_TOP = 4096
BUDGET = 1_000_000

MODULE = """
(module
  (memory (export "memory") 1)
  (global $__stack_pointer (mut i32) (i32.const 4096))
  (global (export "ph_gas_word") i32 (i32.const 8))
  (global (export "ph_stack_min") i32 (i32.const 16))
  (func $straight (export "straight") (result i32)
    i32.const 1 i32.const 2 i32.add)
  (func $branchy (export "branchy") (param i32) (result i32)
    block
      local.get 0
      br_if 0
      nop
    end
    i32.const 0)
  (func $if_else (export "if_else") (param i32) (result i32)
    local.get 0
    if (result i32) i32.const 1 else i32.const 2 end)
  (func $loop (export "loop") (param i32)
    loop
      local.get 0 i32.const 1 i32.sub local.tee 0
      br_if 0
    end)
  (func $early (export "early") (param i32) (result i32)
    block
      block
        i32.const 9
        local.get 0
        br_if 2
        drop
      end
    end
    i32.const 0)
  (func $ret (export "ret") (param i32) (result i32)
    local.get 0
    if i32.const 3 return end
    i32.const 7)
  (func $table (export "table") (param i32)
    block block
      local.get 0
      br_table 0 1 2
    end end)
  (func $calls (export "calls") (result i32)
    call $straight call $straight i32.add)
  (func $spin (export "spin") (loop br 0))
  (func $free_fn (export "free_fn") (param i32)
    loop local.get 0 i32.const 1 i32.sub local.tee 0 br_if 0 end)
  ;; a function with a loop keeps its budget in a local: calls inside the loop
  (func $loop_calls (export "loop_calls") (param i32) (result i32) (local i32)
    loop
      call $straight local.get 1 i32.add local.set 1
      local.get 0 i32.const 1 i32.sub local.tee 0
      br_if 0
    end
    local.get 1)
  ;; a frame of $0 bytes the way LLVM makes one, with a call to $leaf inside
  (func $framed (export "framed") (param i32) (local i32)
    global.get $__stack_pointer local.get 0 i32.sub local.tee 1 global.set $__stack_pointer
    call $leaf
    local.get 1 i32.const 64 i32.add global.set $__stack_pointer)
  (func $leaf
    global.get $__stack_pointer i32.const 32 i32.sub global.set $__stack_pointer
    global.get $__stack_pointer i32.const 32 i32.add global.set $__stack_pointer)
)
"""


def instance(unmetered=(), meter=True):
    wasm = inject_gas.inject(wasmtime.wat2wasm(MODULE), meter=meter, unmetered=unmetered)
    store = wasmtime.Store()
    inst = wasmtime.Instance(store, wasmtime.Module(store.engine, wasm), [])
    return store, inst


def run(name, *args, unmetered=()):
    """(result, gas used) of one call with a fresh budget."""
    store, inst = instance(unmetered)
    mem = inst.exports(store)["memory"]
    mem.write(store, struct.pack("<q", BUDGET), WORD)
    result = inst.exports(store)[name](store, *args)
    left = struct.unpack("<q", mem.read(store, WORD, WORD + 8))[0]
    return result, BUDGET - left


@pytest.mark.parametrize("name, args, gas", [
    ("straight", (), 1),                 # one block
    ("branchy", (0,), 3),                # entry, the br_if's fall-through, after the end
    ("branchy", (1,), 2),                # entry, after the end (the fall-through is skipped)
    ("if_else", (1,), 3),                # entry, then-arm, after the end
    ("if_else", (0,), 3),                # entry, else-arm, after the end
    ("loop", (1,), 3),                   # entry, one header, the br_if's fall-through
    ("loop", (5,), 7),                   # entry, five headers, one fall-through
    ("early", (1,), 1),                  # leaves through br_if 2: only the entry, flushed on the way out
    ("early", (0,), 4),                  # entry, the fall-through, after each of the two ends
    ("ret", (1,), 2),                    # entry, then-arm; return flushes
    ("ret", (0,), 2),                    # entry, after the end
    ("table", (0,), 3), ("table", (1,), 2), ("table", (2,), 1),
    ("calls", (), 3),                    # the caller's block and the callee's, twice
    ("loop_calls", (1,), 4),             # entry, one header, the callee once, the fall-through
    ("loop_calls", (5,), 12),            # entry, five headers and callees, one fall-through
])
def test_each_shape_counts_its_blocks_exactly(name, args, gas):
    assert run(name, *args)[1] == gas


def test_a_loop_pays_per_iteration():
    # the header and the br_if's fall-through each iteration, the last fall-through once
    costs = [run("loop", n)[1] for n in (1, 2, 3, 10)]
    assert costs[1] - costs[0] == costs[2] - costs[1] == (costs[3] - costs[2]) // 7 > 0


def test_out_of_gas_traps_with_the_word_below_zero():
    store, inst = instance()
    mem = inst.exports(store)["memory"]
    mem.write(store, struct.pack("<q", 1000), WORD)
    with pytest.raises(wasmtime.Trap):
        inst.exports(store)["spin"](store)
    assert struct.unpack("<q", mem.read(store, WORD, WORD + 8))[0] < 0


def test_both_ways_of_counting_trap_where_the_budget_runs_out():
    # "loop_calls" keeps its budget in a local, "straight" (its callee) flushes a count; with
    # a budget of b the call that completes is the one that needs at most b
    for n in (1, 2, 3, 7):
        need = run("loop_calls", n)[1]
        store, inst = instance()
        mem = inst.exports(store)["memory"]
        mem.write(store, struct.pack("<q", need), WORD)
        assert inst.exports(store)["loop_calls"](store, n) == n * 3
        mem.write(store, struct.pack("<q", need - 1), WORD)
        with pytest.raises(wasmtime.Trap):
            inst.exports(store)["loop_calls"](store, n)
        assert struct.unpack("<q", mem.read(store, WORD, WORD + 8))[0] < 0


def test_a_function_with_loops_may_not_touch_the_word_directly():
    inlined = MODULE.replace("(func $spin (export \"spin\") (loop br 0))",
                             "(func $spin (export \"spin\") (loop i32.const 0 i64.const 5 i64.store offset=8 br 0))")
    with pytest.raises(inject_gas.InjectError, match="spin has loops and accesses the gas word directly"):
        inject_gas.inject(wasmtime.wat2wasm(inlined), unmetered=())


def test_a_function_that_reads_or_sets_the_budget_counts_even_with_loops():
    # a budget stored before the call would be overwritten by the new budget: it counts instead
    module = MODULE.replace("(func $spin", """(func $ph_gas_set (param i64) i32.const 0 local.get 0 i64.store offset=8)
  (func $resets (export "resets") (param i32)
    loop local.get 0 i32.const 1 i32.sub local.tee 0 br_if 0 end
    i64.const 100 call $ph_gas_set)
  (func $spin""")
    wasm = inject_gas.inject(wasmtime.wat2wasm(module), unmetered=("ph_gas_set",))
    store = wasmtime.Store()
    inst = wasmtime.Instance(store, wasmtime.Module(store.engine, wasm), [])
    mem = inst.exports(store)["memory"]
    mem.write(store, struct.pack("<q", BUDGET), WORD)
    inst.exports(store)["resets"](store, 3)
    # counting: the loop headers flushed into the old budget, and the block counted since
    # the last of them (the loop's fall-through) is flushed into the new one at the exit; a
    # budget would have been stored before the call, overwritten, and left the word at 100
    assert struct.unpack("<q", mem.read(store, WORD, WORD + 8))[0] == 100 - 1


def test_listed_functions_are_left_unmetered():
    assert run("free_fn", 100, unmetered=("free_fn",))[1] == 0
    assert run("free_fn", 100)[1] > 100


@pytest.mark.parametrize("meter, unmetered", [(True, ()), (True, ("framed", "leaf")), (False, ())])
def test_the_stack_mark_keeps_the_lowest_stack_pointer(meter, unmetered):
    # in metered and unmetered functions alike, and in the unmetered guest
    store, inst = instance(unmetered, meter=meter)
    mem = inst.exports(store)["memory"]
    mem.write(store, struct.pack("<qI", BUDGET, 0xFFFFFFFF), WORD)
    inst.exports(store)["framed"](store, 64)
    assert struct.unpack("<I", mem.read(store, MARK, MARK + 4))[0] == STACK_TOP - 64 - 32
    inst.exports(store)["framed"](store, 16)  # not as deep: the mark stays
    assert struct.unpack("<I", mem.read(store, MARK, MARK + 4))[0] == STACK_TOP - 64 - 32


def test_the_stack_mark_is_not_checked_where_the_pointer_goes_up():
    wasm = inject_gas.inject(wasmtime.wat2wasm(MODULE), meter=False, unmetered=())
    load_mark = b"\x28\x02" + inject_gas._enc_u(MARK)
    assert wasm.count(load_mark) == 2  # the two frames made; not the two epilogues


def test_the_meter_export_and_custom_sections_are_dropped():
    wasm = inject_gas.inject(wasmtime.wat2wasm(MODULE), unmetered=())
    module = wasmtime.Module(wasmtime.Engine(), wasm)
    assert {"ph_gas_word", "ph_stack_min"}.isdisjoint(e.name for e in module.exports)
    assert all(sid != 0 for sid, _ in inject_gas._sections(wasm))


def test_unknown_instructions_and_missing_pieces_fail_the_build():
    simd = MODULE.replace("(func $spin", "(func (result v128) v128.const i64x2 0 0) (func $spin")
    with pytest.raises(inject_gas.InjectError, match="unsupported instruction"):
        inject_gas.inject(wasmtime.wat2wasm(simd), unmetered=())
    with pytest.raises(inject_gas.InjectError, match="does not export ph_gas_word"):
        inject_gas.inject(wasmtime.wat2wasm("(module (func))"), unmetered=())
    no_sp = MODULE.replace("$__stack_pointer", "$sp")
    with pytest.raises(inject_gas.InjectError, match="no global named __stack_pointer"):
        inject_gas.inject(wasmtime.wat2wasm(no_sp), unmetered=())
    with pytest.raises(inject_gas.InjectError, match="not found: gone"):
        inject_gas.inject(wasmtime.wat2wasm(MODULE), unmetered=("gone",))


def test_the_rewrite_is_a_pure_function_of_the_bytes():
    wasm = wasmtime.wat2wasm(MODULE)
    assert inject_gas.inject(wasm, unmetered=()) == inject_gas.inject(bytes(wasm), unmetered=())



def test_the_shipped_guest_meters_every_function_but_the_named_few():
    """The pinned guest itself: every function ends by flushing its count (`...; i64.const 0;
    local.set ACC; end`, ACC its last local) or by storing its budget and checking it
    (`...; local.get ACC; i64.const 0; i64.lt_s; if; unreachable; end; end`), except exactly as
    many as UNMETERED names: a function that escaped the rewrite would run free."""
    from plugin_host import _guest

    wasm, _ = _guest.load()
    sections = inject_gas._sections(wasm)
    mod = inject_gas._Module(sections)
    code = next(payload for sid, payload in sections if sid == 10)
    n, i = inject_gas.uleb(code, 0)
    free = 0
    for k in range(n):
        size, i = inject_gas.uleb(code, i)
        body = code[i:i + size]
        i += size
        groups, j = inject_gas.uleb(body, 0)
        nlocals = mod.params[mod.func_types[k]]
        for _ in range(groups):
            count, j = inject_gas.uleb(body, j)
            nlocals += count
            j += 1
        acc = inject_gas._enc_u(nlocals - 1)
        if not nlocals or not (body.endswith(b"\x42\x00\x21" + acc + b"\x0B")
                               or body.endswith(b"\x20" + acc + b"\x42\x00\x53\x04\x40\x00\x0B\x0B")):
            free += 1
    assert free == len(inject_gas.UNMETERED)
