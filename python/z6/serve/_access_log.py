"""The built-in target's access log: one line per request it read.

Each line is ``METHOD TARGET STATUS BODY_BYTES``: the request line's method and
target, the status of the reply's status line (``-`` when it sent none: `/reset`,
`/malformed`, or a connection that ended before the reply started) and the body
bytes written. A request is logged once its reply is played out or its
connection ends, so every request read appears exactly once.

Lines are collected and written once per event-loop turn, not once per request;
`flush` (called on shutdown) writes what is left. A write that fails (disk full,
EIO) ends the logging: the error is kept in ``error`` and ``on_error`` is called
(`z6 serve` stops and exits 3 naming the file).
"""

from __future__ import annotations

import asyncio
from typing import IO, Callable, Optional

__all__ = ["AccessLog"]


class AccessLog:
    """Counts requests and, given a text file, logs them, one write per loop turn."""

    __slots__ = ("_file", "_loop", "_lines", "requests", "error", "on_error")

    def __init__(self, file: Optional[IO[str]], loop: asyncio.AbstractEventLoop) -> None:
        self._file = file
        self._loop = loop
        self._lines: list[str] = []
        self.requests = 0
        self.error: Optional[OSError] = None
        self.on_error: Optional[Callable[[], None]] = None

    def record(self, method: str, target: str, status: int | None, body_bytes: int) -> None:
        self.requests += 1
        if self._file is None:
            return
        if not self._lines:
            self._loop.call_soon(self.flush)
        self._lines.append(f"{method} {target} {'-' if status is None else status} {body_bytes}\n")

    def flush(self) -> None:
        if self._lines and self._file is not None:
            try:
                self._file.write("".join(self._lines))
                self._lines.clear()
                self._file.flush()
            except OSError as exc:
                self._file = None  # no more lines: the log could not take them
                self._lines.clear()
                self.error = exc
                if self.on_error is not None:
                    self.on_error()
