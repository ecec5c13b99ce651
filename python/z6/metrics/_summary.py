"""The run summary, computed exactly from the event stream.

`SummaryBuilder` is a chunk consumer: it keeps counters, the latency, request and
status of every response (12 bytes a response), the lag of every late request
(8 bytes each; on-time requests are only counted) and one second of latencies for
the time series, never the events themselves, and turns them into a `Summary` at
the end.

What is counted:

* ``requests``: ``request_issued`` events; ``completed``: outcomes
  (``response_received``, ``response_error``, ``request_timeout``,
  ``request_cancelled``).
* ``failed``: transport errors, timeouts, cancellations, and responses with an
  HTTP status >= 400. ``errors`` breaks failures down by kind (``timeout``,
  ``cancelled``, ``error:<code>`` for a transport error, ``http_4xx``/``http_5xx``);
  ``error_rates`` divides each by ``completed``.
* Latency: exact nearest-rank statistics (see `z6.metrics._percentile`) of
  ``response_received`` events of any status, overall, per request name and per
  status; failed exchanges are counted, not timed.
* Schedule lag: see `z6.metrics._lag`; time series: see `z6.metrics._timeseries`;
  the latency distribution's bins: see `z6.metrics._distribution`.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any, Optional, Sequence

import numpy as np

from z6.events import OUTCOME_KINDS, ErrorCode, EventKind
from z6.metrics._distribution import Distribution, latency_distribution
from z6.metrics._lag import LagRecorder, lag_threshold_ms, lag_warning
from z6.metrics._percentile import LatencyStats
from z6.metrics._timeseries import TimeSeries, TimeSeriesBuilder

__all__ = ["RequestSummary", "StatusSummary", "Summary", "SummaryBuilder"]

_RECEIVED = int(EventKind.RESPONSE_RECEIVED)
_ERROR = int(EventKind.RESPONSE_ERROR)
_TIMEOUT = int(EventKind.REQUEST_TIMEOUT)
_CANCELLED = int(EventKind.REQUEST_CANCELLED)
_ISSUED = int(EventKind.REQUEST_ISSUED)
_SPAWNED = int(EventKind.VU_SPAWNED)
_COMPLETE = int(EventKind.VU_COMPLETE)
_OUTCOMES = OUTCOME_KINDS  # response, error, timeout, cancel, and live transport failures
# kind -> is it an outcome: one table lookup a record instead of a comparison per outcome kind.
_IS_OUTCOME = np.zeros(1 << 16, dtype=bool)
_IS_OUTCOME[_OUTCOMES] = True


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

    @property
    def error_rates(self) -> dict[str, float]:
        """Each failure kind's share of the completed requests."""
        return {kind: count / self.completed for kind, count in self.errors.items()} if self.completed else {}

    def to_dict(self) -> dict[str, Any]:
        return {
            "requests": self.requests,
            "completed": self.completed,
            "failed": self.failed,
            "error_rate": self.error_rate,
            "statuses": {str(k): v for k, v in sorted(self.statuses.items())},
            "errors": dict(sorted(self.errors.items())),
            "error_rates": dict(sorted(self.error_rates.items())),
            "latency_ms": self.latency.to_dict(),
        }


@dataclass(frozen=True)
class StatusSummary:
    """Responses with one status: how many, and their latency."""

    count: int
    latency: LatencyStats

    def to_dict(self) -> dict[str, Any]:
        return {"count": self.count, "latency_ms": self.latency.to_dict()}


@dataclass(frozen=True)
class Summary:
    duration_s: float        # from the first to the last event
    rate: float              # requests issued per second
    vus_max: int
    events: int
    overall: RequestSummary
    per_request: dict[str, RequestSummary] = field(default_factory=dict)
    per_status: dict[int, StatusSummary] = field(default_factory=dict)
    lag: LatencyStats = field(default_factory=LatencyStats.empty)
    lag_threshold_ms: float = 0.0
    time_series: Optional[TimeSeries] = None
    distribution: Distribution = field(default_factory=lambda: Distribution([], []))
    warnings: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {
            "duration_s": self.duration_s,
            "rate": self.rate,
            "vus_max": self.vus_max,
            "events": self.events,
            **self.overall.to_dict(),
            "requests_by_name": {name: r.to_dict() for name, r in self.per_request.items()},
            "by_status": {str(s): r.to_dict() for s, r in sorted(self.per_status.items())},
            "lag_ms": {**self.lag.to_dict(), "warn_above_p99": self.lag_threshold_ms},
            "time_series": self.time_series.to_dict() if self.time_series is not None else None,
            "latency_distribution": self.distribution.to_dict(),
            "warnings": list(self.warnings),
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
    """Consume event chunks; `finish()` returns the `Summary`.

    ``request_bytes[i]``, when given, is the size on the wire of request ``i``: the
    time series then counts the bytes sent each second.
    """

    def __init__(self, request_names: tuple[str, ...], tick_ns: int, *,
                 request_bytes: Optional[Sequence[int]] = None) -> None:
        self.request_names = tuple(request_names)
        self.tick_ns = tick_ns
        n = len(self.request_names)
        self._issued = np.zeros(n, dtype=np.int64)
        self._completed = np.zeros(n, dtype=np.int64)
        self._statuses: Counter[tuple[int, int]] = Counter()      # (request, status)
        self._failures: Counter[tuple[int, str]] = Counter()      # (request, label)
        self._lat_values: list[np.ndarray] = []
        self._lat_requests: list[np.ndarray] = []
        self._lat_statuses: list[np.ndarray] = []
        self._lag = LagRecorder()
        self._series = TimeSeriesBuilder(tick_ns, request_bytes)
        self._events = 0
        self._first_tick: int | None = None
        self._last_tick = 0
        self._active = 0
        self._vus_max = 0

    def __call__(self, chunk: np.ndarray) -> None:
        if chunk.size == 0:
            return
        kind = chunk["kind"]
        request = chunk["request"]
        n = len(self.request_names)
        outcome = _IS_OUTCOME[kind]
        issued = np.bincount(request[kind == _ISSUED], minlength=n)
        completed = np.bincount(request[outcome], minlength=n)
        # A count beyond the table is an event naming a request the run does not have.
        if issued.size > n or completed.size > n:
            at = int(np.flatnonzero(((kind == _ISSUED) | outcome) & (request >= n))[0])
            raise ValueError(f"event {at} of the chunk names request {int(request[at])}, "
                             f"but the run has {n} requests: the events belong to another plan or are corrupt")
        self._series(chunk)
        self._lag(chunk)
        self._events += int(chunk.size)
        if self._first_tick is None:
            self._first_tick = int(chunk["tick"][0])
        self._last_tick = int(chunk["tick"][-1])
        self._issued += issued
        self._completed += completed

        received = kind == _RECEIVED
        status = chunk["status"][received]
        self._lat_values.append(chunk["value_ns"][received])
        self._lat_requests.append(request[received])
        self._lat_statuses.append(status)
        keys, counts = np.unique(request[received].astype(np.int64) << 16 | status, return_counts=True)
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

    @staticmethod
    def _request_summary(statuses: Counter[int], failures: Counter[str],
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

    @staticmethod
    def _grouped(keys: np.ndarray, values: np.ndarray, groups: Sequence[int]) -> dict[int, np.ndarray]:
        # The values of each key, grouping once by a stable sort.
        order = np.argsort(keys, kind="stable")
        sorted_keys, sorted_values = keys[order], values[order]
        bounds_lo = np.searchsorted(sorted_keys, groups, side="left")
        bounds_hi = np.searchsorted(sorted_keys, groups, side="right")
        return {g: sorted_values[lo:hi] for g, lo, hi in zip(groups, bounds_lo.tolist(), bounds_hi.tolist())}

    def finish(self) -> Summary:
        values = np.concatenate(self._lat_values) if self._lat_values else np.zeros(0, np.uint64)
        reqs = np.concatenate(self._lat_requests) if self._lat_requests else np.zeros(0, np.uint16)
        codes = np.concatenate(self._lat_statuses) if self._lat_statuses else np.zeros(0, np.uint16)
        n = len(self.request_names)
        statuses: list[Counter[int]] = [Counter() for _ in range(n)]
        failures: list[Counter[str]] = [Counter() for _ in range(n)]
        for (r, status), count in self._statuses.items():
            statuses[r][status] += count
        for (r, label), count in self._failures.items():
            failures[r][label] += count
        by_request = self._grouped(reqs, values, list(range(n)))
        per_request = {
            name: self._request_summary(statuses[i], failures[i], int(self._issued[i]), int(self._completed[i]),
                                        by_request[i])
            for i, name in enumerate(self.request_names)
        }
        overall = self._request_summary(sum(statuses, Counter()), sum(failures, Counter()),
                                        int(self._issued.sum()), int(self._completed.sum()), values)
        by_status = self._grouped(codes, values, sorted(overall.statuses))
        per_status = {s: StatusSummary(int(v.size), LatencyStats.from_ns(v)) for s, v in by_status.items()}
        lag = self._lag.finish()
        p50 = overall.latency.percentiles["p50"]
        warning = lag_warning(lag, p50)
        first = self._first_tick or 0
        duration_s = max(self._last_tick - first, 1) * self.tick_ns / 1e9
        return Summary(
            duration_s=duration_s,
            rate=overall.requests / duration_s,
            vus_max=self._vus_max,
            events=self._events,
            overall=overall,
            per_request=per_request,
            per_status=per_status,
            lag=lag,
            lag_threshold_ms=lag_threshold_ms(p50),
            time_series=self._series.finish(),
            distribution=latency_distribution(values),
            warnings=(warning,) if warning else (),
        )
