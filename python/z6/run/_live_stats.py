"""Live statistics of a running run: `LiveStats`, read from the summary's own aggregate.

The figures come from the `SummaryBuilder` the run feeds (the one that makes the
run's final summary), never from a second count: `read_figures` is the one place
that reads it, through the core accumulator's `snapshot()` (`z6.metrics.RunningSummary`):
counts exact, latency percentiles from the accumulator's HDR histograms (within
1/1,024 above the exact values), read under the accumulator's own lock in a pass
of a few tens of microseconds, so a reader never holds up the engine's thread.

The request rate is windowed: requests issued over the last ``RATE_WINDOW_S`` of
run time (`RateWindow`, sampled by the run's thread after each chunk), so a run
that slows shows it within seconds.
"""

from __future__ import annotations

import threading
from collections import deque
from dataclasses import dataclass, field
from typing import Optional

from z6.metrics import RunningSummary, SummaryBuilder

__all__ = ["LiveStats", "RequestLiveStats", "RateWindow", "read_figures", "live_stats", "RATE_WINDOW_S"]

# Run time the windowed rate covers (the whole run, while it is shorter).
RATE_WINDOW_S = 5.0


@dataclass(frozen=True)
class RequestLiveStats:
    """One request name's figures so far (or all of them)."""

    requests: int      # issued
    completed: int     # outcomes
    failed: int        # failed outcomes (the summary's rule)
    errors: dict[str, int]   # failures by kind: "timeout", "cancelled", "error:<code>", "http_4xx", "http_5xx"
    latency_ms: dict[str, Optional[float]]   # p50, p95, p99 of the responses so far (None before the first)


@dataclass(frozen=True)
class LiveStats:
    """Where a run is: the figures so far, read by `RunHandle.stats()` from any thread.

    ``elapsed_s`` is run time (wall-clock seconds live, simulated seconds when
    simulated); ``rate`` is requests issued per second over the last
    `RATE_WINDOW_S` of it; everything else covers the run from its start.
    """

    state: str
    elapsed_s: float
    total_s: Optional[float]   # the schedule's planned length (None when iterations bound the run)
    active_vus: int
    rate: float
    requests: int
    completed: int
    failed: int
    errors: dict[str, int]
    latency_ms: dict[str, Optional[float]]
    per_request: dict[str, RequestLiveStats] = field(default_factory=dict)


class RateWindow:
    """(run time, requests issued) after each chunk; the rate over the last window."""

    def __init__(self, window_s: float = RATE_WINDOW_S) -> None:
        self.window_s = window_s
        self._samples: deque[tuple[float, int]] = deque([(0.0, 0)])   # the run's start
        self._lock = threading.Lock()

    def add(self, elapsed_s: float, requests: int) -> None:
        with self._lock:
            self._samples.append((elapsed_s, requests))
            # Keep one sample at or before the window's start, to measure from.
            while len(self._samples) > 2 and self._samples[1][0] <= elapsed_s - self.window_s:
                self._samples.popleft()

    def latest(self) -> tuple[float, int]:
        with self._lock:
            return self._samples[-1]

    def rate(self) -> float:
        with self._lock:
            if len(self._samples) < 2:
                return 0.0
            (t0, n0), (t1, n1) = self._samples[0], self._samples[-1]
        return (n1 - n0) / (t1 - t0) if t1 > t0 else 0.0


def read_figures(builder: SummaryBuilder) -> RunningSummary:
    """The figures so far: the core accumulator's snapshot (its own lock, held for a
    pass over its counts; the engine's thread folds on meanwhile)."""
    return builder.snapshot()


def live_stats(figures: RunningSummary, *, state: str, elapsed_s: float, total_s: Optional[float],
               rate: float) -> LiveStats:
    per_request = {
        name: RequestLiveStats(requests=r.requests, completed=r.completed, failed=r.failed, errors=dict(r.errors),
                               latency_ms=dict(r.latency_ms))
        for name, r in figures.per_request.items()
    }
    return LiveStats(
        state=state,
        elapsed_s=elapsed_s,
        total_s=total_s,
        active_vus=figures.active_vus,
        rate=rate,
        requests=figures.requests,
        completed=figures.completed,
        failed=figures.failed,
        errors=dict(figures.errors),
        latency_ms=dict(figures.latency_ms),
        per_request=per_request,
    )
