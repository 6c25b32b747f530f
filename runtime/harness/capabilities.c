/* Capabilities: what a plugin may reach besides its input, each off unless the host grants it.
 *
 *   log      console.log/info/warn/error/debug write to a bounded capture buffer (ph_log);
 *            without the capability, and past the buffer's limit, the call fails.
 *   compose  plugins.call (compose.c).
 *   imports  never: no module but the plugin itself can be loaded.
 *
 * A denial is an uncatchable error and is remembered, so the call fails even if the plugin
 * swallowed it (see ph_denial).
 */
#include <stdio.h>

#include "ph.h"

ph_buf_t ph_log;
static int log_overflow;
static char denial_text[256];

JSValue ph_deny(JSContext *c, uint32_t bit, const char *msg)
{
    if (!ph_ctl.denied)
        snprintf(denial_text, sizeof(denial_text), "%s", msg);
    ph_ctl.denied |= bit;
    JS_ThrowTypeError(c, "%s", msg);
    /* uncatchable: a plugin cannot swallow a denial and carry on */
    JSValue exc = JS_GetException(c);
    JS_SetUncatchableError(c, exc);
    return JS_Throw(c, exc);
}

static JSValue console_write(JSContext *c, JSValueConst this_val, int argc, JSValueConst *argv)
{
    (void)this_val;
    if (!(ph_ctl.capabilities & PH_CAP_LOG))
        return ph_deny(c, PH_CAP_LOG, "capability 'log' is not granted: console output is disabled");
    char err[8];
    for (int i = 0; i < argc; i++) {
        if (i && ph_buf_put(&ph_log, " ", 1))
            break;
        /* plain data as JSON; everything else as String(value) */
        size_t mark = ph_log.len;
        if (JS_IsObject(argv[i]) && !JS_IsFunction(c, argv[i]) &&
            (ph_encode(c, argv[i], &ph_log, 32, err, sizeof(err)) == 0 || ph_log.overflow))
            continue;
        ph_log.len = mark;
        size_t n;
        const char *s = JS_ToCStringLen(c, &n, argv[i]);
        if (s) {
            ph_buf_put(&ph_log, s, n);
            JS_FreeCString(c, s);
        } else { /* String(value) threw */
            JS_FreeValue(c, JS_GetException(c));
            ph_buf_put(&ph_log, "<unprintable>", 13);
        }
    }
    ph_buf_put(&ph_log, "\n", 1);
    if (ph_log.overflow) {
        if (!log_overflow)
            snprintf(denial_text, sizeof(denial_text), "captured log exceeds the log size limit");
        log_overflow = 1;
        JS_ThrowRangeError(c, "captured log exceeds the log size limit");
        JSValue exc = JS_GetException(c);
        JS_SetUncatchableError(c, exc);
        return JS_Throw(c, exc);
    }
    return JS_UNDEFINED;
}

void ph_install_console(JSContext *ctx)
{
    static const char *const methods[] = { "log", "info", "warn", "error", "debug" };
    JSValue global = JS_GetGlobalObject(ctx);
    JSValue console = JS_NewObject(ctx);
    for (size_t i = 0; i < sizeof(methods) / sizeof(methods[0]); i++)
        JS_SetPropertyStr(ctx, console, methods[i], JS_NewCFunction(ctx, console_write, methods[i], 0));
    JS_SetPropertyStr(ctx, global, "console", console);
    JS_FreeValue(ctx, global);
}

/* Called while the module is compiled (static imports) and when import() runs. */
JSModuleDef *ph_deny_import(JSContext *c, const char *name, void *opaque)
{
    (void)opaque;
    char msg[256];
    snprintf(msg, sizeof(msg), "module imports are not allowed: '%s'", name);
    ph_deny(c, PH_DENY_IMPORT, msg);
    return NULL;
}

int ph_log_overflowed(void)
{
    return log_overflow;
}

/* How a call that denied a capability or overflowed the log ends, and why; PH_OK if neither. */
int ph_denial(const char **text)
{
    *text = denial_text;
    if (ph_ctl.denied)
        return PH_CAPABILITY_DENIED;
    if (log_overflow)
        return PH_LOG_TOO_LARGE;
    return PH_OK;
}
