/* The value format that crosses the guest boundary.
 *
 * It is JSON with one extra rule that makes it lossless for DeFi amounts: an integer literal
 * (no fraction, no exponent) is a BigInt, a literal with a fraction or exponent is a Number.
 * The host writes it with msgspec (Python int -> 123, float -> 1.0) and re-encodes what we
 * emit canonically, so this file only has to be exact, not canonical.
 *
 * Inputs become deep-frozen plain objects and arrays. Outputs must be plain data: own,
 * enumerable data properties of plain objects and dense arrays; no accessors are called.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dtoa.h" /* QuickJS-ng's exact text -> number parser (js_atod) */
#include "ph.h"

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

/* ---- growable byte buffer --------------------------------------------------------------- */

int ph_buf_put(ph_buf_t *b, const char *s, size_t n)
{
    if (b->overflow)
        return -1;
    if (b->len + n > b->limit) {
        b->overflow = 1;
        return -1;
    }
    if (b->len + n > b->cap) {
        size_t cap = b->cap ? b->cap : 256;
        while (cap < b->len + n)
            cap *= 2;
        char *p = ph_malloc_functions.js_realloc(NULL, b->data, cap);
        if (!p) {
            b->overflow = 2; /* out of memory, not over the limit */
            return -1;
        }
        b->data = p;
        b->cap = cap;
    }
    memcpy(b->data + b->len, s, n);
    b->len += n;
    return 0;
}

void ph_buf_free(ph_buf_t *b)
{
    ph_malloc_functions.js_free(NULL, b->data);
    memset(b, 0, sizeof(*b));
}

/* ---- decoder ------------------------------------------------------------------------------ */

typedef struct dec {
    JSContext *ctx;
    const char *p, *end;
    uint32_t depth, max_depth;
    const char *err;
    ph_buf_t scratch;
} dec_t;

static JSValue dec_fail(dec_t *d, const char *msg)
{
    if (!d->err)
        d->err = msg;
    return JS_EXCEPTION;
}

/* Gas counts basic blocks, so a loop that looks at one byte per iteration pays two or three
 * units per byte. The scanners below look at eight bytes per step (wasm loads need no
 * alignment) with the usual bit tricks: the lowest flagged byte of a mask is exactly the
 * first byte that matched (carries only run upwards), so its index ends the scan. Byte by
 * byte only in the last seven bytes of the input. */
typedef uint64_t __attribute__((aligned(1), may_alias)) unaligned_u64;
#define ONES 0x0101010101010101ULL
#define HIGHS 0x8080808080808080ULL
/* flags the bytes of x below n (the lowest flag is exact; n <= 128) */
#define BELOW(x, n) (((x) - ONES * (n)) & ~(x) & HIGHS)
#define EQUAL(x, b) BELOW((x) ^ (ONES * (uint8_t)(b)), 1)
/* flags the bytes of x that are not ASCII digits (the lowest flag is exact) */
#define NOT_DIGITS(x) ((((x) - ONES * '0') | ((x) + ONES * 0x46)) & HIGHS)
#define FIRST_FLAGGED(m) (__builtin_ctzll(m) >> 3)

static int is_digit(char c) { return c >= '0' && c <= '9'; }

static const char *scan_digits(const char *p, const char *end)
{
    for (; end - p >= 8; p += 8) {
        uint64_t m = NOT_DIGITS(*(const unaligned_u64 *)p);
        if (m)
            return p + FIRST_FLAGGED(m);
    }
    while (p < end && is_digit(*p))
        p++;
    return p;
}

/* to the first '"', '\\' or control character (or the end) */
static const char *scan_plain_string(const char *p, const char *end)
{
    for (; end - p >= 8; p += 8) {
        uint64_t x = *(const unaligned_u64 *)p;
        uint64_t m = BELOW(x, 0x20) | EQUAL(x, '"') | EQUAL(x, '\\');
        if (m)
            return p + FIRST_FLAGGED(m);
    }
    while (p < end && (unsigned char)*p >= 0x20 && *p != '"' && *p != '\\')
        p++;
    return p;
}

static void skip_ws(dec_t *d)
{
    /* the host sends compact JSON: one comparison settles the usual case */
    if (d->p < d->end && (unsigned char)*d->p > ' ')
        return;
    while (d->p < d->end && (*d->p == ' ' || *d->p == '\n' || *d->p == '\r' || *d->p == '\t'))
        d->p++;
}

static int hex4(const char *p, uint32_t *out)
{
    uint32_t v = 0;
    for (int i = 0; i < 4; i++) {
        char c = p[i];
        v <<= 4;
        if (c >= '0' && c <= '9') v |= (uint32_t)(c - '0');
        else if (c >= 'a' && c <= 'f') v |= (uint32_t)(c - 'a' + 10);
        else if (c >= 'A' && c <= 'F') v |= (uint32_t)(c - 'A' + 10);
        else return -1;
    }
    *out = v;
    return 0;
}

static int put_utf8(ph_buf_t *b, uint32_t c)
{
    char u[4];
    size_t n;
    if (c < 0x80) { u[0] = (char)c; n = 1; }
    else if (c < 0x800) { u[0] = (char)(0xC0 | (c >> 6)); u[1] = (char)(0x80 | (c & 0x3F)); n = 2; }
    else if (c < 0x10000) {
        u[0] = (char)(0xE0 | (c >> 12)); u[1] = (char)(0x80 | ((c >> 6) & 0x3F));
        u[2] = (char)(0x80 | (c & 0x3F)); n = 3;
    } else {
        u[0] = (char)(0xF0 | (c >> 18)); u[1] = (char)(0x80 | ((c >> 12) & 0x3F));
        u[2] = (char)(0x80 | ((c >> 6) & 0x3F)); u[3] = (char)(0x80 | (c & 0x3F)); n = 4;
    }
    return ph_buf_put(b, u, n);
}

/* Parses a string literal (d->p at the opening quote). On success *s / *n point either into
 * the input (no escapes) or into d->scratch. */
static int dec_string(dec_t *d, const char **s, size_t *n)
{
    const char *start = ++d->p;
    d->p = scan_plain_string(d->p, d->end);
    if (d->p >= d->end)
        return dec_fail(d, "unterminated string"), -1;
    if ((unsigned char)*d->p < 0x20)
        return dec_fail(d, "control character in string"), -1;
    if (*d->p == '"') {
        *s = start;
        *n = (size_t)(d->p - start);
        d->p++;
        return 0;
    }
    ph_buf_t *b = &d->scratch;
    b->len = 0;
    if (ph_buf_put(b, start, (size_t)(d->p - start)))
        return dec_fail(d, "out of memory"), -1;
    while (d->p < d->end && *d->p != '"') {
        char c = *d->p++;
        if ((unsigned char)c < 0x20)
            return dec_fail(d, "control character in string"), -1;
        if (c != '\\') {
            if (ph_buf_put(b, &c, 1)) return dec_fail(d, "out of memory"), -1;
            continue;
        }
        if (d->p >= d->end)
            break;
        char e = *d->p++, r;
        switch (e) {
        case '"': r = '"'; break;
        case '\\': r = '\\'; break;
        case '/': r = '/'; break;
        case 'b': r = '\b'; break;
        case 'f': r = '\f'; break;
        case 'n': r = '\n'; break;
        case 'r': r = '\r'; break;
        case 't': r = '\t'; break;
        case 'u': {
            uint32_t cp, lo;
            if (d->end - d->p < 4 || hex4(d->p, &cp))
                return dec_fail(d, "bad \\u escape"), -1;
            d->p += 4;
            if (cp >= 0xDC00 && cp <= 0xDFFF)
                return dec_fail(d, "lone surrogate in string"), -1;
            if (cp >= 0xD800 && cp <= 0xDBFF) {
                if (d->end - d->p < 6 || d->p[0] != '\\' || d->p[1] != 'u' || hex4(d->p + 2, &lo) ||
                    lo < 0xDC00 || lo > 0xDFFF)
                    return dec_fail(d, "lone surrogate in string"), -1;
                d->p += 6;
                cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
            }
            if (put_utf8(b, cp)) return dec_fail(d, "out of memory"), -1;
            continue;
        }
        default:
            return dec_fail(d, "bad escape in string"), -1;
        }
        if (ph_buf_put(b, &r, 1)) return dec_fail(d, "out of memory"), -1;
    }
    if (d->p >= d->end)
        return dec_fail(d, "unterminated string"), -1;
    d->p++;
    *s = b->data;
    *n = b->len;
    return 0;
}

#define MAX_NUMBER_LITERAL 400

static JSValue dec_number(dec_t *d)
{
    JSContext *ctx = d->ctx;
    const char *s = d->p;
    int is_float = 0;
    if (d->p < d->end && *d->p == '-') d->p++;
    if (d->p >= d->end || !is_digit(*d->p)) return dec_fail(d, "bad number");
    if (*d->p == '0') d->p++;
    else d->p = scan_digits(d->p, d->end);
    if (d->p < d->end && *d->p == '.') {
        is_float = 1;
        d->p++;
        if (d->p >= d->end || !is_digit(*d->p)) return dec_fail(d, "bad number");
        d->p = scan_digits(d->p, d->end);
    }
    if (d->p < d->end && (*d->p == 'e' || *d->p == 'E')) {
        is_float = 1;
        d->p++;
        if (d->p < d->end && (*d->p == '+' || *d->p == '-')) d->p++;
        if (d->p >= d->end || !is_digit(*d->p)) return dec_fail(d, "bad number");
        while (d->p < d->end && is_digit(*d->p)) d->p++;
    }
    size_t n = (size_t)(d->p - s);
    if (is_float) {
        char tmp[MAX_NUMBER_LITERAL + 1];
        if (n > MAX_NUMBER_LITERAL) return dec_fail(d, "number literal too long");
        memcpy(tmp, s, n);
        tmp[n] = 0;
        /* QuickJS's parser, the one JS itself uses: exact like strtod and a fraction of the
         * gas of libc's */
        JSATODTempMem mem;
        double v = js_atod(tmp, NULL, 10, 0, &mem);
        if (!isfinite(v)) return dec_fail(d, "number out of range (NaN and Infinity are not values)");
        return JS_NewFloat64(ctx, v);
    }
    if (n <= 18) { /* fits int64 */
        int64_t v = 0;
        int neg = *s == '-';
        for (const char *q = s + neg; q < d->p; q++) v = v * 10 + (*q - '0');
        return JS_NewBigInt64(ctx, neg ? -v : v);
    }
    int neg = *s == '-';
    JSValue big = ph_bigint_from_digits(ctx, s + neg, n - (size_t)neg, neg);
    if (JS_IsException(big)) return dec_fail(d, "integer too large for a BigInt");
    return big;
}

static JSValue dec_value(dec_t *d);

/* room for this many keys up front; larger objects grow as keys arrive */
#define OBJECT_SIZE_HINT 6

static JSValue dec_container(dec_t *d, char close)
{
    JSContext *ctx = d->ctx;
    if (++d->depth > d->max_depth)
        return dec_fail(d, "input nested deeper than the depth limit");
    d->p++;
    JSValue obj = close == '}' ? ph_object_new(ctx, OBJECT_SIZE_HINT) : JS_NewArray(ctx);
    if (JS_IsException(obj)) return dec_fail(d, "out of memory");
    skip_ws(d);
    if (d->p < d->end && *d->p == close) {
        d->p++;
        goto done;
    }
    for (;;) {
        JSValue v;
        skip_ws(d);
        if (close == '}') {
            const char *k;
            size_t kn;
            if (d->p >= d->end || *d->p != '"') goto bad;
            if (dec_string(d, &k, &kn)) goto bad;
            /* define, never set: "__proto__" and "constructor" stay ordinary own properties */
            JSAtom atom = JS_NewAtomLen(ctx, k, kn);
            if (atom == JS_ATOM_NULL) goto bad;
            skip_ws(d);
            if (d->p >= d->end || *d->p != ':') { JS_FreeAtom(ctx, atom); goto bad; }
            d->p++;
            v = dec_value(d);
            if (JS_IsException(v)) { JS_FreeAtom(ctx, atom); goto bad; }
            /* frozen as built: enumerable, neither writable nor configurable; a repeated
             * key is malformed input */
            int r = ph_object_add_frozen(ctx, obj, atom, v);
            JS_FreeAtom(ctx, atom);
            if (r < 0) goto bad;
        } else {
            v = dec_value(d);
            if (JS_IsException(v)) goto bad;
            if (ph_array_append(ctx, obj, v) < 0) goto bad;
        }
        skip_ws(d);
        if (d->p < d->end && *d->p == ',') { d->p++; continue; }
        if (d->p < d->end && *d->p == close) { d->p++; break; }
        goto bad;
    }
done:
    d->depth--;
    if (close == ']') {
        if (ph_array_freeze(ctx, obj) < 0) goto bad; /* elements and length: read-only */
    } else if (JS_PreventExtensions(ctx, obj) < 0) {
        goto bad;
    }
    return obj;
bad:
    JS_FreeValue(ctx, obj);
    return dec_fail(d, close == '}' ? "malformed object" : "malformed array");
}

static JSValue dec_value(dec_t *d)
{
    skip_ws(d);
    if (d->p >= d->end) return dec_fail(d, "unexpected end of input");
    switch (*d->p) {
    case '{': return dec_container(d, '}');
    case '[': return dec_container(d, ']');
    case '"': {
        const char *s;
        size_t n;
        if (dec_string(d, &s, &n)) return JS_EXCEPTION;
        JSValue v = JS_NewStringLen(d->ctx, s, n);
        return JS_IsException(v) ? dec_fail(d, "out of memory") : v;
    }
    case 't':
        if (d->end - d->p >= 4 && !memcmp(d->p, "true", 4)) { d->p += 4; return JS_TRUE; }
        break;
    case 'f':
        if (d->end - d->p >= 5 && !memcmp(d->p, "false", 5)) { d->p += 5; return JS_FALSE; }
        break;
    case 'n':
        if (d->end - d->p >= 4 && !memcmp(d->p, "null", 4)) { d->p += 4; return JS_NULL; }
        break;
    default:
        return dec_number(d);
    }
    return dec_fail(d, "unexpected token");
}

JSValue ph_decode(JSContext *ctx, const char *src, size_t len, uint32_t max_depth, const char **err)
{
    dec_t d = { .ctx = ctx, .p = src, .end = src + len, .max_depth = max_depth };
    d.scratch.limit = SIZE_MAX;
    JSValue v = dec_value(&d);
    if (!JS_IsException(v)) {
        skip_ws(&d);
        if (d.p != d.end) {
            JS_FreeValue(ctx, v);
            v = dec_fail(&d, "trailing bytes after the value");
        }
    }
    ph_buf_free(&d.scratch);
    if (JS_IsException(v)) {
        /* a throw from inside (out of memory) must not leak into the plugin's call */
        JS_FreeValue(ctx, JS_GetException(ctx));
        *err = d.err ? d.err : "malformed input";
    }
    return v;
}

/* ---- encoder ------------------------------------------------------------------------------ */

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
