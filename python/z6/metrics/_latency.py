"""Response latencies overall, per request and per status: exact values, or HDR histograms.

`LatencyRecorder` starts exact: it keeps the latency, request index and status of
every ``response_received`` event (12 bytes a response, in three contiguous
growable columns) and computes nearest-rank percentiles from them at the end. `use_histograms()` switches it, once, to HDR
histograms in the core (`z6core.RequestHistograms` per request and overall, one
`z6core.HdrHistogram` per status): the values kept so far are counted into them
and dropped, and every later chunk is recorded by the core's C loops (no Python
per event). Memory is then a fixed 272 KiB a histogram however long the run.

Either way the figures come out as `LatencyFigures`; in histogram mode count,
min, max and mean stay exact and each percentile is within 1/1,024 above the
exact one (`z6.metrics._percentile.LatencyStats.from_histogram`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Mapping, Optional, Sequence

import numpy as np

from z6.events import EventKind
from z6.metrics._distribution import Distribution, histogram_distribution, latency_distribution
from z6.metrics._growable import GrowableArray
from z6.metrics._percentile import LatencyStats
from z6core import HdrHistogram, RequestHistograms

__all__ = ["LatencyFigures", "LatencyRecorder", "exact_figures", "histogram_figures"]

_RECEIVED = int(EventKind.RESPONSE_RECEIVED)
# Responses grouped at a time when the kept ones move into histograms.
_SWITCH_BLOCK = 1 << 16


@dataclass(frozen=True)
class LatencyFigures:
    """Latency statistics of the responses received, and how they were computed."""

    overall: LatencyStats
    per_request: tuple[LatencyStats, ...]    # by request index
    per_status: dict[int, LatencyStats]
    distribution: Distribution
    clamped: int                             # values beyond the histograms' range (0 when exact)


def _record_by_key(values: np.ndarray, keys: np.ndarray, histogram_for: Callable[[int], HdrHistogram]) -> None:
    """Count each value into the histogram of its key: one core C loop per distinct key."""
    if values.size == 0:
        return
    first = int(keys[0])
    if not np.any(keys != first):   # the usual chunk: a single status (or request)
        histogram_for(first).record_values(values)
        return
    # A stable sort of 16-bit keys is a radix sort in numpy: linear in the chunk.
    order = np.argsort(keys, kind="stable")
    sorted_keys, sorted_values = keys[order], values[order]
    starts = np.flatnonzero(sorted_keys[1:] != sorted_keys[:-1]) + 1
    bounds = [0, *starts.tolist(), int(values.size)]
    for lo, hi in zip(bounds, bounds[1:]):
        histogram_for(int(sorted_keys[lo])).record_values(sorted_values[lo:hi])


def _grouped_stats(values: np.ndarray, keys: np.ndarray, groups: Sequence[int]) -> dict[int, LatencyStats]:
    """Exact statistics of the values of each key in ``groups`` (a key absent from ``keys`` is empty)."""
    sizes = np.bincount(keys, minlength=max(groups, default=0) + 1)
    starts = np.concatenate(([0], np.cumsum(sizes)[:-1]))
    order = np.argsort(keys, kind="stable")
    grouped = values[order]
    del order
    # `grouped` is this function's own copy: each group may be partitioned in place.
    return {g: LatencyStats.from_ns(grouped[int(starts[g]):int(starts[g]) + int(sizes[g])], in_place=True)
            for g in groups}


class LatencyRecorder:
    """Latency of every ``response_received`` event, exact until `use_histograms()` (module docstring)."""

    def __init__(self, n_requests: int, ceiling: int) -> None:
        # ``ceiling``: the most responses the caller will keep exact (its exact limit).
        self.n_requests = n_requests
        self._values = GrowableArray(np.uint64, ceiling)
        self._requests = GrowableArray(np.uint16, ceiling)
        self._statuses = GrowableArray(np.uint16, ceiling)
        self._histograms: Optional[RequestHistograms] = None
        self._by_status: dict[int, HdrHistogram] = {}

    @property
    def stored(self) -> int:
        """Responses kept as exact values (0 once switched to histograms)."""
        return len(self._values)

    @property
    def exact(self) -> bool:
        return self._histograms is None

    def record(self, chunk: np.ndarray, values: np.ndarray, requests: np.ndarray, statuses: np.ndarray) -> None:
        """Count one chunk; ``values``, ``requests``, ``statuses`` are its received responses' fields."""
        if self._histograms is None:
            if values.size:
                self._values.append(values)
                self._requests.append(requests)
                self._statuses.append(statuses)
            return
        self._histograms.record(chunk)
        _record_by_key(values, statuses, self._status_histogram)

    def _status_histogram(self, status: int) -> HdrHistogram:
        histogram = self._by_status.get(status)
        if histogram is None:
            histogram = self._by_status[status] = HdrHistogram()
        return histogram

    def use_histograms(self) -> None:
        """Count the values kept so far into histograms, drop them, and record every later chunk there."""
        if self._histograms is not None:
            return
        histograms = RequestHistograms(self.n_requests, _RECEIVED)
        values, requests, statuses = self._values.view(), self._requests.view(), self._statuses.view()
        histograms.overall.record_values(values)
        # Grouped a block at a time: the sorting copies stay small beside the values.
        for start in range(0, values.size, _SWITCH_BLOCK):
            block = slice(start, start + _SWITCH_BLOCK)
            _record_by_key(values[block], requests[block], histograms.__getitem__)
            _record_by_key(values[block], statuses[block], self._status_histogram)
        self._histograms = histograms
        for column in (self._values, self._requests, self._statuses):
            column.clear()

    def finish(self, statuses: Sequence[int]) -> LatencyFigures:
        """The figures; ``statuses`` are those to report (every status a response had)."""
        if self._histograms is not None:
            histograms = self._histograms
            return histogram_figures(histograms.overall, tuple(histograms[i] for i in range(self.n_requests)),
                                     self._by_status, statuses)
        # Views of the kept values, which nothing here modifies: finish() may be called again.
        return exact_figures(self._values.view(), self._requests.view(), self._statuses.view(), self.n_requests,
                             statuses)


def exact_figures(values: np.ndarray, requests: np.ndarray, statuses: np.ndarray, n_requests: int,
                  report_statuses: Sequence[int]) -> LatencyFigures:
    """Exact figures of kept responses: latency, request index and status of each
    (left unmodified); ``report_statuses`` are the statuses to report."""
    overall = LatencyStats.from_ns(values)
    distribution = latency_distribution(values)
    per_request = _grouped_stats(values, requests, range(n_requests))
    per_status = _grouped_stats(values, statuses, sorted(report_statuses))
    return LatencyFigures(overall, tuple(per_request[i] for i in range(n_requests)), per_status,
                          distribution, clamped=0)


def histogram_figures(overall: HdrHistogram, per_request: Sequence[HdrHistogram],
                      by_status: Mapping[int, HdrHistogram], report_statuses: Sequence[int]) -> LatencyFigures:
    """Figures from HDR histograms: overall, by request index, by status (a status
    with no histogram is empty); ``report_statuses`` are the statuses to report."""
    return LatencyFigures(
        overall=LatencyStats.from_histogram(overall),
        per_request=tuple(LatencyStats.from_histogram(h) for h in per_request),
        per_status={s: LatencyStats.from_histogram(by_status[s]) if s in by_status else LatencyStats.empty()
                    for s in sorted(report_statuses)},
        distribution=histogram_distribution(overall),
        clamped=int(overall.clamped),
    )
