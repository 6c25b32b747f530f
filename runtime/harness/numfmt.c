/* Numbers out: the shortest-or-nearly decimal text that reads back as the same double.
 *
 * Why not QuickJS's js_dtoa: it is exact for every format by multi-precision arithmetic,
 * about 215 gas per Number at 17 digits, a third of a Number-heavy output's encoding. This
 * is Grisu2 (Loitsch, "Printing floating-point numbers quickly and accurately", PLDI 2010)
 * in 64-bit arithmetic: the digits it produces always lie strictly inside the interval of
 * decimals that round to the double, so they read back exactly; they are the shortest such
 * digits for almost all doubles and at most a digit or two longer for the rest. Exactness
 * is what crosses the boundary: the host re-encodes every output canonically.
 * tests/test_encoding.py checks the round trip on random doubles of every exponent. */
#include <stdint.h>
#include <string.h>

#include "ph.h"

typedef struct { uint64_t f; int e; } diy_fp; /* f * 2^e */

/* 10^k ~= f * 2^e (f rounded to nearest, normalized), k = -348, -340, ..., 340. Generated with
 * exact integer arithmetic; tests/test_encoding.py recomputes every entry. */
static const struct { uint64_t f; int16_t e; } cached_powers[] = {
    {0xFA8FD5A0081C0288ULL, -1220}, /* 1e-348 */
    {0xBAAEE17FA23EBF76ULL, -1193}, /* 1e-340 */
    {0x8B16FB203055AC76ULL, -1166}, /* 1e-332 */
    {0xCF42894A5DCE35EAULL, -1140}, /* 1e-324 */
    {0x9A6BB0AA55653B2DULL, -1113}, /* 1e-316 */
    {0xE61ACF033D1A45DFULL, -1087}, /* 1e-308 */
    {0xAB70FE17C79AC6CAULL, -1060}, /* 1e-300 */
    {0xFF77B1FCBEBCDC4FULL, -1034}, /* 1e-292 */
    {0xBE5691EF416BD60CULL, -1007}, /* 1e-284 */
    {0x8DD01FAD907FFC3CULL, -980}, /* 1e-276 */
    {0xD3515C2831559A83ULL, -954}, /* 1e-268 */
    {0x9D71AC8FADA6C9B5ULL, -927}, /* 1e-260 */
    {0xEA9C227723EE8BCBULL, -901}, /* 1e-252 */
    {0xAECC49914078536DULL, -874}, /* 1e-244 */
    {0x823C12795DB6CE57ULL, -847}, /* 1e-236 */
    {0xC21094364DFB5637ULL, -821}, /* 1e-228 */
    {0x9096EA6F3848984FULL, -794}, /* 1e-220 */
    {0xD77485CB25823AC7ULL, -768}, /* 1e-212 */
    {0xA086CFCD97BF97F4ULL, -741}, /* 1e-204 */
    {0xEF340A98172AACE5ULL, -715}, /* 1e-196 */
    {0xB23867FB2A35B28EULL, -688}, /* 1e-188 */
    {0x84C8D4DFD2C63F3BULL, -661}, /* 1e-180 */
    {0xC5DD44271AD3CDBAULL, -635}, /* 1e-172 */
    {0x936B9FCEBB25C996ULL, -608}, /* 1e-164 */
    {0xDBAC6C247D62A584ULL, -582}, /* 1e-156 */
    {0xA3AB66580D5FDAF6ULL, -555}, /* 1e-148 */
    {0xF3E2F893DEC3F126ULL, -529}, /* 1e-140 */
    {0xB5B5ADA8AAFF80B8ULL, -502}, /* 1e-132 */
    {0x87625F056C7C4A8BULL, -475}, /* 1e-124 */
    {0xC9BCFF6034C13053ULL, -449}, /* 1e-116 */
    {0x964E858C91BA2655ULL, -422}, /* 1e-108 */
    {0xDFF9772470297EBDULL, -396}, /* 1e-100 */
    {0xA6DFBD9FB8E5B88FULL, -369}, /* 1e-92 */
    {0xF8A95FCF88747D94ULL, -343}, /* 1e-84 */
    {0xB94470938FA89BCFULL, -316}, /* 1e-76 */
    {0x8A08F0F8BF0F156BULL, -289}, /* 1e-68 */
    {0xCDB02555653131B6ULL, -263}, /* 1e-60 */
    {0x993FE2C6D07B7FACULL, -236}, /* 1e-52 */
    {0xE45C10C42A2B3B06ULL, -210}, /* 1e-44 */
    {0xAA242499697392D3ULL, -183}, /* 1e-36 */
    {0xFD87B5F28300CA0EULL, -157}, /* 1e-28 */
    {0xBCE5086492111AEBULL, -130}, /* 1e-20 */
    {0x8CBCCC096F5088CCULL, -103}, /* 1e-12 */
    {0xD1B71758E219652CULL, -77}, /* 1e-4 */
    {0x9C40000000000000ULL, -50}, /* 1e4 */
    {0xE8D4A51000000000ULL, -24}, /* 1e12 */
    {0xAD78EBC5AC620000ULL, 3}, /* 1e20 */
    {0x813F3978F8940984ULL, 30}, /* 1e28 */
    {0xC097CE7BC90715B3ULL, 56}, /* 1e36 */
    {0x8F7E32CE7BEA5C70ULL, 83}, /* 1e44 */
    {0xD5D238A4ABE98068ULL, 109}, /* 1e52 */
    {0x9F4F2726179A2245ULL, 136}, /* 1e60 */
    {0xED63A231D4C4FB27ULL, 162}, /* 1e68 */
    {0xB0DE65388CC8ADA8ULL, 189}, /* 1e76 */
    {0x83C7088E1AAB65DBULL, 216}, /* 1e84 */
    {0xC45D1DF942711D9AULL, 242}, /* 1e92 */
    {0x924D692CA61BE758ULL, 269}, /* 1e100 */
    {0xDA01EE641A708DEAULL, 295}, /* 1e108 */
    {0xA26DA3999AEF774AULL, 322}, /* 1e116 */
    {0xF209787BB47D6B85ULL, 348}, /* 1e124 */
    {0xB454E4A179DD1877ULL, 375}, /* 1e132 */
    {0x865B86925B9BC5C2ULL, 402}, /* 1e140 */
    {0xC83553C5C8965D3DULL, 428}, /* 1e148 */
    {0x952AB45CFA97A0B3ULL, 455}, /* 1e156 */
    {0xDE469FBD99A05FE3ULL, 481}, /* 1e164 */
    {0xA59BC234DB398C25ULL, 508}, /* 1e172 */
    {0xF6C69A72A3989F5CULL, 534}, /* 1e180 */
    {0xB7DCBF5354E9BECEULL, 561}, /* 1e188 */
    {0x88FCF317F22241E2ULL, 588}, /* 1e196 */
    {0xCC20CE9BD35C78A5ULL, 614}, /* 1e204 */
    {0x98165AF37B2153DFULL, 641}, /* 1e212 */
    {0xE2A0B5DC971F303AULL, 667}, /* 1e220 */
    {0xA8D9D1535CE3B396ULL, 694}, /* 1e228 */
    {0xFB9B7CD9A4A7443CULL, 720}, /* 1e236 */
    {0xBB764C4CA7A44410ULL, 747}, /* 1e244 */
    {0x8BAB8EEFB6409C1AULL, 774}, /* 1e252 */
    {0xD01FEF10A657842CULL, 800}, /* 1e260 */
    {0x9B10A4E5E9913129ULL, 827}, /* 1e268 */
    {0xE7109BFBA19C0C9DULL, 853}, /* 1e276 */
    {0xAC2820D9623BF429ULL, 880}, /* 1e284 */
    {0x80444B5E7AA7CF85ULL, 907}, /* 1e292 */
    {0xBF21E44003ACDD2DULL, 933}, /* 1e300 */
    {0x8E679C2F5E44FF8FULL, 960}, /* 1e308 */
    {0xD433179D9C8CB841ULL, 986}, /* 1e316 */
    {0x9E19DB92B4E31BA9ULL, 1013}, /* 1e324 */
    {0xEB96BF6EBADF77D9ULL, 1039}, /* 1e332 */
    {0xAF87023B9BF0EE6BULL, 1066}, /* 1e340 */
};

static const uint32_t pow10_u32[] = { 1, 10, 100, 1000, 10000, 100000, 1000000, 10000000, 100000000, 1000000000 };

static diy_fp multiply(diy_fp x, diy_fp y) /* the high 64 bits of the product, rounded */
{
    const uint64_t m32 = 0xFFFFFFFFu;
    uint64_t a = x.f >> 32, b = x.f & m32, c = y.f >> 32, d = y.f & m32;
    uint64_t ac = a * c, bc = b * c, ad = a * d, bd = b * d;
    uint64_t mid = (bd >> 32) + (ad & m32) + (bc & m32) + (1u << 31);
    return (diy_fp){ ac + (ad >> 32) + (bc >> 32) + (mid >> 32), x.e + y.e + 64 };
}

static diy_fp normalize(diy_fp x)
{
    int s = __builtin_clzll(x.f);
    return (diy_fp){ x.f << s, x.e - s };
}

/* the digits of the upper boundary mp, cut as soon as they are within delta of it, then
 * nudged towards the value itself (mp - w apart); returns the digit count, sets *k */
static int digit_gen(diy_fp w, diy_fp mp, uint64_t delta, char *buf, int *k)
{
    const int shift = -mp.e;
    const uint64_t one = (uint64_t)1 << shift, mask = one - 1;
    uint64_t wp_w = mp.f - w.f;
    uint32_t p1 = (uint32_t)(mp.f >> shift);
    uint64_t p2 = mp.f & mask;
    int kappa = 10, len = 0;
    while (kappa > 0 && p1 < pow10_u32[kappa - 1])
        kappa--;
    uint64_t rest, unit;
    for (;;) {
        if (kappa > 0) { /* integral digits */
            uint32_t p = pow10_u32[kappa - 1], d = p1 / p;
            p1 %= p;
            buf[len++] = (char)('0' + d);
            kappa--;
            rest = ((uint64_t)p1 << shift) + p2;
            if (rest <= delta) {
                unit = (uint64_t)p << shift;
                break;
            }
        } else { /* fractional digits */
            p2 *= 10;
            delta *= 10;
            wp_w *= 10;
            buf[len++] = (char)('0' + (p2 >> shift));
            p2 &= mask;
            kappa--;
            if (p2 < delta) {
                rest = p2;
                unit = one;
                break;
            }
        }
    }
    *k = kappa;
    /* round the last digit down while that brings it closer to w and stays in range */
    while (rest < wp_w && delta - rest >= unit && (rest + unit < wp_w || wp_w - rest > rest + unit - wp_w)) {
        buf[len - 1]--;
        rest += unit;
    }
    return len;
}

size_t ph_format_double(double v, char *out)
{
    uint64_t bits;
    memcpy(&bits, &v, 8);
    char *q = out;
    if (bits >> 63)
        *q++ = '-';
    uint64_t frac = bits & 0xFFFFFFFFFFFFFull;
    int exp = (int)((bits >> 52) & 0x7FF);
    diy_fp w = exp ? (diy_fp){ frac | 0x10000000000000ull, exp - 1075 } : (diy_fp){ frac, -1074 };
    /* the boundaries halfway to the neighbouring doubles; the lower one is closer when the
     * significand is a power of two (the spacing halves below it) */
    diy_fp mp = normalize((diy_fp){ (w.f << 1) + 1, w.e - 1 });
    diy_fp mm = (w.f == 0x10000000000000ull && exp > 1) ? (diy_fp){ (w.f << 2) - 1, w.e - 2 }
                                                         : (diy_fp){ (w.f << 1) - 1, w.e - 1 };
    mm.f <<= mm.e - mp.e;
    mm.e = mp.e;
    w = normalize(w);
    /* a cached power c = 10^-K putting the scaled exponent in [-59, -32] */
    double dk = (-61 - mp.e) * 0.30102999566398114 + 347;
    int ki = (int)dk;
    if (dk - ki > 0.0)
        ki++;
    int index = (ki >> 3) + 1, K = -(-348 + index * 8);
    diy_fp c = { cached_powers[index].f, cached_powers[index].e };
    diy_fp W = multiply(w, c), Wp = multiply(mp, c), Wm = multiply(mm, c);
    Wm.f++; /* stay strictly inside the interval despite the rounding of the products */
    Wp.f--;
    char digits[24];
    int kappa, n = digit_gen(W, Wp, Wp.f - Wm.f, digits, &kappa);
    int exp10 = K + kappa; /* value = digits * 10^exp10 */
    memcpy(q, digits, (size_t)n);
    q += n;
    *q++ = 'e'; /* always a float literal on the host: digits, then the exponent */
    if (exp10 < 0) {
        *q++ = '-';
        exp10 = -exp10;
    }
    if (exp10 >= 100) *q++ = (char)('0' + exp10 / 100);
    if (exp10 >= 10) *q++ = (char)('0' + exp10 / 10 % 10);
    *q++ = (char)('0' + exp10 % 10);
    return (size_t)(q - out);
}
