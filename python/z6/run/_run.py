"""`run_scenario`: one run, start to finish, on the calling thread.

The thin entry point behind `z6 run`, for users who embed the engine: it is
``z6.start(...).result()`` without the extra thread (`z6.run._handle`), so a
signal to the main thread stops a live run gracefully as it always has.
"""

from __future__ import annotations

import os
from typing import Any, Callable, Optional, Sequence

import numpy as np

from z6.result import ProgressSnapshot, RunResult
from z6.run._handle import prepare_run
from z6.run._options import Mode, ScenarioLike

__all__ = ["run_scenario"]


def run_scenario(
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
) -> RunResult:
    """Run a scenario (a `Scenario`, or the path of its file) and return its
    summary and verdicts: ``z6.start(...).result()``, run on the calling thread
    (so that the main thread's signal handlers stop a live run gracefully).

    ``mode`` is "simulate" or "live"; by default a scenario with a
    ``[simulation]`` section is simulated and any other sends real HTTP (a
    ``builtin = true`` target is started for the run and stopped after it).
    ``consumers`` get every event chunk too, in order (e.g. a digest or a writer),
    on the run's thread, read-only: a slow one slows the run (`z6.start`'s
    ``chunks()`` does not). ``base_url`` points the run at another server than the
    scenario's target. ``keep_events`` keeps the events in memory as
    ``result.events`` (default: up to `DEFAULT_KEEP_EVENTS`, docs/api.md).
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
    return prepare_run(scenario, seed=seed, vus=vus, duration_s=duration_s, mode=mode, base_url=base_url,
                       consumers=consumers, progress=progress, out_dir=out_dir, html=html, workers=workers,
                       cluster=cluster, listen=listen, keep_events=keep_events).run_here()
