# cython: language_level=3
"""The open model's pool of idle VUs: a min-heap of VU indices, so the lowest
free id serves the next arrival (both engines; declarations and inline
functions only). The caller owns the array (one slot per VU of the table)."""

from libc.stdint cimport uint32_t


cdef inline void pool_push(uint32_t* heap, Py_ssize_t* n, uint32_t idx) noexcept nogil:
    cdef Py_ssize_t i = n[0], parent
    n[0] += 1
    while i > 0:
        parent = (i - 1) >> 1
        if heap[parent] <= idx:
            break
        heap[i] = heap[parent]
        i = parent
    heap[i] = idx


cdef inline uint32_t pool_pop(uint32_t* heap, Py_ssize_t* n) noexcept nogil:
    # The lowest index; the heap must not be empty.
    cdef uint32_t top = heap[0], last
    cdef Py_ssize_t size, i = 0, child
    n[0] -= 1
    size = n[0]
    if size:
        last = heap[size]
        while True:
            child = 2 * i + 1
            if child >= size:
                break
            if child + 1 < size and heap[child + 1] < heap[child]:
                child += 1
            if heap[child] >= last:
                break
            heap[i] = heap[child]
            i = child
        heap[i] = last
    return top
