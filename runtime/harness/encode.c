/* The writer of the value format codec.c describes: a plugin's result (or an error) as JSON.
 *
 * Outputs must be plain data: own, enumerable data properties of plain objects and dense
 * arrays; no accessors are called. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "ph.h"
#include "scan8.h"

static JSValue object_proto = JS_UNDEFINED;
static JSClassID array_class, object_class;

void ph_codec_init(JSContext *ctx)
{
    JSValue a = JS_NewArray(ctx), o = JS_NewObject(ctx);
    array_class = JS_GetClassID(a);
    object_class = JS_GetClassID(o);
    object_proto = JS_GetPrototype(ctx, o);
    JS_FreeValue(ctx, a);
    JS_FreeValue(ctx, o);
}

typedef struct enc {
    JSContext *ctx;
    ph_buf_t *out;
    uint32_t depth, max_depth;
    char *errbuf;
    size_t errcap;
} enc_t;

static int enc_fail(enc_t *e, int status, const char *msg)
{
    if (e->errbuf[0] == 0)
        snprintf(e->errbuf, e->errcap, "%s", msg);
    return status;
}

/* after ph_buf_put refused: out of memory, or over the output limit */
static int enc_overflow(enc_t *e)
{
    if (e->out->overflow == 2)
        return enc_fail(e, PH_OUT_OF_MEMORY, "out of memory while encoding the output");
    return enc_fail(e, PH_OUTPUT_TOO_LARGE, "output exceeds the output size limit");
}

static int enc_put(enc_t *e, const char *s, size_t n)
{
    return ph_buf_put(e->out, s, n) == 0 ? PH_OK : enc_overflow(e);
}

/* Error texts (a thrown message, a stack) are reported even when they hold lone surrogates:
 * those become U+FFFD. Values never are: a lone surrogate there is InvalidOutput. */
static int lossy_strings;

void ph_codec_lossy(int on)
{
    lossy_strings = on;
}

static int enc_string_bytes(enc_t *e, const char *s, size_t n)
{
    static const char hex[] = "0123456789abcdef";
    int r;
    if ((r = enc_put(e, "\"", 1))) return r;
    size_t run = 0;
    for (size_t i = 0; i < n; i++) {
        /* eight bytes at a time up to the next byte that needs a look (see the scanners) */
        for (; n - i >= 8; i += 8) {
            uint64_t x = *(const unaligned_u64 *)(s + i);
            uint64_t m = BELOW(x, 0x20) | EQUAL(x, '"') | EQUAL(x, '\\') | EQUAL(x, 0xED);
            if (m) {
                i += FIRST_FLAGGED(m);
                break;
            }
        }
        if (i >= n)
            break;
        unsigned char c = (unsigned char)s[i];
        /* QuickJS writes a lone surrogate as its 3-byte WTF-8 form: ED A0..BF xx */
        if (c == 0xED && i + 2 < n && (unsigned char)s[i + 1] >= 0xA0) {
            if (!lossy_strings)
                return enc_fail(e, PH_INVALID_OUTPUT, "strings with lone surrogates cannot cross the boundary");
            if ((r = enc_put(e, s + run, i - run)) || (r = enc_put(e, "\xEF\xBF\xBD", 3))) return r;
            i += 2;
            run = i + 1;
            continue;
        }
        if (c >= 0x20 && c != '"' && c != '\\')
            continue;
        if ((r = enc_put(e, s + run, i - run))) return r;
        char esc[6] = { '\\', 'u', '0', '0', hex[c >> 4], hex[c & 15] };
        if (c == '"' || c == '\\') {
            esc[1] = (char)c;
            r = enc_put(e, esc, 2);
        } else {
            r = enc_put(e, esc, 6);
        }
        if (r) return r;
        run = i + 1;
    }
    if ((r = enc_put(e, s + run, n - run))) return r;
    return enc_put(e, "\"", 1);
}

static int enc_js_string(enc_t *e, JSValueConst v)
{
    JSContext *ctx = e->ctx;
    int64_t units = 0;
    /* UTF-8 never has fewer bytes than UTF-16 units: refuse before copying a huge string */
    JS_GetLength(ctx, v, &units);
    if ((uint64_t)units > e->out->limit)
        return enc_fail(e, PH_OUTPUT_TOO_LARGE, "output exceeds the output size limit");
    size_t n;
    const char *s = JS_ToCStringLen(ctx, &n, v);
    if (!s)
        return enc_fail(e, PH_OUT_OF_MEMORY, "out of memory while encoding the output");
    int r = enc_string_bytes(e, s, n);
    JS_FreeCString(ctx, s);
    return r;
}

static int enc_value(enc_t *e, JSValueConst v);

static int enc_property(enc_t *e, JSValueConst obj, JSAtom atom, int *first, int in_array)
{
    JSContext *ctx = e->ctx;
    JSPropertyDescriptor desc;
    int has = JS_GetOwnProperty(ctx, &desc, obj, atom);
    if (has < 0)
        return enc_fail(e, PH_INVALID_OUTPUT, "a property could not be read");
    if (has == 0)
        return in_array ? enc_fail(e, PH_INVALID_OUTPUT, "arrays with holes cannot cross the boundary") : PH_OK;
    int r = PH_OK;
    if (desc.flags & JS_PROP_GETSET) {
        r = enc_fail(e, PH_INVALID_OUTPUT, "accessor properties (getters) cannot cross the boundary");
    } else if (JS_IsUndefined(desc.value) && !in_array) {
        /* like JSON.stringify: a property whose value is undefined is left out */
    } else {
        if (!*first && (r = enc_put(e, ",", 1))) goto out;
        *first = 0;
        if (!in_array) {
            size_t kn;
            const char *k = JS_AtomToCStringLen(ctx, &kn, atom);
            if (!k) { r = enc_fail(e, PH_OUT_OF_MEMORY, "out of memory while encoding the output"); goto out; }
            r = enc_string_bytes(e, k, kn);
            JS_FreeCString(ctx, k);
            if (r || (r = enc_put(e, ":", 1))) goto out;
        }
        r = enc_value(e, desc.value);
    }
out:
    JS_FreeValue(ctx, desc.value);
    JS_FreeValue(ctx, desc.getter);
    JS_FreeValue(ctx, desc.setter);
    return r;
}

static int enc_object(enc_t *e, JSValueConst v)
{
    JSContext *ctx = e->ctx;
    int r, first = 1;
    if (++e->depth > e->max_depth)
        return enc_fail(e, PH_INVALID_OUTPUT, "output nested too deeply (or cyclic)");
    JSClassID cls = JS_GetClassID(v);
    if (cls == array_class && !JS_IsProxy(v)) {
        int64_t len;
        if (JS_GetLength(ctx, v, &len) < 0)
            return enc_fail(e, PH_INVALID_OUTPUT, "array length could not be read");
        if ((r = enc_put(e, "[", 1))) return r;
        for (int64_t i = 0; i < len; i++) {
            JSAtom atom = JS_NewAtomUInt32(ctx, (uint32_t)i);
            r = enc_property(e, v, atom, &first, 1);
            JS_FreeAtom(ctx, atom);
            if (r) return r;
        }
        r = enc_put(e, "]", 1);
    } else if (cls == object_class) {
        JSValue proto = JS_GetPrototype(ctx, v);
        int plain = JS_IsNull(proto) || JS_VALUE_GET_PTR(proto) == JS_VALUE_GET_PTR(object_proto);
        JS_FreeValue(ctx, proto);
        if (!plain)
            return enc_fail(e, PH_INVALID_OUTPUT, "only plain objects cross the boundary (not class instances)");
        JSPropertyEnum *tab;
        uint32_t n;
        if (JS_GetOwnPropertyNames(ctx, &tab, &n, v, JS_GPN_STRING_MASK | JS_GPN_ENUM_ONLY) < 0)
            return enc_fail(e, PH_INVALID_OUTPUT, "object keys could not be read");
        r = enc_put(e, "{", 1);
        for (uint32_t i = 0; i < n && !r; i++)
            r = enc_property(e, v, tab[i].atom, &first, 0);
        JS_FreePropertyEnum(ctx, tab, n);
        if (!r) r = enc_put(e, "}", 1);
    } else if (JS_IsFunction(ctx, v)) {
        r = enc_fail(e, PH_INVALID_OUTPUT, "functions cannot cross the boundary");
    } else {
        r = enc_fail(e, PH_INVALID_OUTPUT,
                     "only plain objects, arrays and primitives cross the boundary "
                     "(not Map, Set, typed arrays, errors, promises or proxies)");
    }
    e->depth--;
    return r;
}

static int enc_number(enc_t *e, JSValueConst v)
{
    double d;
    JS_ToFloat64(e->ctx, &d, v);
    if (!isfinite(d))
        return enc_fail(e, PH_INVALID_OUTPUT, "NaN and Infinity cannot cross the boundary");
    if (d == 0)
        return enc_put(e, signbit(d) ? "-0.0" : "0.0", signbit(d) ? 4 : 3);
    char s[32]; /* digits and an exponent: always a float literal on the host (numfmt.c) */
    return enc_put(e, s, ph_format_double(d, s));
}

static int enc_value(enc_t *e, JSValueConst v)
{
    if (JS_IsNull(v)) return enc_put(e, "null", 4);
    if (JS_IsBool(v)) return JS_VALUE_GET_BOOL(v) ? enc_put(e, "true", 4) : enc_put(e, "false", 5);
    if (JS_IsNumber(v)) return enc_number(e, v);
    if (JS_IsBigInt(v)) {
        int r = ph_bigint_write_decimal(e->ctx, v, e->out);
        if (r == -2) return enc_fail(e, PH_OUT_OF_MEMORY, "out of memory while encoding the output");
        return r ? enc_overflow(e) : PH_OK;
    }
    if (JS_IsString(v)) return enc_js_string(e, v);
    if (JS_IsObject(v)) return enc_object(e, v);
    if (JS_IsUndefined(v)) return enc_fail(e, PH_INVALID_OUTPUT, "undefined cannot cross the boundary inside arrays");
    if (JS_IsSymbol(v)) return enc_fail(e, PH_INVALID_OUTPUT, "symbols cannot cross the boundary");
    return enc_fail(e, PH_INVALID_OUTPUT, "this value cannot cross the boundary");
}

int ph_encode_message(ph_buf_t *out, const char *msg)
{
    char err[8];
    enc_t e = { .out = out, .errbuf = err, .errcap = sizeof(err) };
    err[0] = 0;
    int was = lossy_strings;
    lossy_strings = 1; /* a message is reported whatever it contains */
    int r = enc_put(&e, "{\"message\":", 11);
    if (!r) r = enc_string_bytes(&e, msg, strlen(msg));
    if (!r) r = enc_put(&e, "}", 1);
    lossy_strings = was;
    return r;
}

int ph_encode(JSContext *ctx, JSValueConst v, ph_buf_t *out, uint32_t max_depth, char *errbuf,
              size_t errcap)
{
    enc_t e = { .ctx = ctx, .out = out, .max_depth = max_depth, .errbuf = errbuf, .errcap = errcap };
    errbuf[0] = 0;
    if (JS_IsUndefined(v)) /* a function that returns nothing returns null */
        return enc_put(&e, "null", 4);
    return enc_value(&e, v);
}
