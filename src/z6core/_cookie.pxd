# cython: language_level=3
"""The per-VU cookie jar of the live driver (declarations only; `z6_cookie.h`
keeps and reads it)."""

from libc.stdint cimport int64_t, uint32_t, uint64_t

cdef extern from "z6_cookie.h" nogil:
    ctypedef struct z6_jar_t:
        uint32_t n
    const int Z6_JAR_MAX_COOKIES
    const int Z6_COOKIE_MAX_BYTES
    void z6_jar_clear(z6_jar_t* jar)
    int z6_jar_from_head(z6_jar_t* jar, const char* head, size_t n, const char* host, size_t host_len,
                         const char* req_path, size_t req_path_len, uint64_t now_ns, int64_t now_unix)
    size_t z6_jar_header(z6_jar_t* jar, const char* rp, size_t rn, int tls, uint64_t now_ns, char* out, size_t cap)
    size_t z6_cookie_request_path(const char* req, size_t n, size_t* at)
    size_t z6_cookie_head_end(const char* req, size_t n)
    int64_t z6_cookie_unix_now()
    int z6_cookie_parse_date(const char* s, size_t n, int64_t* out)
