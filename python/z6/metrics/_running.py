"""The figures of a run so far, read while it goes on.

`z6.metrics.SummaryBuilder.snapshot()` reads them from the core's accumulator
under its lock (any thread, while another folds chunks): counts as exact as the
final summary's, latency percentiles from the accumulator's overall HDR
histogram (each within 1/1,024 above the exact value; the final summary's are
exact while the run fits the exact limit).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Mapping, Optional

from z6.events import FAILURE_STATUS_MIN, ErrorCode, EventKind
from z6.metrics._percentile import NS_PER_MS

__all__ = ["RunningSummary", "RequestCounts", "running_summary", "failure_label", "RUNNING_PERCENTILES"]

# The latency percentiles a snapshot reports, as the core selects them.
RUNNING_PERCENTILES = ("p50", "p95", "p99")

_TIMEOUT = int(EventKind.REQUEST_TIMEOUT)
_CANCELLED = int(EventKind.REQUEST_CANCELLED)


@dataclass(frozen=True)
class RequestCounts:
    """One request name's figures so far."""

    requests: int     # issued
    completed: int    # with an outcome
    failed: int       # failed outcomes (the summary's rule)
    errors: dict[str, int] = field(default_factory=dict)              # as RunningSummary.errors
    latency_ms: dict[str, Optional[float]] = field(default_factory=dict)   # p50, p95, p99 (None: no response yet)


@dataclass(frozen=True)
class RunningSummary:
    """A run's figures so far (module docstring). ``errors`` uses the summary's
    failure labels (``timeout``, ``cancelled``, ``error:<code>``, ``http_4xx``...);
    ``events_by_kind`` counts every kind seen, by `z6.events.EventKind` value."""

    elapsed_s: float                             # first to last event folded
    events: int
    requests: int
    completed: int
    failed: int
    errors: dict[str, int]
    per_request: dict[str, RequestCounts]
    latency_ms: dict[str, Optional[float]]       # p50, p95, p99; None before any response
    events_by_kind: dict[int, int]
    active_vus: int = 0                          # spawned and not complete

    @property
    def error_rate(self) -> float:
        return self.failed / self.completed if self.completed else 0.0


def failure_label(kind: int, error: int) -> str:
    """How a failure with no HTTP status is named (summary.json's ``errors`` keys,
    `z6 analyze --by status` groups): "timeout", "cancelled", "error:<code>"."""
    if kind == _TIMEOUT:
        return "timeout"
    if kind == _CANCELLED:
        return "cancelled"
    try:
        return f"error:{ErrorCode(error).name.lower()}"
    except ValueError:
        return f"error:{error}"


def _errors(failures: Mapping[tuple[int, int], int], failed_statuses: Mapping[int, int]) -> dict[str, int]:
    errors: dict[str, int] = {}
    for (kind, error), count in failures.items():
        label = failure_label(kind, error)
        errors[label] = errors.get(label, 0) + count
    for status, count in failed_statuses.items():
        if status >= FAILURE_STATUS_MIN:
            label = f"http_{status // 100}xx"
            errors[label] = errors.get(label, 0) + count
    return dict(sorted(errors.items()))


def _latency_ms(latency: Optional[tuple[int, int, int]]) -> dict[str, Optional[float]]:
    return {label: (None if latency is None else latency[i] / NS_PER_MS) for i, label in enumerate(RUNNING_PERCENTILES)}


def running_summary(raw: Mapping[str, Any], request_names: tuple[str, ...], tick_ns: int) -> RunningSummary:
    """A `RunningSummary` of `z6core.SummaryAccumulator.snapshot()`'s dict."""
    return RunningSummary(
        elapsed_s=raw["elapsed_ticks"] * tick_ns / 1e9,
        events=raw["events"],
        requests=raw["requests"],
        completed=raw["completed"],
        failed=raw["failed"],
        errors=_errors(raw["failures"], raw["failed_statuses"]),
        per_request={name: RequestCounts(*raw["per_request"][i],
                                         errors=_errors(raw["request_failures"][i], raw["request_failed_statuses"][i]),
                                         latency_ms=_latency_ms(raw["request_latency_ns"][i]))
                     for i, name in enumerate(request_names)},
        latency_ms=_latency_ms(raw["latency_ns"]),
        events_by_kind={kind: int(count) for kind, count in enumerate(raw["kinds"].tolist()) if count},
        active_vus=raw["active_vus"],
    )
