"""Schedule lag: how late each request was issued against the moment it was due.

A closed-loop load generator that cannot keep up issues requests late; the server
then sees less load and latencies look better than users would find them
(coordinated omission). The core writes the lag of each request, in nanoseconds,
in its ``request_issued`` event's ``value_ns`` (a live run measures it; a simulated
run issues every request on time, so it is 0). z6 reports the lag beside latency
and warns when it is large.

What lag includes: every request but each VU's first (``seq`` 0) and redirect hops
(a ``request_issued`` whose ``status`` is the hop's number: it goes the moment the
redirect arrives, never due at a moment of its own). A VU's first
request is due one tick after it spawns, together with every VU spawned at that
tick (a constant schedule spawns them all at tick 0), and the generator issues them
one after another, opening a connection for each: the last of a burst of 100 VUs
waits for 99 connects. That is the generator starting up, once, not a generator
that cannot keep up; counted, it made the p99 of a short run with many VUs the
start-up burst. (A VU's own connect is not in its lag either way: the core writes
``request_issued`` before it connects; connect time is ``conn_established``'s.)

Warning rule, on evidence: the lag warns when

* it rests on at least ``LAG_MIN_SAMPLES`` (500) requests, so that at least six of
  them lie at or above the p99 (of 35 requests the p99 is the single worst), and
* its p99 exceeds ``threshold = max(1 ms, 10% of (p50 latency + mean think time))``.

A VU's cycle is think time plus response time; a request late by a tenth of a
cycle shifts the load the server sees by that much, the point where the figures
start to understate what users would meet. Below 1 ms it never warns (scheduling
jitter of a busy machine, not saturation). With no latency measured and no think
time the threshold is 1 ms.
"""

from __future__ import annotations

from typing import Optional

import numpy as np

from z6.events import EventKind
from z6.metrics._growable import GrowableArray
from z6.metrics._percentile import LatencyStats
from z6core import HdrHistogram

__all__ = ["LagRecorder", "lag_threshold_ms", "lag_warning", "mean_think_ms", "LAG_FLOOR_MS", "LAG_FRACTION",
           "LAG_MIN_SAMPLES"]

LAG_FLOOR_MS = 1.0
LAG_FRACTION = 0.10
LAG_MIN_SAMPLES = 500

_ISSUED = int(EventKind.REQUEST_ISSUED)
# On-time lags are counted, not stored: moved into a histogram this many zeros at a time.
_ZERO_BLOCK = 1 << 20


def mean_think_ms(think_time) -> float:
    """The mean of a scenario's think time (`z6.scenario.ThinkTime`; None: 0)."""
    if think_time is None:
        return 0.0
    if think_time.type == "uniform":
        return (think_time.min_ms + think_time.max_ms) / 2
    if think_time.type == "exponential":
        return think_time.mean_ms
    return think_time.duration_ms


def lag_threshold_ms(p50_latency_ms: Optional[float], think_ms: float = 0.0) -> float:
    """The p99 lag above which a run's latencies are suspect (module docstring)."""
    cycle = (p50_latency_ms or 0.0) + think_ms
    return max(LAG_FLOOR_MS, LAG_FRACTION * cycle)


def lag_warning(lag: LatencyStats, p50_latency_ms: Optional[float], think_ms: float = 0.0) -> Optional[str]:
    """The warning for a large lag on enough requests, or None (module docstring)."""
    p99 = lag.percentiles["p99"]
    if p99 is None or lag.count < LAG_MIN_SAMPLES:
        return None
    threshold = lag_threshold_ms(p50_latency_ms, think_ms)
    if p99 <= threshold:
        return None
    cycle = f"p50 latency {p50_latency_ms or 0:.3g} ms + mean think time {think_ms:.3g} ms"
    return (f"schedule lag p99 {p99:.3g} ms over {lag.count:,} requests exceeds {threshold:.3g} ms "
            f"(the larger of 1 ms and 10% of {cycle}): the load generator issued requests "
            f"late, so the server saw less load than planned and latencies understate what users would see "
            f"(coordinated omission); use fewer VUs per process or a faster machine")


def _not_first(chunk: np.ndarray) -> np.ndarray:
    """``chunk`` without the request_issued events of a VU's first request (seq 0)
    and of redirect hops (status: the hop's number)."""
    first = (chunk["kind"] == _ISSUED) & ((chunk["seq"] == 0) | (chunk["status"] != 0))
    return chunk[~first] if first.any() else chunk


class LagRecorder:
    """Chunk consumer for the lag of every request but each VU's first (module
    docstring): exact until switched to a histogram.

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
        return int(np.count_nonzero(issued & (chunk["value_ns"] != 0) & (chunk["seq"] != 0) & (chunk["status"] == 0)))

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
            self._histogram.record_events(_not_first(chunk), _ISSUED)
            return
        lag = chunk["value_ns"][(chunk["kind"] == _ISSUED) & (chunk["seq"] != 0) & (chunk["status"] == 0)]
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
