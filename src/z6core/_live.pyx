# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True
"""The live HTTP/1.1 driver: the same VU lifecycle as the simulated engine,
with real sockets instead of a modelled server.

One `LiveEngine` runs a compiled plan's VUs against one target address. Each VU
owns at most one keep-alive TCP connection, opened lazily when it first issues a
request and reopened after a close or an error. Requests are pre-serialised once
per request definition; responses are parsed in C (`z6_http.h`) and their bodies
counted and discarded. The loop runs without the GIL: Python sees it once per
chunk or progress interval, never per request.

Time: a tick is ``floor((now - t0) / tick_ns)`` of the monotonic clock, where t0
is the moment the run starts. Latency is measured in nanoseconds from the first
byte of the request written to the last byte of the response read.

Determinism: a VU's requests are drawn from its own stream in a fixed order (the
request pick, then the think time), so each VU's request sequence is the same in
every live run with the same seed (`expected_requests` recomputes it), while the
timings come from the server.

Events are handed out ordered by (tick, vu_id), each VU's in the order they
happened: events of a tick are held back until the clock has left it, then
sorted stably by VU id.

Shared with the simulated engine: the plan loader and its checks
(`_plan.PlanArrays`), the VU table set-up, `fill()`'s buffer check, and the
per-VU steps of `_lifecycle.pxd` (request pick, event record, outcome
accounting, think or complete). The debug build (Z6_DEBUG=1) compiles in the
invariant checks of `z6_debug.h` here too.

Lifecycle states: a VU is executing from the issue until its request is fully
written (connecting, then writing), then waiting for the outcome; a request
resent once on a fresh connection makes it executing again. Stops, timeouts,
cancels and failures treat executing and waiting alike (a request in flight).
"""

cimport cython
from libc.errno cimport EAGAIN, EPIPE
from libc.stdint cimport int32_t, int64_t, uint8_t, uint16_t, uint32_t, uint64_t
from libc.stdlib cimport calloc, free, malloc, realloc
from libc.string cimport memcpy, memmove, memset

import numpy as np

from z6core._arrays cimport cnp_data
from z6core._defs cimport *
from z6core._draw cimport draw_ns
from z6core._http cimport (Z6_HTTP_DONE, Z6_HTTP_ERR_CLOSED, Z6_HTTP_ERR_LIMIT, Z6_HTTP_ERR_PROTOCOL,
                           Z6_HTTP_MORE, z6_http_chunked, z6_http_eof, z6_http_feed,
                           z6_http_reset, z6_http_resp_t)
from z6core._lifecycle cimport (VU_CARRIES_ON, VU_DONE_FAILED, count_outcome, sat_add, vu_after_outcome,
                                vu_done_before_issue, vu_in_flight, vu_next_request, vu_set_state, vu_template_seq,
                                write_event)
from z6core._cookie cimport (z6_cookie_head_end, z6_cookie_request_path, z6_cookie_unix_now, z6_jar_clear,
                             z6_jar_from_head, z6_jar_header, z6_jar_t)
from z6core._checks cimport (CAPTURE_BODY, CAPTURE_HEAD, CAPTURE_NONE, checks_live, has_checks, status_listed,
                             z6_check_header_value, z6_check_split)
from z6core._outcomes cimport is_failed_outcome
from z6core._redirect cimport (Z6_REDIR_BAD, Z6_REDIR_OFFSITE, z6_redirect_is_status, z6_redirect_method_len,
                               z6_redirect_request, z6_redirect_resolve, z6_redirect_to_get)
from z6core._arrivals cimport (Z6_NO_ARRIVAL, arrival_next_own, arrival_schedule_t,
                               arrival_state_t, arrivals_advance, arrivals_start)
from z6core._open cimport ArrivalArrays
from z6core._plan cimport PlanArrays, checked_out, plan_t
from z6core._pool cimport pool_pop, pool_push
from z6core._prng cimport vu_stream_state
from z6core._template cimport (Z6_RENDER_UNSET, TemplateTables, tmpl_run_free, tmpl_run_init, tmpl_run_t,
                               z6_tmpl_render, z6_tmpl_reserve, z6_tmpl_vars_clear)

__all__ = ["LiveEngine", "expected_requests", "POLLER", "OPENSSL_VERSION", "PROGRESS_INTERVAL_NS"]

cdef extern from "z6_net.h" nogil:
    """
    #define Z6_LIVE_NO_TIME 0xFFFFFFFFFFFFFFFFULL
    """
    const char* Z6_POLLER_KIND
    const uint32_t Z6_READABLE
    const uint32_t Z6_WRITABLE
    const uint32_t Z6_HANGUP
    const uint64_t Z6_LIVE_NO_TIME
    ctypedef struct z6_ready_t:
        uint32_t token
        uint32_t flags
    ctypedef struct z6_poller_t:
        pass
    uint64_t z6_mono_ns()
    int z6_tcp_connect(const void* addr, uint32_t addr_len)
    int z6_socket_error(int fd)
    int z6_errno()
    int z6_would_block(int err)
    int z6_is_reset(int err)
    int z6_is_refused(int err)
    int z6_is_fd_exhaustion(int err)
    int z6_is_unreachable(int err)
    int z6_is_timed_out(int err)
    int z6_idle_connection_dead(int fd)
    long z6_send(int fd, const char* buf, size_t n)
    long z6_recv(int fd, char* buf, size_t n)
    void z6_close(int fd)
    uint32_t z6_make_sockaddr(void* out, int family, const unsigned char* addr, uint16_t port)
    int z6_poller_init(z6_poller_t* p, int max_fds, int batch)
    void z6_poller_free(z6_poller_t* p)
    int z6_poller_add(z6_poller_t* p, int fd, uint32_t token, int want_write)
    int z6_poller_mod(z6_poller_t* p, int fd, uint32_t token, int want_write)
    int z6_poller_del(z6_poller_t* p, int fd)
    int z6_poller_wait(z6_poller_t* p, z6_ready_t* out, uint64_t timeout_ns)

cdef extern from "z6_tls.h" nogil:
    ctypedef struct SSL:
        pass
    ctypedef struct z6_tls_t:
        pass
    enum:
        Z6_TLS_DONE
        Z6_TLS_WANT_READ
        Z6_TLS_WANT_WRITE
        Z6_TLS_EOF
        Z6_TLS_SYSCALL
        Z6_TLS_FAILED
    z6_tls_t* z6_tls_new(const char* host, int verify, const char* ca_file, const char* client_cert,
                         const char* client_key, int min_version, int resume, uint32_t n_vus,
                         char* err, size_t err_len)
    void z6_tls_free(z6_tls_t* t)
    SSL* z6_tls_conn(z6_tls_t* t, int fd, uint32_t idx)
    void z6_tls_conn_free(SSL* s, int clean)
    void z6_tls_forget(z6_tls_t* t, uint32_t idx)
    int z6_tls_resumed(SSL* s)
    int z6_tls_pending(SSL* s)
    int z6_tls_handshake(SSL* s, int* code)
    long z6_tls_read(SSL* s, char* buf, size_t n, int* code)
    long z6_tls_write(SSL* s, const char* buf, size_t n, int* code)

POLLER = Z6_POLLER_KIND.decode()

cdef extern from "openssl/crypto.h" nogil:
    const char* OpenSSL_version(int which)
    const int OPENSSL_VERSION_TEXT_KIND "OPENSSL_VERSION"

# The OpenSSL the core runs with (the loaded library, which may be newer than the
# headers it was built against), for `z6 --version` and bug reports.
OPENSSL_VERSION = OpenSSL_version(OPENSSL_VERSION_TEXT_KIND).decode()
cdef enum:
    # The loop returns to Python at least this often, for progress and Ctrl-C.
    PROGRESS_NS = 250000000
    MAX_READS_PER_WAKE = 16    # one fast body must not hold up every other VU
    IDLE_CHECK_NS = 1000000    # peek at connections idle this long before reusing them

PROGRESS_INTERVAL_NS = PROGRESS_NS

cdef enum:
    READ_BUF = 65536       # one shared receive buffer: bodies are counted, not kept
    POLL_BATCH = 1024
    HOP_TARGET_MAX = 8192  # the longest request target a redirect is followed to
    OFFSITE_KEEP = 512     # bytes kept of the first Location to another origin, for the summary

cdef enum conn_phase_t:
    PH_IDLE = 0            # no request on the connection (or no connection)
    PH_CONNECTING = 1
    PH_WRITING = 2
    PH_READING = 3         # request fully written, response not complete
    PH_HANDSHAKE = 4       # TCP connected, TLS handshake in progress (still connecting)

# conn_established's status field: how the connection was made.
cdef enum:
    CONN_PLAIN = 0
    CONN_TLS_FULL = 1      # a full TLS handshake
    CONN_TLS_RESUMED = 2   # an abbreviated handshake: a resumed session

# Per-VU connection state, beside the VU table (the vu_t layout is shared with
# the simulated engine and fixed at 64 bytes).
ctypedef struct conn_t:
    z6_http_resp_t resp
    uint64_t timer_ns      # the VU's one pending timer, Z6_LIVE_NO_TIME when none
    uint64_t deadline_ns   # request timeout or graceful-stop cancel, while waiting
    uint64_t connect_ns    # when the current connect started
    uint64_t connect_deadline_ns
    uint64_t idle_since_ns # when the connection last finished a response
    uint32_t written       # request bytes written
    uint32_t received      # response bytes read for the request in flight
    uint32_t responses     # responses completed on this connection (> 0: a reused connection)
    SSL* ssl               # the connection's TLS state, NULL for plain HTTP (or no connection)
    int32_t fd             # -1 when there is no connection
    uint8_t phase
    uint8_t want_write     # the poller is watching for writability
    uint8_t deadline_cancels  # the deadline is the graceful-stop cancel, not a timeout
    uint8_t retried        # the request in flight was already resent once on a fresh connection
    uint8_t hops           # redirects followed for the logical request in flight (its hop's number)
    uint8_t hop_get        # a redirect of its chain turned it into a GET
    uint64_t chain_ns      # with hops: when its first request's first byte was written

ctypedef struct timer_t:
    uint64_t ns
    uint32_t idx


@cython.final
cdef class LiveEngine:
    """Run a compiled plan against a real HTTP/1.1 server.

    ``LiveEngine(plan, target)`` takes the plan (`z6.plan.Plan`) and a
    `z6.live.LiveTarget` (address and pre-serialised requests). ``fill(out)``
    writes up to ``len(out)`` events and returns the count; it returns early,
    with a partial chunk, at least every ``PROGRESS_INTERVAL_NS``. The first call
    starts the clock. ``stop()`` begins a graceful stop (as at the schedule's
    end); a second ``stop()`` cancels requests in flight at once.
    """

    cdef list _keep                # the serialised requests
    # the plan, as flat C data (its arrays owned by _plan_arrays); stop() may
    # zero plan.graceful_ns
    cdef PlanArrays _plan_arrays
    cdef plan_t plan
    cdef object _vu_array
    cdef vu_t* vus
    cdef conn_t* conns
    cdef readonly uint32_t n_vus
    cdef uint64_t connect_timeout_ns
    cdef z6_tls_t* tls             # NULL for an http:// target
    cdef readonly bint tls_enabled
    cdef readonly uint64_t tls_resumed
    # requests on the wire
    cdef const char** req_data
    cdef uint32_t* req_len
    cdef uint8_t* req_head
    cdef uint8_t* req_replayable
    # templated requests (docs/templates.md): rendered per send into the VU's
    # own buffer (tmpl.vus[idx].buf), which _write sends instead of req_data
    cdef tmpl_run_t tmpl
    cdef object _templates
    cdef unsigned char addr[128]
    cdef uint32_t addr_len
    # timers: an indexed binary min-heap of (ns, vu index), at most one entry per
    # VU (heap_pos says where), so it never holds more than n_vus entries and a
    # timer is moved or removed in place rather than left behind stale
    cdef timer_t* heap
    cdef uint32_t* heap_pos
    cdef Py_ssize_t heap_n
    cdef uint32_t spawn_cursor
    cdef uint32_t vus_done
    # poller
    cdef z6_poller_t poller
    cdef bint poller_ok
    cdef z6_ready_t* ready
    cdef int ready_cap
    cdef char* rbuf
    # clock
    cdef uint64_t t0
    cdef bint started
    cdef uint64_t now_ns           # relative to t0, the latest reading
    cdef uint64_t stop_at_ns       # Z6_LIVE_NO_TIME until stop() is called
    cdef int stops
    # staged events: emitted in time order, sorted by (tick, vu_id) per tick on the way out
    cdef event_t* stage
    cdef event_t* stage_tmp
    cdef Py_ssize_t stage_n, stage_cap, stage_sorted
    cdef uint64_t last_emit_ns     # events are emitted in time order (checked in the debug build)
    cdef event_t* out
    cdef Py_ssize_t out_n, out_cap
    cdef bint done
    cdef bint out_of_memory
    cdef int fatal_errno
    # counters
    cdef readonly uint64_t events_emitted
    cdef readonly uint64_t requests_issued
    cdef readonly uint64_t responses
    cdef readonly uint64_t failures
    cdef readonly uint64_t connections_opened
    cdef readonly uint64_t bytes_received   # every byte read, headers and bodies (after TLS: HTTP bytes)
    cdef readonly uint64_t bytes_sent       # every byte written, resends included (after TLS: HTTP bytes)
    cdef readonly uint64_t active_vus
    # the open model (an arrival-rate plan; "the open model" below): arrivals
    # from the run-wide stream, served by the lowest free VU of a growing pool
    cdef readonly bint open_model
    cdef ArrivalArrays _arrivals
    cdef arrival_schedule_t sched
    cdef arrival_state_t arrival
    cdef uint64_t next_arrival_ns      # Z6_NO_ARRIVAL when none is left
    cdef uint64_t open_end_ns
    cdef bint open_started, open_end_done
    cdef uint32_t* pool                # idle VUs, lowest index first
    cdef Py_ssize_t pool_n
    cdef vu_t no_vu                    # vu_id 0: the "VU" of an iteration_dropped event
    cdef readonly uint64_t dropped_iterations
    # bytes by request definition (n_requests each): what the run's transfer
    # figures are made of, without growing the 32-byte event record. Bytes read
    # on an idle connection belong to no request: in bytes_received only.
    cdef uint64_t* req_sent
    cdef uint64_t* req_received
    # Response checks: each VU's capture of its response in flight (raw bytes as
    # read: heads, then the body), kept only for requests whose checks need it,
    # grown on demand up to the request's limit (docs/scenario.md "Checks").
    cdef char** cap_buf
    cdef uint32_t* cap_len
    cdef uint32_t* cap_size
    cdef uint8_t* cap_cut
    # Cookies (docs/scenario.md "Cookies"): each VU's jar, filled from the heads
    # of its responses (so every head is captured), and the VU's request with its
    # Cookie line inserted, sent instead of the plain or rendered bytes.
    cdef bint cookies
    cdef z6_jar_t* jars
    cdef char** ck_buf
    cdef uint32_t* ck_len
    cdef uint32_t* ck_cap
    cdef uint32_t* req_head_end      # per pre-serialised request: where a Cookie line goes (0: none goes)
    cdef const char* cookie_host
    cdef size_t cookie_host_len
    # Redirects (docs/scenario.md "Redirects"): a 301/302/303/307/308 to the
    # run's origin is followed by the VU on its own connection, up to `follow`
    # hops per request. A hop's request, written into the VU's hop buffer from
    # the chain's first request, stands in for that request's bytes (`_wire`).
    cdef uint8_t follow
    cdef bint origin_tls
    cdef const char* origin_host
    cdef size_t origin_host_len
    cdef unsigned origin_port
    cdef char** hop_buf
    cdef uint32_t* hop_len
    cdef uint32_t* hop_cap
    cdef char* hop_target          # scratch: the next hop's request target
    cdef char offsite[OFFSITE_KEEP]
    cdef uint32_t offsite_len
    cdef readonly uint64_t redirects_followed
    cdef readonly uint64_t redirects_offsite

    def __cinit__(self):
        self.jars = NULL
        self.ck_buf = NULL
        self.ck_len = NULL
        self.ck_cap = NULL
        self.req_head_end = NULL
        self.hop_buf = NULL
        self.hop_len = NULL
        self.hop_cap = NULL
        self.hop_target = NULL
        self.cap_buf = NULL
        self.cap_len = NULL
        self.cap_size = NULL
        self.cap_cut = NULL
        self.pool = NULL
        self.conns = NULL
        self.req_data = NULL
        self.req_len = NULL
        self.req_head = NULL
        self.req_replayable = NULL
        self.req_sent = NULL
        self.req_received = NULL
        self.heap = NULL
        self.heap_pos = NULL
        self.ready = NULL
        self.rbuf = NULL
        self.stage = NULL
        self.stage_tmp = NULL
        self.poller_ok = False
        self.tls = NULL
        memset(&self.tmpl, 0, sizeof(tmpl_run_t))

    def __init__(self, plan, target):
        cdef Py_ssize_t i, n
        self._keep = []
        self._plan_arrays = PlanArrays(plan, simulated=False)
        self.plan = self._plan_arrays.p
        n = self.plan.n_vus
        self.n_vus = <uint32_t>n
        self.connect_timeout_ns = int(target.connect_timeout_ns)
        if self.connect_timeout_ns < 1:
            raise ValueError("target.connect_timeout_ns must be positive")

        wire = list(target.requests)
        if len(wire) != self.plan.n_requests:
            raise ValueError(f"target has {len(wire)} serialised requests, the plan {self.plan.n_requests}")
        self.req_data = <const char**>malloc(self.plan.n_requests * sizeof(char*))
        self.req_len = <uint32_t*>malloc(self.plan.n_requests * sizeof(uint32_t))
        self.req_head = <uint8_t*>malloc(self.plan.n_requests * sizeof(uint8_t))
        self.req_replayable = <uint8_t*>malloc(self.plan.n_requests * sizeof(uint8_t))
        self.req_sent = <uint64_t*>calloc(self.plan.n_requests, sizeof(uint64_t))
        self.req_received = <uint64_t*>calloc(self.plan.n_requests, sizeof(uint64_t))
        if (self.req_data == NULL or self.req_len == NULL or self.req_head == NULL
                or self.req_replayable == NULL or self.req_sent == NULL or self.req_received == NULL):
            raise MemoryError()
        for i in range(self.plan.n_requests):
            data = bytes(wire[i])
            if not 0 < len(data) < 0xFFFFFFFF:
                raise ValueError(f"serialised request {i} is empty or too large")
            self._keep.append(data)
            self.req_data[i] = <const char*>data
            self.req_len[i] = len(data)
            self.req_head[i] = 1 if target.head[i] else 0
            self.req_replayable[i] = 1 if target.replayable[i] else 0
        addr = bytes(target.address)
        family = int(target.family)
        import socket
        if not ((family == socket.AF_INET and len(addr) == 4) or (family == socket.AF_INET6 and len(addr) == 16)):
            raise ValueError("target.family must be AF_INET with a 4-byte or AF_INET6 with a 16-byte address")
        self.addr_len = z6_make_sockaddr(self.addr, family, <const unsigned char*>addr, int(target.port))

        cdef char tls_err[512]
        if getattr(target, "tls", False):
            host = str(target.server_name).encode("utf-8")
            ca = (target.ca_file or "").encode("utf-8")
            cert = (target.client_cert or "").encode("utf-8")
            key = (target.client_key or "").encode("utf-8")
            minv = {"": 0, "1.2": 12, "1.3": 13}[target.tls_min_version or ""]
            tls_err[0] = 0
            self.tls = z6_tls_new(host, 0 if target.insecure else 1, ca, cert, key, minv,
                                  1 if target.tls_resume else 0, <uint32_t>n, tls_err, sizeof(tls_err))
            if self.tls == NULL:
                raise ValueError(f"z6 live driver: TLS set-up failed: {tls_err.decode('utf-8', 'replace')}")
            self.tls_enabled = True

        self._vu_array = self._plan_arrays.vu_table()
        self.vus = <vu_t*>cnp_data(self._vu_array)
        wire_templates = getattr(target, "templates", None)
        if wire_templates is not None:
            self._templates = TemplateTables(wire_templates, self.plan.n_requests)
            tmpl_run_init(&self.tmpl, self._templates, self.plan.seed, self.plan.first_vu_id, self.plan.vu_id_step,
                          self.n_vus)
        self.conns = <conn_t*>malloc(n * sizeof(conn_t))
        self.heap = <timer_t*>malloc(n * sizeof(timer_t))
        self.heap_pos = <uint32_t*>malloc(n * sizeof(uint32_t))
        if self.conns == NULL or self.heap == NULL or self.heap_pos == NULL:
            raise MemoryError()
        memset(self.conns, 0, n * sizeof(conn_t))
        for i in range(n):
            self.conns[i].fd = -1
            self.conns[i].timer_ns = Z6_LIVE_NO_TIME
            self.heap_pos[i] = Z6_NIL

        self.ready_cap = POLL_BATCH if POLLER == "epoll" else <int>(n + 1)
        self.ready = <z6_ready_t*>malloc(self.ready_cap * sizeof(z6_ready_t))
        self.rbuf = <char*>malloc(READ_BUF)
        self.cookies = bool(getattr(target, "cookies", False))
        if self.cookies:
            host = str(target.cookie_host).lower().encode("ascii")     # base_url's host is ASCII (xn-- form)
            self._keep.append(host)
            self.cookie_host = <const char*>host
            self.cookie_host_len = len(host)
            self.jars = <z6_jar_t*>calloc(n, sizeof(z6_jar_t))
            self.ck_buf = <char**>calloc(n, sizeof(char*))
            self.ck_len = <uint32_t*>calloc(n, sizeof(uint32_t))
            self.ck_cap = <uint32_t*>calloc(n, sizeof(uint32_t))
            self.req_head_end = <uint32_t*>calloc(self.plan.n_requests, sizeof(uint32_t))
            if (self.jars == NULL or self.ck_buf == NULL or self.ck_len == NULL or self.ck_cap == NULL
                    or self.req_head_end == NULL):
                raise MemoryError()
            own = tuple(getattr(target, "own_cookie", ()))
            for i in range(self.plan.n_requests):
                # a request with a Cookie header of its own sends that one alone
                if not (i < len(own) and own[i]):
                    self.req_head_end[i] = <uint32_t>z6_cookie_head_end(self.req_data[i], self.req_len[i])
        self.follow = <uint8_t>min(max(int(getattr(target, "follow_redirects", 0)), 0), 255)
        if self.follow:
            origin = str(target.origin_host).lower().encode("ascii")
            self._keep.append(origin)
            self.origin_host = <const char*>origin
            self.origin_host_len = len(origin)
            self.origin_port = <unsigned>int(target.port)
            self.origin_tls = bool(getattr(target, "tls", False))
            self.hop_buf = <char**>calloc(n, sizeof(char*))
            self.hop_len = <uint32_t*>calloc(n, sizeof(uint32_t))
            self.hop_cap = <uint32_t*>calloc(n, sizeof(uint32_t))
            self.hop_target = <char*>malloc(HOP_TARGET_MAX)
            if self.hop_buf == NULL or self.hop_len == NULL or self.hop_cap == NULL or self.hop_target == NULL:
                raise MemoryError()
        if self.plan.check_first != NULL or self.cookies or self.follow:
            self.cap_buf = <char**>calloc(n, sizeof(char*))
            self.cap_len = <uint32_t*>calloc(n, sizeof(uint32_t))
            self.cap_size = <uint32_t*>calloc(n, sizeof(uint32_t))
            self.cap_cut = <uint8_t*>calloc(n, sizeof(uint8_t))
            if self.cap_buf == NULL or self.cap_len == NULL or self.cap_size == NULL or self.cap_cut == NULL:
                raise MemoryError()
        self.stage_cap = 4096
        self.stage = <event_t*>malloc(self.stage_cap * sizeof(event_t))
        self.stage_tmp = <event_t*>malloc(self.stage_cap * sizeof(event_t))
        if (self.heap == NULL or self.heap_pos == NULL or self.ready == NULL or self.rbuf == NULL or self.stage == NULL
                or self.stage_tmp == NULL):
            raise MemoryError()
        if z6_poller_init(&self.poller, <int>(n + 1), POLL_BATCH) != 0:
            raise OSError("z6 live driver: cannot create the poller")
        self.poller_ok = True
        self.stop_at_ns = Z6_LIVE_NO_TIME
        if getattr(plan, "arrivals", None) is not None:
            self._open_model_init(plan)

    def __dealloc__(self):
        cdef Py_ssize_t i
        if self.conns != NULL:
            for i in range(self.n_vus):
                z6_tls_conn_free(self.conns[i].ssl, 1)
                self.conns[i].ssl = NULL
                if self.conns[i].fd >= 0:
                    z6_close(self.conns[i].fd)
        if self.poller_ok:
            z6_poller_free(&self.poller)
        z6_tls_free(self.tls)
        self.tls = NULL
        tmpl_run_free(&self.tmpl)
        free(self.conns)
        free(self.req_data)
        free(self.req_len)
        free(self.req_head)
        free(self.req_replayable)
        free(self.req_sent)
        free(self.req_received)
        free(self.heap)
        free(self.heap_pos)
        free(self.ready)
        free(self.rbuf)
        if self.cap_buf != NULL:
            for i in range(self.n_vus):
                free(self.cap_buf[i])
        free(self.cap_buf)
        free(self.cap_len)
        free(self.cap_size)
        free(self.cap_cut)
        if self.jars != NULL:
            for i in range(self.n_vus):
                z6_jar_clear(&self.jars[i])
        if self.ck_buf != NULL:
            for i in range(self.n_vus):
                free(self.ck_buf[i])
        free(self.jars)
        free(self.ck_buf)
        free(self.ck_len)
        free(self.ck_cap)
        free(self.req_head_end)
        if self.hop_buf != NULL:
            for i in range(self.n_vus):
                free(self.hop_buf[i])
        free(self.hop_buf)
        free(self.hop_len)
        free(self.hop_cap)
        free(self.hop_target)
        free(self.stage)
        free(self.stage_tmp)
        free(self.pool)

    # ------------------------------------------------------------------ Python API

    def fill(self, out):
        """Write up to ``len(out)`` events into ``out``; return the count."""
        self.out = checked_out(out)
        self.out_cap = out.shape[0]
        self.out_n = 0
        if not self.poller_ok:
            raise ValueError("this LiveEngine was closed")
        if not self.started:
            self.t0 = z6_mono_ns()
            self.started = True
        with nogil:
            self._flush(self.done)
            if self.out_n < self.out_cap and not self.done:
                self._run()
        n = self.out_n
        self.out = NULL
        self.out_cap = 0
        if self.out_of_memory:
            raise MemoryError("z6 live driver: out of memory")
        if self.fatal_errno:
            raise OSError(self.fatal_errno, "z6 live driver: the poller failed")
        return n

    def stop(self):
        """Stop issuing: as if every schedule ended now. A second call cancels
        requests in flight immediately instead of after the graceful stop.

        Call it from the thread that calls ``fill()``, between calls (a signal
        handler does exactly that): the loop owns the VU table while it runs.
        """
        cdef uint32_t i
        cdef uint64_t now
        if not self.started or self.done:
            self.stop_at_ns = 0
            self.stops += 1
            return
        now = z6_mono_ns() - self.t0
        self.stops += 1
        self.stop_at_ns = now
        if self.stops > 1:
            self.plan.graceful_ns = 0
        for i in range(self.n_vus):
            self._stop_vu(i, now)
        if self.open_model:
            self._open_model_stop()

    def close(self):
        """Close every connection and the poller now (also done when the engine
        is freed); the engine cannot run after this."""
        cdef uint32_t i
        if self.conns != NULL:
            for i in range(self.n_vus):
                z6_tls_conn_free(self.conns[i].ssl, 1)
                self.conns[i].ssl = NULL
                if self.conns[i].fd >= 0:
                    z6_close(self.conns[i].fd)
                    self.conns[i].fd = -1
        if self.poller_ok:
            z6_poller_free(&self.poller)
            self.poller_ok = False
        self.done = True

    @property
    def finished(self):
        return self.done and self.stage_n == 0

    @property
    def timers_pending(self):
        """VUs with a timer set (the timer heap's size: never above n_vus)."""
        return self.heap_n

    @property
    def stopping(self):
        return self.stops > 0

    @property
    def tick(self):
        return self.now_ns // self.plan.tick_ns

    @property
    def elapsed_ns(self):
        return self.now_ns

    @property
    def vus(self):
        view = self._vu_array.view()
        view.flags.writeable = False
        return view

    @property
    def request_digests(self):
        """Each VU's digest of its rendered requests (uint64, VU table order;
        `z6core.expected_digests` recomputes it), or None without templates."""
        cdef uint32_t i
        if not self.tmpl.on:
            return None
        out = np.empty(self.n_vus, dtype=np.uint64)
        for i in range(self.n_vus):
            out[i] = self.tmpl.vus[i].digest
        return out

    def transfer(self):
        """Bytes written and read so far, by request definition: a pair of
        uint64 arrays (sent, received), one entry per request, copied.
        Headers and bodies as they went over the connection (HTTP bytes, after
        TLS decryption); a request resent on a fresh connection counts twice."""
        cdef Py_ssize_t i, n = self.plan.n_requests
        sent = np.empty(n, dtype=np.uint64)
        received = np.empty(n, dtype=np.uint64)
        for i in range(n):
            sent[i] = self.req_sent[i]
            received[i] = self.req_received[i]
        return sent, received

    @property
    def offsite_location(self):
        """The first Location to another origin a redirect named (up to 512
        bytes, as text), or None when there was none."""
        if self.offsite_len == 0:
            return None
        return self.offsite[:self.offsite_len].decode("latin-1")

    # ------------------------------------------------------------------ the loop

    cdef inline uint64_t _clock(self) noexcept nogil:
        cdef uint64_t t = z6_mono_ns() - self.t0
        if t > self.now_ns:
            self.now_ns = t
        return self.now_ns

    cdef void _run(self) noexcept nogil:
        cdef uint64_t now, wake, return_at, spawn_ns
        cdef int n, k
        now = self._clock()
        return_at = now + PROGRESS_NS
        while True:
            now = self._clock()
            if self.open_model:
                self._arrivals_due(now)
            else:
                self._spawn_due(now)
            self._fire_timers(now)
            if self.out_of_memory:
                return
            # Over when every spawned VU has completed and no more will spawn
            # (the open model: and the schedule has ended).
            if self.vus_done == self.spawn_cursor and (
                    (self.open_end_done if self.open_model else self.spawn_cursor == self.n_vus)
                    or self.stop_at_ns != Z6_LIVE_NO_TIME):
                self.done = True
                self._flush(True)
                return
            self._flush(self.done)
            if self.out_n >= self.out_cap or now >= return_at:
                return
            wake = return_at
            if self.heap_n and self.heap[0].ns < wake:
                wake = self.heap[0].ns
            if self.open_model:
                wake = self._open_model_wake(wake)
            elif self.spawn_cursor < self.n_vus and self.stop_at_ns == Z6_LIVE_NO_TIME:
                spawn_ns = self.vus[self.spawn_cursor].spawn_tick * self.plan.tick_ns
                if spawn_ns < wake:
                    wake = spawn_ns
            # Never early: a poller counting milliseconds rounds up, and any
            # lateness shows as schedule lag in request_issued events.
            now = self._clock()
            n = z6_poller_wait(&self.poller, self.ready, 0 if wake <= now else wake - now)
            if n < 0:
                self.fatal_errno = z6_errno()
                self.done = True
                return
            for k in range(n):
                self._on_ready(self.ready[k].token, self.ready[k].flags, self._clock())

    cdef void _spawn_due(self, uint64_t now) noexcept nogil:
        cdef vu_t* vu
        cdef uint32_t idx
        while self.spawn_cursor < self.n_vus and self.stop_at_ns == Z6_LIVE_NO_TIME:
            idx = self.spawn_cursor
            vu = &self.vus[idx]
            if vu.spawn_tick * self.plan.tick_ns > now:
                return
            self.spawn_cursor += 1
            self.active_vus += 1
            self._emit(now, 0, vu, EV_VU_SPAWNED, NO_REQUEST, 0, ERR_NONE)
            vu_set_state(vu, VU_SPAWNED)
            # spawned -> ready one tick after the spawn
            vu.due_ns = (vu.spawn_tick + 1) * self.plan.tick_ns
            self._set_timer(idx, vu.due_ns)

    cdef void _fire_timers(self, uint64_t now) noexcept nogil:
        # Only timers due by `now`: a VU rescheduled while firing lands after it,
        # so this always ends. Each VU acts at a fresh clock reading: with many
        # VUs due at once, the loop's own work must show as schedule lag, not as
        # latency.
        cdef uint32_t idx
        while self.heap_n and self.heap[0].ns <= now:
            idx = self.heap[0].idx
            self._heap_remove(0)
            self._on_timer(idx, self._clock())
            if self.out_of_memory:
                return

    cdef void _on_timer(self, uint32_t idx, uint64_t now) noexcept nogil:
        Z6_CHECK(idx < self.n_vus, "timer VU index within the table")
        cdef vu_t* vu = &self.vus[idx]
        cdef conn_t* c = &self.conns[idx]
        if vu.state == VU_SPAWNED:
            self._emit(now, 0, vu, EV_VU_READY, NO_REQUEST, 0, ERR_NONE)
            vu_set_state(vu, VU_READY)
            self._ready(idx, now)
        elif vu.state == VU_READY:
            self._ready(idx, now)
        elif vu_in_flight(vu):
            # Connect timeout (executing only), graceful-stop cancel or request timeout.
            # Still connecting (or in the TLS handshake) when the request's own
            # timeout comes first is a connect timeout too: the server never took
            # the request, and "slow to answer" would hide "not accepting".
            if ((c.phase == PH_CONNECTING or c.phase == PH_HANDSHAKE)
                    and (now >= c.connect_deadline_ns or not c.deadline_cancels)):
                self._fail(idx, now, EV_ERROR_TIMEOUT, ERR_CONNECT_TIMEOUT)
            elif c.deadline_cancels:
                self._fail(idx, now, EV_REQUEST_CANCELLED, ERR_CANCELLED)
            else:
                self._fail(idx, now, EV_REQUEST_TIMEOUT, ERR_TIMEOUT)

    cdef void _stop_vu(self, uint32_t idx, uint64_t now) noexcept nogil:
        cdef vu_t* vu = &self.vus[idx]
        cdef conn_t* c = &self.conns[idx]
        cdef uint64_t cancel_at
        if vu.state == VU_UNSPAWNED or vu.state == VU_COMPLETE:
            return
        if vu.stop_ns > now:
            vu.stop_ns = now
        if vu_in_flight(vu):
            cancel_at = sat_add(now, self.plan.graceful_ns)
            if cancel_at < c.deadline_ns:
                c.deadline_ns = cancel_at
                c.deadline_cancels = 1
                self._arm_request_timer(idx)
        else:
            self._set_timer(idx, now)     # thinking or about to be ready: complete now

    # ------------------------------------------------------------------ the lifecycle

    cdef void _ready(self, uint32_t idx, uint64_t now) noexcept nogil:
        # READY and due: issue the next request, or complete.
        cdef vu_t* vu = &self.vus[idx]
        cdef conn_t* c = &self.conns[idx]
        cdef uint16_t req
        if vu_done_before_issue(vu, &self.plan, now):
            self._complete(idx, now, ERR_NONE)
            return
        req = vu_next_request(vu, &self.plan)
        vu.request = req
        vu.issue_ns = now
        # value_ns of request_issued is the schedule lag: how late the request
        # went out against the moment it was due.
        self._emit(now, now - vu.due_ns if now > vu.due_ns else 0, vu, EV_REQUEST_ISSUED, req, 0, ERR_NONE)
        self.requests_issued += 1
        vu_set_state(vu, VU_EXECUTING)      # until the request is fully written
        vu.status = 0
        c.hops = 0
        c.hop_get = 0
        if self.hop_len != NULL:
            self.hop_len[idx] = 0
        if self.tmpl.on and not self._render(idx, req, now):
            return
        self._send(idx, req, now)

    cdef void _send(self, uint32_t idx, uint16_t req, uint64_t now) noexcept nogil:
        # The request just issued (or a redirect's hop) onto the VU's connection,
        # a new one when there is none: its deadline, a fresh parser and capture,
        # its Cookie line.
        cdef vu_t* vu = &self.vus[idx]
        cdef conn_t* c = &self.conns[idx]
        cdef uint64_t deadline, cancel_at
        deadline = sat_add(now, self.plan.timeout_ns[req])
        cancel_at = sat_add(vu.stop_ns, self.plan.graceful_ns)
        c.deadline_cancels = 0
        if cancel_at < deadline:
            deadline = cancel_at
            c.deadline_cancels = 1
        c.deadline_ns = deadline
        c.written = 0
        c.received = 0
        c.retried = 0
        if self.cap_buf != NULL:
            self.cap_len[idx] = 0
            self.cap_cut[idx] = 0
        z6_http_reset(&c.resp, self.req_head[req])
        if self.cookies and not self._add_cookies(idx, req, now):
            return
        # A server may close an idle keep-alive connection at any moment (its
        # idle timeout); one that has sat idle a while is checked first, so the
        # request is not written into a connection that is already gone.
        if c.fd >= 0 and now - c.idle_since_ns >= IDLE_CHECK_NS and z6_idle_connection_dead(c.fd):
            self._close(idx, now, ERR_NONE, True)
        if c.fd < 0:
            self._connect(idx, now)
        else:
            c.phase = PH_WRITING
            self._arm_request_timer(idx)
            self._write(idx, now)

    cdef bint _render(self, uint32_t idx, uint16_t req, uint64_t now) noexcept nogil:
        # A templated request is rendered now, into the VU's buffer (kept for a
        # resend); False when it failed instead (its outcome is emitted).
        cdef vu_t* vu = &self.vus[idx]
        cdef int64_t n
        self.tmpl.vus[idx].len = 0
        if self.tmpl.t.reqs[req].head_count == 0:
            return True
        if not z6_tmpl_reserve(&self.tmpl.vus[idx], self.tmpl.t.reqs[req].bound):
            self.out_of_memory = True
            self.done = True
            return False
        n = z6_tmpl_render(&self.tmpl.t, req, vu.vu_id, vu_template_seq(vu, &self.plan), &self.tmpl.vus[idx],
                           &self.tmpl.rows[<size_t>idx * (self.tmpl.t.n_data + 1)])
        if n < 0:
            # A header value would have carried CR/LF/NUL, or a variable it reads
            # has no value: nothing is written, the connection stays as it was,
            # the VU carries on.
            self.failures += 1
            self._emit(now, 0, vu, EV_ERROR_HTTP, req, 0, ERR_VAR_UNSET if n == Z6_RENDER_UNSET else ERR_HEADER_VALUE)
            self._finish(idx, now, False, True)
            return False
        return True

    cdef bint _add_cookies(self, uint32_t idx, uint16_t req, uint64_t now) noexcept nogil:
        # The request with a Cookie line for the VU's cookies that match its path
        # (none: it goes as it is); False when memory ran out (the run ends).
        cdef uint32_t wire_len
        cdef const char* data = self._wire(idx, &wire_len)
        cdef size_t length = wire_len, head_end = self.req_head_end[req], path_at = 0, path_len, line
        cdef size_t need
        cdef char* grown
        self.ck_len[idx] = 0
        if self.jars[idx].n == 0 or head_end == 0:
            return True
        if data != self.req_data[req]:
            head_end = z6_cookie_head_end(data, length)
        if head_end == 0:
            return True
        path_len = z6_cookie_request_path(data, length, &path_at)
        line = z6_jar_header(&self.jars[idx], data + path_at, path_len, self.tls_enabled, now, NULL, 0)
        if line == 0:
            return True
        need = length + line
        if need > 0xFFFFFFFEu:
            return True         # (a request of 4 GiB: sent without its cookies rather than not at all)
        if need > self.ck_cap[idx]:
            grown = <char*>realloc(self.ck_buf[idx], need)
            if grown == NULL:
                self.out_of_memory = True
                self.done = True
                return False
            self.ck_buf[idx] = grown
            self.ck_cap[idx] = <uint32_t>need
        memcpy(self.ck_buf[idx], data, head_end)
        z6_jar_header(&self.jars[idx], data + path_at, path_len, self.tls_enabled, now, self.ck_buf[idx] + head_end,
                      line)
        memcpy(self.ck_buf[idx] + head_end + line, data + head_end, length - head_end)
        self.ck_len[idx] = <uint32_t>need
        return True

    cdef void _store_cookies(self, uint32_t idx, uint64_t now) noexcept nogil:
        # The Set-Cookie lines of the response just completed, into the VU's jar.
        cdef size_t n = self.cap_len[idx], head_len = 0, body_at = 0, path_at = 0, path_len
        cdef uint32_t sent_len
        cdef const char* sent = self._wire(idx, &sent_len)
        if n == 0 or not z6_check_split(self.cap_buf[idx], &n, &head_len, &body_at):
            return
        path_len = z6_cookie_request_path(sent, sent_len, &path_at)
        z6_jar_from_head(&self.jars[idx], self.cap_buf[idx], head_len, self.cookie_host, self.cookie_host_len,
                         sent + path_at, path_len, now, z6_cookie_unix_now())

    cdef inline const char* _wire(self, uint32_t idx, uint32_t* length) noexcept nogil:
        # VU idx's request in flight as it goes out before its Cookie line: a
        # redirect's hop, else the request rendered from its template, else as serialised.
        cdef uint16_t req = self.vus[idx].request
        if self.hop_len != NULL and self.hop_len[idx]:
            length[0] = self.hop_len[idx]
            return self.hop_buf[idx]
        if self.tmpl.on and self.tmpl.vus[idx].len:
            length[0] = self.tmpl.vus[idx].len
            return self.tmpl.vus[idx].buf
        length[0] = self.req_len[req]
        return self.req_data[req]

    cdef void _arm_request_timer(self, uint32_t idx) noexcept nogil:
        cdef conn_t* c = &self.conns[idx]
        cdef uint64_t t = c.deadline_ns
        if (c.phase == PH_CONNECTING or c.phase == PH_HANDSHAKE) and c.connect_deadline_ns < t:
            t = c.connect_deadline_ns
        self._set_timer(idx, t)

    cdef void _connect(self, uint32_t idx, uint64_t now) noexcept nogil:
        cdef conn_t* c = &self.conns[idx]
        cdef int fd, err
        fd = z6_tcp_connect(self.addr, self.addr_len)
        if fd < 0:
            err = z6_errno()
            self._fail_errno(idx, now, err, True)
            return
        if z6_poller_add(&self.poller, fd, idx, 1) != 0:
            err = z6_errno()
            z6_close(fd)
            self._fail(idx, now, EV_ERROR_RESOURCE_EXHAUSTED, ERR_RESOURCE_EXHAUSTED)
            return
        self.connections_opened += 1
        c.responses = 0
        c.fd = fd
        c.want_write = 1
        c.phase = PH_CONNECTING
        c.connect_ns = now
        c.connect_deadline_ns = now + self.connect_timeout_ns
        self._arm_request_timer(idx)

    cdef void _on_ready(self, uint32_t idx, uint32_t flags, uint64_t now) noexcept nogil:
        cdef conn_t* c
        cdef vu_t* vu
        cdef int err, fd
        if idx >= self.n_vus:
            return
        c = &self.conns[idx]
        vu = &self.vus[idx]
        if c.fd < 0:
            return
        if c.phase == PH_CONNECTING:
            if not (flags & (Z6_WRITABLE | Z6_HANGUP)):
                return
            err = z6_socket_error(c.fd)
            if err != 0:
                if z6_is_timed_out(err):
                    self._fail(idx, now, EV_ERROR_TIMEOUT, ERR_CONNECT_TIMEOUT)
                else:
                    self._fail_errno(idx, now, err, True)
                return
            if flags & Z6_HANGUP and not (flags & Z6_WRITABLE):
                self._fail(idx, now, EV_ERROR_TCP, ERR_CONNECT_REFUSED)
                return
            if self.tls != NULL:
                c.ssl = z6_tls_conn(self.tls, c.fd, idx)
                if c.ssl == NULL:
                    self._fail(idx, now, EV_ERROR_RESOURCE_EXHAUSTED, ERR_RESOURCE_EXHAUSTED)
                    return
                c.phase = PH_HANDSHAKE
                self._handshake(idx, now)
                return
            self._established(idx, now, CONN_PLAIN)
            return
        if c.phase == PH_HANDSHAKE:
            self._handshake(idx, now)
            return
        if c.phase == PH_WRITING and (flags & Z6_WRITABLE):
            fd = c.fd
            self._write(idx, now)
            # The write may have failed, or moved the request to a new connection
            # whose readiness this event does not describe.
            if c.fd != fd or not vu_in_flight(vu):
                return
        if flags & (Z6_READABLE | Z6_HANGUP):
            self._read(idx, now)

    cdef void _established(self, uint32_t idx, uint64_t now, uint16_t how) noexcept nogil:
        # Connected (and, over TLS, the handshake done): conn_established's
        # value_ns is the whole of it, TCP connect plus handshake.
        cdef conn_t* c = &self.conns[idx]
        cdef vu_t* vu = &self.vus[idx]
        self._emit(now, now - c.connect_ns, vu, EV_CONN_ESTABLISHED, vu.request, how, ERR_NONE)
        c.phase = PH_WRITING
        self._arm_request_timer(idx)
        self._write(idx, now)

    cdef void _handshake(self, uint32_t idx, uint64_t now) noexcept nogil:
        # Drive the TLS handshake on from the poller's readiness; the connect
        # timeout still applies (the VU is connecting until it completes).
        cdef conn_t* c = &self.conns[idx]
        cdef int code = 0
        cdef int r = z6_tls_handshake(c.ssl, &code)
        if r == Z6_TLS_DONE:
            if z6_tls_resumed(c.ssl):
                self.tls_resumed += 1
                self._established(idx, now, CONN_TLS_RESUMED)
            else:
                self._established(idx, now, CONN_TLS_FULL)
        elif r == Z6_TLS_WANT_READ:
            self._watch_write(idx, False)
        elif r == Z6_TLS_WANT_WRITE:
            self._watch_write(idx, True)
        else:
            # The session the VU offered is not trusted again after a failure.
            z6_tls_forget(self.tls, idx)
            if r == Z6_TLS_FAILED:
                self._fail(idx, now, EV_ERROR_TLS, <uint16_t>code)
            elif r == Z6_TLS_SYSCALL and z6_is_reset(z6_errno()):
                self._fail(idx, now, EV_ERROR_TLS, ERR_CONN_RESET)
            elif r == Z6_TLS_SYSCALL and z6_is_fd_exhaustion(z6_errno()):
                self._fail(idx, now, EV_ERROR_RESOURCE_EXHAUSTED, ERR_RESOURCE_EXHAUSTED)
            else:
                self._fail(idx, now, EV_ERROR_TLS, ERR_CONN_CLOSED)   # closed during the handshake

    cdef void _watch_write(self, uint32_t idx, bint on) noexcept nogil:
        cdef conn_t* c = &self.conns[idx]
        if c.want_write != on:
            z6_poller_mod(&self.poller, c.fd, idx, on)
            c.want_write = on

    cdef void _write(self, uint32_t idx, uint64_t now) noexcept nogil:
        cdef conn_t* c = &self.conns[idx]
        cdef vu_t* vu = &self.vus[idx]
        cdef uint16_t req = vu.request
        cdef long n
        cdef int err, code = 0
        cdef uint32_t length
        cdef const char* data = self._wire(idx, &length)
        if self.cookies and self.ck_len[idx]:
            data = self.ck_buf[idx]
            length = self.ck_len[idx]
        while c.written < length:
            if c.ssl != NULL:
                n = z6_tls_write(c.ssl, data + c.written, length - c.written, &code)
                if n == -Z6_TLS_FAILED:
                    self._fail(idx, now, EV_ERROR_TLS, <uint16_t>code)
                    return
                if n < 0:
                    # WANT_READ in a write happens only with renegotiation, which
                    # TLS 1.3 lacks and OpenSSL's client refuses by default: wait
                    # as for writability. An EOF is the peer gone, as EPIPE.
                    err = z6_errno() if n == -Z6_TLS_SYSCALL else (EAGAIN if n != -Z6_TLS_EOF else EPIPE)
            else:
                n = z6_send(c.fd, data + c.written, length - c.written)
                if n < 0:
                    err = z6_errno()
            if n < 0:
                if z6_would_block(err):
                    self._watch_write(idx, True)
                    return
                if not self._resend_on_fresh_connection(idx, now, ERR_CONN_RESET):
                    self._fail_errno(idx, now, err, False)
                return
            if c.written == 0:
                vu.issue_ns = now       # latency counts from the first byte written
            c.written += <uint32_t>n
            self.bytes_sent += <uint64_t>n
            self.req_sent[req] += <uint64_t>n
        c.phase = PH_READING
        self._watch_write(idx, False)
        vu_set_state(vu, VU_WAITING)        # written: the response is awaited

    cdef void _read(self, uint32_t idx, uint64_t now) noexcept nogil:
        cdef conn_t* c = &self.conns[idx]
        cdef vu_t* vu = &self.vus[idx]
        cdef long n
        cdef size_t used
        cdef int r, err, reads = 0, code = 0
        while True:
            if c.ssl != NULL:
                n = z6_tls_read(c.ssl, self.rbuf, READ_BUF, &code)
                if n == -Z6_TLS_EOF:
                    n = 0
                elif n == -Z6_TLS_FAILED:
                    if c.phase == PH_IDLE:
                        self._close(idx, now, <uint16_t>code, True)
                    else:
                        self._fail(idx, now, EV_ERROR_TLS, <uint16_t>code)
                    return
                elif n < 0:
                    err = z6_errno() if n == -Z6_TLS_SYSCALL else EAGAIN
            else:
                n = z6_recv(c.fd, self.rbuf, READ_BUF)
                if n < 0:
                    err = z6_errno()
            if n < 0:
                if z6_would_block(err):
                    return
                if c.phase == PH_IDLE:
                    self._close(idx, now, ERR_CONN_RESET, True)
                elif not self._resend_on_fresh_connection(idx, now, ERR_CONN_RESET):
                    self._fail_errno(idx, now, err, False)
                return
            if n == 0:
                if c.phase == PH_IDLE:
                    self._close(idx, now, ERR_NONE, True)     # the server closed an idle keep-alive connection
                    return
                r = z6_http_eof(&c.resp)
                if r == Z6_HTTP_DONE:
                    self._respond(idx, now, False)
                elif not self._resend_on_fresh_connection(idx, now, ERR_CONN_CLOSED):
                    self._fail(idx, now, EV_ERROR_TCP, ERR_CONN_CLOSED)
                return
            self.bytes_received += <uint64_t>n
            if c.phase == PH_IDLE:
                # Bytes nobody asked for: the connection cannot be trusted.
                self._close(idx, now, ERR_PROTOCOL, True)
                return
            self.req_received[vu.request] += <uint64_t>n
            if c.received < 0x7FFFFFFF:
                c.received += <uint32_t>n
            used = 0
            r = z6_http_feed(&c.resp, self.rbuf, <size_t>n, &used)
            if self.cap_buf != NULL and self._capture_kind(vu.request):
                self._capture(idx, <size_t>n if r == Z6_HTTP_MORE else used)
            if r == Z6_HTTP_MORE:
                reads += 1
                # (TLS hands over one record per read, up to 16 KiB: read on
                # until OpenSSL wants more from the socket. Bytes OpenSSL has
                # read ahead wake no poller: never stop while it holds some.)
                if c.ssl != NULL:
                    if reads >= MAX_READS_PER_WAKE and not z6_tls_pending(c.ssl):
                        return
                    continue
                if n < READ_BUF or reads >= MAX_READS_PER_WAKE:
                    return              # drained, or enough for now: the poller reports the rest
                continue
            if r == Z6_HTTP_DONE:
                # A response before the whole request was written, or bytes after
                # the response, leave the connection in an unknown state: close it.
                self._respond(idx, now, c.resp.keep_alive and used == <size_t>n and c.phase == PH_READING
                              and (c.ssl == NULL or not z6_tls_pending(c.ssl)))
                return
            if r == Z6_HTTP_ERR_LIMIT:
                self._fail(idx, now, EV_ERROR_RESOURCE_EXHAUSTED, ERR_RESOURCE_EXHAUSTED)
            elif (r == Z6_HTTP_ERR_PROTOCOL and c.ssl == NULL and c.received == <uint32_t>n and n >= 3
                    and (self.rbuf[0] == 0x15 or self.rbuf[0] == 0x16) and self.rbuf[1] == 0x03):
                # A TLS record (an alert or a handshake) in answer to a plain
                # HTTP request: a TLS server on an http:// target.
                self._fail(idx, now, EV_ERROR_TLS, ERR_TLS_ON_PLAIN_PORT)
            elif r == Z6_HTTP_ERR_CLOSED:
                self._fail(idx, now, EV_ERROR_TCP, ERR_CONN_CLOSED)
            else:
                self._fail(idx, now, EV_ERROR_PROTOCOL_VIOLATION, ERR_PROTOCOL)
            return

    cdef inline uint8_t _capture_kind(self, uint16_t req) noexcept nogil:
        # What of request req's response is kept: its checks' need, and with
        # cookies on at least the head (for its Set-Cookie lines).
        cdef uint8_t kind = self.plan.req_capture[req] if self.plan.check_first != NULL else CAPTURE_NONE
        if (self.cookies or self.follow) and kind == CAPTURE_NONE:
            return CAPTURE_HEAD
        return kind

    cdef void _capture(self, uint32_t idx, size_t n) noexcept nogil:
        # Keep rbuf[0..n) of VU idx's response (just fed to the parser), up to
        # the request's limit: every head and framing byte (the parser bounds
        # those) and, for body checks, up to capture_max decoded body bytes;
        # what is past it is dropped and noted (cut).
        cdef uint16_t req = self.vus[idx].request
        cdef const z6_http_resp_t* resp = &self.conns[idx].resp
        cdef uint64_t limit = resp.wire_bytes - resp.body_bytes     # heads and chunk framing so far
        cdef uint64_t have = self.cap_len[idx], want, size
        cdef char* grown
        if self.cap_cut[idx]:
            return          # already past the limit: nothing after a gap is of use
        cdef bint body = self._capture_kind(req) == CAPTURE_BODY
        if body:
            limit += self.plan.req_capture_max[req]
        if have + n > limit:
            if body:
                self.cap_cut[idx] = 1
            n = <size_t>(limit - have) if limit > have else 0
        if n == 0:
            return
        want = have + n
        if want > self.cap_size[idx]:
            size = self.cap_size[idx] * 2 if self.cap_size[idx] else 16384
            if size < want:
                size = want
            if size > limit:
                size = limit
            if size > <uint64_t>0xFFFFFFFEu:
                self.cap_cut[idx] = 1
                return
            # (one byte more than kept: a regex extraction may NUL-terminate the body)
            grown = <char*>realloc(self.cap_buf[idx], <size_t>size + 1)
            if grown == NULL:
                self.cap_cut[idx] = 1       # no memory for more: the checks see what there is
                return
            self.cap_buf[idx] = grown
            self.cap_size[idx] = <uint32_t>size
        memcpy(self.cap_buf[idx] + have, self.rbuf, n)
        self.cap_len[idx] = <uint32_t>want

    cdef int _run_checks(self, uint32_t idx, uint64_t now) noexcept nogil:
        # The response's checks: a check_failed event per failed one; returns the
        # class of the first (0: all passed, or the request has none).
        cdef vu_t* vu = &self.vus[idx]
        cdef uint16_t req = vu.request
        cdef uint16_t failed_index[MAX_CHECKS]
        cdef uint16_t failed_class[MAX_CHECKS]
        cdef int failed, i
        if not has_checks(&self.plan, req):
            return 0
        failed = checks_live(&self.plan, req, self.conns[idx].resp.status, self.cap_buf[idx], self.cap_len[idx],
                             self.cap_cut[idx], z6_http_chunked(&self.conns[idx].resp), failed_index, failed_class,
                             self.tmpl.vus[idx].vars if self.tmpl.on else NULL)
        for i in range(failed):
            self._emit(now, 0, vu, EV_CHECK_FAILED, req, failed_index[i], failed_class[i])
        return failed_class[0] if failed else 0

    cdef void _respond(self, uint32_t idx, uint64_t now, bint keep) noexcept nogil:
        cdef conn_t* c = &self.conns[idx]
        cdef vu_t* vu = &self.vus[idx]
        cdef int check_error
        cdef uint16_t listed = ERR_NONE
        if now >= c.deadline_ns:
            # Read after its deadline had passed (the poller reported it in the
            # same batch): the request timed out, whatever came back.
            if c.deadline_cancels:
                self._fail(idx, now, EV_REQUEST_CANCELLED, ERR_CANCELLED)
            else:
                self._fail(idx, now, EV_REQUEST_TIMEOUT, ERR_TIMEOUT)
            return
        Z6_CHECK(vu_in_flight(vu), "a response ends a request in flight")
        self.responses += 1
        if self.follow and z6_redirect_is_status(c.resp.status) and self._redirect(idx, now, keep):
            return
        check_error = self._run_checks(idx, now)
        if self.cookies:
            self._store_cookies(idx, now)
        if check_error:
            # A failed check fails the request: error_http, with the status the response had.
            self.failures += 1
            self._emit(now, now - vu.issue_ns, vu, EV_ERROR_HTTP, vu.request, c.resp.status, <uint16_t>check_error)
        else:
            listed = ERR_STATUS_LISTED if status_listed(&self.plan, vu.request, c.resp.status) else ERR_NONE
            self._emit(now, now - vu.issue_ns, vu, EV_RESPONSE_RECEIVED, vu.request, c.resp.status, listed)
            if c.hops:
                self._emit(now, now - c.chain_ns, vu, EV_REDIRECT_CHAIN, vu.request, c.resp.status, ERR_NONE)
        self._settle(idx, now, keep)
        self._finish(idx, now, False,
                     check_error != 0 or is_failed_outcome(EV_RESPONSE_RECEIVED, c.resp.status, listed))

    cdef void _settle(self, uint32_t idx, uint64_t now, bint keep) noexcept nogil:
        # After a response: the connection kept for the VU's next request, or closed.
        cdef conn_t* c = &self.conns[idx]
        if keep:
            c.phase = PH_IDLE
            c.responses += 1
            c.idle_since_ns = now
        else:
            self._close(idx, now, ERR_NONE, False)

    cdef bint _redirect(self, uint32_t idx, uint64_t now, bint keep) noexcept nogil:
        # A redirect's response: recorded as its hop's outcome and followed (the
        # next hop issued and sent), or failed with its class when it cannot be
        # followed; False when it has no Location (then it is the request's
        # outcome like any other response). Its Set-Cookie lines count either way.
        cdef conn_t* c = &self.conns[idx]
        cdef vu_t* vu = &self.vus[idx]
        cdef size_t n = self.cap_len[idx], head_len = 0, body_at = 0, at = 0, loc_len = 0, target_len = 0
        cdef size_t cur_at = 0, cur_len, method_len, need
        cdef uint32_t sent_len, first_len
        cdef const char* sent
        cdef const char* first
        cdef char* grown
        cdef int where
        cdef bint to_get
        cdef uint16_t error = ERR_NONE
        if n == 0 or not z6_check_split(self.cap_buf[idx], &n, &head_len, &body_at):
            return False
        self.cap_len[idx] = <uint32_t>n
        if not z6_check_header_value(self.cap_buf[idx], head_len, "location", 8, &at, &loc_len):
            return False
        sent = self._wire(idx, &sent_len)
        cur_len = z6_cookie_request_path(sent, sent_len, &cur_at)
        where = z6_redirect_resolve(self.cap_buf[idx] + at, loc_len, self.origin_tls, self.origin_host,
                                    self.origin_host_len, self.origin_port, sent + cur_at, cur_len, self.hop_target,
                                    HOP_TARGET_MAX, &target_len)
        if where == Z6_REDIR_OFFSITE:
            error = ERR_REDIRECT_OFFSITE
            self.redirects_offsite += 1
            if self.offsite_len == 0:
                self.offsite_len = <uint32_t>(loc_len if loc_len < OFFSITE_KEEP else OFFSITE_KEEP)
                memcpy(self.offsite, self.cap_buf[idx] + at, self.offsite_len)
        elif where == Z6_REDIR_BAD:
            error = ERR_REDIRECT_LOCATION
        elif c.hops >= self.follow:
            error = ERR_REDIRECT_LIMIT
        if self.cookies:
            self._store_cookies(idx, now)       # (before the hop's bytes replace the request's)
        if error != ERR_NONE:
            self.failures += 1
            self._emit(now, now - vu.issue_ns, vu, EV_ERROR_HTTP, vu.request, c.resp.status, error)
            self._settle(idx, now, keep)
            self._finish(idx, now, False, True)
            return True
        # The next hop: the chain's first request (as rendered) asked again for
        # the new target, a GET from the first redirect that made it one.
        method_len = z6_redirect_method_len(sent, sent_len)
        to_get = c.hop_get or z6_redirect_to_get(c.resp.status, sent, method_len)
        first = self.req_data[vu.request]
        first_len = self.req_len[vu.request]
        if self.tmpl.on and self.tmpl.vus[idx].len:
            first = self.tmpl.vus[idx].buf
            first_len = self.tmpl.vus[idx].len
        need = <size_t>first_len + target_len + 8
        if need > self.hop_cap[idx]:
            grown = <char*>realloc(self.hop_buf[idx], need)
            if grown == NULL:
                self.out_of_memory = True
                self.done = True
                return True
            self.hop_buf[idx] = grown
            self.hop_cap[idx] = <uint32_t>need
        self.hop_len[idx] = <uint32_t>z6_redirect_request(first, first_len, self.hop_target, target_len, to_get,
                                                          self.hop_buf[idx])
        Z6_CHECK(self.hop_len[idx] != 0, "a serialised request has a request line and a head")
        self._emit(now, now - vu.issue_ns, vu, EV_RESPONSE_RECEIVED, vu.request, c.resp.status, ERR_NONE)
        self._settle(idx, now, keep)
        if c.hops == 0:
            c.chain_ns = vu.issue_ns
        c.hops += 1
        c.hop_get = to_get
        self.redirects_followed += 1
        # The hop is a request of its own (the server sees one): issued now,
        # with the logical request's index and seq, its number in status.
        self._emit(now, 0, vu, EV_REQUEST_ISSUED, vu.request, c.hops, ERR_NONE)
        self.requests_issued += 1
        vu_set_state(vu, VU_EXECUTING)
        vu.issue_ns = now
        self._send(idx, vu.request, now)
        return True

    cdef bint _resend_on_fresh_connection(self, uint32_t idx, uint64_t now, uint16_t error) noexcept nogil:
        # A reused keep-alive connection that the server had already closed
        # fails before any response byte: the request never reached the
        # server. Send it again, once, on a new connection, as browsers and Go's
        # client do, when it is safe to repeat (GET/HEAD/OPTIONS/TRACE, no body).
        cdef conn_t* c = &self.conns[idx]
        cdef vu_t* vu = &self.vus[idx]
        if c.responses == 0 or c.retried or c.received != 0 or not self.req_replayable[vu.request]:
            return False
        self._close(idx, now, error, False)
        if vu.state == VU_WAITING:
            vu_set_state(vu, VU_EXECUTING)  # written again, on the new connection
        c.retried = 1
        c.written = 0
        if self.cap_buf != NULL:
            self.cap_len[idx] = 0
            self.cap_cut[idx] = 0
        z6_http_reset(&c.resp, self.req_head[vu.request])
        self._connect(idx, now)
        return True

    cdef void _fail_errno(self, uint32_t idx, uint64_t now, int err, bint connecting) noexcept nogil:
        if z6_is_fd_exhaustion(err):
            self._fail(idx, now, EV_ERROR_RESOURCE_EXHAUSTED, ERR_RESOURCE_EXHAUSTED)
        elif connecting and z6_is_refused(err):
            self._fail(idx, now, EV_ERROR_TCP, ERR_CONNECT_REFUSED)
        elif connecting and z6_is_unreachable(err):
            self._fail(idx, now, EV_ERROR_TCP, ERR_CONNECT_REFUSED)
        elif z6_is_reset(err):
            self._fail(idx, now, EV_ERROR_TCP, ERR_CONN_RESET)
        else:
            self._fail(idx, now, EV_ERROR_TCP, ERR_CONN_CLOSED)

    cdef void _fail(self, uint32_t idx, uint64_t now, uint16_t kind, uint16_t error) noexcept nogil:
        # The request's outcome is a failure: record it, drop the connection, carry on.
        cdef vu_t* vu = &self.vus[idx]
        Z6_CHECK(vu_in_flight(vu), "a failure ends a request in flight")
        self.failures += 1
        self._emit(now, now - vu.issue_ns, vu, kind, vu.request, 0, error)
        if self.conns[idx].fd >= 0:
            self._close(idx, now, error, False)
        self._finish(idx, now, kind == EV_REQUEST_CANCELLED, True)

    cdef void _close(self, uint32_t idx, uint64_t now, uint16_t error, bint idle) noexcept nogil:
        # conn_closed names the request the connection carried, or none when it
        # was closed while idle.
        cdef conn_t* c = &self.conns[idx]
        cdef vu_t* vu = &self.vus[idx]
        if c.fd < 0:
            return
        z6_poller_del(&self.poller, c.fd)
        if c.ssl != NULL:
            # A TLS failure discards the session; any other close keeps it for resumption.
            z6_tls_conn_free(c.ssl, not _is_tls_error(error))
            c.ssl = NULL
        z6_close(c.fd)
        c.fd = -1
        c.want_write = 0
        c.phase = PH_IDLE
        self._emit(now, 0, vu, EV_CONN_CLOSED, NO_REQUEST if idle else vu.request, 0, error)

    cdef void _finish(self, uint32_t idx, uint64_t now, bint cancelled, bint failed) noexcept nogil:
        # After an outcome (`failed` by the outcome rule): sequence and iteration
        # accounting, then think or complete.
        cdef vu_t* vu = &self.vus[idx]
        cdef int next_step = vu_after_outcome(vu, &self.plan, now, cancelled, failed)
        if next_step != VU_CARRIES_ON:
            self._complete(idx, now, ERR_ON_START_FAILED if next_step == VU_DONE_FAILED else ERR_NONE)
            return
        if self.open_model and self._iteration_done(vu):
            self._clear_timer(idx)      # its request's deadline: an idle VU has no timer
            pool_push(self.pool, &self.pool_n, idx)     # idle until an arrival picks it
            return
        # Always through the timer heap, and at least 1 ns on, even when due now:
        # a failure inside issuing (say, a refused connect) must neither recurse
        # into the next issue nor be fired again within the same pass.
        self._set_timer(idx, vu.due_ns if vu.due_ns > now else now + 1)

    cdef void _complete(self, uint32_t idx, uint64_t now, uint16_t error) noexcept nogil:
        # `error`: ERR_ON_START_FAILED for a VU whose on_start request failed, else none.
        cdef vu_t* vu = &self.vus[idx]
        if self.conns[idx].fd >= 0:
            self._close(idx, now, ERR_NONE, True)
        self._clear_timer(idx)
        self._emit(now, 0, vu, EV_VU_COMPLETE, NO_REQUEST, 0, error)
        vu_set_state(vu, VU_COMPLETE)
        self.active_vus -= 1
        self.vus_done += 1
        if self.tmpl.on:
            z6_tmpl_vars_clear(self.tmpl.vus[idx].vars, self.tmpl.t.n_vars)     # a VU's variables end with it
        if self.cookies:
            z6_jar_clear(&self.jars[idx])       # and its cookies

    # ------------------------------------------------------------------ the open model

    cdef _open_model_init(self, plan):
        # An arrival-rate plan: the VU table is the pool's ceiling (max_vus);
        # `pool_vus` are spawned at the start and the rest only when an arrival
        # finds every VU busy. Arrivals come from the run-wide stream
        # (`_arrivals.pxd`), whatever the server does.
        self._arrivals = ArrivalArrays(plan)
        self.sched = self._arrivals.s
        self.open_end_ns = self._arrivals.end_ns
        self.pool = <uint32_t*>malloc(self.n_vus * sizeof(uint32_t))
        if self.pool == NULL:
            raise MemoryError()
        arrivals_start(&self.arrival, &self.sched, self.plan.seed)
        self.next_arrival_ns = arrival_next_own(&self.arrival, &self.sched, self._arrivals.shard_index,
                                                self._arrivals.shard_count)
        if self.next_arrival_ns >= self.open_end_ns:
            self.next_arrival_ns = Z6_NO_ARRIVAL
        memset(&self.no_vu, 0, sizeof(vu_t))
        self.open_model = True

    cdef inline bint _iteration_done(self, const vu_t* vu) noexcept nogil:
        # After count_outcome: the sequence wrapped (or there is none).
        return self.plan.n_steps == 0 or (vu.step == 0 and vu.step_rep == 0)

    cdef void _grow(self, uint64_t now) noexcept nogil:
        # The next VU of the table joins the pool, spawned and ready at once
        # (its connection is opened by its first request).
        cdef uint32_t idx = self.spawn_cursor
        cdef vu_t* vu = &self.vus[idx]
        self.spawn_cursor += 1
        self.active_vus += 1
        vu_set_state(vu, VU_SPAWNED)
        self._emit(now, 0, vu, EV_VU_SPAWNED, NO_REQUEST, 0, ERR_NONE)
        vu_set_state(vu, VU_READY)
        self._emit(now, 0, vu, EV_VU_READY, NO_REQUEST, 0, ERR_NONE)
        pool_push(self.pool, &self.pool_n, idx)

    cdef void _arrivals_due(self, uint64_t now) noexcept nogil:
        # Serve every arrival due by `now`: the lowest free VU issues at once,
        # its request_issued lag counted from the arrival's instant; with the
        # pool busy at max_vus, or the schedule's end already passed when the
        # loop gets to it, the arrival is dropped (an event, never a delay).
        cdef uint32_t idx, i
        cdef uint64_t t
        if not self.open_started and self.stop_at_ns == Z6_LIVE_NO_TIME:
            self.open_started = True
            for i in range(self._arrivals.pool_vus):
                self._grow(now)
        while self.next_arrival_ns <= now and self.stop_at_ns == Z6_LIVE_NO_TIME:
            t = self._clock()
            if self.pool_n == 0 and self.spawn_cursor < self.n_vus:
                self._grow(t)
            if self.pool_n and t < self.open_end_ns:
                idx = pool_pop(self.pool, &self.pool_n)
                self.vus[idx].due_ns = self.next_arrival_ns
                self._ready(idx, t)
            else:
                self.no_vu.seq = <uint32_t>self.arrival.index
                self._emit(t, 0, &self.no_vu, EV_ITERATION_DROPPED, NO_REQUEST, 0, ERR_NONE)
                self.dropped_iterations += 1
            if self.out_of_memory:
                return
            arrivals_advance(&self.arrival, &self.sched)
            self.next_arrival_ns = arrival_next_own(&self.arrival, &self.sched, self._arrivals.shard_index,
                                                    self._arrivals.shard_count)
            if self.next_arrival_ns >= self.open_end_ns:
                self.next_arrival_ns = Z6_NO_ARRIVAL
        if not self.open_end_done and now >= self.open_end_ns and self.next_arrival_ns == Z6_NO_ARRIVAL:
            # The schedule's end: idle VUs complete; busy ones after their outcome.
            self.open_end_done = True
            while self.pool_n:
                self._complete(pool_pop(self.pool, &self.pool_n), self._clock(), ERR_NONE)

    cdef uint64_t _open_model_wake(self, uint64_t wake) noexcept nogil:
        if self.stop_at_ns != Z6_LIVE_NO_TIME:
            return wake
        if self.next_arrival_ns < wake:
            wake = self.next_arrival_ns
        if not self.open_end_done and self.open_end_ns < wake:
            wake = self.open_end_ns
        return wake

    cdef void _open_model_stop(self) noexcept nogil:
        # stop(): no more arrivals; the idle VUs complete through the timers
        # `_stop_vu` gave them, so they leave the pool here.
        self.next_arrival_ns = Z6_NO_ARRIVAL
        self.pool_n = 0
        self.open_end_done = True

    # ------------------------------------------------------------------ timers

    cdef inline bint _before(self, Py_ssize_t a, Py_ssize_t b) noexcept nogil:
        # Heap order: by time, ties by VU index (so equal times fire in id order).
        return self.heap[a].ns < self.heap[b].ns or (self.heap[a].ns == self.heap[b].ns
                                                     and self.heap[a].idx < self.heap[b].idx)

    cdef inline void _heap_swap(self, Py_ssize_t a, Py_ssize_t b) noexcept nogil:
        cdef timer_t t = self.heap[a]
        self.heap[a] = self.heap[b]
        self.heap[b] = t
        self.heap_pos[self.heap[a].idx] = <uint32_t>a
        self.heap_pos[self.heap[b].idx] = <uint32_t>b

    cdef void _sift(self, Py_ssize_t i) noexcept nogil:
        # Restore the heap order around entry i, up or down.
        cdef Py_ssize_t parent, child
        while i > 0:
            parent = (i - 1) >> 1
            if not self._before(i, parent):
                break
            self._heap_swap(i, parent)
            i = parent
        while True:
            child = 2 * i + 1
            if child >= self.heap_n:
                break
            if child + 1 < self.heap_n and self._before(child + 1, child):
                child += 1
            if not self._before(child, i):
                break
            self._heap_swap(i, child)
            i = child

    cdef void _set_timer(self, uint32_t idx, uint64_t ns) noexcept nogil:
        # The VU's one timer, moved in place if it has one.
        cdef Py_ssize_t i = self.heap_pos[idx]
        Z6_CHECK(idx < self.n_vus, "timer VU index within the table")
        self.conns[idx].timer_ns = ns
        if self.heap_pos[idx] == Z6_NIL:
            Z6_CHECK(self.heap_n < self.n_vus, "at most one timer per VU")
            i = self.heap_n
            self.heap_n += 1
            self.heap_pos[idx] = <uint32_t>i
            self.heap[i].idx = idx
        Z6_CHECK(i < self.heap_n and self.heap[i].idx == idx, "timer heap position consistent")
        self.heap[i].ns = ns
        self._sift(i)
        Z6_CHECK(self.heap[self.heap_pos[idx]].idx == idx, "timer heap position consistent after a move")

    cdef void _heap_remove(self, Py_ssize_t i) noexcept nogil:
        cdef uint32_t idx = self.heap[i].idx
        cdef Py_ssize_t last = self.heap_n - 1
        Z6_CHECK(i < self.heap_n and self.heap_pos[idx] == <uint32_t>i, "timer heap position consistent")
        if i != last:
            self._heap_swap(i, last)
        self.heap_n -= 1
        self.heap_pos[idx] = Z6_NIL
        self.conns[idx].timer_ns = Z6_LIVE_NO_TIME
        if i < self.heap_n:
            self._sift(i)

    cdef void _clear_timer(self, uint32_t idx) noexcept nogil:
        if self.heap_pos[idx] != Z6_NIL:
            self._heap_remove(self.heap_pos[idx])

    # ------------------------------------------------------------------ events

    cdef void _emit(self, uint64_t now, uint64_t value_ns, vu_t* vu, uint16_t kind,
                    uint16_t request, uint16_t status, uint16_t error) noexcept nogil:
        cdef event_t* e
        cdef event_t* grown
        if self.stage_n == self.stage_cap:
            grown = <event_t*>realloc(self.stage, 2 * self.stage_cap * sizeof(event_t))
            if grown == NULL:
                self.out_of_memory = True
                self.done = True
                return
            self.stage = grown
            grown = <event_t*>realloc(self.stage_tmp, 2 * self.stage_cap * sizeof(event_t))
            if grown == NULL:
                self.out_of_memory = True
                self.done = True
                return
            self.stage_tmp = grown
            self.stage_cap *= 2
        Z6_CHECK(self.stage_n < self.stage_cap, "staged events within capacity")
        Z6_CHECK(now >= self.last_emit_ns, "events in time order (so in order per VU)")
        Z6_CHECK((vu >= self.vus and vu < self.vus + self.n_vus) or vu == &self.no_vu, "event VU within the table")
        self.last_emit_ns = now
        e = &self.stage[self.stage_n]
        self.stage_n += 1
        write_event(e, now // self.plan.tick_ns, value_ns, vu, kind, request, status, error)
        self.events_emitted += 1

    cdef void _flush(self, bint everything) noexcept nogil:
        # Hand staged events of finished ticks to the caller's chunk, sorted by
        # (tick, vu_id) and stable within a VU.
        cdef Py_ssize_t cut = self.stage_n, take, lo, hi
        cdef uint64_t open_tick
        if self.out == NULL or self.stage_n == 0:
            return
        if not everything:
            open_tick = self.now_ns // self.plan.tick_ns
            while cut > 0 and self.stage[cut - 1].tick >= open_tick:
                cut -= 1
        if cut > self.stage_sorted:
            lo = self.stage_sorted
            # Runs of one tick are sorted by VU id; an earlier flush may have
            # sorted a prefix of the first run already, so start at its run.
            while lo > 0 and self.stage[lo - 1].tick == self.stage[lo].tick:
                lo -= 1
            while lo < cut:
                hi = lo + 1
                while hi < cut and self.stage[hi].tick == self.stage[lo].tick:
                    hi += 1
                self._sort_run(lo, hi)
                lo = hi
            self.stage_sorted = cut
        take = cut
        if take > self.out_cap - self.out_n:
            take = self.out_cap - self.out_n
        if take <= 0:
            return
        Z6_CHECK(self.out_n + take <= self.out_cap and take <= self.stage_n, "flush within the chunk")
        memcpy(&self.out[self.out_n], self.stage, take * sizeof(event_t))
        self.out_n += take
        memmove(self.stage, &self.stage[take], (self.stage_n - take) * sizeof(event_t))
        self.stage_n -= take
        self.stage_sorted -= take

    cdef void _sort_run(self, Py_ssize_t lo, Py_ssize_t hi) noexcept nogil:
        # Stable merge sort of stage[lo:hi] by vu_id (bottom-up, via stage_tmp).
        cdef Py_ssize_t n = hi - lo, width, i, a, b, a_end, b_end, k
        cdef event_t* src = &self.stage[lo]
        cdef event_t* dst = &self.stage_tmp[lo]
        cdef event_t* swap
        cdef bint in_order = True
        for i in range(1, n):
            if src[i].vu_id < src[i - 1].vu_id:
                in_order = False
                break
        if in_order:
            return
        width = 1
        while width < n:
            i = 0
            while i < n:
                a = i
                a_end = i + width if i + width < n else n
                b = a_end
                b_end = i + 2 * width if i + 2 * width < n else n
                k = i
                while a < a_end and b < b_end:
                    if src[b].vu_id < src[a].vu_id:
                        dst[k] = src[b]
                        b += 1
                    else:
                        dst[k] = src[a]
                        a += 1
                    k += 1
                while a < a_end:
                    dst[k] = src[a]
                    a += 1
                    k += 1
                while b < b_end:
                    dst[k] = src[b]
                    b += 1
                    k += 1
                i += 2 * width
            swap = src
            src = dst
            dst = swap
            width *= 2
        if src != &self.stage[lo]:
            memcpy(&self.stage[lo], src, n * sizeof(event_t))


cdef inline bint _is_tls_error(uint16_t error) noexcept nogil:
    return error == ERR_TLS or (error >= ERR_TLS_SELF_SIGNED and error <= ERR_TLS_ON_PLAIN_PORT)


def expected_requests(plan, vu_ids, counts):
    """The request indices each VU issues in a live run, in order.

    For each ``vu_ids[k]`` (1-based ids of ``plan``), its first ``counts[k]``
    requests; returned concatenated VU by VU as a uint16 array. A live VU draws
    from its own stream the request (unless the plan has a sequence) and then,
    if it carries on, its think time, so this depends only on (seed, vu id, n).
    Its `[lifecycle]` on_start requests come first (no draw, no think time); the
    on_stop ones, which follow whenever its schedule ends, are not predicted
    here (`z6 replay --verify` accepts them at the end of a VU's requests).
    The plan is read and checked as `LiveEngine` reads it.
    """
    cdef PlanArrays arrays = PlanArrays(plan, simulated=False)
    cdef plan_t p = arrays.p
    ids = np.ascontiguousarray(vu_ids, dtype=np.uint32)
    cnt = np.ascontiguousarray(counts, dtype=np.uint64)
    if ids.ndim != 1 or cnt.shape != ids.shape:
        raise ValueError("vu_ids and counts must be 1-d arrays of the same length")
    first = p.first_vu_id
    step = p.vu_id_step
    last = first + (p.n_vus - 1) * step
    if ids.size and (ids.min() < first or ids.max() > last or np.any((ids.astype(np.int64) - first) % step)):
        raise ValueError(f"vu_ids must be plan VU ids: {first}..{last}" + (f" in steps of {step}" if step > 1 else ""))
    out = np.empty(int(cnt.sum()), dtype=np.uint16)
    cdef const uint32_t[::1] ids_v = ids
    cdef const uint64_t[::1] cnt_v = cnt
    cdef uint16_t[::1] out_v = out
    cdef uint64_t m
    cdef Py_ssize_t k, pos = 0
    cdef vu_t vu
    with nogil:
        for k in range(ids_v.shape[0]):
            # The live engine's draws for one VU, replayed on a scratch record.
            memset(&vu, 0, sizeof(vu_t))
            vu.rng = vu_stream_state(p.seed, ids_v[k])
            vu.iter_left = Z6_ITER_UNLIMITED
            for m in range(cnt_v[k]):
                out_v[pos] = vu_next_request(&vu, &p)
                pos += 1
                count_outcome(&vu, &p)
                if vu.seq > p.n_on_start:
                    draw_ns(&vu.rng, p.think_kind, p.think_a, p.think_b)   # no think after an on_start request
    return out
