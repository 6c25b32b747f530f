/* The value format that crosses the guest boundary, and its reader (encode.c writes it).
 *
 * It is JSON with one extra rule that makes it lossless for DeFi amounts: an integer literal
 * (no fraction, no exponent) is a BigInt, a literal with a fraction or exponent is a Number.
 * The host writes it with msgspec (Python int -> 123, float -> 1.0) and re-encodes what we
 * emit canonically, so the guest only has to be exact, not canonical.
 *
 * Inputs become deep-frozen plain objects and arrays.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dtoa.h" /* QuickJS-ng's exact text -> number parser (js_atod) */
#include "ph.h"
#include "scan8.h"

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
