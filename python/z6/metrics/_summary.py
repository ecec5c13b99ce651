"""The run summary, computed from the event stream with bounded memory.

`SummaryBuilder` is a chunk consumer: the core's `z6core.SummaryAccumulator`
folds each chunk in C without the GIL (a few ns an event), keeping counters, the
latency, request and status of every response (8 bytes a response, 12 once a
latency needs 64 bits), the lag of
every late request (8 bytes each; on-time requests are only counted) and one
second of latencies for the time series, never the events themselves; `finish()`
turns what it holds into a `Summary` (`assemble_summary`), and `snapshot()` reads
the figures so far while a run goes on (`z6.metrics.RunningSummary`).
`z6.metrics._reference.ReferenceSummaryBuilder` is the numpy implementation it
replaced, kept as the oracle the core is tested against.

Exact up to a limit: while the responses and late lags it keeps number at most
``exact_limit`` (default `DEFAULT_EXACT_LIMIT`), every percentile is exact. A
chunk that would take the count past the limit switches the builder, once, to HDR
histograms in the core (per request name, kept from the start; per status; for
the lag; the overall one is the per-request ones added up): the values kept so
far are counted into them and dropped, and that chunk and every later one are
recorded by the accumulator's C loop. From then on memory is fixed
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
import dataclasses
from dataclasses import dataclass, field
from typing import Any, Optional, Sequence

import numpy as np

from z6.events import FAILURE_STATUS_MIN, OUTCOME_KINDS, ErrorCode, EventKind
from z6.metrics._checks import CHECK_ERRORS, CheckRecorder, CheckResult, checks_rate
from z6.metrics._distribution import Distribution
from z6.metrics._lag import LAG_MIN_SAMPLES, lag_threshold_ms, lag_warning
from z6.metrics._latency import LatencyFigures, exact_figures, histogram_figures
from z6.metrics._open_model import OpenModelRecorder, OpenModelStats
from z6.metrics._percentile import NS_PER_MS, LatencyStats
from z6.metrics._redirects import REDIRECT_ERRORS, RedirectRecorder, RedirectStats
from z6.metrics._running import RunningSummary, failure_label, running_summary
from z6.metrics._timeseries import SERIES_PERCENTILES, TimeSeries
from z6core import DEFAULT_HIGHEST_NS, SummaryAccumulator

__all__ = ["RequestSummary", "StatusSummary", "Summary", "SummaryBuilder", "SummaryCounts", "assemble_summary",
           "failure_label", "DEFAULT_EXACT_LIMIT", "PERCENTILE_METHODS"]

# Responses and late lags kept exactly before switching to histograms. At 8 to 12
# bytes each that is 64 to 96 MB, and finish() needs about as much again for a
# partitioned copy and the grouping by request and status (benchmarks/summary_memory.py
# measures both): modest on any machine that runs a load test, yet exact for most
# runs (8 million responses is 2 h 13 min at 1,000 requests a second, 2 min 40 s
# at 50,000). docs/metrics.md, "Memory", has the figures.
DEFAULT_EXACT_LIMIT = 8_000_000

# How a Summary's percentiles were computed: exact nearest rank, or HDR histograms.
PERCENTILE_METHODS = ("exact", "hdr")

_RECEIVED = int(EventKind.RESPONSE_RECEIVED)
_STATUS_LISTED = int(ErrorCode.STATUS_LISTED)
_ISSUED = int(EventKind.REQUEST_ISSUED)
_OUTCOMES = [int(k) for k in OUTCOME_KINDS]
_VU_COMPLETE = int(EventKind.VU_COMPLETE)
_ERROR_HTTP = int(EventKind.ERROR_HTTP)
# Failed outcomes that are responses, counted under their status too.
RESPONSE_ERRORS = CHECK_ERRORS | REDIRECT_ERRORS
_ON_START_FAILED = int(ErrorCode.ON_START_FAILED)


@dataclass(frozen=True)
class RequestSummary:
    """Counts and latency for one request name (or for all of them)."""

    requests: int            # issued
    completed: int           # with an outcome (response, error, timeout, cancel)
    failed: int              # transport errors + timeouts + cancels + HTTP status >= 400
    statuses: dict[int, int]
    errors: dict[str, int]   # failure kind -> count
    latency: LatencyStats
    checks: tuple[CheckResult, ...] = ()   # response checks (overall: every request's)
    redirects: Optional[RedirectStats] = None  # live runs that followed a redirect (z6.metrics._redirects)

    @property
    def checks_rate(self) -> Optional[float]:
        """Checks passed over checks judged; None without any."""
        return checks_rate(self.checks)

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
            **({"checks": [c.to_dict() for c in self.checks], "checks_rate": self.checks_rate}
               if self.checks else {}),
            **({"redirects": self.redirects.to_dict()} if self.redirects is not None else {}),
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
    # [lifecycle] on_start runs: VUs that completed because an on_start request failed
    failed_vus: Optional[int] = None

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
            **({"failed_vus": self.failed_vus} if self.failed_vus is not None else {}),
        }


@dataclass(frozen=True)
class SummaryCounts:
    """What a builder counted, by request index, ready to be assembled into a `Summary`."""

    request_names: tuple[str, ...]
    tick_ns: int
    think_ms: float
    issued: list[int]
    completed: list[int]
    statuses: list[Counter[int]]     # responses by status
    failures: list[Counter[str]]     # failed outcomes but responses, by `failure_label`
    events: int
    first_tick: Optional[int]
    last_tick: int
    vus_max: int
    connections: tuple[int, int, int, int, int]   # opened, TLS full, TLS resumed, connect ns sum, max
    # responses of 400 and above a status check listed, by status (successes, not http_Nxx errors)
    listed_statuses: Optional[list[Counter[int]]] = None
    # responses a failed check or an unfollowed redirect turned into error_http, by
    # status (counted as failures under their label; shown among the statuses, which
    # the server did send)
    checked_statuses: Optional[list[Counter[int]]] = None


def _request_summary(statuses: Counter[int], failures: Counter[str],
                     issued: int, completed: int, latency: LatencyStats,
                     checked: Optional[Counter[int]] = None, listed: Optional[Counter[int]] = None) -> RequestSummary:
    errors = Counter(failures)
    for status, count in statuses.items():
        failed = count - (listed[status] if listed else 0)
        if status >= FAILURE_STATUS_MIN and failed:
            errors[f"http_{status // 100}xx"] += failed
    return RequestSummary(
        requests=issued,
        completed=completed,
        failed=sum(errors.values()),
        statuses=dict(statuses + checked if checked else statuses),
        errors=dict(errors),
        latency=latency,
    )


def assemble_summary(counts: SummaryCounts, latency: LatencyFigures, lag: LatencyStats,
                     time_series: TimeSeries, percentile_method: str, clamped: int) -> Summary:
    """The `Summary` of what a builder counted (``clamped``: latencies and lags
    beyond the histograms' range)."""
    statuses, failures = counts.statuses, counts.failures
    checked = counts.checked_statuses or [Counter() for _ in statuses]
    listed = counts.listed_statuses or [Counter() for _ in statuses]
    all_statuses: Counter[int] = sum(statuses, Counter())
    per_request = {
        name: _request_summary(statuses[i], failures[i], counts.issued[i], counts.completed[i],
                               latency.per_request[i], checked[i], listed[i])
        for i, name in enumerate(counts.request_names)
    }
    overall = _request_summary(all_statuses, sum(failures, Counter()),
                               sum(counts.issued), sum(counts.completed), latency.overall, sum(checked, Counter()),
                               sum(listed, Counter()))
    per_status = {s: StatusSummary(all_statuses[s], stats) for s, stats in latency.per_status.items()}
    p50 = overall.latency.percentiles["p50"]
    warnings = [w for w in (lag_warning(lag, p50, counts.think_ms), _clamped_warning(clamped)) if w]
    first = counts.first_tick or 0
    duration_s = max(counts.last_tick - first, 1) * counts.tick_ns / 1e9
    opened, tls_full, tls_resumed, connect_ns_sum, connect_ns_max = counts.connections
    return Summary(
        duration_s=duration_s,
        rate=overall.requests / duration_s,
        vus_max=counts.vus_max,
        events=counts.events,
        overall=overall,
        per_request=per_request,
        per_status=per_status,
        lag=lag,
        lag_threshold_ms=lag_threshold_ms(p50, counts.think_ms),
        time_series=time_series,
        distribution=latency.distribution,
        warnings=tuple(warnings),
        percentile_method=percentile_method,
        connections=ConnectionStats(
            opened=opened, tls_full=tls_full, tls_resumed=tls_resumed,
            connect_ms_mean=connect_ns_sum / opened / 1e6, connect_ms_max=connect_ns_max / 1e6,
        ) if opened else None,
    )


def _with_checks(summary: Summary, results: list[tuple[CheckResult, ...]]) -> Summary:
    # Each request's check results on its summary; the overall one holds them all.
    per_request = {name: dataclasses.replace(r, checks=results[i])
                   for i, (name, r) in enumerate(summary.per_request.items())}
    overall = dataclasses.replace(summary.overall, checks=tuple(c for request in results for c in request))
    return dataclasses.replace(summary, per_request=per_request, overall=overall)


def _with_redirects(summary: Summary, overall: Optional[RedirectStats],
                    per_request: list[Optional[RedirectStats]]) -> Summary:
    named = {name: dataclasses.replace(r, redirects=per_request[i])
             for i, (name, r) in enumerate(summary.per_request.items())}
    return dataclasses.replace(summary, per_request=named,
                               overall=dataclasses.replace(summary.overall, redirects=overall))


def _clamped_warning(clamped: int) -> Optional[str]:
    if not clamped:
        return None
    return (f"{clamped} latencies or lags exceeded the histograms' range ({DEFAULT_HIGHEST_NS / 6e10:.0f} min) "
            "and were counted at its top: percentiles that high are not accurate (min, max, mean are)")


class SummaryBuilder:
    """Consume event chunks; `finish()` returns the `Summary`, `snapshot()` the figures so far.

    ``request_bytes[i]``, when given, is the size on the wire of request ``i``: the
    time series then counts the bytes sent each second. ``exact_limit`` is how many
    responses and late lags are kept as exact values before the builder switches
    to HDR histograms (module docstring); 0 uses histograms from the first response.
    ``think_ms`` is the scenario's mean think time (`z6.metrics.mean_think_ms`): the
    schedule-lag warning weighs the lag against think time plus latency.

    Each chunk is checked, then folded, by the core in C without the GIL; a chunk
    it refuses (a request index the run does not have, events out of tick order)
    raises ValueError with nothing of it counted. One thread feeds the builder;
    any thread may call `snapshot()` meanwhile.

    ``open_model``, for an arrival-rate run, is the requests one iteration issues
    (`z6.metrics.iteration_requests(plan)`): the summary then also counts dropped
    iterations and response time from the intended start (`z6.metrics._open_model`).
    ``redirects`` (a live run that follows redirects) adds each request's hops and
    chain latency (`z6.metrics._redirects`).
    """

    def __init__(self, request_names: tuple[str, ...], tick_ns: int, *,
                 request_bytes: Optional[Sequence[int]] = None, exact_limit: int = DEFAULT_EXACT_LIMIT,
                 think_ms: float = 0.0, open_model: Optional[int] = None, on_start: bool = False,
                 checks: Optional[Sequence[Sequence[str]]] = None, redirects: bool = False) -> None:
        if isinstance(exact_limit, bool) or not isinstance(exact_limit, (int, np.integer)) or exact_limit < 0:
            raise ValueError(f"exact_limit must be a non-negative integer, got {exact_limit!r}")
        self.request_names = tuple(request_names)
        self.tick_ns = tick_ns
        self.exact_limit = int(exact_limit)
        self.think_ms = float(think_ms)  # the scenario's mean think time: the lag warning weighs lag against it
        self._counts_bytes = request_bytes is not None
        self._core = SummaryAccumulator(len(self.request_names), int(tick_ns),
                                        None if request_bytes is None else np.asarray(request_bytes, dtype=np.int64),
                                        exact_ceiling=self.exact_limit)
        self._events = 0
        # The open model's own figures, kept apart (one hook here, one in finish()).
        self._open = OpenModelRecorder(self.exact_limit, open_model) if open_model is not None else None
        # With [lifecycle] on_start requests, VUs whose on_start failed (one
        # numpy pass a chunk, only then).
        self._failed_vus: Optional[int] = 0 if on_start else None
        # Response checks' labels per request (z6.plan.CheckTables.labels): their failures, by check.
        self._checks = CheckRecorder(checks) if checks is not None else None
        self._redirects = RedirectRecorder(len(self.request_names), self.exact_limit) if redirects else None

    @property
    def percentile_method(self) -> str:
        """"exact" until the builder has switched to histograms, then "hdr"."""
        return "exact" if self._core.exact else "hdr"

    @property
    def exact_values_kept(self) -> int:
        """Responses and late lags held as exact values now (never above ``exact_limit``; 0 once switched)."""
        return self._core.kept_latencies + self._core.kept_lags

    def __call__(self, chunk: np.ndarray) -> None:
        if chunk.size == 0:
            return
        if not chunk.flags.c_contiguous:
            chunk = np.ascontiguousarray(chunk)
        # The check refuses a bad chunk before anything is counted. Whether the values
        # it would keep pass the limit is counted only when its length could.
        near = self._core.exact and self.exact_values_kept + chunk.size > self.exact_limit
        incoming = self._core.check(chunk, near)
        # Switch before keeping a chunk that would take the kept values past the limit.
        if near and self.exact_values_kept + incoming > self.exact_limit:
            self._switch_to_histograms()
        self._core.fold(chunk)
        if self._open is not None:
            self._open(chunk)
        if self._failed_vus is not None:
            self._failed_vus += int(np.count_nonzero((chunk["error"] == _ON_START_FAILED)
                                                     & (chunk["kind"] == _VU_COMPLETE)))
        if self._checks is not None:
            self._checks(chunk)
        if self._redirects is not None:
            self._redirects(chunk)
        self._events += int(chunk.size)

    def _switch_to_histograms(self) -> None:
        # Once per builder: afterwards nothing is stored, so the limit is never crossed again.
        self._core.use_histograms()

    def snapshot(self) -> RunningSummary:
        """The figures so far (`z6.metrics.RunningSummary`): cheap, and safe to call
        from another thread while chunks are folded."""
        return running_summary(self._core.snapshot(), self.request_names, self.tick_ns)

    def finish(self) -> Summary:
        core = self._core
        core.close_series()
        n = len(self.request_names)
        by_kind = core.request_kind_counts()[:n]
        statuses: list[Counter[int]] = [Counter() for _ in range(n)]
        failures: list[Counter[str]] = [Counter() for _ in range(n)]
        checked: list[Counter[int]] = [Counter() for _ in range(n)]
        listed: list[Counter[int]] = [Counter() for _ in range(n)]
        judged = [0] * n      # responses whose checks were judged: received, or failed by a check
        for (r, kind, status, error), count in sorted(core.outcome_counts().items()):
            if kind == _RECEIVED:
                statuses[r][status] += count
                judged[r] += count
                if error == _STATUS_LISTED:
                    listed[r][status] += count
            else:
                failures[r][failure_label(kind, error)] += count
                if kind == _ERROR_HTTP and error in RESPONSE_ERRORS:
                    checked[r][status] += count    # a response the server sent: among the statuses
                    if error in CHECK_ERRORS:
                        judged[r] += count
        report_statuses = sorted(sum(statuses, Counter()))
        if core.exact:
            values, requests, status_column = core.exact_latencies()
            latency = exact_figures(values, requests, status_column, n, report_statuses)
            zeros, late = core.exact_lags()
            lag = LatencyStats.from_sorted_with_zeros(zeros, np.sort(late))
            clamped = 0
        else:
            latency = histogram_figures(core.overall_histogram(), core.request_histograms(),
                                        core.status_histograms(), report_statuses)
            lag_histogram = core.lag_histogram()
            lag = LatencyStats.from_histogram(lag_histogram)
            clamped = latency.clamped + int(lag_histogram.clamped)
        counts = SummaryCounts(
            request_names=self.request_names, tick_ns=self.tick_ns, think_ms=self.think_ms,
            issued=by_kind[:, _ISSUED].tolist(), completed=by_kind[:, _OUTCOMES].sum(axis=1).tolist(),
            statuses=statuses, failures=failures, events=self._events, first_tick=core.first_tick,
            last_tick=core.last_tick, vus_max=core.vus_max, connections=core.connections(),
            checked_statuses=checked, listed_statuses=listed)
        summary = assemble_summary(counts, latency, lag, self._time_series(), self.percentile_method, clamped)
        if self._checks is not None:
            summary = _with_checks(summary, self._checks.finish(judged))
        if self._redirects is not None:
            summary = _with_redirects(summary, *self._redirects.finish())
        if self._open is not None:
            summary = dataclasses.replace(summary, open_model=self._open.finish())
        if self._failed_vus is not None:
            summary = dataclasses.replace(summary, failed_vus=self._failed_vus)
        return summary

    def _time_series(self) -> TimeSeries:
        rows = self._core.series_rows()
        timed = rows["latencies"] > 0
        latency: dict[str, list[Optional[float]]] = {
            label: [int(v) / NS_PER_MS if t else None for v, t in zip(rows[label].tolist(), timed.tolist())]
            for label, _ in SERIES_PERCENTILES
        }
        return TimeSeries(
            second=rows["second"].tolist(),
            requests=rows["requests"].tolist(),
            completed=rows["completed"].tolist(),
            errors=rows["errors"].tolist(),
            latency_ms=latency,
            active_vus=np.cumsum(rows["vu_delta"]).tolist(),
            bytes_sent=rows["bytes_sent"].tolist() if self._counts_bytes else None,
        )
