"""The built-in target's routes: one request in, one `Reply` out (docs/serve.md).

A path is a route only in the exact shapes of `ROUTES` (``/bytes/N``, ``/close``,
...); every other path, ``/`` and ``/api/items`` and ``/status`` alone included,
gets the fixed 200 body, whatever the method. A route whose argument or query
value is wrong answers 400 with a one-line message naming it; the connection
stays open. HEAD gets the headers GET would get, without the body, on every route.
"""

from __future__ import annotations

import re
from typing import Callable, Final, Iterator

from z6.serve._http import HttpError, Request
from z6.serve._reply import (
    CLOSE,
    KEEP_OPEN,
    RESET,
    Pause,
    Reply,
    Send,
    Step,
    Stream,
    Trickle,
    date_header,
    reason_phrase,
    response_head,
)

__all__ = [
    "FIXED_BODY",
    "HTTP10_BODY",
    "TRICKLE_BODY",
    "MALFORMED_RESPONSE",
    "MAX_DELAY_S",
    "MAX_BODY_BYTES",
    "MAX_CHUNKS",
    "MAX_CHUNK_SIZE",
    "ROUTES",
    "route",
    "error_reply",
    "CONTINUE_REPLY",
    "filler",
]

FIXED_BODY: Final = b"ok\n"
HTTP10_BODY: Final = b"an HTTP/1.0 body, delimited by the end of the connection\n"
TRICKLE_BODY: Final = b"trickled one byte at a time\n"
# Starts like a status line so that a parser checking only the prefix is caught out.
MALFORMED_RESPONSE: Final = b"HTTP/1.1 2x0 not-a-status-line\r\n\r\n"
TRUNCATED_PROMISED: Final = 100
TRUNCATED_SENT: Final = 10

MAX_DELAY_S: Final = 60.0          # any route's pauses, added up
MAX_BODY_BYTES: Final = 1 << 30    # /bytes, /chunked and /slow-body bodies
MAX_CHUNKS: Final = 1_000_000
MAX_CHUNK_SIZE: Final = 1 << 20
MAX_HUGE_HEADERS_KIB: Final = 1024
# Bodies up to this size are built and written at once; larger ones are streamed
# in pieces of this size under flow control, so memory stays bounded.
STREAM_PIECE: Final = 65536

_TEXT: Final = (("Content-Type", "text/plain"),)
_BINARY: Final = (("Content-Type", "application/octet-stream"),)

# Body bytes of /bytes, /chunked and /slow-body: a 16-byte pattern, so that a client
# that misframes a body (off by a few bytes) is visible in the data.
_PATTERN: Final = b"z6-filler-bytes\n"
_FILLER: Final = _PATTERN * (STREAM_PIECE // len(_PATTERN) + 1)

CONTINUE_REPLY: Final = Reply(None, (Send(b"HTTP/1.1 100 Continue\r\n\r\n", 0),))


class _RouteError(Exception):
    """A route's argument or query value is wrong: a 400 with this message."""


def filler(count: int, start: int = 0) -> Iterator[bytes]:
    """``count`` bytes of the filler pattern from offset ``start``, in pieces of at most 64 KiB."""
    phase = start % len(_PATTERN)
    while count > 0:
        take = min(count, STREAM_PIECE)
        yield _FILLER[phase:phase + take]
        count -= take
        phase = (phase + take) % len(_PATTERN)


def _connection(request: Request, close: bool = False) -> tuple[str | None, int]:
    """The Connection header to send (None: none) and what happens after the reply."""
    if close or not request.keep_alive:
        return "close", CLOSE
    # An HTTP/1.0 client that asked for keep-alive is told it got it.
    return ("keep-alive" if request.minor == 0 else None), KEEP_OPEN


def _plain(request: Request, status: int, body: bytes, *, close: bool = False,
           headers: tuple[tuple[str, str], ...] = _TEXT) -> Reply:
    connection, then = _connection(request, close)
    head = response_head(status, headers, content_length=len(body), connection=connection)
    if request.method == "HEAD":
        return Reply(status, (Send(head, 0),), then)
    return Reply(status, (Send(head + body, len(body)),), then)


class _FixedReplies:
    """The fixed 200 reply, built once per (HEAD?, persistence) and per second (Date)."""

    __slots__ = ("_date", "_replies")

    def __init__(self) -> None:
        self._date = b""
        self._replies: dict[tuple[bool, bool, int], Reply] = {}

    def get(self, request: Request) -> Reply:
        date = date_header()
        if date is not self._date:
            self._date = date
            self._replies.clear()
        key = (request.method == "HEAD", request.keep_alive, request.minor)
        reply = self._replies.get(key)
        if reply is None:
            reply = self._replies[key] = _plain(request, 200, FIXED_BODY)
        return reply


_fixed = _FixedReplies()


def _query(text: str) -> dict[str, str]:
    values: dict[str, str] = {}
    for part in text.split("&"):
        name, _, value = part.partition("=")
        if name:
            values[name] = value
    return values


def _integer(text: str, what: str, low: int, high: int) -> int:
    # The length check first: int() refuses strings of thousands of digits.
    if len(text) > 12 or not text.isascii() or not text.isdigit() or not low <= int(text) <= high:
        raise _RouteError(f"{what} must be an integer from {low} to {high}, got {text!r}")
    return int(text)


_DURATION: Final = re.compile(r"(\d{1,12}(?:\.\d{1,12})?)(us|ms|s)", re.ASCII)
_UNIT_S: Final = {"us": 1e-6, "ms": 1e-3, "s": 1.0}


def _duration(text: str, what: str) -> float:
    match = _DURATION.fullmatch(text)
    if match is None:
        raise _RouteError(f"{what} must be a duration such as 10ms, 1.5s or 250us, got {text!r}")
    seconds = float(match[1]) * _UNIT_S[match[2]]
    if seconds > MAX_DELAY_S:
        raise _RouteError(f"{what} must be at most {MAX_DELAY_S:g}s, got {text!r}")
    return seconds


def _switch(text: str, what: str) -> bool:
    if text not in ("0", "1"):
        raise _RouteError(f"{what} must be 0 or 1, got {text!r}")
    return text == "1"


def _body_reply(request: Request, status: int, size: int, headers: tuple[tuple[str, str], ...]) -> Reply:
    """A length-delimited filler body: written at once when small, else streamed."""
    connection, then = _connection(request)
    head = response_head(status, headers, content_length=size, connection=connection)
    if request.method == "HEAD":
        return Reply(status, (Send(head, 0),), then)
    if size <= STREAM_PIECE:
        return Reply(status, (Send(head + _FILLER[:size], size),), then)
    return Reply(status, (Send(head, 0), Stream(filler(size))), then)


def _bytes(request: Request, size_text: str, query: dict[str, str]) -> Reply:
    size = _integer(size_text, "/bytes/N: N", 0, MAX_BODY_BYTES)
    return _body_reply(request, 200, size, _BINARY)


def _delay(request: Request, duration_text: str, query: dict[str, str]) -> Reply:
    seconds = _duration(duration_text, "/delay/D: D")
    reply = _fixed.get(request)
    return Reply(200, (Pause(seconds),) + reply.steps, reply.then)


def _status(request: Request, status_text: str, query: dict[str, str]) -> Reply:
    status = _integer(status_text, "/status/N: N", 100, 599)
    if status == 101:
        raise _RouteError("/status/101: a server switches protocols only on a client's Upgrade "
                          "request; use 100, 102 or 103 for an interim response")
    if status < 200:
        # An interim response, then the final one. HTTP/1.0 clients get the final
        # one only (RFC 9110 15.2: never send 1xx to an HTTP/1.0 client).
        final = _fixed.get(request)
        if request.minor == 0:
            return final
        interim = f"HTTP/1.1 {status} {reason_phrase(status)}\r\n\r\n".encode("ascii")
        first = final.steps[0]
        assert isinstance(first, Send)
        return Reply(200, (Send(interim + first.data, first.body_bytes),), final.then)
    if status in (204, 304):
        # No content and no Content-Length (RFC 9110 8.6, 15.3.5, 15.4.5).
        connection, then = _connection(request)
        return Reply(status, (Send(response_head(status, connection=connection), 0),), then)
    if status == 205:
        return _plain(request, status, b"")  # 205 must not carry content (RFC 9110 15.3.6)
    return _plain(request, status, f"{status} {reason_phrase(status)}\n".encode("ascii"))


def _chunk_pieces(count: int, size: int, trailer: bool) -> Iterator[bytes]:
    """The chunks of /chunked: together, the same filler bytes as /bytes/<count*size>."""
    by_phase: dict[int, bytes] = {}  # chunk data depends only on where the pattern starts
    for index in range(count):
        phase = index * size % len(_PATTERN)
        data = by_phase.get(phase)
        if data is None:
            data = b"".join(filler(size, phase))
            if size <= STREAM_PIECE:
                by_phase[phase] = data
        # Every odd chunk carries extensions, one of them a quoted string holding a ';'.
        extension = f';z6-chunk={index};note="odd;chunk"' if index % 2 else ""
        yield b"%x%s\r\n%s\r\n" % (size, extension.encode("ascii"), data)
    yield b"0\r\n" + (b"X-Z6-Chunks: %d\r\n" % count if trailer else b"") + b"\r\n"


def _chunked(request: Request, count_text: str, query: dict[str, str]) -> Reply:
    count = _integer(count_text, "/chunked/N: N", 0, MAX_CHUNKS)
    size = _integer(query.get("size", "16"), "/chunked/N?size=M: M", 1, MAX_CHUNK_SIZE)
    trailer = _switch(query.get("trailer", "1"), "/chunked/N?trailer=")
    if count * size > MAX_BODY_BYTES:
        raise _RouteError(f"/chunked/N?size=M: N*M must be at most {MAX_BODY_BYTES}, got {count * size}")
    if request.minor == 0:
        # HTTP/1.0 has no chunked coding: the same data, length-delimited.
        return _body_reply(request, 200, count * size, _TEXT)
    connection, then = _connection(request)
    headers = _TEXT + (("Transfer-Encoding", "chunked"),) + ((("Trailer", "X-Z6-Chunks"),) if trailer else ())
    head = response_head(200, headers, connection=connection)
    if request.method == "HEAD":
        return Reply(200, (Send(head, 0),), then)
    pieces = _chunk_pieces(count, size, trailer)
    if count * size <= STREAM_PIECE:
        body = b"".join(pieces)
        return Reply(200, (Send(head + body, len(body)),), then)
    return Reply(200, (Send(head, 0), Stream(pieces)), then)


def _close(request: Request, query: dict[str, str]) -> Reply:
    return _plain(request, 200, FIXED_BODY, close=True)


def _http10(request: Request, query: dict[str, str]) -> Reply:
    # No Content-Length and no Connection header: the HTTP/1.0 default (close) applies.
    head = response_head(200, _TEXT, version="HTTP/1.0")
    if request.method == "HEAD":
        return Reply(200, (Send(head, 0),), CLOSE)
    return Reply(200, (Send(head + HTTP10_BODY, len(HTTP10_BODY)),), CLOSE)


def _reset(request: Request, query: dict[str, str]) -> Reply:
    return Reply(None, (), RESET)


def _malformed(request: Request, query: dict[str, str]) -> Reply:
    return Reply(None, (Send(MALFORMED_RESPONSE, 0),), CLOSE)


def _truncated(request: Request, query: dict[str, str]) -> Reply:
    head = response_head(200, _BINARY, content_length=TRUNCATED_PROMISED)
    if request.method == "HEAD":
        return Reply(200, (Send(head, 0),), CLOSE)
    return Reply(200, (Send(head + _FILLER[:TRUNCATED_SENT], TRUNCATED_SENT),), CLOSE)


def _slow_body(request: Request, size_text: str, query: dict[str, str]) -> Reply:
    size = _integer(size_text, "/slow-body/N: N", 0, MAX_BODY_BYTES)
    gap = _duration(query.get("delay", "10ms"), "/slow-body/N?delay=")
    pieces = min(_integer(query.get("pieces", "4"), "/slow-body/N?pieces=", 1, 10_000), size)
    if pieces * gap > MAX_DELAY_S:
        raise _RouteError(f"/slow-body/N: pieces x delay must be at most {MAX_DELAY_S:g}s, "
                          f"got {pieces} x {gap:g}s")
    connection, then = _connection(request)
    head = response_head(200, _BINARY, content_length=size, connection=connection)
    if request.method == "HEAD":
        return Reply(200, (Send(head, 0),), then)
    steps: list[Step] = [Send(head, 0)]
    sent = 0
    for index in range(pieces):
        part = size * (index + 1) // pieces - sent
        steps += (Pause(gap), Stream(filler(part, sent)))
        sent += part
    return Reply(200, tuple(steps), then)


def _trickle(request: Request, query: dict[str, str]) -> Reply:
    gap = _duration(query.get("delay", "1ms"), "/trickle?delay=")
    connection, then = _connection(request)
    head = response_head(200, _TEXT, content_length=len(TRICKLE_BODY), connection=connection)
    data = head if request.method == "HEAD" else head + TRICKLE_BODY
    if gap * len(data) > MAX_DELAY_S:
        raise _RouteError(f"/trickle?delay=: {len(data)} bytes x delay must be at most {MAX_DELAY_S:g}s, "
                          f"got {gap:g}s per byte")
    return Reply(200, (Trickle(data, len(head), gap),), then)


def _echo(request: Request, query: dict[str, str]) -> Reply:
    return _plain(request, 200, b"%d\n" % request.body_length)


def _huge_headers(request: Request, query: dict[str, str]) -> Reply:
    kib = _integer(query.get("kib", "80"), "/huge-headers?kib=", 1, MAX_HUGE_HEADERS_KIB)
    # Each filler header line is exactly 1024 bytes with its CRLF.
    headers = tuple((f"X-Z6-Filler-{index:04d}", "h" * 1004) for index in range(kib))
    return _plain(request, 200, FIXED_BODY, headers=_TEXT + headers)


_JSON: Final = (("Content-Type", "application/json"),)
_NAME: Final = re.compile(r"[A-Za-z0-9_-]{1,64}")


def _token(request: Request, name: str, query: dict[str, str]) -> Reply:
    # A log-in that issues a token for NAME, in the body (JSON) and a header, for
    # scenarios that extract it (docs/scenario.md "Extraction"); /auth/TOKEN checks it.
    if not _NAME.fullmatch(name):
        raise _RouteError(f"/token/NAME: NAME must be 1 to 64 letters, digits, _ or -, got {name[:80]!r}")
    token = f"t-{name}"
    body = b'{"access_token": "%s", "token_type": "Bearer", "user": {"name": "%s"}}\n' % (token.encode(),
                                                                                            name.encode())
    return _plain(request, 200, body, headers=_JSON + (("X-Token", token),))


def _auth(request: Request, token: str, query: dict[str, str]) -> Reply:
    if token.startswith("t-") and _NAME.fullmatch(token[2:]):
        return _plain(request, 200, FIXED_BODY)
    return _plain(request, 403, b"403 Forbidden: not a token /token/NAME issued\n")


# (first path segment, number of further segments) -> handler(request, *segments, query)
ROUTES: Final[dict[tuple[str, int], Callable[..., Reply]]] = {
    ("bytes", 1): _bytes,
    ("delay", 1): _delay,
    ("status", 1): _status,
    ("chunked", 1): _chunked,
    ("slow-body", 1): _slow_body,
    ("close", 0): _close,
    ("http10", 0): _http10,
    ("reset", 0): _reset,
    ("malformed", 0): _malformed,
    ("truncated", 0): _truncated,
    ("trickle", 0): _trickle,
    ("echo", 0): _echo,
    ("huge-headers", 0): _huge_headers,
    ("token", 1): _token,
    ("auth", 1): _auth,
}


def route(request: Request) -> Reply:
    path, _, query = request.target.partition("?")
    segments = path.split("/")
    handler = ROUTES.get((segments[1], len(segments) - 2)) if 2 <= len(segments) <= 3 else None
    if handler is None:
        return _fixed.get(request)
    try:
        return handler(request, *segments[2:], _query(query))
    except _RouteError as exc:
        return _plain(request, 400, f"{exc}\n".encode("ascii", "replace"))


def error_reply(error: HttpError) -> Reply:
    """The answer to a request that could not be read; the connection closes after it."""
    body = f"{error.status} {reason_phrase(error.status)}: {error.message}\n".encode("ascii", "replace")
    head = response_head(error.status, _TEXT, content_length=len(body), connection="close")
    return Reply(error.status, (Send(head + body, len(body)),), CLOSE)
