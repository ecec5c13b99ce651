"""What the built-in target sends for one request: a `Reply`, a script of steps.

A route decides everything up front and returns a `Reply`; the connection plays it.
Most replies are one `Send` of bytes built here, which the connection writes
without leaving the event loop's callback; the others pause, stream a large body
under flow control, trickle bytes one at a time, or end the connection.
"""

from __future__ import annotations

import time
from email.utils import formatdate
from http import HTTPStatus
from typing import Final, Iterable, Union

__all__ = [
    "Send",
    "Pause",
    "Stream",
    "Trickle",
    "Step",
    "KEEP_OPEN",
    "CLOSE",
    "RESET",
    "Reply",
    "reason_phrase",
    "date_header",
    "response_head",
]

# How a reply leaves the connection.
KEEP_OPEN: Final = 0  # ready for the next request
CLOSE: Final = 1      # graceful close once everything written is sent
RESET: Final = 2      # abortive close: SO_LINGER 0, the peer sees a TCP RST


class Send:
    """Write ``data``, of which the last ``body_bytes`` are body (for the access log)."""

    __slots__ = ("data", "body_bytes")

    def __init__(self, data: bytes, body_bytes: int) -> None:
        self.data = data
        self.body_bytes = body_bytes


class Pause:
    """Wait ``seconds`` before the next step."""

    __slots__ = ("seconds",)

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds


class Stream:
    """Write body pieces as the client reads them (flow control), never all in memory."""

    __slots__ = ("pieces",)

    def __init__(self, pieces: Iterable[bytes]) -> None:
        self.pieces = pieces


class Trickle:
    """Write ``data`` one byte per write, draining and pausing ``gap_s`` between bytes.

    The first ``head_bytes`` are the status line and headers; the rest is body.
    """

    __slots__ = ("data", "head_bytes", "gap_s")

    def __init__(self, data: bytes, head_bytes: int, gap_s: float) -> None:
        self.data = data
        self.head_bytes = head_bytes
        self.gap_s = gap_s


Step = Union[Send, Pause, Stream, Trickle]


class Reply:
    """The steps for one request, the status it claims (None: no status line) and its end.

    ``simple`` is true when the reply is a single `Send`: the connection writes it at
    once, in order with the replies before it.
    """

    __slots__ = ("status", "steps", "then", "simple")

    def __init__(self, status: int | None, steps: tuple[Step, ...], then: int = KEEP_OPEN) -> None:
        self.status = status
        self.steps = steps
        self.then = then
        self.simple = then != RESET and len(steps) == 1 and type(steps[0]) is Send


def reason_phrase(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Unassigned"


class _DateCache:
    """The Date header (RFC 9110 6.6.1), formatted once per second, not per request."""

    __slots__ = ("second", "line")

    def __init__(self) -> None:
        self.second = -1
        self.line = b""

    def get(self) -> bytes:
        now = int(time.time())
        if now != self.second:
            self.second = now
            self.line = f"Date: {formatdate(now, usegmt=True)}\r\n".encode("ascii")
        return self.line


_DATE: Final = _DateCache()
date_header = _DATE.get


def response_head(status: int, headers: Iterable[tuple[str, str]] = (), *,
                  content_length: int | None = None, connection: str | None = None,
                  version: str = "HTTP/1.1") -> bytes:
    """A status line and header section, ending with the empty line.

    ``connection`` is the Connection header's value, or None to send none.
    """
    parts = [f"{version} {status} {reason_phrase(status)}\r\nServer: z6\r\n".encode("ascii"), date_header()]
    for name, value in headers:
        parts.append(f"{name}: {value}\r\n".encode("ascii"))
    if content_length is not None:
        parts.append(b"Content-Length: %d\r\n" % content_length)
    if connection is not None:
        parts.append(f"Connection: {connection}\r\n".encode("ascii"))
    parts.append(b"\r\n")
    return b"".join(parts)
