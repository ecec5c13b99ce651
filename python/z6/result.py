"""What a run gives back: its counts (`RunStats`), its progress as it goes
(`ProgressSnapshot`) and its whole result (`RunResult`).

A leaf module: the runner, the run directory, the text and JSON reports and the
recomputation from a log all need these types, and none of them may import the
orchestrator (`z6.run`) that produces them. The types they refer to (plan,
summary, assertion results, the scale-out report) are named for type checkers
only, so importing this module imports nothing else of z6.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Optional

from z6._version import __version__

if TYPE_CHECKING:
    from z6.assertions import AssertionResult
    from z6.distributed import ScaleOut
    from z6.metrics import Summary
    from z6.plan import Plan

__all__ = ["RunStats", "ProgressSnapshot", "RunResult", "RUN_STATUSES"]

# How a run ended. "partial" only describes a log the run never finished writing.
RUN_STATUSES = ("completed", "interrupted", "failed", "partial")


@dataclass(frozen=True)
class RunStats:
    events: int
    requests_issued: int
    final_tick: int
    wall_s: Optional[float]   # None when unknown (a run rebuilt from a log without a footer)
    interrupted: bool = False  # a stop signal ended the run early
    # live runs with templated requests: {VU id (str): FNV-1a 64 digest (16 hex digits)}
    # of the bytes each VU rendered (docs/event-log.md); None otherwise
    request_digests: Optional[dict[str, str]] = None


@dataclass(frozen=True)
class ProgressSnapshot:
    """Where a run is, handed to a progress callback after every chunk.

    ``elapsed_s`` is run time: wall-clock seconds in a live run, simulated seconds
    (the current tick) in a simulated one. ``total_s`` is the schedule's planned
    length (None when only iterations bound the run).
    """

    elapsed_s: float
    total_s: Optional[float]
    active_vus: int
    requests_issued: int
    events: int
    wall_s: float


@dataclass(frozen=True)
class RunResult:
    """One run: its plan, counts, summary and assertion verdicts.

    ``source`` says where the figures come from: "run" (`z6.run_scenario`) or
    "log" (`z6.analysis.recompute_run`, rebuilt from an event log). A result from
    a log carries the status the log records (``recorded_status``, which may be
    "partial") and the z6 version that wrote it.
    """

    scenario_source: str
    scenario_sha256: str
    mode: str
    seed: int
    n_vus: int
    plan: "Plan"
    stats: RunStats
    summary: "Summary"
    assertions: tuple["AssertionResult", ...]
    interrupted: bool = False  # Ctrl-C / SIGTERM stopped the run early: the summary covers what ran
    out_dir: Optional[Path] = None  # where the event log, summary.json and scenario copy were written
    scale_out: Optional["ScaleOut"] = None  # how a --workers/--cluster run was split, and any lost shard
    source: str = "run"
    z6_version: str = __version__
    recorded_status: Optional[str] = None  # a log's own status; None: derived from the run

    @property
    def passed(self) -> bool:
        return all(a.passed for a in self.assertions)

    @property
    def failed(self) -> bool:
        """A worker was lost: part of the planned load is missing from the figures."""
        if self.recorded_status is not None:
            return self.recorded_status == "failed"
        return self.scale_out is not None and bool(self.scale_out.lost)

    @property
    def status(self) -> str:
        """One of `RUN_STATUSES`."""
        if self.recorded_status is not None:
            return self.recorded_status
        return "failed" if self.failed else "interrupted" if self.interrupted else "completed"

    @property
    def distribution(self) -> Optional["ScaleOut"]:
        """Deprecated name of `scale_out` (it was easy to confuse with
        ``summary.distribution``, the latency distribution)."""
        warnings.warn("RunResult.distribution is now RunResult.scale_out", DeprecationWarning, stacklevel=2)
        return self.scale_out

    def to_dict(self) -> dict[str, Any]:
        return {
            "scenario": self.scenario_source,
            "scenario_sha256": self.scenario_sha256,
            "mode": self.mode,
            "seed": self.seed,
            "vus": self.n_vus,
            "tick_ns": self.plan.tick_ns,
            "wall_s": self.stats.wall_s,
            "summary": self.summary.to_dict(),
            "assertions": [a.to_dict() for a in self.assertions],
            "passed": self.passed,
            "interrupted": self.interrupted,
            "status": self.status,
            "out_dir": str(self.out_dir) if self.out_dir else None,
            "distributed": self.scale_out.to_dict() if self.scale_out else None,
        }
