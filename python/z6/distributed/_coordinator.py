"""The coordinator: starts the shards, merges their events as they arrive and
hands the merged stream to the run's consumers (summary, event log, progress).

One thread, one socket per shard. It reads only from shards whose buffered
events are below a cap, or from the shard holding the merge back (the lowest
watermark), so its memory stays bounded however far one shard runs ahead: a
shard it does not read from blocks in send() (TCP's flow control).

A shard whose connection drops or falls silent before DONE is lost: the rest
are stopped, and the run reports which VUs were lost instead of a smaller
total. SIGINT/SIGTERM are passed on to every shard: the first stops issuing,
the second cancels requests in flight, the third gives up.
"""

from __future__ import annotations

import contextlib
import secrets
import selectors
import socket
import time
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import Any, Callable, Optional, Sequence

import numpy as np

from z6._version import __version__
from z6.distributed import _protocol as wire
from z6.distributed._executors import Backend
from z6.distributed._merge import Rechunker, ShardMerger
from z6.distributed._scale_out import ScaleOut, ShardReport
from z6.distributed._worker import ShardTask, run_shard
from z6.distributed._split import ShardRange, split_plan
from z6.errors import ConfigError, RunError
from z6.live import LiveTarget
from z6.plan import Plan
from z6.result import ProgressSnapshot, RunStats, Transfer
from z6.runner import DEFAULT_CHUNK_RECORDS, stop_signals
from z6core import EVENT_DTYPE

__all__ = ["run_distributed", "CONNECT_TIMEOUT_S", "SILENCE_TIMEOUT_S"]

# How long shards may take to start and connect (process start-up, imports,
# a busy cluster's queue), and how long a running shard may stay silent (it
# sends at least every 250 ms in a live run, every chunk in a simulated one).
CONNECT_TIMEOUT_S = 120.0
SILENCE_TIMEOUT_S = 30.0
# Chunks a shard ahead of the merge may have waiting before the coordinator
# stops reading it (and TCP stops it sending).
CAP_CHUNKS = 4
# How long a new connection may take to introduce itself (HELLO).
INTRODUCTION_S = 10.0
_POLL_S = 0.25


@dataclass
class _Link:
    shard: ShardRange
    future: Future
    sock: Optional[socket.socket] = None
    hello: dict[str, Any] = field(default_factory=dict)
    done: Optional[dict[str, Any]] = None
    status: str = "starting"  # starting, running, completed, interrupted, lost
    detail: str = ""
    last_seen: float = 0.0
    tick: int = 0
    active_vus: int = 0
    requests_issued: int = 0
    events: int = 0  # received
    ended_at: float = 0.0  # when its task was first seen finished before it connected

    @property
    def running(self) -> bool:
        return self.status == "running"

    def name(self) -> str:
        where = f" on {self.hello['worker']}" if self.hello else ""
        return f"{self.shard.label()}{where} ({self.shard.describe()})"


class _Signals:
    """Counts SIGINT/SIGTERM while the run goes on; the coordinator's loop passes
    each on to the shards. A third gives up (KeyboardInterrupt)."""

    def __init__(self) -> None:
        self.count = 0

    def _handle(self, signum: int, frame: object) -> None:
        self.count += 1
        if self.count >= 3:
            raise KeyboardInterrupt

    def installed(self) -> contextlib.AbstractContextManager[None]:
        return stop_signals(self._handle)


def _listener(host: str) -> socket.socket:
    family = socket.getaddrinfo(host, 0, type=socket.SOCK_STREAM)[0][0]
    try:
        return socket.create_server((host, 0), family=family, backlog=128)
    except OSError as exc:
        raise RunError(f"cannot listen for workers on {host}: {exc.strerror or exc}") from None


class _Coordinator:
    def __init__(self, plan: Plan, parts: list[tuple[ShardRange, Plan]], backend: Backend,
                 target: Optional[LiveTarget], chunk_records: int,
                 consumers: Sequence[Callable[[np.ndarray], None]],
                 progress: Optional[Callable[[ProgressSnapshot], None]]) -> None:
        self.plan = plan
        self.parts = parts
        self.backend = backend
        self.target = target
        self.chunk_records = chunk_records
        self.progress = progress
        self.merger = ShardMerger(len(parts), EVENT_DTYPE)
        self.out = Rechunker(consumers, chunk_records, EVENT_DTYPE)
        # Per shard, what may wait in the merger beyond the shard holding it back.
        self.cap = CAP_CHUNKS * chunk_records
        self.links: list[_Link] = []
        self.signals = _Signals()
        self.signals_forwarded = 0
        self.peak_held = 0  # the most events the merger held at once

    # ---------------------------------------------------------------- phases

    def run(self) -> tuple[RunStats, ScaleOut]:
        started = time.perf_counter()
        with contextlib.ExitStack() as stack:
            listener = stack.enter_context(_listener(self.backend.coordinator_host))
            stack.callback(self._close_all)
            stack.enter_context(self.signals.installed())
            token = secrets.token_hex(16)
            address = listener.getsockname()[:2]
            for shard, part in self.parts:
                task = ShardTask(shard, part, self.target, address, token, self.chunk_records)
                self.links.append(_Link(shard, self.backend.submit(run_shard, task)))
            self._connect(listener, token)
            listener.close()
            self._start()
            self._stream(started)
        stats = RunStats(
            events=self.out.delivered,
            requests_issued=sum(link.requests_issued for link in self.links),
            final_tick=max(int(link.done["final_tick"]) if link.done else link.tick for link in self.links),
            wall_s=time.perf_counter() - started,
            interrupted=self.signals_forwarded > 0,
            request_digests=self._request_digests(),
            transfer=self._transfer(),
            # the first shard's (in shard order) first off-origin Location
            redirect_offsite=next((off for link in self.links
                                   if (off := (link.done or {}).get("redirect_offsite")) is not None), None),
        )
        return stats, self._scale_out()

    def _request_digests(self) -> Optional[dict[str, str]]:
        # Every shard's VUs' digests of their rendered requests, merged (one run's).
        merged: dict[str, str] = {}
        for link in self.links:
            shard = (link.done or {}).get("request_digests")
            if shard is None:
                return None
            merged.update(shard)
        return dict(sorted(merged.items(), key=lambda item: int(item[0]))) if merged else None

    def _transfer(self) -> Optional[Transfer]:
        # Bytes by request summed over the shards; None unless every shard
        # counted them (a simulated run, or a shard lost before its totals).
        total: Optional[Transfer] = None
        for link in self.links:
            shard = (link.done or {}).get("transfer")
            if shard is None:
                return None
            part = Transfer.from_json_dict(shard)
            total = part if total is None else total.plus(part)
        return total

    def _connect(self, listener: socket.socket, token: str) -> None:
        # Until a connection has introduced itself with the run's token it is
        # read without blocking, a few KiB at most, for at most INTRODUCTION_S:
        # a stranger can neither stall the run, nor make it allocate, nor end it.
        deadline = time.monotonic() + CONNECT_TIMEOUT_S
        pending: dict[socket.socket, tuple[float, bytearray]] = {}
        waiting = len(self.links)
        with selectors.DefaultSelector() as selector:
            selector.register(listener, selectors.EVENT_READ)
            try:
                while waiting:
                    if self.signals.count:
                        raise KeyboardInterrupt
                    self._check_futures_before_start()
                    now = time.monotonic()
                    if now > deadline:
                        late = [link.name() for link in self.links if link.sock is None]
                        raise RunError(f"{len(late)} shard(s) did not start within {CONNECT_TIMEOUT_S:.0f} s: "
                                       + "; ".join(late))
                    for sock, (since, _) in list(pending.items()):
                        if now - since > INTRODUCTION_S:
                            self._drop(selector, pending, sock)
                    for key, _ in selector.select(_POLL_S):
                        sock = key.fileobj
                        if sock is listener:
                            conn, _ = listener.accept()
                            conn.setblocking(False)
                            pending[conn] = (time.monotonic(), bytearray())
                            selector.register(conn, selectors.EVENT_READ)
                        elif self._introduce(sock, pending[sock][1], token):
                            selector.unregister(sock)
                            del pending[sock]
                            waiting -= 1
                        elif sock.fileno() < 0:
                            selector.unregister(sock)
                            del pending[sock]
            finally:
                for sock in pending:
                    sock.close()

    @staticmethod
    def _drop(selector: selectors.BaseSelector, pending: dict, sock: socket.socket) -> None:
        selector.unregister(sock)
        del pending[sock]
        sock.close()

    def _introduce(self, sock: socket.socket, data: bytearray, token: str) -> bool:
        """Read what ``sock`` sent; True once it is a shard's accepted HELLO.
        Anything that is not ours is closed (and then left for the caller to forget)."""
        try:
            chunk = sock.recv(wire.MAX_INTRODUCTION)
        except BlockingIOError:
            return False
        except OSError:
            chunk = b""
        try:
            if not chunk:
                raise wire.WireError("closed before saying who it is")
            data += chunk
            frame = wire.parse_introduction(data)
        except wire.WireError:
            sock.close()
            return False
        if frame is None:
            return False
        kind, body = frame
        index = body.get("index")
        if (body.get("token") != token or not isinstance(index, int) or not 0 <= index < len(self.links)
                or self.links[index].sock is not None):
            # A stranger, or a re-run of a shard that already connected (its
            # events would count twice).
            sock.close()
            return False
        link = self.links[index]
        if kind == wire.FAIL:
            sock.close()
            raise _failure(link, body)
        if body.get("z6_version") != __version__:
            sock.close()
            raise ConfigError(f"{link.shard.label()} runs on {body.get('worker')} with z6 {body.get('z6_version')}, "
                              f"but this coordinator is z6 {__version__}: install the same version everywhere")
        sock.setblocking(True)
        sock.settimeout(SILENCE_TIMEOUT_S)
        link.sock, link.hello, link.status = sock, body, "running"
        return True

    def _check_futures_before_start(self) -> None:
        now = time.monotonic()
        for link in self.links:
            if link.sock is None and link.future.done():
                exc = link.future.exception()
                if isinstance(exc, ConfigError):
                    raise exc
                if exc is not None:
                    raise RunError(f"{link.name()} failed to start: {type(exc).__name__}: {exc}")
                # It returned: its HELLO may still be on its way (a shard that
                # said HELLO and vanished is then lost at the start).
                link.ended_at = link.ended_at or now
                if now - link.ended_at > 2.0:
                    raise RunError(f"{link.name()} ended before connecting to the coordinator")

    def _start(self) -> None:
        # Every live shard begins at one instant on the reference clock, far
        # enough ahead for START to reach them all first.
        start_at = self.backend.reference_time() + self.backend.start_lead_s if self.target is not None else None
        failed = []
        for link in self.links:
            try:
                wire.send_json(link.sock, wire.START, {"start_at": start_at})
            except OSError as exc:
                failed.append((link, exc))
        # Only once every shard has its START: a STOP must never arrive first.
        for link, exc in failed:
            self._lose(link, f"its connection failed at the start ({exc})")
        now = time.monotonic()
        for link in self.links:
            link.last_seen = now

    def _stream(self, started: float) -> None:
        with selectors.DefaultSelector() as selector:
            registered: set[int] = set()
            while any(link.running for link in self.links):
                if self.signals.count > self.signals_forwarded:
                    self.signals_forwarded = self.signals.count
                    self._stop_all(wire.CANCEL if self.signals.count > 1 else wire.STOP)
                low = self.merger.low
                eligible = {i for i, link in enumerate(self.links) if link.running
                            and (self.merger.buffered[i] < self.cap or self.merger.watermark[i] == low)}
                for i in registered - eligible:
                    if self.links[i].sock.fileno() >= 0:
                        selector.unregister(self.links[i].sock)
                for i in eligible - registered:
                    selector.register(self.links[i].sock, selectors.EVENT_READ, i)
                registered = eligible
                readable = {key.data for key, _ in selector.select(_POLL_S)}
                now = time.monotonic()
                for i in sorted(eligible):
                    link = self.links[i]
                    if i in readable:
                        self._receive(link, now)
                    elif now - link.last_seen > SILENCE_TIMEOUT_S:
                        self._lose(link, f"it sent nothing for {SILENCE_TIMEOUT_S:.0f} s")
                    if not link.running:
                        selector.unregister(link.sock)
                        registered.discard(i)
                ready = self.merger.take_ready()
                if ready.size:
                    self.out(ready)
                if self.progress is not None:
                    self.progress(self._snapshot(started))
        self.out(self.merger.take_ready())
        self.out.flush()
        if self.progress is not None:
            self.progress(self._snapshot(started))  # the whole run, as the last word

    # ---------------------------------------------------------------- messages

    def _receive(self, link: _Link, now: float) -> None:
        index = link.shard.index
        try:
            kind, body = wire.recv_frame(link.sock)
        except (OSError, wire.WireError) as exc:
            if isinstance(exc, socket.timeout):
                reason = f"it stopped mid-message for {SILENCE_TIMEOUT_S:.0f} s"
            elif isinstance(exc, ConnectionResetError):
                reason = "its connection closed (worker died or was killed?)"
            else:
                reason = str(exc) or type(exc).__name__
            self._lose(link, reason)
            return
        link.last_seen = now
        if kind == wire.CHUNK:
            head, records = body
            self.merger.add(index, records, head.watermark)
            self.peak_held = max(self.peak_held, self.merger.held)
            link.events += records.size
            link.tick, link.active_vus = head.tick, head.active_vus
            link.requests_issued = head.requests_issued
        elif kind == wire.DONE:
            link.done = body
            link.status = "interrupted" if body.get("interrupted") else "completed"
            self.merger.close(index)
        elif kind == wire.FAIL:
            raise _failure(link, body)
        else:
            self._lose(link, f"it sent an unexpected frame (type {kind})")

    def _lose(self, link: _Link, reason: str) -> None:
        first = not any(other.status == "lost" for other in self.links)
        link.status, link.detail = "lost", reason
        self.merger.close(link.shard.index)
        if link.sock is not None:
            _shutdown(link.sock)
        if first:
            # The run has failed: the others stop issuing and finish what is in flight.
            self._stop_all(wire.STOP)

    def _stop_all(self, kind: int) -> None:
        for link in self.links:
            if link.running:
                try:
                    wire.send_signal(link.sock, kind)
                except OSError:
                    pass  # its loss shows when its connection is read

    def _close_all(self) -> None:
        for link in self.links:
            if link.sock is not None:
                link.sock.close()

    def _snapshot(self, started: float) -> ProgressSnapshot:
        tick_s = self.plan.tick_ns / 1e9
        return ProgressSnapshot(
            elapsed_s=max(link.tick for link in self.links) * tick_s,
            total_s=None if self.plan.iterations else self.plan.end_tick * tick_s,
            active_vus=sum(link.active_vus for link in self.links if link.running),
            requests_issued=sum(link.requests_issued for link in self.links),
            events=self.out.delivered,
            wall_s=time.perf_counter() - started,
        )

    def _scale_out(self) -> ScaleOut:
        reports = []
        for link in self.links:
            hello, done = link.hello, link.done or {}
            late = done.get("start_late_s") if self.target is not None else None
            reports.append(ShardReport(
                shard=link.shard,
                worker=str(hello.get("worker", "")),
                host=str(hello.get("host", "")),
                pid=int(hello.get("pid", 0)),
                clock_offset_ms=float(hello.get("clock_offset_s", 0.0)) * 1e3,
                start_late_ms=None if late is None else float(late) * 1e3,
                events=link.events,
                requests_issued=link.requests_issued,
                status=link.status,
                detail=link.detail,
            ))
        return ScaleOut(self.backend.name, self.backend.address, tuple(reports), self.peak_held)


def _shutdown(sock: socket.socket) -> None:
    # Stop the lost shard's connection both ways now; the socket itself is
    # closed with the others at the end (the selector may still hold it).
    try:
        sock.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass


def _failure(link: _Link, body: dict[str, Any]) -> Exception:
    message = f"{link.name()} failed: {body.get('message', '(no message)')}"
    return ConfigError(message) if body.get("kind") == "config" else RunError(message)


def run_distributed(
    plan: Plan,
    consumers: Sequence[Callable[[np.ndarray], None]],
    backend: Backend,
    *,
    shards: Optional[int] = None,
    target: Optional[LiveTarget] = None,
    chunk_records: int = DEFAULT_CHUNK_RECORDS,
    progress: Optional[Callable[[ProgressSnapshot], None]] = None,
) -> tuple[RunStats, ScaleOut]:
    """Run ``plan`` split into ``shards`` (default: the backend's worker count)
    on ``backend``, handing the merged events to ``consumers`` in chunks of
    ``chunk_records``, exactly as `z6.runner.run_plan` would from one process.

    A lost shard does not raise: the returned `ScaleOut` names it (its
    ``lost``), and the caller fails the run.
    """
    parts = split_plan(plan, shards if shards is not None else backend.default_shards())
    slots = backend.slots()
    if slots is not None and len(parts) > slots:
        raise ConfigError(f"{len(parts)} shards need {len(parts)} worker threads at once, but the cluster at "
                          f"{backend.address} has {slots}: every shard waits for the others to start, so use "
                          f"--workers {slots} or add workers")
    return _Coordinator(plan, parts, backend, target, chunk_records, consumers, progress).run()

