"""The reference summary builder: the numpy implementation the core replaced.

`ReferenceSummaryBuilder` folds each chunk with numpy (masks, ``bincount``,
``unique``), keeping the exact values in `GrowableArray` columns
(`z6.metrics._latency.LatencyRecorder`, `z6.metrics._lag.LagRecorder`) and the
series in `z6.metrics._timeseries.TimeSeriesBuilder`. `z6.metrics.SummaryBuilder`
does the same accounting in the core (`z6core.SummaryAccumulator`, C without the
GIL, a few ns an event, against about 70 for this one) and must give the same
`Summary`, field for field: tests/test_summary_core.py checks it on every
example and on randomized runs. Kept in the package as that test's oracle and
as the readable statement of what is counted; no run uses it.
"""

from __future__ import annotations

from collections import Counter
from typing import Optional, Sequence

import numpy as np

from z6.events import ErrorCode, EventKind, outcome_mask
from z6.metrics._checks import CHECK_ERRORS
from z6.metrics._redirects import REDIRECT_ERRORS
from z6.metrics._lag import LagRecorder
from z6.metrics._latency import LatencyRecorder
from z6.metrics._summary import DEFAULT_EXACT_LIMIT, Summary, SummaryCounts, assemble_summary, failure_label
from z6.metrics._timeseries import TimeSeriesBuilder

__all__ = ["ReferenceSummaryBuilder"]

_RECEIVED = int(EventKind.RESPONSE_RECEIVED)
_STATUS_LISTED = int(ErrorCode.STATUS_LISTED)
_ISSUED = int(EventKind.REQUEST_ISSUED)
_SPAWNED = int(EventKind.VU_SPAWNED)
_ESTABLISHED = int(EventKind.CONN_ESTABLISHED)
_ERROR_HTTP = int(EventKind.ERROR_HTTP)
# Failed outcomes that are responses (a check failed, a redirect not followed), counted under their status.
_RESPONSE_ERRORS = np.array(sorted(CHECK_ERRORS | REDIRECT_ERRORS), dtype=np.uint16)
# conn_established's status in a live run: 0 plain TCP, 1 TLS full handshake, 2 TLS resumed
_CONN_TLS_FULL, _CONN_TLS_RESUMED = 1, 2
_COMPLETE = int(EventKind.VU_COMPLETE)


class ReferenceSummaryBuilder:
    """Consume event chunks; `finish()` returns the `Summary` (the numpy way).

    The arguments are `z6.metrics.SummaryBuilder`'s: ``request_bytes[i]``, when
    given, is the size on the wire of request ``i``: the time series then counts
    the bytes sent each second. ``exact_limit`` is how many responses and late lags
    are kept as exact values before the builder switches to HDR histograms
    (`z6.metrics._summary`'s docstring); 0 uses histograms from the first response.
    ``think_ms`` is the scenario's mean think time (`z6.metrics.mean_think_ms`): the
    schedule-lag warning weighs the lag against think time plus latency.
    """

    def __init__(self, request_names: tuple[str, ...], tick_ns: int, *,
                 request_bytes: Optional[Sequence[int]] = None, exact_limit: int = DEFAULT_EXACT_LIMIT,
                 think_ms: float = 0.0) -> None:
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
        self._checked: Counter[tuple[int, int]] = Counter()       # (request, status) of responses a check failed or a redirect not followed
        self._listed: Counter[tuple[int, int]] = Counter()        # (request, status) of responses a status check listed
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
        listed = chunk["error"][received] == _STATUS_LISTED
        if listed.any():
            keys, counts = np.unique(received_requests[listed].astype(np.int64) << 16 | status[listed],
                                     return_counts=True)
            for key, count in zip(keys.tolist(), counts.tolist()):
                self._listed[(key >> 16, key & 0xFFFF)] += count

        failed = outcome & ~received
        if failed.any():
            keys, counts = np.unique(
                (request[failed].astype(np.int64) << 32) | (kind[failed].astype(np.int64) << 16)
                | chunk["error"][failed], return_counts=True)
            for key, count in zip(keys.tolist(), counts.tolist()):
                label = failure_label((key >> 16) & 0xFFFF, key & 0xFFFF)
                self._failures[(key >> 32, label)] += count
            checked = failed & (kind == _ERROR_HTTP) & np.isin(chunk["error"], _RESPONSE_ERRORS)
            if checked.any():
                keys, counts = np.unique((request[checked].astype(np.int64) << 16) | chunk["status"][checked],
                                         return_counts=True)
                for key, count in zip(keys.tolist(), counts.tolist()):
                    self._checked[(key >> 16, key & 0xFFFF)] += count

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

    def finish(self) -> Summary:
        n = len(self.request_names)
        statuses: list[Counter[int]] = [Counter() for _ in range(n)]
        failures: list[Counter[str]] = [Counter() for _ in range(n)]
        for (r, status), count in self._statuses.items():
            statuses[r][status] += count
        for (r, label), count in self._failures.items():
            failures[r][label] += count
        checked: list[Counter[int]] = [Counter() for _ in range(n)]
        for (r, status), count in self._checked.items():
            checked[r][status] += count
        listed: list[Counter[int]] = [Counter() for _ in range(n)]
        for (r, status), count in self._listed.items():
            listed[r][status] += count
        latency = self._latency.finish(sorted(sum(statuses, Counter())))
        lag_histogram = self._lag.histogram
        return assemble_summary(
            SummaryCounts(
                request_names=self.request_names, tick_ns=self.tick_ns, think_ms=self.think_ms,
                issued=[int(x) for x in self._issued], completed=[int(x) for x in self._completed],
                statuses=statuses, failures=failures, events=self._events, first_tick=self._first_tick,
                last_tick=self._last_tick, vus_max=self._vus_max,
                connections=(self._conn_opened, self._conn_tls[0], self._conn_tls[1], self._conn_ns_sum,
                             self._conn_ns_max), checked_statuses=checked, listed_statuses=listed),
            latency, self._lag.finish(), self._series.finish(), self.percentile_method,
            latency.clamped + (int(lag_histogram.clamped) if lag_histogram is not None else 0))
