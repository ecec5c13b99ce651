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
           "JSON_FOUND", "JSON_MISSING", "JSON_MALFORMED", "json_find", "json_equals", "check_response",
           "extract_value", "CookieJar", "cookie_date", "JAR_MAX_COOKIES", "COOKIE_MAX_BYTES",
           "redirect_target", "redirect_request"]

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


# ---------------------------------------------------------------- extractions (_checks.pxd's _extract)

from libc.stdint cimport uint8_t, uint16_t, uint32_t
from libc.string cimport memset

from z6core._checks cimport checks_live
from z6core._plan cimport plan_t
from z6core._template cimport Z6_VAR_UNSET, z6_tmpl_vars_clear, z6_tvar_t

cdef extern from "z6_check.h" nogil:
    void* z6_regex_alloc(size_t n)
    int z6_regex_compile(void* res, size_t k, const char* pattern, char* err, size_t err_len, size_t* groups)
    void z6_regex_free_slot(void* res, size_t k)
    enum:
        Z6_CHECK_EXTRACT_REGEX


def extract_value(const unsigned char[::1] raw, int kind, const unsigned char[::1] arg, uint32_t max_bytes=4096,
                  uint32_t group=0, bint chunked=False, bint cut=False, uint16_t status=200):
    """One extraction judged on a captured response as the live driver judges it
    (`_checks.pxd`): ``(error class, value)``, class 0 and the variable's bytes
    when it was found, else the class and None. ``kind`` is a
    `z6.scenario.CHECK_KINDS` index (5 to 7); ``arg`` the compiled JSON path,
    the lower-cased header name or the POSIX regex."""
    cdef plan_t p
    cdef uint32_t first[2]
    cdef uint8_t kinds[1]
    cdef uint32_t a[1]
    cdef uint32_t b[1]
    cdef uint32_t c[1]
    cdef uint8_t capture[1]
    cdef uint16_t failed_index[1]
    cdef uint16_t failed_class[1]
    cdef z6_tvar_t var
    cdef char err[256]
    cdef size_t groups
    cdef void* regex = NULL
    cdef char* buf
    cdef int failed
    if not 5 <= kind <= 7:
        raise ValueError(f"kind must be an extraction kind (5 to 7), got {kind}")
    pool = bytes(arg) + max_bytes.to_bytes(4, "little") + group.to_bytes(4, "little")
    memset(&p, 0, sizeof(plan_t))
    first[0], first[1] = 0, 1
    kinds[0], a[0], b[0], c[0] = kind, 0, arg.shape[0], 0
    capture[0] = 2
    p.check_first, p.check_kind, p.check_a, p.check_b, p.check_c = first, kinds, a, b, c
    p.check_pool = <const uint8_t*><const char*>pool
    p.req_capture = capture
    if kind == Z6_CHECK_EXTRACT_REGEX:
        regex = z6_regex_alloc(1)
        if regex == NULL:
            raise MemoryError()
        if z6_regex_compile(regex, 0, bytes(arg) + b"\0", err, sizeof(err), &groups) != 0:
            free(regex)
            raise ValueError(err.decode("utf-8", "replace"))
        p.check_regex = regex
    buf = <char*>malloc(raw.shape[0] + 1)     # the capture's spare byte
    if buf == NULL:
        raise MemoryError()
    if raw.shape[0]:
        memcpy(buf, &raw[0], raw.shape[0])
    var.p, var.len, var.cap = NULL, Z6_VAR_UNSET, 0
    try:
        failed = checks_live(&p, 0, status, buf, raw.shape[0], cut, chunked, failed_index, failed_class, &var)
        if failed:
            return int(failed_class[0]), None
        return 0, var.p[:var.len] if var.len else b""
    finally:
        free(buf)
        z6_tmpl_vars_clear(&var, 1)
        if regex != NULL:
            z6_regex_free_slot(regex, 0)
            free(regex)


# ---------------------------------------------------------------- the cookie jar (z6_cookie.h)

from libc.stdint cimport int64_t

from z6core._cookie cimport (Z6_COOKIE_MAX_BYTES, Z6_JAR_MAX_COOKIES, z6_cookie_parse_date, z6_jar_clear,
                             z6_jar_from_head, z6_jar_header, z6_jar_t)


JAR_MAX_COOKIES = Z6_JAR_MAX_COOKIES
COOKIE_MAX_BYTES = Z6_COOKIE_MAX_BYTES


def cookie_date(const unsigned char[::1] text):
    """An Expires value as seconds since the epoch (RFC 6265 5.1.1), or None."""
    cdef char* d = _exact_copy(text)
    cdef int64_t t = 0
    try:
        return int(t) if z6_cookie_parse_date(d, text.shape[0], &t) else None
    finally:
        free(d)


cdef class CookieJar:
    """One VU's cookie jar as the live driver keeps it (tests): ``store`` a
    response head's Set-Cookie lines, ``header`` the Cookie line for a request."""
    cdef z6_jar_t jar
    cdef bytes host

    def __cinit__(self, host=b"example.test"):
        memset(&self.jar, 0, sizeof(z6_jar_t))
        self.host = bytes(host)

    def __dealloc__(self):
        z6_jar_clear(&self.jar)

    def __len__(self):
        return self.jar.n

    def store(self, const unsigned char[::1] head, bytes request_path=b"/", uint64_t now_ns=0,
              int64_t now_unix=1_700_000_000):
        cdef char* h = _exact_copy(head)
        cdef int r
        try:
            r = z6_jar_from_head(&self.jar, h, head.shape[0], self.host, len(self.host), request_path,
                                 len(request_path), now_ns, now_unix)
        finally:
            free(h)
        if r < 0:
            raise MemoryError()
        return r

    def header(self, bytes path=b"/", bint tls=False, uint64_t now_ns=0):
        cdef size_t n = z6_jar_header(&self.jar, path, len(path), tls, now_ns, NULL, 0)
        cdef char* out
        if n == 0:
            return b""
        out = <char*>malloc(n)
        if out == NULL:
            raise MemoryError()
        try:
            z6_jar_header(&self.jar, path, len(path), tls, now_ns, out, n)
            return out[:n]
        finally:
            free(out)


from z6core._redirect cimport (Z6_REDIR_BAD, Z6_REDIR_OFFSITE, Z6_REDIR_SAME, z6_redirect_method_len,
                               z6_redirect_request, z6_redirect_resolve, z6_redirect_to_get)

REDIRECT_RESULTS = {Z6_REDIR_SAME: "same", Z6_REDIR_OFFSITE: "offsite", Z6_REDIR_BAD: "bad"}


def redirect_target(const unsigned char[::1] location, bint tls, bytes host, unsigned port, bytes current=b"/",
                    size_t cap=8192):
    """Where a Location value sends the live driver (tests): ``("same", target)``
    with the request target to ask for, or ``("offsite", None)`` / ``("bad", None)``."""
    cdef char* loc = _exact_copy(location)
    cdef char* cur = _exact_copy(current)
    cdef char* out = <char*>malloc(cap if cap else 1)
    cdef size_t n = 0
    cdef int r
    try:
        if out == NULL:
            raise MemoryError()
        r = z6_redirect_resolve(loc, location.shape[0], tls, host, len(host), port, cur, len(current), out, cap, &n)
        return REDIRECT_RESULTS[r], (out[:n] if r == Z6_REDIR_SAME else None)
    finally:
        free(loc)
        free(cur)
        free(out)


def redirect_request(const unsigned char[::1] request, bytes target, unsigned status):
    """The request the live driver sends after a redirect with ``status`` to
    ``target`` (tests): the same request, its method turned to GET where a
    browser would (then without its body); None when it has no request head."""
    cdef size_t n = request.shape[0]
    cdef char* req = _exact_copy(request)
    cdef char* out = <char*>malloc(n + len(target) + 8)
    cdef size_t m, written
    try:
        if out == NULL:
            raise MemoryError()
        m = z6_redirect_method_len(req, n)
        if m == 0:
            return None
        written = z6_redirect_request(req, n, target, len(target), z6_redirect_to_get(status, req, m), out)
        return out[:written] if written else None
    finally:
        free(req)
        free(out)
