# cython: language_level=3
"""A compiled plan as flat C data, and the one loader that checks and reads it.

Both engines take a Python plan (`z6.plan.Plan`) through `PlanArrays`: every rule
that applies to a plan is checked there, once, with one message; the numpy
arrays it reads stay alive as long as the `PlanArrays` does, and the engine
copies the filled `plan_t` into itself (the pointers stay valid while the engine
holds the `PlanArrays`).
"""

from libc.stdint cimport uint8_t, uint16_t, uint32_t, uint64_t

from z6core._defs cimport event_t, vu_t

cdef enum:
    MIN_CHUNK = 4          # fill() needs room for at least this many events

cdef enum profile_t:
    PROF_DEFAULT = 0       # z6's lifecycle
    PROF_ORIGINAL = 1          # the seed-compatibility profile (simulated only)

# Everything an engine reads from a plan. The first part is what every engine
# runs (the VUs, the requests and their selection, think time); the second is the
# simulated target, filled only when the loader was asked for it (else 0/NULL).
ctypedef struct plan_t:
    uint64_t tick_ns
    uint64_t tick_magic          # floor((2**64 - 1) / tick_ns), for z6_div_u64
    uint64_t graceful_ns         # grace after a VU's schedule end before cancelling
    uint64_t seed
    uint32_t n_vus
    uint32_t first_vu_id         # VU i's id is first_vu_id + i * vu_id_step
    uint32_t vu_id_step
    uint32_t iterations          # per VU, or Z6_ITER_UNLIMITED (the schedule bounds it)
    const uint64_t* spawn_tick   # n_vus entries, non-decreasing
    const uint64_t* stop_ns      # n_vus entries, each at least one tick after its spawn
    Py_ssize_t n_requests
    const uint64_t* cum_weights  # n_requests, non-decreasing, positive total
    const uint64_t* timeout_ns   # n_requests, positive
    uint16_t n_steps             # 0: no sequence, requests picked by weight
    const uint16_t* step_request
    const uint32_t* step_repeat  # each >= 1
    # [lifecycle]: requests each VU issues once, before its first iteration
    # (on_start) and once its schedule or its iterations end (on_stop)
    uint16_t n_on_start
    const uint16_t* on_start
    uint16_t n_on_stop
    const uint16_t* on_stop
    # response checks (z6.plan._checks): request r's are [check_first[r], check_first[r + 1]);
    # check_first is NULL when the plan has none
    const uint32_t* check_first
    const uint8_t* check_kind
    const uint32_t* check_a
    const uint32_t* check_b
    const uint32_t* check_c
    const uint8_t* check_pool
    const uint8_t* req_capture       # per request: 0 nothing, 1 the head, 2 head and body
    const uint32_t* req_capture_max  # per request: body bytes kept at most
    const void* check_regex          # compiled regexes, one slot per check (z6_check.h), or NULL
    double check_fail_rate           # simulated: the share of body, header and JSON checks failing
    int think_kind
    double think_a, think_b
    # --- the simulated target (simulated engine only) ---
    int profile
    int latency_kind
    double latency_a, latency_b
    double error_rate
    Py_ssize_t n_status
    const uint16_t* status_codes
    const uint64_t* status_cum
    Py_ssize_t capacity          # 0: unlimited
    # the seed-compatibility profile: f32 weights, fixed timings
    const float* original_weights
    float original_total
    uint64_t original_think_ns, original_latency_ns
    # the last tick the original engine's run() processes (duration + 1000);
    # UINT64_MAX (no limit) in the default profile
    uint64_t original_last_tick


cdef class PlanArrays:
    """A checked plan: the flat `plan_t` and the arrays its pointers point into."""
    cdef plan_t p
    cdef list _keep
    # data files read with pick = "unique" (templates): the fewest rows among
    # them and the run's VU count cap each VU's iterations (0: no such file)
    cdef uint64_t unique_rows, unique_vus
    # the regex extractions' compiled patterns (plan_t.check_regex), freed with the PlanArrays
    cdef void* _regex
    cdef object _regex_slots
    cdef object _array(self, obj, dtype, str name)
    cdef _load_model(self, plan)
    cdef _load_checks(self, plan)
    cdef _compile_regexes(self, kind, a, b, pool)
    cdef object vu_table(self)


# fill()'s argument check, for both engines: `out` as a C pointer.
cdef event_t* checked_out(object out) except NULL
