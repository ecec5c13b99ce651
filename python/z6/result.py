"""What a run gives back: its counts (`RunStats`), its progress as it goes
(`ProgressSnapshot`) and its whole result (`RunResult`).

A leaf module: the runner, the run directory, the text and JSON reports and the
recomputation from a log all need these types, and none of them may import the
orchestrator (`z6.run`) that produces them. The types they refer to (plan,
summary, assertion results, the scale-out report) are named for type checkers
only, so importing this module imports nothing of z6 above the event kinds
(`z6.events`, which `to_pandas` names).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, Optional, cast

from z6._version import __version__

import numpy as np

from z6.events import EventKind

if TYPE_CHECKING:
    import pandas as pd

    from z6.assertions import AssertionResult
    from z6.distributed import ScaleOut
    from z6.metrics import Summary
    from z6.plan import Plan

__all__ = ["RunStats", "ProgressSnapshot", "RunResult", "RUN_STATUSES", "RunStatus", "Transfer"]

# How a run ended. "partial" only describes a log the run never finished writing.
# "stopped": `stop()` on the run's handle (z6.start) ended it early.
RUN_STATUSES = ("completed", "interrupted", "stopped", "failed", "partial")
RunStatus = Literal["completed", "interrupted", "stopped", "failed", "partial"]


@dataclass(frozen=True)
class Transfer:
    """Bytes that went over the wire in a live run, by request definition (the
    plan's order): request and response heads and bodies as HTTP bytes (inside
    TLS), counted by the core as they were written and read. A request resent on
    a fresh connection counts twice, as it went out twice. Bytes a server sent
    on an idle connection belong to no request and are left out.
    """

    sent: tuple[int, ...]
    received: tuple[int, ...]

    def __post_init__(self) -> None:
        if len(self.sent) != len(self.received):
            raise ValueError(f"transfer: {len(self.sent)} sent counts but {len(self.received)} received counts")
        for label, counts in (("sent", self.sent), ("received", self.received)):
            if not all(isinstance(n, int) and not isinstance(n, bool) and n >= 0 for n in counts):
                raise ValueError(f"transfer: {label} must be non-negative integers, got {list(counts)!r:.200}")

    @property
    def total_sent(self) -> int:
        return sum(self.sent)

    @property
    def total_received(self) -> int:
        return sum(self.received)

    def plus(self, other: "Transfer") -> "Transfer":
        """Both runs' bytes, request by request (the shards of one run)."""
        if len(other.sent) != len(self.sent):
            raise ValueError(f"transfer: cannot add {len(other.sent)} requests' bytes to {len(self.sent)}'")
        return Transfer(tuple(a + b for a, b in zip(self.sent, other.sent)),
                        tuple(a + b for a, b in zip(self.received, other.received)))

    def to_json_dict(self) -> dict[str, list[int]]:
        """The form the event log's footer and a worker's totals keep."""
        return {"sent": list(self.sent), "received": list(self.received)}

    @classmethod
    def from_json_dict(cls, doc: Any) -> "Transfer":
        """The inverse of `to_json_dict`; ValueError naming what is wrong."""
        if not isinstance(doc, dict) or not isinstance(doc.get("sent"), list) \
                or not isinstance(doc.get("received"), list):
            raise ValueError(f"transfer must be an object with lists sent and received, got {doc!r:.200}")
        return cls(tuple(doc["sent"]), tuple(doc["received"]))


@dataclass(frozen=True)
class RunStats:
    events: int
    requests_issued: int
    final_tick: int
    wall_s: Optional[float]   # None when unknown (a run rebuilt from a log without a footer)
    interrupted: bool = False  # a stop signal ended the run early
    stopped: bool = False      # the run's handle stopped it early (`RunHandle.stop`)
    # Seconds the run waited for room in its event log writer's queue (the writer
    # fell behind); from a log, the footer's figure. 0 without a log.
    writer_stalled_s: float = 0.0
    # live runs with templated requests: {VU id (str): FNV-1a 64 digest (16 hex digits)}
    # of the bytes each VU rendered (docs/event-log.md); None otherwise
    request_digests: Optional[dict[str, str]] = None
    # live runs: bytes sent and received by request (the core's counters); None
    # for a simulated run, and for a log written before they were recorded
    transfer: Optional[Transfer] = None
    # live runs: the first Location to another origin a redirect named (not
    # followed: docs/scenario.md "Redirects"), up to 512 characters; None when none
    redirect_offsite: Optional[str] = None


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
    # The run's events in memory (EVENT_DTYPE), when it kept them (`z6.start(keep_events=...)`).
    events: Optional[np.ndarray] = field(default=None, repr=False, compare=False)
    chunks_missed: int = 0  # chunks a slow `RunHandle.chunks()` reader missed (its queue was full)

    @property
    def passed(self) -> bool:
        """The run completed and every assertion passed: the verdict PASSED (exit 0).
        A run stopped, interrupted, failed or partial never passed, whatever its
        assertions said about the part that ran (summary.json's verdict agrees)."""
        return self.status == "completed" and all(a.passed for a in self.assertions)

    @property
    def failed(self) -> bool:
        """A worker was lost: part of the planned load is missing from the figures."""
        if self.recorded_status is not None:
            return self.recorded_status == "failed"
        return self.scale_out is not None and bool(self.scale_out.lost)

    @property
    def status(self) -> RunStatus:
        """One of `RUN_STATUSES`."""
        if self.recorded_status is not None:
            return cast(RunStatus, self.recorded_status)
        if self.failed:
            return "failed"
        return "interrupted" if self.interrupted else "stopped" if self.stats.stopped else "completed"

    def to_pandas(self) -> "pd.DataFrame":
        """The kept events as a pandas DataFrame, one row an event: the record's
        fields, with ``kind`` (the event kind's name) and ``request`` (the request's
        name, missing where the event names none) as categoricals. Needs pandas
        and a run that kept its events (``keep_events``)."""
        if self.events is None:
            raise ValueError("this run kept no events in memory: start it with keep_events=True")
        import pandas as pd  # optional: only this method needs it

        events = self.events
        names = list(self.plan.request_names)
        request = events["request"].astype(np.int64)
        # NO_REQUEST (and any index beyond the table) becomes a missing category (code -1).
        request_codes = np.where(request < len(names), request, -1)
        kinds = [k.name.lower() for k in EventKind]
        kind = events["kind"].astype(np.int64)
        kind_codes = np.where(kind < len(kinds), kind, -1)
        return pd.DataFrame({
            "tick": events["tick"],
            "value_ns": events["value_ns"],
            "vu_id": events["vu_id"],
            "kind": pd.Categorical.from_codes(kind_codes, categories=kinds),
            "request": pd.Categorical.from_codes(request_codes, categories=pd.Index(names, dtype=object)),
            "status": events["status"],
            "error": events["error"],
            "seq": events["seq"],
        })

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
