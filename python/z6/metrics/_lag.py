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
from z6.metrics._percentile import LatencyStats

__all__ = ["LagRecorder", "lag_threshold_ms", "lag_warning", "LAG_FLOOR_MS", "LAG_CEILING_MS", "LAG_FRACTION"]

LAG_FLOOR_MS = 1.0
LAG_CEILING_MS = 10.0
LAG_FRACTION = 0.10

_ISSUED = int(EventKind.REQUEST_ISSUED)


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
    """Chunk consumer keeping the lag of every late request (zeros are only counted)."""

    def __init__(self) -> None:
        self._zeros = 0
        self._late: list[np.ndarray] = []

    def __call__(self, chunk: np.ndarray) -> None:
        lag = chunk["value_ns"][chunk["kind"] == _ISSUED]
        late = lag[lag != 0]
        self._zeros += int(lag.size - late.size)
        if late.size:
            self._late.append(late)

    def finish(self) -> LatencyStats:
        late = np.sort(np.concatenate(self._late)) if self._late else np.zeros(0, np.uint64)
        return LatencyStats.from_sorted_with_zeros(self._zeros, late)
