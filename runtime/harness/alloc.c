/* The guest's heap allocator: ours, so that the heap is one compact region whose top we know.
 *
 * Why not libc's: the host restores linear memory before every call, and restoring costs time
 * in proportion to the bytes restored. The host restores [dirty_low, dirty_high); this
 * allocator hands out memory from a single bump region and reuses freed blocks through
 * per-size-class free lists, so everything a call can write lies below the bump pointer, and
 * the bump pointer stays close to the live heap. (zig's libc allocator gives every size class
 * its own 64 KiB page, which spread a 250 KiB heap over 660 KiB.)
 *
 * QuickJS allocates objects of up to 512 bytes from its own 4 KiB arenas; what reaches us is
 * mostly arenas, strings, arrays and hash tables. Size classes are 8-byte steps up to 64 bytes,
 * then four per power of two (at most 25% slack). Blocks are never split or merged: every call
 * starts from the same snapshot, so fragmentation cannot accumulate across calls.
 *
 * It also defines malloc/free/calloc/realloc, so that nothing in the module can grow memory
 * behind its back. Not instrumented: allocation is charged by size in ph_malloc_functions.
 */
#include <stdint.h>
#include <string.h>

#include "ph.h"

#define WASM_PAGE 65536u
#define HEADER 8u /* keeps 8-byte alignment, enough for every type QuickJS stores */
#define NCLASS 108
#define MAX_REQUEST 0x7FFF0000u
#define GROW_MIN (256u * 1024u)

typedef struct header {
    uint32_t cls;
    uint32_t magic;
} header_t;

/* Two arenas. `main` holds the realm and everything calls allocate. `scratch` holds the
 * throwaway compiler runtime during load: it lives above main's region and is zeroed and
 * abandoned before the snapshot, so compiling leaves no garbage inside the restored range. */
typedef struct arena {
    char *free_lists[NCLASS];
    uintptr_t start, brk, end;
    uint32_t magic;
} arena_t;

#define MAGIC_MAIN 0x70680a11u
#define MAGIC_SCRATCH 0x70680a22u

extern char __heap_base;
static arena_t main_arena = { .magic = MAGIC_MAIN };
static arena_t scratch_arena = { .magic = MAGIC_SCRATCH };
static arena_t *current = &main_arena;

static unsigned class_of(size_t s)
{
    if (s <= 64)
        return (unsigned)((s + 7) >> 3) - 1;
    unsigned k = 31u - (unsigned)__builtin_clz((uint32_t)(s - 1)); /* 2^k < s <= 2^(k+1) */
    size_t q = (size_t)1 << (k - 2);
    unsigned sub = (unsigned)((s - ((size_t)1 << k) + q - 1) / q); /* 1..4 */
    return 8 + (k - 6) * 4 + (sub - 1);
}

static size_t class_size(unsigned c)
{
    if (c < 8)
        return (size_t)(c + 1) << 3;
    unsigned k = 6 + (c - 8) / 4, sub = (c - 8) % 4 + 1;
    return ((size_t)1 << k) + sub * ((size_t)1 << (k - 2));
}

static void init_main(void)
{
    if (!main_arena.end) {
        main_arena.start = main_arena.brk = ((uintptr_t)&__heap_base + 15) & ~(uintptr_t)15;
        main_arena.end = (uintptr_t)__builtin_wasm_memory_size(0) * WASM_PAGE;
    }
}

/* Make [a->brk, a->brk + need) belong to arena a. */
static int grow(arena_t *a, size_t need, size_t extra)
{
    init_main();
    if (a->end - a->brk >= need)
        return 0;
    /* the arena can only extend in place if nothing was grown above it since */
    uintptr_t mem_end = (uintptr_t)__builtin_wasm_memory_size(0) * WASM_PAGE;
    size_t have = a->end == mem_end ? a->end - a->brk : 0;
    size_t want = need - have + extra;
    size_t pages = (want + WASM_PAGE - 1) / WASM_PAGE;
    size_t old = __builtin_wasm_memory_grow(0, pages);
    if (old == (size_t)-1)
        return -1;
    if (old * WASM_PAGE != a->end) { /* not contiguous: continue in the new pages */
        a->brk = old * WASM_PAGE;
        if (!a->start)
            a->start = a->brk;
    }
    a->end = (old + pages) * WASM_PAGE;
    return a->end - a->brk >= need ? 0 : -1;
}

void *ph_alloc(size_t size)
{
    if (size > MAX_REQUEST)
        return NULL;
    arena_t *a = current;
    unsigned c = class_of(size + HEADER);
    char *block = a->free_lists[c];
    if (block) {
        a->free_lists[c] = *(char **)(block + HEADER);
    } else {
        size_t n = class_size(c);
        if (grow(a, n, n > GROW_MIN ? 0 : GROW_MIN))
            return NULL;
        block = (char *)a->brk;
        a->brk += n;
    }
    header_t *h = (header_t *)block;
    h->cls = c;
    h->magic = a->magic;
    return block + HEADER;
}

void ph_release(void *ptr)
{
    if (!ptr)
        return;
    char *block = (char *)ptr - HEADER;
    header_t *h = (header_t *)block;
    arena_t *a = h->magic == MAGIC_MAIN ? &main_arena : h->magic == MAGIC_SCRATCH ? &scratch_arena : NULL;
    if (!a || h->cls >= NCLASS)
        __builtin_trap(); /* a corrupted heap must never limp on: the host replaces the instance */
    h->magic = 0;
    *(char **)ptr = a->free_lists[h->cls];
    a->free_lists[h->cls] = block;
}

size_t ph_usable(const void *ptr)
{
    if (!ptr)
        return 0;
    const header_t *h = (const header_t *)((const char *)ptr - HEADER);
    return class_size(h->cls) - HEADER;
}

void *ph_resize(void *ptr, size_t size)
{
    if (!ptr)
        return ph_alloc(size);
    size_t have = ph_usable(ptr);
    if (size <= have)
        return ptr;
    void *p = ph_alloc(size);
    if (!p)
        return NULL;
    memcpy(p, ptr, have);
    ph_release(ptr);
    return p;
}

uintptr_t ph_heap_high(void)
{
    init_main();
    return main_arena.brk;
}

/* Free space above the bump pointer costs nothing to restore; having it means ordinary calls
 * do not grow memory (growth makes the host replace the instance). */
void ph_reserve_headroom(size_t bytes)
{
    grow(&main_arena, bytes, 0);
}

/* While on, allocations come from the scratch arena. The first time, main_room bytes of main's
 * own space are reserved first, so that main keeps growing contiguously below scratch. */
void ph_use_scratch(int on, size_t main_room)
{
    if (on && !scratch_arena.end)
        grow(&main_arena, main_room, 0);
    current = on ? &scratch_arena : &main_arena;
}

/* One allocation from scratch whatever arena is current (for load-time work tables). */
void *ph_alloc_scratch(size_t size)
{
    arena_t *was = current;
    current = &scratch_arena;
    void *p = ph_alloc(size);
    current = was;
    return p;
}

/* Zero and forget everything the scratch arena handed out, so that memory above the main heap
 * is all zeros again at the snapshot. */
void ph_scratch_wipe(void)
{
    current = &main_arena;
    if (scratch_arena.start)
        memset((void *)scratch_arena.start, 0, scratch_arena.end - scratch_arena.start);
    memset(scratch_arena.free_lists, 0, sizeof(scratch_arena.free_lists));
    scratch_arena.brk = scratch_arena.start;
}

/* libc entry points, so that there is exactly one allocator in the module */
void *malloc(size_t n) { return ph_alloc(n); }
void free(void *p) { ph_release(p); }
size_t malloc_usable_size(void *p) { return ph_usable(p); }

void *calloc(size_t n, size_t size)
{
    if (size && n > MAX_REQUEST / size)
        return NULL;
    void *p = ph_alloc(n * size);
    if (p)
        memset(p, 0, n * size);
    return p;
}

void *realloc(void *p, size_t n)
{
    if (n == 0) {
        ph_release(p);
        return NULL;
    }
    return ph_resize(p, n);
}
