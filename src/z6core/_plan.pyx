# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True
"""The plan loader both engines use, and their shared Python boundary.

`PlanArrays(plan, simulated=...)` reads a compiled plan (`z6.plan.Plan`), checks
every rule the core relies on (a broken rule is a ValueError naming the field;
the messages are the same whichever engine asked), keeps the numpy arrays alive
and fills a flat `plan_t` (see `_plan.pxd`). ``simulated=True`` also reads and
checks the modelled target (profile, latency, error rate, status codes,
capacity, the seed profile's f32 weights), which only `Engine` runs.

`PlanArrays.vu_table()` builds the VU table the same way for both engines, and
`checked_out(out)` is `fill()`'s argument check for both. The event and VU
dtypes are read off the C structs here, never typed twice.
"""

from libc.stdint cimport uint16_t, uint32_t, uint64_t
from libc.stdlib cimport free

import numpy as np

from z6core._arrays cimport cnp_data
from z6core._defs cimport *
from z6core._draw cimport DIST_CONSTANT, DIST_EXPONENTIAL, DIST_LOGNORMAL
from z6core._prng cimport Z6_U64_MAX, vu_stream_state

cdef extern from "z6_check.h" nogil:
    enum:
        Z6_CHECK_EXTRACT_JSON
        Z6_CHECK_EXTRACT_REGEX
        Z6_CHECK_KINDS
    void* z6_regex_alloc(size_t n)
    int z6_regex_compile(void* res, size_t k, const char* pattern, char* err, size_t err_len, size_t* groups)
    void z6_regex_free_slot(void* res, size_t k)

__all__ = ["PlanArrays", "vu_id_stride", "unique_iterations", "posix_regex_groups", "EVENT_DTYPE", "VU_DTYPE", "ITER_UNLIMITED", "CLOCK_LIMIT_NS",
           "PROFILE_DEFAULT", "PROFILE_ORIGINAL", "DEBUG_BUILD"]

PROFILE_DEFAULT = PROF_DEFAULT
PROFILE_ORIGINAL = PROF_ORIGINAL
ITER_UNLIMITED = Z6_ITER_UNLIMITED
CLOCK_LIMIT_NS = Z6_CLOCK_LIMIT_NS
DEBUG_BUILD = bool(Z6_DEBUG_BUILD)

# The numpy dtypes are read off the C structs, never typed twice.
cdef event_t _event_probe
cdef vu_t _vu_probe
EVENT_DTYPE = np.asarray(<event_t[:1]>&_event_probe).dtype
VU_DTYPE = np.asarray(<vu_t[:1]>&_vu_probe).dtype


def vu_id_stride(plan):
    """The plan's VU id step: 1 for a whole plan, N for a shard holding every
    N-th VU (`Plan.shard`). Plans without the attribute have step 1."""
    step = int(getattr(plan, "vu_id_step", 1))
    if not 1 <= step <= 0xFFFFFFFF:
        raise ValueError(f"plan.vu_id_step must be between 1 and 2**32-1, got {step}")
    return step


cdef inline uint64_t _unique_cap(uint64_t rows, uint64_t vus, uint64_t vu_id) noexcept nogil:
    # VU i takes rows (i - 1) + k * vus for k = 0, 1, ...: those below `rows`.
    if vu_id - 1 >= rows:
        return 0
    return (rows - (vu_id - 1) + vus - 1) // vus


def unique_iterations(rows, vus, vu_id):
    """Iterations VU ``vu_id`` of a ``vus``-VU run gets from a ``rows``-row data
    file read with pick = "unique": k = 0, 1, ... while (vu_id - 1) + k * vus < rows."""
    if rows < 1 or vus < 1 or vu_id < 1:
        raise ValueError(f"rows, vus and vu_id must be >= 1, got {rows}, {vus}, {vu_id}")
    return _unique_cap(rows, vus, vu_id)


def posix_regex_groups(pattern):
    """How many groups ``pattern`` (str or bytes; POSIX extended syntax, as the
    C library compiles it for a regex extraction) has; ValueError with the C
    library's message when it does not compile."""
    cdef char err[256]
    cdef size_t groups = 0
    cdef void* slot
    raw = pattern.encode("utf-8") if isinstance(pattern, str) else bytes(pattern)
    if b"\0" in raw:
        raise ValueError("a regex must not hold NUL")
    slot = z6_regex_alloc(1)
    if slot == NULL:
        raise MemoryError()
    try:
        if z6_regex_compile(slot, 0, raw + b"\0", err, sizeof(err), &groups) != 0:
            raise ValueError(err.decode("utf-8", "replace"))
        z6_regex_free_slot(slot, 0)
    finally:
        free(slot)
    return int(groups)


cdef class PlanArrays:
    """Check a plan and hold it as C data: ``PlanArrays(plan, simulated=False)``.

    Rules for every engine: ``vu_id_step`` in [1, 2**32 - 1]; ``tick_ns >= 1``;
    ``graceful_ns`` and every ``stop_ns`` at most ``CLOCK_LIMIT_NS``; one spawn
    tick and one stop time per VU, 1 to 2**32 - 2 VUs, spawn ticks
    non-decreasing, each stop at least one tick after its VU's spawn tick; VU ids
    within 32 bits (``first_vu_id >= 1``); ``cum_weights`` non-decreasing with a
    positive total, 1 to 65534 requests; one positive ``timeout_ns`` per request;
    sequence steps naming existing requests, each repeated at least once, fewer
    than 65535 of them; a think-time kind of constant, uniform or exponential;
    ``iterations`` in [0, 2**32 - 2]; every array one-dimensional.

    With ``simulated=True`` also: ``profile`` default or seed; a known latency
    kind; ``error_rate`` in [0, 1]; status codes and cumulative weights, equal in
    length, positive total; ``capacity >= 0``; the seed profile's one f32 weight
    per request.
    """

    def __init__(self, plan, *, bint simulated):
        cdef Py_ssize_t n
        self._keep = []
        # A shard of a plan holds every step-th VU (z6.distributed): ids first, first+step, ...
        self.p.vu_id_step = vu_id_stride(plan)
        self.p.first_vu_id = int(plan.first_vu_id)
        self.p.seed = int(plan.seed)
        self.p.tick_ns = int(plan.tick_ns)
        if self.p.tick_ns < 1:
            raise ValueError(f"plan.tick_ns must be >= 1, got {self.p.tick_ns}")
        self.p.tick_magic = Z6_U64_MAX // self.p.tick_ns
        self.p.graceful_ns = int(plan.graceful_ns)
        if self.p.graceful_ns > Z6_CLOCK_LIMIT_NS:
            raise ValueError(f"plan.graceful_ns must be at most {Z6_CLOCK_LIMIT_NS}, got {self.p.graceful_ns}")

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
        if np.any(stop_ns < (spawn_tick + 1) * self.p.tick_ns):
            raise ValueError("plan.stop_ns must be at least one tick after each VU's spawn tick")
        if (self.p.first_vu_id < 1
                or <uint64_t>self.p.first_vu_id + (<uint64_t>n - 1) * self.p.vu_id_step > 0xFFFFFFFF):
            raise ValueError(f"plan.first_vu_id out of range: {self.p.first_vu_id}")
        self.p.n_vus = <uint32_t>n
        self.p.spawn_tick = <const uint64_t*>cnp_data(spawn_tick)
        self.p.stop_ns = <const uint64_t*>cnp_data(stop_ns)

        cum = self._array(plan.cum_weights, np.uint64, "cum_weights")
        self.p.n_requests = cum.shape[0]
        if self.p.n_requests < 1 or self.p.n_requests >= NO_REQUEST:
            raise ValueError(f"plan must have between 1 and {NO_REQUEST - 1} requests, got {self.p.n_requests}")
        if cum[self.p.n_requests - 1] == 0 or np.any(np.diff(cum.astype(np.int64)) < 0):
            raise ValueError("plan.cum_weights must be non-decreasing with a positive total")
        self.p.cum_weights = <const uint64_t*>cnp_data(cum)
        timeouts = self._array(plan.timeout_ns, np.uint64, "timeout_ns")
        if timeouts.shape[0] != self.p.n_requests or np.any(timeouts == 0):
            raise ValueError("plan.timeout_ns must hold one positive timeout per request")
        self.p.timeout_ns = <const uint64_t*>cnp_data(timeouts)

        step_request = self._array(plan.step_request, np.uint16, "step_request")
        step_repeat = self._array(plan.step_repeat, np.uint32, "step_repeat")
        if step_request.shape[0] != step_repeat.shape[0] or step_request.shape[0] >= 0xFFFF:
            raise ValueError("plan.step_request and plan.step_repeat must have the same length (< 65535)")
        if np.any(step_request >= self.p.n_requests) or np.any(step_repeat == 0):
            raise ValueError("plan sequence steps must name existing requests and repeat at least once")
        self.p.n_steps = <uint16_t>step_request.shape[0]
        self.p.step_request = <const uint16_t*>cnp_data(step_request)
        self.p.step_repeat = <const uint32_t*>cnp_data(step_repeat)

        # [lifecycle]: optional (plans built before it have neither list).
        on_start = self._array(getattr(plan, "on_start", ()), np.uint16, "on_start")
        on_stop = self._array(getattr(plan, "on_stop", ()), np.uint16, "on_stop")
        for name, arr in (("on_start", on_start), ("on_stop", on_stop)):
            if arr.shape[0] > MAX_LIFECYCLE or np.any(arr >= self.p.n_requests):
                raise ValueError(f"plan.{name} must name at most {MAX_LIFECYCLE} existing requests")
        if (on_start.shape[0] or on_stop.shape[0]) and int(getattr(plan, "profile", PROF_DEFAULT)) != PROF_DEFAULT:
            raise ValueError("plan.on_start and plan.on_stop apply to the default profile only")
        self.p.n_on_start = <uint16_t>on_start.shape[0]
        self.p.on_start = <const uint16_t*>cnp_data(on_start)
        self.p.n_on_stop = <uint16_t>on_stop.shape[0]
        self.p.on_stop = <const uint16_t*>cnp_data(on_stop)
        self._load_checks(plan)

        _read_distribution(plan.think, DIST_EXPONENTIAL,
                           "plan.think: kind must be constant, uniform or exponential, got {}",
                           &self.p.think_kind, &self.p.think_a, &self.p.think_b)

        if simulated:
            self._load_model(plan)

        if not 0 <= int(plan.iterations) < Z6_ITER_UNLIMITED:
            raise ValueError(f"plan.iterations must be between 0 and {Z6_ITER_UNLIMITED - 1}, got {plan.iterations}")
        self.p.iterations = int(plan.iterations) if plan.iterations else Z6_ITER_UNLIMITED
        self.unique_rows = int(getattr(plan, "unique_rows", 0) or 0)
        self.unique_vus = int(getattr(plan, "unique_vus", 0) or 0)
        if self.unique_rows and not 1 <= self.unique_vus < Z6_NIL:
            raise ValueError(f"plan.unique_vus must be the run's VU count (>= 1), got {self.unique_vus}")

    cdef _load_model(self, plan):
        # The simulated target: only the simulated engine runs it.
        cdef Py_ssize_t i
        self.p.profile = int(plan.profile)
        if self.p.profile not in (PROFILE_DEFAULT, PROFILE_ORIGINAL):
            raise ValueError(f"plan.profile must be {PROFILE_DEFAULT} or {PROFILE_ORIGINAL}, got {self.p.profile}")
        _read_distribution(plan.latency, DIST_LOGNORMAL, "plan.latency: unknown distribution kind {}",
                           &self.p.latency_kind, &self.p.latency_a, &self.p.latency_b)
        self.p.error_rate = float(plan.error_rate)
        if not (0.0 <= self.p.error_rate <= 1.0):
            raise ValueError(f"plan.error_rate must be within [0, 1], got {self.p.error_rate}")
        codes = self._array(plan.status_codes, np.uint16, "status_codes")
        status_cum = self._array(plan.status_cum, np.uint64, "status_cum")
        if codes.shape[0] < 1 or codes.shape[0] != status_cum.shape[0] or status_cum[status_cum.shape[0] - 1] == 0:
            raise ValueError("plan.status_codes and plan.status_cum must be non-empty, equal in length, positive total")
        self.p.n_status = codes.shape[0]
        self.p.status_codes = <const uint16_t*>cnp_data(codes)
        self.p.status_cum = <const uint64_t*>cnp_data(status_cum)
        self.p.capacity = int(plan.capacity or 0)
        if self.p.capacity < 0:
            raise ValueError(f"plan.capacity must be >= 0 (0: unlimited), got {self.p.capacity}")
        original_weights = self._array(plan.original_weights_f32, np.float32, "original_weights_f32")
        self.p.original_last_tick = 0xFFFFFFFFFFFFFFFF
        if self.p.profile == PROF_ORIGINAL:
            last_tick = int(getattr(plan, "original_last_tick", 0) or 0)
            if last_tick < 0:
                raise ValueError(f"plan.original_last_tick must be >= 0 (0: no limit), got {last_tick}")
            if last_tick:
                self.p.original_last_tick = last_tick
            if original_weights.shape[0] != self.p.n_requests:
                raise ValueError("the seed profile needs one f32 weight per request")
            self.p.original_weights = <const float*>cnp_data(original_weights)
            self.p.original_total = 0.0
            for i in range(self.p.n_requests):
                self.p.original_total = self.p.original_total + self.p.original_weights[i]
            self.p.original_think_ns = int(plan.original_think_ticks) * self.p.tick_ns
            self.p.original_latency_ns = int(plan.original_latency_ticks) * self.p.tick_ns

    cdef _load_checks(self, plan):
        # Response checks: optional (plans built before them have none).
        checks = getattr(plan, "checks", None)
        rate = float(getattr(plan, "check_fail_rate", 0.0) or 0.0)
        if not 0.0 <= rate <= 1.0:
            raise ValueError(f"plan.check_fail_rate must be between 0 and 1, got {rate}")
        self.p.check_fail_rate = rate
        self.p.check_first = NULL
        if checks is None:
            return
        first = self._array(checks.first, np.uint32, "checks.first")
        kind = self._array(checks.kind, np.uint8, "checks.kind")
        a = self._array(checks.a, np.uint32, "checks.a")
        b = self._array(checks.b, np.uint32, "checks.b")
        c = self._array(checks.c, np.uint32, "checks.c")
        pool = self._array(checks.pool, np.uint8, "checks.pool")
        capture = self._array(checks.capture, np.uint8, "checks.capture")
        capture_max = self._array(checks.capture_max, np.uint32, "checks.capture_max")
        n = kind.shape[0]
        if (first.shape[0] != self.p.n_requests + 1 or first[0] != 0 or first[self.p.n_requests] != n
                or np.any(np.diff(first.astype(np.int64)) < 0) or np.any(np.diff(first.astype(np.int64)) > MAX_CHECKS)):
            raise ValueError(f"plan.checks.first must hold n_requests + 1 non-decreasing offsets from 0 to the "
                             f"check count, at most {MAX_CHECKS} checks a request")
        if a.shape[0] != n or b.shape[0] != n or c.shape[0] != n or np.any(kind >= Z6_CHECK_KINDS):
            raise ValueError(f"plan.checks: kind, a, b and c need one entry per check, kinds 0 to {Z6_CHECK_KINDS - 1}")
        extract = kind >= Z6_CHECK_EXTRACT_JSON
        # an extraction's c is its variable; its argument is followed by u32 max_bytes and u32 group
        ends = a.astype(np.int64) + np.where(kind == 0, 2 * b.astype(np.int64),
                                             b.astype(np.int64) + np.where(extract, 8, c.astype(np.int64)))
        if n and ends.max() > pool.shape[0]:
            raise ValueError("plan.checks: a check's bytes reach past the pool")
        self._compile_regexes(kind, a, b, pool)
        if capture.shape[0] != self.p.n_requests or capture_max.shape[0] != self.p.n_requests or np.any(capture > 2):
            raise ValueError("plan.checks: capture (0 to 2) and capture_max need one entry per request")
        self.p.check_first = <const uint32_t*>cnp_data(first)
        self.p.check_kind = <const uint8_t*>cnp_data(kind)
        self.p.check_a = <const uint32_t*>cnp_data(a)
        self.p.check_b = <const uint32_t*>cnp_data(b)
        self.p.check_c = <const uint32_t*>cnp_data(c)
        self.p.check_pool = <const uint8_t*>cnp_data(pool)
        self.p.req_capture = <const uint8_t*>cnp_data(capture)
        self.p.req_capture_max = <const uint32_t*>cnp_data(capture_max)
        self.p.check_regex = self._regex

    cdef _compile_regexes(self, kind, a, b, pool):
        # Each regex extraction's pattern (checked when the scenario was read,
        # `posix_regex_groups`), compiled once for the engines' per-response use.
        cdef char err[256]
        cdef size_t groups
        cdef Py_ssize_t k
        slots = [k for k in range(kind.shape[0]) if kind[k] == Z6_CHECK_EXTRACT_REGEX]
        if not slots:
            return
        self._regex = z6_regex_alloc(kind.shape[0])
        if self._regex == NULL:
            raise MemoryError()
        self._regex_slots = []
        raw = pool.tobytes()
        for k in slots:
            pattern = raw[a[k]:a[k] + b[k]]
            if b"\0" in pattern:
                raise ValueError(f"plan.checks[{k}]: a regex must not hold NUL")
            if z6_regex_compile(self._regex, k, pattern + b"\0", err, sizeof(err), &groups) != 0:
                raise ValueError(f"plan.checks[{k}]: regex {pattern!r}: {err.decode('utf-8', 'replace')}")
            self._regex_slots.append(k)
            group = int.from_bytes(raw[a[k] + b[k] + 4:a[k] + b[k] + 8], "little")
            if group > groups:
                raise ValueError(f"plan.checks[{k}]: regex {pattern!r} has {groups} group(s), not {group}")

    def __dealloc__(self):
        if self._regex != NULL:
            for k in (self._regex_slots or ()):
                z6_regex_free_slot(self._regex, k)
            free(self._regex)
            self._regex = NULL

    cdef object _array(self, obj, dtype, str name):
        arr = np.ascontiguousarray(obj, dtype=dtype)
        if arr.ndim != 1:
            raise ValueError(f"plan.{name} must be one-dimensional, got shape {arr.shape}")
        self._keep.append(arr)
        return arr

    cdef object vu_table(self):
        """A new VU table (numpy, ``VU_DTYPE``): every VU unspawned, due at its
        spawn tick, with its own stream and its iteration budget."""
        cdef Py_ssize_t i
        cdef uint64_t cap
        table = np.zeros(self.p.n_vus, dtype=VU_DTYPE)
        cdef vu_t* vus = <vu_t*>cnp_data(table)
        for i in range(self.p.n_vus):
            vus[i].vu_id = self.p.first_vu_id + <uint32_t>i * self.p.vu_id_step
            vus[i].rng = vu_stream_state(self.p.seed, vus[i].vu_id)
            vus[i].spawn_tick = self.p.spawn_tick[i]
            vus[i].stop_ns = self.p.stop_ns[i]
            vus[i].due_ns = self.p.spawn_tick[i] * self.p.tick_ns
            vus[i].iter_left = self.p.iterations
            if self.unique_rows:
                # a VU that would read past the end of a "unique" data file completes
                cap = _unique_cap(self.unique_rows, self.unique_vus, vus[i].vu_id)
                if cap < vus[i].iter_left:
                    vus[i].iter_left = <uint32_t>cap
            vus[i].request = NO_REQUEST
            vus[i].state = VU_UNSPAWNED
        return table


cdef int _read_distribution(spec, int max_kind, str refusal, int* kind, double* a, double* b) except -1:
    # A (kind, a, b) distribution triple (see _draw.pxd) whose kind is at most max_kind.
    cdef int k
    cdef double x, y
    k, x, y = spec
    if not (DIST_CONSTANT <= k <= max_kind):
        raise ValueError(refusal.format(k))
    kind[0] = k
    a[0] = x
    b[0] = y
    return 0


cdef event_t* checked_out(object out) except NULL:
    """`out` of ``fill(out)``, checked: a C-contiguous, writable, one-dimensional
    ``EVENT_DTYPE`` array of at least ``MIN_CHUNK`` records."""
    if not isinstance(out, np.ndarray) or out.dtype != EVENT_DTYPE or out.ndim != 1:
        raise TypeError(f"out must be a 1-d numpy array of EVENT_DTYPE, got {type(out).__name__}"
                        f" {getattr(out, 'dtype', None)} of shape {getattr(out, 'shape', None)}")
    if not out.flags.c_contiguous or not out.flags.writeable:
        raise ValueError("out must be C-contiguous and writable")
    if out.shape[0] < MIN_CHUNK:
        raise ValueError(f"out must hold at least {MIN_CHUNK} events, got {out.shape[0]}")
    return <event_t*>cnp_data(out)
