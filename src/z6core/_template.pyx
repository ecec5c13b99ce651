# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True
"""Request templates at the core's boundary: the checked loader, the per-VU
render state of a run, and the replays `z6 replay --verify` and the tests use.

`TemplateTables(wire, n_requests)` checks a compiled template set (built by
`z6.live.wire_templates`) and holds it as a `z6_tmpl_t` (`_template.pxd`);
every rule the renderer relies on is checked here once, so `z6_tmpl.h` never
checks a bound per byte: segment kinds and contexts, literal and choice ranges
inside their arrays, data columns inside their files, cell offsets
non-decreasing within the arena. It also computes each request's `bound` (the
most bytes one rendering can take), from which send buffers are sized.

Compatibility guarantee: for the same tables, seed and VU id, the bytes
rendered for the VU's n-th request are the same in every z6 version that keeps
this module's format; the value stream is `value_stream_seed`.
"""

from libc.stdint cimport int64_t, uint32_t, uint64_t
from libc.stdlib cimport calloc, free, malloc
from libc.string cimport memset

import numpy as np

from z6core._arrays cimport cnp_data
from z6core._defs cimport *
from z6core._draw cimport draw_ns
from z6core._lifecycle cimport count_outcome, vu_enter_epilogue, vu_next_request, vu_template_seq
from z6core._plan cimport PlanArrays, plan_t
from z6core._prng cimport vu_stream_state

__all__ = ["TemplateTables", "SEGMENT_DTYPE", "TEMPLATE_REQUEST_DTYPE", "SEGMENT_KINDS", "CONTEXTS", "PICKS",
           "value_stream_seed", "rendered_requests", "expected_digests", "RENDER_PLAIN", "RENDER_OK",
           "RENDER_REFUSED", "RENDER_VARIABLES", "DIGEST_START", "MAX_HEX_DIGITS", "VAR_UNSET"]

cdef z6_seg_t _seg_probe
cdef z6_treq_t _treq_probe
SEGMENT_DTYPE = np.asarray(<z6_seg_t[:1]>&_seg_probe).dtype
TEMPLATE_REQUEST_DTYPE = np.asarray(<z6_treq_t[:1]>&_treq_probe).dtype

SEGMENT_KINDS = {"literal": Z6_SEG_LITERAL, "vu": Z6_SEG_VU, "iteration": Z6_SEG_ITERATION, "data": Z6_SEG_DATA,
                 "random.int": Z6_SEG_RANDOM_INT, "random.choice": Z6_SEG_CHOICE, "random.uuid": Z6_SEG_UUID,
                 "random.hex": Z6_SEG_HEX, "var": Z6_SEG_VAR}
CONTEXTS = {"body": Z6_CTX_RAW, "path": Z6_CTX_PATH, "header": Z6_CTX_HEADER}
PICKS = {"per_vu": Z6_PICK_PER_VU, "sequential": Z6_PICK_SEQUENTIAL, "unique": Z6_PICK_UNIQUE,
         "random": Z6_PICK_RANDOM}
RENDER_PLAIN = 0      # rendered_requests: the request is sent pre-serialised
RENDER_OK = 1
RENDER_REFUSED = 2    # a header value would have carried CR, LF or NUL
RENDER_VARIABLES = 3  # the request reads variables: its placeholder rendering (what the digest covers)
VAR_UNSET = Z6_VAR_UNSET
DIGEST_START = Z6_FNV_OFFSET
MAX_HEX_DIGITS = 4096
cdef uint64_t BOUND_LIMIT = 0x7FFFFFFF
MAX_VAR_BYTES = 1 << 20


def value_stream_seed(seed, vu_id):
    """The first state of VU ``vu_id``'s value stream (stream 1):
    ``splitmix64(splitmix64(seed, vu_id), 1)``, 0 mapped as for stream 0."""
    return z6_tmpl_stream_seed(int(seed), int(vu_id), 1)


cdef class TemplateTables:
    """Check compiled template tables and hold them as C data.

    ``wire`` has ``segments`` (``SEGMENT_DTYPE``), ``requests``
    (``TEMPLATE_REQUEST_DTYPE``, one per plan request; ``head_count == 0``: not
    templated), ``literals`` (bytes), ``choices`` (uint32 offset/length pairs
    into the literals), ``data`` (objects with ``pick``, ``n_cols``, ``cells``:
    uint32 offsets, ``arena``: bytes), ``total_vus``, ``pass_len``, and the
    variables: ``var_max`` (uint32, the most bytes of each) and ``var_default``
    (uint32 offset/length pairs into the literals, length ``VAR_UNSET``: no
    default). A broken rule is a ValueError naming the field.
    """

    def __cinit__(self):
        self.data = NULL

    def __dealloc__(self):
        free(self.data)

    def __init__(self, wire, Py_ssize_t n_requests):
        cdef Py_ssize_t i, n_seg, n_lit, n_choice
        cdef const z6_seg_t* segs
        cdef z6_treq_t* reqs
        cdef const uint32_t* choice
        cdef uint64_t head, body, extra, a, b
        cdef uint32_t kind, ctx
        self._keep = []
        seg_arr = np.ascontiguousarray(wire.segments, dtype=SEGMENT_DTYPE)
        req_arr = np.array(wire.requests, dtype=TEMPLATE_REQUEST_DTYPE, copy=True)  # bound is filled in here
        lit = bytes(wire.literals)
        choice_arr = np.ascontiguousarray(wire.choices, dtype=np.uint32)
        var_max_arr = np.ascontiguousarray(wire.var_max, dtype=np.uint32)
        var_default_arr = np.ascontiguousarray(wire.var_default, dtype=np.uint32)
        if seg_arr.ndim != 1 or req_arr.ndim != 1 or choice_arr.ndim != 1 or choice_arr.shape[0] % 2:
            raise ValueError("templates: segments, requests and choices must be 1-d (choices in pairs)")
        if var_max_arr.ndim != 1 or var_default_arr.shape != (var_max_arr.shape[0] * 2,):
            raise ValueError("templates: var_max must be 1-d and var_default hold one (offset, length) pair each")
        if req_arr.shape[0] != n_requests:
            raise ValueError(f"templates: expected {n_requests} requests (one per plan request), got {req_arr.shape[0]}")
        self._keep += [seg_arr, req_arr, lit, choice_arr, var_max_arr, var_default_arr]
        self.t.n_vars = <uint32_t>var_max_arr.shape[0]
        # (a 0-length array may have no storage: keep the pointers valid)
        self.t.var_max = <const uint32_t*>cnp_data(var_max_arr) if var_max_arr.shape[0] else NULL
        self.t.var_default = <const uint32_t*>cnp_data(var_default_arr) if var_max_arr.shape[0] else NULL
        for i in range(self.t.n_vars):
            if var_max_arr[i] < 1 or var_max_arr[i] > MAX_VAR_BYTES:
                raise ValueError(f"templates.var_max[{i}] must be 1 to {MAX_VAR_BYTES}")
            if var_default_arr[2 * i + 1] != Z6_VAR_UNSET and (
                    var_default_arr[2 * i + 1] > var_max_arr[i]
                    or <uint64_t>var_default_arr[2 * i] + var_default_arr[2 * i + 1] > <uint64_t>len(lit)):
                raise ValueError(f"templates.var_default[{i}] lies outside the literals or exceeds var_max")
        n_seg = seg_arr.shape[0]
        n_lit = len(lit)
        n_choice = choice_arr.shape[0] // 2
        segs = <const z6_seg_t*>cnp_data(seg_arr)
        reqs = <z6_treq_t*>cnp_data(req_arr)
        choice = <const uint32_t*>cnp_data(choice_arr)
        for i in range(n_choice):
            if <uint64_t>choice[2 * i] + choice[2 * i + 1] > <uint64_t>n_lit:
                raise ValueError(f"templates.choices[{i}] lies outside the literals")

        files = list(wire.data)
        self.t.n_data = len(files)
        self.data = <z6_data_t*>calloc(len(files) + 1, sizeof(z6_data_t))
        if self.data == NULL:
            raise MemoryError()
        col_max = []
        for i, f in enumerate(files):
            cells = np.ascontiguousarray(f.cells, dtype=np.uint32)
            arena = f.arena if isinstance(f.arena, bytes) else bytes(f.arena)
            n_cols = int(f.n_cols)
            pick = int(f.pick)
            if n_cols < 1 or cells.ndim != 1 or (cells.shape[0] - 1) % n_cols or cells.shape[0] < n_cols + 1:
                raise ValueError(f"templates.data[{i}]: cells must hold n_rows * n_cols + 1 offsets, n_rows >= 1")
            if pick not in PICKS.values():
                raise ValueError(f"templates.data[{i}]: unknown pick {pick}")
            if cells[0] != 0 or np.any(np.diff(cells.astype(np.int64)) < 0) or cells[cells.shape[0] - 1] > len(arena):
                raise ValueError(f"templates.data[{i}]: cell offsets must rise from 0 to at most the arena's size")
            self._keep += [cells, arena]
            self.data[i].n_rows = (cells.shape[0] - 1) // n_cols
            self.data[i].n_cols = n_cols
            self.data[i].pick = pick
            self.data[i].cell = <const uint32_t*>cnp_data(cells)
            self.data[i].bytes = <const char*>arena
            lengths = np.diff(cells.astype(np.int64)).reshape(-1, n_cols)
            col_max.append(lengths.max(axis=0).tolist())

        for i in range(n_seg):
            kind, ctx, a, b = segs[i].kind, segs[i].ctx, segs[i].a, segs[i].b
            if kind >= Z6_SEG_KINDS or ctx > Z6_CTX_HEADER:
                raise ValueError(f"templates.segments[{i}]: unknown kind {kind} or context {ctx}")
            if kind == Z6_SEG_LITERAL and a + b > <uint64_t>n_lit:
                raise ValueError(f"templates.segments[{i}]: literal lies outside the literals")
            if kind == Z6_SEG_DATA and (a >= self.t.n_data or b >= self.data[a].n_cols):
                raise ValueError(f"templates.segments[{i}]: no data file {a} column {b}")
            if kind == Z6_SEG_CHOICE and (b < 1 or a + b > <uint64_t>n_choice):
                raise ValueError(f"templates.segments[{i}]: choice list lies outside the choices")
            if kind == Z6_SEG_HEX and not 1 <= a <= MAX_HEX_DIGITS:
                raise ValueError(f"templates.segments[{i}]: hex digits must be 1 to {MAX_HEX_DIGITS}")
            if kind == Z6_SEG_RANDOM_INT and <int64_t>a > <int64_t>b:
                raise ValueError(f"templates.segments[{i}]: random.int range is empty")
            if kind == Z6_SEG_VAR and a >= self.t.n_vars:
                raise ValueError(f"templates.segments[{i}]: no variable {a}")

        self.t.max_bound = 0
        for i in range(n_requests):
            if reqs[i].head_count == 0:
                reqs[i].bound = 0
                continue
            if (<uint64_t>reqs[i].head_first + reqs[i].head_count > <uint64_t>n_seg
                    or <uint64_t>reqs[i].body_first + reqs[i].body_count > <uint64_t>n_seg):
                raise ValueError(f"templates.requests[{i}]: segment range outside the segments")
            head = _bound(segs, reqs[i].head_first, reqs[i].head_count, choice, col_max, self.t.var_max)
            body = _bound(segs, reqs[i].body_first, reqs[i].body_count, choice, col_max, self.t.var_max)
            reqs[i].has_var = _reads_var(segs, reqs[i].head_first, reqs[i].head_count) or \
                _reads_var(segs, reqs[i].body_first, reqs[i].body_count)
            extra = head + Z6_TMPL_CL_MAX + body
            if extra > BOUND_LIMIT:
                raise ValueError(f"templates.requests[{i}]: a rendering could exceed {BOUND_LIMIT} bytes")
            reqs[i].bound = <uint32_t>extra
            if reqs[i].bound > self.t.max_bound:
                self.t.max_bound = reqs[i].bound
        self.t.segs = segs
        self.t.reqs = reqs
        self.t.lit = <const char*>lit
        self.t.choice = choice
        self.t.data = self.data
        self.t.n_reqs = <uint32_t>n_requests
        self.t.total_vus = int(wire.total_vus)
        self.t.pass_len = int(wire.pass_len)
        if self.t.total_vus < 1 or self.t.pass_len < 1:
            raise ValueError("templates: total_vus and pass_len must be >= 1")

    def templated(self, Py_ssize_t request):
        """True when ``request`` is rendered per send (False: sent pre-serialised)."""
        return self.t.reqs[request].head_count != 0

    def bound(self, Py_ssize_t request):
        """The most bytes one rendering of ``request`` can take (0: not templated)."""
        return self.t.reqs[request].bound

    def reads_variables(self, Py_ssize_t request):
        """True when ``request`` renders a ``${var.NAME}``."""
        return self.t.reqs[request].has_var != 0


cdef bint _reads_var(const z6_seg_t* segs, uint32_t first, uint32_t count) noexcept:
    cdef uint32_t j
    for j in range(first, first + count):
        if segs[j].kind == Z6_SEG_VAR:
            return True
    return False


cdef uint64_t _bound(const z6_seg_t* segs, uint32_t first, uint32_t count, const uint32_t* choice,
                     list col_max, const uint32_t* var_max) except? 0:
    # The most bytes these segments can render to (a path value may triple; a
    # variable's placeholder, "${var.<index>}", takes at most 17).
    cdef uint64_t total = 0, m, widest, k
    cdef uint32_t j
    for j in range(first, first + count):
        s = segs[j]
        widen = 3 if s.ctx == Z6_CTX_PATH else 1
        if s.kind == Z6_SEG_LITERAL:
            total += s.b
        elif s.kind == Z6_SEG_VU:
            total += 10
        elif s.kind == Z6_SEG_ITERATION or s.kind == Z6_SEG_RANDOM_INT:
            total += 20
        elif s.kind == Z6_SEG_DATA:
            total += <uint64_t>col_max[s.a][s.b] * widen
        elif s.kind == Z6_SEG_CHOICE:
            widest = 0
            for k in range(s.a, s.a + s.b):
                if choice[2 * k + 1] > widest:
                    widest = choice[2 * k + 1]
            total += widest * widen
        elif s.kind == Z6_SEG_UUID:
            total += 36
        elif s.kind == Z6_SEG_HEX:
            total += s.a
        elif s.kind == Z6_SEG_VAR:
            total += max(<uint64_t>var_max[s.a] * widen, 17)
    return total


cdef int tmpl_run_init(tmpl_run_t* run, object tables, uint64_t seed, uint32_t first_vu_id, uint32_t vu_id_step,
                       uint32_t n_vus) except -1:
    """The render state of a run's VUs (their value streams from ``seed``)."""
    cdef TemplateTables tt = <TemplateTables?>tables
    cdef uint32_t i
    run.t = tt.t
    run.on = True
    run.n_vus = n_vus
    run.vus = <z6_tvu_t*>calloc(n_vus, sizeof(z6_tvu_t))
    run.rows = <uint64_t*>calloc(<size_t>n_vus * (tt.t.n_data + 1), sizeof(uint64_t))
    run.vars = NULL
    if tt.t.n_vars:
        run.vars = <z6_tvar_t*>calloc(<size_t>n_vus * tt.t.n_vars, sizeof(z6_tvar_t))
    if run.vus == NULL or run.rows == NULL or (tt.t.n_vars and run.vars == NULL):
        tmpl_run_free(run)
        raise MemoryError()
    for i in range(n_vus):
        z6_tmpl_vu_init(&run.vus[i], seed, first_vu_id + i * vu_id_step)
        if tt.t.n_vars:
            run.vus[i].vars = run.vars + <size_t>i * tt.t.n_vars
            z6_tmpl_vars_clear(run.vus[i].vars, tt.t.n_vars)    # every variable unset
    return 0


cdef void tmpl_run_free(tmpl_run_t* run) noexcept nogil:
    cdef uint32_t i
    if run.vus != NULL:
        for i in range(run.n_vus):
            free(run.vus[i].buf)
            z6_tmpl_vars_clear(run.vus[i].vars, run.t.n_vars)
    free(run.vus)
    free(run.rows)
    free(run.vars)
    run.vus = NULL
    run.rows = NULL
    run.vars = NULL
    run.on = False


cdef int _replay(PlanArrays arrays, TemplateTables tt, uint32_t vu_id, uint64_t count, list out_bytes,
                 uint64_t* digest, uint64_t epilogue_at) except -1:
    # A live VU's requests replayed on scratch state: the request pick from
    # stream 0 (then count_outcome and the think draw, as `expected_requests`),
    # and each templated request rendered from stream 1 at its seq. From request
    # `epilogue_at` on (when it is below `count`), the VU's on_stop requests.
    cdef plan_t p = arrays.p
    cdef vu_t vu
    cdef z6_tvu_t st
    cdef uint64_t m
    cdef uint16_t req
    cdef int64_t n
    cdef uint64_t* rows
    if <Py_ssize_t>tt.t.n_reqs != p.n_requests:
        raise ValueError(f"the templates hold {tt.t.n_reqs} requests, the plan {p.n_requests}")
    rows = <uint64_t*>calloc(tt.t.n_data + 1, sizeof(uint64_t))
    if rows == NULL:
        raise MemoryError()
    memset(&vu, 0, sizeof(vu_t))
    vu.rng = vu_stream_state(p.seed, vu_id)
    vu.iter_left = Z6_ITER_UNLIMITED
    z6_tmpl_vu_init(&st, p.seed, vu_id)
    try:
        if not z6_tmpl_reserve(&st, tt.t.max_bound if tt.t.max_bound else 1):
            raise MemoryError()
        if epilogue_at == 0:
            vu_enter_epilogue(&vu, &p)
        for m in range(count):
            req = vu_next_request(&vu, &p)
            if tt.t.reqs[req].head_count and tt.t.reqs[req].has_var:
                # No variable is ever set here (no server answers a replay): the
                # request is shown as its digest sees it, with placeholders.
                with nogil:
                    n = z6_tmpl_render_placeholder(&tt.t, req, vu_id, vu_template_seq(&vu, &p), &st, rows)
                if out_bytes is not None:
                    out_bytes.append((req, RENDER_VARIABLES, st.buf[:n]) if n >= 0 else (req, RENDER_REFUSED, None))
                with nogil:
                    z6_tmpl_render(&tt.t, req, vu_id, vu_template_seq(&vu, &p), &st, rows)
            elif tt.t.reqs[req].head_count:
                with nogil:
                    n = z6_tmpl_render(&tt.t, req, vu_id, vu_template_seq(&vu, &p), &st, rows)
                if out_bytes is not None:
                    out_bytes.append((req, RENDER_OK, st.buf[:n]) if n >= 0 else (req, RENDER_REFUSED, None))
            elif out_bytes is not None:
                out_bytes.append((req, RENDER_PLAIN, None))
            count_outcome(&vu, &p)
            if m + 1 == epilogue_at:
                vu_enter_epilogue(&vu, &p)      # its on_stop requests follow
            elif vu.seq > p.n_on_start and vu.step != VU_EPILOGUE:
                draw_ns(&vu.rng, p.think_kind, p.think_a, p.think_b)   # no think time after an on_start request
        digest[0] = st.digest
    finally:
        free(st.buf)
        free(rows)
    return 0


def _checked_vu(PlanArrays arrays, vu_id):
    first, step = arrays.p.first_vu_id, arrays.p.vu_id_step
    last = first + (arrays.p.n_vus - 1) * step
    if not (first <= vu_id <= last and (vu_id - first) % step == 0):
        raise ValueError(f"vu_id must be a plan VU id: {first}..{last}" + (f" in steps of {step}" if step > 1 else ""))
    return int(vu_id)


def rendered_requests(plan, tables, vu_id, count, epilogue_at=None):
    """VU ``vu_id``'s first ``count`` requests as a live run issues them: a list of
    ``(request index, status, bytes)``, status ``RENDER_OK`` with the rendered
    bytes, ``RENDER_PLAIN`` (not templated: the target's pre-serialised bytes are
    sent) or ``RENDER_REFUSED`` (a header value would have held CR/LF/NUL: the
    request failed with ``header_value``), bytes None for the last two.
    ``epilogue_at``: how many requests the VU issued before its `[lifecycle]`
    on_stop requests, which a live run starts whenever the schedule ends (None:
    it did not start them within ``count``)."""
    cdef PlanArrays arrays = PlanArrays(plan, simulated=False)
    cdef uint64_t digest = 0
    out = []
    _replay(arrays, <TemplateTables?>tables, _checked_vu(arrays, vu_id), int(count), out, &digest,
            _epilogue(epilogue_at))
    return out


cdef uint64_t _epilogue(value) except? 0xFFFFFFFFFFFFFFFE:
    if value is None:
        return 0xFFFFFFFFFFFFFFFF
    if value < 0:
        raise ValueError(f"epilogue_at must be >= 0 or None, got {value}")
    return <uint64_t>value


def expected_digests(plan, tables, vu_ids, counts, epilogue_at=None):
    """Each VU's digest of its rendered requests after its first ``counts[k]``
    requests (FNV-1a 64 over the bytes of every successful rendering, in order,
    from ``DIGEST_START``): what a live run records per VU (docs/event-log.md).
    ``epilogue_at``: per VU, the requests before its on_stop ones (as in
    `rendered_requests`; a negative entry or None: none)."""
    cdef PlanArrays arrays = PlanArrays(plan, simulated=False)
    cdef uint64_t digest = 0
    ids = np.ascontiguousarray(vu_ids, dtype=np.uint32)
    cnt = np.ascontiguousarray(counts, dtype=np.uint64)
    if ids.ndim != 1 or cnt.shape != ids.shape:
        raise ValueError("vu_ids and counts must be 1-d arrays of the same length")
    out = np.empty(ids.shape[0], dtype=np.uint64)
    for k in range(ids.shape[0]):
        _replay(arrays, <TemplateTables?>tables, _checked_vu(arrays, int(ids[k])), int(cnt[k]), None, &digest,
                _epilogue(None if epilogue_at is None or epilogue_at[k] < 0 else int(epilogue_at[k])))
        out[k] = digest
    return out
