# cython: language_level=3
"""Sorting a tick's VU indices (u32) in place: the scheduler's only sort.

Events must come out in vu_id order within a tick; the indices filed under a tick
arrive as a few sorted runs, or in order already (checked before sorting).
"""

from libc.stdint cimport uint32_t
from libc.string cimport memcpy, memset

cdef enum:
    RADIX_BITS = 11
    RADIX_SIZE = 1 << RADIX_BITS


cdef inline void radix_sort_u32(uint32_t* keys, uint32_t* tmp, Py_ssize_t n, int passes) noexcept nogil:
    # LSD radix sort, RADIX_BITS per pass; `passes` covers the largest key.
    cdef Py_ssize_t counts[RADIX_SIZE]
    cdef Py_ssize_t i, total, c
    cdef int p, shift
    cdef uint32_t* src = keys
    cdef uint32_t* dst = tmp
    cdef uint32_t* swap
    for p in range(passes):
        shift = p * RADIX_BITS
        memset(counts, 0, sizeof(counts))
        for i in range(n):
            counts[(src[i] >> shift) & (RADIX_SIZE - 1)] += 1
        total = 0
        for i in range(RADIX_SIZE):
            c = counts[i]
            counts[i] = total
            total += c
        for i in range(n):
            c = (src[i] >> shift) & (RADIX_SIZE - 1)
            dst[counts[c]] = src[i]
            counts[c] += 1
        swap = src
        src = dst
        dst = swap
    if src != keys:
        memcpy(keys, src, n * sizeof(uint32_t))


cdef inline void insertion_sort_u32(uint32_t* keys, Py_ssize_t n) noexcept nogil:
    cdef Py_ssize_t i, j
    cdef uint32_t k
    for i in range(1, n):
        k = keys[i]
        j = i - 1
        while j >= 0 and keys[j] > k:
            keys[j + 1] = keys[j]
            j -= 1
        keys[j + 1] = k
