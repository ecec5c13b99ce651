"""The built-in target's access log: one line per request it read.

Each line is ``METHOD TARGET STATUS BODY_BYTES``: the request line's method and
target, the status of the reply's status line (``-`` when it sent none: `/reset`,
`/malformed`, or a connection that ended before the reply started) and the body
bytes written. A request is logged once its reply is played out or its
connection ends, so every request read appears exactly once.

Lines are collected and written once per event-loop turn, not once per request;
`flush` (called on shutdown) writes what is left.

A write that fails (a full disk, ``/dev/full``, an I/O error) stops the log: one
warning on stderr names the file and the reason, the server keeps serving and
counting requests, and nothing more is written to that file (a retry could only
add torn lines to it).
"""

from __future__ import annotations

import asyncio
import sys
from typing import IO, Optional

__all__ = ["AccessLog"]


class AccessLog:
    """Counts requests and, given a text file, logs them, one write per loop turn."""

    __slots__ = ("_file", "_loop", "_lines", "_name", "requests", "failed")

    def __init__(self, file: Optional[IO[str]], loop: asyncio.AbstractEventLoop, name: str = "") -> None:
        self._file = file
        self._loop = loop
        self._lines: list[str] = []
        self._name = name or getattr(file, "name", "")
        self.requests = 0
        #: the reason the log stopped, once a write failed
        self.failed: Optional[str] = None

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
                self._file.flush()
            except OSError as exc:
                self._stop(exc)
            self._lines.clear()

    def _stop(self, exc: OSError) -> None:
        self.failed = exc.strerror or str(exc)
        self._file = None  # the caller still owns and closes the file
        print(f"z6 serve: warning: access log {self._name!r}: cannot write: {self.failed}; "
              "no more requests are logged (the server keeps serving)", file=sys.stderr, flush=True)
