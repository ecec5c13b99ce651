# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True
"""The VU engine: VU table, scheduler, simulated target and event buffer.

One `Engine` runs a compiled plan (see `z6.plan`) for a range of VU ids. The loop
runs in C without the GIL and returns to Python only when the caller's chunk is
full or the run is over, so Python is touched once per chunk, never per VU or per
request.

Scheduling is event-driven: a VU costs nothing between its actions. Each VU is
filed under the tick of its next action in a timer wheel (65,536 one-tick slots;
a min-heap keyed by tick holds the VUs due further out); a tick's VUs are radix-sorted by id, so events come out
ordered by (tick, vu_id) and, within a VU, in the order they happened. Time inside
the simulation is kept in nanoseconds: a VU's think time and modelled latency are
exact, and an event's tick is its time divided by `tick_ns`, as in a live run.

Compatibility guarantee: for the same plan, seed and z6 version the event stream
is identical, whatever the chunk size, and a run split into VU ranges yields the
same events per VU (each VU owns its stream), except with a modelled `capacity`,
which couples VUs through the shared server queue.
"""

cimport cython
from libc.stdint cimport int64_t, uint8_t, uint16_t, uint32_t, uint64_t
from libc.stdlib cimport free, malloc, realloc
from libc.string cimport memcpy, memset

import numpy as np

from z6core._arrays cimport cnp_data
from z6core._defs cimport *
from z6core._draw cimport (DIST_CONSTANT, DIST_EXPONENTIAL, DIST_LOGNORMAL, draw_ns, pick_seed_f32,
                            pick_weighted)
from z6core._lifecycle cimport count_outcome
from z6core._prng cimport Z6_U64_MAX, vu_stream_state, xs_float, xs_init
from z6core._sort cimport RADIX_BITS, insertion_sort_u32, radix_sort_u32

__all__ = ["Engine", "EVENT_DTYPE", "VU_DTYPE", "PROFILE_DEFAULT", "PROFILE_SEED", "ITER_UNLIMITED",
           "DEBUG_BUILD", "CLOCK_LIMIT_NS"]

cdef extern from *:
    """
    #include <stdint.h>
    #if defined(_MSC_VER)
    #include <intrin.h>
    static inline int z6_ctz64(uint64_t x) { unsigned long i; _BitScanForward64(&i, x); return (int)i; }
    #else
    static inline int z6_ctz64(uint64_t x) { return __builtin_ctzll(x); }
    #endif
    #if defined(__GNUC__) || defined(__clang__)
    #define z6_prefetch(p) __builtin_prefetch((p), 1, 1)
    #else
    #define z6_prefetch(p) ((void)(p))
    #endif
    /* floor(n / d) via a 64x64->128 multiply by m = floor((2**64 - 1) / d): the
       estimate is low by at most one, fixed by one compare. Divisions cost tens
       of cycles and the scheduler needs one per VU action. */
    static inline uint64_t z6_div_u64(uint64_t n, uint64_t d, uint64_t m) {
    #if defined(__SIZEOF_INT128__)
        uint64_t q = (uint64_t)(((unsigned __int128)n * m) >> 64);
        if (n - q * d >= d) q++;
        return q;
    #else
        (void)m;
        return n / d;
    #endif
    }
    /* Invariant checks: compiled in by the debug build (Z6_DEBUG=1), nothing in
       the release build. A broken invariant aborts with its name. */
    #include <stdio.h>
    #include <stdlib.h>
    #ifdef Z6_DEBUG
    #define Z6_CHECK(cond, what) do { if (!(cond)) { fprintf(stderr, "z6core: invariant failed: %s (%s:%d)\\n", what, __FILE__, __LINE__); abort(); } } while (0)
    #define Z6_DEBUG_BUILD 1
    #else
    #define Z6_CHECK(cond, what) ((void)0)
    #define Z6_DEBUG_BUILD 0
    #endif
    #define Z6_NIL 0xFFFFFFFFu
    #define Z6_NO_TICK 0xFFFFFFFFFFFFFFFFULL
    #define Z6_ITER_UNLIMITED 0xFFFFFFFFu
    /* The simulated clock's horizon: schedule ends and the grace period stay
       below 2**62 ns (about 146 years), so the clock never wraps: every later
       time is at most an end plus a grace plus one 2**53 ns draw. */
    #define Z6_CLOCK_LIMIT_NS 0x4000000000000000ULL
    """
    int z6_ctz64(uint64_t x) nogil
    uint64_t z6_div_u64(uint64_t n, uint64_t d, uint64_t m) nogil
    void z6_prefetch(void* p) nogil
    void Z6_CHECK(bint cond, const char* what) nogil
    const int Z6_DEBUG_BUILD
    const uint32_t Z6_NIL
    const uint64_t Z6_NO_TICK
    const uint32_t Z6_ITER_UNLIMITED
    const uint64_t Z6_CLOCK_LIMIT_NS

cdef enum:
    WHEEL_BITS = 16
    WHEEL_SIZE = 1 << WHEEL_BITS
    WHEEL_MASK = WHEEL_SIZE - 1
    WHEEL_WORDS = WHEEL_SIZE // 64
    SPILL_CAP = 4          # a step emits at most 2 events; spill holds the overflow
    MIN_CHUNK = 4
    INSERTION_SORT_MAX = 48
    PREFETCH_AHEAD = 16
    BLOCK = 64             # VU indices per scheduler block (256 bytes)

cdef enum profile_t:
    PROF_DEFAULT = 0
    PROF_SEED = 1

PROFILE_DEFAULT = PROF_DEFAULT
PROFILE_SEED = PROF_SEED
ITER_UNLIMITED = 0xFFFFFFFF
CLOCK_LIMIT_NS = Z6_CLOCK_LIMIT_NS
DEBUG_BUILD = bool(Z6_DEBUG_BUILD)

# The numpy dtypes are read off the C structs, never typed twice.
cdef event_t _event_probe
cdef vu_t _vu_probe
EVENT_DTYPE = np.asarray(<event_t[:1]>&_event_probe).dtype
VU_DTYPE = np.asarray(<vu_t[:1]>&_vu_probe).dtype


cdef inline uint64_t sat_add(uint64_t a, uint64_t b) noexcept nogil:
    return Z6_U64_MAX if a > Z6_U64_MAX - b else a + b


# A VU due beyond the wheel's current block, in the min-heap keyed by tick.
ctypedef struct far_t:
    uint64_t tick
    uint32_t idx


def vu_id_stride(plan):
    """The plan's VU id step: 1 for a whole plan, N for a shard holding every
    N-th VU (`Plan.shard`). Plans without the attribute have step 1."""
    step = int(getattr(plan, "vu_id_step", 1))
    if not 1 <= step <= 0xFFFFFFFF:
        raise ValueError(f"plan.vu_id_step must be between 1 and 2**32-1, got {step}")
    return step


@cython.final
cdef class Engine:
    """Run a compiled plan; hand events out chunk by chunk.

    ``Engine(plan)`` reads the plan's arrays (see `z6.plan.Plan`); ``fill(out)``
    writes up to ``len(out)`` records into ``out`` (an ``EVENT_DTYPE`` array) and
    returns how many. Every chunk but the last is filled completely; ``finished``
    turns true once the last event is out.
    """

    # --- the VU table and scheduler ---
    cdef object _vu_array          # owns the VU table (numpy, so Python can view it)
    cdef vu_t* vus
    cdef readonly uint32_t n_vus
    # Each wheel slot is a chain of fixed blocks of VU indices, so filing a VU is
    # a sequential write and collecting a slot a sequential read (a linked list
    # through the VUs would make every collection a chain of cache misses).
    cdef uint32_t* slot_head       # first block of each slot, Z6_NIL when empty
    cdef uint32_t* slot_tail       # last block (the one being filled)
    cdef uint32_t* blk_data        # BLOCK entries per block
    cdef uint32_t* blk_next        # next block in the slot's chain (or the free list)
    cdef uint32_t* blk_count       # entries used in each block
    cdef uint32_t blk_cap, blk_used, blk_free
    cdef uint64_t* wheel_bits      # which slots are non-empty
    cdef uint64_t block_base       # the wheel holds ticks in [block_base, block_base + WHEEL_SIZE)
    cdef uint64_t scan_from        # next tick to look at
    cdef far_t* far                # min-heap of VUs due beyond the current block
    cdef Py_ssize_t far_n, far_cap
    cdef uint32_t* due_list        # the current tick's VUs, sorted by id
    cdef uint32_t* sort_tmp
    cdef Py_ssize_t due_n, due_cursor
    cdef int radix_passes
    cdef bint in_tick
    cdef uint64_t current_tick
    cdef uint64_t tick_end_ns      # first nanosecond after the current tick
    cdef uint64_t tick_magic       # for z6_div_u64(ns, tick_ns, tick_magic)
    cdef uint32_t spawn_cursor
    # --- the plan, as flat C data (arrays kept alive by the _keep list) ---
    cdef list _keep
    cdef int profile
    cdef uint64_t tick_ns, graceful_ns
    cdef const uint64_t* cum_weights
    cdef Py_ssize_t n_requests
    cdef const uint64_t* timeout_ns
    cdef const uint16_t* step_request
    cdef const uint32_t* step_repeat
    cdef uint16_t n_steps
    cdef int think_kind, latency_kind
    cdef double think_a, think_b, latency_a, latency_b
    cdef double error_rate
    cdef const uint16_t* status_codes
    cdef const uint64_t* status_cum
    cdef Py_ssize_t n_status
    cdef uint64_t* capacity_heap
    cdef Py_ssize_t capacity
    # seed-compatibility profile: one shared stream, f32 weights, fixed timings
    cdef uint64_t shared_rng
    cdef const float* seed_weights
    cdef float seed_total
    cdef uint64_t seed_think_ns, seed_latency_ns
    # --- output ---
    cdef event_t* out
    cdef Py_ssize_t out_n, out_cap
    cdef event_t spill[SPILL_CAP]
    cdef Py_ssize_t spill_n
    # --- counters ---
    cdef readonly uint64_t events_emitted
    cdef readonly uint64_t requests_issued
    cdef readonly uint64_t active_vus
    cdef bint done                 # the loop has nothing left to run
    cdef bint out_of_memory

    def __cinit__(self):
        self.slot_head = NULL
        self.slot_tail = NULL
        self.blk_data = NULL
        self.blk_next = NULL
        self.blk_count = NULL
        self.wheel_bits = NULL
        self.far = NULL
        self.due_list = NULL
        self.sort_tmp = NULL
        self.capacity_heap = NULL

    def __init__(self, plan):
        cdef Py_ssize_t i
        cdef uint32_t first_vu_id = int(plan.first_vu_id)
        # A shard of a plan holds every step-th VU (z6.distributed): ids first, first+step, ...
        cdef uint32_t vu_id_step = vu_id_stride(plan)
        cdef uint64_t seed = int(plan.seed)
        self._keep = []
        self.profile = int(plan.profile)
        if self.profile not in (PROFILE_DEFAULT, PROFILE_SEED):
            raise ValueError(f"plan.profile must be {PROFILE_DEFAULT} or {PROFILE_SEED}, got {self.profile}")
        self.tick_ns = int(plan.tick_ns)
        if self.tick_ns < 1:
            raise ValueError(f"plan.tick_ns must be >= 1, got {self.tick_ns}")
        self.tick_magic = Z6_U64_MAX // self.tick_ns
        self.graceful_ns = int(plan.graceful_ns)
        if self.graceful_ns > Z6_CLOCK_LIMIT_NS:
            raise ValueError(f"plan.graceful_ns must be at most {Z6_CLOCK_LIMIT_NS}, got {self.graceful_ns}")

        spawn_tick = self._array(plan.spawn_tick, np.uint64, "spawn_tick")
        stop_ns = self._array(plan.stop_ns, np.uint64, "stop_ns")
        n = spawn_tick.shape[0]
        if stop_ns.shape[0] != n:
            raise ValueError(f"plan.stop_ns: expected {n} entries (one per VU), got {stop_ns.shape[0]}")
        if n < 1 or n >= Z6_NIL:
            raise ValueError(f"plan must have between 1 and {Z6_NIL - 1} VUs, got {n}")
        if n > 1 and np.any(np.diff(spawn_tick.astype(np.int64)) < 0):
            raise ValueError("plan.spawn_tick must be non-decreasing in vu_id")
        if np.any(stop_ns > Z6_CLOCK_LIMIT_NS):
            raise ValueError(f"plan.stop_ns must be at most {Z6_CLOCK_LIMIT_NS} (the clock's horizon)")
        if np.any(stop_ns < (spawn_tick + 1) * self.tick_ns):
            raise ValueError("plan.stop_ns must be at least one tick after each VU's spawn tick")
        if first_vu_id < 1 or <uint64_t>first_vu_id + (<uint64_t>n - 1) * vu_id_step > 0xFFFFFFFF:
            raise ValueError(f"plan.first_vu_id out of range: {first_vu_id}")
        self.n_vus = n

        cum = self._array(plan.cum_weights, np.uint64, "cum_weights")
        self.n_requests = cum.shape[0]
        if self.n_requests < 1 or self.n_requests >= NO_REQUEST:
            raise ValueError(f"plan must have between 1 and {NO_REQUEST - 1} requests, got {self.n_requests}")
        if cum[self.n_requests - 1] == 0 or np.any(np.diff(cum.astype(np.int64)) < 0):
            raise ValueError("plan.cum_weights must be non-decreasing with a positive total")
        self.cum_weights = <const uint64_t*>cnp_data(cum)
        timeouts = self._array(plan.timeout_ns, np.uint64, "timeout_ns")
        if timeouts.shape[0] != self.n_requests or np.any(timeouts == 0):
            raise ValueError("plan.timeout_ns must hold one positive timeout per request")
        self.timeout_ns = <const uint64_t*>cnp_data(timeouts)

        step_request = self._array(plan.step_request, np.uint16, "step_request")
        step_repeat = self._array(plan.step_repeat, np.uint32, "step_repeat")
        if step_request.shape[0] != step_repeat.shape[0] or step_request.shape[0] >= 0xFFFF:
            raise ValueError("plan.step_request and plan.step_repeat must have the same length (< 65535)")
        if np.any(step_request >= self.n_requests) or np.any(step_repeat == 0):
            raise ValueError("plan sequence steps must name existing requests and repeat at least once")
        self.n_steps = step_request.shape[0]
        self.step_request = <const uint16_t*>cnp_data(step_request)
        self.step_repeat = <const uint32_t*>cnp_data(step_repeat)

        self.think_kind, self.think_a, self.think_b = plan.think
        self.latency_kind, self.latency_a, self.latency_b = plan.latency
        if not (DIST_CONSTANT <= self.think_kind <= DIST_EXPONENTIAL):
            raise ValueError(f"plan.think: kind must be constant, uniform or exponential, got {self.think_kind}")
        if not (DIST_CONSTANT <= self.latency_kind <= DIST_LOGNORMAL):
            raise ValueError(f"plan.latency: unknown distribution kind {self.latency_kind}")
        self.error_rate = float(plan.error_rate)
        if not (0.0 <= self.error_rate <= 1.0):
            raise ValueError(f"plan.error_rate must be within [0, 1], got {self.error_rate}")
        codes = self._array(plan.status_codes, np.uint16, "status_codes")
        status_cum = self._array(plan.status_cum, np.uint64, "status_cum")
        if codes.shape[0] < 1 or codes.shape[0] != status_cum.shape[0] or status_cum[status_cum.shape[0] - 1] == 0:
            raise ValueError("plan.status_codes and plan.status_cum must be non-empty, equal in length, positive total")
        self.n_status = codes.shape[0]
        self.status_codes = <const uint16_t*>cnp_data(codes)
        self.status_cum = <const uint64_t*>cnp_data(status_cum)

        self.capacity = int(plan.capacity or 0)
        if self.capacity > 0:
            self.capacity_heap = <uint64_t*>malloc(self.capacity * sizeof(uint64_t))
            if self.capacity_heap == NULL:
                raise MemoryError()
            memset(self.capacity_heap, 0, self.capacity * sizeof(uint64_t))

        seed_weights = self._array(plan.seed_weights_f32, np.float32, "seed_weights_f32")
        if self.profile == PROFILE_SEED:
            if seed_weights.shape[0] != self.n_requests:
                raise ValueError("the seed profile needs one f32 weight per request")
            self.seed_weights = <const float*>cnp_data(seed_weights)
            self.seed_total = 0.0
            for i in range(self.n_requests):
                self.seed_total = self.seed_total + self.seed_weights[i]
            self.seed_think_ns = int(plan.seed_think_ticks) * self.tick_ns
            self.seed_latency_ns = int(plan.seed_latency_ticks) * self.tick_ns
        self.shared_rng = xs_init(seed)

        # The VU table: one 64-byte struct per VU in one numpy-owned block.
        self._vu_array = np.zeros(n, dtype=VU_DTYPE)
        self.vus = <vu_t*>cnp_data(self._vu_array)
        if not 0 <= int(plan.iterations) < Z6_ITER_UNLIMITED:
            raise ValueError(f"plan.iterations must be between 0 and {Z6_ITER_UNLIMITED - 1}, got {plan.iterations}")
        cdef uint32_t iterations = int(plan.iterations) if plan.iterations else Z6_ITER_UNLIMITED
        cdef const uint64_t* spawn_p = <const uint64_t*>cnp_data(spawn_tick)
        cdef const uint64_t* stop_p = <const uint64_t*>cnp_data(stop_ns)
        for i in range(n):
            self.vus[i].vu_id = first_vu_id + <uint32_t>i * vu_id_step
            self.vus[i].rng = vu_stream_state(seed, self.vus[i].vu_id)
            self.vus[i].spawn_tick = spawn_p[i]
            self.vus[i].stop_ns = stop_p[i]
            self.vus[i].due_ns = spawn_p[i] * self.tick_ns
            self.vus[i].iter_left = iterations
            self.vus[i].request = NO_REQUEST
            self.vus[i].state = VU_UNSPAWNED

        self.due_list = <uint32_t*>malloc(n * sizeof(uint32_t))
        self.sort_tmp = <uint32_t*>malloc(n * sizeof(uint32_t))
        self.slot_head = <uint32_t*>malloc(WHEEL_SIZE * sizeof(uint32_t))
        self.slot_tail = <uint32_t*>malloc(WHEEL_SIZE * sizeof(uint32_t))
        self.blk_cap = 0
        self.blk_used = 0
        self.blk_free = Z6_NIL
        if not self._blocks_grow(n // BLOCK + 64):
            raise MemoryError()
        self.wheel_bits = <uint64_t*>malloc(WHEEL_WORDS * sizeof(uint64_t))
        self.far_cap = 1024
        self.far = <far_t*>malloc(self.far_cap * sizeof(far_t))
        if (self.due_list == NULL or self.sort_tmp == NULL or self.slot_head == NULL
                or self.slot_tail == NULL or self.wheel_bits == NULL or self.far == NULL):
            raise MemoryError()
        memset(self.slot_head, 0xFF, WHEEL_SIZE * sizeof(uint32_t))
        memset(self.slot_tail, 0xFF, WHEEL_SIZE * sizeof(uint32_t))
        memset(self.wheel_bits, 0, WHEEL_WORDS * sizeof(uint64_t))
        self.far_n = 0
        self.radix_passes = 1
        while (<uint64_t>1 << (self.radix_passes * RADIX_BITS)) < <uint64_t>n:
            self.radix_passes += 1
        self.block_base = (spawn_p[0] // WHEEL_SIZE) * WHEEL_SIZE
        self.scan_from = spawn_p[0]
        self.in_tick = False
        self.spawn_cursor = 0
        self.spill_n = 0
        self.done = False

    def __dealloc__(self):
        free(self.blk_data)
        free(self.blk_next)
        free(self.blk_count)
        free(self.due_list)
        free(self.sort_tmp)
        free(self.slot_head)
        free(self.slot_tail)
        free(self.wheel_bits)
        free(self.far)
        free(self.capacity_heap)

    def _array(self, obj, dtype, name):
        arr = np.ascontiguousarray(obj, dtype=dtype)
        if arr.ndim != 1:
            raise ValueError(f"plan.{name} must be one-dimensional, got shape {arr.shape}")
        self._keep.append(arr)
        return arr

    # ------------------------------------------------------------------ Python API

    def fill(self, out):
        """Write up to ``len(out)`` events into ``out``; return the count.

        ``out`` must be a C-contiguous, writable ``EVENT_DTYPE`` array of at least
        4 records. A return value below ``len(out)`` means the run is over.
        """
        if not isinstance(out, np.ndarray) or out.dtype != EVENT_DTYPE or out.ndim != 1:
            raise TypeError(f"out must be a 1-d numpy array of EVENT_DTYPE, got {type(out).__name__}"
                            f" {getattr(out, 'dtype', None)}")
        if not out.flags.c_contiguous or not out.flags.writeable:
            raise ValueError("out must be C-contiguous and writable")
        if out.shape[0] < MIN_CHUNK:
            raise ValueError(f"out must hold at least {MIN_CHUNK} events, got {out.shape[0]}")
        self.out = <event_t*>cnp_data(out)
        self.out_cap = out.shape[0]
        self.out_n = 0
        # Events a step wrote past the previous chunk's end come first.
        if self.spill_n:
            memcpy(self.out, self.spill, self.spill_n * sizeof(event_t))
            self.out_n = self.spill_n
            self.spill_n = 0
        if not self.done:
            with nogil:
                self._run()
        if self.out_of_memory:
            raise MemoryError("z6 engine: out of memory growing the scheduler's tables")
        n = self.out_n
        self.out = NULL
        self.out_cap = 0
        return n

    @property
    def finished(self):
        """True once every event has been handed out (none left in the spill)."""
        return self.done and self.spill_n == 0

    @property
    def vus(self):
        """The VU table as a read-only numpy structured view (``VU_DTYPE``)."""
        view = self._vu_array.view()
        view.flags.writeable = False
        return view

    @property
    def tick(self):
        """The tick being processed (or last processed)."""
        return self.current_tick

    # ------------------------------------------------------------------ the loop

    cdef void _run(self) noexcept nogil:
        cdef uint64_t t, tick
        cdef uint32_t idx, slot
        cdef vu_t* vu
        # The slot this tick filed its last VU under, its tail block and that
        # block's fill: consecutive VUs mostly go to the same slot, and counting in
        # a local instead of blk_count[] keeps a store-to-load round trip per VU
        # off the critical path. The count is written back before leaving.
        cdef uint32_t last_slot = Z6_NIL, last_block = 0, last_count = 0
        while True:
            if not self.in_tick:
                t = self._next_tick()
                if t == Z6_NO_TICK:
                    self.done = True
                    return
                self._begin_tick(t)
            t = self.current_tick
            while self.due_cursor < self.due_n:
                if self.due_cursor + PREFETCH_AHEAD < self.due_n:
                    z6_prefetch(&self.vus[self.due_list[self.due_cursor + PREFETCH_AHEAD]])
                idx = self.due_list[self.due_cursor]
                Z6_CHECK(idx < self.n_vus, "due VU index within the table")
                Z6_CHECK(self.due_cursor == 0 or self.due_list[self.due_cursor - 1] < idx,
                         "a tick's VUs in increasing id order")
                vu = &self.vus[idx]
                Z6_CHECK(vu.due_ns // self.tick_ns == t, "VU filed under its due tick")
                # All of this VU's actions that fall in this tick happen now, so its
                # events stay together and the (tick, vu_id) order holds.
                # (a VU's due time is never before the tick being processed)
                while vu.due_ns < self.tick_end_ns and vu.state != VU_COMPLETE:
                    if self.out_n >= self.out_cap:
                        if last_slot != Z6_NIL:
                            self.blk_count[last_block] = last_count
                        return          # chunk full: resume with this VU
                    self._step(vu, t)
                if vu.state != VU_COMPLETE:
                    tick = self._tick_of(vu.due_ns)
                    Z6_CHECK(tick > t and tick == vu.due_ns // self.tick_ns, "VU refiled in the future")
                    slot = <uint32_t>(tick & WHEEL_MASK)
                    if slot == last_slot and last_count < BLOCK and tick < self.block_base + WHEEL_SIZE:
                        self.blk_data[<size_t>last_block * BLOCK + last_count] = idx
                        last_count += 1
                    else:
                        if last_slot != Z6_NIL:
                            self.blk_count[last_block] = last_count
                            last_slot = Z6_NIL
                        if tick < self.block_base + WHEEL_SIZE:
                            self._slot_append(idx, tick)
                            if not self.out_of_memory:
                                last_slot = slot
                                last_block = self.slot_tail[slot]
                                last_count = self.blk_count[last_block]
                        else:
                            self._far_push(idx, tick)
                        if self.out_of_memory:
                            return
                self.due_cursor += 1
            if last_slot != Z6_NIL:
                self.blk_count[last_block] = last_count
                last_slot = Z6_NIL
            self.in_tick = False
            self.scan_from = t + 1

    cdef void _begin_tick(self, uint64_t t) noexcept nogil:
        cdef uint32_t slot = <uint32_t>(t & WHEEL_MASK)
        cdef uint32_t b = self.slot_head[slot], nb, c
        cdef Py_ssize_t n = 0, i
        cdef bint is_sorted = True
        while b != Z6_NIL:
            c = self.blk_count[b]
            Z6_CHECK(c <= BLOCK and n + c <= self.n_vus, "slot collection in bounds")
            memcpy(&self.due_list[n], &self.blk_data[<size_t>b * BLOCK], c * sizeof(uint32_t))
            n += c
            nb = self.blk_next[b]
            self.blk_next[b] = self.blk_free     # back to the free list
            self.blk_free = b
            b = nb
        self.slot_head[slot] = Z6_NIL
        self.slot_tail[slot] = Z6_NIL
        self.wheel_bits[slot >> 6] &= ~((<uint64_t>1) << (slot & 63))
        for i in range(1, n):
            if self.due_list[i] < self.due_list[i - 1]:
                is_sorted = False
                break
        if not is_sorted:
            if n <= INSERTION_SORT_MAX:
                insertion_sort_u32(self.due_list, n)
            else:
                radix_sort_u32(self.due_list, self.sort_tmp, n, self.radix_passes)
        # VUs spawning now have higher ids than every VU already running (ids are
        # handed out in spawn order), so they go after the sorted ones.
        while self.spawn_cursor < self.n_vus and self.vus[self.spawn_cursor].spawn_tick == t:
            self.due_list[n] = self.spawn_cursor
            n += 1
            self.spawn_cursor += 1
        self.due_n = n
        self.due_cursor = 0
        self.current_tick = t
        self.tick_end_ns = sat_add(t * self.tick_ns, self.tick_ns)
        self.in_tick = True

    cdef inline uint64_t _tick_of(self, uint64_t ns) noexcept nogil:
        return z6_div_u64(ns, self.tick_ns, self.tick_magic)

    cdef uint64_t _next_tick(self) noexcept nogil:
        # The earliest tick >= scan_from with a VU due or a VU to spawn.
        cdef uint64_t wheel_t, spawn_t, best, low
        while True:
            wheel_t = self._wheel_first()
            spawn_t = self.vus[self.spawn_cursor].spawn_tick if self.spawn_cursor < self.n_vus else Z6_NO_TICK
            best = wheel_t if wheel_t < spawn_t else spawn_t
            if best < self.block_base + WHEEL_SIZE:
                return best
            if self.far_n == 0 and spawn_t == Z6_NO_TICK:
                return Z6_NO_TICK
            # This block is done: jump to the block of the earliest pending tick and
            # move the far VUs that now fall inside the wheel (each VU is moved once
            # per long wait, so the cost stays O(log n) per event).
            low = spawn_t
            if self.far_n and self.far[0].tick < low:
                low = self.far[0].tick
            self.block_base = (low // WHEEL_SIZE) * WHEEL_SIZE
            self.scan_from = low
            while self.far_n and self.far[0].tick < self.block_base + WHEEL_SIZE:
                self._slot_append(self.far[0].idx, self.far[0].tick)
                if self.out_of_memory:
                    return Z6_NO_TICK
                self._far_pop()

    cdef uint64_t _wheel_first(self) noexcept nogil:
        # First non-empty slot at or after scan_from within the current block.
        if self.scan_from >= self.block_base + WHEEL_SIZE:
            return Z6_NO_TICK
        cdef uint64_t pos = self.scan_from - self.block_base
        cdef Py_ssize_t w = <Py_ssize_t>(pos >> 6)
        cdef uint64_t bits = self.wheel_bits[w] & (Z6_U64_MAX << (pos & 63))
        while True:
            if bits:
                return self.block_base + ((<uint64_t>w) << 6) + <uint64_t>z6_ctz64(bits)
            w += 1
            if w >= WHEEL_WORDS:
                return Z6_NO_TICK
            bits = self.wheel_bits[w]

    cdef bint _blocks_grow(self, uint32_t want) noexcept nogil:
        # Grow the block pool to at least `want` blocks (indices stay valid).
        cdef uint32_t cap = self.blk_cap * 2 if self.blk_cap * 2 > want else want
        cdef uint32_t* data = <uint32_t*>realloc(self.blk_data, <size_t>cap * BLOCK * sizeof(uint32_t))
        if data == NULL:
            return False
        self.blk_data = data
        cdef uint32_t* nxt = <uint32_t*>realloc(self.blk_next, <size_t>cap * sizeof(uint32_t))
        if nxt == NULL:
            return False
        self.blk_next = nxt
        cdef uint32_t* cnt = <uint32_t*>realloc(self.blk_count, <size_t>cap * sizeof(uint32_t))
        if cnt == NULL:
            return False
        self.blk_count = cnt
        self.blk_cap = cap
        return True

    cdef uint32_t _block_alloc(self) noexcept nogil:
        cdef uint32_t b
        if self.blk_free != Z6_NIL:
            b = self.blk_free
            self.blk_free = self.blk_next[b]
        else:
            if self.blk_used == self.blk_cap and not self._blocks_grow(self.blk_cap + 1):
                self.out_of_memory = True
                return Z6_NIL
            b = self.blk_used
            self.blk_used += 1
        self.blk_next[b] = Z6_NIL
        self.blk_count[b] = 0
        return b

    cdef void _slot_append(self, uint32_t idx, uint64_t tick) noexcept nogil:
        # File VU `idx` under `tick`, which must lie in the current wheel block.
        cdef uint32_t slot = <uint32_t>(tick & WHEEL_MASK)
        cdef uint32_t b = self.slot_tail[slot], nb
        if b == Z6_NIL:
            b = self._block_alloc()
            if b == Z6_NIL:
                return
            self.slot_head[slot] = b
            self.slot_tail[slot] = b
            self.wheel_bits[slot >> 6] |= (<uint64_t>1) << (slot & 63)
        elif self.blk_count[b] == BLOCK:
            nb = self._block_alloc()
            if nb == Z6_NIL:
                return
            self.blk_next[b] = nb
            self.slot_tail[slot] = nb
            b = nb
        Z6_CHECK(self.blk_count[b] < BLOCK and idx < self.n_vus, "block append in bounds")
        self.blk_data[<size_t>b * BLOCK + self.blk_count[b]] = idx
        self.blk_count[b] += 1

    cdef void _far_push(self, uint32_t idx, uint64_t tick) noexcept nogil:
        cdef far_t* grown
        cdef Py_ssize_t i, parent
        if self.far_n == self.far_cap:
            # Each VU is filed at most once, so the heap never exceeds n_vus.
            grown = <far_t*>realloc(self.far, 2 * self.far_cap * sizeof(far_t))
            if grown == NULL:
                # Filing the VU anywhere else would break the event order: stop the
                # run, and fill() raises.
                self.out_of_memory = True
                return
            self.far = grown
            self.far_cap *= 2
        i = self.far_n
        self.far_n += 1
        while i > 0:
            parent = (i - 1) >> 1
            if self.far[parent].tick <= tick:
                break
            self.far[i] = self.far[parent]
            i = parent
        self.far[i].tick = tick
        self.far[i].idx = idx

    cdef void _far_pop(self) noexcept nogil:
        # Remove the root: sift the last entry down from the top.
        cdef Py_ssize_t n, i = 0, child
        cdef far_t last
        self.far_n -= 1
        n = self.far_n
        if n == 0:
            return
        last = self.far[n]
        while True:
            child = 2 * i + 1
            if child >= n:
                break
            if child + 1 < n and self.far[child + 1].tick < self.far[child].tick:
                child += 1
            if self.far[child].tick >= last.tick:
                break
            self.far[i] = self.far[child]
            i = child
        self.far[i] = last

    # ------------------------------------------------------------------ events

    cdef inline void _emit(self, uint64_t tick, uint64_t value_ns, vu_t* vu, uint16_t kind,
                           uint16_t request, uint16_t status, uint16_t error) noexcept nogil:
        cdef event_t* e
        if self.out_n < self.out_cap:
            e = &self.out[self.out_n]
            self.out_n += 1
        else:
            Z6_CHECK(self.spill_n < SPILL_CAP, "spill never overflows")
            e = &self.spill[self.spill_n]
            self.spill_n += 1
        Z6_CHECK(tick >= self.current_tick, "events in tick order")
        e.tick = tick
        e.value_ns = value_ns
        e.vu_id = vu.vu_id
        e.kind = kind
        e.request = request
        e.status = status
        e.error = error
        e.seq = vu.seq
        self.events_emitted += 1

    # ------------------------------------------------------------------ the lifecycle

    cdef inline void _step(self, vu_t* vu, uint64_t t) noexcept nogil:
        # One transition of one VU at its due time; emits at most two events.
        cdef uint64_t now = vu.due_ns
        cdef uint8_t state = vu.state
        if state == VU_UNSPAWNED:
            self.active_vus += 1
            if self.profile == PROF_DEFAULT:
                # The seed's spawnAllVUs emits nothing; the default profile records it.
                self._emit(t, 0, vu, EV_VU_SPAWNED, NO_REQUEST, 0, ERR_NONE)
            vu.state = VU_SPAWNED
            vu.due_ns = (t + 1) * self.tick_ns
        elif state == VU_SPAWNED:
            self._emit(t, 0, vu, EV_VU_READY, NO_REQUEST, 0, ERR_NONE)
            vu.state = VU_READY
            if self.profile == PROF_SEED:
                vu.due_ns = (t + 1) * self.tick_ns   # the seed issues on the next tick
        elif state == VU_READY:
            if self.profile == PROF_SEED:
                self._issue_seed(vu, now, t)
            elif now >= vu.stop_ns or vu.iter_left == 0:
                self._complete(vu, t)
            else:
                self._issue(vu, now, t)
        elif state == VU_WAITING:
            if self.profile == PROF_SEED:
                self._finish_seed(vu, now, t)
            else:
                self._finish(vu, now, t)

    cdef inline void _complete(self, vu_t* vu, uint64_t t) noexcept nogil:
        self._emit(t, 0, vu, EV_VU_COMPLETE, NO_REQUEST, 0, ERR_NONE)
        vu.state = VU_COMPLETE
        self.active_vus -= 1

    cdef void _issue(self, vu_t* vu, uint64_t now, uint64_t t) noexcept nogil:
        # Draw order per request (fixed): request pick (unless a sequence), service
        # time, failure (if error_rate > 0), status (if more than one).
        cdef uint16_t req
        cdef uint64_t service, latency, start, due, deadline
        cdef uint8_t outcome = EV_RESPONSE_RECEIVED
        cdef uint16_t status = 0
        if self.n_steps:
            req = self.step_request[vu.step]
        else:
            req = <uint16_t>pick_weighted(&vu.rng, self.cum_weights, self.n_requests)
        vu.request = req
        vu.issue_ns = now
        self._emit(t, 0, vu, EV_REQUEST_ISSUED, req, 0, ERR_NONE)
        self.requests_issued += 1
        service = draw_ns(&vu.rng, self.latency_kind, self.latency_a, self.latency_b)
        if service == 0:
            service = 1      # time always advances: a visit cannot loop forever
        if self.capacity:
            # FIFO onto the earliest free of `capacity` server slots (in the order
            # requests are issued, ties by vu_id): latency = queueing + service.
            start = self.capacity_heap[0]
            if start < now:
                start = now
            self._capacity_replace_top(sat_add(start, service))
            latency = sat_add(start, service) - now
        else:
            latency = service
        if self.error_rate > 0.0 and xs_float(&vu.rng) < self.error_rate:
            outcome = EV_RESPONSE_ERROR
        else:
            status = self.status_codes[pick_weighted(&vu.rng, self.status_cum, self.n_status)]
        if latency > self.timeout_ns[req]:
            outcome = EV_REQUEST_TIMEOUT
            latency = self.timeout_ns[req]
            status = 0
        due = sat_add(now, latency)
        # Graceful stop: a request still in flight this long after the VU's
        # schedule ended is cancelled there.
        deadline = sat_add(vu.stop_ns, self.graceful_ns)
        if due > deadline:
            outcome = EV_REQUEST_CANCELLED
            due = deadline
            status = 0
        vu.outcome = outcome
        vu.status = status
        vu.due_ns = due
        vu.state = VU_WAITING

    cdef void _capacity_replace_top(self, uint64_t value) noexcept nogil:
        # Replace the min-heap's root and sift it down.
        cdef uint64_t* h = self.capacity_heap
        cdef Py_ssize_t n = self.capacity, i = 0, child
        while True:
            child = 2 * i + 1
            if child >= n:
                break
            if child + 1 < n and h[child + 1] < h[child]:
                child += 1
            if h[child] >= value:
                break
            h[i] = h[child]
            i = child
        h[i] = value

    cdef void _finish(self, vu_t* vu, uint64_t now, uint64_t t) noexcept nogil:
        cdef uint16_t error = ERR_NONE
        cdef uint8_t outcome = vu.outcome
        cdef uint64_t next_issue
        if outcome == EV_RESPONSE_ERROR:
            error = ERR_SIMULATED
        elif outcome == EV_REQUEST_TIMEOUT:
            error = ERR_TIMEOUT
        elif outcome == EV_REQUEST_CANCELLED:
            error = ERR_CANCELLED
        self._emit(t, now - vu.issue_ns, vu, outcome, vu.request, vu.status, error)
        count_outcome(vu, self.step_repeat, self.n_steps)
        if outcome == EV_REQUEST_CANCELLED or now >= vu.stop_ns or vu.iter_left == 0:
            self._complete(vu, t)
            return
        # Think time counts from the response; a VU due past its schedule's end
        # wakes at the end instead, to complete.
        next_issue = sat_add(now, draw_ns(&vu.rng, self.think_kind, self.think_a, self.think_b))
        vu.state = VU_READY
        vu.due_ns = next_issue if next_issue < vu.stop_ns else vu.stop_ns

    # ------------------------------------------------------------------ seed profile

    cdef inline void _issue_seed(self, vu_t* vu, uint64_t now, uint64_t t) noexcept nogil:
        # The seed: one shared stream consumed in VU order, f32 pick, fixed latency.
        cdef uint16_t req = <uint16_t>pick_seed_f32(&self.shared_rng, self.seed_weights,
                                                    self.n_requests, self.seed_total)
        vu.request = req
        vu.issue_ns = now
        self._emit(t, 0, vu, EV_REQUEST_ISSUED, req, 0, ERR_NONE)
        self.requests_issued += 1
        vu.outcome = EV_RESPONSE_RECEIVED
        vu.status = 200
        vu.due_ns = now + self.seed_latency_ns
        vu.state = VU_WAITING

    cdef inline void _finish_seed(self, vu_t* vu, uint64_t now, uint64_t t) noexcept nogil:
        # The seed completes a VU at a response on or after the duration (and
        # never checks the duration before issuing); think time counts from the
        # issue, and a ready VU is looked at from the next tick on.
        cdef uint64_t next_issue = vu.issue_ns + self.seed_think_ns
        self._emit(t, now - vu.issue_ns, vu, EV_RESPONSE_RECEIVED, vu.request, vu.status, ERR_NONE)
        vu.seq += 1
        if now >= vu.stop_ns:
            self._complete(vu, t)
            return
        vu.state = VU_READY
        if next_issue < now + self.tick_ns:
            next_issue = now + self.tick_ns
        vu.due_ns = next_issue

