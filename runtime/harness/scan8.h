/* Word-at-a-time byte scanning for the boundary's reader and writer (codec.c, encode.c).
 *
 * Gas counts basic blocks, so a loop that looks at one byte per iteration pays two or three
 * units per byte. These look at eight bytes per step (wasm loads need no alignment) with the
 * usual bit tricks: the lowest flagged byte of a mask is exactly the first byte that matched
 * (carries only run upwards), so its index ends the scan. */
#ifndef PH_SCAN8_H
#define PH_SCAN8_H
#include <stdint.h>

typedef uint64_t __attribute__((aligned(1), may_alias)) unaligned_u64;
#define ONES 0x0101010101010101ULL
#define HIGHS 0x8080808080808080ULL
/* flags the bytes of x below n (the lowest flag is exact; n <= 128) */
#define BELOW(x, n) (((x) - ONES * (n)) & ~(x) & HIGHS)
#define EQUAL(x, b) BELOW((x) ^ (ONES * (uint8_t)(b)), 1)
/* flags the bytes of x that are not ASCII digits (the lowest flag is exact) */
#define NOT_DIGITS(x) ((((x) - ONES * '0') | ((x) + ONES * 0x46)) & HIGHS)
#define FIRST_FLAGGED(m) (__builtin_ctzll(m) >> 3)

#endif
