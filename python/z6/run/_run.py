"""One run, end to end: scenario -> plan -> engine -> summary -> assertions.

The thin orchestration behind `z6 run` and `z6.run_scenario`, for users who embed
the engine behind their own front end.
"""

from __future__ import annotations

import contextlib
import os
from typing import Any, Callable, Iterator, Optional, Sequence

import numpy as np

from z6.analysis import with_live_warnings
from z6.assertions import evaluate_assertions
from z6.distributed import Backend, DaskCluster, LocalProcesses, ScaleOut, run_distributed
from z6.errors import ConfigError, RunError
from z6.live import LiveTarget, check_reachable, ensure_descriptors, host_header, resolve_target, serialize_request
from z6.metrics import SummaryBuilder, iteration_requests, mean_think_ms
from z6.plan import Plan, compile_plan
from z6.result import ProgressSnapshot, RunResult, RunStats
from z6.run._directory import RunDirectory
from z6.runner import run_plan
from z6.serve import BuiltinTarget

__all__ = ["run_scenario", "check_scenario"]


def _schedule_max_vus(scenario, vus: Optional[int]) -> int:
    return vus if vus is not None else scenario.schedule.max_vus


@contextlib.contextmanager
def _live_target(scenario, vus: Optional[int], distributed: bool = False) -> Iterator[LiveTarget]:
    # Descriptors first: a run that cannot open its sockets fails before any
    # traffic. (Shards of a distributed run check their own share.)
    if not distributed:
        ensure_descriptors(_schedule_max_vus(scenario, vus), scenario.source)
    if scenario.target.builtin:
        with BuiltinTarget(tls=scenario.target.tls) as server:
            # Over HTTPS the run trusts the certificate the server made at start.
            yield check_reachable(resolve_target(scenario, server.base_url, ca_file=server.ca_file),
                                  scenario.source)
    else:
        yield check_reachable(resolve_target(scenario), scenario.source)


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


def run_scenario(
    scenario,
    *,
    seed: Optional[int] = None,
    vus: Optional[int] = None,
    duration_s: Optional[float] = None,
    mode: Optional[str] = None,
    consumers: Sequence[Callable[[np.ndarray], None]] = (),
    progress: Optional[Callable[[ProgressSnapshot], None]] = None,
    out_dir: Optional[str | os.PathLike[str]] = None,
    html: bool = False,
    workers: Optional[int] = None,
    cluster: Any = None,
    listen: Optional[str] = None,
) -> RunResult:
    """Run a loaded scenario and return its summary and verdicts.

    ``mode`` is "simulate" or "live"; by default a scenario with a
    ``[simulation]`` section is simulated and any other sends real HTTP (a
    ``builtin = true`` target is started for the run and stopped after it).
    ``consumers`` get every event chunk too, in order (e.g. a digest or a writer).
    With ``out_dir`` the run leaves its event log, summary.json and a copy of the
    scenario there (and report.html with ``html``).

    ``workers`` splits the VUs over that many local processes; ``cluster`` (a
    Dask scheduler address such as ``tcp://host:8786``, or a
    ``distributed.Client``) runs them on a Dask cluster, as ``workers`` shards
    or one per Dask worker; ``listen`` is the host the workers reach this
    process on (default: this machine's address on the route to the
    scheduler). The events, log and summary are those of a one-process run;
    if a worker is lost, the result's ``failed`` is true and its
    ``scale_out`` names the lost VUs (docs/distributed.md).
    """
    plan = check_scenario(scenario, seed=seed, vus=vus, duration_s=duration_s, mode=mode)
    outputs: Optional[RunDirectory] = None
    scale_out: Optional[ScaleOut] = None
    distributed = workers is not None or cluster is not None

    def run(target: Optional[LiveTarget], backend: Optional[Backend]) -> tuple[SummaryBuilder, RunStats]:
        # The run directory is made only now, once the target answered: a run
        # that never started leaves nothing behind.
        nonlocal outputs
        if out_dir is not None:
            outputs = RunDirectory(out_dir, scenario, plan, vus_override=vus, duration_override_s=duration_s)
        builder = SummaryBuilder(plan.request_names, plan.tick_ns,
                                 request_bytes=[len(w) for w in target.requests] if target else None,
                                 think_ms=mean_think_ms(scenario.think_time), open_model=iteration_requests(plan))
        sinks = [builder, *([outputs.writer] if outputs else []), *consumers]
        if backend is None:
            stats = run_plan(plan, sinks, progress=progress, target=target)
        else:
            nonlocal scale_out
            stats, scale_out = run_distributed(plan, sinks, backend, shards=workers, target=target,
                                               progress=progress)
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
                target = stack.enter_context(_live_target(scenario, vus, distributed))
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
    summary = with_live_warnings(summary, scenario, plan.mode, outputs.writer.stalled_s if outputs else 0.0)
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
    )
    if outputs is not None:
        outputs.finish(result, html=html)
    return result
