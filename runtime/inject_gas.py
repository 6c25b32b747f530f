"""Inject the gas meter into the linked guest wasm (runtime/build.py calls this; GAS.md explains it).

Every function in the module -- QuickJS, libregexp, libunicode, dtoa, zig's libc and
compiler-rt, our harness -- pays one unit of gas per basic block it executes, except the few
functions named in UNMETERED (the meter's own; the allocator and libc's memchr and memcmp,
which the harness charges by size instead). Where a basic block starts, in wasm's structured control flow: at a
function's entry, at a loop's header, in each arm of an `if`, after the `end` of a `block` or
`if` (where branches land), and after a `br_if` (its fall-through).

Why rewrite the wasm instead of instrumenting the C (the approach this replaced): the count
can live in a wasm local -- a register, mostly -- instead of a word of memory. Counting a
block is then one register operation. Each function keeps its count one of two ways:

- Functions without loops count blocks in a local `acc`, moved into the meter's word in
  memory ("flushed": word -= acc; trap if word < 0; acc = 0) at every exit of the function
  (return, falling off the end, a branch to the function's own label). A call's whole count
  is in memory when it returns, and a loop-free call tree of any shape checks the budget once
  per call.
- Functions with loops keep the remaining budget in a local `left` instead: loaded from the
  word at entry and after every call, stored to it before every call and at every exit, and
  compared with zero at every loop header -- a compare of a register, where the first way
  needed a load and a store of memory at every iteration. Calls pay a store and a load. The
  interpreter's dispatch loop and the regex matcher's are where this matters: on wasmer the
  JS loop ran 12% faster, regex 9%, JSON 7% than with flushes at loop headers.

Both keep the same invariant at every call boundary (the word holds everything counted by
finished callees), so callers and callees of either kind compose, and the count is the same
either way: which way a function uses changes where an exhausted budget traps (and so how
much a composed callee is offered), never the gas of a call or a load that completes --
tests/test_gas.py rewrites the real guest to count everywhere and compares. Two rules keep it
so. A function with loops must not touch the word itself, only through calls, or its next
sync would undo the write: meter.c keeps its functions out of line, and the rewrite fails the
build if such a function addresses the word. And a function that calls one of the meter's
functions that read or replace the budget (BUDGET_READERS: the harness's entry points do, to
set a call's budget and report its gas) counts, loops or not, so that the blocks around those
calls are attributed as counting everywhere would attribute them.

Out of gas is a trap with the word below zero, and nothing else: the path to the trap stores
the budget first, then is a bare `unreachable` (the host recognises out of gas by the word).
Flushing at loop headers only past a threshold was tried: wasmer's cranelift ran a JS loop
1.4x slower with the nested branch than with the plain flush.

The same pass records the stack's low-water mark for the host's restore (meter.c, "stack"),
in every function, metered or not, and in the unmetered guest too: after each write of
`__stack_pointer` that can lower it (a frame or an alloca; not the epilogue's
`i32.const N; i32.add`), the new value is compared with the mark in memory and kept if lower.
This replaced a C hook called at every function entry (-finstrument-function-entry-bare):
most functions keep their frame in wasm locals and never move the stack pointer, and the
check is inline, where the hook was a call: on wasmer JSON ran 10% faster, regex 12%, BigInt
arithmetic 7%, a JS loop 3% (benches/gas.py workloads, A/B). The checks are not metered
(their `if` counts no gas).

The count is the same on every engine and in every run: the rewrite is a pure function of
the wasm bytes. The meter's word and the stack mark are found through exports the harness
provides for this purpose only (GAS_WORD, STACK_MARK), removed here.

Only the instruction set zig emits for wasm32-wasi (MVP, sign-ext, non-trapping float-to-int,
bulk memory, reference types, multi-value) is understood; anything else fails the build.
"""

from __future__ import annotations

from typing import Optional

GAS_WORD = "ph_gas_word"  # exported global: the address of the int64 gas counter (meter.c)
STACK_MARK = "ph_stack_min"  # exported global: the address of the stack's low-water mark
STACK_POINTER = "__stack_pointer"  # the linker's global, found by name
# Functions that are not metered: the meter's own (harness/meter.c), the allocator (charged
# 3 + n/16 per allocation in meter.c instead) and libc's memchr and memcmp (charged by length
# where QuickJS and the harness call them: harness/ph_instrument.h). Each must exist, or the
# build fails, so that a renamed function cannot silently change what is metered.
# The meter's functions that read or replace the budget: a function that calls one keeps a count
# even if it has loops (see _rewrite_body).
BUDGET_READERS = ("ph_gas_set", "ph_gas_used", "ph_gas_left")
UNMETERED = BUDGET_READERS + ("ph_gas_charge",
             "js_malloc_fn", "js_calloc_fn", "js_free_fn", "js_realloc_fn", "ph_usable",
             "realloc", "free", "arena_new", "arena_malloc_large", "arena_calloc_large",
             "c.string.memchr", "compiler_rt.memcmp")

I64 = 0x7E
BLOCK, LOOP, IF, ELSE, END = 0x02, 0x03, 0x04, 0x05, 0x0B
BR, BR_IF, BR_TABLE, RETURN = 0x0C, 0x0D, 0x0E, 0x0F


class InjectError(Exception):
    pass


def _leb(b: bytes, i: int, signed: bool) -> tuple[int, int]:
    result = shift = 0
    while True:
        byte = b[i]
        i += 1
        result |= (byte & 0x7F) << shift
        shift += 7
        if byte < 0x80:
            if signed and byte & 0x40:
                result -= 1 << shift
            return result, i


def uleb(b: bytes, i: int) -> tuple[int, int]:
    """(value, next position) of the unsigned LEB128 at b[i] (build.py uses it too)."""
    return _leb(b, i, False)


def _sleb(b: bytes, i: int) -> tuple[int, int]:
    return _leb(b, i, True)


def _enc_u(n: int) -> bytes:
    if n < 0:
        raise InjectError(f"cannot encode {n} as an unsigned LEB128")
    out = bytearray()
    while True:
        byte = n & 0x7F
        n >>= 7
        if n:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def _name(b: bytes, i: int) -> tuple[str, int]:
    n, i = uleb(b, i)
    return b[i:i + n].decode("utf-8"), i + n


def _sections(wasm: bytes) -> list[tuple[int, bytes]]:
    if wasm[:8] != b"\0asm\x01\0\0\0":
        raise InjectError("not a wasm module (version 1)")
    out, i = [], 8
    while i < len(wasm):
        sid = wasm[i]
        size, j = uleb(wasm, i + 1)
        out.append((sid, wasm[j:j + size]))
        i = j + size
    return out


def _limits(b: bytes, i: int) -> int:
    flags, i = uleb(b, i)
    _, i = uleb(b, i)
    if flags & 1:
        _, i = uleb(b, i)
    return i


class _Module:
    """What the rewrite needs to know: each function's parameter count, the imported function
    count, the exports, the globals' initial values and the function names."""

    def __init__(self, sections: list[tuple[int, bytes]]):
        self.params: list[int] = []  # per type
        self.imported_funcs = 0
        self.func_types: list[int] = []  # per defined function
        self.exports: dict[str, tuple[int, int]] = {}
        self.global_inits: list[bytes] = []  # imported globals excluded: none expected
        self.names: dict[int, str] = {}
        self.global_names: dict[str, int] = {}
        for sid, p in sections:
            if sid == 1:
                self._types(p)
            elif sid == 2:
                self._imports(p)
            elif sid == 3:
                n, i = uleb(p, 0)
                for _ in range(n):
                    t, i = uleb(p, i)
                    self.func_types.append(t)
            elif sid == 6:
                self._globals(p)
            elif sid == 7:
                n, i = uleb(p, 0)
                for _ in range(n):
                    name, i = _name(p, i)
                    kind = p[i]
                    idx, i = uleb(p, i + 1)
                    self.exports[name] = (kind, idx)
            elif sid == 0:
                name, i = _name(p, 0)
                if name == "name":
                    self._function_names(p, i)

    def _types(self, p: bytes) -> None:
        n, i = uleb(p, 0)
        for _ in range(n):
            if p[i] != 0x60:
                raise InjectError(f"unsupported type form {p[i]:#x}")
            np, i = uleb(p, i + 1)
            i += np  # valtypes are single bytes in the features we accept
            nr, i = uleb(p, i)
            i += nr
            self.params.append(np)

    def _imports(self, p: bytes) -> None:
        n, i = uleb(p, 0)
        for _ in range(n):
            _, i = _name(p, i)
            _, i = _name(p, i)
            kind = p[i]
            i += 1
            if kind == 0:
                _, i = uleb(p, i)
                self.imported_funcs += 1
            elif kind == 1:
                i = _limits(p, i + 1)
            elif kind == 2:
                i = _limits(p, i)
            else:
                raise InjectError("imported globals are not expected in the guest")

    def _globals(self, p: bytes) -> None:
        n, i = uleb(p, 0)
        for _ in range(n):
            start = i + 2  # valtype, mutability
            i = start
            while p[i] != END:  # constant expressions: i32/i64.const or global.get
                op = p[i]
                if op == 0x41 or op == 0x42:
                    _, i = _sleb(p, i + 1)
                elif op == 0x23:
                    _, i = uleb(p, i + 1)
                else:
                    raise InjectError(f"unsupported global initializer opcode {op:#x}")
            self.global_inits.append(p[start:i])
            i += 1

    def _function_names(self, p: bytes, i: int) -> None:
        while i < len(p):
            sub = p[i]
            size, i = uleb(p, i + 1)
            if sub in (1, 7):  # function names, global names
                n, j = uleb(p, i)
                for _ in range(n):
                    idx, j = uleb(p, j)
                    name, j = _name(p, j)
                    if sub == 1:
                        self.names[idx] = name
                    else:
                        self.global_names[name] = idx
            i += size


def _skip_immediates(op: int, b: bytes, i: int) -> int:
    """The position after the immediates of the instruction whose opcode (read at i-1) is op."""
    if op in (BLOCK, LOOP, IF):
        if b[i] == 0x40 or 0x6F <= b[i] <= 0x7F:
            return i + 1
        return _sleb(b, i)[1]  # a type index (multi-value)
    if op in (BR, BR_IF, 0x10, 0x20, 0x21, 0x22, 0x23, 0x24, 0x25, 0x26, 0xD2):
        return uleb(b, i)[1]
    if op == BR_TABLE:
        n, i = uleb(b, i)
        for _ in range(n + 1):
            _, i = uleb(b, i)
        return i
    if op == 0x11:  # call_indirect: type, table
        return uleb(b, uleb(b, i)[1])[1]
    if op == 0x1C:  # typed select
        n, i = uleb(b, i)
        return i + n
    if 0x28 <= op <= 0x3E:  # loads and stores: align (bit 6 = a memory index follows), offset
        align, i = uleb(b, i)
        if align & 0x40:
            _, i = uleb(b, i)
        return uleb(b, i)[1]
    if op in (0x3F, 0x40):
        return uleb(b, i)[1]
    if op == 0x41 or op == 0x42:
        return _sleb(b, i)[1]
    if op == 0x43:
        return i + 4
    if op == 0x44:
        return i + 8
    if op == 0xD0:
        return i + 1
    if op == 0xFC:
        sub, i = uleb(b, i)
        nargs = {8: 2, 9: 1, 10: 2, 11: 1, 12: 2, 13: 1, 14: 2, 15: 1, 16: 1, 17: 1}.get(sub, 0 if sub <= 7 else None)
        if nargs is None:
            raise InjectError(f"unsupported instruction 0xfc {sub}")
        for _ in range(nargs):
            _, i = uleb(b, i)
        return i
    if op in (0x00, 0x01, ELSE, END, RETURN, 0x1A, 0x1B, 0xD1) or 0x45 <= op <= 0xC4:
        return i
    raise InjectError(f"unsupported instruction {op:#x} (a wasm feature the meter does not know)")


class _Snippets:
    """The code injected into one function. `acc`: the index of the local added for the meter
    (None: the function is not metered); `budget`: whether that local holds the remaining
    budget (a function with loops) rather than a count to flush (one without)."""

    def __init__(self, acc: Optional[int], budget: bool, word: int, sp: int, mark: int):
        self.entry = self.count = self.loop = self.exit = self.before_call = self.after_call = b""
        if acc is not None:
            a, w = _enc_u(acc), _enc_u(word)
            get, set_, tee = b"\x20" + a, b"\x21" + a, b"\x22" + a
            trap_if_negative = b"\x42\x00\x53\x04\x40\x00\x0B"  # i64.const 0; i64.lt_s; if unreachable end
            if budget:
                store = b"\x41\x00" + get + b"\x37\x03" + w  # word = left
                load = b"\x41\x00\x29\x03" + w + set_  # left = word
                self.entry = self.after_call = load
                self.before_call = store
                self.count = get + b"\x42\x01\x7D" + set_  # left -= 1
                # if left < 0: word = left; trap   (the store only on the way to the trap)
                self.loop = get + b"\x42\x00\x53\x04\x40" + store + b"\x00\x0B"
                self.exit = store + get + trap_if_negative
            else:
                self.count = get + b"\x42\x01\x7C" + set_  # acc += 1
                # word -= acc; if word < 0: trap; acc = 0   (the word is at a constant address)
                self.exit = self.loop = (b"\x41\x00\x41\x00\x29\x03" + w + get + b"\x7D" + tee + b"\x37\x03" + w
                                         + get + trap_if_negative + b"\x42\x00" + set_)
        g, m = _enc_u(sp), _enc_u(mark)
        # if (sp < mark) mark = sp   (the mark is an i32 at a constant address)
        self.mark = (b"\x23" + g + b"\x41\x00\x28\x02" + m + b"\x49\x04\x40"
                     + b"\x41\x00\x23" + g + b"\x36\x02" + m + b"\x0B")


def _raises_sp(before: bytes, last: bytes) -> bool:
    """Whether the two instructions before a `global.set __stack_pointer` are an epilogue's
    `i32.const N; i32.add` with N > 0: the pointer goes up, no mark to check."""
    return last == b"\x6A" and before[:1] == b"\x41" and _sleb(before, 1)[0] > 0


def _instructions(body: bytes, i: int):
    """(start, opcode, end) of each instruction of a function body from position i."""
    while i < len(body):
        op = body[i]
        end = _skip_immediates(op, body, i + 1)
        yield i, op, end
        i = end


def _rewrite_body(body: bytes, nparams: int, snip_args: tuple[int, int, int], metered: bool,
                  name: str = "", budget_mode: bool = True, readers: frozenset[int] = frozenset()) -> bytes:
    """One function rewritten. `readers`: the indices of BUDGET_READERS. A function that calls
    one counts, loops or not: the harness's entry points read the gas used and set a new
    budget mid-function, and only a count attributes the blocks around that exactly as
    counting everywhere would (a budget stored before the call would be overwritten)."""
    word, sp, mark = snip_args
    n, i = uleb(body, 0)
    after_count = i
    nlocals = nparams
    for _ in range(n):
        count, i = uleb(body, i)
        nlocals += count
        i += 1
    budget = touches = False
    if metered:
        reads = False
        for start, op, end in _instructions(body, i):
            budget |= op == LOOP
            touches |= 0x28 <= op <= 0x3E and _touches(body, end, word)
            reads |= op == 0x10 and uleb(body, start + 1)[0] in readers
        budget &= budget_mode and not reads
        if budget and touches:  # its budget would overwrite what the direct access did
            raise InjectError(f"{name or 'a metered function'} has loops and accesses the gas word directly: "
                              "the meter's own functions must not be inlined (harness/meter.c)")
    snip = _Snippets(nlocals if metered else None, budget, word, sp, mark)
    if metered:
        out = bytearray(_enc_u(n + 1) + body[after_count:i] + b"\x01" + bytes([I64]))
    else:
        out = bytearray(body[:i])
    out += snip.entry + snip.count  # the entry block
    stack = [None]  # open constructs; the function's own label is stack[0]
    before = last = b""
    for start, op, i in _instructions(body, i):
        instr = body[start:i]
        if op == END:
            kind = stack.pop()
            if not stack:
                if i != len(body):
                    raise InjectError("code after a function's final end")
                out += snip.exit + instr
                return bytes(out)
            out += instr
            if kind != LOOP:  # after a block or an if: where branches land
                out += snip.count
        elif op in (BLOCK, LOOP, IF):
            stack.append(op)
            out += instr
            if op == LOOP:
                out += snip.count + snip.loop
            elif op == IF:
                out += snip.count
        elif op == ELSE:
            out += instr + snip.count
        elif op in (BR, BR_IF, BR_TABLE):
            j, labels = start + 1, []
            count = 1
            if op == BR_TABLE:
                count, j = uleb(body, j)
                count += 1
            for _ in range(count):
                label, j = uleb(body, j)
                labels.append(label)
            if any(label == len(stack) - 1 for label in labels):  # leaves the function
                out += snip.exit
            out += instr
            if op == BR_IF:  # the fall-through is a new block
                out += snip.count
        elif op == RETURN:
            out += snip.exit + instr
        elif op in (0x10, 0x11):  # call, call_indirect
            out += snip.before_call + instr + snip.after_call
        elif op in (0x12, 0x13):
            raise InjectError("tail calls are not supported by the meter")
        elif op == 0x24 and uleb(body, start + 1)[0] == sp:  # global.set __stack_pointer
            out += instr
            if not _raises_sp(before, last):
                out += snip.mark
        else:
            out += instr
        before, last = last, instr
    raise InjectError("a function body without its final end")


def _touches(body: bytes, end: int, word: int) -> bool:
    """Whether the load or store whose immediates end at `end` has the gas word's address as
    its offset (how the compiler addresses a global variable: base 0, offset = address)."""
    i = end - 1
    while i > 0 and body[i - 1] & 0x80:  # back to the first byte of the offset's LEB128
        i -= 1
    return word - 8 < uleb(body, i)[0] < word + 8


def inject(wasm: bytes, meter: bool = True, unmetered: tuple[str, ...] = UNMETERED,
           budget_mode: bool = True) -> bytes:
    """The metered module: `wasm` with the meter and the stack mark checks injected, their
    exports and every custom section dropped. With meter=False the stack mark checks only
    (the unmetered guest that benchmarks compare against). budget_mode=False counts and
    flushes in every function, loops or not: the same gas for every call that completes
    (tests/test_gas.py checks it on the real guest), only slower."""
    sections = _sections(wasm)
    mod = _Module(sections)
    word = _exported_address(mod, GAS_WORD)
    mark = _exported_address(mod, STACK_MARK)
    sp = mod.global_names.get(STACK_POINTER)
    if sp is None or sp >= len(mod.global_inits):
        raise InjectError(f"no global named {STACK_POINTER} (the name section is needed)")
    skip = {idx for idx, name in mod.names.items() if name in unmetered}
    missing = set(unmetered) - {mod.names[idx] for idx in skip}
    if missing:
        raise InjectError(f"functions to leave unmetered not found: {', '.join(sorted(missing))}")

    out = bytearray(b"\0asm\x01\0\0\0")
    for sid, payload in sections:
        if sid == 0:
            continue  # names and other custom sections: not part of the runtime
        if sid == 7:
            payload = _drop_exports(payload, {GAS_WORD, STACK_MARK})
        elif sid == 10:
            payload = _rewrite_code(payload, mod, skip if meter else None, (word, sp, mark), budget_mode)
        out += bytes([sid]) + _enc_u(len(payload)) + payload
    return bytes(out)


def _exported_address(mod: _Module, name: str) -> int:
    """The address a harness symbol exported with `--export=name` stands for."""
    try:
        kind, gidx = mod.exports[name]
    except KeyError:
        raise InjectError(f"the harness does not export {name}") from None
    init = mod.global_inits[gidx] if kind == 3 and gidx < len(mod.global_inits) else b""
    if init[:1] != b"\x41":
        raise InjectError(f"{name} must be a global holding an i32 address")
    return _sleb(init, 1)[0]


def _drop_exports(p: bytes, names: set[str]) -> bytes:
    n, i = uleb(p, 0)
    kept = []
    for _ in range(n):
        start = i
        name, i = _name(p, i)
        _, i = uleb(p, i + 1)
        if name not in names:
            kept.append(p[start:i])
    return _enc_u(len(kept)) + b"".join(kept)


def _rewrite_code(p: bytes, mod: _Module, skip: Optional[set[int]], snip_args: tuple[int, int, int],
                  budget_mode: bool = True) -> bytes:
    """Every function body rewritten: all get the stack mark check; those not in `skip` are
    metered (none if skip is None: the unmetered guest)."""
    n, i = uleb(p, 0)
    if n != len(mod.func_types):
        raise InjectError("the code and function sections disagree")
    readers = frozenset(idx for idx, name in mod.names.items() if name in BUDGET_READERS)
    bodies = [_enc_u(n)]
    for k in range(n):
        size, i = uleb(p, i)
        body = p[i:i + size]
        i += size
        metered = skip is not None and mod.imported_funcs + k not in skip
        body = _rewrite_body(body, mod.params[mod.func_types[k]], snip_args, metered,
                             mod.names.get(mod.imported_funcs + k, ""), budget_mode, readers)
        bodies.append(_enc_u(len(body)) + body)
    return b"".join(bodies)
