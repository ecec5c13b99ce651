# cython: language_level=3
"""The original engine's xorshift64* generator and the draws built on it, as inline C.

Compatibility guarantee: `xs_next`, `xs_range` and `xs_original_float` reproduce the
original Zig engine's `PRNG.next`, `PRNG.range` and `PRNG.float` bit for bit
(tests/test_prng.py reads the known answers from tests/data/reference). `xs_float` and `xs_below` are
z6's own: the float is the top 53 bits scaled by 2**-53, so it lies in [0, 1) and can never
be 1.0 (the original engine's `f64(next()) / f64(2**64 - 1)` rounds to 1.0 for draws within 1024
of 2**64). `vu_stream_state` fixes how a VU's stream derives from the run seed.
These functions are frozen: changing one changes every event stream.
"""

from libc.stdint cimport uint64_t

# Constants as C literals (a Python int literal above 2**63 would not be one).
# Z6_XS_ZERO_SEED: the original engine maps seed 0 (a fixed point of xorshift) to it; so do
# we, for the run seed and for any derived VU state that happens to be 0.
cdef extern from *:
    """
    #define Z6_XS_ZERO_SEED 0x853c49e6748fea9bULL
    #define Z6_XS_MULT 0x2545F4914F6CDD1DULL
    #define Z6_SM_GAMMA 0x9E3779B97F4A7C15ULL
    #define Z6_SM_MIX1 0xBF58476D1CE4E5B9ULL
    #define Z6_SM_MIX2 0x94D049BB133111EBULL
    #define Z6_U64_MAX 0xFFFFFFFFFFFFFFFFULL
    /* Full 64x64 -> 128-bit product; the portable branch gives the same bits
       where the compiler has no 128-bit integer, so streams match everywhere. */
    static inline uint64_t z6_mul128(uint64_t a, uint64_t b, uint64_t *lo) {
    #if defined(__SIZEOF_INT128__)
        unsigned __int128 p = (unsigned __int128)a * b;
        *lo = (uint64_t)p;
        return (uint64_t)(p >> 64);
    #else
        uint64_t a_lo = (uint32_t)a, a_hi = a >> 32, b_lo = (uint32_t)b, b_hi = b >> 32;
        uint64_t ll = a_lo * b_lo, lh = a_lo * b_hi, hl = a_hi * b_lo, hh = a_hi * b_hi;
        uint64_t mid = (ll >> 32) + (uint32_t)lh + (uint32_t)hl;
        *lo = (mid << 32) | (uint32_t)ll;
        return hh + (lh >> 32) + (hl >> 32) + (mid >> 32);
    #endif
    }
    """
    const uint64_t Z6_XS_ZERO_SEED
    const uint64_t Z6_XS_MULT
    const uint64_t Z6_SM_GAMMA
    const uint64_t Z6_SM_MIX1
    const uint64_t Z6_SM_MIX2
    const uint64_t Z6_U64_MAX
    uint64_t z6_mul128(uint64_t a, uint64_t b, uint64_t* lo) nogil


cdef inline uint64_t xs_init(uint64_t seed) noexcept nogil:
    return Z6_XS_ZERO_SEED if seed == 0 else seed


cdef inline uint64_t xs_next(uint64_t* state) noexcept nogil:
    cdef uint64_t x = state[0]
    x ^= x >> 12
    x ^= x << 25
    x ^= x >> 27
    state[0] = x
    return x * Z6_XS_MULT


cdef inline double xs_float(uint64_t* state) noexcept nogil:
    # Top 53 bits: every value k * 2**-53 for k < 2**53 is exact, the maximum is
    # 1 - 2**-53, so the result is in [0, 1) and never rounds up to 1.0.
    return <double>(xs_next(state) >> 11) * (1.0 / 9007199254740992.0)


cdef inline double xs_original_float(uint64_t* state) noexcept nogil:
    # The original engine's float(): f64(next()) / f64(2**64 - 1); f64(2**64 - 1) == 2**64.
    # Kept only for the seed-compatibility profile; it can return exactly 1.0.
    return <double>xs_next(state) / 18446744073709551616.0


cdef inline uint64_t xs_range(uint64_t* state, uint64_t n) noexcept nogil:
    # The original engine's range(): rejection sampling below the largest multiple of n, so
    # `v % n` has no modulo bias. n must be >= 1.
    cdef uint64_t threshold = (Z6_U64_MAX // n) * n
    cdef uint64_t v = xs_next(state)
    while v >= threshold:
        v = xs_next(state)
    return v % n


cdef inline uint64_t xs_below(uint64_t* state, uint64_t n) noexcept nogil:
    # z6's uniform integer in [0, n), n >= 1: Lemire's multiply-and-reject
    # ("Fast random integer generation in an interval", 2019). Unbiased like the
    # seed's range(), but a division only on the rare rejection path.
    cdef uint64_t lo, threshold
    cdef uint64_t hi = z6_mul128(xs_next(state), n, &lo)
    if lo < n:
        threshold = (0 - n) % n
        while lo < threshold:
            hi = z6_mul128(xs_next(state), n, &lo)
    return hi


cdef inline uint64_t splitmix64(uint64_t seed, uint64_t index) noexcept nogil:
    # The index-th output of SplitMix64 seeded with `seed` (Steele, Lea, Flood 2014).
    cdef uint64_t z = seed + index * Z6_SM_GAMMA
    z = (z ^ (z >> 30)) * Z6_SM_MIX1
    z = (z ^ (z >> 27)) * Z6_SM_MIX2
    return z ^ (z >> 31)


cdef inline uint64_t vu_stream_state(uint64_t seed, uint64_t vu_id) noexcept nogil:
    # VU i's stream starts from splitmix64(seed, i); a 0 (xorshift's fixed point)
    # becomes the original engine's zero-seed constant, as PRNG.init does.
    return xs_init(splitmix64(seed, vu_id))
