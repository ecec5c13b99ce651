# cython: language_level=3
"""The per-VU lifecycle steps both engines share, so a simulated and a live VU
pick requests, write events, count requests, sequence steps and iterations, and
decide between thinking and completing the same way (declarations and small
inline functions only, as in numpy.random's .pxd files).

PRNG draw order per request, fixed (changing it changes every event stream): the
request pick (`vu_next_request`, unless the plan has a sequence), then whatever
the engine draws for the request itself (the simulated target's service time,
failure and status), then the think time (`vu_after_outcome`, only when the VU
carries on).

`[lifecycle]` (docs/scenario.md): a VU first issues the plan's `on_start`
requests, back to back, with no draw and no think time; it is in that prologue
while its `seq` is below `n_on_start`, so the prologue needs no state of its
own. A failed one ends the VU (`vu_after_outcome` returns `VU_DONE_FAILED`; the
engine marks its `vu_complete` with `ERR_ON_START_FAILED`). When its schedule
ends or its iterations are used up, a VU whose prologue is done issues the
`on_stop` requests, back to back, before it completes: the epilogue, marked by
`step == VU_EPILOGUE` with `step_rep` counting them. Epilogue requests go out
even after the schedule's end (within the graceful stop, which still cancels
what runs past it).
"""

from libc.stdint cimport uint8_t, uint16_t, uint32_t, uint64_t

from z6core._defs cimport *
from z6core._draw cimport draw_ns, pick_weighted
from z6core._plan cimport plan_t
from z6core._prng cimport Z6_U64_MAX


cdef inline uint64_t sat_add(uint64_t a, uint64_t b) noexcept nogil:
    return Z6_U64_MAX if a > Z6_U64_MAX - b else a + b


cdef inline bint vu_legal_transition(uint8_t s, uint8_t t) noexcept nogil:
    # The lifecycle's edges (see vu_state_t in _defs.pxd).
    if s == VU_UNSPAWNED:
        return t == VU_SPAWNED
    if s == VU_SPAWNED:
        return t == VU_READY
    if s == VU_READY:
        return t == VU_EXECUTING or t == VU_COMPLETE
    if s == VU_EXECUTING:
        return t == VU_WAITING or t == VU_READY or t == VU_COMPLETE
    if s == VU_WAITING:
        return t == VU_READY or t == VU_COMPLETE or t == VU_EXECUTING
    return False


cdef inline void vu_set_state(vu_t* vu, uint8_t state) noexcept nogil:
    Z6_CHECK(vu_legal_transition(vu.state, state), "legal VU state transition")
    vu.state = state


cdef inline bint vu_in_flight(const vu_t* vu) noexcept nogil:
    # A request is out: being connected or written (executing) or awaiting its outcome.
    return vu.state == VU_EXECUTING or vu.state == VU_WAITING


# What `vu_after_outcome` tells the engine.
cdef enum:
    VU_CARRIES_ON = 0       # READY, due at vu.due_ns
    VU_DONE = 1             # complete it now
    VU_DONE_FAILED = 2      # complete it now: an on_start request failed


cdef inline bint vu_enter_epilogue(vu_t* vu, const plan_t* p) noexcept nogil:
    # At the schedule's end or after the last iteration: start the on_stop
    # requests, if the plan has some and the VU's on_start ones are done.
    if p.n_on_stop == 0 or vu.seq < p.n_on_start or vu.step == VU_EPILOGUE:
        return False
    vu.step = VU_EPILOGUE
    vu.step_rep = 0
    return True


cdef inline bint vu_done_before_issue(vu_t* vu, const plan_t* p, uint64_t now) noexcept nogil:
    # A ready VU completes instead of issuing at or after its schedule's end, or
    # after its last iteration; with on_stop requests it issues those first.
    if vu.step == VU_EPILOGUE:
        return vu.step_rep >= p.n_on_stop
    if now >= vu.stop_ns or vu.iter_left == 0:
        return not vu_enter_epilogue(vu, p)
    return False


cdef inline uint16_t vu_next_request(vu_t* vu, const plan_t* p) noexcept nogil:
    # The request to issue: an on_start or on_stop request (no draw), the
    # sequence's current step, or a weighted pick from the VU's own stream (one draw).
    if vu.seq < p.n_on_start:
        return p.on_start[vu.seq]
    if vu.step == VU_EPILOGUE:
        return p.on_stop[vu.step_rep]
    if p.n_steps:
        return p.step_request[vu.step]
    return <uint16_t>pick_weighted(&vu.rng, p.cum_weights, p.n_requests)


cdef inline uint64_t vu_template_seq(const vu_t* vu, const plan_t* p) noexcept nogil:
    # The request number a template renders with (its iteration is that over the
    # pass length): the VU's seq without its on_start requests, so iterations
    # take the rows docs/templates.md gives them. An on_start request renders
    # as the first iteration does, an on_stop one as the last.
    cdef uint64_t main
    if vu.seq < p.n_on_start:
        return 0
    if vu.step == VU_EPILOGUE:
        main = vu.seq - p.n_on_start - vu.step_rep
        return main - 1 if main else 0
    return vu.seq - p.n_on_start


cdef inline void write_event(event_t* e, uint64_t tick, uint64_t value_ns, const vu_t* vu, uint16_t kind,
                             uint16_t request, uint16_t status, uint16_t error) noexcept nogil:
    # One event record of `vu` (its id and the seq of its current request).
    e.tick = tick
    e.value_ns = value_ns
    e.vu_id = vu.vu_id
    e.kind = kind
    e.request = request
    e.status = status
    e.error = error
    e.seq = vu.seq


cdef inline void count_outcome(vu_t* vu, const plan_t* p) noexcept nogil:
    # After a request's outcome: the next request's seq, the sequence's next step
    # (a request repeats step_repeat[step] times), and one iteration fewer when
    # the sequence wraps (without a sequence, every request is an iteration).
    cdef bint iteration_done = True
    vu.seq += 1
    if vu.step == VU_EPILOGUE:
        vu.step_rep += 1
        return
    if vu.seq <= p.n_on_start:
        return                  # an on_start request: no step, no iteration
    if p.n_steps:
        vu.step_rep += 1
        iteration_done = False
        if vu.step_rep >= p.step_repeat[vu.step]:
            vu.step_rep = 0
            vu.step += 1
            if vu.step == p.n_steps:
                vu.step = 0
                iteration_done = True
    if iteration_done and vu.iter_left != Z6_ITER_UNLIMITED:
        vu.iter_left -= 1


cdef inline int vu_after_outcome(vu_t* vu, const plan_t* p, uint64_t now, bint cancelled,
                                 bint failed) noexcept nogil:
    # After the outcome (already emitted) of the request in flight, at `now`
    # (`failed`: by the outcome rule, `_outcomes.pxd`): count it; then VU_DONE
    # when the VU completes now (its request was cancelled, its schedule is over
    # or its iterations are used up, and no on_stop request is left), or
    # VU_DONE_FAILED (an on_start request failed; the caller completes it),
    # else VU_CARRIES_ON: READY, due at once for its next on_start or on_stop
    # request, else when the think time (counted from the outcome) ends, or at
    # its schedule's end if that comes first.
    cdef uint64_t next_issue
    cdef bint prologue = vu.seq < p.n_on_start
    cdef bint lifecycle = prologue or vu.step == VU_EPILOGUE
    count_outcome(vu, p)
    if cancelled:
        return VU_DONE          # cut short by a stop: not a failed on_start
    if failed and prologue:
        return VU_DONE_FAILED
    if vu.step == VU_EPILOGUE or now >= vu.stop_ns or vu.iter_left == 0:
        if vu_done_before_issue(vu, p, now):
            return VU_DONE
        vu_set_state(vu, VU_READY)
        vu.due_ns = now
        return VU_CARRIES_ON
    if lifecycle:
        vu_set_state(vu, VU_READY)   # the next on_start request (or the first iteration) at once
        vu.due_ns = now
        return VU_CARRIES_ON
    next_issue = sat_add(now, draw_ns(&vu.rng, p.think_kind, p.think_a, p.think_b))
    vu_set_state(vu, VU_READY)
    vu.due_ns = next_issue if next_issue < vu.stop_ns else vu.stop_ns
    return VU_CARRIES_ON
