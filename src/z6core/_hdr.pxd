# cython: language_level=3
"""HDR histograms' C layout and their inline recording step, shared by the
modules that record into them without the GIL (`_hdr.pyx` owns the class and the
layout's description; `_summary.pyx` records into its histograms directly)."""

from libc.stdint cimport int64_t, uint64_t

cdef extern from *:
    """
    #include <stdint.h>
    #if defined(_MSC_VER)
    #include <intrin.h>
    static inline int z6_clz64(uint64_t x) { unsigned long i; _BitScanReverse64(&i, x); return 63 - (int)i; }
    #else
    static inline int z6_clz64(uint64_t x) { return __builtin_clzll(x); }
    #endif
    """
    int z6_clz64(uint64_t x) nogil

ctypedef struct hdr_t:
    uint64_t* counts
    int64_t counts_len
    int half_magnitude          # log2 of the sub-buckets per bucket after the first
    int64_t half_count          # 1 << half_magnitude
    uint64_t sub_bucket_mask    # (2 * half_count - 1): values below it share bucket 0
    int leading_zero_base       # 64 - (half_magnitude + 1)
    uint64_t total
    uint64_t min_value
    uint64_t max_value
    uint64_t sum_lo             # exact sum, 128 bits as two words
    uint64_t sum_hi
    uint64_t clamped


cdef inline int64_t hdr_index(const hdr_t* h, uint64_t value) noexcept nogil:
    # The bucket is the power of two above the sub-bucket range that holds the
    # value; the sub-bucket is the value shifted down into [half_count, 2*half_count).
    cdef int bucket = h.leading_zero_base - z6_clz64(value | h.sub_bucket_mask)
    cdef int64_t sub = <int64_t>(value >> bucket)
    return ((<int64_t>(bucket + 1)) << h.half_magnitude) + sub - h.half_count


cdef inline uint64_t hdr_lowest_at(const hdr_t* h, int64_t index) noexcept nogil:
    cdef int64_t bucket = (index >> h.half_magnitude) - 1
    cdef int64_t sub = (index & (h.half_count - 1)) + h.half_count
    if bucket < 0:
        sub -= h.half_count
        bucket = 0
    return (<uint64_t>sub) << bucket


cdef inline uint64_t hdr_highest_at(const hdr_t* h, int64_t index) noexcept nogil:
    cdef int64_t bucket = (index >> h.half_magnitude) - 1
    if bucket < 0:
        bucket = 0
    return hdr_lowest_at(h, index) + ((<uint64_t>1) << bucket) - 1


cdef inline void hdr_record(hdr_t* h, uint64_t value) noexcept nogil:
    cdef int64_t index = hdr_index(h, value)
    if index >= h.counts_len:
        index = h.counts_len - 1
        h.clamped += 1
    h.counts[index] += 1
    h.total += 1
    if value < h.min_value:
        h.min_value = value
    if value > h.max_value:
        h.max_value = value
    h.sum_lo += value
    if h.sum_lo < value:
        h.sum_hi += 1


cdef inline void hdr_record_zeros(hdr_t* h, uint64_t count) noexcept nogil:
    # ``count`` values of 0 at once (a run's on-time lags, by the million); the sum is unchanged.
    if count == 0:
        return
    h.counts[hdr_index(h, 0)] += count
    h.total += count
    h.min_value = 0


cdef inline int64_t hdr_index_of_rank(const hdr_t* h, uint64_t rank) noexcept nogil:
    # The counts index holding the rank-th smallest value (1-based rank <= total).
    cdef uint64_t seen = 0
    cdef int64_t i
    for i in range(h.counts_len):
        seen += h.counts[i]
        if seen >= rank:
            return i
    return h.counts_len - 1


cdef class HdrHistogram:
    cdef hdr_t h
    cdef object _counts
    cdef readonly uint64_t highest
    cdef readonly int significant_figures
    cdef readonly int bucket_count
    cdef readonly int64_t sub_bucket_count
    cdef void _reset_stats(self)
