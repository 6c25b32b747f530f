/* QuickJS-ng's quickjs.c, compiled as one translation unit with the few harness functions
 * that need its internals. Nothing here changes QuickJS: the file is included as the pinned
 * sdist ships it, and the additions below only call its own static functions. If a new
 * QuickJS-ng renames them, this file stops compiling (the pin makes that a deliberate step).
 */
/* The interpreter's dispatch: a switch on the opcode, not computed goto. quickjs.c picks
 * computed goto for every compiler but Emscripten's and MSVC's, by the macro below, which it
 * uses for nothing else (runtime/build.py checks that). wasm has no indirect jumps, so LLVM
 * lowers computed goto to a load of the label's number from a table in linear memory and then
 * a br_table on it: one bounds-checked load more per bytecode than the switch's br_table on
 * the opcode itself. The switch ran a JS loop 6% faster on wasmer (benches/gas.py, A/B). */
#define EMSCRIPTEN 1
#include "quickjs.c"
#undef EMSCRIPTEN

#include "ph.h"

/* A BigInt from decimal digits, for the input decoder (codec.c).
 *
 * Why not the BigInt constructor: an amount like 10**24 went through JS_Call, a string, the
 * constructor's ToPrimitive, a C-string copy, strlen and a digit-at-a-time loop -- about 425
 * gas per 25-digit amount, 15% of an exact Uniswap quote. Here nine digits at a time become
 * one limb of 10**9, the same arithmetic as js_bigint_from_string, without the detours.
 * `digits`: n >= 1 ASCII digits, already validated by the decoder. */
JSValue ph_bigint_from_digits(JSContext *ctx, const char *digits, size_t n, int negative)
{
    if (n > (size_t)JS_BIGINT_MAX_SIZE * JS_LIMB_BITS) /* js_bigint_new refuses these as well */
        return JS_ThrowRangeError(ctx, "BigInt is too large to allocate");
    int n_bits = (int)((n * 27 + 7) / 8); /* >= n * log2(10) */
    JSBigInt *r = js_bigint_new(ctx, n_bits / JS_LIMB_BITS + 2); /* + one limb for the sign */
    if (!r)
        return JS_EXCEPTION;
    size_t head = n % JS_LIMB_DIGITS ? n % JS_LIMB_DIGITS : JS_LIMB_DIGITS, i = 0;
    js_limb_t v = 0;
    for (; i < head; i++)
        v = v * 10 + (js_limb_t)(digits[i] - '0');
    r->tab[0] = v;
    int len = 1;
    while (i < n) {
        v = 0;
        for (int k = 0; k < JS_LIMB_DIGITS; k++)
            v = v * 10 + (js_limb_t)(digits[i + k] - '0');
        i += JS_LIMB_DIGITS;
        js_limb_t high = js_mp_mul1(r->tab, r->tab, len, js_pow_dec[JS_LIMB_DIGITS], v);
        if (high)
            r->tab[len++] = high;
    }
    if (r->tab[len - 1] >> (JS_LIMB_BITS - 1)) /* keep it positive: a zero sign limb */
        r->tab[len++] = 0;
    r->len = len;
    r = js_bigint_normalize(ctx, r);
    if (negative) {
        JSBigInt *neg = js_bigint_neg(ctx, r);
        js_free(ctx, r);
        if (!neg)
            return JS_EXCEPTION;
        r = neg;
    }
    return JS_CompactBigInt(ctx, r);
}

/* Frozen plain objects for the input decoder, built property by property without
 * JS_DefineProperty's generic path. An object made by JS_NewObject starts on the shared
 * hashed shape of {} and every added key looks up, clones and re-hashes shapes (~150 gas per
 * key). An input object never changes after it is built, so it gets a shape of its own,
 * sized up front and never hashed: adding a key is a lookup for duplicates and an append. */
JSValue ph_object_new(JSContext *ctx, int size_hint)
{
    return JS_NewObjectProtoClassAlloc(ctx, ctx->class_proto[JS_CLASS_OBJECT], JS_CLASS_OBJECT, size_hint);
}

/* Adds `atom: val` (enumerable, neither writable nor configurable) to an object from
 * ph_object_new; takes `val`. -1 for a repeated key (the caller reports malformed input) or
 * out of memory. */
int ph_object_add_frozen(JSContext *ctx, JSValueConst obj, JSAtom atom, JSValue val)
{
    JSObject *p = JS_VALUE_GET_OBJ(obj);
    JSProperty *pr = find_own_property1(p, atom) ? NULL : add_property(ctx, p, atom, JS_PROP_ENUMERABLE);
    if (!pr) {
        JS_FreeValue(ctx, val);
        return -1;
    }
    pr->u.value = val;
    return 0;
}

/* Frozen arrays for the input decoder. Elements are appended to a fast array (no per-index
 * property), then the array is frozen in one pass: converted to an ordinary array once, its
 * private shape's flags set to enumerable-only and its length to read-only -- what
 * Object.freeze ends with, without redefining each index through JS_DefineProperty. */
int ph_array_append(JSContext *ctx, JSValueConst arr, JSValue val)
{
    return add_fast_array_element(ctx, JS_VALUE_GET_OBJ(arr), val, 0) < 0 ? -1 : 0;
}

int ph_array_freeze(JSContext *ctx, JSValueConst arr)
{
    JSObject *p = JS_VALUE_GET_OBJ(arr);
    if (!p->fast_array || convert_fast_array_to_array(ctx, p))
        return -1;
    /* the shape is now this array's own (convert_fast_array_to_array prepared it for
     * update): property 0 is length, then one property per element */
    JSShape *sh = p->shape;
    if (sh->is_hashed || JS_REF_COUNT(sh) != 1)
        return -1;
    JSShapeProperty *prs = get_shape_prop(sh);
    prs[0].flags &= ~JS_PROP_WRITABLE;
    for (uint32_t i = 1; i < sh->prop_count; i++)
        prs[i].flags = JS_PROP_ENUMERABLE;
    p->extensible = false;
    return 0;
}

/* The decimal digits of a BigInt, appended to the encoder's buffer.
 *
 * Why not JS_ToCStringLen: it builds the digits in a scratch buffer, copies them into a new
 * JS string, and then counts that string's non-ASCII bytes one by one before handing it
 * out -- about 175 gas per 25-digit amount, two allocations and two frees. Here the limbs
 * are divided by 10**9 in a copy (as js_bigint_to_string1 does) and each nine-digit chunk is
 * written once. Returns ph_buf_put's result, or -2 when out of memory. */
int ph_bigint_write_decimal(JSContext *ctx, JSValueConst val, ph_buf_t *out)
{
    char small[16];
    if (JS_VALUE_GET_TAG(val) == JS_TAG_SHORT_BIG_INT) {
        int64_t s = JS_VALUE_GET_SHORT_BIG_INT(val);
        uint64_t u = s < 0 ? 0 - (uint64_t)s : (uint64_t)s;
        char *q = small + sizeof(small);
        do {
            *--q = (char)('0' + u % 10);
            u /= 10;
        } while (u);
        if (s < 0)
            *--q = '-';
        return ph_buf_put(out, q, (size_t)(small + sizeof(small) - q));
    }
    JSBigInt *r = JS_VALUE_GET_PTR(val);
    int len = r->len, neg = js_bigint_sign(r);
    /* a working copy of the magnitude, and room for its digits: 10 decimal digits per limb
     * is more than enough (2**32 < 10**10) */
    size_t cap = (size_t)len * 10 + 2;
    js_limb_t limbs_small[8];
    char digits_small[8 * 10 + 2];
    js_limb_t *t = len <= 8 ? limbs_small : js_malloc(ctx, (size_t)len * sizeof(js_limb_t));
    char *buf = len <= 8 ? digits_small : js_malloc(ctx, cap);
    int ret = -2;
    if (!t || !buf)
        goto done;
    if (neg) { /* two's complement magnitude */
        js_limb_t carry = 1;
        for (int i = 0; i < len; i++) {
            js_limb_t v = ~r->tab[i] + carry;
            carry = v < carry;
            t[i] = v;
        }
    } else {
        memcpy(t, r->tab, (size_t)len * sizeof(js_limb_t));
    }
    char *q = buf + cap;
    for (;;) {
        while (len > 1 && t[len - 1] == 0)
            len--;
        if (len == 1 && t[0] < js_pow_dec[JS_LIMB_DIGITS]) {
            js_limb_t v = t[0]; /* the leading chunk: no leading zeros */
            do {
                *--q = (char)('0' + v % 10);
                v /= 10;
            } while (v);
            break;
        }
        js_limb_t v = js_mp_div1(t, t, len, js_pow_dec[JS_LIMB_DIGITS], 0);
        for (int k = 0; k < JS_LIMB_DIGITS; k++) { /* a fixed nine digits, zero-padded */
            *--q = (char)('0' + v % 10);
            v /= 10;
        }
    }
    if (neg)
        *--q = '-';
    ret = ph_buf_put(out, q, (size_t)(buf + cap - q));
done:
    if (t && t != limbs_small)
        js_free(ctx, t);
    if (buf && buf != digits_small)
        js_free(ctx, buf);
    return ret;
}
