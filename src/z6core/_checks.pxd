# cython: language_level=3
"""Response checks, run where an engine has a response (inline C; tables in
`plan_t`, z6.plan._checks). `checks_live` judges a captured response (the
driver's raw bytes: heads, then the body); `checks_modelled` a simulated one,
whose status is the modelled one and whose body, headers and JSON fail at the
plan's `check_fail_rate`, by a draw that depends on (seed, VU, request number,
check) alone: the VU's streams are not touched, so adding a check moves no other
draw. Both fill the failed checks' indices and classes (ERR_CHECK_*), in the
request's order, and return how many failed.

Extractions (`extract`, issue 15) are checks of their own kinds, judged the
same way: one passes when it found its value within its variable's max_bytes.
`checks_live` then stores the value in the VU's variable (`vars`, NULL when no
template reads variables); a failed extraction leaves the variable unset.
"""

from libc.stdint cimport int64_t, uint8_t, uint16_t, uint32_t, uint64_t
from libc.string cimport memcpy

from z6core._defs cimport *
from z6core._plan cimport plan_t
from z6core._prng cimport splitmix64
from z6core._template cimport Z6_VAR_UNSET, z6_tmpl_var_room, z6_tvar_t

cdef extern from "z6_check.h" nogil:
    enum:
        Z6_CHECK_STATUS
        Z6_CHECK_BODY_CONTAINS
        Z6_CHECK_BODY_NOT_CONTAINS
        Z6_CHECK_HEADER
        Z6_CHECK_JSON
        Z6_CHECK_EXTRACT_JSON
        Z6_CHECK_EXTRACT_HEADER
        Z6_CHECK_EXTRACT_REGEX
    int z6_check_split(char* buf, size_t* n, size_t* head_len, size_t* body_at)
    size_t z6_check_dechunk(char* body, size_t n)
    int z6_check_header(const char* head, size_t n, const char* name, size_t nn, const char* value, size_t vn)
    int z6_check_contains(const char* body, size_t n, const char* text, size_t m)
    int z6_check_header_value(const char* head, size_t n, const char* name, size_t nn, size_t* at, size_t* length)
    int z6_check_regex(const void* res, size_t k, char* s, size_t n, unsigned group, size_t* at, size_t* length)

cdef extern from "z6_json.h" nogil:
    ctypedef struct z6_json_value_t:
        int type
        size_t start
        size_t len
    enum:
        Z6_JSON_FOUND
        Z6_JSON_MISSING
        Z6_JSON_MALFORMED
    int z6_json_find(const char* doc, size_t n, int complete, const unsigned char* path, size_t path_len,
                     z6_json_value_t* out)
    int z6_json_equals(const char* doc, const z6_json_value_t* v, const unsigned char* expected, size_t expected_len)
    int64_t z6_json_value_text(const char* doc, const z6_json_value_t* v, char* out, size_t max_len)


# What a live response keeps for its checks (plan_t.req_capture).
cdef enum:
    CAPTURE_NONE = 0
    CAPTURE_HEAD = 1
    CAPTURE_BODY = 2


cdef inline bint has_checks(const plan_t* p, uint16_t req) noexcept nogil:
    # Does request `req` have checks to judge (the one test every engine makes per response)?
    return p.check_first != NULL and p.check_first[req + 1] > p.check_first[req]


cdef inline bint checks_status_ok(const plan_t* p, uint32_t k, uint16_t status) noexcept nogil:
    cdef const uint8_t* s = p.check_pool + p.check_a[k]
    cdef uint32_t i
    for i in range(p.check_b[k]):
        if (<uint16_t>s[2 * i] | (<uint16_t>s[2 * i + 1] << 8)) == status:
            return True
    return False


cdef inline bint status_listed(const plan_t* p, uint16_t req, uint16_t status) noexcept nogil:
    # A status of 400 or above that request req's status check lists: its response,
    # once every check passed, is a success (error ERR_STATUS_LISTED on the outcome).
    # A status check is always the request's first check.
    cdef uint32_t k
    if status < 400 or not has_checks(p, req):
        return False
    k = p.check_first[req]
    return p.check_kind[k] == Z6_CHECK_STATUS and checks_status_ok(p, k, status)


cdef inline uint16_t _failure_class(uint8_t kind, bint cut) noexcept nogil:
    if kind == Z6_CHECK_STATUS:
        return ERR_CHECK_STATUS
    if kind == Z6_CHECK_HEADER:
        return ERR_CHECK_HEADER
    if kind == Z6_CHECK_EXTRACT_HEADER:
        return ERR_EXTRACT_HEADER
    if cut:
        return ERR_CHECK_TRUNCATED     # a body or JSON check judged on the first part only
    if kind == Z6_CHECK_BODY_CONTAINS:
        return ERR_CHECK_BODY_CONTAINS
    if kind == Z6_CHECK_BODY_NOT_CONTAINS:
        return ERR_CHECK_BODY_NOT_CONTAINS
    if kind == Z6_CHECK_EXTRACT_JSON:
        return ERR_EXTRACT_JSON
    if kind == Z6_CHECK_EXTRACT_REGEX:
        return ERR_EXTRACT_REGEX
    return ERR_CHECK_JSON


cdef inline uint32_t _u32_at(const uint8_t* p) noexcept nogil:
    return <uint32_t>p[0] | (<uint32_t>p[1] << 8) | (<uint32_t>p[2] << 16) | (<uint32_t>p[3] << 24)


cdef inline uint16_t _store(z6_tvar_t* var, const char* value, size_t n) noexcept nogil:
    # The found value into the VU's variable (no variable: nothing to keep).
    cdef char* room
    if var == NULL:
        return ERR_NONE
    room = z6_tmpl_var_room(var, n)
    if room == NULL:
        return ERR_RESOURCE_EXHAUSTED
    memcpy(room, value, n)
    var.len = <uint32_t>n
    return ERR_NONE


cdef inline uint16_t _extract(const plan_t* p, uint32_t k, uint8_t kind, char* buf, size_t head_len,
                              size_t body_at, size_t body_len, bint have_head, bint cut,
                              z6_tvar_t* vars) noexcept nogil:
    # Extraction k on a captured response: ERR_NONE with the value stored in its
    # variable, else the class of the failure (the variable then unset).
    cdef const uint8_t* arg = p.check_pool + p.check_a[k]
    cdef size_t argn = p.check_b[k], at = 0, length = 0
    cdef uint32_t max_bytes = _u32_at(arg + argn), group = _u32_at(arg + argn + 4)
    cdef z6_tvar_t* var = &vars[p.check_c[k]] if vars != NULL else NULL
    cdef z6_json_value_t value
    cdef int64_t n
    cdef char* room
    cdef bint found
    if var != NULL:
        var.len = Z6_VAR_UNSET
    if kind == Z6_CHECK_EXTRACT_HEADER:
        if not (have_head and z6_check_header_value(buf, head_len, <const char*>arg, argn, &at, &length)):
            return ERR_EXTRACT_HEADER
        if length > max_bytes:
            return ERR_VAR_TOO_LONG
        return _store(var, buf + at, length)
    if kind == Z6_CHECK_EXTRACT_REGEX:
        found = have_head and z6_check_regex(p.check_regex, k, buf + body_at, body_len, group, &at, &length) != 0
        if not found:
            return ERR_CHECK_TRUNCATED if cut else ERR_EXTRACT_REGEX
        if length > max_bytes:
            return ERR_VAR_TOO_LONG
        return _store(var, buf + body_at + at, length)
    if not (have_head and z6_json_find(buf + body_at, body_len, not cut, arg, argn, &value) == Z6_JSON_FOUND):
        return ERR_CHECK_TRUNCATED if cut else ERR_EXTRACT_JSON
    n = z6_json_value_text(buf + body_at, &value, NULL, max_bytes)
    if n == -1:
        return ERR_VAR_TOO_LONG
    if n < 0:
        return ERR_EXTRACT_JSON
    if var == NULL:
        return ERR_NONE
    room = z6_tmpl_var_room(var, <size_t>n)
    if room == NULL:
        return ERR_RESOURCE_EXHAUSTED
    z6_json_value_text(buf + body_at, &value, room, max_bytes)
    var.len = <uint32_t>n
    return ERR_NONE


cdef inline int checks_live(const plan_t* p, uint16_t req, uint16_t status, char* buf, size_t n, bint cut,
                            bint chunked, uint16_t* failed_index, uint16_t* failed_class,
                            z6_tvar_t* vars) noexcept nogil:
    # `buf[0..n)`: what was captured of the response (nothing when the request
    # captures nothing), with one writable byte after it (a regex match may
    # need it); `cut`: its body was longer than the capture limit. `vars`: the
    # VU's variables, which extractions set (NULL: none is read by a template).
    cdef uint32_t k, first = p.check_first[req], last = p.check_first[req + 1]
    cdef size_t head_len = 0, body_at = n, body_len = 0
    cdef const char* pool = <const char*>p.check_pool
    cdef uint8_t kind
    cdef bint ok, have_head = False
    cdef int failed = 0
    cdef uint16_t error
    cdef z6_json_value_t value
    if p.req_capture[req] and n:
        have_head = z6_check_split(buf, &n, &head_len, &body_at) != 0
        if have_head:
            body_len = n - body_at
            if chunked:
                body_len = z6_check_dechunk(buf + body_at, body_len)
    for k in range(first, last):
        kind = p.check_kind[k]
        if kind >= Z6_CHECK_EXTRACT_JSON:
            error = _extract(p, k, kind, buf, head_len, body_at, body_len, have_head, cut, vars)
            if error != ERR_NONE:
                failed_index[failed] = <uint16_t>(k - first)
                failed_class[failed] = error
                failed += 1
            continue
        if kind == Z6_CHECK_STATUS:
            ok = checks_status_ok(p, k, status)
        elif kind == Z6_CHECK_HEADER:
            ok = have_head and z6_check_header(buf, head_len, pool + p.check_a[k], p.check_b[k],
                                               pool + p.check_a[k] + p.check_b[k], p.check_c[k]) != 0
        elif kind == Z6_CHECK_BODY_CONTAINS:
            ok = have_head and z6_check_contains(buf + body_at, body_len, pool + p.check_a[k], p.check_b[k]) != 0
        elif kind == Z6_CHECK_BODY_NOT_CONTAINS:
            ok = have_head and z6_check_contains(buf + body_at, body_len, pool + p.check_a[k], p.check_b[k]) == 0
        else:
            ok = (have_head and z6_json_find(buf + body_at, body_len, not cut, p.check_pool + p.check_a[k],
                                             p.check_b[k], &value) == Z6_JSON_FOUND
                  and z6_json_equals(buf + body_at, &value, p.check_pool + p.check_a[k] + p.check_b[k],
                                     p.check_c[k]) != 0)
        if not ok:
            failed_index[failed] = <uint16_t>(k - first)
            failed_class[failed] = _failure_class(kind, cut)
            failed += 1
    return failed


cdef inline int checks_modelled(const plan_t* p, uint16_t req, uint16_t status, uint64_t vu_id, uint64_t seq,
                                uint16_t* failed_index, uint16_t* failed_class) noexcept nogil:
    cdef uint32_t k, first = p.check_first[req], last = p.check_first[req + 1]
    cdef uint8_t kind
    cdef bint ok
    cdef int failed = 0
    cdef uint64_t draw
    for k in range(first, last):
        kind = p.check_kind[k]
        if kind == Z6_CHECK_STATUS:
            ok = checks_status_ok(p, k, status)
        elif p.check_fail_rate > 0.0:
            # Stream 2 of the VU, indexed by request number and check: no state.
            draw = splitmix64(splitmix64(splitmix64(splitmix64(p.seed, vu_id), 2), seq), k - first)
            ok = <double>(draw >> 11) * (1.0 / 9007199254740992.0) >= p.check_fail_rate
        else:
            ok = True
        if not ok:
            failed_index[failed] = <uint16_t>(k - first)
            failed_class[failed] = _failure_class(kind, False)
            failed += 1
    return failed
