# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True
"""The open-model engine: arrivals at a scheduled rate, served by a VU pool, against the modelled target.

`OpenEngine(plan)` runs a plan whose schedule is an arrival rate (`plan.arrivals`,
see `z6.plan.ArrivalPlan`). Arrivals come from the run-wide arrival stream
(`_arrivals.pxd`), whatever the target does. Each arrival is one iteration (one
weighted pick, or one pass of the sequence, its steps back to back) served by the
lowest free VU id of the pool; the pool starts with `pool_vus` VUs, spawned and
ready at tick 0, and grows one VU at a time (a `vu_spawned` event) up to
`n_vus` (the plan's `max_vus`) when an arrival finds every VU busy. An arrival
that finds the pool busy at `max_vus` is dropped: an `iteration_dropped` event
(vu_id 0, seq = the arrival's index), never a delay.

Unlike the closed engine's timer wheel, this one advances in time order over two
sources, the next arrival and a min-heap of VUs with a pending outcome keyed by
(due_ns, index); at equal instants outcomes come first, so a VU freed at the
arrival's instant serves it. The modelled server (`capacity`) serves requests
FIFO in the order they are issued. A tick's events are gathered and sorted,
stably, by vu_id before they are handed out, so the stream keeps the order every
reader expects: (tick, vu_id), and within a VU the order things happened.

The loop runs in C without the GIL and returns to Python once per chunk.

Compatibility guarantee: for the same plan, seed and z6 version the event stream
is identical, whatever the chunk size. Arrival instants depend on (seed,
schedule) alone; what an iteration draws (request pick, service time, failure,
status) comes from its arrival's own stream (`_arrivals.pxd`), in the closed
engine's order (`_lifecycle.pxd`), whichever VU serves it. A shard of a split run
(`plan.arrivals.shard_index` of `shard_count`) serves only its arrivals, so
without `capacity` and without drops the shards' request traffic adds up to
the one-process run's exactly.
"""

cimport cython
from libc.stdint cimport uint8_t, uint16_t, uint32_t, uint64_t
from libc.stdlib cimport free, malloc, qsort, realloc
from libc.string cimport memcpy, memset

import numpy as np

from z6core._arrays cimport cnp_data
from z6core._arrivals cimport (ARRIVALS_CONSTANT as KIND_CONSTANT, ARRIVALS_POISSON as KIND_POISSON, Z6_NO_ARRIVAL,
                               arrival_draw_state, arrival_next_own,
                               arrival_schedule_t, arrival_state_t, arrivals_advance, arrivals_start)
from z6core._defs cimport *
from z6core._draw cimport draw_ns, pick_weighted
from z6core._checks cimport checks_modelled, has_checks, status_listed
from z6core._lifecycle cimport VU_CARRIES_ON, sat_add, vu_after_outcome, vu_next_request, vu_set_state, write_event
from z6core._plan cimport PROF_DEFAULT, PlanArrays, checked_out, plan_t
from z6core._pool cimport pool_pop, pool_push
from z6core._prng cimport xs_float

__all__ = ["OpenEngine", "ARRIVALS_CONSTANT", "ARRIVALS_POISSON"]

# The arrival kinds (`_arrivals.pxd`), for the plan compiler.
ARRIVALS_CONSTANT = KIND_CONSTANT
ARRIVALS_POISSON = KIND_POISSON

cdef extern from *:
    """
    #define Z6_NO_TIME 0xFFFFFFFFFFFFFFFFULL
    """
    const uint64_t Z6_NO_TIME

cdef enum:
    ACT_OUTCOME = 0
    ACT_ARRIVAL = 1
    ACT_END = 2

# A VU with a pending outcome, in the min-heap keyed by (due_ns, idx).
ctypedef struct busy_t:
    uint64_t due_ns
    uint32_t idx


cdef inline bint busy_before(const busy_t* a, const busy_t* b) noexcept nogil:
    return a.due_ns < b.due_ns or (a.due_ns == b.due_ns and a.idx < b.idx)


cdef int compare_u64(const void* a, const void* b) noexcept nogil:
    cdef uint64_t x = (<const uint64_t*>a)[0], y = (<const uint64_t*>b)[0]
    return (x > y) - (x < y)


cdef class ArrivalArrays:
    """``ArrivalArrays(plan)``: ``plan.arrivals`` (`z6.plan.ArrivalPlan`) checked
    and held as the C `arrival_schedule_t` both engines read.

    Rules: kind constant or poisson; n >= 1 segments with n + 1 ``start_ns``
    from 0, increasing, ending by the clock's horizon; rates finite and >= 0
    with at least one arrival expected; ``pool_vus`` between 1 and the plan's
    VU count (``max_vus``); every VU spawning at 0 and stopping at the end.
    """

    def __init__(self, plan):
        cdef Py_ssize_t i, n
        self._keep = []
        spec = getattr(plan, "arrivals", None)
        if spec is None:
            raise ValueError("plan.arrivals is missing: not an arrival-rate plan")
        kind = int(spec.kind)
        if kind not in (KIND_CONSTANT, KIND_POISSON):
            raise ValueError(f"plan.arrivals.kind must be {KIND_CONSTANT} (constant) or "
                             f"{KIND_POISSON} (poisson), got {kind}")
        starts = np.ascontiguousarray(spec.start_ns, dtype=np.uint64)
        rate0 = np.ascontiguousarray(spec.rate0, dtype=np.float64)
        rate1 = np.ascontiguousarray(spec.rate1, dtype=np.float64)
        n = rate0.shape[0]
        if n < 1 or rate1.shape[0] != n or starts.shape[0] != n + 1:
            raise ValueError("plan.arrivals: need n >= 1 segments: n + 1 start_ns, n rate0 and n rate1 entries")
        if starts[0] != 0 or np.any(np.diff(starts.astype(np.int64)) <= 0):
            raise ValueError("plan.arrivals.start_ns must start at 0 and increase")
        if int(starts[n]) > Z6_CLOCK_LIMIT_NS:
            raise ValueError(f"plan.arrivals: the schedule must end by {Z6_CLOCK_LIMIT_NS} ns")
        if not (np.all(np.isfinite(rate0)) and np.all(np.isfinite(rate1))
                and np.all(rate0 >= 0) and np.all(rate1 >= 0)):
            raise ValueError("plan.arrivals: rates must be finite and >= 0")
        level0 = np.zeros(n + 1, dtype=np.float64)
        for i in range(n):
            level0[i + 1] = level0[i] + 0.5 * (rate0[i] + rate1[i]) * (<double>(starts[i + 1] - starts[i]) * 1e-9)
        if not level0[n] > 0:
            raise ValueError("plan.arrivals: the schedule must expect at least one arrival (every rate is 0)")
        n_vus = np.asarray(plan.spawn_tick).shape[0]
        pool = int(spec.pool_vus)
        if not 1 <= pool <= n_vus:
            raise ValueError(f"plan.arrivals.pool_vus must be between 1 and the plan's {n_vus} VUs "
                             f"(max_vus), got {pool}")
        if len(getattr(plan, "on_start", ())) or len(getattr(plan, "on_stop", ())):
            raise ValueError("an arrival-rate plan has no on_start or on_stop requests (a pool VU serves "
                             "whichever arrival finds it free)")
        shard_count = int(getattr(spec, "shard_count", 1))
        shard_index = int(getattr(spec, "shard_index", 0))
        if not (1 <= shard_count <= 2**32 and 0 <= shard_index < shard_count):
            raise ValueError(f"plan.arrivals: shard_index must be in [0, shard_count) with shard_count >= 1, "
                             f"got {shard_index} of {shard_count}")
        if np.any(np.asarray(plan.spawn_tick) != 0) or np.any(np.asarray(plan.stop_ns) != starts[n]):
            raise ValueError("an arrival-rate plan's VUs (the pool) must all have spawn_tick 0 and stop_ns at "
                             "the schedule's end")
        self._keep.extend([starts, rate0, rate1, level0])
        self.pool_vus = <uint32_t>pool
        self.shard_index = <uint64_t>shard_index
        self.shard_count = <uint64_t>shard_count
        self.end_ns = starts[n]
        self.s.kind = kind
        self.s.n_segments = n
        self.s.start_ns = <const uint64_t*>cnp_data(starts)
        self.s.rate0 = <const double*>cnp_data(rate0)
        self.s.rate1 = <const double*>cnp_data(rate1)
        self.s.level0 = <const double*>cnp_data(level0)


@cython.final
cdef class OpenEngine:
    """Run an arrival-rate plan; hand events out chunk by chunk.

    ``fill(out)`` writes up to ``len(out)`` records into ``out`` (an
    ``EVENT_DTYPE`` array) and returns how many; every chunk but the last is
    full, and ``finished`` turns true once the last event is out.
    ``dropped_iterations`` counts the arrivals dropped so far.
    """

    cdef PlanArrays _plan_arrays
    cdef plan_t plan
    cdef ArrivalArrays _arrivals      # owns the arrays `sched` points into
    cdef arrival_schedule_t sched
    cdef arrival_state_t arrivals
    cdef uint64_t next_arrival_ns
    cdef uint64_t end_ns               # the schedule's end: no arrival at or after it
    cdef bint end_done                 # idle VUs completed at the end
    # --- the VU pool ---
    cdef object _vu_array
    cdef vu_t* vus
    cdef readonly uint32_t n_vus       # max_vus: the table's size
    cdef readonly uint32_t pool_vus    # spawned at the start
    cdef uint32_t spawned
    cdef uint32_t* free_heap           # min-heap of idle VU indices: the lowest id serves next
    cdef Py_ssize_t free_n
    cdef busy_t* busy                  # min-heap of VUs with a pending outcome
    cdef Py_ssize_t busy_n
    cdef uint64_t* capacity_heap       # the modelled server's slots: when each is next free
    # --- a tick's events, sorted by vu_id before they go out ---
    cdef event_t* tick_buf
    cdef event_t* sort_buf
    cdef uint64_t* sort_keys
    cdef Py_ssize_t tick_n, tick_cap
    cdef Py_ssize_t flush_from, flush_n  # sorted events [flush_from, flush_n) still to hand out
    cdef uint64_t buf_tick
    cdef uint64_t current_tick
    # --- output ---
    cdef event_t* out
    cdef Py_ssize_t out_n, out_cap
    # --- counters ---
    cdef readonly uint64_t events_emitted
    cdef readonly uint64_t requests_issued
    cdef readonly uint64_t active_vus
    cdef readonly uint64_t dropped_iterations
    cdef readonly uint64_t arrivals_total
    cdef bint started, done, out_of_memory
    cdef int stop_asked                # 0 none, 1 graceful, 2 cancel requests in flight
    cdef bint stop_applied

    def __cinit__(self):
        self.free_heap = NULL
        self.busy = NULL
        self.capacity_heap = NULL
        self.tick_buf = NULL
        self.sort_buf = NULL
        self.sort_keys = NULL

    def __init__(self, plan):
        self._plan_arrays = PlanArrays(plan, simulated=True)
        self.plan = self._plan_arrays.p
        if self.plan.profile != PROF_DEFAULT:
            raise ValueError("an arrival-rate plan runs in the default profile only")
        self._arrivals = ArrivalArrays(plan)
        self.sched = self._arrivals.s
        self.pool_vus = self._arrivals.pool_vus
        self.end_ns = self._arrivals.end_ns
        self.n_vus = self.plan.n_vus
        self._vu_array = self._plan_arrays.vu_table()
        self.vus = <vu_t*>cnp_data(self._vu_array)
        n = self.n_vus
        self.free_heap = <uint32_t*>malloc(n * sizeof(uint32_t))
        self.busy = <busy_t*>malloc(n * sizeof(busy_t))
        if self.plan.capacity > 0:
            self.capacity_heap = <uint64_t*>malloc(self.plan.capacity * sizeof(uint64_t))
            if self.capacity_heap != NULL:
                memset(self.capacity_heap, 0, self.plan.capacity * sizeof(uint64_t))
        self.tick_cap = 1024
        self.tick_buf = <event_t*>malloc(self.tick_cap * sizeof(event_t))
        self.sort_buf = <event_t*>malloc(self.tick_cap * sizeof(event_t))
        self.sort_keys = <uint64_t*>malloc(self.tick_cap * sizeof(uint64_t))
        if (self.free_heap == NULL or self.busy == NULL or self.tick_buf == NULL or self.sort_buf == NULL
                or self.sort_keys == NULL or (self.plan.capacity > 0 and self.capacity_heap == NULL)):
            raise MemoryError()
        arrivals_start(&self.arrivals, &self.sched, self.plan.seed)
        self.next_arrival_ns = self._next_arrival()
        if self.next_arrival_ns >= self.end_ns:
            self.next_arrival_ns = Z6_NO_ARRIVAL

    def __dealloc__(self):
        free(self.free_heap)
        free(self.busy)
        free(self.capacity_heap)
        free(self.tick_buf)
        free(self.sort_buf)
        free(self.sort_keys)

    # ------------------------------------------------------------------ Python API

    def fill(self, out):
        """Write up to ``len(out)`` events into ``out``; return the count.

        ``out`` must be a C-contiguous, writable ``EVENT_DTYPE`` array of at least
        4 records. A return value below ``len(out)`` means the run is over.
        """
        self.out = checked_out(out)
        self.out_cap = out.shape[0]
        self.out_n = 0
        with nogil:
            self._run()
        if self.out_of_memory:
            raise MemoryError("z6 open-model engine: out of memory for a tick's events")
        n = self.out_n
        self.out = NULL
        self.out_cap = 0
        return n

    def stop(self, cancel_in_flight=False):
        """Stop the run as if the schedule ended at the next tick boundary.

        No arrival is served from then on; idle VUs complete there; a request in
        flight ends as modelled when that falls within the graceful stop, else
        it is cancelled at the stop plus the graceful stop (at once with
        ``cancel_in_flight``), and its VU then completes (a sequence's next step
        is not issued). A second call may only make the stop harsher.

        Call it from the thread that calls ``fill()``, between calls: it only
        records the request, and the loop applies it where the time order holds.
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
        """True once every event has been handed out."""
        return self.done and self.flush_from == self.flush_n

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

    @property
    def spawned_vus(self):
        """VUs spawned so far: the pool, and any it grew by."""
        return self.spawned

    # ------------------------------------------------------------------ the loop

    cdef void _run(self) noexcept nogil:
        cdef uint64_t t_busy, t_next, tick
        cdef Py_ssize_t take
        cdef int action
        while True:
            if self.flush_from < self.flush_n:
                take = self.flush_n - self.flush_from
                if take > self.out_cap - self.out_n:
                    take = self.out_cap - self.out_n
                memcpy(&self.out[self.out_n], &self.sort_buf[self.flush_from], take * sizeof(event_t))
                self.out_n += take
                self.flush_from += take
                if self.flush_from < self.flush_n:
                    return          # chunk full
            if self.done or self.out_of_memory:
                return
            if not self.started:
                self._start()
                continue
            if self.stop_asked and not self.stop_applied:
                self._apply_stop()
            # What happens next: at equal instants an outcome (it frees its VU for
            # the arrival), then an arrival; the schedule's end comes after every
            # arrival and before the outcomes due after it.
            t_busy = self.busy[0].due_ns if self.busy_n else Z6_NO_TIME
            if self.busy_n and t_busy <= self.next_arrival_ns and (self.end_done or t_busy <= self.end_ns):
                action = ACT_OUTCOME
                t_next = t_busy
            elif self.next_arrival_ns != Z6_NO_ARRIVAL:
                action = ACT_ARRIVAL
                t_next = self.next_arrival_ns
            elif not self.end_done:
                action = ACT_END
                t_next = self.end_ns
            else:
                self._close_tick()
                self.done = True
                continue
            tick = t_next // self.plan.tick_ns
            if tick != self.buf_tick and self.tick_n:
                self._close_tick()
                self.buf_tick = tick
                continue
            self.buf_tick = tick
            self.current_tick = tick
            if action == ACT_OUTCOME:
                self._outcome(t_next, tick)
            elif action == ACT_ARRIVAL:
                self._arrive(t_next, tick)
            else:
                self._end_schedule(tick)

    cdef void _apply_stop(self) noexcept nogil:
        # Between fills, the events so far lie before the end of the tick being
        # gathered: the schedule now ends at that tick's end. Arrivals before it
        # are still served (they belong to the schedule), none after; requests
        # in flight past the graceful stop are cancelled there, and the busy
        # heap is rebuilt with those due times.
        cdef uint64_t stop_at = sat_add(self.current_tick * self.plan.tick_ns, self.plan.tick_ns)
        cdef uint64_t deadline = stop_at if self.stop_asked == 2 else sat_add(stop_at, self.plan.graceful_ns)
        cdef Py_ssize_t i, n = self.busy_n
        cdef vu_t* vu
        cdef busy_t item
        self.stop_applied = True
        if not self.end_done and stop_at < self.end_ns:
            self.end_ns = stop_at
            if self.next_arrival_ns != Z6_NO_ARRIVAL and self.next_arrival_ns >= stop_at:
                self.next_arrival_ns = Z6_NO_ARRIVAL
        for i in range(self.n_vus):
            if self.vus[i].stop_ns > stop_at:
                self.vus[i].stop_ns = stop_at
        self.busy_n = 0
        for i in range(n):
            item = self.busy[i]
            vu = &self.vus[item.idx]
            if item.due_ns > deadline:
                vu.outcome = EV_REQUEST_CANCELLED
                vu.status = 0
                vu.due_ns = deadline
                item.due_ns = deadline
            self._busy_push(item.due_ns, item.idx)

    cdef void _start(self) noexcept nogil:
        # The pool: spawned and ready at tick 0, before the first arrival.
        cdef uint32_t i
        self.started = True
        self.buf_tick = 0
        for i in range(self.pool_vus):
            self._spawn(0)

    cdef uint32_t _spawn(self, uint64_t tick) noexcept nogil:
        # The next VU of the table joins the pool, idle; returns its index.
        cdef uint32_t idx = self.spawned
        cdef vu_t* vu = &self.vus[idx]
        self.spawned += 1
        self.active_vus += 1
        vu_set_state(vu, VU_SPAWNED)
        self._emit(tick, 0, vu, EV_VU_SPAWNED, NO_REQUEST, 0, ERR_NONE)
        vu_set_state(vu, VU_READY)
        self._emit(tick, 0, vu, EV_VU_READY, NO_REQUEST, 0, ERR_NONE)
        self._free_push(idx)
        return idx

    cdef void _arrive(self, uint64_t now, uint64_t tick) noexcept nogil:
        cdef uint32_t idx
        cdef event_t* e
        self.arrivals_total += 1
        if self.free_n == 0 and self.spawned < self.n_vus:
            self._spawn(tick)           # growth: an event (vu_spawned after the start)
        if self.free_n:
            idx = self._free_pop()
            # The iteration draws from the arrival's stream, not the VU's (`_arrivals.pxd`).
            self.vus[idx].rng = arrival_draw_state(self.plan.seed, self.arrivals.index)
            self._issue(&self.vus[idx], idx, now, tick)
        else:
            e = self._slot()
            if e != NULL:
                e.tick = tick
                e.value_ns = 0
                e.vu_id = 0
                e.kind = EV_ITERATION_DROPPED
                e.request = NO_REQUEST
                e.status = 0
                e.error = ERR_NONE
                e.seq = <uint32_t>self.arrivals.index
            self.dropped_iterations += 1
        arrivals_advance(&self.arrivals, &self.sched)
        self.next_arrival_ns = self._next_arrival()
        if self.next_arrival_ns >= self.end_ns:
            self.next_arrival_ns = Z6_NO_ARRIVAL

    cdef inline uint64_t _next_arrival(self) noexcept nogil:
        return arrival_next_own(&self.arrivals, &self.sched, self._arrivals.shard_index, self._arrivals.shard_count)

    cdef void _end_schedule(self, uint64_t tick) noexcept nogil:
        # Idle VUs complete at the schedule's end, in id order; busy ones complete
        # after their outcome (or its cancellation after graceful_stop).
        cdef uint32_t idx
        self.end_done = True
        self.next_arrival_ns = Z6_NO_ARRIVAL
        while self.free_n:
            idx = self._free_pop()
            self._complete(&self.vus[idx], tick)

    cdef void _complete(self, vu_t* vu, uint64_t tick) noexcept nogil:
        self._emit(tick, 0, vu, EV_VU_COMPLETE, NO_REQUEST, 0, ERR_NONE)
        vu_set_state(vu, VU_COMPLETE)
        self.active_vus -= 1

    cdef void _issue(self, vu_t* vu, uint32_t idx, uint64_t now, uint64_t tick) noexcept nogil:
        # The closed engine's modelled request, draw for draw (`_engine.pyx` `_issue`):
        # request pick (unless a sequence), service time, failure (if error_rate > 0),
        # status (if more than one); then the VU waits for its outcome.
        cdef uint16_t req
        cdef uint64_t service, latency, start, due, deadline
        cdef uint8_t outcome = EV_RESPONSE_RECEIVED
        cdef uint16_t status = 0
        req = vu_next_request(vu, &self.plan)
        vu.request = req
        vu.issue_ns = now
        self._emit(tick, 0, vu, EV_REQUEST_ISSUED, req, 0, ERR_NONE)
        self.requests_issued += 1
        vu_set_state(vu, VU_EXECUTING)
        service = draw_ns(&vu.rng, self.plan.latency_kind, self.plan.latency_a, self.plan.latency_b)
        if service == 0:
            service = 1
        if self.plan.capacity:
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
        deadline = sat_add(vu.stop_ns, self.plan.graceful_ns)
        if due > deadline:
            outcome = EV_REQUEST_CANCELLED
            due = deadline
            status = 0
        vu.outcome = outcome
        vu.status = status
        vu.due_ns = due
        vu_set_state(vu, VU_WAITING)
        self._busy_push(due, idx)

    cdef void _outcome(self, uint64_t now, uint64_t tick) noexcept nogil:
        cdef uint32_t idx = self.busy[0].idx
        cdef vu_t* vu = &self.vus[idx]
        cdef uint16_t error = ERR_NONE
        cdef uint8_t outcome = vu.outcome
        cdef int failed, i
        cdef uint16_t failed_index[MAX_CHECKS]
        cdef uint16_t failed_class[MAX_CHECKS]
        self._busy_pop()
        if outcome == EV_RESPONSE_ERROR:
            error = ERR_SIMULATED
        elif outcome == EV_REQUEST_TIMEOUT:
            error = ERR_TIMEOUT
        elif outcome == EV_REQUEST_CANCELLED:
            error = ERR_CANCELLED
        elif has_checks(&self.plan, vu.request):
            failed = checks_modelled(&self.plan, vu.request, vu.status, vu.vu_id, vu.seq, failed_index, failed_class)
            for i in range(failed):
                self._emit(tick, 0, vu, EV_CHECK_FAILED, vu.request, failed_index[i], failed_class[i])
            if failed:
                outcome = EV_ERROR_HTTP
                error = failed_class[0]
            elif status_listed(&self.plan, vu.request, vu.status):
                error = ERR_STATUS_LISTED     # a status the request's check lists: a success
        self._emit(tick, now - vu.issue_ns, vu, outcome, vu.request, vu.status, error)
        # No think time in an arrival-rate plan (its think is constant 0, no draw):
        # the VU is done (schedule over, or cancelled), back in the pool (its
        # iteration is over), or on to its sequence's next step at once.
        # (an arrival-rate plan has no [lifecycle], so no on_start can fail: the scenario refuses it)
        if vu_after_outcome(vu, &self.plan, now, outcome == EV_REQUEST_CANCELLED, False) != VU_CARRIES_ON:
            self._complete(vu, tick)
        elif self.plan.n_steps == 0 or (vu.step == 0 and vu.step_rep == 0):
            self._free_push(idx)
        else:
            self._issue(vu, idx, now, tick)

    # ------------------------------------------------------------------ events

    cdef event_t* _slot(self) noexcept nogil:
        # The next record of the current tick's buffer (grown as needed).
        cdef Py_ssize_t cap
        cdef void* grown
        if self.tick_n == self.tick_cap:
            cap = self.tick_cap * 2
            grown = realloc(self.tick_buf, cap * sizeof(event_t))
            if grown == NULL:
                self.out_of_memory = True
                return NULL
            self.tick_buf = <event_t*>grown
            grown = realloc(self.sort_buf, cap * sizeof(event_t))
            if grown == NULL:
                self.out_of_memory = True
                return NULL
            self.sort_buf = <event_t*>grown
            grown = realloc(self.sort_keys, cap * sizeof(uint64_t))
            if grown == NULL:
                self.out_of_memory = True
                return NULL
            self.sort_keys = <uint64_t*>grown
            self.tick_cap = cap
        self.tick_n += 1
        self.events_emitted += 1
        return &self.tick_buf[self.tick_n - 1]

    cdef inline void _emit(self, uint64_t tick, uint64_t value_ns, vu_t* vu, uint16_t kind,
                           uint16_t request, uint16_t status, uint16_t error) noexcept nogil:
        cdef event_t* e = self._slot()
        if e != NULL:
            write_event(e, tick, value_ns, vu, kind, request, status, error)

    cdef void _close_tick(self) noexcept nogil:
        # Sort the tick's events by (vu_id, order written) into sort_buf, to hand out.
        cdef Py_ssize_t i, n = self.tick_n
        Z6_CHECK(self.flush_from == self.flush_n, "the previous tick is handed out first")
        for i in range(n):
            self.sort_keys[i] = ((<uint64_t>self.tick_buf[i].vu_id) << 32) | <uint64_t>i
        qsort(self.sort_keys, n, sizeof(uint64_t), compare_u64)
        for i in range(n):
            self.sort_buf[i] = self.tick_buf[<uint32_t>self.sort_keys[i]]   # the low half: its place written
        self.flush_from = 0
        self.flush_n = n
        self.tick_n = 0

    # ------------------------------------------------------------------ heaps

    cdef inline void _free_push(self, uint32_t idx) noexcept nogil:
        pool_push(self.free_heap, &self.free_n, idx)

    cdef inline uint32_t _free_pop(self) noexcept nogil:
        return pool_pop(self.free_heap, &self.free_n)

    cdef void _busy_push(self, uint64_t due, uint32_t idx) noexcept nogil:
        cdef busy_t item
        cdef Py_ssize_t i = self.busy_n, parent
        item.due_ns = due
        item.idx = idx
        Z6_CHECK(self.busy_n < self.n_vus, "busy heap within the pool")
        self.busy_n += 1
        while i > 0:
            parent = (i - 1) >> 1
            if not busy_before(&item, &self.busy[parent]):
                break
            self.busy[i] = self.busy[parent]
            i = parent
        self.busy[i] = item

    cdef void _busy_pop(self) noexcept nogil:
        cdef Py_ssize_t n, i = 0, child
        cdef busy_t last
        self.busy_n -= 1
        n = self.busy_n
        if n == 0:
            return
        last = self.busy[n]
        while True:
            child = 2 * i + 1
            if child >= n:
                break
            if child + 1 < n and busy_before(&self.busy[child + 1], &self.busy[child]):
                child += 1
            if not busy_before(&self.busy[child], &last):
                break
            self.busy[i] = self.busy[child]
            i = child
        self.busy[i] = last

    cdef void _capacity_replace_top(self, uint64_t value) noexcept nogil:
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
