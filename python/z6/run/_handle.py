"""A run with its own thread, watched and stopped from anywhere: `z6.start` -> `RunHandle`.

    run = z6.start("scenario.toml", seed=7, mode="simulate")
    run.stats()                         # LiveStats: figures so far, from any thread
    run.stop()                          # graceful; stop(cancel_in_flight=True) cancels in flight
    result = run.result(timeout=60)     # or `await run` in a coroutine

The contract (docs/api.md): the engines run in C without the GIL, so the run's
thread leaves the caller's threads and event loop free. One run per thread: the
run's thread drives the engine, feeds the summary and the log; every method of
the handle is safe from any thread, and `stop` is also what cancelling a task
that awaits the run does. Chunks reach a `chunks()` reader through a bounded
queue (`ChunkQueue`): a slow reader misses chunks (counted, and said in the
summary), it never slows the engine.

A simulated run's events do not depend on how it is driven: `run_scenario` runs
the very same `execute_run` on the caller's thread (`run_here`), so its events,
log and summary are those of a handle's run.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import os
import threading
from pathlib import Path
from typing import Any, AsyncIterator, Callable, Generator, Iterator, Literal, Optional, Sequence

import numpy as np

from z6.errors import ConfigError
from z6.events import EVENT_DTYPE
from z6.metrics import SummaryBuilder
from z6.plan import Plan
from z6.result import ProgressSnapshot, RunResult
from z6.run._chunk_queue import ChunkQueue
from z6.run._execute import RunHooks, check_scenario, execute_run
from z6.run._live_stats import LiveStats, RateWindow, live_stats, read_figures
from z6.run._directory import check_run_directory
from z6.run._options import Mode, ScenarioLike, as_scenario, check_options, check_outputs, with_base_url
from z6.runner import RunStop
from z6.scenario import Scenario

__all__ = ["start", "prepare_run", "RunHandle", "RunState", "DEFAULT_KEEP_EVENTS"]

RunState = Literal["starting", "running", "stopping", "finished", "failed"]

# Events a run keeps in memory by default (``keep_events=None``): 4,194,304
# records of 32 bytes, 128 MiB. A run that emits more keeps none (result.events
# is None); keep_events=True keeps them all, keep_events=False none.
DEFAULT_KEEP_EVENTS = 4_194_304


class _EventKeeper:
    """A consumer keeping every chunk, up to a limit.

    A full chunk is kept as it is (the runner's array, no copy: held, it is never
    refilled). A short one is copied: a live fill returns every 250 ms with the few
    events it has, and keeping that view would pin its whole 2 MiB array, so an
    hour's run would hold tens of GB of address space for a few MB of events.
    """

    def __init__(self, limit: Optional[int]) -> None:
        self.limit = limit
        self.chunks: list[np.ndarray] = []
        self.records = 0
        self.overflowed = False

    def __call__(self, chunk: np.ndarray) -> None:
        if self.overflowed:
            return
        self.records += len(chunk)
        if self.limit is not None and self.records > self.limit:
            self.overflowed = True
            self.chunks = []   # past the limit: keep nothing rather than a truncated stream
            return
        base = chunk.base
        if base is not None and 2 * chunk.nbytes < base.nbytes:
            chunk = chunk.copy()
        self.chunks.append(chunk)

    def events(self) -> Optional[np.ndarray]:
        if self.overflowed:
            return None
        from_engine = self.chunks
        self.chunks = []
        if not from_engine:
            return np.empty(0, dtype=EVENT_DTYPE)
        return np.concatenate(from_engine)


class RunHandle:
    """One run, on its own thread (`z6.start`) or the caller's (`run_scenario`)."""

    def __init__(self, scenario: Scenario, plan: Plan, *, run_kwargs: dict[str, Any], chunk_queue: int,
                 keep_events: Optional[bool], stats_interval_s: float) -> None:
        self.scenario = scenario
        self.plan = plan
        self.mode: Mode = "live" if plan.mode == "live" else "simulate"
        self.stats_interval_s = stats_interval_s
        self._run_kwargs = run_kwargs
        self._distributed = run_kwargs.get("workers") is not None or run_kwargs.get("cluster") is not None
        # Why stop() cannot reach this run, or None when it can.
        self._unstoppable: Optional[str] = (
            "stop(): a run split over workers or a cluster is stopped by a signal to its coordinator, "
            "not through its handle" if self._distributed else None)
        self._future: concurrent.futures.Future[RunResult] = concurrent.futures.Future()
        self._state: RunState = "starting"
        self._state_lock = threading.Lock()
        self._stop = RunStop()
        self._builder: Optional[SummaryBuilder] = None
        self._window = RateWindow()
        self._active_vus = 0
        self._queue = ChunkQueue(chunk_queue) if chunk_queue else None
        self._keeper = None if keep_events is False else _EventKeeper(None if keep_events else DEFAULT_KEEP_EVENTS)
        self._thread: Optional[threading.Thread] = None
        tick_s = plan.tick_ns / 1e9
        self._total_s = None if plan.iterations else plan.end_tick * tick_s

    # ------------------------------------------------------------------ the run's side

    def _hooks(self) -> RunHooks:
        taps: list[Callable[[np.ndarray], None]] = []
        if self._keeper is not None:
            taps.append(self._keeper)
        if self._queue is not None:
            taps.append(self._queue.offer)
        return RunHooks(
            stop=self._stop,
            on_builder=self._started,
            on_progress=self._progress,
            taps=taps,
            chunks_missed=lambda: (self._queue.missed, self._queue.offered) if self._queue else (0, 0),
            kept_events=lambda: self._keeper.events() if self._keeper is not None else None,
        )

    def _started(self, builder: SummaryBuilder) -> None:
        self._builder = builder
        self._set_state("running", only_from="starting")

    def _progress(self, snapshot: ProgressSnapshot) -> None:
        self._active_vus = snapshot.active_vus
        self._window.add(snapshot.elapsed_s, snapshot.requests_issued)

    def _set_state(self, state: RunState, only_from: Optional[str] = None) -> None:
        with self._state_lock:
            if only_from is None or self._state == only_from:
                self._state = state

    def run_here(self) -> RunResult:
        """Run on the calling thread and return the result (or raise the run's error)."""
        try:
            result = execute_run(self.scenario, self.plan, hooks=self._hooks(), **self._run_kwargs)
        except BaseException as exc:
            self._set_state("failed")
            self._future.set_exception(exc)
            raise
        finally:
            if self._queue is not None:
                self._queue.close()
        self._set_state("finished")
        self._future.set_result(result)
        return result

    def _thread_main(self) -> None:
        try:
            self.run_here()
        except BaseException:
            pass  # kept in the future: result() and `await` raise it

    def _start_thread(self) -> "RunHandle":
        self._thread = threading.Thread(target=self._thread_main, name=f"z6-run-{self.scenario.metadata.name}",
                                        daemon=True)
        self._thread.start()
        return self

    # ------------------------------------------------------------------ any thread

    @property
    def state(self) -> RunState:
        """"starting" (target, run directory), "running", "stopping" (a stop was
        asked for), "finished" (a result, whatever its status) or "failed" (an error)."""
        return self._state

    @property
    def done(self) -> bool:
        return self._future.done()

    def stop(self, cancel_in_flight: bool = False) -> None:
        """Stop the run: no request is issued from the next chunk on (live: within
        250 ms), requests in flight end within the scenario's graceful stop, or
        at once with ``cancel_in_flight``. The result's status is then "stopped"
        (unless the run had already finished). Safe from any thread or task,
        any number of times; a distributed run (``workers``, ``cluster``)
        cannot be stopped this way (ConfigError)."""
        if self._unstoppable is not None:
            raise ConfigError(self._unstoppable)
        if not isinstance(cancel_in_flight, bool):   # "no" would be truthy and cancel
            raise ConfigError(f"stop(cancel_in_flight={cancel_in_flight!r}): must be True or False")
        if self._future.done():
            return
        self._stop.request(cancel_in_flight)
        self._set_state("stopping", only_from="running")
        self._set_state("stopping", only_from="starting")

    def stats(self) -> LiveStats:
        """The figures so far (`LiveStats`), from the run's own summary aggregate."""
        elapsed_s, _ = self._window.latest()
        builder = self._builder
        if builder is None:
            names = tuple(self.plan.request_names)
            builder = SummaryBuilder(names, self.plan.tick_ns)   # not started: all zero
        figures = read_figures(builder)
        return live_stats(figures, state=self.state, elapsed_s=elapsed_s, total_s=self._total_s,
                          rate=self._window.rate())

    def result(self, timeout: Optional[float] = None) -> RunResult:
        """Wait for the run's result (TimeoutError after ``timeout`` seconds); the
        run's error is raised here."""
        return self._future.result(timeout)

    def chunks(self) -> Iterator[np.ndarray]:
        """The run's event chunks, in order, through the bounded queue asked for
        with ``start(chunk_queue=N)``; the iteration ends with the run. Chunks
        the queue had no room for are skipped (``result().chunks_missed``)."""
        if self._queue is None:
            raise ConfigError("chunks(): start the run with chunk_queue=N (N chunks of room) to read its chunks")
        return iter(self._queue)

    async def aiter_stats(self, interval_s: Optional[float] = None) -> AsyncIterator[LiveStats]:
        """`stats()` every ``interval_s`` (default: the run's ``stats_interval_s``)
        until the run ends, then once more with the final figures."""
        interval = self.stats_interval_s if interval_s is None else interval_s
        if isinstance(interval, bool) or not isinstance(interval, (int, float)) or not 0 < interval <= 3600:
            raise ConfigError(f"aiter_stats(interval_s={interval_s!r}): must be a number of seconds in (0, 3600]")
        while not self._future.done():
            yield self.stats()
            await asyncio.sleep(interval)
        yield self.stats()

    async def _wait(self) -> RunResult:
        try:
            return await asyncio.shield(asyncio.wrap_future(self._future))
        except asyncio.CancelledError:
            # The awaiting task was cancelled: the run stops too, rather than going on unwatched.
            if self._unstoppable is None:
                self.stop()
            raise

    def __await__(self) -> Generator[Any, None, RunResult]:
        return self._wait().__await__()

    def __enter__(self) -> "RunHandle":
        return self

    def __exit__(self, *exc: object) -> None:
        """Leaving the block stops the run (if it still runs) and waits for it;
        the run's error is raised unless the block raised one already."""
        if not self._future.done() and self._unstoppable is None:
            self.stop()
        try:
            self._future.result()
        except BaseException:
            if exc[0] is None:
                raise

    def __repr__(self) -> str:
        return f"<RunHandle {self.scenario.source!r} mode={self.mode} state={self.state}>"


def prepare_run(
    scenario: ScenarioLike,
    *,
    seed: Optional[int] = None,
    vus: Optional[int] = None,
    duration_s: Optional[float] = None,
    mode: Optional[Mode] = None,
    base_url: Optional[str] = None,
    consumers: Sequence[Callable[[np.ndarray], None]] = (),
    progress: Optional[Callable[[ProgressSnapshot], None]] = None,
    out_dir: Optional[str | os.PathLike[str]] = None,
    html: bool = False,
    workers: Optional[int] = None,
    cluster: Any = None,
    listen: Optional[str] = None,
    keep_events: Optional[bool] = None,
    stats_interval_s: float = 0.25,
    chunk_queue: int = 0,
) -> RunHandle:
    """Check everything a run checks before it starts (keywords, scenario, plan) and
    return its handle, not yet running: `start` runs it on a thread of its own,
    `run_scenario` on the caller's. Raises ConfigError / ScenarioError."""
    check_options(seed=seed, vus=vus, duration_s=duration_s, mode=mode, workers=workers,
                  stats_interval_s=stats_interval_s, chunk_queue=chunk_queue)
    if keep_events is not None and not isinstance(keep_events, bool):   # 1 == True, yet not a choice
        raise ConfigError(f"keep_events={keep_events!r}: must be True, False or None (keep up to "
                          f"{DEFAULT_KEEP_EVENTS:,} events)")
    check_outputs(consumers=consumers, progress=progress, out_dir=out_dir, html=html)
    if out_dir is not None:
        check_run_directory(Path(out_dir))
    loaded = as_scenario(scenario)
    if out_dir is not None and not loaded.from_text:
        raise ConfigError(f"{loaded.source}: this Scenario was changed after it was parsed (dataclasses.replace), "
                          "so its text no longer describes the run, and a run directory (out_dir) records that "
                          "text to replay it: put the change into the text and parse it again "
                          "(z6.parse_scenario), or run without out_dir")
    if base_url is not None:
        loaded = with_base_url(loaded, base_url)
    if (vus is not None or duration_s is not None) and loaded.schedule.type != "constant":
        given = ", ".join(f"{k}={v!r}" for k, v in (("vus", vus), ("duration_s", duration_s)) if v is not None)
        raise ConfigError(f"{given}: vus and duration_s override a constant schedule; {loaded.source} declares "
                          f"a {loaded.schedule.type!r} schedule")
    plan = check_scenario(loaded, seed=seed, vus=vus, duration_s=duration_s, mode=mode)
    run_kwargs = dict(vus=vus, duration_s=duration_s, consumers=consumers, progress=progress, out_dir=out_dir,
                      html=html, workers=workers, cluster=cluster, listen=listen)
    return RunHandle(loaded, plan, run_kwargs=run_kwargs, chunk_queue=chunk_queue, keep_events=keep_events,
                     stats_interval_s=stats_interval_s)


def start(
    scenario: ScenarioLike,
    *,
    seed: Optional[int] = None,
    vus: Optional[int] = None,
    duration_s: Optional[float] = None,
    mode: Optional[Mode] = None,
    base_url: Optional[str] = None,
    out_dir: Optional[str | os.PathLike[str]] = None,
    html: bool = False,
    stats_interval_s: float = 0.25,
    chunk_queue: int = 0,
    keep_events: Optional[bool] = None,
    consumers: Sequence[Callable[[np.ndarray], None]] = (),
    progress: Optional[Callable[[ProgressSnapshot], None]] = None,
    workers: Optional[int] = None,
    cluster: Any = None,
    listen: Optional[str] = None,
) -> RunHandle:
    """Start a run on a thread of its own and return its `RunHandle` at once.

    The keywords, the scenario (a `Scenario`, or a path that is loaded) and the
    plan are checked here, before the thread starts: a bad one raises
    ConfigError (naming the keyword) or ScenarioError now. What fails later
    (an unreachable target, a full disk) is raised by ``result()`` / ``await``.
    ``chunk_queue=N`` gives ``chunks()`` a queue of N chunks; ``keep_events``
    keeps the events as ``result.events`` (default: runs of up to
    `DEFAULT_KEEP_EVENTS` events). The rest are `run_scenario`'s.
    """
    return prepare_run(scenario, seed=seed, vus=vus, duration_s=duration_s, mode=mode, base_url=base_url,
                       consumers=consumers, progress=progress, out_dir=out_dir, html=html, workers=workers,
                       cluster=cluster, listen=listen, keep_events=keep_events, stats_interval_s=stats_interval_s,
                       chunk_queue=chunk_queue)._start_thread()
