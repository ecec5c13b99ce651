# cython: language_level=3
"""The lifecycle steps both engines share, so a simulated and a live VU count
requests, sequence steps and iterations the same way (declarations and small
inline functions only, as in numpy.random's .pxd files)."""

from libc.stdint cimport uint16_t, uint32_t

from z6core._defs cimport vu_t

cdef extern from *:
    """
    #define Z6_ITERATIONS_UNBOUNDED 0xFFFFFFFFu
    """
    const uint32_t Z6_ITERATIONS_UNBOUNDED  # iter_left of a VU bounded by its schedule alone


cdef inline void count_outcome(vu_t* vu, const uint32_t* step_repeat, uint16_t n_steps) noexcept nogil:
    # After a request's outcome: the next request's seq, the sequence's next step
    # (a request repeats step_repeat[step] times), and one iteration fewer when
    # the sequence wraps (without a sequence, every request is an iteration).
    cdef bint iteration_done = True
    vu.seq += 1
    if n_steps:
        vu.step_rep += 1
        iteration_done = False
        if vu.step_rep >= step_repeat[vu.step]:
            vu.step_rep = 0
            vu.step += 1
            if vu.step == n_steps:
                vu.step = 0
                iteration_done = True
    if iteration_done and vu.iter_left != Z6_ITERATIONS_UNBOUNDED:
        vu.iter_left -= 1
