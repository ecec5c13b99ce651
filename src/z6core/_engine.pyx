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

The plan is read and checked by `_plan.PlanArrays` (the same loader and messages
as the live driver's); the per-VU steps (request pick, event record, outcome
accounting, think or complete) are the inline functions of `_lifecycle.pxd`,
shared with the live driver, so both draw from a VU's stream in the same order.

Lifecycle states: spawned, ready, executing, waiting, complete (`_defs.pxd`). A
modelled request is written in zero time, so `_issue` passes a VU through
executing to waiting within one step: no event marks it, and the VU table never
shows a VU executing between `fill()` calls (the live driver's VUs stay
executing while they connect and write).

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
from z6core._draw cimport draw_ns, pick_original_f32, pick_weighted
from z6core._lifecycle cimport (VU_CARRIES_ON, VU_DONE_FAILED, sat_add, vu_after_outcome, vu_done_before_issue,
                                vu_next_request, vu_set_state, write_event)
from z6core._checks cimport checks_modelled, has_checks, status_listed
from z6core._outcomes cimport is_failed_outcome
from z6core._plan cimport PROF_DEFAULT, PROF_ORIGINAL, PlanArrays, checked_out, plan_t
from z6core._prng cimport Z6_U64_MAX, xs_float, xs_init
from z6core._sort cimport RADIX_BITS, insertion_sort_u32, radix_sort_u32

from z6core._plan import (CLOCK_LIMIT_NS, DEBUG_BUILD, EVENT_DTYPE, ITER_UNLIMITED, PROFILE_DEFAULT, PROFILE_ORIGINAL,
                          VU_DTYPE, vu_id_stride)

__all__ = ["Engine", "EVENT_DTYPE", "VU_DTYPE", "PROFILE_DEFAULT", "PROFILE_ORIGINAL", "ITER_UNLIMITED",
           "DEBUG_BUILD", "CLOCK_LIMIT_NS"]

cdef extern from "z6_bits.h" nogil:
    int z6_ctz64(uint64_t x)
    uint64_t z6_div_u64(uint64_t n, uint64_t d, uint64_t m)
    void z6_prefetch(void* p)

cdef extern from *:
    """
    #define Z6_NO_TICK 0xFFFFFFFFFFFFFFFFULL
    """
    const uint64_t Z6_NO_TICK

cdef enum:
    WHEEL_BITS = 16
    WHEEL_SIZE = 1 << WHEEL_BITS
    WHEEL_MASK = WHEEL_SIZE - 1
    WHEEL_WORDS = WHEEL_SIZE // 64
    SPILL_CAP = 40         # a step emits at most 2 events and MAX_CHECKS check_failed; spill holds the overflow
    INSERTION_SORT_MAX = 48
    PREFETCH_AHEAD = 16
    BLOCK = 64             # VU indices per scheduler block (256 bytes)

# A VU due beyond the wheel's current block, in the min-heap keyed by tick.
ctypedef struct far_t:
    uint64_t tick
    uint32_t idx


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
    # --- the plan, as flat C data (its arrays owned by _plan_arrays) ---
    cdef PlanArrays _plan_arrays
    cdef plan_t plan
    cdef uint64_t* capacity_heap
    # the seed-compatibility profile: one stream shared by all VUs
    cdef uint64_t shared_rng
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
    # A stop asked for by `stop()` (between fill() calls), applied by the loop at
    # the next tick boundary (`_apply_stop`): 0 none, 1 graceful, 2 cancel in flight.
    cdef int stop_asked
    cdef bint stop_applied
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
        self._plan_arrays = PlanArrays(plan, simulated=True)
        self.plan = self._plan_arrays.p
        cdef uint32_t n = self.plan.n_vus
        self.n_vus = n
        if self.plan.capacity > 0:
            self.capacity_heap = <uint64_t*>malloc(self.plan.capacity * sizeof(uint64_t))
            if self.capacity_heap == NULL:
                raise MemoryError()
            memset(self.capacity_heap, 0, self.plan.capacity * sizeof(uint64_t))
        self.shared_rng = xs_init(self.plan.seed)
        # The VU table: one 64-byte struct per VU in one numpy-owned block.
        self._vu_array = self._plan_arrays.vu_table()
        self.vus = <vu_t*>cnp_data(self._vu_array)
        cdef const uint64_t* spawn_p = self.plan.spawn_tick

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
        self.stop_asked = 0
        self.stop_applied = False

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

    # ------------------------------------------------------------------ Python API

    def fill(self, out):
        """Write up to ``len(out)`` events into ``out``; return the count.

        ``out`` must be a C-contiguous, writable ``EVENT_DTYPE`` array of at least
        4 records. A return value below ``len(out)`` means the run is over.
        """
        self.out = checked_out(out)
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

    def stop(self, cancel_in_flight=False):
        """Stop the run as if every VU's schedule ended at the next tick boundary.

        No request is issued from then on and no VU spawns; a request in flight
        ends as modelled when that falls within the graceful stop, else it is
        cancelled at the stop plus the graceful stop (at once with
        ``cancel_in_flight``); each VU then completes. The seed-compatibility
        profile instead ends there, as the original engine's run() does at its
        last tick. A second call may only make the stop harsher.

        Call it from the thread that calls ``fill()``, between calls: it only
        records the request, and the loop applies it where the tick order holds.
        """
        cdef int asked = 2 if cancel_in_flight else 1
        if asked > self.stop_asked and not self.stop_applied:
            self.stop_asked = asked

    @property
    def stopping(self):
        """A stop was asked for."""
        return self.stop_asked > 0

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
                if self.stop_asked and not self.stop_applied:
                    self._apply_stop()
                    if self.out_of_memory:
                        return
                t = self._next_tick()
                if t == Z6_NO_TICK:
                    self.done = True
                    return
                if t > self.plan.original_last_tick:
                    # The seed-compatibility profile: the original engine's run()
                    # stops after tick duration + 1000 whatever its VUs are doing;
                    # a VU thinking or mid-request then gets no further event (no
                    # outcome, no vu_complete), as there. Its clock ends at that tick.
                    self.current_tick = self.plan.original_last_tick
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
                Z6_CHECK(vu.due_ns // self.plan.tick_ns == t, "VU filed under its due tick")
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
                    Z6_CHECK(tick > t and tick == vu.due_ns // self.plan.tick_ns, "VU refiled in the future")
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

    cdef void _apply_stop(self) noexcept nogil:
        # Between ticks: every event so far is before `scan_from`, so the stop
        # instant is that tick's start. Each running VU's schedule ends there, its
        # request in flight gets the graceful-stop deadline, and the scheduler is
        # rebuilt with the new due times (a VU cannot be taken out of its slot
        # alone); the ordinary steps then complete every VU.
        cdef uint64_t stop_tick = self.scan_from
        cdef uint64_t stop_at = stop_tick * self.plan.tick_ns
        cdef uint64_t deadline = stop_at if self.stop_asked == 2 else sat_add(stop_at, self.plan.graceful_ns)
        cdef uint64_t tick
        cdef uint32_t idx
        cdef vu_t* vu
        self.stop_applied = True
        if self.plan.profile == PROF_ORIGINAL:
            if stop_tick == 0:
                self.done = True       # nothing ran: no tick before the stop
            elif stop_tick - 1 < self.plan.original_last_tick:
                self.plan.original_last_tick = stop_tick - 1
            return
        memset(self.slot_head, 0xFF, WHEEL_SIZE * sizeof(uint32_t))
        memset(self.slot_tail, 0xFF, WHEEL_SIZE * sizeof(uint32_t))
        memset(self.wheel_bits, 0, WHEEL_WORDS * sizeof(uint64_t))
        self.blk_free = Z6_NIL
        self.blk_used = 0
        self.far_n = 0
        self.block_base = (stop_tick // WHEEL_SIZE) * WHEEL_SIZE
        for idx in range(self.spawn_cursor):
            vu = &self.vus[idx]
            if vu.state == VU_COMPLETE:
                continue
            if vu.stop_ns > stop_at:
                vu.stop_ns = stop_at
            if vu.state == VU_WAITING:
                if vu.due_ns > deadline:
                    vu.outcome = EV_REQUEST_CANCELLED
                    vu.status = 0
                    vu.due_ns = deadline
            elif vu.state == VU_READY and vu.due_ns > stop_at:
                vu.due_ns = stop_at    # thinking: it completes at the stop
            Z6_CHECK(vu.due_ns >= stop_at, "no VU due before the stop")
            tick = self._tick_of(vu.due_ns)
            if tick < self.block_base + WHEEL_SIZE:
                self._slot_append(idx, tick)
            else:
                self._far_push(idx, tick)
            if self.out_of_memory:
                return
        self.spawn_cursor = self.n_vus     # no VU spawns after the stop

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
        self.tick_end_ns = sat_add(t * self.plan.tick_ns, self.plan.tick_ns)
        self.in_tick = True

    cdef inline uint64_t _tick_of(self, uint64_t ns) noexcept nogil:
        return z6_div_u64(ns, self.plan.tick_ns, self.plan.tick_magic)

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
        write_event(e, tick, value_ns, vu, kind, request, status, error)
        self.events_emitted += 1

    # ------------------------------------------------------------------ the lifecycle

    cdef inline void _step(self, vu_t* vu, uint64_t t) noexcept nogil:
        # One transition of one VU at its due time; emits at most two events.
        cdef uint64_t now = vu.due_ns
        cdef uint8_t state = vu.state
        if state == VU_UNSPAWNED:
            self.active_vus += 1
            if self.plan.profile == PROF_DEFAULT:
                # The original engine's spawnAllVUs emits nothing; the default profile records it.
                self._emit(t, 0, vu, EV_VU_SPAWNED, NO_REQUEST, 0, ERR_NONE)
            vu_set_state(vu, VU_SPAWNED)
            vu.due_ns = (t + 1) * self.plan.tick_ns
        elif state == VU_SPAWNED:
            self._emit(t, 0, vu, EV_VU_READY, NO_REQUEST, 0, ERR_NONE)
            vu_set_state(vu, VU_READY)
            if self.plan.profile == PROF_ORIGINAL:
                vu.due_ns = (t + 1) * self.plan.tick_ns   # the original engine issues on the next tick
        elif state == VU_READY:
            if self.plan.profile == PROF_ORIGINAL:
                self._issue_original(vu, now, t)
            elif vu_done_before_issue(vu, &self.plan, now):
                self._complete(vu, t, ERR_NONE)
            else:
                self._issue(vu, now, t)
        elif state == VU_WAITING:
            if self.plan.profile == PROF_ORIGINAL:
                self._finish_original(vu, now, t)
            else:
                self._finish(vu, now, t)

    cdef inline void _complete(self, vu_t* vu, uint64_t t, uint16_t error) noexcept nogil:
        # `error`: ERR_ON_START_FAILED for a VU whose on_start request failed, else none.
        self._emit(t, 0, vu, EV_VU_COMPLETE, NO_REQUEST, 0, error)
        vu_set_state(vu, VU_COMPLETE)
        self.active_vus -= 1

    cdef void _issue(self, vu_t* vu, uint64_t now, uint64_t t) noexcept nogil:
        # Draw order per request (fixed): request pick (unless a sequence), service
        # time, failure (if error_rate > 0), status (if more than one).
        cdef uint16_t req
        cdef uint64_t service, latency, start, due, deadline
        cdef uint8_t outcome = EV_RESPONSE_RECEIVED
        cdef uint16_t status = 0
        req = vu_next_request(vu, &self.plan)
        vu.request = req
        vu.issue_ns = now
        self._emit(t, 0, vu, EV_REQUEST_ISSUED, req, 0, ERR_NONE)
        self.requests_issued += 1
        vu_set_state(vu, VU_EXECUTING)     # written in zero time: waiting below
        service = draw_ns(&vu.rng, self.plan.latency_kind, self.plan.latency_a, self.plan.latency_b)
        if service == 0:
            service = 1      # time always advances: a visit cannot loop forever
        if self.plan.capacity:
            # FIFO onto the earliest free of `capacity` server slots (in the order
            # requests are issued, ties by vu_id): latency = queueing + service.
            start = self.capacity_heap[0]
            if start < now:
                start = now
            self._capacity_replace_top(sat_add(start, service))
            latency = sat_add(start, service) - now
        else:
            latency = service
        if self.plan.error_rate > 0.0 and xs_float(&vu.rng) < self.plan.error_rate:
            outcome = EV_RESPONSE_ERROR
        else:
            status = self.plan.status_codes[pick_weighted(&vu.rng, self.plan.status_cum, self.plan.n_status)]
        if latency > self.plan.timeout_ns[req]:
            outcome = EV_REQUEST_TIMEOUT
            latency = self.plan.timeout_ns[req]
            status = 0
        due = sat_add(now, latency)
        # Graceful stop: a request still in flight this long after the VU's
        # schedule ended is cancelled there.
        deadline = sat_add(vu.stop_ns, self.plan.graceful_ns)
        if due > deadline:
            outcome = EV_REQUEST_CANCELLED
            due = deadline
            status = 0
        vu.outcome = outcome
        vu.status = status
        vu.due_ns = due
        vu_set_state(vu, VU_WAITING)

    cdef void _capacity_replace_top(self, uint64_t value) noexcept nogil:
        # Replace the min-heap's root and sift it down.
        cdef uint64_t* h = self.capacity_heap
        cdef Py_ssize_t n = self.plan.capacity, i = 0, child
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
        cdef int next_step, failed, i
        cdef uint8_t outcome = vu.outcome
        cdef uint16_t failed_index[MAX_CHECKS]
        cdef uint16_t failed_class[MAX_CHECKS]
        if outcome == EV_RESPONSE_ERROR:
            error = ERR_SIMULATED
        elif outcome == EV_REQUEST_TIMEOUT:
            error = ERR_TIMEOUT
        elif outcome == EV_REQUEST_CANCELLED:
            error = ERR_CANCELLED
        elif has_checks(&self.plan, vu.request):
            # A modelled response's checks: each failed one is an event, and the
            # request's outcome an error_http naming the first (`_checks.pxd`).
            failed = checks_modelled(&self.plan, vu.request, vu.status, vu.vu_id, vu.seq, failed_index, failed_class)
            for i in range(failed):
                self._emit(t, 0, vu, EV_CHECK_FAILED, vu.request, failed_index[i], failed_class[i])
            if failed:
                outcome = EV_ERROR_HTTP
                error = failed_class[0]
            elif status_listed(&self.plan, vu.request, vu.status):
                error = ERR_STATUS_LISTED     # a status the request's check lists: a success
        self._emit(t, now - vu.issue_ns, vu, outcome, vu.request, vu.status, error)
        # Think time counts from the response; a VU due past its schedule's end
        # wakes at the end instead, to complete.
        next_step = vu_after_outcome(vu, &self.plan, now, outcome == EV_REQUEST_CANCELLED,
                                     is_failed_outcome(outcome, vu.status, error))
        if next_step != VU_CARRIES_ON:
            self._complete(vu, t, ERR_ON_START_FAILED if next_step == VU_DONE_FAILED else ERR_NONE)

    # ------------------------------------------------------------------ seed profile

    cdef inline void _issue_original(self, vu_t* vu, uint64_t now, uint64_t t) noexcept nogil:
        # The original engine: one shared stream consumed in VU order, f32 pick, fixed latency.
        cdef uint16_t req = <uint16_t>pick_original_f32(&self.shared_rng, self.plan.original_weights,
                                                    self.plan.n_requests, self.plan.original_total)
        vu.request = req
        vu.issue_ns = now
        self._emit(t, 0, vu, EV_REQUEST_ISSUED, req, 0, ERR_NONE)
        self.requests_issued += 1
        vu.outcome = EV_RESPONSE_RECEIVED
        vu.status = 200
        vu.due_ns = now + self.plan.original_latency_ns
        vu_set_state(vu, VU_EXECUTING)
        vu_set_state(vu, VU_WAITING)

    cdef inline void _finish_original(self, vu_t* vu, uint64_t now, uint64_t t) noexcept nogil:
        # The original engine completes a VU at a response on or after the duration (and
        # never checks the duration before issuing); think time counts from the
        # issue, and a ready VU is looked at from the next tick on.
        cdef uint64_t next_issue = vu.issue_ns + self.plan.original_think_ns
        self._emit(t, now - vu.issue_ns, vu, EV_RESPONSE_RECEIVED, vu.request, vu.status, ERR_NONE)
        vu.seq += 1
        if now >= vu.stop_ns:
            self._complete(vu, t, ERR_NONE)
            return
        vu_set_state(vu, VU_READY)
        if next_issue < now + self.plan.tick_ns:
            next_issue = now + self.plan.tick_ns
        vu.due_ns = next_issue

