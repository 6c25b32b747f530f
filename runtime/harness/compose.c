/* Host-mediated composition: `plugins.call(sha256, functionName, input)`.
 *
 * A plugin granted the `compose` capability can call another plugin, pinned by its sha256,
 * through the host: the host resolves the hash (the registry only resolves active plugins its
 * policy allows), runs the callee in the callee's own realm with the caller's remaining gas, and
 * records the call in the caller's receipt. The callee's gas is charged here, to the caller, so
 * gas stays one deterministic count. This is the module's only import.
 *
 * Wire: the request is {"plugin", "function", "input"} in the boundary format (codec.c); the
 * response is a value (status OK) or {"type", "message"} (the callee failed, or the host refused).
 */
#include <string.h>

#include "ph.h"

typedef struct ph_host_io {
    uint64_t gas_left; /* in:  what the callee may use */
    uint64_t gas_used; /* out: what it used */
    uint32_t status;   /* out: enum host_status */
    uint32_t resp_len; /* out: response bytes (or bytes needed, with HOST_RETRY) */
} ph_host_io_t;

enum host_status {
    HOST_OK = 0,
    HOST_CALLEE_FAILED = 1, /* {"type", "message"}: the callee threw, ran out of gas, ... */
    HOST_REFUSED = 2,       /* {"type", "message"}: unknown or inactive plugin, depth, cycle */
    HOST_RETRY = 3,         /* the response needs resp_len bytes: call again with req_len 0 */
};

__attribute__((import_module("plugin_host"), import_name("call"))) void
ph_host_call(uint32_t req_ptr, uint32_t req_len, uint32_t resp_ptr, uint32_t resp_cap, uint32_t io_ptr);

/* Host work per composed call (resolving, a realm restore, two codec passes), on top of the
 * callee's own gas and the response bytes. */
#define COMPOSE_BASE_GAS 2000u
#define FIRST_RESPONSE 4096u

static JSValue throw_failure(JSContext *c, const char *data, size_t len, const char *prefix)
{
    const char *err = NULL;
    JSValue detail = ph_decode(c, data, len, 4, &err);
    JSValue type = JS_IsException(detail) ? JS_UNDEFINED : JS_GetPropertyStr(c, detail, "type");
    JSValue msg = JS_IsException(detail) ? JS_UNDEFINED : JS_GetPropertyStr(c, detail, "message");
    const char *t = JS_IsString(type) ? JS_ToCString(c, type) : NULL;
    const char *m = JS_IsString(msg) ? JS_ToCString(c, msg) : NULL;
    /* catchable: a plugin may fall back when a plugin it composes fails */
    JS_ThrowTypeError(c, "%s: %s: %s", prefix, t ? t : "PluginError", m ? m : "the call failed");
    if (t)
        JS_FreeCString(c, t);
    if (m)
        JS_FreeCString(c, m);
    JS_FreeValue(c, type);
    JS_FreeValue(c, msg);
    JS_FreeValue(c, detail);
    return JS_EXCEPTION;
}

static JSValue js_plugins_call(JSContext *c, JSValueConst this_val, int argc, JSValueConst *argv)
{
    (void)this_val;
    if (!(ph_ctl.capabilities & PH_CAP_COMPOSE))
        return ph_deny(c, PH_CAP_COMPOSE, "capability 'compose' is not granted: plugins.call is disabled");
    if (argc < 2 || !JS_IsString(argv[0]) || !JS_IsString(argv[1]))
        return JS_ThrowTypeError(c, "plugins.call(sha256, functionName, input)");

    JSValue req = JS_NewObject(c);
    JS_SetPropertyStr(c, req, "plugin", JS_DupValue(c, argv[0]));
    JS_SetPropertyStr(c, req, "function", JS_DupValue(c, argv[1]));
    JS_SetPropertyStr(c, req, "input", argc > 2 ? JS_DupValue(c, argv[2]) : JS_NULL);
    ph_buf_t buf = { .limit = ph_ctl.max_output };
    char err[256];
    int st = ph_encode(c, req, &buf, ph_ctl.max_depth, err, sizeof(err));
    JS_FreeValue(c, req);
    if (st) {
        ph_buf_free(&buf);
        return JS_ThrowTypeError(c, "plugins.call: the input cannot cross the boundary: %s", err);
    }

    ph_host_io_t io = { .gas_left = ph_gas_left() };
    uint32_t cap = FIRST_RESPONSE;
    char *resp = ph_malloc_functions.js_malloc(NULL, cap);
    if (!resp) {
        ph_buf_free(&buf);
        return JS_ThrowOutOfMemory(c);
    }
    ph_host_call((uint32_t)(uintptr_t)buf.data, (uint32_t)buf.len, (uint32_t)(uintptr_t)resp, cap,
                 (uint32_t)(uintptr_t)&io);
    ph_buf_free(&buf);
    /* the callee's gas and the host's work are the caller's, charged before anything here can
     * fail: the callee has run whatever happens next */
    ph_gas_charge(io.gas_used + COMPOSE_BASE_GAS);
    if (io.status == HOST_RETRY) {
        uint32_t need = io.resp_len;
        char *bigger = ph_malloc_functions.js_realloc(NULL, resp, need);
        if (!bigger) {
            ph_malloc_functions.js_free(NULL, resp);
            return JS_ThrowOutOfMemory(c);
        }
        resp = bigger;
        ph_host_call(0, 0, (uint32_t)(uintptr_t)resp, need, (uint32_t)(uintptr_t)&io);
    }
    ph_gas_charge(io.resp_len >> 4); /* and the bytes brought back */

    JSValue result;
    if (io.status == HOST_OK) {
        const char *derr = NULL;
        result = ph_decode(c, resp, io.resp_len, ph_ctl.max_depth, &derr);
        if (JS_IsException(result))
            result = JS_ThrowTypeError(c, "plugins.call: undecodable response: %s", derr);
    } else if (io.status == HOST_CALLEE_FAILED) {
        result = throw_failure(c, resp, io.resp_len, "PLUGIN_CALL_FAILED");
    } else {
        result = throw_failure(c, resp, io.resp_len, "PLUGIN_CALL_REFUSED");
    }
    ph_malloc_functions.js_free(NULL, resp);
    return result;
}

void ph_install_plugins(JSContext *ctx)
{
    JSValue global = JS_GetGlobalObject(ctx);
    JSValue plugins = JS_NewObject(ctx);
    JS_SetPropertyStr(ctx, plugins, "call", JS_NewCFunction(ctx, js_plugins_call, "call", 3));
    JS_SetPropertyStr(ctx, global, "plugins", plugins);
    JS_FreeValue(ctx, global);
}
