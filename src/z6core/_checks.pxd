# cython: language_level=3
"""Response checks, run where an engine has a response (inline C; tables in
`plan_t`, z6.plan._checks). `checks_live` judges a captured response (the
driver's raw bytes: heads, then the body); `checks_modelled` a simulated one,
whose status is the modelled one and whose body, headers and JSON fail at the
plan's `check_fail_rate`, by a draw that depends on (seed, VU, request number,
check) alone: the VU's streams are not touched, so adding a check moves no other
draw. Both fill the failed checks' indices and classes (ERR_CHECK_*), in the
request's order, and return how many failed.
"""

from libc.stdint cimport uint8_t, uint16_t, uint32_t, uint64_t

from z6core._defs cimport *
from z6core._plan cimport plan_t
from z6core._prng cimport splitmix64

cdef extern from "z6_check.h" nogil:
    enum:
        Z6_CHECK_STATUS
        Z6_CHECK_BODY_CONTAINS
        Z6_CHECK_BODY_NOT_CONTAINS
        Z6_CHECK_HEADER
        Z6_CHECK_JSON
    int z6_check_split(char* buf, size_t* n, size_t* head_len, size_t* body_at)
    size_t z6_check_dechunk(char* body, size_t n)
    int z6_check_header(const char* head, size_t n, const char* name, size_t nn, const char* value, size_t vn)
    int z6_check_contains(const char* body, size_t n, const char* text, size_t m)

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


cdef inline uint16_t _failure_class(uint8_t kind, bint cut) noexcept nogil:
    if kind == Z6_CHECK_STATUS:
        return ERR_CHECK_STATUS
    if kind == Z6_CHECK_HEADER:
        return ERR_CHECK_HEADER
    if cut:
        return ERR_CHECK_TRUNCATED     # a body or JSON check judged on the first part only
    if kind == Z6_CHECK_BODY_CONTAINS:
        return ERR_CHECK_BODY_CONTAINS
    if kind == Z6_CHECK_BODY_NOT_CONTAINS:
        return ERR_CHECK_BODY_NOT_CONTAINS
    return ERR_CHECK_JSON


cdef inline int checks_live(const plan_t* p, uint16_t req, uint16_t status, char* buf, size_t n, bint cut,
                            bint chunked, uint16_t* failed_index, uint16_t* failed_class) noexcept nogil:
    # `buf[0..n)`: what was captured of the response (nothing when the request
    # captures nothing); `cut`: its body was longer than the capture limit.
    cdef uint32_t k, first = p.check_first[req], last = p.check_first[req + 1]
    cdef size_t head_len = 0, body_at = n, body_len = 0
    cdef const char* pool = <const char*>p.check_pool
    cdef uint8_t kind
    cdef bint ok, have_head = False
    cdef int failed = 0
    cdef z6_json_value_t value
    if p.req_capture[req] and n:
        have_head = z6_check_split(buf, &n, &head_len, &body_at) != 0
        if have_head:
            body_len = n - body_at
            if chunked:
                body_len = z6_check_dechunk(buf + body_at, body_len)
    for k in range(first, last):
        kind = p.check_kind[k]
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
