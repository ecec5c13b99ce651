"""The run summary, computed exactly from the event stream.

`SummaryBuilder` is a chunk consumer: it keeps counters and the latency of every
response (8 bytes + 2 a response), never the events themselves, and turns them into
a `Summary` at the end.

Percentiles are exact nearest-rank percentiles of the recorded latencies: the
p-th percentile is the smallest recorded value with at least p% of values at or
below it, i.e. ``sorted[ceil(p/100 * n) - 1]``, numpy's ``method="inverted_cdf"``.
It is always a latency that was measured, never an interpolation or a bucket edge.
(numpy's ``inverted_cdf`` computes the same rank in floating point, which can land
one rank high, e.g. p99.9 of 1,000 values; here the rank is exact.)
Latency statistics cover `response_received` events (any status); failed requests
(transport errors, timeouts, cancellations) are counted, not timed.
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any

import numpy as np

from z6.events import ErrorCode, EventKind

__all__ = ["LatencyStats", "RequestSummary", "Summary", "SummaryBuilder", "PERCENTILES", "nearest_rank"]

# (label, percentile) reported for every latency distribution.
PERCENTILES: tuple[tuple[str, float], ...] = (
    ("p50", 50.0), ("p90", 90.0), ("p95", 95.0), ("p99", 99.0), ("p99.9", 99.9),
)

_RECEIVED = int(EventKind.RESPONSE_RECEIVED)
_ERROR = int(EventKind.RESPONSE_ERROR)
_TIMEOUT = int(EventKind.REQUEST_TIMEOUT)
_CANCELLED = int(EventKind.REQUEST_CANCELLED)
_ISSUED = int(EventKind.REQUEST_ISSUED)
_SPAWNED = int(EventKind.VU_SPAWNED)
_COMPLETE = int(EventKind.VU_COMPLETE)
_OUTCOMES = np.array([_RECEIVED, _ERROR, _TIMEOUT, _CANCELLED], dtype=np.uint16)


def nearest_rank(sorted_values: np.ndarray, percentile: float) -> float:
    """Nearest-rank percentile of an ascending array (see the module docstring).

    The rank is computed exactly from the percentile's decimal value: in floating
    point 99.9 / 100 * 1000 is 999.0000000000001, whose ceiling would be one rank
    too high.
    """
    n = sorted_values.shape[0]
    rank = math.ceil(Fraction(str(percentile)) * n / 100)
    return float(sorted_values[min(max(rank, 1), n) - 1])


@dataclass(frozen=True)
class LatencyStats:
    """Latency of successful exchanges in milliseconds; None when there were none."""

    count: int
    min: float | None
    mean: float | None
    percentiles: dict[str, float | None]
    max: float | None

    @classmethod
    def from_ns(cls, values_ns: np.ndarray) -> "LatencyStats":
        if values_ns.size == 0:
            return cls(0, None, None, {label: None for label, _ in PERCENTILES}, None)
        ms = np.sort(values_ns) / 1e6
        return cls(
            count=int(ms.size),
            min=float(ms[0]),
            mean=float(ms.mean()),
            percentiles={label: nearest_rank(ms, p) for label, p in PERCENTILES},
            max=float(ms[-1]),
        )

    def to_dict(self) -> dict[str, Any]:
        return {"count": self.count, "min": self.min, "mean": self.mean, **self.percentiles, "max": self.max}


@dataclass(frozen=True)
class RequestSummary:
    """Counts and latency for one request name (or for all of them)."""

    requests: int            # issued
    completed: int           # with an outcome (response, error, timeout, cancel)
    failed: int              # transport errors + timeouts + cancels + HTTP status >= 400
    statuses: dict[int, int]
    errors: dict[str, int]   # failure kind -> count
    latency: LatencyStats

    @property
    def error_rate(self) -> float:
        return self.failed / self.completed if self.completed else 0.0

    def to_dict(self) -> dict[str, Any]:
        return {
            "requests": self.requests,
            "completed": self.completed,
            "failed": self.failed,
            "error_rate": self.error_rate,
            "statuses": {str(k): v for k, v in sorted(self.statuses.items())},
            "errors": dict(sorted(self.errors.items())),
            "latency_ms": self.latency.to_dict(),
        }


@dataclass(frozen=True)
class Summary:
    duration_s: float        # from the first to the last event
    rate: float              # requests issued per second
    vus_max: int
    events: int
    overall: RequestSummary
    per_request: dict[str, RequestSummary] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "duration_s": self.duration_s,
            "rate": self.rate,
            "vus_max": self.vus_max,
            "events": self.events,
            **self.overall.to_dict(),
            "requests_by_name": {name: r.to_dict() for name, r in self.per_request.items()},
        }


def _failure_label(kind: int, error: int) -> str:
    if kind == _TIMEOUT:
        return "timeout"
    if kind == _CANCELLED:
        return "cancelled"
    try:
        return f"error:{ErrorCode(error).name.lower()}"
    except ValueError:
        return f"error:{error}"


class SummaryBuilder:
    """Consume event chunks; `finish()` returns the `Summary`."""

    def __init__(self, request_names: tuple[str, ...], tick_ns: int) -> None:
        self.request_names = request_names
        self.tick_ns = tick_ns
        n = len(request_names)
        self._issued = np.zeros(n, dtype=np.int64)
        self._completed = np.zeros(n, dtype=np.int64)
        self._statuses: Counter[tuple[int, int]] = Counter()      # (request, status)
        self._failures: Counter[tuple[int, str]] = Counter()      # (request, label)
        self._lat_values: list[np.ndarray] = []
        self._lat_requests: list[np.ndarray] = []
        self._events = 0
        self._first_tick: int | None = None
        self._last_tick = 0
        self._active = 0
        self._vus_max = 0

    def __call__(self, chunk: np.ndarray) -> None:
        if chunk.size == 0:
            return
        self._events += int(chunk.size)
        if self._first_tick is None:
            self._first_tick = int(chunk["tick"][0])
        self._last_tick = int(chunk["tick"][-1])
        kind = chunk["kind"]
        request = chunk["request"]
        n = len(self.request_names)
        self._issued += np.bincount(request[kind == _ISSUED], minlength=n)[:n]
        outcome = np.isin(kind, _OUTCOMES)
        self._completed += np.bincount(request[outcome], minlength=n)[:n]

        received = kind == _RECEIVED
        self._lat_values.append(chunk["value_ns"][received])
        self._lat_requests.append(request[received])
        keys, counts = np.unique(
            request[received].astype(np.int64) << 16 | chunk["status"][received], return_counts=True)
        for key, count in zip(keys.tolist(), counts.tolist()):
            self._statuses[(key >> 16, key & 0xFFFF)] += count

        failed = outcome & ~received
        if failed.any():
            keys, counts = np.unique(
                (request[failed].astype(np.int64) << 32) | (kind[failed].astype(np.int64) << 16)
                | chunk["error"][failed], return_counts=True)
            for key, count in zip(keys.tolist(), counts.tolist()):
                label = _failure_label((key >> 16) & 0xFFFF, key & 0xFFFF)
                self._failures[(key >> 32, label)] += count

        # Peak concurrency: running count of spawned minus completed VUs.
        delta = (kind == _SPAWNED).astype(np.int64) - (kind == _COMPLETE).astype(np.int64)
        if delta.any():
            running = self._active + np.cumsum(delta)
            self._vus_max = max(self._vus_max, int(running.max()))
            self._active = int(running[-1])

    def _request_summary(self, statuses: Counter[int], failures: Counter[str],
                         issued: int, completed: int, latencies: np.ndarray) -> RequestSummary:
        errors = Counter(failures)
        for status, count in statuses.items():
            if status >= 400:
                errors[f"http_{status // 100}xx"] += count
        return RequestSummary(
            requests=issued,
            completed=completed,
            failed=sum(errors.values()),
            statuses=dict(statuses),
            errors=dict(errors),
            latency=LatencyStats.from_ns(latencies),
        )

    def finish(self) -> Summary:
        values = np.concatenate(self._lat_values) if self._lat_values else np.zeros(0, np.uint64)
        reqs = np.concatenate(self._lat_requests) if self._lat_requests else np.zeros(0, np.uint16)
        n = len(self.request_names)
        # Group once: per request, its statuses, failures and latencies.
        statuses: list[Counter[int]] = [Counter() for _ in range(n)]
        failures: list[Counter[str]] = [Counter() for _ in range(n)]
        for (r, status), count in self._statuses.items():
            statuses[r][status] += count
        for (r, label), count in self._failures.items():
            failures[r][label] += count
        order = np.argsort(reqs, kind="stable")
        by_request = values[order]
        bounds = np.searchsorted(reqs[order], np.arange(n + 1))
        per_request = {
            name: self._request_summary(statuses[i], failures[i], int(self._issued[i]), int(self._completed[i]),
                                        by_request[bounds[i]:bounds[i + 1]])
            for i, name in enumerate(self.request_names)
        }
        overall = self._request_summary(sum(statuses, Counter()), sum(failures, Counter()),
                                        int(self._issued.sum()), int(self._completed.sum()), values)
        first = self._first_tick or 0
        duration_s = max(self._last_tick - first, 1) * self.tick_ns / 1e9
        return Summary(
            duration_s=duration_s,
            rate=overall.requests / duration_s,
            vus_max=self._vus_max,
            events=self._events,
            overall=overall,
            per_request=per_request,
        )
