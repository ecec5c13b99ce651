# cython: language_level=3
"""Fixed C layouts shared by the core: the 32-byte event record, the 64-byte VU
record, the lifecycle states, event kinds and error codes, the core's sentinels,
and the debug build's invariant check (`z6_debug.h`).

Declarations only (numpy.random's .pxd habit). The numpy dtypes are read off
these structs in `_plan.pyx`, never written twice.
"""

from libc.stdint cimport uint8_t, uint16_t, uint32_t, uint64_t

# Z6_CHECK(cond, what): aborts naming `what` when `cond` is false, in the debug
# build (Z6_DEBUG=1) only; nothing in the release build.
cdef extern from "z6_debug.h" nogil:
    void Z6_CHECK(bint cond, const char* what)
    const int Z6_DEBUG_BUILD

# Sentinels and limits, as C literals (one name each, used by every module).
cdef extern from *:
    """
    /* "no index": an empty list head, a VU in no heap, no block. */
    #define Z6_NIL 0xFFFFFFFFu
    /* iter_left of a VU bounded by its schedule alone (z6core.ITER_UNLIMITED). */
    #define Z6_ITER_UNLIMITED 0xFFFFFFFFu
    /* The clock's horizon: schedule ends and the grace period stay below 2**62 ns
       (about 146 years), so a clock never wraps: every later time is at most an
       end plus a grace plus one 2**53 ns draw. */
    #define Z6_CLOCK_LIMIT_NS 0x4000000000000000ULL
    """
    const uint32_t Z6_NIL
    const uint32_t Z6_ITER_UNLIMITED
    const uint64_t Z6_CLOCK_LIMIT_NS

cdef enum:
    # [lifecycle]: at most this many on_start and on_stop requests each.
    MAX_LIFECYCLE = 64
    # Response checks per request (a step emits at most this many check_failed events).
    MAX_CHECKS = 32
    # vu_t.step of a VU issuing its on_stop requests (its step_rep counts them);
    # a sequence has fewer than 0xFFFF steps, so no step is ever this.
    VU_EPILOGUE = 0xFFFF

# One event. Field order gives natural alignment and exactly 32 bytes, so the C
# struct and the numpy dtype agree byte for byte (little-endian on every platform
# we build wheels for; a test checks itemsize and offsets).
ctypedef struct event_t:
    uint64_t tick        # logical time
    uint64_t value_ns    # latency for response/error/timeout/cancel events, else 0
    uint32_t vu_id       # 1-based
    uint16_t kind        # event_kind_t
    uint16_t request     # request index, NO_REQUEST when none
    uint16_t status      # HTTP status (live) or modelled status (simulate), 0 when none
    uint16_t error       # error_code_t, 0 when none
    uint32_t seq         # per-VU request sequence number

# One virtual user: 64 bytes, one cache line, all VUs in one contiguous array.
ctypedef struct vu_t:
    uint64_t rng         # this VU's xorshift64* state (its own stream)
    uint64_t due_ns      # simulated-clock time of this VU's next action
    uint64_t issue_ns    # when the request in flight was issued
    uint64_t spawn_tick  # tick at which the schedule starts this VU
    uint64_t stop_ns     # schedule end: no request is issued at or after it
    uint32_t vu_id
    uint32_t seq         # sequence number of the next (or in-flight) request
    uint32_t iter_left   # iterations still to run; Z6_ITER_UNLIMITED for a duration run
    uint32_t step_rep    # repeats done of the current sequence step
    uint16_t step        # current sequence step
    uint16_t request     # request in flight (or last issued)
    uint16_t status      # modelled status of the request in flight
    uint8_t state        # vu_state_t, or VU_UNSPAWNED before its spawn tick
    uint8_t outcome      # event kind of the pending outcome (response/error/timeout/cancel)

# Legal transitions (`_lifecycle.pxd` `vu_set_state` checks them in the debug
# build): unspawned -> spawned -> ready; ready -> executing (issued) or complete;
# executing -> waiting (request written); executing or waiting -> ready (outcome,
# then think) or complete (outcome, then done); waiting -> executing (a live
# request resent once on a fresh connection).
cdef enum vu_state_t:
    VU_SPAWNED = 0
    VU_READY = 1
    VU_EXECUTING = 2
    VU_WAITING = 3
    VU_COMPLETE = 4
    VU_UNSPAWNED = 255   # internal: not yet reached its spawn tick (never in events)

cdef enum event_kind_t:
    EV_VU_SPAWNED = 0
    EV_VU_READY = 1
    EV_VU_COMPLETE = 2
    EV_REQUEST_ISSUED = 3
    EV_REQUEST_TIMEOUT = 4
    EV_REQUEST_CANCELLED = 5
    EV_RESPONSE_RECEIVED = 6
    EV_RESPONSE_ERROR = 7
    EV_CONN_ESTABLISHED = 8
    EV_CONN_CLOSED = 9
    EV_CONN_ERROR = 10
    EV_SCHEDULER_TICK = 11
    EV_ASSERTION_PASSED = 12
    EV_ASSERTION_FAILED = 13
    EV_ERROR_DNS = 14
    EV_ERROR_TCP = 15
    EV_ERROR_TLS = 16
    EV_ERROR_HTTP = 17
    EV_ERROR_TIMEOUT = 18
    EV_ERROR_PROTOCOL_VIOLATION = 19
    EV_ERROR_RESOURCE_EXHAUSTED = 20
    # An open-model arrival that found every VU busy with the pool at max_vus:
    # vu_id 0 (no VU), seq = the arrival's index. Not a request, not an outcome.
    EV_ITERATION_DROPPED = 21
    # A response check that failed (one event per failed check, before the
    # request's outcome): request = the request, status = the check's index
    # among the request's checks, error = the check's class (ERR_CHECK_*).
    # Not an outcome: the outcome that follows is error_http with the first
    # failed check's class and the response's HTTP status.
    EV_CHECK_FAILED = 22
    # A redirect chain that ended in a response (docs/scenario.md "Redirects"):
    # after that response's outcome, value_ns = the whole chain's latency (first
    # byte of its first request written to the last byte of its last response),
    # request and seq = the logical request's, status = the last response's.
    # Not a request, not an outcome: its hops are (their request_issued carries
    # the hop's number, 1 on, in status).
    EV_REDIRECT_CHAIN = 23

cdef enum error_code_t:
    ERR_NONE = 0
    ERR_DNS = 1
    ERR_CONNECT_REFUSED = 2
    ERR_CONNECT_TIMEOUT = 3
    ERR_CONN_RESET = 4
    ERR_CONN_CLOSED = 5
    ERR_TIMEOUT = 6
    ERR_PROTOCOL = 7
    ERR_RESOURCE_EXHAUSTED = 8
    ERR_TLS = 9
    ERR_CANCELLED = 10
    ERR_SIMULATED = 11
    # TLS sub-codes (appended; ERR_TLS stays "any other TLS failure"). The
    # numbers are z6_tls.h's Z6_TLS_E_* too.
    ERR_TLS_SELF_SIGNED = 12      # verification failed: self-signed certificate
    ERR_TLS_UNKNOWN_CA = 13       # verification failed: issuer unknown / not trusted
    ERR_TLS_HOSTNAME = 14         # verification failed: the certificate is not for this host
    ERR_TLS_EXPIRED = 15          # verification failed: expired or not yet valid
    ERR_TLS_CERT_INVALID = 16     # verification failed: any other reason
    ERR_TLS_HANDSHAKE = 17        # handshake failure, or an alert from the server
    ERR_TLS_VERSION = 18          # no TLS version both sides accept
    ERR_TLS_NOT_TLS = 19          # an https:// target that does not answer in TLS
    ERR_TLS_ON_PLAIN_PORT = 20    # an http:// target that answers in TLS
    ERR_HEADER_VALUE = 21         # a templated header value held CR, LF or NUL: the request was not sent
    ERR_ON_START_FAILED = 22      # on a vu_complete: one of the VU's [lifecycle] on_start requests failed
    # Response checks (docs/scenario.md "checks"), by class:
    ERR_CHECK_STATUS = 23         # the status is not one of `status`
    ERR_CHECK_BODY_CONTAINS = 24  # the body lacks `body_contains`
    ERR_CHECK_BODY_NOT_CONTAINS = 25  # the body holds `body_not_contains`
    ERR_CHECK_HEADER = 26         # no such header with that value
    ERR_CHECK_JSON = 27           # the JSON value at the path is missing, malformed or unequal
    ERR_CHECK_TRUNCATED = 28      # a body or JSON check failed on a body cut at max_capture_bytes
    # Extracted variables (docs/scenario.md "Extraction"): an extraction is judged
    # as a check (these are check classes); an unset variable fails a request unsent.
    ERR_EXTRACT_JSON = 29         # no JSON value at the path
    ERR_EXTRACT_HEADER = 30       # no such header
    ERR_EXTRACT_REGEX = 31        # the regex did not match (or its group took no part)
    ERR_VAR_TOO_LONG = 32         # the value found is longer than the variable's max_bytes
    ERR_VAR_UNSET = 33            # a template reads a variable with no value and no default: the request was not sent
    # On a response_received only: its status, 400 or above, is one its request's
    # `status` check lists, so the response is a success (docs/scenario.md "Checks").
    ERR_STATUS_LISTED = 34
    # Redirects (docs/scenario.md "Redirects"), on an error_http with the 3xx status:
    ERR_REDIRECT_OFFSITE = 35     # the Location is another origin (scheme, host or port): not followed
    ERR_REDIRECT_LIMIT = 36       # one more redirect than [target] follow_redirects allows
    ERR_REDIRECT_LOCATION = 37    # the Location is not a URL a request can go to

cdef enum:
    NO_REQUEST = 0xFFFF
