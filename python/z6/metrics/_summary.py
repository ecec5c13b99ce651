"""The run summary, computed from the event stream with bounded memory.

`SummaryBuilder` is a chunk consumer: it keeps counters, the latency, request and
status of every response (12 bytes a response), the lag of every late request
(8 bytes each; on-time requests are only counted) and one second of latencies for
the time series, never the events themselves, and turns them into a `Summary` at
the end.

Exact up to a limit: while the responses and late lags it keeps number at most
``exact_limit`` (default `DEFAULT_EXACT_LIMIT`), every percentile is exact. A
chunk that would take the count past the limit switches the builder, once, to HDR
histograms in the core (per request name, per status, overall, and for the lag):
the values kept so far are counted into them and dropped, and that chunk and
every later one are recorded by the core's C loops. From then on memory is fixed
(272 KiB a histogram) whatever the run's length; counts, min, max and mean stay
exact, and each percentile is the top of its histogram bucket, above the exact
one by less than 1/1,024 of it. `Summary.percentile_method` says which way ("exact" or
"hdr") the figures were computed. The time series is unaffected: it keeps one
second of latencies at a time and its percentiles are always exact.

What is counted:

* ``requests``: ``request_issued`` events; ``completed``: outcomes
  (``response_received``, ``response_error``, ``request_timeout``,
  ``request_cancelled``).
* ``failed``: transport errors, timeouts, cancellations, and responses with an
  HTTP status >= 400. ``errors`` breaks failures down by kind (``timeout``,
  ``cancelled``, ``error:<code>`` for a transport error, ``http_4xx``/``http_5xx``);
  ``error_rates`` divides each by ``completed``.
* Latency: nearest-rank statistics (see `z6.metrics._percentile`) of
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

from z6.events import FAILURE_STATUS_MIN, ErrorCode, EventKind, outcome_mask
from z6.metrics._distribution import Distribution
from z6.metrics._lag import LAG_MIN_SAMPLES, LagRecorder, lag_threshold_ms, lag_warning
from z6.metrics._latency import LatencyRecorder
from z6.metrics._open_model import OpenModelRecorder, OpenModelStats
from z6.metrics._percentile import LatencyStats
from z6.metrics._timeseries import TimeSeries, TimeSeriesBuilder
from z6core import DEFAULT_HIGHEST_NS

__all__ = ["RequestSummary", "StatusSummary", "Summary", "SummaryBuilder", "DEFAULT_EXACT_LIMIT", "PERCENTILE_METHODS"]

# Responses and late lags kept exactly before switching to histograms. At 12 bytes
# each that is about 100 MB, and finish() needs about as much again for a
# partitioned copy and the grouping by request and status (benchmarks/summary_memory.py
# measures both): modest on any machine that runs a load test, yet exact for most
# runs (8 million responses is 2 h 13 min at 1,000 requests a second, 2 min 40 s
# at 50,000). docs/metrics.md, "Memory", has the figures.
DEFAULT_EXACT_LIMIT = 8_000_000

# How a Summary's percentiles were computed: exact nearest rank, or HDR histograms.
PERCENTILE_METHODS = ("exact", "hdr")

_RECEIVED = int(EventKind.RESPONSE_RECEIVED)
_ERROR = int(EventKind.RESPONSE_ERROR)
_TIMEOUT = int(EventKind.REQUEST_TIMEOUT)
_CANCELLED = int(EventKind.REQUEST_CANCELLED)
_ISSUED = int(EventKind.REQUEST_ISSUED)
_SPAWNED = int(EventKind.VU_SPAWNED)
_ESTABLISHED = int(EventKind.CONN_ESTABLISHED)
# conn_established's status in a live run: 0 plain TCP, 1 TLS full handshake, 2 TLS resumed
_CONN_TLS_FULL, _CONN_TLS_RESUMED = 1, 2
_COMPLETE = int(EventKind.VU_COMPLETE)


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
class ConnectionStats:
    """Connections a live run opened, from its conn_established events: how many,
    how many were TLS full or resumed handshakes, and the time to establish one
    (TCP connect plus, over TLS, the handshake: the handshake is not in request
    latency). Logs written before TLS read the same, with no TLS counts."""

    opened: int
    tls_full: int
    tls_resumed: int
    connect_ms_mean: float
    connect_ms_max: float

    def to_dict(self) -> dict[str, Any]:
        return {"opened": self.opened, "tls_full": self.tls_full, "tls_resumed": self.tls_resumed,
                "connect_ms": {"mean": self.connect_ms_mean, "max": self.connect_ms_max}}


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
    percentile_method: str = "exact"   # "exact" or "hdr": see the module docstring
    connections: Optional[ConnectionStats] = None   # live runs that opened connections
    open_model: Optional[OpenModelStats] = None     # arrival-rate runs: drops, response time

    def to_dict(self) -> dict[str, Any]:
        return {
            "duration_s": self.duration_s,
            "rate": self.rate,
            "vus_max": self.vus_max,
            "events": self.events,
            "percentile_method": self.percentile_method,
            **self.overall.to_dict(),
            "requests_by_name": {name: r.to_dict() for name, r in self.per_request.items()},
            "by_status": {str(s): r.to_dict() for s, r in sorted(self.per_status.items())},
            "lag_ms": {**self.lag.to_dict(), "warn_above_p99": self.lag_threshold_ms,
                       "warn_min_samples": LAG_MIN_SAMPLES},
            "time_series": self.time_series.to_dict() if self.time_series is not None else None,
            "latency_distribution": self.distribution.to_dict(),
            "warnings": list(self.warnings),
            "connections": self.connections.to_dict() if self.connections is not None else None,
            **({"open_model": self.open_model.to_dict()} if self.open_model is not None else {}),
        }


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


class SummaryBuilder:
    """Consume event chunks; `finish()` returns the `Summary`.

    ``request_bytes[i]``, when given, is the size on the wire of request ``i``: the
    time series then counts the bytes sent each second. ``exact_limit`` is how many
    responses and late lags are kept as exact values before the builder switches
    to HDR histograms (module docstring); 0 uses histograms from the first response.
    ``think_ms`` is the scenario's mean think time (`z6.metrics.mean_think_ms`): the
    schedule-lag warning weighs the lag against think time plus latency.
    ``open_model``, for an arrival-rate run, is the requests one iteration issues
    (`z6.metrics.iteration_requests(plan)`): the summary then also counts dropped
    iterations and response time from the intended start (`z6.metrics._open_model`).
    """

    def __init__(self, request_names: tuple[str, ...], tick_ns: int, *,
                 request_bytes: Optional[Sequence[int]] = None, exact_limit: int = DEFAULT_EXACT_LIMIT,
                 think_ms: float = 0.0, open_model: Optional[int] = None) -> None:
        if isinstance(exact_limit, bool) or not isinstance(exact_limit, (int, np.integer)) or exact_limit < 0:
            raise ValueError(f"exact_limit must be a non-negative integer, got {exact_limit!r}")
        self.request_names = tuple(request_names)
        self.tick_ns = tick_ns
        self.exact_limit = int(exact_limit)
        self.think_ms = float(think_ms)  # the scenario's mean think time: the lag warning weighs lag against it
        n = len(self.request_names)
        self._issued = np.zeros(n, dtype=np.int64)
        self._completed = np.zeros(n, dtype=np.int64)
        self._statuses: Counter[tuple[int, int]] = Counter()      # (request, status)
        self._failures: Counter[tuple[int, str]] = Counter()      # (request, label)
        self._latency = LatencyRecorder(n, self.exact_limit)
        self._lag = LagRecorder(self.exact_limit)
        self._series = TimeSeriesBuilder(tick_ns, request_bytes)
        self._events = 0
        self._first_tick: int | None = None
        self._last_tick = 0
        self._active = 0
        self._vus_max = 0
        self._conn_opened = 0
        self._conn_tls = [0, 0]     # full, resumed
        self._conn_ns_sum = 0
        self._conn_ns_max = 0
        # The open model's own figures, kept apart (one hook here, one in finish()).
        self._open = OpenModelRecorder(self.exact_limit, open_model) if open_model is not None else None

    @property
    def percentile_method(self) -> str:
        """"exact" until the builder has switched to histograms, then "hdr"."""
        return "exact" if self._latency.exact else "hdr"

    @property
    def exact_values_kept(self) -> int:
        """Responses and late lags held as exact values now (never above ``exact_limit``; 0 once switched)."""
        return self._latency.stored + self._lag.stored

    def __call__(self, chunk: np.ndarray) -> None:
        if chunk.size == 0:
            return
        kind = chunk["kind"]
        request = chunk["request"]
        n = len(self.request_names)
        outcome = outcome_mask(kind)
        is_issued = kind == _ISSUED
        issued = np.bincount(request[is_issued], minlength=n)
        completed = np.bincount(request[outcome], minlength=n)
        # A count beyond the table is an event naming a request the run does not have.
        if issued.size > n or completed.size > n:
            at = int(np.flatnonzero((is_issued | outcome) & (request >= n))[0])
            raise ValueError(f"event {at} of the chunk names request {int(request[at])}, "
                             f"but the run has {n} requests: the events belong to another plan or are corrupt")
        self._series(chunk)   # first: it refuses a chunk out of tick order before anything is counted
        received = kind == _RECEIVED
        if self._latency.exact:
            # Switch before keeping a chunk that would take the kept values past the limit.
            incoming = int(np.count_nonzero(received)) + self._lag.late_in(chunk, is_issued)
            if self.exact_values_kept + incoming > self.exact_limit:
                self._switch_to_histograms()
        self._lag(chunk)
        if self._open is not None:
            self._open(chunk)
        self._events += int(chunk.size)
        if self._first_tick is None:
            self._first_tick = int(chunk["tick"][0])
        self._last_tick = int(chunk["tick"][-1])
        self._issued += issued
        self._completed += completed

        status = chunk["status"][received]
        received_requests = request[received]
        self._latency.record(chunk, chunk["value_ns"][received], received_requests, status)
        keys, counts = np.unique(received_requests.astype(np.int64) << 16 | status, return_counts=True)
        for key, count in zip(keys.tolist(), counts.tolist()):
            self._statuses[(key >> 16, key & 0xFFFF)] += count

        failed = outcome & ~received
        if failed.any():
            keys, counts = np.unique(
                (request[failed].astype(np.int64) << 32) | (kind[failed].astype(np.int64) << 16)
                | chunk["error"][failed], return_counts=True)
            for key, count in zip(keys.tolist(), counts.tolist()):
                label = failure_label((key >> 16) & 0xFFFF, key & 0xFFFF)
                self._failures[(key >> 32, label)] += count

        established = kind == _ESTABLISHED
        if established.any():
            connect_ns = chunk["value_ns"][established]
            how = chunk["status"][established]
            self._conn_opened += int(connect_ns.size)
            self._conn_ns_sum += int(connect_ns.sum(dtype=np.uint64))
            self._conn_ns_max = max(self._conn_ns_max, int(connect_ns.max()))
            self._conn_tls[0] += int(np.count_nonzero(how == _CONN_TLS_FULL))
            self._conn_tls[1] += int(np.count_nonzero(how == _CONN_TLS_RESUMED))

        # Peak concurrency: running count of spawned minus completed VUs.
        delta = (kind == _SPAWNED).astype(np.int64) - (kind == _COMPLETE).astype(np.int64)
        if delta.any():
            running = self._active + np.cumsum(delta)
            self._vus_max = max(self._vus_max, int(running.max()))
            self._active = int(running[-1])

    def _switch_to_histograms(self) -> None:
        # Once per builder: afterwards nothing is stored, so the limit is never crossed again.
        self._latency.use_histograms()
        self._lag.use_histogram()

    @staticmethod
    def _request_summary(statuses: Counter[int], failures: Counter[str],
                         issued: int, completed: int, latency: LatencyStats) -> RequestSummary:
        errors = Counter(failures)
        for status, count in statuses.items():
            if status >= FAILURE_STATUS_MIN:
                errors[f"http_{status // 100}xx"] += count
        return RequestSummary(
            requests=issued,
            completed=completed,
            failed=sum(errors.values()),
            statuses=dict(statuses),
            errors=dict(errors),
            latency=latency,
        )

    def finish(self) -> Summary:
        n = len(self.request_names)
        statuses: list[Counter[int]] = [Counter() for _ in range(n)]
        failures: list[Counter[str]] = [Counter() for _ in range(n)]
        for (r, status), count in self._statuses.items():
            statuses[r][status] += count
        for (r, label), count in self._failures.items():
            failures[r][label] += count
        all_statuses: Counter[int] = sum(statuses, Counter())
        latency = self._latency.finish(sorted(all_statuses))
        per_request = {
            name: self._request_summary(statuses[i], failures[i], int(self._issued[i]), int(self._completed[i]),
                                        latency.per_request[i])
            for i, name in enumerate(self.request_names)
        }
        overall = self._request_summary(all_statuses, sum(failures, Counter()),
                                        int(self._issued.sum()), int(self._completed.sum()), latency.overall)
        per_status = {s: StatusSummary(all_statuses[s], stats) for s, stats in latency.per_status.items()}
        lag = self._lag.finish()
        p50 = overall.latency.percentiles["p50"]
        warnings = [w for w in (lag_warning(lag, p50, self.think_ms), self._clamped_warning(latency.clamped)) if w]
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
            lag_threshold_ms=lag_threshold_ms(p50, self.think_ms),
            time_series=self._series.finish(),
            distribution=latency.distribution,
            warnings=tuple(warnings),
            percentile_method=self.percentile_method,
            connections=ConnectionStats(
                opened=self._conn_opened, tls_full=self._conn_tls[0], tls_resumed=self._conn_tls[1],
                connect_ms_mean=self._conn_ns_sum / self._conn_opened / 1e6, connect_ms_max=self._conn_ns_max / 1e6,
            ) if self._conn_opened else None,
            open_model=self._open.finish() if self._open is not None else None,
        )

    def _clamped_warning(self, clamped_latencies: int) -> Optional[str]:
        lag_histogram = self._lag.histogram
        clamped = clamped_latencies + (int(lag_histogram.clamped) if lag_histogram is not None else 0)
        if not clamped:
            return None
        return (f"{clamped} latencies or lags exceeded the histograms' range ({DEFAULT_HIGHEST_NS / 6e10:.0f} min) "
                "and were counted at its top: percentiles that high are not accurate (min, max, mean are)")
