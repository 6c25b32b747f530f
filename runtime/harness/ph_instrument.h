/* Force-included (-include) into every metered source (QuickJS and the metered harness) in
 * the real guest: the bulk memory functions pay for their bytes. The compiler turns
 * memcpy/memmove/memset into single wasm instructions (memory.copy / memory.fill) that cost
 * one basic block whatever their length: a 32 MB TypedArray.copyWithin in a loop ran for 12
 * minutes on 20 M gas before this. Now every 16 bytes cost one unit of gas. libc's memcmp and
 * memchr are byte loops: counting their blocks one byte at a time made regex and BigInt work
 * 5% slower, so they are left unmetered (runtime/inject_gas.py) and pay here instead: memcmp
 * per 2 bytes and memchr per 4, rates that keep them near an empty JS loop's time per gas
 * (benches/gas.py: "string === 16 MB", "TypedArray.indexOf").
 */
#ifndef PH_INSTRUMENT_H
#define PH_INSTRUMENT_H
#include <stdint.h>
#include <string.h> /* declare the real functions before the macros below shadow them */

void ph_gas_charge(uint64_t amount);

static inline void ph_charge_bytes(uint64_t n) /* 64-bit: n << 3 must not wrap on wasm32 */
{
    if (n >> 4) /* folds away for small constant sizes */
        ph_gas_charge(n >> 4);
}

static inline void *ph_memcpy(void *d, const void *s, size_t n) { ph_charge_bytes(n); return __builtin_memcpy(d, s, n); }
static inline void *ph_memmove(void *d, const void *s, size_t n) { ph_charge_bytes(n); return __builtin_memmove(d, s, n); }
static inline void *ph_memset(void *d, int c, size_t n) { ph_charge_bytes(n); return __builtin_memset(d, c, n); }
/* libc's memcmp and memchr are byte loops (about 2.5 bytes per ns here): memcmp pays per 2
 * bytes, memchr (which does less per byte) per 4 */
static inline int ph_memcmp(const void *a, const void *b, size_t n) { ph_charge_bytes((uint64_t)n << 3); return __builtin_memcmp(a, b, n); }
static inline void *ph_memchr(const void *s, int c, size_t n) { ph_charge_bytes((uint64_t)n << 2); return __builtin_memchr(s, c, n); }

#define memcpy(d, s, n) ph_memcpy(d, s, n)
#define memmove(d, s, n) ph_memmove(d, s, n)
#define memset(d, c, n) ph_memset(d, c, n)
#define memcmp(a, b, n) ph_memcmp(a, b, n)
#define memchr(s, c, n) ph_memchr(s, c, n)

#endif
