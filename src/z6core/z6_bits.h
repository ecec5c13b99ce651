/* Small bit and arithmetic helpers for the simulated engine's scheduler. */
#ifndef Z6_BITS_H
#define Z6_BITS_H

#include <stdint.h>

#if defined(_MSC_VER)
#include <intrin.h>
static inline int z6_ctz64(uint64_t x) { unsigned long i; _BitScanForward64(&i, x); return (int)i; }
#else
static inline int z6_ctz64(uint64_t x) { return __builtin_ctzll(x); }
#endif

#if defined(__GNUC__) || defined(__clang__)
#define z6_prefetch(p) __builtin_prefetch((p), 1, 1)
#else
#define z6_prefetch(p) ((void)(p))
#endif

/* floor(n / d) via a 64x64->128 multiply by m = floor((2**64 - 1) / d): the
   estimate is low by at most one, fixed by one compare. Divisions cost tens
   of cycles and the scheduler needs one per VU action. */
static inline uint64_t z6_div_u64(uint64_t n, uint64_t d, uint64_t m) {
#if defined(__SIZEOF_INT128__)
    uint64_t q = (uint64_t)(((unsigned __int128)n * m) >> 64);
    if (n - q * d >= d) q++;
    return q;
#else
    (void)m;
    return n / d;
#endif
}

#endif
