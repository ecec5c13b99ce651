# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True
"""The run summary's accounting, folded from event chunks in C without the GIL.

`SummaryAccumulator` is what `z6.metrics.SummaryBuilder` folds every chunk
through: one pass over the 32-byte records checks the chunk (request indexes,
tick order), a second one counts it. Python touches it once per chunk and once
at the end, when `z6.metrics` turns what it holds into a `Summary`.

What it holds (docs/metrics.md says what each figure means):

* counts by event kind, run-wide and per request (kinds below `KIND_SLOTS`;
  any later kind is counted without new code, a kind at or beyond it in
  ``other_kinds``); peak concurrent VUs; connections opened (count, TLS full or
  resumed, connect-time sum and maximum); first and last tick;
* one count per distinct (request, kind, status, error) of the failed outcomes
  other than responses, and of the responses whose status is beyond the dense
  table below (an open-addressing hash table): the failures by kind and error
  code come out of it;
* response latencies: every one kept exactly (latency, request, status: 8
  bytes each, the latency as uint32 until one needs 64 bits, then all widened
  in place: 12 bytes; in C columns numpy reads without a copy) until the values kept
  would pass the exact limit, then HDR histograms per status (`_hdr.pxd`'s
  layout, so `HdrHistogram` objects read the same counts); an HDR histogram per
  request is recorded from the start (for `snapshot()`; the overall one is
  their sum);
* responses by (request, status) in a dense table for statuses below 1,024;
* schedule lag (``request_issued``'s value, but each VU's first request): on-time
  requests counted, late ones kept exactly, or an HDR histogram after the switch;
* the per-second series: requests, outcomes, failures, VU delta, bytes sent,
  and the exact p50/p95/p99 of each second's latencies (selected in C from the
  open second's values when it closes).

Compatibility guarantee: fed the same chunks, it yields the figures of
`z6.metrics._reference.ReferenceSummaryBuilder` (the numpy implementation it replaced),
field for field; tests/test_summary_core.py checks it.

Thread safety: one thread folds (`check`, `fold`, `use_histograms`,
`close_series`); any thread may call `snapshot()` meanwhile: the fold and the
reading hold one lock. `check` keeps the GIL (a short read-only pass); `fold`
gives it up for the accounting.
Tick arithmetic assumes ``tick * tick_ns`` below 2**64 (584 years).
"""

cimport cython
from cpython.pythread cimport (WAIT_LOCK, PyThread_acquire_lock, PyThread_allocate_lock, PyThread_free_lock,
                               PyThread_release_lock, PyThread_type_lock)
from libc.stdint cimport int64_t, uint8_t, uint16_t, uint32_t, uint64_t, uintptr_t
from libc.stdlib cimport calloc, free, malloc, realloc
from libc.string cimport memcpy, memset

import numpy as np

cimport numpy as cnp
from cpython.ref cimport Py_INCREF

from z6core._defs cimport (EV_CONN_ESTABLISHED, EV_REQUEST_ISSUED, EV_RESPONSE_RECEIVED, EV_VU_COMPLETE,
                           EV_VU_SPAWNED, ERR_STATUS_LISTED, event_t)
from z6core._hdr cimport (HdrHistogram, hdr_highest_at, hdr_index_of_rank, hdr_record, hdr_record_zeros,
                          hdr_t)
from z6core._outcomes cimport is_failed_response, is_outcome_kind

from z6core._hdr import DEFAULT_HIGHEST_NS
from z6core._plan import EVENT_DTYPE

__all__ = ["SummaryAccumulator", "KIND_SLOTS", "SERIES_DTYPE"]

cdef enum:
    # Kinds counted one by one (run-wide and per request); 21 are defined today,
    # so 43 more are counted with no change here.
    Z6_KIND_SLOTS = 64
    # First capacity of the exact columns and of the open second's latencies.
    Z6_FIRST_CAPACITY = 1 << 16
    # Outcome table: empty slot marker (no outcome key is all ones: a request
    # index is below 0xFFFF) and the first capacity.
    Z6_MAP_FIRST_BITS = 6
    # Responses are counted by (request, status) in a dense table for statuses
    # below this (HTTP's are 100-599), in the outcome table beyond it.
    Z6_DENSE_STATUSES = 1024

# What the fold does with an event, by kind (`kind_class`, filled once from the
# outcome rule of _outcomes.pxd for every kind below KIND_SLOTS).
cdef enum kind_class_t:
    CLASS_OTHER = 0        # counted by kind only
    CLASS_ISSUED = 1
    CLASS_RECEIVED = 2
    CLASS_FAILURE = 3      # an outcome other than a response
    CLASS_SPAWNED = 4
    CLASS_COMPLETE = 5
    CLASS_CONNECTED = 6

KIND_SLOTS = Z6_KIND_SLOTS

cdef extern from "Python.h":
    # The exact columns are reported to tracemalloc, as numpy reports its arrays,
    # so that Python's own memory tools see what the summary keeps.
    int PyTraceMalloc_Track(unsigned int domain, uintptr_t ptr, size_t size)
    int PyTraceMalloc_Untrack(unsigned int domain, uintptr_t ptr)

cdef unsigned int Z6_TRACE_DOMAIN = 0x7A36   # "z6"

cdef uint64_t MAP_EMPTY = 0xFFFFFFFFFFFFFFFFULL
cdef uint64_t NS_PER_S = 1000000000ULL

# One closed second of the series.
ctypedef struct series_row_t:
    int64_t second
    int64_t requests
    int64_t completed
    int64_t errors
    int64_t vu_delta
    int64_t bytes_sent
    uint64_t p50
    uint64_t p95
    uint64_t p99
    int64_t latencies      # how many responses the second had (0: no percentiles)

cdef series_row_t _row_probe
cnp.import_array()

SERIES_DTYPE = np.asarray(<series_row_t[:1]>&_row_probe).dtype


# --- the outcome table: key -> count, open addressing, linear probing -----------

ctypedef struct count_map_t:
    uint64_t* keys
    uint64_t* counts
    int bits
    uint64_t size


cdef inline uint64_t _listed_bit(const event_t* e) noexcept nogil:
    # A response's error, kept in its outcome key only when it says its status was listed.
    return ERR_STATUS_LISTED if e.error == ERR_STATUS_LISTED else 0


cdef inline uint64_t outcome_key(const event_t* e) noexcept nogil:
    return ((<uint64_t>e.request) << 48) | ((<uint64_t>e.kind) << 32) | ((<uint64_t>e.status) << 16) | e.error


cdef int map_init(count_map_t* m, int bits) noexcept nogil:
    cdef uint64_t capacity = (<uint64_t>1) << bits
    m.keys = <uint64_t*>malloc(capacity * sizeof(uint64_t))
    m.counts = <uint64_t*>calloc(capacity, sizeof(uint64_t))
    if m.keys == NULL or m.counts == NULL:
        free(m.keys)
        free(m.counts)
        m.keys = m.counts = NULL
        return -1
    memset(m.keys, 0xFF, capacity * sizeof(uint64_t))
    m.bits = bits
    m.size = 0
    return 0


cdef inline uint64_t map_home(uint64_t key, int bits) noexcept nogil:
    # Fibonacci hashing: the top bits of key * 2**64/phi.
    return (key * 0x9E3779B97F4A7C15ULL) >> (64 - bits)


cdef int map_grow(count_map_t* m) noexcept nogil:
    cdef count_map_t bigger
    if map_init(&bigger, m.bits + 1) != 0:
        return -1
    cdef uint64_t i, j, mask = ((<uint64_t>1) << bigger.bits) - 1
    for i in range((<uint64_t>1) << m.bits):
        if m.keys[i] != MAP_EMPTY:
            j = map_home(m.keys[i], bigger.bits)
            while bigger.keys[j] != MAP_EMPTY:
                j = (j + 1) & mask
            bigger.keys[j] = m.keys[i]
            bigger.counts[j] = m.counts[i]
    bigger.size = m.size
    free(m.keys)
    free(m.counts)
    m[0] = bigger
    return 0


cdef inline int map_add(count_map_t* m, uint64_t key, uint64_t count) noexcept nogil:
    cdef uint64_t mask = ((<uint64_t>1) << m.bits) - 1
    cdef uint64_t j = map_home(key, m.bits)
    while True:
        if m.keys[j] == key:
            m.counts[j] += count
            return 0
        if m.keys[j] == MAP_EMPTY:
            break
        j = (j + 1) & mask
    # A new key: keep the table at most half full.
    if 2 * (m.size + 1) > ((<uint64_t>1) << m.bits):
        if map_grow(m) != 0:
            return -1
        return map_add(m, key, count)
    m.keys[j] = key
    m.counts[j] = count
    m.size += 1
    return 0


# --- histograms as bare C structs (the layout of an HdrHistogram) --------------

cdef hdr_t* hdr_new(const hdr_t* layout) noexcept nogil:
    # An empty histogram with ``layout``'s shape; NULL when out of memory.
    cdef hdr_t* h = <hdr_t*>malloc(sizeof(hdr_t))
    if h == NULL:
        return NULL
    h[0] = layout[0]
    h.counts = <uint64_t*>calloc(<size_t>layout.counts_len, sizeof(uint64_t))
    if h.counts == NULL:
        free(h)
        return NULL
    h.total = 0
    h.min_value = 0xFFFFFFFFFFFFFFFFULL
    h.max_value = 0
    h.sum_lo = 0
    h.sum_hi = 0
    h.clamped = 0
    return h


cdef void hdr_free(hdr_t* h) noexcept nogil:
    if h != NULL:
        free(h.counts)
        free(h)


cdef HdrHistogram hdr_object(const hdr_t* h):
    # A Python HdrHistogram holding a copy of ``h`` (default layout: the one hdr_new copied).
    cdef HdrHistogram out = HdrHistogram()
    cdef uint64_t* counts = out.h.counts
    memcpy(counts, h.counts, <size_t>h.counts_len * sizeof(uint64_t))
    out.h = h[0]
    out.h.counts = counts
    return out


# --- exact selection for the series' percentiles -------------------------------

cdef void select_nth(uint64_t* v, int64_t lo, int64_t hi, int64_t k) noexcept nogil:
    # Reorders v[lo..hi] (inclusive) so that v[k] is the value a sort would put
    # there, everything before it <= it and everything after >= it. Hoare's
    # partition around a median of three: runs of equal latencies (a constant
    # model) split evenly instead of degenerating.
    cdef int64_t i, j, mid
    cdef uint64_t pivot, t
    while hi > lo:
        mid = lo + (hi - lo) // 2
        if v[mid] < v[lo]:
            t = v[mid]; v[mid] = v[lo]; v[lo] = t
        if v[hi] < v[lo]:
            t = v[hi]; v[hi] = v[lo]; v[lo] = t
        if v[hi] < v[mid]:
            t = v[hi]; v[hi] = v[mid]; v[mid] = t
        pivot = v[mid]
        i = lo - 1
        j = hi + 1
        while True:
            i += 1
            while v[i] < pivot:
                i += 1
            j -= 1
            while v[j] > pivot:
                j -= 1
            if i >= j:
                break
            t = v[i]; v[i] = v[j]; v[j] = t
        # v[lo..j] <= pivot <= v[j+1..hi]
        if k <= j:
            hi = j
        else:
            lo = j + 1


cdef inline int64_t rank_index(int64_t n, int64_t percent) noexcept nogil:
    # Nearest rank of an integer percentile: ceil(percent * n / 100), 1-based, as an index.
    cdef int64_t rank = (percent * n + 99) // 100
    if rank < 1:
        rank = 1
    if rank > n:
        rank = n
    return rank - 1


cdef inline void _three_percentiles(const hdr_t* h, const int64_t* percents, uint64_t* out) noexcept nogil:
    # The snapshot's p50/p95/p99 of one histogram, as the overall ones are taken.
    cdef uint64_t rank
    cdef int k
    if h.total == 0:
        return
    for k in range(3):
        rank = <uint64_t>rank_index(<int64_t>h.total, percents[k]) + 1
        out[k] = min(hdr_highest_at(h, hdr_index_of_rank(h, rank)), h.max_value)


cdef inline void hdr_add(hdr_t* into, const hdr_t* h) noexcept nogil:
    # Adds ``h``'s counts and statistics (same layout) to ``into``.
    cdef int64_t i
    cdef uint64_t before
    for i in range(h.counts_len):
        into.counts[i] += h.counts[i]
    if h.total:
        if h.min_value < into.min_value:
            into.min_value = h.min_value
        if h.max_value > into.max_value:
            into.max_value = h.max_value
    into.total += h.total
    into.clamped += h.clamped
    before = into.sum_lo
    into.sum_lo += h.sum_lo
    into.sum_hi += h.sum_hi + (into.sum_lo < before)


cdef int resize_column(void** column, size_t size) noexcept:
    # realloc, tracemalloc told of the move (the column keeps its bytes; -1, the
    # column untouched, when there is no memory).
    cdef void* moved = realloc(column[0], size)
    if moved == NULL:
        return -1
    if column[0] != NULL:
        PyTraceMalloc_Untrack(Z6_TRACE_DOMAIN, <uintptr_t>column[0])
    PyTraceMalloc_Track(Z6_TRACE_DOMAIN, <uintptr_t>moved, size)
    column[0] = moved
    return 0


cdef int grow_column(void** column, Py_ssize_t* capacity, Py_ssize_t needed, Py_ssize_t ceiling,
                     size_t item) noexcept:
    # z6.metrics._growable.GrowableArray's rule: double (at least 65,536), capped at
    # the ceiling, never less than needed. realloc, so a large column moves by
    # remapping its pages rather than by a copy.
    if needed <= capacity[0]:
        return 0
    cdef Py_ssize_t grown = 2 * capacity[0]
    if grown < Z6_FIRST_CAPACITY:
        grown = Z6_FIRST_CAPACITY
    if grown > ceiling:
        grown = ceiling
    if grown < needed:
        grown = needed
    if resize_column(column, <size_t>grown * item) != 0:
        return -1
    capacity[0] = grown
    return 0


cdef inline uint8_t _class_of(uint16_t kind) noexcept nogil:
    # The fold's treatment of a kind, from the outcome rule (_outcomes.pxd).
    if kind == EV_REQUEST_ISSUED:
        return CLASS_ISSUED
    if kind == EV_RESPONSE_RECEIVED:
        return CLASS_RECEIVED
    if is_outcome_kind(kind):
        return CLASS_FAILURE
    if kind == EV_VU_SPAWNED:
        return CLASS_SPAWNED
    if kind == EV_VU_COMPLETE:
        return CLASS_COMPLETE
    if kind == EV_CONN_ESTABLISHED:
        return CLASS_CONNECTED
    return CLASS_OTHER


cdef void _free_column(void** column) noexcept:
    if column[0] != NULL:
        PyTraceMalloc_Untrack(Z6_TRACE_DOMAIN, <uintptr_t>column[0])
        free(column[0])
        column[0] = NULL


@cython.final
cdef class SummaryAccumulator:
    """The summary's accounting for one run (module docstring).

    ``SummaryAccumulator(n_requests, tick_ns, request_bytes=None, exact_ceiling=0)``;
    ``request_bytes`` (int64, one per request) turns on the series' bytes sent;
    ``exact_ceiling`` caps the capacity the exact columns grow to at once (the
    caller's exact limit: a caller that keeps at most that many never has more
    allocated).
    """

    cdef readonly Py_ssize_t n_requests
    cdef readonly uint64_t tick_ns
    cdef PyThread_type_lock lock
    # run-wide
    cdef uint64_t n_events
    cdef uint8_t kind_class[Z6_KIND_SLOTS]
    cdef uint64_t names_request         # bit k: an event of kind k must name a request of the table
    cdef uint64_t n_other_kinds
    cdef uint64_t* request_kinds       # (n_requests + 1) x KIND_SLOTS; the last row: no request
    cdef uint64_t* request_other       # n_requests + 1: kinds beyond the slots
    cdef bint started
    cdef uint64_t tick_first
    cdef uint64_t tick_last
    cdef int64_t active
    cdef int64_t peak_vus
    cdef uint64_t conn_opened, conn_tls_full, conn_tls_resumed, conn_ns_lo, conn_ns_hi, conn_ns_max
    cdef count_map_t outcomes
    cdef uint64_t* response_statuses   # (n_requests + 1) x DENSE_STATUSES: responses by request and status
    # latency and lag
    cdef readonly bint exact
    cdef hdr_t layout                  # an empty histogram of the default layout (no counts)
    cdef hdr_t** by_request            # from a request's first response: the snapshot's latency, the overall
                                       # one by summing; NULL before (a scenario may have 65,534 requests, and
                                       # a histogram is 270 KiB)
    cdef hdr_t* no_responses           # an empty histogram: what a request without responses reports
    cdef hdr_t** by_status             # 65,536 entries, once switched
    cdef hdr_t* lag                    # once switched; on-time lags stay in lag_zeros
    cdef void* values_p                # the exact columns; latencies as uint32 until one needs 64 bits
    cdef bint values_wide
    cdef uint16_t* requests_p
    cdef uint16_t* statuses_p
    cdef uint64_t* late_p
    cdef Py_ssize_t latency_capacity, lag_capacity
    cdef readonly Py_ssize_t kept_latencies
    cdef readonly Py_ssize_t kept_lags
    cdef readonly uint64_t lag_zeros
    cdef Py_ssize_t exact_ceiling
    # the series
    cdef object _request_bytes
    cdef object _empty_copy            # request_histograms()' one empty HdrHistogram, once made
    cdef const int64_t* bytes_p
    cdef uint64_t n_bytes
    cdef series_row_t open_row
    cdef bint second_open
    cdef uint64_t next_second_tick     # the first tick of a later second
    cdef uint64_t* second_values
    cdef int64_t second_capacity
    cdef series_row_t* rows
    cdef int64_t n_rows, rows_capacity
    # the last chunk check() passed, so fold() need not check it again
    cdef const event_t* checked_at
    cdef Py_ssize_t checked_n
    cdef Py_ssize_t checked_received, checked_late
    cdef bint checked_wide             # a response of that chunk needs 64 bits

    def __cinit__(self, Py_ssize_t n_requests, uint64_t tick_ns, request_bytes=None, Py_ssize_t exact_ceiling=0):
        if not 0 <= n_requests < 0xFFFF:
            raise ValueError(f"n_requests must be in [0, 65535), got {n_requests}")
        if tick_ns == 0:
            raise ValueError("tick_ns must be positive, got 0")
        cdef Py_ssize_t i
        self.n_requests = n_requests
        self.tick_ns = tick_ns
        self.exact = True
        self.exact_ceiling = max(exact_ceiling, 1)
        cdef HdrHistogram layout = HdrHistogram(DEFAULT_HIGHEST_NS, 3)
        self.layout = layout.h
        self.layout.counts = NULL
        self.lock = PyThread_allocate_lock()
        self.request_kinds = <uint64_t*>calloc((n_requests + 1) * Z6_KIND_SLOTS, sizeof(uint64_t))
        self.request_other = <uint64_t*>calloc(n_requests + 1, sizeof(uint64_t))
        self.by_request = <hdr_t**>calloc(n_requests + 1, sizeof(hdr_t*))
        self.response_statuses = <uint64_t*>calloc((n_requests + 1) * Z6_DENSE_STATUSES, sizeof(uint64_t))
        self.second_capacity = Z6_FIRST_CAPACITY
        self.second_values = <uint64_t*>malloc(self.second_capacity * sizeof(uint64_t))
        if (self.lock == NULL or self.request_kinds == NULL or self.request_other == NULL or self.by_request == NULL
                or self.response_statuses == NULL or self.second_values == NULL or map_init(&self.outcomes, Z6_MAP_FIRST_BITS) != 0):
            raise MemoryError()
        cdef uint16_t kind
        for kind in range(Z6_KIND_SLOTS):
            self.kind_class[kind] = _class_of(kind)
            if kind == EV_REQUEST_ISSUED or is_outcome_kind(kind):
                self.names_request |= (<uint64_t>1) << kind
        self.no_responses = hdr_new(&self.layout)
        if self.no_responses == NULL:
            raise MemoryError()
        if request_bytes is not None:
            self._request_bytes = np.ascontiguousarray(request_bytes, dtype=np.int64)
            if self._request_bytes.ndim != 1:
                raise ValueError(f"request_bytes must be one-dimensional, got shape {self._request_bytes.shape}")
            self.n_bytes = <uint64_t>self._request_bytes.shape[0]
            self.bytes_p = <const int64_t*><size_t>self._request_bytes.ctypes.data if self.n_bytes else NULL

    def __dealloc__(self):
        cdef Py_ssize_t i
        if self.lock != NULL:
            PyThread_free_lock(self.lock)
        free(self.request_kinds)
        free(self.request_other)
        free(self.response_statuses)
        free(self.outcomes.keys)
        free(self.outcomes.counts)
        free(self.second_values)
        free(self.rows)
        self.free_columns()
        hdr_free(self.lag)
        if self.by_request != NULL:
            for i in range(self.n_requests):
                hdr_free(self.by_request[i])
            free(self.by_request)
        hdr_free(self.no_responses)
        if self.by_status != NULL:
            for i in range(0x10000):
                hdr_free(self.by_status[i])
            free(self.by_status)

    # --- folding ---------------------------------------------------------------

    def check(self, events, bint count=True):
        """Check one EVENT_DTYPE chunk without counting it; returns how many values
        an exact fold of it would keep (responses plus late lags), or with
        ``count=False`` the chunk's length, a bound of that (the pass is then
        lighter, and fold() makes room for that many).

        Raises ValueError when an issued or outcome event names a request index
        outside the table, or when the chunk goes back in time (before the last
        tick folded, or within itself): nothing of the chunk is counted.

        What the check found (how many values to make room for, whether a latency
        needs 64 bits) is what fold() of the same chunk relies on: the chunk must
        not change between the two calls (a runner's chunks are read-only).
        """
        cdef const event_t* ev = _event_pointer(events)
        cdef Py_ssize_t i, n = events.shape[0], bad_request = -1, bad_tick = -1
        cdef Py_ssize_t received = 0, late = 0
        cdef uint16_t kind, limit = <uint16_t>self.n_requests
        cdef uint64_t previous = self.tick_last
        cdef const event_t* e
        cdef uint64_t beyond = 0, out_of_order = 0, hit, before = previous, wide = 0
        cdef uint64_t named = self.names_request
        # With the GIL: the pass is short (a few instructions an event, no Python),
        # and giving the GIL up twice a chunk costs more than it lends: with the
        # log writer's thread wanting it, each hand-back can wait its switch
        # interval. fold() gives it up once, for the accounting.
        # Without early exits or branches per event; the offending event is
        # looked for only when there is one.
        for i in range(n):
            e = &ev[i]
            kind = e.kind
            hit = (named >> kind) & 1 if kind < Z6_KIND_SLOTS else is_outcome_kind(kind)
            beyond |= hit & (e.request >= limit)
            out_of_order |= e.tick < before
            before = e.tick
            wide |= (kind == EV_RESPONSE_RECEIVED) & ((e.value_ns >> 32) != 0)
        # What an exact fold would keep is counted in a second pass (a read from L3:
        # the chunk is larger than a core's L2), asked for only where the chunk's
        # length could take the kept values past the exact limit, once or twice a run.
        if count:
            for i in range(n):
                e = &ev[i]
                received += e.kind == EV_RESPONSE_RECEIVED
                late += (e.kind == EV_REQUEST_ISSUED) & (e.value_ns != 0) & (e.seq != 0) & (e.status == 0)
        else:
            received = late = n
        if not self.exact:
            received = late = 0
        if beyond:
            for i in range(n):
                kind = ev[i].kind
                if (kind == EV_REQUEST_ISSUED or is_outcome_kind(kind)) and ev[i].request >= limit:
                    bad_request = i
                    break
        if n and ev[0].tick < previous:
            bad_tick = 0
        elif out_of_order:
            for i in range(1, n):
                if ev[i].tick < ev[i - 1].tick:
                    bad_tick = i
                    break
        if bad_request >= 0:
            raise ValueError(f"event {bad_request} of the chunk names request {ev[bad_request].request}, "
                             f"but the run has {self.n_requests} requests: the events belong to another plan "
                             "or are corrupt")
        if bad_tick >= 0:
            raise ValueError(f"events out of tick order (a chunk goes back before tick {previous}): "
                             "the time series needs the stream in the order the engine emits it")
        self.checked_at, self.checked_n = ev, n
        self.checked_received, self.checked_late = received, late
        self.checked_wide = wide != 0
        return received + late if count else n

    def fold(self, events):
        """Count one EVENT_DTYPE chunk (checked first, unless it is the chunk
        `check` just passed). One C pass without the GIL."""
        cdef const event_t* ev = _event_pointer(events)
        cdef Py_ssize_t n = events.shape[0]
        if ev != self.checked_at or n != self.checked_n:
            self.check(events)
        self.checked_at = NULL
        if n == 0:
            return
        # The exact columns grow first, with the GIL (tracemalloc is told) and
        # outside the lock (a snapshot never reads them).
        cdef int failed = self.reserve(self.checked_received, self.checked_late, self.checked_wide)
        if failed == 0:
            with nogil:
                PyThread_acquire_lock(self.lock, WAIT_LOCK)
                failed = self.fold_events(ev, n)
                PyThread_release_lock(self.lock)
        if failed:
            raise MemoryError("out of memory while counting the summary")

    cdef int reserve(self, Py_ssize_t received, Py_ssize_t late, bint wide) noexcept:
        # Room in the exact columns for a chunk's responses and late lags, the
        # latencies widened first when the chunk has one of 2**32 ns (4.3 s) or more.
        cdef Py_ssize_t capacity
        if not self.exact:
            return 0
        if wide and not self.values_wide and self.widen_values() != 0:
            return -1
        if self.kept_latencies + received > self.latency_capacity:
            capacity = self.latency_capacity
            if grow_column(<void**>&self.values_p, &capacity, self.kept_latencies + received, self.exact_ceiling,
                           sizeof(uint64_t) if self.values_wide else sizeof(uint32_t)) != 0:
                return -1
            capacity = self.latency_capacity
            if grow_column(<void**>&self.requests_p, &capacity, self.kept_latencies + received, self.exact_ceiling,
                           sizeof(uint16_t)) != 0:
                return -1
            capacity = self.latency_capacity
            if grow_column(<void**>&self.statuses_p, &capacity, self.kept_latencies + received,
                           self.exact_ceiling, sizeof(uint16_t)) != 0:
                return -1
            self.latency_capacity = capacity
        return grow_column(<void**>&self.late_p, &self.lag_capacity, self.kept_lags + late, self.exact_ceiling,
                           sizeof(uint64_t))

    cdef int widen_values(self) noexcept:
        # The kept latencies from uint32 to uint64, in place: realloc to twice the
        # bytes, then each value moved to its wide slot from the last one down (slot
        # i's 8 bytes cover narrow slots 2i and 2i + 1, both already moved).
        cdef Py_ssize_t i, capacity = self.latency_capacity
        cdef uint64_t* wide
        if capacity:
            if resize_column(&self.values_p, <size_t>capacity * sizeof(uint64_t)) != 0:
                return -1
            wide = <uint64_t*>self.values_p
            for i in range(self.kept_latencies - 1, -1, -1):
                wide[i] = (<uint32_t*>wide)[i]
        self.values_wide = True
        return 0

    cdef int fold_events(self, const event_t* ev, Py_ssize_t n) noexcept nogil:
        # The hot loop. Counters live in locals, written back at the end: stores
        # through the count arrays could alias the object's fields, which would
        # make the compiler reload every field after every store.
        cdef Py_ssize_t i
        cdef const event_t* e
        cdef uint16_t kind, request
        cdef uint64_t row_index, value, sec
        cdef uint64_t tick_ns = self.tick_ns
        cdef uint64_t none_row = <uint64_t>self.n_requests
        cdef bint exact = self.exact
        cdef const uint8_t* kind_class = &self.kind_class[0]
        cdef uint64_t* response_statuses = self.response_statuses
        cdef uint8_t cls
        cdef uint64_t* request_kinds = self.request_kinds
        cdef hdr_t** by_request = self.by_request
        cdef hdr_t* lag = self.lag
        cdef hdr_t* status_h = NULL        # the last status's histogram (after the switch)
        cdef uint16_t status_of_h = 0
        # The latencies' column is uint32 until check() finds one of 2**32 ns or
        # more and reserve() widens it, before this chunk.
        cdef bint values_wide = self.values_wide
        cdef uint64_t* wide_values = <uint64_t*>self.values_p
        cdef uint32_t* narrow_values = <uint32_t*>self.values_p
        cdef uint16_t* requests = self.requests_p
        cdef uint16_t* statuses = self.statuses_p
        cdef uint64_t* late = self.late_p
        cdef Py_ssize_t kept = self.kept_latencies, kept_lags = self.kept_lags
        cdef uint64_t lag_zeros = self.lag_zeros
        cdef int64_t active = self.active, peak = self.peak_vus
        cdef uint64_t next_second_tick = self.next_second_tick
        cdef const int64_t* bytes_p = self.bytes_p
        cdef uint64_t n_bytes = self.n_bytes
        cdef series_row_t second = self.open_row
        cdef uint64_t* second_values = self.second_values
        cdef int64_t second_capacity = self.second_capacity
        cdef int failed = 0
        if not self.started:
            self.started = True
            self.tick_first = ev[0].tick
        for i in range(n):
            e = &ev[i]
            kind = e.kind
            request = e.request
            # The series: a later second closes the open one (next_second_tick
            # is 0 while no second is open).
            if e.tick >= next_second_tick:
                sec = e.tick * tick_ns // NS_PER_S
                if next_second_tick == 0 or <int64_t>sec != second.second:
                    self.open_row = second
                    if self.close_second() != 0:
                        failed = -1
                        break
                    second = self.open_row
                    self.second_open = True
                    second.second = <int64_t>sec
                next_second_tick = ((sec + 1) * NS_PER_S + tick_ns - 1) // tick_ns
            row_index = request if request < none_row else none_row
            if kind < Z6_KIND_SLOTS:
                request_kinds[row_index * Z6_KIND_SLOTS + kind] += 1
                cls = kind_class[kind]
            else:
                self.n_other_kinds += 1
                self.request_other[row_index] += 1
                cls = _class_of(kind)
            if cls == CLASS_ISSUED:
                second.requests += 1
                if request < n_bytes:
                    second.bytes_sent += bytes_p[request]
                # each VU's first request is its start-up, and a redirect's hop
                # (status: its number) goes at once: neither is lag (z6.metrics._lag)
                if e.seq != 0 and e.status == 0:
                    value = e.value_ns
                    if value == 0:
                        lag_zeros += 1
                    elif not exact:
                        hdr_record(lag, value)
                    else:
                        late[kept_lags] = value
                        kept_lags += 1
            elif cls == CLASS_RECEIVED:
                second.completed += 1
                second.errors += is_failed_response(e.status, e.error)
                if e.status < Z6_DENSE_STATUSES and e.error != ERR_STATUS_LISTED:
                    response_statuses[<uint64_t>request * Z6_DENSE_STATUSES + e.status] += 1
                elif map_add(&self.outcomes, outcome_key(e) & ~(<uint64_t>0xFFFF) | _listed_bit(e), 1) != 0:
                    failed = -1
                    break
                value = e.value_ns
                if by_request[request] == NULL:     # the request's first response
                    by_request[request] = hdr_new(&self.layout)
                    if by_request[request] == NULL:
                        failed = -1
                        break
                hdr_record(by_request[request], value)
                if exact:
                    if values_wide:
                        wide_values[kept] = value
                    else:
                        narrow_values[kept] = <uint32_t>value
                    requests[kept] = request
                    statuses[kept] = e.status
                    kept += 1
                else:
                    if status_h == NULL or e.status != status_of_h:
                        status_of_h = e.status
                        status_h = self.status_histogram(status_of_h)
                        if status_h == NULL:
                            failed = -1
                            break
                    hdr_record(status_h, value)
                if second.latencies == second_capacity:
                    self.second_values = second_values
                    if self.grow_second() != 0:
                        failed = -1
                        break
                    second_values = self.second_values
                    second_capacity = self.second_capacity
                second_values[second.latencies] = value
                second.latencies += 1
            elif cls == CLASS_FAILURE:
                second.completed += 1
                second.errors += 1
                if map_add(&self.outcomes, outcome_key(e), 1) != 0:
                    failed = -1
                    break
            elif cls == CLASS_SPAWNED:
                active += 1
                second.vu_delta += 1
                if active > peak:
                    peak = active
            elif cls == CLASS_COMPLETE:
                active -= 1
                second.vu_delta -= 1
            elif cls == CLASS_CONNECTED:
                # status: 0 plain TCP, 1 TLS full handshake, 2 TLS resumed
                self.conn_opened += 1
                self.conn_tls_full += e.status == 1
                self.conn_tls_resumed += e.status == 2
                self.conn_ns_lo += e.value_ns
                if self.conn_ns_lo < e.value_ns:
                    self.conn_ns_hi += 1
                if e.value_ns > self.conn_ns_max:
                    self.conn_ns_max = e.value_ns
        self.open_row = second
        self.kept_latencies, self.kept_lags, self.lag_zeros = kept, kept_lags, lag_zeros
        self.active, self.peak_vus = active, peak
        self.next_second_tick = next_second_tick
        if failed == 0:
            self.n_events += <uint64_t>n
            self.tick_last = ev[n - 1].tick
        return failed

    cdef int grow_second(self) noexcept nogil:
        cdef uint64_t* bigger = <uint64_t*>realloc(self.second_values,
                                                   2 * self.second_capacity * sizeof(uint64_t))
        if bigger == NULL:
            return -1
        self.second_values = bigger
        self.second_capacity *= 2
        return 0

    cdef int close_second(self) noexcept nogil:
        # The open second becomes a row, its percentiles selected from its values.
        cdef series_row_t* row = &self.open_row
        cdef int64_t m = row.latencies, r50, r95, r99
        cdef series_row_t* bigger
        if not self.second_open:
            return 0
        if m:
            r50, r95, r99 = rank_index(m, 50), rank_index(m, 95), rank_index(m, 99)
            select_nth(self.second_values, 0, m - 1, r50)
            select_nth(self.second_values, r50, m - 1, r95)
            select_nth(self.second_values, r95, m - 1, r99)
            row.p50, row.p95, row.p99 = self.second_values[r50], self.second_values[r95], self.second_values[r99]
        if self.n_rows == self.rows_capacity:
            bigger = <series_row_t*>realloc(self.rows, (2 * self.rows_capacity + 64) * sizeof(series_row_t))
            if bigger == NULL:
                return -1
            self.rows = bigger
            self.rows_capacity = 2 * self.rows_capacity + 64
        self.rows[self.n_rows] = row[0]
        self.n_rows += 1
        memset(row, 0, sizeof(series_row_t))
        self.second_open = False
        self.next_second_tick = 0
        return 0

    def close_series(self):
        """Close the open second (the run's end): it becomes the series' last row.
        A later chunk opens a new one."""
        cdef int failed
        with nogil:
            PyThread_acquire_lock(self.lock, WAIT_LOCK)
            failed = self.close_second()
            PyThread_release_lock(self.lock)
        if failed:
            raise MemoryError("out of memory while closing the time series")

    def use_histograms(self):
        """Move the latencies and lags kept so far into HDR histograms (per
        status, lag; the per-request ones are recorded from the start) and count
        every later one there. Once."""
        if not self.exact:
            return
        cdef int failed = 0
        with nogil:
            PyThread_acquire_lock(self.lock, WAIT_LOCK)
            failed = self.switch_to_histograms()
            PyThread_release_lock(self.lock)
        if failed:
            raise MemoryError("out of memory while switching the summary to histograms")
        self.free_columns()

    cdef int switch_to_histograms(self) noexcept nogil:
        # Until now every response was kept, and also recorded in its request's
        # histogram. A request whose responses all share one status (the dense
        # table has one status for it, counting them all) gives that status its
        # whole histogram at once: the sum is what recording each value would give.
        # Only the values of the other requests are recorded one by one.
        cdef Py_ssize_t i, r, n_mixed = 0
        cdef int64_t s, only
        cdef uint16_t status, status_of_h = 0
        cdef uint64_t seen
        cdef const uint64_t* row
        cdef hdr_t* h
        cdef hdr_t* status_h = NULL
        cdef uint8_t* mixed = <uint8_t*>calloc(self.n_requests + 1, 1)
        cdef const uint16_t* requests = self.requests_p
        cdef const uint16_t* statuses = self.statuses_p
        cdef const uint64_t* wide_values = <const uint64_t*>self.values_p
        cdef const uint32_t* narrow_values = <const uint32_t*>self.values_p
        cdef bint wide = self.values_wide
        self.by_status = <hdr_t**>calloc(0x10000, sizeof(hdr_t*))
        self.lag = hdr_new(&self.layout)
        if mixed == NULL or self.by_status == NULL or self.lag == NULL:
            free(mixed)
            return -1
        for r in range(self.n_requests):
            if self.by_request[r] == NULL or self.by_request[r].total == 0:
                continue
            row = &self.response_statuses[r * Z6_DENSE_STATUSES]
            only, seen = -1, 0
            for s in range(Z6_DENSE_STATUSES):
                if row[s]:
                    only = s if seen == 0 else -1
                    seen += row[s]
                    if only < 0:
                        break
            if only < 0 or seen != self.by_request[r].total:
                mixed[r] = 1
                n_mixed += 1
                continue
            h = self.status_histogram(<uint16_t>only)
            if h == NULL:
                free(mixed)
                return -1
            hdr_add(h, self.by_request[r])
        for i in range(self.kept_latencies if n_mixed else 0):
            if not mixed[requests[i]]:
                continue
            status = statuses[i]
            if status_h == NULL or status != status_of_h:
                status_of_h = status
                status_h = self.status_histogram(status)
                if status_h == NULL:
                    free(mixed)
                    return -1
            hdr_record(status_h, wide_values[i] if wide else narrow_values[i])
        free(mixed)
        for i in range(self.kept_lags):
            hdr_record(self.lag, self.late_p[i])
        self.kept_latencies = self.kept_lags = 0
        self.exact = False
        return 0

    cdef hdr_t* status_histogram(self, uint16_t status) noexcept nogil:
        # by_status[status], made empty the first time; NULL when out of memory.
        if self.by_status[status] == NULL:
            self.by_status[status] = hdr_new(&self.layout)
        return self.by_status[status]

    cdef void free_columns(self) noexcept:
        _free_column(<void**>&self.values_p)
        _free_column(<void**>&self.requests_p)
        _free_column(<void**>&self.statuses_p)
        _free_column(<void**>&self.late_p)
        self.latency_capacity = self.lag_capacity = 0

    # --- reading at the end ------------------------------------------------------

    @property
    def events(self):
        return self.n_events

    @property
    def first_tick(self):
        """The first event's tick (None before any event)."""
        return self.tick_first if self.started else None

    @property
    def last_tick(self):
        return self.tick_last

    @property
    def vus_max(self):
        return self.peak_vus

    @property
    def other_kinds(self):
        """Events of kinds at or beyond KIND_SLOTS."""
        return self.n_other_kinds

    def kind_counts(self):
        """Events by kind, run-wide: int64 array of KIND_SLOTS."""
        return self.request_kind_counts().sum(axis=0)

    def request_kind_counts(self):
        """Events by request and kind: int64 array (n_requests + 1, KIND_SLOTS); the
        last row counts the events that name no request of the table."""
        rows = self.n_requests + 1
        return np.array(<uint64_t[:rows * Z6_KIND_SLOTS]>self.request_kinds,
                        dtype=np.int64).reshape(rows, Z6_KIND_SLOTS)

    def outcome_counts(self):
        """Outcomes counted: a dict (request, kind, status, error) -> count; responses
        are counted by request and status alone (their error is 0 here), but for
        those a status check listed (error ``status_listed``)."""
        return self._outcome_counts()

    cdef dict _outcome_counts(self):
        cdef uint64_t i, key, r, status, count
        cdef uint64_t received = EV_RESPONSE_RECEIVED
        out = {}
        for r in range(<uint64_t>self.n_requests):
            for status in range(Z6_DENSE_STATUSES):
                count = self.response_statuses[r * Z6_DENSE_STATUSES + status]
                if count:
                    out[(int(r), int(received), int(status), 0)] = int(count)
        for i in range((<uint64_t>1) << self.outcomes.bits):
            key = self.outcomes.keys[i]
            if key != MAP_EMPTY:
                k = (int(key >> 48), int((key >> 32) & 0xFFFF), int((key >> 16) & 0xFFFF), int(key & 0xFFFF))
                out[k] = out.get(k, 0) + int(self.outcomes.counts[i])
        return out

    def connections(self):
        """(opened, tls_full, tls_resumed, connect_ns_sum, connect_ns_max)."""
        return (self.conn_opened, self.conn_tls_full, self.conn_tls_resumed,
                (int(self.conn_ns_hi) << 64) | int(self.conn_ns_lo), self.conn_ns_max)

    def exact_latencies(self):
        """(values, requests, statuses) of every response kept, while exact: numpy
        arrays over the accumulator's own columns (no copy; they keep it alive),
        valid until the next fold. The values are uint32 while every latency kept
        fits (below 2**32 ns, 4.3 s), uint64 from the first that does not."""
        k = self.kept_latencies
        return (_column_view(self, self.values_p, k, cnp.NPY_UINT64 if self.values_wide else cnp.NPY_UINT32),
                _column_view(self, self.requests_p, k, cnp.NPY_UINT16),
                _column_view(self, self.statuses_p, k, cnp.NPY_UINT16))

    def exact_lags(self):
        """(on-time count, late lags), while exact; the late lags as `exact_latencies`' columns."""
        return self.lag_zeros, _column_view(self, self.late_p, self.kept_lags, cnp.NPY_UINT64)

    def overall_histogram(self):
        """The histogram of every latency so far (the per-request ones added up)."""
        cdef HdrHistogram out = HdrHistogram()
        cdef Py_ssize_t i
        for i in range(self.n_requests):
            if self.by_request[i] != NULL:
                hdr_add(&out.h, self.by_request[i])
        return out

    def request_histograms(self):
        """Copies of the per-request histograms, by request index."""
        return tuple(self._request_histogram(i) for i in range(self.n_requests))

    cdef HdrHistogram _request_histogram(self, Py_ssize_t i):
        # A request without responses shares one empty histogram: a copy each
        # would be 270 KiB a request, for nothing.
        if self.by_request[i] == NULL:
            if self._empty_copy is None:
                self._empty_copy = hdr_object(self.no_responses)
            return self._empty_copy
        return hdr_object(self.by_request[i])

    def status_histograms(self):
        """Copies of the per-status histograms (after the switch): dict status -> histogram."""
        if self.exact:
            raise ValueError("the accumulator is exact: it has no per-status histograms")
        cdef int status
        out = {}
        for status in range(0x10000):
            if self.by_status[status] != NULL:
                out[status] = hdr_object(self.by_status[status])
        return out

    def lag_histogram(self):
        """The lag histogram (after the switch), on-time lags included."""
        if self.exact:
            raise ValueError("the accumulator is exact: it has no lag histogram")
        cdef HdrHistogram out = hdr_object(self.lag)
        hdr_record_zeros(&out.h, self.lag_zeros)
        return out

    def series_rows(self):
        """The closed seconds, a structured array of SERIES_DTYPE (a copy)."""
        out = np.empty(self.n_rows, dtype=SERIES_DTYPE)
        if self.n_rows:
            memcpy(<void*><size_t>out.ctypes.data, self.rows, self.n_rows * sizeof(series_row_t))
        return out

    # --- reading during the run ----------------------------------------------------

    def snapshot(self):
        """The figures so far, read under the lock while another thread folds.

        Beside the run-wide figures: ``active_vus`` (spawned and not complete),
        ``request_failures`` and ``request_failed_statuses`` (the two failure maps
        by request index) and ``request_latency_ns`` ((p50, p95, p99) of each
        request's histogram, None for a request with no response yet).

        A dict: ``events``, ``elapsed_ticks`` (first to last tick), ``requests``
        (issued), ``completed``, ``failed``, ``failures`` ((kind, error) -> count of
        the failed outcomes but responses), ``failed_statuses`` (status -> count of
        responses with a status >= 400), ``per_request`` (a tuple of (requests,
        completed, failed) by request index), ``kinds`` (int64 counts by kind),
        ``latency_ns`` (p50, p95, p99 of every response so far, from the
        per-request HDR histograms added up: within 1/1,024 above the exact values;
        None before any response). Costs a pass over the outcome table and over
        the histograms' counts (34,816 a request), a few tens of microseconds.
        """
        cdef uint64_t i, rank
        cdef uint64_t ranks_ns[3]
        cdef int64_t percents[3]
        cdef HdrHistogram overall = HdrHistogram()
        cdef uint64_t* request_ns = <uint64_t*>calloc(3 * max(self.n_requests, 1), sizeof(uint64_t))
        if request_ns == NULL:
            raise MemoryError()
        percents[0], percents[1], percents[2] = 50, 95, 99
        per_request = [[0, 0, 0] for _ in range(self.n_requests)]
        failures = {}
        failed_statuses = {}
        request_failures = [{} for _ in range(self.n_requests)]
        request_failed_statuses = [{} for _ in range(self.n_requests)]
        with nogil:
            PyThread_acquire_lock(self.lock, WAIT_LOCK)
            for i in range(<uint64_t>self.n_requests):
                if self.by_request[i] != NULL:
                    hdr_add(&overall.h, self.by_request[i])
                    _three_percentiles(self.by_request[i], percents, &request_ns[3 * i])
        try:
            events, first, last, active = self.n_events, self.tick_first, self.tick_last, self.active
            request_totals = [int(self.by_request[i].total) if self.by_request[i] != NULL else 0
                              for i in range(self.n_requests)]
            kinds = self.request_kind_counts().sum(axis=0)
            for i in range(<uint64_t>self.n_requests):
                per_request[i][0] = self.request_kinds[i * Z6_KIND_SLOTS + EV_REQUEST_ISSUED]
            for (request, kind, status, error), count in self._outcome_counts().items():
                per_request[request][1] += count
                if kind == EV_RESPONSE_RECEIVED:
                    if is_failed_response(status, error):
                        per_request[request][2] += count
                        failed_statuses[status] = failed_statuses.get(status, 0) + count
                        into = request_failed_statuses[request]
                        into[status] = into.get(status, 0) + count
                else:
                    per_request[request][2] += count
                    failures[(kind, error)] = failures.get((kind, error), 0) + count
                    into = request_failures[request]
                    into[(kind, error)] = into.get((kind, error), 0) + count
            request_latency = tuple(
                (int(request_ns[3 * i]), int(request_ns[3 * i + 1]), int(request_ns[3 * i + 2]))
                if request_totals[i] else None for i in range(self.n_requests))
        finally:
            PyThread_release_lock(self.lock)
            free(request_ns)
        cdef uint64_t total = overall.h.total
        if total:
            for i in range(3):
                rank = <uint64_t>rank_index(<int64_t>total, percents[i]) + 1
                ranks_ns[i] = min(hdr_highest_at(&overall.h, hdr_index_of_rank(&overall.h, rank)),
                                  overall.h.max_value)
        return {
            "events": int(events),
            "elapsed_ticks": int(last - first),
            "requests": sum(r[0] for r in per_request),
            "completed": sum(r[1] for r in per_request),
            "failed": sum(r[2] for r in per_request),
            "failures": failures,
            "failed_statuses": failed_statuses,
            "per_request": tuple(tuple(r) for r in per_request),
            "kinds": kinds,
            "latency_ns": (int(ranks_ns[0]), int(ranks_ns[1]), int(ranks_ns[2])) if total else None,
            "active_vus": int(active),
            "request_failures": tuple(request_failures),
            "request_failed_statuses": tuple(request_failed_statuses),
            "request_latency_ns": request_latency,
        }


cdef object _column_view(SummaryAccumulator owner, void* data, Py_ssize_t n, int typenum):
    # A 1-d numpy array over ``data`` that keeps ``owner`` (which frees it) alive.
    cdef cnp.npy_intp dims[1]
    dims[0] = n
    if n == 0:
        return np.empty(0, dtype=cnp.PyArray_DescrFromType(typenum))
    arr = cnp.PyArray_SimpleNewFromData(1, dims, typenum, data)
    Py_INCREF(owner)   # PyArray_SetBaseObject steals a reference
    cnp.PyArray_SetBaseObject(<cnp.ndarray>arr, owner)
    return arr


cdef const event_t* _event_pointer(events) except NULL:
    if not isinstance(events, np.ndarray) or events.dtype != EVENT_DTYPE or events.ndim != 1:
        raise TypeError(f"events must be a 1-d numpy array of EVENT_DTYPE, got {type(events).__name__}"
                        f" {getattr(events, 'dtype', None)}")
    if not events.flags.c_contiguous:
        raise ValueError("events must be C-contiguous")
    # A zero-length array may have no buffer; any non-NULL address will do, the loop reads nothing.
    return <const event_t*><size_t>events.ctypes.data if events.shape[0] else <const event_t*>&_no_event


cdef event_t _no_event
