"""The shard function: what each worker runs, in a local process or on a Dask
worker alike.

It connects back to the coordinator, builds an ordinary z6core engine from its
sub-plan, says HELLO, waits for START (which, in a live run, names the
wall-clock instant every shard begins at), then streams each filled chunk of
events with a watermark: every event with a smaller tick has been sent. Between
chunks it looks for STOP (stop issuing, finish what is in flight) and CANCEL
(stop now). It ends with DONE, or FAIL with the error, and returns the same
totals to the executor.
"""

from __future__ import annotations

import os
import socket
import sys
import time
from dataclasses import dataclass
from typing import Any, Optional

import numpy as np

from z6._version import __version__
from z6.distributed import _protocol as wire
from z6.distributed._split import ShardRange
from z6.errors import ConfigError
from z6.live import LiveTarget, ensure_descriptors
from z6.plan import Plan
from z6.runner import engine_offsite, engine_transfer, make_engine, request_digests
from z6core import EVENT_DTYPE, LiveEngine

__all__ = ["ShardTask", "run_shard", "worker_clock"]

# How long a shard waits for the coordinator's START once it said HELLO: the
# coordinator sends it as soon as every shard is ready, so a long wait means
# the coordinator is gone or another worker is stuck starting.
START_WAIT_S = 600.0
CONNECT_TIMEOUT_S = 30.0


@dataclass(frozen=True)
class ShardTask:
    shard: ShardRange
    plan: Plan
    target: Optional[LiveTarget]
    coordinator: tuple[str, int]
    token: str
    chunk_records: int


def worker_clock() -> tuple[str, float]:
    """This process's name and its clock offset to the Dask scheduler, in
    seconds (worker clock minus scheduler clock, as Dask measured it at its
    last heartbeat); outside a Dask worker, the host:pid and 0.0 (a local
    process shares the coordinator's clock)."""
    # A Dask worker has imported distributed already; a local shard process
    # has not, and should not pay for importing it.
    dask = sys.modules.get("distributed")
    try:
        worker = dask.get_worker() if dask is not None else None
    except ValueError:  # distributed is loaded, but this is not a worker
        worker = None
    if worker is None:
        return f"{socket.gethostname()}:{os.getpid()}", 0.0
    # scheduler_delay = scheduler's time - this worker's time at a heartbeat's midpoint
    return str(worker.address), -float(worker.scheduler_delay)


def _sleep_until(wall_s: float) -> None:
    # time.sleep overshoots by tens of microseconds; the last millisecond spins.
    while True:
        left = wall_s - time.time()
        if left <= 0:
            return
        time.sleep(left - 0.001 if left > 0.002 else 0)


def _control(sock: socket.socket) -> Optional[int]:
    """A STOP or CANCEL from the coordinator, if one is waiting (never blocks).

    A peek rather than select(): a live shard's engine may hold descriptors
    past select()'s limit of 1024."""
    try:
        sock.recv(1, socket.MSG_PEEK | socket.MSG_DONTWAIT)
    except BlockingIOError:
        return None
    kind, _ = wire.recv_frame(sock)  # a closed connection raises here
    if kind not in (wire.STOP, wire.CANCEL):
        raise wire.WireError(f"unexpected frame type {kind} from the coordinator mid-run")
    return kind


def _stream(sock: socket.socket, task: ShardTask, engine: Any) -> dict[str, Any]:
    live = isinstance(engine, LiveEngine)
    started = time.perf_counter()
    interrupted = False
    size = task.chunk_records
    while not engine.finished:
        order = _control(sock)
        if order is not None:
            interrupted = True
            if not live:
                break  # a simulated shard has nothing in flight: stop at once
            engine.stop()
            if order == wire.CANCEL:
                engine.stop()  # a second stop cancels requests in flight
        chunk = np.empty(size, dtype=EVENT_DTYPE)
        n = engine.fill(chunk)
        if engine.finished:
            watermark = wire.FINISHED
        elif n == size:
            # A full chunk may end mid-tick: only earlier ticks are complete.
            watermark = int(chunk[n - 1]["tick"])
        else:
            # The live driver returned early (its progress interval) after
            # handing out every event of the ticks the clock has left.
            watermark = int(engine.tick)
        wire.send_chunk(sock, chunk[:n], watermark, int(engine.tick), int(engine.active_vus),
                        int(engine.requests_issued), int(engine.events_emitted))
    if not engine.finished:
        wire.send_chunk(sock, np.empty(0, dtype=EVENT_DTYPE), wire.FINISHED, int(engine.tick),
                        int(engine.active_vus), int(engine.requests_issued), int(engine.events_emitted))
    return {
        "events": int(engine.events_emitted),
        "requests_issued": int(engine.requests_issued),
        "final_tick": int(engine.tick),
        "wall_s": time.perf_counter() - started,
        "interrupted": interrupted,
        "request_digests": request_digests(task.plan, engine),
        "transfer": None if (t := engine_transfer(engine)) is None else t.to_json_dict(),
        "redirect_offsite": engine_offsite(engine),
    }


def run_shard(task: ShardTask) -> dict[str, Any]:
    """Run one shard against the coordinator at ``task.coordinator``; return its totals."""
    sock = socket.create_connection(task.coordinator, timeout=CONNECT_TIMEOUT_S)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    engine = None
    worker, offset_s = worker_clock()
    # Every frame before START carries the run's token: the coordinator ignores
    # anything that does not.
    who = {"token": task.token, "index": task.shard.index, "worker": worker}
    try:
        try:
            if task.target is not None:
                ensure_descriptors(task.plan.n_vus, f"{task.shard.label()} on {socket.gethostname()}")
            engine = make_engine(task.plan, task.target)
            wire.send_json(sock, wire.HELLO, {
                **who, "z6_version": __version__, "host": socket.gethostname(), "pid": os.getpid(),
                "clock_offset_s": offset_s,
            })
            sock.settimeout(START_WAIT_S)
            kind, body = wire.recv_frame(sock)
            sock.settimeout(None)
            if kind in (wire.STOP, wire.CANCEL):
                # Stopped before it started (another shard failed to start).
                totals = {"events": 0, "requests_issued": 0, "final_tick": 0, "wall_s": 0.0, "interrupted": True,
                          "start_late_s": 0.0}
                wire.send_json(sock, wire.DONE, totals)
                return totals
            if kind != wire.START:
                raise wire.WireError(f"expected START from the coordinator, got frame type {kind}")
            late_s = 0.0
            if body.get("start_at") is not None:
                # The coordinator's instant is on the reference clock (the Dask
                # scheduler's, or the coordinator's own for local processes).
                local_start = float(body["start_at"]) + offset_s
                _sleep_until(local_start)
                late_s = time.time() - local_start
            totals = _stream(sock, task, engine)
            totals["start_late_s"] = late_s
            wire.send_json(sock, wire.DONE, totals)
            return totals
        except (ConnectionError, TimeoutError) as exc:
            if not isinstance(exc, wire.WireError):
                raise  # the coordinator is gone: nobody to tell
            _tell_failure(sock, who, exc)
            raise
        except BaseException as exc:
            _tell_failure(sock, who, exc)
            raise
    finally:
        if isinstance(engine, LiveEngine):
            engine.close()
        sock.close()


def _tell_failure(sock: socket.socket, who: dict[str, Any], exc: BaseException) -> None:
    config = isinstance(exc, ConfigError)
    try:
        sock.settimeout(5.0)
        wire.send_json(sock, wire.FAIL, {**who, "kind": "config" if config else "run",
                                         "message": str(exc) if config else f"{type(exc).__name__}: {exc}"})
    except OSError:
        pass
