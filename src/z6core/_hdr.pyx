# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True
"""HDR histograms of nanosecond values, recorded from event chunks without the GIL.

For runs too long to keep every latency, a histogram keeps a fixed array of
counts instead. The layout is HdrHistogram's (Gil Tene's log-linear buckets) with a
lowest discernible value of 1 ns: with ``significant_figures = 3`` each power-of-two
bucket is split into 1,024 linear sub-buckets (2,048 in the first), so every
recorded value is known to within 1/1,024 of itself (< 0.098%). Indexing is one
count-leading-zeros, one shift and one add per value.

Percentiles use the exact nearest rank (`ceil(p/100 * n)`, as `z6.metrics` does for
exact percentiles) and return the highest value equivalent to the bucket that holds
that rank, so a histogram percentile is never below the exact one and exceeds it by
less than 1/1,024 of it. (HdrHistogram rounds the rank to the nearest count
instead; at ranks where both rules agree the two give the same value, which the
tests check against the ``hdrhistogram`` package.)

Values at or beyond the smallest untrackable value (``2048 << (bucket_count - 1)``,
above ``highest``) are counted in the top bucket and in ``clamped``; the exact
minimum, maximum and sum are kept beside the counts.

Compatibility guarantee: for the same ``highest`` and ``significant_figures`` the
counts array (its length and the index of every value) is the same in every z6
version and equals HdrHistogram's.
"""

cimport cython
from libc.stdint cimport int64_t, uint16_t, uint64_t
from libc.stdlib cimport free, malloc

import math
from fractions import Fraction

import numpy as np

from z6core._defs cimport EV_RESPONSE_RECEIVED, event_t
from z6core._outcomes cimport is_failed_outcome, is_outcome_kind

from z6core._plan import EVENT_DTYPE

__all__ = ["HdrHistogram", "RequestHistograms", "DEFAULT_HIGHEST_NS"]

# 2**42 ns is about 73 minutes: far beyond any request timeout, and 34,816 counts
# (272 KiB) a histogram at 3 significant figures.
DEFAULT_HIGHEST_NS = 1 << 42


cdef class HdrHistogram:
    """Counts of non-negative integer values (nanoseconds) in log-linear buckets.

    ``HdrHistogram(highest=DEFAULT_HIGHEST_NS, significant_figures=3)``: values up
    to ``highest`` keep ``significant_figures`` decimal digits of resolution.
    """


    def __cinit__(self, highest=DEFAULT_HIGHEST_NS, int significant_figures=3):
        if not 1 <= significant_figures <= 5:
            raise ValueError(f"significant_figures must be between 1 and 5, got {significant_figures}")
        # Sub-buckets: the smallest power of two >= 2 * 10**digits, so one bucket
        # resolves 10**digits distinct values at its low end.
        sub_count_magnitude = math.ceil(math.log2(2 * 10 ** significant_figures))
        sub_bucket_count = 1 << sub_count_magnitude
        if not isinstance(highest, int) or not 2 <= highest < 2**63:
            raise ValueError(f"highest must be an integer in [2, 2**63), got {highest!r}")
        bucket_count = 1
        smallest_untrackable = sub_bucket_count
        while smallest_untrackable <= highest:
            smallest_untrackable <<= 1
            bucket_count += 1
        self.highest = highest
        self.significant_figures = significant_figures
        self.bucket_count = bucket_count
        self.sub_bucket_count = sub_bucket_count
        self.h.half_magnitude = sub_count_magnitude - 1
        self.h.half_count = sub_bucket_count // 2
        self.h.sub_bucket_mask = sub_bucket_count - 1
        self.h.leading_zero_base = 64 - sub_count_magnitude
        self.h.counts_len = (bucket_count + 1) * (sub_bucket_count // 2)
        self._counts = np.zeros(self.h.counts_len, dtype=np.uint64)
        self.h.counts = <uint64_t*><size_t>self._counts.ctypes.data
        self._reset_stats()

    cdef void _reset_stats(self):
        self.h.total = 0
        self.h.min_value = 0xFFFFFFFFFFFFFFFF
        self.h.max_value = 0
        self.h.sum_lo = 0
        self.h.sum_hi = 0
        self.h.clamped = 0

    # --- recording -----------------------------------------------------------

    def record_value(self, uint64_t value):
        """Count one value."""
        hdr_record(&self.h, value)

    def record_values(self, const uint64_t[::1] values not None):
        """Count every value of a contiguous uint64 array (one C loop, no GIL)."""
        cdef Py_ssize_t i, n = values.shape[0]
        with nogil:
            for i in range(n):
                hdr_record(&self.h, values[i])

    def record_events(self, events, int kind):
        """Count ``value_ns`` of every event of ``kind`` in an EVENT_DTYPE chunk."""
        cdef const event_t* ev = _event_pointer(events)
        cdef Py_ssize_t i, n = events.shape[0]
        cdef uint16_t k = <uint16_t>kind
        with nogil:
            for i in range(n):
                if ev[i].kind == k:
                    hdr_record(&self.h, ev[i].value_ns)

    def record_responses(self, events):
        """Count the latency of every ``response_received`` event of an EVENT_DTYPE chunk.

        Returns ``(outcomes, failures)``: the chunk's outcome events and those
        that failed (the rule of `_outcomes.pxd`, as ``z6core.outcome_mask`` and
        ``z6core.failed_mask``), so a live view reads a chunk once.
        """
        cdef const event_t* ev = _event_pointer(events)
        cdef Py_ssize_t i, n = events.shape[0]
        cdef uint64_t outcomes = 0, failures = 0
        cdef uint16_t kind
        with nogil:
            for i in range(n):
                kind = ev[i].kind
                if kind == EV_RESPONSE_RECEIVED:
                    hdr_record(&self.h, ev[i].value_ns)
                outcomes += is_outcome_kind(kind)
                failures += is_failed_outcome(kind, ev[i].status, ev[i].error)
        return outcomes, failures

    def add(self, HdrHistogram other not None):
        """Add ``other``'s counts (same layout) to this histogram."""
        if other.h.counts_len != self.h.counts_len or other.h.half_count != self.h.half_count:
            raise ValueError("histograms differ in layout (highest or significant_figures)")
        cdef int64_t i
        for i in range(self.h.counts_len):
            self.h.counts[i] += other.h.counts[i]
        if other.h.total:
            self.h.min_value = min(self.h.min_value, other.h.min_value)
            self.h.max_value = max(self.h.max_value, other.h.max_value)
        self.h.total += other.h.total
        self.h.clamped += other.h.clamped
        cdef uint64_t before = self.h.sum_lo
        self.h.sum_lo += other.h.sum_lo
        self.h.sum_hi += other.h.sum_hi + (1 if self.h.sum_lo < before else 0)

    def reset(self):
        """Forget every value."""
        self._counts[:] = 0
        self._reset_stats()

    # --- reading -------------------------------------------------------------

    @property
    def total_count(self):
        return self.h.total

    @property
    def clamped(self):
        """Values beyond the trackable range, counted in the top bucket."""
        return self.h.clamped

    @property
    def min(self):
        """The exact smallest value recorded (None when empty)."""
        return self.h.min_value if self.h.total else None

    @property
    def max(self):
        """The exact largest value recorded (None when empty)."""
        return self.h.max_value if self.h.total else None

    @property
    def sum(self):
        """The exact sum of the values recorded."""
        return (int(self.h.sum_hi) << 64) | int(self.h.sum_lo)

    @property
    def mean(self):
        """The exact mean (None when empty)."""
        return float(Fraction(self.sum, self.h.total)) if self.h.total else None

    @property
    def counts(self):
        """The counts array as a read-only numpy view (HdrHistogram's index order)."""
        view = self._counts.view()
        view.flags.writeable = False
        return view

    @property
    def counts_len(self):
        return self.h.counts_len

    def index_of(self, uint64_t value):
        """The counts index a value falls in (before clamping)."""
        return hdr_index(&self.h, value)

    def lowest_equivalent_value(self, uint64_t value):
        """The smallest value sharing ``value``'s bucket."""
        return hdr_lowest_at(&self.h, hdr_index(&self.h, value))

    def highest_equivalent_value(self, uint64_t value):
        """The largest value sharing ``value``'s bucket."""
        return hdr_highest_at(&self.h, hdr_index(&self.h, value))

    def value_at_percentile(self, percentile):
        """The p-th percentile: the top of the bucket holding the nearest-rank value.

        None when the histogram is empty.
        """
        return self.values_at_percentiles([percentile])[0]

    def values_at_percentiles(self, percentiles):
        """`value_at_percentile` for several percentiles, in one pass over the counts."""
        ranks = []
        for p in percentiles:
            exact = Fraction(str(p))
            if not 0 <= exact <= 100:
                raise ValueError(f"percentile must be between 0 and 100, got {p!r}")
            # Exact rank (see z6.metrics.nearest_rank): p * n / 100 rounded up.
            ranks.append(min(max(math.ceil(exact * self.h.total / 100), 1), self.h.total))
        if not self.h.total:
            return [None] * len(ranks)
        return [hdr_highest_at(&self.h, hdr_index_of_rank(&self.h, rank)) for rank in ranks]

    def __repr__(self):
        return (f"HdrHistogram(highest={self.highest}, significant_figures={self.significant_figures}, "
                f"total_count={self.h.total})")


cdef const event_t* _event_pointer(events) except NULL:
    if not isinstance(events, np.ndarray) or events.dtype != EVENT_DTYPE or events.ndim != 1:
        raise TypeError(f"events must be a 1-d numpy array of EVENT_DTYPE, got {type(events).__name__}"
                        f" {getattr(events, 'dtype', None)}")
    if not events.flags.c_contiguous:
        raise ValueError("events must be C-contiguous")
    # A zero-length array may have no buffer; any non-NULL address will do, the loop reads nothing.
    return <const event_t*><size_t>events.ctypes.data if events.shape[0] else <const event_t*>&_no_event


cdef event_t _no_event


@cython.final
cdef class RequestHistograms:
    """One `HdrHistogram` per request index plus one for all of them.

    ``record(chunk)`` counts ``value_ns`` of every event of ``kind`` (e.g.
    ``response_received`` for latency, ``request_issued`` for schedule lag) into its
    request's histogram and the overall one, in one C loop without the GIL.
    """

    cdef readonly int kind
    cdef readonly object overall
    cdef object _per_request
    cdef hdr_t** _hists
    cdef hdr_t* _overall
    cdef Py_ssize_t n_requests

    def __cinit__(self, Py_ssize_t n_requests, int kind, highest=DEFAULT_HIGHEST_NS, int significant_figures=3):
        if not 0 <= n_requests < 0xFFFF:
            raise ValueError(f"n_requests must be in [0, 65535), got {n_requests}")
        self.kind = kind
        self.n_requests = n_requests
        self.overall = HdrHistogram(highest, significant_figures)
        self._per_request = tuple(HdrHistogram(highest, significant_figures) for _ in range(n_requests))
        self._overall = &(<HdrHistogram>self.overall).h
        self._hists = <hdr_t**>malloc(max(n_requests, 1) * sizeof(hdr_t*))
        if self._hists == NULL:
            raise MemoryError()
        cdef Py_ssize_t i
        for i in range(n_requests):
            self._hists[i] = &(<HdrHistogram>self._per_request[i]).h

    def __dealloc__(self):
        free(self._hists)

    def __len__(self):
        return self.n_requests

    def __getitem__(self, Py_ssize_t index):
        return self._per_request[index]

    def record(self, events):
        """Count one EVENT_DTYPE chunk.

        Raises ValueError (having counted nothing of the chunk) when an event of
        ``kind`` names a request index outside the table: the chunk is corrupt or
        belongs to another plan.
        """
        cdef const event_t* ev = _event_pointer(events)
        cdef Py_ssize_t i, n = events.shape[0], bad = -1
        cdef uint16_t k = <uint16_t>self.kind
        cdef uint16_t limit = <uint16_t>self.n_requests
        with nogil:
            for i in range(n):
                if ev[i].kind == k and ev[i].request >= limit:
                    bad = i
                    break
            if bad < 0:
                for i in range(n):
                    if ev[i].kind == k:
                        hdr_record(self._hists[ev[i].request], ev[i].value_ns)
                        hdr_record(self._overall, ev[i].value_ns)
        if bad >= 0:
            raise ValueError(f"event {bad} of the chunk (kind {self.kind}) names request "
                             f"{ev[bad].request}, but there are {self.n_requests} requests")
