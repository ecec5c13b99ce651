# cython: language_level=3
"""Draws from a VU's stream: weighted selection and the time distributions.

Every function takes the stream state by pointer and consumes a fixed, documented
number of values from it, so what a VU does depends only on (seed, vu_id, n).
"""

from libc.math cimport log, log1p, sqrt, exp
from libc.stdint cimport uint16_t, uint64_t

from z6core._prng cimport xs_below, xs_float, xs_original_float

# Distribution kinds (shared by think time and the latency model).
cdef enum dist_kind_t:
    DIST_CONSTANT = 0      # a
    DIST_UNIFORM = 1       # a + u * (b - a)
    DIST_EXPONENTIAL = 2   # mean a
    DIST_LOGNORMAL = 3     # exp(a + b * z): a = ln(median), b = sigma

# Largest duration a draw may return: 2**53 ns (about 104 days) keeps the
# double -> integer conversion exact and the clock far from overflow.
cdef extern from *:
    """
    #define Z6_DRAW_MAX_NS 9007199254740992ULL
    """
    const uint64_t Z6_DRAW_MAX_NS


cdef inline Py_ssize_t pick_cumulative(const uint64_t* cum, Py_ssize_t n, uint64_t r) noexcept nogil:
    # First index i with cum[i] > r. A zero weight repeats its predecessor's sum,
    # so it is never the first to exceed r: zero-weight entries are never chosen.
    cdef Py_ssize_t lo = 0, hi = n - 1, mid
    while lo < hi:
        mid = (lo + hi) >> 1
        if cum[mid] > r:
            hi = mid
        else:
            lo = mid + 1
    return lo


cdef inline Py_ssize_t pick_weighted(uint64_t* state, const uint64_t* cum, Py_ssize_t n) noexcept nogil:
    # One xs_below draw (rarely more, on rejection) per pick; none for n == 1.
    if n == 1:
        return 0
    return pick_cumulative(cum, n, xs_below(state, cum[n - 1]))


cdef inline Py_ssize_t pick_original_f32(uint64_t* state, const float* weights, Py_ssize_t n, float total) noexcept nogil:
    # The original engine's selectRequest: rand_val:f32 = f32(float() * f64(total)); first i
    # with rand_val < running f32 sum; fall back to the last index.
    cdef float rand_val = <float>(xs_original_float(state) * <double>total)
    cdef float acc = 0.0
    cdef Py_ssize_t i
    for i in range(n):
        acc = acc + weights[i]
        if rand_val < acc:
            return i
    return n - 1


cdef inline double norm_ppf(double p) noexcept nogil:
    # Inverse standard normal CDF, Acklam's rational approximation
    # (relative error < 1.2e-9), for p in (0, 1). One uniform per normal value
    # keeps the stream accounting simple (Box-Muller would use two).
    cdef double q, r
    if p < 0.02425:
        q = sqrt(-2.0 * log(p))
        return ((((( -7.784894002430293e-03 * q - 3.223964580411365e-01) * q
                   - 2.400758277161838e+00) * q - 2.549671010615312e+00) * q
                   + 4.374664141464968e+00) * q + 2.938163982698783e+00) / \
               ((((7.784695709041462e-03 * q + 3.224671290700398e-01) * q
                  + 2.445134137142996e+00) * q + 3.754408661907416e+00) * q + 1.0)
    if p > 1.0 - 0.02425:
        q = sqrt(-2.0 * log1p(-p))
        return -((((( -7.784894002430293e-03 * q - 3.223964580411365e-01) * q
                    - 2.400758277161838e+00) * q - 2.549671010615312e+00) * q
                    + 4.374664141464968e+00) * q + 2.938163982698783e+00) / \
               ((((7.784695709041462e-03 * q + 3.224671290700398e-01) * q
                  + 2.445134137142996e+00) * q + 3.754408661907416e+00) * q + 1.0)
    q = p - 0.5
    r = q * q
    return (((((-3.969683028665376e+01 * r + 2.209460984245205e+02) * r
               - 2.759285104469687e+02) * r + 1.383577518672690e+02) * r
               - 3.066479806614716e+01) * r + 2.506628277459239e+00) * q / \
           (((((-5.447609879822406e+01 * r + 1.615858368580409e+02) * r
               - 1.556989798598866e+02) * r + 6.680131188771972e+01) * r
               - 1.328068155288572e+01) * r + 1.0)


cdef inline uint64_t ns_from_double(double x) noexcept nogil:
    # Round to the nearest nanosecond, clamped to [0, Z6_DRAW_MAX_NS].
    if not (x > 0.0):
        return 0
    if x >= <double>Z6_DRAW_MAX_NS:
        return Z6_DRAW_MAX_NS
    return <uint64_t>(x + 0.5)


cdef inline uint64_t draw_ns(uint64_t* state, int kind, double a, double b) noexcept nogil:
    # Draws used: constant 0, uniform 1, exponential 1, lognormal 1.
    cdef double u
    if kind == DIST_CONSTANT:
        return ns_from_double(a)
    u = xs_float(state)
    if kind == DIST_UNIFORM:
        return ns_from_double(a + u * (b - a))
    if kind == DIST_EXPONENTIAL:
        return ns_from_double(-a * log1p(-u))
    # lognormal: shift u by half a step into (0, 1) so the normal quantile stays
    # finite; the top value would round up to 1.0, so it keeps its own place.
    u = u + 1.0 / 18014398509481984.0
    if u >= 1.0:
        u = 1.0 - 1.0 / 9007199254740992.0
    return ns_from_double(exp(a + b * norm_ppf(u)))
