/* plugin-host guest harness: shared declarations.
 *
 * The guest is QuickJS-ng compiled to wasm32-wasi plus this harness. The host talks to it
 * through one static control block (ph_ctl) and three exports: ph_load, ph_reserve, ph_call.
 * The control block layout is mirrored in plugin_host/_abi.py; change both together and bump
 * PH_ABI_VERSION.
 */
#ifndef PH_H
#define PH_H

#include <stddef.h>
#include <stdint.h>
#include "quickjs.h"

#define PH_ABI_VERSION 2

#define PH_EXPORT(name) __attribute__((export_name(#name))) 

enum ph_status {
    PH_OK = 0,
    PH_JS_EXCEPTION = 1,      /* the plugin threw: output holds {name, message, stack} */
    PH_NO_SUCH_EXPORT = 2,
    PH_INVALID_INPUT = 3,
    PH_INVALID_OUTPUT = 4,
    PH_OUT_OF_MEMORY = 5,
    PH_STACK_OVERFLOW = 6,
    PH_CAPABILITY_DENIED = 7,
    PH_OUTPUT_TOO_LARGE = 8,
    PH_LOG_TOO_LARGE = 9,
    PH_SYNTAX_ERROR = 10,
    PH_BAD_REQUEST = 11,      /* ABI misuse: lengths out of range, call before load, ... */
};

/* Capability bits granted at load time. */
enum ph_capability {
    PH_CAP_LOG = 1u << 0,     /* console.* writes to the bounded capture buffer */
    PH_CAP_COMPOSE = 1u << 1, /* plugins.call(sha256, name, input): another pinned plugin, via the host */
};

/* Denials that are not capabilities a realm could be granted. */
enum ph_denial {
    PH_DENY_IMPORT = 1u << 16,
};

typedef struct ph_ctl {
    uint32_t abi_version;   /*  0 out */
    uint32_t status;        /*  4 out: enum ph_status */
    uint64_t gas_limit;     /*  8 in:  budget for the next ph_load / ph_call */
    uint64_t gas_used;      /* 16 out */
    uint32_t in_ptr;        /* 24 out: static input buffer (ph_reserve may move it) */
    uint32_t in_cap;        /* 28 out */
    uint32_t out_ptr;       /* 32 out: result / error JSON */
    uint32_t out_len;       /* 36 out */
    uint32_t log_ptr;       /* 40 out: captured console output */
    uint32_t log_len;       /* 44 out */
    uint32_t memory_limit;  /* 48 in (load): JS heap limit, bytes */
    uint32_t stack_limit;   /* 52 in (load): JS stack limit, bytes */
    uint32_t capabilities;  /* 56 in (load): enum ph_capability bits */
    uint32_t max_output;    /* 60 in: output size limit, bytes */
    uint32_t max_log;       /* 64 in: captured-log size limit, bytes */
    uint32_t max_depth;     /* 68 in: nesting limit for input and output values */
    /* What a call may have changed is two ranges, [dirty_low, stack_high) and [data_low,
     * dirty_high): the stack, and the writable statics and the heap. Between them lies
     * read-only data, which no call writes, so the host does not copy it back. */
    uint32_t dirty_low;     /* 72 out: the lowest stack address a call may have written */
    uint32_t dirty_high;    /* 76 out: the top of the heap: nothing at or above it differs */
    uint32_t gas_word;      /* 80 out: address of the meter's int64 counter: a trap with it
                             *         below zero was out of gas (meter.c) */
    uint32_t denied;        /* 84 out: capability / denial bits the plugin tried to use */
    uint32_t stack_high;    /* 88 out: the top of the shadow stack (it grows down from here) */
    uint32_t data_low;      /* 92 out: the first writable static byte (.data, then .bss) */
} ph_ctl_t;

/* ph_ctl.data_low's initial value: wasm-ld defines no symbol for the start of .data, so
 * runtime/build.py replaces this value in the linked module's .data segment with that
 * segment's address (it checks that the value occurs exactly once there). */
#define PH_DATA_LOW_UNSET 0x9e3d5a71u

extern ph_ctl_t ph_ctl;

/* alloc.c: the heap (not instrumented). */
void *ph_alloc(size_t size);
void ph_release(void *ptr);
size_t ph_usable(const void *ptr);
void *ph_resize(void *ptr, size_t size);

/* meter.c: gas, allocation accounting, the stack watermark (not instrumented). */
void ph_gas_set(uint64_t limit);
uint64_t ph_gas_used(void);
uint64_t ph_gas_left(void);
void ph_gas_charge(uint64_t amount);
extern volatile int64_t ph_gas_word;
extern const JSMallocFunctions ph_malloc_functions;
uintptr_t ph_heap_high(void);
void ph_heap_limit_set(size_t limit);
int ph_heap_refused(void);
void ph_heap_refused_clear(void);
void ph_reserve_headroom(size_t bytes);
void ph_use_scratch(int on, size_t main_room);
void *ph_alloc_scratch(size_t size);
void ph_scratch_wipe(void);
uintptr_t ph_stack_low_watermark(void);
void ph_stack_reset(void);

/* codec.c: the value format on the wire (a JSON dialect: integers are BigInt, numbers with a
 * fraction or exponent are Number), its growable buffer and its reader. */
typedef struct ph_buf {
    char *data;
    size_t len, cap, limit;
    int overflow;
} ph_buf_t;

int ph_buf_put(ph_buf_t *b, const char *s, size_t n);
void ph_buf_free(ph_buf_t *b);
/* Returns JS_EXCEPTION with a message in *err on malformed input. */
JSValue ph_decode(JSContext *ctx, const char *src, size_t len, uint32_t max_depth,
                  const char **err);

/* encode.c: the writer. 0 on success; otherwise a ph_status and a message in *err (static
 * string or into errbuf). */
int ph_encode(JSContext *ctx, JSValueConst v, ph_buf_t *out, uint32_t max_depth,
              char *errbuf, size_t errcap);
void ph_codec_init(JSContext *ctx);
/* while on, lone surrogates in strings are encoded as U+FFFD instead of refused (error texts) */
void ph_codec_lossy(int on);
/* {"message": msg} without touching any JS context */
int ph_encode_message(ph_buf_t *out, const char *msg);

/* numfmt.c: text that reads back as exactly `v` (finite, nonzero); at most 26 bytes */
size_t ph_format_double(double v, char *out);

/* quickjs_unit.c: the boundary's pieces that need QuickJS internals. A BigInt from n validated
 * decimal digits; a BigInt's digits appended to `out` (-2: out of memory); a plain object
 * and its frozen properties; an array: append elements, then freeze it. */
JSValue ph_bigint_from_digits(JSContext *ctx, const char *digits, size_t n, int negative);
int ph_bigint_write_decimal(JSContext *ctx, JSValueConst val, ph_buf_t *out);
JSValue ph_object_new(JSContext *ctx, int size_hint);
int ph_object_add_frozen(JSContext *ctx, JSValueConst obj, JSAtom atom, JSValue val);
int ph_array_append(JSContext *ctx, JSValueConst arr, JSValue val);
int ph_array_freeze(JSContext *ctx, JSValueConst arr);

/* capabilities.c: a denied capability, as an uncatchable error that fails the call; the
 * console (the `log` capability) and its capture buffer; the module loader that refuses
 * every import; how a call with a denial or a log overflow ends (PH_OK: neither). */
JSValue ph_deny(JSContext *c, uint32_t bit, const char *msg);
extern ph_buf_t ph_log;
void ph_install_console(JSContext *ctx);
JSModuleDef *ph_deny_import(JSContext *c, const char *name, void *opaque);
int ph_log_overflowed(void);
int ph_denial(const char **text);

/* compose.c: the `plugins` global (host-mediated composition) */
void ph_install_plugins(JSContext *ctx);

/* lockdown.c */
int ph_lockdown(JSContext *ctx, JSValueConst roots);

#endif
