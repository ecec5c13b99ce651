# cython: language_level=3
"""The C HTTP/1.1 response parser (z6_http.h), for the live driver.

`from z6core._http cimport *` gives the parser state, its result codes and limits,
and the three calls; all run without the GIL and never raise. The rules and limits
are in docs/http-parser.md.
"""

from libc.stdint cimport uint8_t, uint16_t, uint64_t


cdef extern from "z6_http.h" nogil:
    ctypedef struct z6_http_resp_t:
        # Read these; everything else in the struct is the parser's own state.
        uint16_t status
        uint8_t keep_alive
        uint8_t http_minor
        uint64_t body_bytes
        uint64_t wire_bytes

    enum:
        Z6_HTTP_MORE
        Z6_HTTP_DONE
        Z6_HTTP_ERR_PROTOCOL
        Z6_HTTP_ERR_LIMIT
        Z6_HTTP_ERR_CLOSED

    enum:
        Z6_HTTP_MAX_HEADER_BYTES
        Z6_HTTP_MAX_LINE_BYTES

    const uint64_t Z6_HTTP_MAX_BODY_BYTES

    void z6_http_reset(z6_http_resp_t* p, int head_request) noexcept
    int z6_http_feed(z6_http_resp_t* p, const char* data, size_t n, size_t* used) noexcept
    int z6_http_eof(z6_http_resp_t* p) noexcept
    int z6_http_chunked(const z6_http_resp_t* p) noexcept
