/* The gas meter, allocation accounting and the stack half of the dirty-range bookkeeping.
 *
 * The meter's count lives in one word, ph_gas_word. runtime/inject_gas.py rewrites the linked
 * wasm so that every function (QuickJS, libc, compiler-rt, the harness) counts its basic
 * blocks and subtracts them from this word, trapping when it goes below zero; the functions
 * of this file that it must not meter are named there. The host tells an out-of-gas trap from
 * others by the word (ph_ctl.gas_word holds its address). Because the meter lives
 * inside the wasm, every engine that runs the same wasm bytes counts exactly the same gas.
 */
#include <stdlib.h>
#include <string.h>

#include "ph.h"

/* The linker exports this word's address (build.py: --export=ph_gas_word), which is how the
 * rewrite finds it. volatile: injected code changes it behind the compiler's back, even inside
 * functions the compiler believes touch no memory, so C must never keep a stale copy. */
__attribute__((used)) volatile int64_t ph_gas_word = INT64_MAX; /* unmetered until a budget is set */
static uint64_t gas_budget = INT64_MAX;

/* The word is read and written only by the functions below, and they are never inlined: a
 * function with loops keeps its remaining budget in a local that it syncs with the word only
 * around calls (runtime/inject_gas.py), so a write it made inline would be overwritten by its
 * own next sync. The rewrite fails the build if one is inlined into such a function. These
 * four are not metered (inject_gas.UNMETERED). */
#define METER_FN __attribute__((noinline))

METER_FN void ph_gas_set(uint64_t limit)
{
    gas_budget = limit;
    ph_gas_word = limit > (uint64_t)INT64_MAX ? INT64_MAX : (int64_t)limit;
}

METER_FN uint64_t ph_gas_used(void)
{
    int64_t left = ph_gas_word;
    return left < 0 ? gas_budget : gas_budget - (uint64_t)left;
}

METER_FN uint64_t ph_gas_left(void)
{
    int64_t left = ph_gas_word;
    return left < 0 ? 0 : (uint64_t)left;
}

METER_FN void ph_gas_charge(uint64_t amount)
{
    if (amount > (uint64_t)INT64_MAX) amount = INT64_MAX;
    if ((ph_gas_word -= (int64_t)amount) < 0)
        __builtin_trap(); /* the host replaces the instance after any trap */
}

/* ---- allocation accounting --------------------------------------------------------------
 * QuickJS routes every allocation through ph_malloc_functions (quickjs.c forbids plain malloc
 * after its defaults). Two jobs: charge gas for the bytes, so that work done inside
 * uninstrumented code (memcpy, memset) is paid for; and enforce the JS heap limit here rather
 * than with JS_SetMemoryLimit, so that we know for certain when an allocation was refused
 * (QuickJS then throws "out of memory", or null when it cannot even allocate the error). */

static size_t heap_in_use, heap_limit = SIZE_MAX;
static int heap_refused;

void ph_heap_limit_set(size_t limit) { heap_limit = limit ? limit : SIZE_MAX; }
int ph_heap_refused(void) { return heap_refused; }
void ph_heap_refused_clear(void) { heap_refused = 0; }

static inline void charge_alloc(size_t size)
{
    ph_gas_charge(3 + (size >> 4)); /* the blue-quickjs rate: 3 + size/16 */
}

static inline int over_limit(size_t old_usable, size_t size)
{
    if (size > heap_limit || heap_in_use - old_usable > heap_limit - size) {
        heap_refused = 1;
        return 1;
    }
    return 0;
}

static inline void *account(void *p, size_t old_usable)
{
    if (p)
        heap_in_use += ph_usable(p) - old_usable;
    else
        heap_refused = 1;
    return p;
}

static void *js_calloc_fn(void *opaque, size_t count, size_t size)
{
    (void)opaque;
    if (size && count > SIZE_MAX / size)
        return NULL;
    charge_alloc(count * size);
    if (over_limit(0, count * size))
        return NULL;
    void *p = account(ph_alloc(count * size), 0);
    if (p)
        memset(p, 0, count * size);
    return p;
}

static void *js_malloc_fn(void *opaque, size_t size)
{
    (void)opaque;
    charge_alloc(size);
    if (over_limit(0, size))
        return NULL;
    return account(ph_alloc(size), 0);
}

static void js_free_fn(void *opaque, void *ptr)
{
    (void)opaque;
    heap_in_use -= ph_usable(ptr);
    ph_release(ptr);
}

static void *js_realloc_fn(void *opaque, void *ptr, size_t size)
{
    (void)opaque;
    if (size == 0) {
        js_free_fn(NULL, ptr);
        return NULL;
    }
    size_t old = ph_usable(ptr);
    if (size <= old)
        return ptr;
    charge_alloc(size);
    if (over_limit(old, size))
        return NULL;
    void *p = ph_resize(ptr, size);
    if (!p) {
        heap_refused = 1;
        return NULL; /* the old block is still valid and still counted */
    }
    return account(p, old);
}

const JSMallocFunctions ph_malloc_functions = {
    js_calloc_fn, js_malloc_fn, js_free_fn, js_realloc_fn, ph_usable,
};

/* ---- stack ------------------------------------------------------------------------------
 * The shadow stack sits first in memory ([__stack_low, __stack_high), growing down). The host
 * restores only the part of it a call could have written: from the lowest stack pointer the
 * call reached, minus a slack, up to the top.
 *
 * The lowest stack pointer is kept in ph_stack_min by code that runtime/inject_gas.py adds to
 * the linked wasm after every write of __stack_pointer that can lower it (a frame, an alloca),
 * in every function of the module: QuickJS, libc, this file. What that cannot see is LLVM's red
 * zone: a leaf function whose frame is at most 128 bytes uses them below the stack pointer
 * without moving it. STACK_SLACK covers that 8 times over. Tests run with the host verifying
 * every restore against the whole snapshot. The linker exports the mark's address
 * (build.py: --export=ph_stack_min) for the rewrite to find it; volatile, because nothing the
 * C compiler can see writes it between ph_stack_reset and ph_stack_low_watermark. */

extern char __stack_low;
__attribute__((used)) volatile uintptr_t ph_stack_min = ~(uintptr_t)0;

#define STACK_SLACK 1024u

void ph_stack_reset(void)
{
    ph_stack_min = (uintptr_t)__builtin_stack_address();
}

uintptr_t ph_stack_low_watermark(void)
{
    uintptr_t floor = (uintptr_t)&__stack_low;
    uintptr_t low = ph_stack_min > floor + STACK_SLACK ? ph_stack_min - STACK_SLACK : floor;
    return low & ~(uintptr_t)7;
}
