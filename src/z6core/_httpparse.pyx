# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True
"""Python access to the C HTTP/1.1 response parser (z6_http.h), for tests only.

The live driver calls the inline C functions declared in `_http.pxd` directly; these
wrappers run the very same functions, so a test of a wrapper is a test of what the
driver computes. Every piece is handed to the parser in a buffer of its own, sized
exactly, so a read past the end of a piece is caught by AddressSanitizer (a slice
of one bytes object would hide it: the next piece, or the object's trailing NUL,
would be readable).
"""

from collections import namedtuple

from libc.stdint cimport uint64_t
from libc.stdlib cimport free, malloc
from libc.string cimport memcpy

from z6core._http cimport (Z6_HTTP_DONE, Z6_HTTP_ERR_CLOSED, Z6_HTTP_ERR_LIMIT,
                           Z6_HTTP_ERR_PROTOCOL, Z6_HTTP_MAX_BODY_BYTES,
                           Z6_HTTP_MAX_HEADER_BYTES, Z6_HTTP_MAX_LINE_BYTES, Z6_HTTP_MORE,
                           z6_http_eof, z6_http_feed, z6_http_reset, z6_http_resp_t)

__all__ = ["MORE", "DONE", "ERR_PROTOCOL", "ERR_LIMIT", "ERR_CLOSED", "RESULT_NAMES",
           "MAX_HEADER_BYTES", "MAX_LINE_BYTES", "MAX_BODY_BYTES", "STATE_SIZE",
           "ParseResult", "ResponseParser", "parse_response",
           "JSON_FOUND", "JSON_MISSING", "JSON_MALFORMED", "json_find", "json_equals", "check_response"]

MORE = Z6_HTTP_MORE
DONE = Z6_HTTP_DONE
ERR_PROTOCOL = Z6_HTTP_ERR_PROTOCOL
ERR_LIMIT = Z6_HTTP_ERR_LIMIT
ERR_CLOSED = Z6_HTTP_ERR_CLOSED
RESULT_NAMES = {MORE: "more", DONE: "done", ERR_PROTOCOL: "protocol", ERR_LIMIT: "limit",
                ERR_CLOSED: "closed"}

MAX_HEADER_BYTES = Z6_HTTP_MAX_HEADER_BYTES
MAX_LINE_BYTES = Z6_HTTP_MAX_LINE_BYTES
MAX_BODY_BYTES = Z6_HTTP_MAX_BODY_BYTES
STATE_SIZE = sizeof(z6_http_resp_t)

ParseResult = namedtuple("ParseResult", ["code", "name", "status", "keep_alive", "http_minor",
                                         "body_bytes", "wire_bytes", "consumed"])
ParseResult.__doc__ = """One response parsed from a byte string.

``consumed`` is the sum of ``*used`` over the feeds (bytes of the input the response
took); ``wire_bytes`` is the parser's own count, and the two must agree."""


cdef int feed_piece(z6_http_resp_t* resp, const unsigned char[::1] data, size_t start, size_t stop,
                    size_t* used) except -100:
    """Feed data[start:stop] from a buffer holding exactly those bytes."""
    cdef size_t n = stop - start
    cdef char* piece = NULL
    cdef int rc
    if n:
        piece = <char*>malloc(n)
        if piece == NULL:
            raise MemoryError()
        memcpy(piece, &data[start], n)
    # With n == 0 the parser is handed NULL: touching it would crash, not pass.
    rc = z6_http_feed(resp, piece, n, used)
    free(piece)
    return rc


cdef class ResponseParser:
    """One parser state, fed piece by piece (as the driver does with each read)."""

    cdef z6_http_resp_t _resp

    def __init__(self, bint head=False):
        z6_http_reset(&self._resp, head)

    def reset(self, bint head=False):
        """Start a new response (``head``: the request was HEAD)."""
        z6_http_reset(&self._resp, head)

    def feed(self, const unsigned char[::1] data):
        """Feed ``data``; returns ``(code, used)``."""
        cdef size_t used = 0
        cdef int rc = feed_piece(&self._resp, data, 0, data.shape[0], &used)
        return rc, used

    def feed_repeated(self, const unsigned char[::1] data, uint64_t times):
        """Feed ``data`` up to ``times`` times, stopping at the first result other
        than MORE; returns ``(code, used_total)``. Runs in C, so a test can push a
        body of 2**40 bytes through the parser in milliseconds (body bytes are
        counted, never read)."""
        cdef size_t n = data.shape[0]
        cdef size_t used = 0
        cdef uint64_t total = 0, done_times = 0
        cdef int rc = Z6_HTTP_MORE
        cdef char* piece = <char*>malloc(n if n else 1)
        if piece == NULL:
            raise MemoryError()
        if n:
            memcpy(piece, &data[0], n)
        with nogil:
            while done_times < times and rc == Z6_HTTP_MORE:
                rc = z6_http_feed(&self._resp, piece, n, &used)
                total += used
                done_times += 1
        free(piece)
        return rc, total

    def eof(self):
        """The peer closed; returns the result code."""
        return z6_http_eof(&self._resp)

    @property
    def status(self):
        return self._resp.status

    @property
    def keep_alive(self):
        return bool(self._resp.keep_alive)

    @property
    def http_minor(self):
        return self._resp.http_minor

    @property
    def body_bytes(self):
        return self._resp.body_bytes

    @property
    def wire_bytes(self):
        return self._resp.wire_bytes


def parse_response(data, bint head=False, splits=(), bint eof=False):
    """Parse one response from ``data`` fed in pieces cut at the offsets ``splits``.

    ``splits`` must be non-decreasing offsets within ``data`` (a repeated offset feeds
    an empty piece). Feeding stops at the first result other than MORE; if every
    piece gives MORE and ``eof`` is true, the peer's close is reported next.
    """
    cdef const unsigned char[::1] view = bytes(data)
    cdef size_t size = view.shape[0]
    cdef size_t start = 0, used = 0, consumed = 0
    cdef z6_http_resp_t resp
    cdef int rc = Z6_HTTP_MORE
    cuts = [int(s) for s in splits]
    if any(s < 0 or s > size for s in cuts) or cuts != sorted(cuts):
        raise ValueError(f"splits must be non-decreasing offsets in [0, {size}], got {cuts}")
    z6_http_reset(&resp, head)
    for stop in cuts + [size]:
        rc = feed_piece(&resp, view, start, stop, &used)
        consumed += used
        start = stop
        if rc != Z6_HTTP_MORE:
            break
    if rc == Z6_HTTP_MORE and eof:
        rc = z6_http_eof(&resp)
    return ParseResult(rc, RESULT_NAMES[rc], resp.status, bool(resp.keep_alive), resp.http_minor,
                       resp.body_bytes, resp.wire_bytes, consumed)


# ---------------------------------------------------------------- response checks (z6_json.h, z6_check.h)

from z6core._checks cimport (Z6_JSON_FOUND, Z6_JSON_MALFORMED, Z6_JSON_MISSING, z6_check_dechunk, z6_check_split,
                             z6_json_equals, z6_json_find, z6_json_value_t)

JSON_FOUND = Z6_JSON_FOUND
JSON_MISSING = Z6_JSON_MISSING
JSON_MALFORMED = Z6_JSON_MALFORMED


cdef char* _exact_copy(const unsigned char[::1] data) except NULL:
    # The bytes in a buffer of exactly their size (one spare byte for an empty
    # input), so a read past the end is caught by AddressSanitizer.
    cdef size_t n = data.shape[0]
    cdef char* out = <char*>malloc(n if n else 1)
    if out == NULL:
        raise MemoryError()
    if n:
        memcpy(out, &data[0], n)
    return out


def json_find(const unsigned char[::1] doc, const unsigned char[::1] path, bint complete=True):
    """``(code, type, value bytes)`` of the compiled ``path`` in ``doc``
    (`z6.scenario._json_path.compile_json_path`); bytes are None unless found."""
    cdef char* d = _exact_copy(doc)
    cdef char* pth = _exact_copy(path)
    cdef z6_json_value_t v
    cdef int code
    try:
        code = z6_json_find(d, doc.shape[0], complete, <const unsigned char*>pth, path.shape[0], &v)
        if code != Z6_JSON_FOUND:
            return code, 0, None
        return code, v.type, d[v.start:v.start + v.len]
    finally:
        free(d)
        free(pth)


def json_equals(const unsigned char[::1] doc, const unsigned char[::1] path, const unsigned char[::1] expected,
                bint complete=True):
    """Whether the value at ``path`` is found and equals ``expected``
    (`z6.scenario._json_path.encode_expected`): what a JSON check decides."""
    cdef char* d = _exact_copy(doc)
    cdef char* pth = _exact_copy(path)
    cdef char* want = _exact_copy(expected)
    cdef z6_json_value_t v
    try:
        if z6_json_find(d, doc.shape[0], complete, <const unsigned char*>pth, path.shape[0], &v) != Z6_JSON_FOUND:
            return False
        return z6_json_equals(d, &v, <const unsigned char*>want, expected.shape[0]) != 0
    finally:
        free(d)
        free(pth)
        free(want)


def check_response(const unsigned char[::1] raw, bint chunked=False):
    """A captured response split as the checks see it: ``(head, body)`` with a
    chunked body decoded, or None when no complete head was captured."""
    cdef char* buf = _exact_copy(raw)
    cdef size_t head_len = 0, body_at = 0, body_len, n = raw.shape[0]
    try:
        if not z6_check_split(buf, &n, &head_len, &body_at):
            return None
        body_len = n - body_at
        if chunked:
            body_len = z6_check_dechunk(buf + body_at, body_len)
        return buf[:head_len], buf[body_at:body_at + body_len]
    finally:
        free(buf)
