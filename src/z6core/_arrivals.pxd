# cython: language_level=3
"""Arrival instants of an open-model schedule (`arrival_rate`, `ramping_arrival_rate`).

A schedule is a piecewise-linear rate r(t) (arrivals per second) over segments;
its integral L(t) counts the arrivals expected by time t. Arrival n happens where
L reaches a level: n itself for constant arrivals (evenly spaced, the first at
the start), or the sum of n + 1 unit-exponential draws for Poisson arrivals (a
Poisson process of rate r(t), by the time-change theorem). Inverting L inside a
segment is one square root, so the instants are exact to the nanosecond and cost
O(1) per arrival.

Compatibility guarantee: the instants depend only on the schedule and the run's
arrival stream, `arrival_stream_state(seed)` = the xorshift64* state
`splitmix64(seed, 0)` (index 0 is no VU's: VU ids start at 1), which nothing else
draws from; the Poisson draw is one `xs_float` per arrival. Changing either
changes every open-model event stream.

In a simulated run, what an arrival's iteration draws (its request pick, and
the modelled server's service time, failure and status) comes from the
arrival's own stream, `arrival_draw_state(seed, n)` = `splitmix64(splitmix64(seed,
0), n + 1)`, not from the serving VU's: which VU of the pool serves arrival n
depends on what the others are doing, so only then is arrival n's traffic the
same whichever VU, or which process of a split run, serves it. A live VU keeps
drawing from its own stream (live timing decides which VU serves which arrival
anyway), so `z6 replay --verify` checks each VU's request sequence, as for
every live run.

A split run (shard k of N) generates every arrival, so the instants and indices
are the whole run's, and serves only those with n mod N = k (`arrival_next_own`).
"""

from libc.math cimport log1p, sqrt
from libc.stdint cimport uint32_t, uint64_t

from z6core._prng cimport splitmix64, xs_float, xs_init

cdef extern from *:
    """
    /* No further arrival: the schedule has ended (or its 2**32 - 1 indices are used). */
    #define Z6_NO_ARRIVAL 0xFFFFFFFFFFFFFFFFULL
    /* Arrival indices are the u32 `seq` of iteration_dropped events. */
    #define Z6_ARRIVALS_MAX 0xFFFFFFFFULL
    """
    const uint64_t Z6_NO_ARRIVAL
    const uint64_t Z6_ARRIVALS_MAX

cdef enum arrival_kind_t:
    ARRIVALS_CONSTANT = 0   # evenly spaced: arrival n where L(t) = n
    ARRIVALS_POISSON = 1    # exponential gaps: where L(t) = E_0 + ... + E_n, E_i ~ Exp(1)

# The rate curve, as the loader (`_open.pyx`) checked it.
ctypedef struct arrival_schedule_t:
    int kind                      # arrival_kind_t
    Py_ssize_t n_segments         # >= 1
    const uint64_t* start_ns      # n_segments + 1: segment starts, then the schedule's end
    const double* rate0           # n_segments: arrivals per second at each segment's start
    const double* rate1           # n_segments: ... and at its end (linear in between)
    const double* level0          # n_segments + 1: L at each segment's start; the last is L(end)

# Where the arrival process is.
ctypedef struct arrival_state_t:
    uint64_t rng                  # the run-wide arrival stream
    double level                  # L of the next arrival
    uint64_t index                # the next arrival's index, from 0
    Py_ssize_t segment            # the segment the last arrival fell in (levels only grow)


cdef inline uint64_t arrival_stream_state(uint64_t seed) noexcept nogil:
    return xs_init(splitmix64(seed, 0))


cdef inline uint64_t arrival_draw_state(uint64_t seed, uint64_t index) noexcept nogil:
    # Arrival `index`'s own stream (its iteration's draws); a 0 maps as for a VU's.
    return xs_init(splitmix64(splitmix64(seed, 0), index + 1))


cdef inline void arrivals_start(arrival_state_t* st, const arrival_schedule_t* s, uint64_t seed) noexcept nogil:
    st.rng = arrival_stream_state(seed)
    st.index = 0
    st.segment = 0
    st.level = 0.0
    if s.kind == ARRIVALS_POISSON:
        st.level = -log1p(-xs_float(&st.rng))


cdef inline uint64_t arrival_instant(arrival_state_t* st, const arrival_schedule_t* s) noexcept nogil:
    # The instant (ns from the start) of the next arrival, or Z6_NO_ARRIVAL. Does
    # not advance: `arrivals_advance` does.
    cdef Py_ssize_t seg = st.segment
    cdef double x, r0, slope, span_s, tau, root
    cdef uint64_t t, seg_end
    if st.index >= Z6_ARRIVALS_MAX:
        return Z6_NO_ARRIVAL
    while seg < s.n_segments and s.level0[seg + 1] <= st.level:
        seg += 1
    st.segment = seg
    if seg >= s.n_segments:
        return Z6_NO_ARRIVAL
    x = st.level - s.level0[seg]
    r0 = s.rate0[seg]
    span_s = <double>(s.start_ns[seg + 1] - s.start_ns[seg]) * 1e-9
    slope = (s.rate1[seg] - r0) / span_s
    # Solve r0 * tau + slope * tau**2 / 2 = x for tau >= 0, in the form that
    # does not cancel when slope is small or negative.
    if x <= 0.0:
        tau = 0.0
    else:
        root = r0 * r0 + 2.0 * slope * x
        root = sqrt(root) if root > 0.0 else 0.0
        tau = 2.0 * x / (r0 + root) if r0 + root > 0.0 else span_s
    t = s.start_ns[seg] + <uint64_t>(tau * 1e9 + 0.5)
    seg_end = s.start_ns[seg + 1]
    if t >= seg_end:
        # Rounding at the segment's edge: the arrival still belongs to it.
        t = seg_end - 1
    return t


cdef inline void arrivals_advance(arrival_state_t* st, const arrival_schedule_t* s) noexcept nogil:
    st.index += 1
    if s.kind == ARRIVALS_POISSON:
        st.level = st.level - log1p(-xs_float(&st.rng))
    else:
        st.level = <double>st.index


cdef inline uint64_t arrival_next_own(arrival_state_t* st, const arrival_schedule_t* s,
                                      uint64_t first, uint64_t step) noexcept nogil:
    # The instant of the next arrival this shard serves (index mod step == first),
    # or Z6_NO_ARRIVAL; the arrivals before it, other shards', are passed over
    # (their draws still made, so every shard sees the same instants).
    cdef uint64_t t = arrival_instant(st, s)
    if step > 1:
        while t != Z6_NO_ARRIVAL and st.index % step != first:
            arrivals_advance(st, s)
            t = arrival_instant(st, s)
    return t
