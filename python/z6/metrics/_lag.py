"""Schedule lag: how late each request was issued against the moment it was due.

A closed-loop load generator that cannot keep up issues requests late; the server
then sees less load and latencies look better than users would find them
(coordinated omission). The core writes the lag of each request, in nanoseconds,
in its ``request_issued`` event's ``value_ns`` (a live run measures it; a simulated
run issues every request on time, so it is 0). z6 reports the lag beside latency
and warns when it is large.

Warning rule: lag is large when its p99 exceeds

    threshold = min(10 ms, max(1 ms, 10% of the overall p50 latency))

That is, a p99 lag above 10 ms always warns (requests are that late whatever the
server's speed); below 1 ms it never does (scheduling jitter of a busy machine, not
saturation); in between it warns when the lag is a tenth of a typical response or
more, the point where it visibly distorts the latency figures. With no latency
measured the threshold is 1 ms.
"""

from __future__ import annotations

from typing import Optional

import numpy as np

from z6.events import EventKind
from z6.metrics._growable import GrowableArray
from z6.metrics._percentile import LatencyStats
from z6core import HdrHistogram

__all__ = ["LagRecorder", "lag_threshold_ms", "lag_warning", "LAG_FLOOR_MS", "LAG_CEILING_MS", "LAG_FRACTION"]

LAG_FLOOR_MS = 1.0
LAG_CEILING_MS = 10.0
LAG_FRACTION = 0.10

_ISSUED = int(EventKind.REQUEST_ISSUED)
# On-time lags are counted, not stored: moved into a histogram this many zeros at a time.
_ZERO_BLOCK = 1 << 20


def lag_threshold_ms(p50_latency_ms: Optional[float]) -> float:
    """The p99 lag above which a run's latencies are suspect (module docstring)."""
    relative = LAG_FRACTION * p50_latency_ms if p50_latency_ms is not None else 0.0
    return min(LAG_CEILING_MS, max(LAG_FLOOR_MS, relative))


def lag_warning(lag: LatencyStats, p50_latency_ms: Optional[float]) -> Optional[str]:
    """The warning for a large lag, or None when the lag is within the threshold."""
    p99 = lag.percentiles["p99"]
    if p99 is None:
        return None
    threshold = lag_threshold_ms(p50_latency_ms)
    if p99 <= threshold:
        return None
    return (f"schedule lag p99 {p99:.3g} ms exceeds {threshold:.3g} ms: the load generator issued requests "
            f"late, so the server saw less load than planned and latencies understate what users would see "
            f"(coordinated omission); use fewer VUs per process or a faster machine")


class LagRecorder:
    """Chunk consumer for the lag of every request: exact until switched to a histogram.

    Exact: on-time requests (lag 0) are only counted; each late one's lag is kept
    (8 bytes, in one contiguous growable array). After `use_histogram()` every lag
    goes into one core HDR histogram instead (a fixed 272 KiB; see
    `z6.metrics._percentile.LatencyStats.from_histogram`).
    """

    def __init__(self, ceiling: int) -> None:
        # ``ceiling``: the most lags the caller will keep exact (its exact limit).
        self._zeros = 0
        self._late = GrowableArray(np.uint64, ceiling)
        self._histogram: Optional[HdrHistogram] = None

    @staticmethod
    def late_in(chunk: np.ndarray, issued: np.ndarray) -> int:
        """How many lags of ``chunk`` an exact recorder would keep (``issued``: its request_issued mask)."""
        return int(np.count_nonzero(issued & (chunk["value_ns"] != 0)))

    @property
    def stored(self) -> int:
        """Lags kept as exact values (0 once switched to the histogram)."""
        return len(self._late)

    @property
    def histogram(self) -> Optional[HdrHistogram]:
        """The histogram once switched, else None."""
        return self._histogram

    def __call__(self, chunk: np.ndarray) -> None:
        if self._histogram is not None:
            self._histogram.record_events(chunk, _ISSUED)
            return
        lag = chunk["value_ns"][chunk["kind"] == _ISSUED]
        late = lag[lag != 0]
        self._zeros += int(lag.size - late.size)
        if late.size:
            self._late.append(late)

    def use_histogram(self) -> None:
        """Move the lags kept so far into a histogram and count every later one there."""
        if self._histogram is not None:
            return
        histogram = HdrHistogram()
        zeros = np.zeros(min(self._zeros, _ZERO_BLOCK), dtype=np.uint64)
        for start in range(0, self._zeros, _ZERO_BLOCK):
            histogram.record_values(zeros[:min(_ZERO_BLOCK, self._zeros - start)])
        histogram.record_values(self._late.view())
        self._histogram = histogram
        self._zeros = 0
        self._late.clear()

    def finish(self) -> LatencyStats:
        if self._histogram is not None:
            return LatencyStats.from_histogram(self._histogram)
        return LatencyStats.from_sorted_with_zeros(self._zeros, np.sort(self._late.view()))
