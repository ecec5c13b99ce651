# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True
"""Python access to the core's PRNG and draws, for tests and tools.

Nothing here is on the hot path: the engine calls the inline C functions in
`_prng.pxd` and `_draw.pxd` directly. These wrappers run the very same functions,
so a known-answer test of a wrapper is a test of what the engine computes.
"""

from libc.stdint cimport uint64_t

import numpy as np

from z6core._draw cimport draw_ns, pick_original_f32, pick_weighted
from z6core._prng cimport (splitmix64 as c_splitmix64, vu_stream_state, xs_float, xs_init,
                           xs_next, xs_range, xs_original_float)

__all__ = ["Xorshift64Star", "splitmix64", "vu_stream_seed", "sample_weighted",
           "sample_original_f32", "sample_duration_ns"]


cdef class Xorshift64Star:
    """The original engine's xorshift64* generator (``PRNG.init(seed)``; seed 0 is remapped).

    ``next_u64``, ``range`` and ``seed_float`` match the original bit for bit;
    ``float`` is z6's [0, 1) float (top 53 bits), never 1.0.
    """

    cdef uint64_t _state

    def __init__(self, uint64_t seed):
        self._state = xs_init(seed)

    @classmethod
    def from_state(cls, uint64_t state):
        """A generator whose internal state is exactly ``state`` (must be nonzero)."""
        if state == 0:
            raise ValueError("xorshift64* state must be nonzero")
        cdef Xorshift64Star g = cls(state)
        return g

    @property
    def state(self):
        return self._state

    def next_u64(self):
        return xs_next(&self._state)

    def float(self):
        return xs_float(&self._state)

    def seed_float(self):
        return xs_original_float(&self._state)

    def range(self, uint64_t n):
        if n == 0:
            raise ValueError("range(n) needs n >= 1")
        return xs_range(&self._state, n)


def splitmix64(uint64_t seed, uint64_t index):
    """The ``index``-th output of SplitMix64 seeded with ``seed``."""
    return c_splitmix64(seed, index)


def vu_stream_seed(uint64_t seed, uint64_t vu_id):
    """Initial xorshift64* state of VU ``vu_id`` in a run seeded with ``seed``."""
    return vu_stream_state(seed, vu_id)


def sample_weighted(cum_weights, uint64_t state, Py_ssize_t n):
    """``n`` picks from integer cumulative weights, one stream starting at ``state``."""
    cdef const uint64_t[::1] cum = np.ascontiguousarray(cum_weights, dtype=np.uint64)
    if cum.shape[0] < 1 or cum[cum.shape[0] - 1] == 0:
        raise ValueError("cum_weights must be non-empty with a positive total")
    out = np.empty(n, dtype=np.int64)
    cdef long long[::1] o = out
    cdef uint64_t s = xs_init(state)
    cdef Py_ssize_t i, m = cum.shape[0]
    with nogil:
        for i in range(n):
            o[i] = pick_weighted(&s, &cum[0], m)
    return out


def sample_original_f32(weights_f32, uint64_t seed, Py_ssize_t n):
    """``n`` picks by the original engine's f32 ``selectRequest`` from ``PRNG.init(seed)``."""
    cdef const float[::1] w = np.ascontiguousarray(weights_f32, dtype=np.float32)
    cdef float total = 0.0
    cdef Py_ssize_t i, m = w.shape[0]
    for i in range(m):
        total = total + w[i]
    out = np.empty(n, dtype=np.int64)
    cdef long long[::1] o = out
    cdef uint64_t s = xs_init(seed)
    for i in range(n):
        o[i] = pick_original_f32(&s, &w[0], m, total)
    return out


def sample_duration_ns(int kind, double a, double b, uint64_t state, Py_ssize_t n):
    """``n`` draws of a think-time / latency distribution (see `_draw.pxd`), in ns."""
    out = np.empty(n, dtype=np.uint64)
    cdef uint64_t[::1] o = out
    cdef uint64_t s = xs_init(state)
    cdef Py_ssize_t i
    with nogil:
        for i in range(n):
            o[i] = draw_ns(&s, kind, a, b)
    return out
