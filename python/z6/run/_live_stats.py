"""Live statistics of a running run: `LiveStats`, read from the summary's own aggregate.

The figures come from the `SummaryBuilder` the run feeds (the one that makes the
run's final summary), never from a second count: `read_figures` is the one place
that reads it, under the lock the run's thread holds while it feeds a chunk, and
copies out just what the statistics need (the counters, and the latencies kept so
far or the histograms' percentiles); the percentiles of copied latencies are
computed after the lock is released, so a reader never holds up the engine's
thread for longer than the copy. Once the summary is computed by the core, this
module is where its snapshot is read instead.

The request rate is windowed: requests issued over the last ``RATE_WINDOW_S`` of
run time (`RateWindow`, sampled by the run's thread after each chunk), so a run
that slows shows it within seconds.
"""

from __future__ import annotations

import threading
from collections import Counter, deque
from dataclasses import dataclass, field
from typing import Optional

import numpy as np

from z6.events import FAILURE_STATUS_MIN
from z6.metrics import SummaryBuilder
from z6.metrics._percentile import LatencyStats

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


@dataclass(frozen=True)
class _Figures:
    names: tuple[str, ...]
    issued: np.ndarray
    completed: np.ndarray
    statuses: dict[tuple[int, int], int]
    failures: dict[tuple[int, str], int]
    active: int
    latencies: Optional[tuple[np.ndarray, np.ndarray]]     # (values_ns, request) when exact
    percentiles: Optional[tuple[LatencyStats, tuple[LatencyStats, ...]]]   # when histograms


def read_figures(builder: SummaryBuilder, lock: threading.Lock) -> _Figures:
    """Copy out the figures so far, holding ``lock`` (the one the run feeds under) only for the copy."""
    with lock:
        recorder = builder._latency
        histograms = recorder._histograms
        latencies = None
        percentiles = None
        if histograms is None:
            latencies = (recorder._values.view().copy(), recorder._requests.view().copy())
        else:
            percentiles = (LatencyStats.from_histogram(histograms.overall),
                           tuple(LatencyStats.from_histogram(histograms[i]) for i in range(len(builder.request_names))))
        return _Figures(
            names=builder.request_names,
            issued=builder._issued.copy(),
            completed=builder._completed.copy(),
            statuses=dict(builder._statuses),
            failures=dict(builder._failures),
            active=builder._active,
            latencies=latencies,
            percentiles=percentiles,
        )


def _quantiles(stats: LatencyStats) -> dict[str, Optional[float]]:
    return {p: stats.percentiles[p] for p in ("p50", "p95", "p99")}


def _errors(statuses: Counter[int], failures: Counter[str]) -> dict[str, int]:
    # The summary's naming (z6.metrics.SummaryBuilder._request_summary).
    errors = Counter(failures)
    for status, count in statuses.items():
        if status >= FAILURE_STATUS_MIN:
            errors[f"http_{status // 100}xx"] += count
    return dict(errors)


def live_stats(figures: _Figures, *, state: str, elapsed_s: float, total_s: Optional[float], rate: float) -> LiveStats:
    n = len(figures.names)
    statuses: list[Counter[int]] = [Counter() for _ in range(n)]
    failures: list[Counter[str]] = [Counter() for _ in range(n)]
    for (r, status), count in figures.statuses.items():
        statuses[r][status] += count
    for (r, label), count in figures.failures.items():
        failures[r][label] += count
    if figures.latencies is not None:
        values, requests = figures.latencies
        # Per request first: the overall figures then partition the copy in place.
        per = tuple(LatencyStats.from_ns(values[requests == i], in_place=True) for i in range(n))
        overall = LatencyStats.from_ns(values, in_place=True)
    else:
        assert figures.percentiles is not None
        overall, per = figures.percentiles
    per_request = {}
    for i, name in enumerate(figures.names):
        errors = _errors(statuses[i], failures[i])
        per_request[name] = RequestLiveStats(requests=int(figures.issued[i]), completed=int(figures.completed[i]),
                                             failed=sum(errors.values()), errors=errors,
                                             latency_ms=_quantiles(per[i]))
    errors = _errors(sum(statuses, Counter()), sum(failures, Counter()))
    return LiveStats(
        state=state,
        elapsed_s=elapsed_s,
        total_s=total_s,
        active_vus=figures.active,
        rate=rate,
        requests=int(figures.issued.sum()),
        completed=int(figures.completed.sum()),
        failed=sum(errors.values()),
        errors=errors,
        latency_ms=_quantiles(overall),
        per_request=per_request,
    )
