"""Drive an engine over a plan and hand its event chunks to consumers.

The runner's memory is bounded: each chunk is a fresh fixed-size array that
consumers may keep or drop, and the engine never holds more than one chunk. A
chunk is read-only once filled: every consumer sees the events the engine wrote,
and one that keeps the array (the log's writer thread) needs no copy. What a
consumer keeps is its own affair (the summary's memory is bounded too: exact
latencies up to a limit, an HDR histogram beyond it; docs/metrics.md).

A run can also be stopped from another thread (`RunStop`, what `z6.start`'s
handle sets): the flag is read between two ``fill()`` calls of the run's own
thread, which then stops the engine; a live engine's ``fill()`` returns at least
every 250 ms, a simulated one's at each chunk.

SIGINT and SIGTERM are routed to a run's own handler while it goes on
(`stop_signals`): a live run stops gracefully on the first signal, cancels on the
second and gives up on the third. The distributed coordinator installs its handler
through the same function.
"""

from __future__ import annotations

import time
import contextlib
import signal
import sys
import threading
from typing import Callable, Iterator, Optional, Sequence, Union

import numpy as np

from z6core import EVENT_DTYPE, Engine, LiveEngine, OpenEngine
from z6._signals import note_signal
from z6.live import LiveTarget
from z6.plan import Plan
from z6.result import ProgressSnapshot, RunStats, Transfer


__all__ = ["DEFAULT_CHUNK_RECORDS", "iter_chunks", "run_plan", "make_engine", "request_digests", "engine_transfer",
           "engine_offsite", "RunStats", "ProgressSnapshot", "stop_signals", "RunStop"]

# 65,536 records = 2 MiB a chunk: large enough that Python's per-chunk cost
# vanishes, small enough to stay in cache-friendly territory.
DEFAULT_CHUNK_RECORDS = 65_536


AnyEngine = Union[Engine, OpenEngine, LiveEngine]


@contextlib.contextmanager
def stop_signals(handler: Callable[[int, object], None], enabled: bool = True) -> Iterator[None]:
    """Install ``handler`` for SIGINT and SIGTERM for the block, then restore
    what was there. Only the main thread can install handlers; elsewhere (or
    when not ``enabled``) the block runs with the handlers untouched."""
    previous: dict[int, object] = {}
    if enabled and threading.current_thread() is threading.main_thread():
        for signum in (signal.SIGINT, signal.SIGTERM):
            previous[signum] = signal.signal(signum, handler)
    try:
        yield
    finally:
        for signum, old in previous.items():
            # None: the previous handler was not installed from Python.
            signal.signal(signum, signal.SIG_DFL if old is None else old)  # type: ignore[arg-type]


def make_engine(plan: Plan, target: Optional[LiveTarget] = None) -> AnyEngine:
    """The simulated engine for a simulate plan (the open-model engine when its
    schedule is an arrival rate); the live driver (which needs ``target``) for a
    live one."""
    if plan.mode == "live":
        if target is None:
            raise ValueError("a live plan needs a target (z6.live.resolve_target)")
        return LiveEngine(plan, target)
    return _simulated_engine(plan)


def _simulated_engine(plan: Plan) -> Union[Engine, OpenEngine]:
    return OpenEngine(plan) if plan.arrivals is not None else Engine(plan)


class RunStop:
    """A stop asked for from any thread, applied by the run's own thread between
    two ``fill()`` calls (an engine's ``stop()`` may only be called there).

    ``request()`` is thread-safe and may be called again to make the stop
    harsher (``cancel_in_flight``); ``requested`` says whether a stop was asked.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._asked = 0      # 0 none, 1 graceful, 2 cancel what is in flight
        self._applied = 0

    @property
    def requested(self) -> bool:
        return self._asked > 0

    @property
    def applied(self) -> bool:
        """A stop reached the engine before it finished: the run was cut short."""
        return self._applied > 0

    def request(self, cancel_in_flight: bool = False) -> None:
        with self._lock:
            self._asked = max(self._asked, 2 if cancel_in_flight else 1)

    def apply(self, engine: AnyEngine) -> None:
        """On the run's thread, between fills: pass a new stop request to the engine."""
        with self._lock:
            asked, applied = self._asked, self._applied
            self._applied = asked
        if asked <= applied:
            return
        if isinstance(engine, LiveEngine):
            # The live driver's first stop() is graceful, its second cancels.
            for _ in range(asked - applied):
                engine.stop()
        else:
            engine.stop(cancel_in_flight=asked == 2)


class _Chunks:
    """The arrays the engine fills: a chunk nobody holds any more is filled again.

    A fresh 2 MiB array a fill costs its 512 page faults every time (and the
    kernel's zeroing): on the original's workload about 0.1 s of a 0.8 s run.
    The consumers and the log's threads hold each chunk a while; once none does
    (no reference to it or to any view of it: CPython's reference count says so,
    as `numpy.ndarray.resize` asks it), its memory is reused. Only then is it
    writable again, for the engine alone; a chunk handed out is read-only. On an
    interpreter without reference counts, or without the GIL, every chunk is fresh.
    """

    # More than the chunks the queues behind a run hold at once (summary, store,
    # digest: 4 each, plus one in each worker's hands).
    KEPT = 24

    def __init__(self, records: int) -> None:
        self.records = records
        self._arrays: list[np.ndarray] = []

    def take(self) -> np.ndarray:
        if _UNHELD is not None:
            for i in range(len(self._arrays)):
                if _references(self._arrays, i) <= _UNHELD:   # the list's alone
                    chunk = self._arrays[i]
                    chunk.flags.writeable = True
                    return chunk
        chunk = np.empty(self.records, dtype=EVENT_DTYPE)
        if len(self._arrays) < self.KEPT:
            self._arrays.append(chunk)
        return chunk


# Reference counts decide only where they are exact and other threads cannot
# change them unseen: CPython with its GIL (a free-threaded build gets fresh chunks).
_refcount = getattr(sys, "getrefcount", None) if getattr(sys, "_is_gil_enabled", lambda: True)() else None


def _references(arrays: list, i: int) -> int:
    assert _refcount is not None
    return _refcount(arrays[i])


# What `_references` counts for an object only its list holds, measured the same
# way (the count of the call's own references differs between interpreter versions).
_UNHELD = _references([object()], 0) if _refcount is not None else None


# What `_drain` yields for a fill that returned no event, when asked to.
_NO_EVENTS = np.empty(0, dtype=EVENT_DTYPE)
_NO_EVENTS.flags.writeable = False


def _drain(engine: AnyEngine, chunk_records: int, stop: Optional[RunStop] = None,
           idle: bool = False) -> Iterator[np.ndarray]:
    # ``idle``: yield an empty array for a fill that returned no event too. A live
    # engine's fill returns at least every 250 ms, events or not, so the caller's
    # progress runs while every VU waits on a server that does not answer.
    chunks = _Chunks(chunk_records)
    while not engine.finished:
        if stop is not None:
            stop.apply(engine)
        chunk = chunks.take()
        n = engine.fill(chunk)
        chunk.flags.writeable = False
        if n:
            yield chunk if n == chunk_records else chunk[:n]
        elif idle:
            yield _NO_EVENTS
        del chunk   # the next take() may find this one free


def iter_chunks(plan: Plan, chunk_records: int = DEFAULT_CHUNK_RECORDS) -> Iterator[np.ndarray]:
    """Yield the run's events as arrays of ``chunk_records`` (the last may be shorter)."""
    return _drain(_simulated_engine(plan), chunk_records)


class _StopOnSignal:
    """While a live run goes on, SIGINT and SIGTERM stop it gracefully instead of
    killing it: the first stops issuing and lets requests in flight finish within
    the graceful stop; a second cancels them at once; a third gives up on the
    run (KeyboardInterrupt), in case something outside the engine hangs. The
    handler runs in the main thread between chunks (the engine returns at least
    every 250 ms)."""

    def __init__(self, engine: AnyEngine) -> None:
        self.engine = engine
        self.signalled = False
        self.signals = 0
        self._installed = contextlib.ExitStack()

    def _handle(self, signum: int, frame: object) -> None:
        note_signal()  # the process's count (z6._signals): a signal after this run stopped is its second
        if self.engine.finished:
            return  # too late to stop anything: the run is complete
        self.signals += 1
        self.signalled = True
        if self.signals >= 3:
            raise KeyboardInterrupt
        self.engine.stop()

    def __enter__(self) -> "_StopOnSignal":
        self._installed.enter_context(stop_signals(self._handle, enabled=isinstance(self.engine, LiveEngine)))
        return self

    def __exit__(self, *exc: object) -> None:
        self._installed.close()


def run_plan(
    plan: Plan,
    consumers: Sequence[Callable[[np.ndarray], None]],
    chunk_records: int = DEFAULT_CHUNK_RECORDS,
    progress: Optional[Callable[[ProgressSnapshot], None]] = None,
    target: Optional[LiveTarget] = None,
    stop: Optional[RunStop] = None,
) -> RunStats:
    """Run ``plan`` to the end, calling every consumer with every chunk, in order.

    ``progress``, when given, is called after each chunk's consumers with a
    `ProgressSnapshot` (it rate-limits its own output), and after a live fill
    that returned no event (every 250 ms at least, while a server stalls). A
    live plan needs ``target``; during a live run SIGINT/SIGTERM stop it
    gracefully and the stats say it was interrupted. ``stop``, when given, is
    checked between chunks (`RunStop`): a stop it asks for is graceful unless it
    cancels in flight, and the stats say the run was stopped.
    """
    engine = make_engine(plan, target)
    started = time.perf_counter()
    tick_s = plan.tick_ns / 1e9
    total_s = None if plan.iterations else plan.end_tick * tick_s
    with contextlib.closing(engine) if isinstance(engine, LiveEngine) else contextlib.nullcontext(), \
            _StopOnSignal(engine) as stopper:
        for chunk in _drain(engine, chunk_records, stop, idle=progress is not None):
            if chunk.size:
                for consume in consumers:
                    consume(chunk)
            if progress is not None:
                progress(ProgressSnapshot(
                    elapsed_s=int(engine.tick) * tick_s,
                    total_s=total_s,
                    active_vus=int(engine.active_vus),
                    requests_issued=int(engine.requests_issued),
                    events=int(engine.events_emitted),
                    wall_s=time.perf_counter() - started,
                ))
    return RunStats(
        events=int(engine.events_emitted),
        requests_issued=int(engine.requests_issued),
        final_tick=int(engine.tick),
        wall_s=time.perf_counter() - started,
        interrupted=stopper.signalled,
        stopped=stop is not None and stop.applied and not stopper.signalled,
        request_digests=request_digests(plan, engine),
        transfer=engine_transfer(engine),
        redirect_offsite=engine_offsite(engine),
    )


def engine_offsite(engine: AnyEngine) -> Optional[str]:
    """The first Location to another origin a live engine's redirects named
    (not followed); None when there was none, and for the simulated engine."""
    return engine.offsite_location if isinstance(engine, LiveEngine) else None


def engine_transfer(engine: AnyEngine) -> Optional[Transfer]:
    """The bytes a live engine sent and received, by request; None for the
    simulated engine (nothing goes over a wire)."""
    if not isinstance(engine, LiveEngine):
        return None
    sent, received = engine.transfer()
    return Transfer(tuple(int(n) for n in sent.tolist()), tuple(int(n) for n in received.tolist()))


def request_digests(plan: Plan, engine: AnyEngine) -> Optional[dict[str, str]]:
    """Each VU's digest of its rendered requests, as the log's footer keeps them
    ({VU id: 16 hex digits}); None when the engine rendered no templates."""
    digests = getattr(engine, "request_digests", None)
    if digests is None:
        return None
    return {str(vu): f"{int(d):016x}" for vu, d in zip(plan.vu_ids, digests.tolist())}
