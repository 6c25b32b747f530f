"""Fuzzing the guest: random plugins and random inputs, on both engines.

Sources come from a small grammar (loops, recursion, BigInt and string operations, object
literals, throws, regexes, promises) and from raw random text. Whatever happens, the host may
only ever see a result or a PluginError subclass — never an untyped exception, a crash or a
call that outlives its gas — and both engines must agree on the outcome (output or error type,
gas). Bounded to well under a minute: a small gas limit, a fixed number of examples, and
derandomized by default so CI is reproducible (PLUGIN_HOST_FUZZ_RANDOM=1 explores new ground).
"""

import os
import time

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from _harness import ENGINES, PROBE_INPUT, PROBE_OUTPUT, PROBE_SOURCE, same
from plugin_host import FrozenRealm
from plugin_host.errors import PluginError

LIMITS = dict(gas_limit=2_000_000, memory_limit=16 << 20)
MAX_CALL_SECONDS = 2.0  # 2 M gas is ~10 ms of work: anything near this is a gas bypass
EXAMPLES = int(os.environ.get("PLUGIN_HOST_FUZZ_EXAMPLES", "200"))


def fuzz(max_examples):
    return settings(
        max_examples=max_examples,
        deadline=None,
        database=None,
        derandomize=os.environ.get("PLUGIN_HOST_FUZZ_RANDOM") != "1",
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much],
    )

# ---- a tiny JS grammar ---------------------------------------------------------------------

names = st.sampled_from(["x", "acc", "v0", "v1", "i", "s", "o", "err"])
small = st.integers(-3, 40).map(str)
num_lit = st.one_of(small, st.sampled_from(["0.1", "-0", "1e308", "NaN", "Infinity", "2 ** 53", "0x7fffffff"]))
big_lit = st.one_of(st.integers(-10**30, 10**30).map(lambda n: f"{n}n" if n >= 0 else f"({n}n)"),
                    st.sampled_from(["(2n ** 200n)", "(10n ** 50n)", "BigInt(x?.n ?? 1)"]))
str_lit = st.text(alphabet="ab\\\"'x\u00e9\U0001F600 ", max_size=6).map(
    lambda t: '"' + t.replace("\\", "\\\\").replace('"', '\\"') + '"')
regex_lit = st.sampled_from(["/(a+)+$/", "/^(a|ab)*c/", "/[\\u{1F600}]/u", "/(?<n>x)\\k<n>/", "/a*?b/g", "/./s"])
atoms = st.one_of(num_lit, big_lit, str_lit, names, st.sampled_from(["true", "null", "undefined", "[]", "{}"]))


def _compound(inner):
    binop = st.sampled_from(["+", "-", "*", "/", "%", "**", "&", "|", "<<", ">>", "===", "<", "&&", "??", ","])
    return st.one_of(
        st.tuples(inner, binop, inner).map(lambda t: f"({t[0]} {t[1]} {t[2]})"),
        st.lists(inner, max_size=3).map(lambda xs: "[" + ", ".join(xs) + "]"),
        st.lists(st.tuples(st.sampled_from(["a", "__proto__", "constructor", "toString", "'k y'", "[Symbol.iterator]"]),
                           inner), max_size=3).map(lambda kv: "({" + ", ".join(f"{k}: {v}" for k, v in kv) + "})"),
        st.tuples(st.sampled_from(["String", "Number", "BigInt", "JSON.stringify", "JSON.parse", "Object.keys",
                                   "Array.from", "Math.max", "r", "Symbol.for", "Object.freeze", "Promise.resolve",
                                   "structuredClone", "Object.getPrototypeOf"]), inner).map(lambda t: f"{t[0]}({t[1]})"),
        st.tuples(inner, st.sampled_from([".length", ".toString()", "[0]", ".a", "?.b", ".constructor",
                                          ".__proto__", ".repeat(3)", ".split('')", ".map((q) => q)",
                                          ".at(-1)", ".padEnd(9, 'z')", ".normalize()"])).map(lambda t: f"{t[0]}{t[1]}"),
        st.tuples(regex_lit, inner).map(lambda t: f"{t[0]}.test(String({t[1]}))"),
        st.tuples(inner, inner, inner).map(lambda t: f"({t[0]} ? {t[1]} : {t[2]})"),
    )


exprs = st.recursive(atoms, _compound, max_leaves=8)


def _stmt_block(inner):
    return st.one_of(
        st.tuples(exprs, inner, inner).map(lambda t: f"if ({t[0]}) {{ {t[1]} }} else {{ {t[2]} }}"),
        st.tuples(st.integers(0, 50), inner).map(lambda t: f"for (let i = 0; i < {t[0]}; i++) {{ {t[1]} }}"),
        st.tuples(inner, inner).map(lambda t: f"try {{ {t[0]} }} catch (err) {{ {t[1]} }}"),
        st.tuples(exprs, inner).map(lambda t: f"while ({t[0]}) {{ {t[1]}; break; }}"),
        st.lists(inner, min_size=1, max_size=3).map(" ".join),
    )


simple_stmts = st.one_of(
    exprs.map(lambda e: f"acc.push({e});"),
    st.tuples(st.sampled_from(["v0", "v1", "s", "o"]), exprs).map(lambda t: f"{t[0]} = {t[1]};"),
    exprs.map(lambda e: f"throw {e};"),
    exprs.map(lambda e: f"return {e};"),
    st.sampled_from(["for (;;) {}", "r(100000n);", "acc.push(...acc);", "s = s + s;", "await null;",
                     "o = new Proxy(o, { get: (t, k) => k });", "Object.prototype.x = 1;", "x.y = 1;",
                     "acc.sort((a, b) => a < b ? -1 : 1);", "queueMicrotask(() => acc.push(1));"]),
)
stmts = st.recursive(simple_stmts, _stmt_block, max_leaves=10)

PRELUDE = "function r(n) { return n > 0n ? r(n - 1n) + 1n : 0n; }\nlet v0 = 0, v1 = 1n, s = 'ab', o = {}, err = null;\n"


def plugin(body: str, is_async: bool) -> str:
    kw = "async function" if is_async else "function"
    return f"{PRELUDE}export {kw} f(x) {{ const acc = []; {body} return acc; }}\n{PROBE_SOURCE}"


# ---- inputs ----------------------------------------------------------------------------------

json_keys = st.one_of(st.text(max_size=5), st.sampled_from(["__proto__", "constructor", "n", "a", "then"]))
inputs = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(-2**70, 2**70), st.floats(allow_nan=True, allow_infinity=True),
              st.text(max_size=8)),
    lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(json_keys, inner, max_size=4)),
    max_leaves=12,
)

# ---- the property ------------------------------------------------------------------------------


def _call(realm, fn, data):
    t0 = time.perf_counter()
    try:
        res = realm.call(fn, data)
        got = ("ok", res.receipt.digest())
    except PluginError as e:  # anything else propagates and fails the test
        # (InvalidInput refused by the host before encoding carries no receipt)
        got = ("error", type(e).__name__, e.receipt.gas_used if e.receipt else None)
    elapsed = time.perf_counter() - t0
    assert elapsed < MAX_CALL_SECONDS, f"a {LIMITS['gas_limit']}-gas call took {elapsed:.2f} s"
    return got


def _run(source, data, probe: bool):
    outcomes = {}
    for engine in ENGINES:
        try:
            realm = FrozenRealm(source, engine=engine, **LIMITS)
        except PluginError as e:
            outcomes[engine] = ("load", type(e).__name__)
            continue
        got = [_call(realm, "f", data), _call(realm, "f", data)]
        assert got[0] == got[1], f"{engine}: two calls with the same input differ: {got}"
        if probe and "__probe" in realm.exports:
            assert same(realm.call("__probe", PROBE_INPUT).output, PROBE_OUTPUT)
        outcomes[engine] = got[0]
    assert outcomes["wasmer"] == outcomes["wasmtime"], f"the engines disagree: {outcomes}"
    event(" ".join(map(str, outcomes["wasmer"][:2])) if outcomes["wasmer"][0] != "ok" else "ok")


@fuzz(EXAMPLES)
@given(body=stmts, is_async=st.booleans(), data=inputs)
def test_grammar_plugins(body, is_async, data):
    _run(plugin(body, is_async), data, probe=True)


@fuzz(EXAMPLES // 2)
@given(text=st.one_of(st.text(max_size=80), st.binary(max_size=80)),
       where=st.integers(0, 10_000), body=stmts)
def test_raw_text(text, where, body):
    """Random text on its own, and spliced into a valid plugin."""
    _run(text, None, probe=False)
    src = plugin(body, False)
    if isinstance(text, bytes):
        text = text.decode("latin-1")
    at = where % (len(src) + 1)
    _run(src[:at] + text + src[at:], None, probe=False)


@pytest.mark.parametrize("engine", ENGINES)
def test_random_inputs_on_one_realm(engine):
    """Many random inputs through one realm: every restore is verified against the snapshot."""
    realm = FrozenRealm("export function f(x) { return [x, JSON.stringify(x, (k, v) => typeof v === 'bigint'"
                        " ? String(v) : v)?.length ?? null]; }", engine=engine, **LIMITS)

    @fuzz(EXAMPLES)
    @given(data=inputs)
    def check(data):
        try:
            out = realm.call("f", data).output
        except PluginError:
            return
        assert same(out[0], data), (out[0], data)  # NaN and lone surrogates never get this far

    check()
