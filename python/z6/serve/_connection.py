"""One client connection of the built-in target: read requests, play replies in order.

An `asyncio.Protocol` rather than streams: the common request (a complete request
arriving on an idle keep-alive connection, answered by one `Send`) is read, routed,
written and logged inside ``data_received``, with no task or future per request.
A reply with pauses or a large body runs as a task; requests that arrive meanwhile
(pipelining) wait in a queue and are answered in order after it.

Header timeout: a request head must arrive whole within ``Shared.header_timeout_s``
of the connection's start (its first request) or of its first byte (later
requests); otherwise the client gets ``408 Request Timeout`` and the connection is
closed (closed silently if it never sent a byte). An idle keep-alive connection,
with nothing partial buffered, is not timed, nor is a request body.

Back-pressure: while the client is not reading (the transport's write buffer is
over its high-water mark) the connection neither answers queued requests nor reads
new ones; while `MAX_QUEUED` requests wait it reads no more. So a client pipelining
many requests for large bodies cannot make the server hold all their responses.
"""

from __future__ import annotations

import asyncio
import socket
import struct
from collections import deque
from typing import Final, Optional, cast

from z6.serve._access_log import AccessLog
from z6.serve._http import CONTINUE, HttpError, ReaderItem, Request, RequestReader
from z6.serve._reply import CLOSE, RESET, Pause, Reply, Send, Stream, Trickle
from z6.serve._routes import CONTINUE_REPLY, error_reply, route

__all__ = ["MAX_QUEUED", "DEFAULT_HEADER_TIMEOUT_S", "Shared", "Connection"]

MAX_QUEUED: Final = 64
DEFAULT_HEADER_TIMEOUT_S: Final = 10.0
_LINGER_ZERO: Final = struct.pack("ii", 1, 0)


class Shared:
    """What every connection of one server uses: the loop, the log, the open connections."""

    __slots__ = ("loop", "log", "connections", "header_timeout_s")

    def __init__(self, loop: asyncio.AbstractEventLoop, log: AccessLog,
                 header_timeout_s: Optional[float] = DEFAULT_HEADER_TIMEOUT_S) -> None:
        self.loop = loop
        self.log = log
        self.connections: set[Connection] = set()
        self.header_timeout_s = header_timeout_s  # None: no limit

    def abort_all(self) -> None:
        for connection in list(self.connections):
            connection.abort()


class Connection(asyncio.Protocol):
    def __init__(self, shared: Shared) -> None:
        self._shared = shared
        self._log = shared.log
        self._transport: Optional[asyncio.Transport] = None
        self._reader = RequestReader()
        self._queue: deque[ReaderItem] = deque()
        self._closing = False
        self._peer_done = False       # the client half-closed: answer what was read, then close
        self._reading_paused = False
        self._write_paused = False
        self._writable: Optional[asyncio.Event] = None
        # The reply being played by a task, for the access log if the connection ends first.
        self._task: Optional[asyncio.Task[None]] = None
        self._playing: Optional[tuple[str, str, Optional[int]]] = None
        self._wrote = False
        self._body_sent = 0
        self._head_timer: Optional[asyncio.TimerHandle] = None
        self._tls = False

    # -- asyncio.Protocol ---------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # uvloop's transports do not subclass asyncio.Transport but have its methods.
        self._transport = cast(asyncio.Transport, transport)
        self._tls = transport.get_extra_info("sslcontext") is not None
        self._shared.connections.add(self)
        self._arm_head_timer()

    def data_received(self, data: bytes) -> None:
        if self._closing:
            return
        items = self._reader.feed(data)
        if self._reader.in_head:
            self._arm_head_timer()  # no-op if already running: the deadline is from the first byte
        else:
            self._disarm_head_timer()
        if items:
            self._queue.extend(items)
            if self._task is None:
                self._advance()
        self._update_reading()

    def eof_received(self) -> bool:
        self._peer_done = True
        if self._task is None and not self._queue:
            self._close()
        # Keep a TCP transport open for the replies still due. A TLS one cannot stay
        # open after the client's close_notify (asyncio and uvloop shut it down and
        # log a warning on stderr if asked to), so there the replies still due are lost.
        return not self._tls

    def pause_writing(self) -> None:
        self._write_paused = True
        self._update_reading()

    def resume_writing(self) -> None:
        self._write_paused = False
        if self._writable is not None:
            self._writable.set()
        if self._task is None:
            self._advance()
        self._update_reading()

    def connection_lost(self, exc: Optional[BaseException]) -> None:
        self._closing = True
        self._disarm_head_timer()
        self._shared.connections.discard(self)
        if self._task is not None:
            self._task.cancel()
            self._task = None
        if self._playing is not None:
            method, target, status = self._playing
            self._log.record(method, target, status if self._wrote else None, self._body_sent)
            self._playing = None
        # Requests read but never answered: logged without a status.
        for item in self._queue:
            if item is not CONTINUE:
                self._log.record(item.method, item.target, None, 0)  # type: ignore[union-attr]
        self._queue.clear()
        if self._writable is not None:
            self._writable.set()

    # -- replies --------------------------------------------------------------------------

    def abort(self) -> None:
        """Drop the connection now (server shutdown)."""
        if self._transport is not None:
            self._closing = True
            self._transport.abort()

    def _advance(self) -> None:
        """Answer queued requests in order; hand over to a task at the first non-simple reply.

        Stops while the client is not reading (write paused): resume_writing goes on.
        """
        queue = self._queue
        transport = self._transport
        assert transport is not None
        while queue and not self._closing and not self._write_paused:
            item = queue.popleft()
            reply, method, target = _reply_for(item)
            if not reply.simple:
                self._playing = (method, target, reply.status)
                self._wrote = False
                self._body_sent = 0
                self._task = self._shared.loop.create_task(self._play(reply))
                return
            send = reply.steps[0]
            assert isinstance(send, Send)
            transport.write(send.data)
            if method:
                self._log.record(method, target, reply.status, send.body_bytes)
            if reply.then == CLOSE:
                self._close()
                return
        if self._peer_done and not queue:
            self._close()

    async def _play(self, reply: Reply) -> None:
        for step in reply.steps:
            if isinstance(step, Send):
                await self._write(step.data)
                self._body_sent += step.body_bytes
            elif isinstance(step, Pause):
                await asyncio.sleep(step.seconds)
            elif isinstance(step, Stream):
                for piece in step.pieces:
                    await self._write(piece)
                    self._body_sent += len(piece)
                    # Let other connections run even when every write succeeds at once.
                    await asyncio.sleep(0)
            else:
                await self._trickle(step)
        if reply.then == RESET:
            await self._drained()  # earlier replies reach the client before the RST
            self._finish_playing()
            self._reset()
        elif reply.then == CLOSE:
            self._finish_playing()
            self._close()
        else:
            self._finish_playing()
            self._advance()
            self._update_reading()

    def _finish_playing(self) -> None:
        if self._playing is not None:
            method, target, status = self._playing
            if method:
                self._log.record(method, target, status, self._body_sent)
            self._playing = None
        self._task = None

    async def _write(self, data: bytes) -> None:
        assert self._transport is not None
        self._transport.write(data)
        self._wrote = True
        if self._write_paused:
            if self._writable is None:
                self._writable = asyncio.Event()
            self._writable.clear()
            while self._write_paused and not self._closing:
                await self._writable.wait()
                self._writable.clear()

    async def _drained(self) -> None:
        """Until the transport holds nothing unsent (the kernel has it all)."""
        assert self._transport is not None
        while self._transport.get_write_buffer_size() and not self._closing:
            await asyncio.sleep(0.001)

    async def _trickle(self, step: Trickle) -> None:
        data = step.data
        for index in range(len(data)):
            await self._write(data[index:index + 1])
            if index >= step.head_bytes:
                self._body_sent += 1
            await self._drained()
            if step.gap_s:
                await asyncio.sleep(step.gap_s)

    # -- the header timeout --------------------------------------------------------------

    def _arm_head_timer(self) -> None:
        timeout = self._shared.header_timeout_s
        if timeout is not None and self._head_timer is None and not self._closing:
            self._head_timer = self._shared.loop.call_later(timeout, self._head_timed_out)

    def _disarm_head_timer(self) -> None:
        if self._head_timer is not None:
            self._head_timer.cancel()
            self._head_timer = None

    def _head_timed_out(self) -> None:
        self._head_timer = None
        if self._closing or self._transport is None:
            return
        if self._task is not None or self._queue:
            # The server is still answering earlier requests (or the client is not
            # reading them): the client is waiting on us, not slow. Look again later.
            self._arm_head_timer()
            return
        if self._reader.idle:
            self._close()  # never sent a byte: nothing to answer
            return
        error = HttpError(408, f"request head not received within {self._shared.header_timeout_s:g} s")
        self._closing = True  # nothing more is read; the 408 is written, then FIN
        reply = error_reply(error)
        send = reply.steps[0]
        assert isinstance(send, Send)
        self._transport.write(send.data)
        self._log.record(error.method, error.target, error.status, send.body_bytes)
        self._transport.close()

    # -- connection state -----------------------------------------------------------------

    def _update_reading(self) -> None:
        transport = self._transport
        if transport is None or self._closing:
            return
        pause = self._write_paused or len(self._queue) >= MAX_QUEUED
        if pause != self._reading_paused:
            self._reading_paused = pause
            if pause:
                transport.pause_reading()
            else:
                transport.resume_reading()

    def _close(self) -> None:
        """Graceful close: what was written is still sent, then FIN."""
        if self._transport is not None and not self._closing:
            self._closing = True
            self._transport.close()

    def _reset(self) -> None:
        """Abortive close: SO_LINGER 0 makes the kernel send RST instead of FIN."""
        transport = self._transport
        assert transport is not None
        sock = transport.get_extra_info("socket")
        if sock is not None:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, _LINGER_ZERO)
        self._closing = True
        transport.abort()


def _reply_for(item: ReaderItem) -> tuple[Reply, str, str]:
    """The reply to a queue item and the (method, target) to log it under ('' = not logged)."""
    if type(item) is Request:
        return route(item), item.method, item.target
    if type(item) is HttpError:
        return error_reply(item), item.method, item.target
    return CONTINUE_REPLY, "", ""
