"""The built-in target's HTTP/1.1 request reader: bytes in, complete requests out.

`RequestReader.feed(data)` returns, in arrival order, every request whose head and
body are complete, a `CONTINUE` marker where a request asked for
``Expect: 100-continue``, and at most one `HttpError` last (after which the
connection is answered and closed). Bodies are counted and discarded, never kept:
``Content-Length`` bodies and chunked bodies (extensions and trailers accepted).

Limits: a request head (request line and headers) of at most `MAX_HEAD_BYTES`,
a chunk-size line of at most `MAX_CHUNK_LINE_BYTES`, trailers of at most
`MAX_HEAD_BYTES`. Lines end in CRLF; a bare LF is not a line end.
"""

from __future__ import annotations

import re
from typing import Final, Optional, Union

__all__ = [
    "MAX_HEAD_BYTES",
    "MAX_CHUNK_LINE_BYTES",
    "Request",
    "HttpError",
    "CONTINUE",
    "RequestReader",
    "ReaderItem",
]

MAX_HEAD_BYTES: Final = 65536
MAX_CHUNK_LINE_BYTES: Final = 4096

_TOKEN_CHARS = rb"[!#$%&'*+\-.^_`|~0-9A-Za-z]+"
_TOKEN = re.compile(_TOKEN_CHARS)
_HEX = re.compile(rb"[0-9A-Fa-f]{1,16}")
# The usual request line, in one match; anything else is looked at piece by piece.
_REQUEST_LINE = re.compile(rb"(" + _TOKEN_CHARS + rb") (/[!-~]*) HTTP/1\.([01])")
# A header section whose every line is "name: value" (no obsolete folding, no bare CR
# or LF, no NUL: RFC 9110 5.5); checked in one match so that headers z6 does not read
# cost no Python code.
_FIELD_LINES = re.compile(rb"(?:" + _TOKEN_CHARS + rb":[^\r\n\x00]*(?:\r\n|\Z))*")


class Request:
    """One complete request: what the routes and the access log need, nothing more."""

    __slots__ = ("method", "target", "minor", "keep_alive", "body_length")

    def __init__(self, method: str, target: str, minor: int, keep_alive: bool) -> None:
        self.method = method
        self.target = target          # as received: path and query
        self.minor = minor            # HTTP/1.<minor>
        self.keep_alive = keep_alive  # what the request asked for (version default, Connection)
        self.body_length = 0          # decoded body bytes, known once the body is read

    def __repr__(self) -> str:
        return (f"Request({self.method} {self.target} HTTP/1.{self.minor}, "
                f"keep_alive={self.keep_alive}, body_length={self.body_length})")


class HttpError:
    """A request the server cannot read: answered with ``status`` and then closed.

    ``method`` and ``target`` are those of the request line when it was readable.
    """

    __slots__ = ("status", "message", "method", "target")

    def __init__(self, status: int, message: str, method: str = "-", target: str = "-") -> None:
        self.status = status
        self.message = message
        self.method = method
        self.target = target

    def __repr__(self) -> str:
        return f"HttpError({self.status}, {self.message!r})"


class _Continue:
    """The point in the reply order where an interim ``100 Continue`` is due."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "CONTINUE"


CONTINUE: Final = _Continue()

ReaderItem = Union[Request, HttpError, _Continue]


class _BadRequest(Exception):
    def __init__(self, status: int, message: str, method: str = "-", target: str = "-") -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.method = method
        self.target = target


# Reader states.
_HEAD: Final = 0
_LENGTH_BODY: Final = 1
_CHUNK_SIZE: Final = 2
_CHUNK_DATA: Final = 3
_CHUNK_DATA_END: Final = 4
_TRAILERS: Final = 5
_FAILED: Final = 6


class RequestReader:
    """Incremental reader of one connection's request stream (pipelining included)."""

    __slots__ = ("_buffer", "_state", "_remaining", "_request", "_trailer_bytes", "_scanned")

    def __init__(self) -> None:
        self._buffer = bytearray()
        self._state = _HEAD
        self._remaining = 0
        self._request: Request | None = None
        self._trailer_bytes = 0
        # Bytes of a partial line already searched for its end: a head or line arriving
        # a byte at a time is scanned once, not once per byte.
        self._scanned = 0

    @property
    def failed(self) -> bool:
        """True once an `HttpError` was returned: the stream cannot be read further."""
        return self._state == _FAILED

    @property
    def idle(self) -> bool:
        """True between requests with nothing partial buffered."""
        return self._state == _HEAD and not self._buffer

    @property
    def in_head(self) -> bool:
        """True while part of a request head is buffered (its end not yet read)."""
        return self._state == _HEAD and bool(self._buffer)

    def feed(self, data: bytes) -> list[ReaderItem]:
        if self._state == _FAILED:
            return []
        buffer = self._buffer
        buffer += data
        items: list[ReaderItem] = []
        position = 0
        try:
            while True:
                state = self._state
                if state == _HEAD:
                    # Robustness (RFC 9112 2.2): empty lines before a request line are ignored.
                    while buffer.startswith(b"\r\n", position):
                        position += 2
                    end = buffer.find(b"\r\n\r\n", position + self._scanned)
                    self._scanned = 0
                    if end < 0:
                        if len(buffer) - position > MAX_HEAD_BYTES:
                            raise _BadRequest(431, f"request head longer than {MAX_HEAD_BYTES} bytes")
                        self._scanned = max(0, len(buffer) - position - 3)
                        break
                    if end - position > MAX_HEAD_BYTES:
                        raise _BadRequest(431, f"request head longer than {MAX_HEAD_BYTES} bytes")
                    head = bytes(buffer[position:end])
                    position = end + 4
                    self._start_request(head, items)
                elif state == _LENGTH_BODY:
                    available = len(buffer) - position
                    if available == 0:
                        break
                    taken = min(available, self._remaining)
                    position += taken
                    self._remaining -= taken
                    if self._remaining == 0:
                        self._finish_request(items)
                elif state == _CHUNK_SIZE:
                    end = buffer.find(b"\r\n", position + self._scanned)
                    self._scanned = 0
                    if end < 0:
                        if len(buffer) - position > MAX_CHUNK_LINE_BYTES:
                            raise _BadRequest(400, f"chunk-size line longer than {MAX_CHUNK_LINE_BYTES} bytes")
                        self._scanned = max(0, len(buffer) - position - 1)
                        break
                    line = bytes(buffer[position:end])
                    position = end + 2
                    size_text = line.split(b";", 1)[0].strip(b" \t")
                    if not _HEX.fullmatch(size_text):
                        raise _BadRequest(400, f"malformed chunk size {line[:40]!r}")
                    size = int(size_text, 16)
                    if size == 0:
                        self._state = _TRAILERS
                        self._trailer_bytes = 0
                    else:
                        self._remaining = size
                        self._state = _CHUNK_DATA
                elif state == _CHUNK_DATA:
                    available = len(buffer) - position
                    if available == 0:
                        break
                    taken = min(available, self._remaining)
                    position += taken
                    self._remaining -= taken
                    assert self._request is not None
                    self._request.body_length += taken
                    if self._remaining == 0:
                        self._state = _CHUNK_DATA_END
                elif state == _CHUNK_DATA_END:
                    if len(buffer) - position < 2:
                        break
                    if buffer[position:position + 2] != b"\r\n":
                        raise _BadRequest(400, "chunk data not followed by CRLF")
                    position += 2
                    self._state = _CHUNK_SIZE
                else:  # _TRAILERS: field lines until an empty line
                    end = buffer.find(b"\r\n", position + self._scanned)
                    self._scanned = 0
                    if end < 0:
                        if self._trailer_bytes + len(buffer) - position > MAX_HEAD_BYTES:
                            raise _BadRequest(431, f"trailer section longer than {MAX_HEAD_BYTES} bytes")
                        self._scanned = max(0, len(buffer) - position - 1)
                        break
                    self._trailer_bytes += end - position + 2
                    if self._trailer_bytes > MAX_HEAD_BYTES:
                        raise _BadRequest(431, f"trailer section longer than {MAX_HEAD_BYTES} bytes")
                    empty = end == position
                    position = end + 2
                    if empty:
                        self._finish_request(items)
        except _BadRequest as exc:
            request = self._request
            if request is not None:
                exc.method, exc.target = request.method, request.target
            items.append(HttpError(exc.status, exc.message, exc.method, exc.target))
            self._state = _FAILED
            self._request = None
            buffer.clear()
            return items
        del buffer[:position]
        return items

    def _start_request(self, head: bytes, items: list[ReaderItem]) -> None:
        parsed = _parsed_heads.get(head)
        if parsed is None:
            parsed = _parse_head(head)
            if len(head) <= _CACHED_HEAD_BYTES:
                if len(_parsed_heads) >= _CACHED_HEADS:
                    _parsed_heads.clear()
                _parsed_heads[head] = parsed
        method, target, minor, keep_alive, content_length, chunked, expect_continue = parsed
        self._request = request = Request(method, target, minor, keep_alive)
        if chunked:
            self._state = _CHUNK_SIZE
        elif content_length:
            self._state = _LENGTH_BODY
            self._remaining = content_length
            request.body_length = content_length
        else:
            items.append(request)
            self._request = None
            return
        if expect_continue:
            items.append(CONTINUE)

    def _finish_request(self, items: list[ReaderItem]) -> None:
        assert self._request is not None
        items.append(self._request)
        self._request = None
        self._state = _HEAD


# A load generator sends the same few request heads again and again: each distinct
# head is parsed once. Bounded: heads up to 1 KiB, and the table starts afresh when full.
_CACHED_HEADS: Final = 512
_CACHED_HEAD_BYTES: Final = 1024
_ParsedHead = tuple[str, str, int, bool, int, bool, bool]
_parsed_heads: dict[bytes, _ParsedHead] = {}


def _parse_head(head: bytes) -> _ParsedHead:
    """(method, target, minor version, keep-alive, body length, chunked, expect 100-continue).

    A pure function of the head's bytes (what makes the cache above sound).
    """
    line_end = head.find(b"\r\n")
    request_line, fields = (head, b"") if line_end < 0 else (head[:line_end], head[line_end + 2:])
    method, target, minor = _parse_request_line(request_line)
    try:
        content_length, chunked, expect_continue, connection = _parse_fields(fields)
    except _BadRequest as exc:
        exc.method, exc.target = method, target
        raise
    keep_alive = minor >= 1 if connection is None else connection
    # Expect is ignored for HTTP/1.0 (RFC 9110 10.1.1) and when there is no body.
    expect_continue = expect_continue and minor >= 1 and (chunked or content_length > 0)
    return method, target, minor, keep_alive, content_length, chunked, expect_continue


def _parse_request_line(line: bytes) -> tuple[str, str, int]:
    match = _REQUEST_LINE.fullmatch(line)
    if match is not None:
        method, target, minor_digit = match.groups()
        return method.decode("ascii"), target.decode("ascii"), 1 if minor_digit == b"1" else 0
    parts = line.split(b" ")
    if len(parts) != 3 or not _TOKEN.fullmatch(parts[0]) or not parts[1]:
        raise _BadRequest(400, f"malformed request line {line[:80]!r}")
    method_bytes, target_bytes, version = parts
    if re.fullmatch(rb"HTTP/\d\.\d", version):
        if version not in (b"HTTP/1.0", b"HTTP/1.1"):
            raise _BadRequest(505, f"HTTP version {version[5:].decode('ascii')} not supported (1.0 and 1.1 are)")
    else:
        raise _BadRequest(400, f"malformed request line {line[:80]!r}")
    minor = 1 if version == b"HTTP/1.1" else 0
    if not all(0x21 <= byte <= 0x7E for byte in target_bytes):
        raise _BadRequest(400, f"request target has a byte outside visible ASCII: {target_bytes[:80]!r}")
    target = target_bytes.decode("ascii")
    if target != "*" and not target.startswith("/"):
        # Absolute form (a request meant for a proxy): serve its path.
        scheme, sep, rest = target.partition("://")
        if not sep or scheme.lower() not in ("http", "https"):
            raise _BadRequest(400, f"request target must be a path, got {target[:80]!r}")
        slash = rest.find("/")
        target = rest[slash:] if slash >= 0 else "/"
    return method_bytes.decode("ascii"), target, minor


def _parse_fields(fields: bytes) -> tuple[int, bool, bool, Optional[bool]]:
    """The headers that decide framing and persistence.

    Returns (body length, chunked, Expect: 100-continue, what Connection asks:
    True keep-alive, False close, None nothing).
    """
    if _FIELD_LINES.fullmatch(fields) is None:
        for line in fields.split(b"\r\n"):
            name, colon, _ = line.partition(b":")
            if not colon or not _TOKEN.fullmatch(name) or b"\r" in line or b"\n" in line:
                # Also catches obsolete line folding (a line starting with whitespace)
                # and a NUL in a name (not a token character).
                raise _BadRequest(400, f"malformed header line {line[:80]!r}")
            if b"\x00" in line:
                raise _BadRequest(400, f"NUL byte in header {name[:40]!r}")
        raise _BadRequest(400, "malformed header section")
    lowered = fields.lower()
    if not (b"content-length" in lowered or b"transfer-encoding" in lowered
            or b"connection" in lowered or b"expect" in lowered):
        return 0, False, False, None
    content_length = -1
    codings: list[bytes] = []
    close = keep_alive = expect_continue = False
    for line in fields.split(b"\r\n"):
        name, _, value = line.partition(b":")
        name = name.lower()
        value = value.strip(b" \t")
        if name == b"content-length":
            for item in value.split(b","):
                item = item.strip(b" \t")
                if not item.isdigit() or len(item) > 18:
                    raise _BadRequest(400, f"malformed Content-Length {value[:40]!r}")
                if content_length >= 0 and int(item) != content_length:
                    raise _BadRequest(400, "conflicting Content-Length values")
                content_length = int(item)
        elif name == b"transfer-encoding":
            codings.extend(item.strip(b" \t").lower() for item in value.split(b","))
        elif name == b"connection":
            for token in value.lower().split(b","):
                token = token.strip(b" \t")
                if token == b"close":
                    close = True
                elif token == b"keep-alive":
                    keep_alive = True
        elif name == b"expect":
            if value.lower() != b"100-continue":
                raise _BadRequest(417, f"unsupported Expect {value[:40]!r}")
            expect_continue = True

    chunked = False
    if codings:
        # RFC 9112 6.1 and 6.3: chunked must be the final coding; with a
        # Content-Length as well the framing is ambiguous, so refuse it.
        if codings[-1] != b"chunked" or codings.count(b"chunked") != 1:
            raise _BadRequest(400, "Transfer-Encoding must end with chunked, once")
        if content_length >= 0:
            raise _BadRequest(400, "both Transfer-Encoding and Content-Length")
        chunked = True
    connection = False if close else (True if keep_alive else None)
    return max(content_length, 0), chunked, expect_continue, connection
