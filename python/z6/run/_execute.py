"""One run, end to end, on the calling thread: target -> engine -> summary -> assertions.

`execute_run` is the body of every run, whichever way it is driven: `z6.run_scenario`
(and so `z6 run`) calls it on its own thread, a `z6.start` handle on the run's
thread; `RunHooks` is how the handle takes part (stop, live statistics, chunk
queue, kept events). `check_scenario` is every rule applied before a run starts.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
from dataclasses import dataclass
from typing import Any, Callable, Iterator, Optional, Sequence

import numpy as np

from z6.analysis import RowsRunOut, with_live_warnings, with_rows_note
from z6.assertions import evaluate_assertions
from z6.distributed import Backend, DaskCluster, LocalProcesses, ScaleOut, run_distributed
from z6.errors import ConfigError, RunError
from z6.live import LiveTarget, check_reachable, ensure_descriptors, host_header, resolve_target, serialize_request
from z6.metrics import SummaryBuilder, iteration_requests, mean_think_ms
from z6.plan import Plan, compile_plan
from z6.result import ProgressSnapshot, RunResult, RunStats
from z6.run._consumer_thread import ConsumerThread
from z6.run._directory import RunDirectory
from z6.runner import RunStop, run_plan
from z6.scenario import Scenario
from z6.serve import BuiltinTarget

__all__ = ["execute_run", "check_scenario", "RunHooks"]


def _schedule_max_vus(scenario, vus: Optional[int]) -> int:
    return vus if vus is not None else scenario.schedule.max_vus


@contextlib.contextmanager
def _live_target(scenario, vus: Optional[int], distributed: bool = False,
                 templates=None) -> Iterator[LiveTarget]:
    # Descriptors first: a run that cannot open its sockets fails before any
    # traffic. (Shards of a distributed run check their own share.)
    if not distributed:
        ensure_descriptors(_schedule_max_vus(scenario, vus), scenario.source)
    if scenario.target.builtin:
        with BuiltinTarget(tls=scenario.target.tls) as server:
            # Over HTTPS the run trusts the certificate the server made at start.
            yield check_reachable(resolve_target(scenario, server.base_url, ca_file=server.ca_file,
                                                 templates=templates), scenario.source)
    else:
        yield check_reachable(resolve_target(scenario, templates=templates), scenario.source)


def check_scenario(
    scenario,
    *,
    seed: Optional[int] = None,
    vus: Optional[int] = None,
    duration_s: Optional[float] = None,
    mode: Optional[str] = None,
) -> Plan:
    """Every rule `run_scenario` applies before it starts: the plan compiled, and in
    live mode each request serialised. `z6 validate` calls this, so it refuses
    exactly what `z6 run` refuses, with the same message; raises ConfigError."""
    plan = compile_plan(scenario, seed=seed, vus=vus, duration_s=duration_s, mode=mode)
    if plan.mode == "live":
        target = scenario.target
        authority = host_header(target.host, target.port or 80, 443 if target.tls else 80)
        for i, request in enumerate(scenario.requests):
            serialize_request(request, authority, "z6", f"{scenario.source}: requests[{i}] ({request.name})")
    return plan


def _backend(workers: Optional[int], cluster: Any, listen: Optional[str]) -> Backend:
    if cluster is not None:
        return DaskCluster(cluster, listen_host=listen)
    assert workers is not None
    return LocalProcesses(workers)


@dataclass
class RunHooks:
    """How a run's handle (`z6.run._handle`) takes part in the run, all optional:
    ``stop`` is checked between chunks; ``on_builder`` gets that builder before the first chunk; ``on_progress`` is
    called after each chunk; ``taps`` are further consumers (a chunk queue, the
    event keeper); ``chunks_missed`` and ``kept_events`` are asked at the end."""

    stop: Optional[RunStop] = None
    on_builder: Optional[Callable[[SummaryBuilder], None]] = None
    on_progress: Optional[Callable[[ProgressSnapshot], None]] = None
    taps: Sequence[Callable[[np.ndarray], None]] = ()
    chunks_missed: Callable[[], tuple[int, int]] = lambda: (0, 0)
    kept_events: Callable[[], Optional[np.ndarray]] = lambda: None



def _both(first: Optional[Callable[[ProgressSnapshot], None]],
          second: Optional[Callable[[ProgressSnapshot], None]]) -> Optional[Callable[[ProgressSnapshot], None]]:
    if first is None or second is None:
        return first or second

    def progress(snapshot: ProgressSnapshot) -> None:
        first(snapshot)
        second(snapshot)
    return progress


def execute_run(
    scenario: Scenario,
    plan: Plan,
    *,
    vus: Optional[int] = None,
    duration_s: Optional[float] = None,
    consumers: Sequence[Callable[[np.ndarray], None]] = (),
    progress: Optional[Callable[[ProgressSnapshot], None]] = None,
    out_dir: Optional[str | os.PathLike[str]] = None,
    html: bool = False,
    workers: Optional[int] = None,
    cluster: Any = None,
    listen: Optional[str] = None,
    hooks: RunHooks = RunHooks(),
) -> RunResult:
    """Run a checked plan of ``scenario`` on this thread and return its result:
    the body of `run_scenario` and of a `z6.start` handle's thread (see
    `run_scenario` for the arguments)."""
    outputs: Optional[RunDirectory] = None
    scale_out: Optional[ScaleOut] = None
    distributed = workers is not None or cluster is not None
    rows = RowsRunOut(plan)

    def run(target: Optional[LiveTarget], backend: Optional[Backend]) -> tuple[SummaryBuilder, RunStats]:
        # The run directory is made only now, once the target answered: a run
        # that never started leaves nothing behind.
        nonlocal outputs
        if out_dir is not None:
            shards = (workers if workers is not None else backend.default_shards()) if backend is not None else 1
            outputs = RunDirectory(out_dir, scenario, plan, vus_override=vus, duration_override_s=duration_s,
                                   shards=shards)
            outputs.target_templates = target.templates if target is not None else None
        builder = SummaryBuilder(plan.request_names, plan.tick_ns,
                                 # templated requests vary in size: their bytes are not counted
                                 request_bytes=([len(w) for w in target.requests]
                                                if target and target.templates is None else None),
                                 think_ms=mean_think_ms(scenario.think_time), open_model=iteration_requests(plan),
                                 on_start=len(plan.on_start) > 0,
                                 checks=plan.checks.labels if plan.checks is not None else None,
                                 redirects=target is not None and target.follow_redirects > 0)
        if hooks.on_builder is not None:
            hooks.on_builder(builder)
        with contextlib.ExitStack() as folding:
            # A simulated run folds its summary on a thread of its own, beside the
            # engine's next fill (z6.run._consumer_thread). A live run folds on the
            # run's thread: its chunks are small, and its figures on screen stay current.
            fold: Callable[[np.ndarray], None] = builder
            if plan.mode == "simulate":
                fold = folding.enter_context(ConsumerThread(builder, name="z6 summary"))
            # The live statistics read the builder's core accumulator, which locks itself.
            sinks = [fold, rows, *([outputs.writer] if outputs else []), *consumers, *hooks.taps]
            watch = _both(progress, hooks.on_progress)
            if backend is None:
                stats = run_plan(plan, sinks, progress=watch, target=target, stop=hooks.stop)
            else:
                nonlocal scale_out
                stats, scale_out = run_distributed(plan, sinks, backend, shards=workers, target=target,
                                                   progress=watch)
        if outputs is not None:
            # The log is written by the writer's thread: wait for it, so that a write
            # that failed at the end fails the run as one during it would.
            outputs.writer.flush()
        return builder, stats

    try:
        with contextlib.ExitStack() as stack:
            # The cluster first: an unreachable scheduler fails before a
            # built-in target is started or a run directory made.
            backend = stack.enter_context(_backend(workers, cluster, listen)) if distributed else None
            target = None
            if plan.mode == "live":
                if backend is not None and scenario.target.builtin and not backend.on_this_machine():
                    raise ConfigError(f"{scenario.source}: target.builtin: the built-in target listens on "
                                      f"127.0.0.1 of this machine, which workers of the cluster at {backend.address} "
                                      "cannot reach; point target.base_url at a real server, or use --workers")
                target = stack.enter_context(_live_target(scenario, vus, distributed, plan.templates))
            builder, stats = run(target, backend)
    except BaseException as exc:
        if outputs is None:
            if isinstance(exc, OSError):
                raise RunError(f"{scenario.source}: the run failed: {exc}") from exc
            raise
        if not isinstance(exc, Exception):
            outputs.abort()  # KeyboardInterrupt, SystemExit: keep the .partial as it is
            raise
        # The run stopped on an error (a full disk, a lost target): the log is
        # sealed "failed" if its footer fits, and no summary claims anything.
        sealed = outputs.fail()
        state = (f"the log {sealed} is sealed with status failed" if sealed is not None
                 else f"no complete log was left in {outputs.path}")
        if isinstance(exc, OSError):
            raise RunError(f"{scenario.source}: the run failed (run directory {outputs.path}): {exc}; "
                           f"{state}") from exc
        if isinstance(exc, RunError):
            raise RunError(f"{exc}; {state}") from exc
        raise
    summary = builder.finish()
    stalled_s = outputs.writer.stalled_s if outputs else 0.0
    summary = with_live_warnings(summary, scenario, plan.mode, stalled_s, stats.redirect_offsite)
    summary = with_rows_note(summary, rows)
    stats = dataclasses.replace(stats, writer_stalled_s=stalled_s)
    missed, offered = hooks.chunks_missed()
    if missed:
        summary = dataclasses.replace(summary, warnings=(
            *summary.warnings, f"the chunk reader missed {missed} of {offered} event chunks (its queue was full); "
                               "the summary and the log have every event"))
    result = RunResult(
        scenario_source=scenario.source,
        scenario_sha256=scenario.sha256,
        mode=plan.mode,
        seed=plan.seed,
        n_vus=plan.n_vus,
        plan=plan,
        stats=stats,
        summary=summary,
        assertions=tuple(evaluate_assertions(scenario.assertions, summary)),
        interrupted=stats.interrupted,
        out_dir=outputs.path if outputs else None,
        scale_out=scale_out,
        events=hooks.kept_events(),
        chunks_missed=missed,
    )
    if outputs is not None:
        outputs.finish(result, html=html)
        # The footer's figure, which counts a wait while the verdicts were written too.
        result = dataclasses.replace(result, stats=dataclasses.replace(
            result.stats, writer_stalled_s=outputs.writer.stalled_s))
    return result
