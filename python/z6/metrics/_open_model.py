"""The open model's figures: dropped iterations and response time from the intended start.

An arrival-rate run (`schedule.type = "arrival_rate"` or `"ramping_arrival_rate"`)
has two things a closed-model summary does not:

* ``dropped_iterations``: ``iteration_dropped`` events, arrivals that found every
  VU busy with the pool at ``max_vus``; ``arrivals`` = iterations started (the
  first request of each) + dropped, ``dropped_rate`` = dropped / arrivals.
* Response time: for each ``response_received``, the schedule lag of its request
  (its ``request_issued``'s ``value_ns``: first byte written minus the instant the
  request was due, the arrival's scheduled instant for an iteration's first
  request) plus its service time (the response's ``value_ns``). When the
  generator or the pool lags, response time grows and service time does not.
  The simulated engine serves every arrival at its instant, so there the two are
  equal.

`OpenModelRecorder` is a chunk consumer: it pairs each outcome with its request's
lag through a per-VU carry (one u64 per VU id seen, for a request whose outcome
falls in a later chunk). Response times are kept exactly up to ``ceiling`` values,
then in a core HDR histogram (as the latencies, docs/metrics.md "Memory").
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Optional

import numpy as np

from z6.events import EventKind, outcome_mask
from z6.metrics._growable import GrowableArray
from z6.metrics._percentile import LatencyStats
from z6core import HdrHistogram

__all__ = ["OpenModelRecorder", "OpenModelStats", "iteration_requests"]

_ISSUED = int(EventKind.REQUEST_ISSUED)
_RECEIVED = int(EventKind.RESPONSE_RECEIVED)
_DROPPED = int(EventKind.ITERATION_DROPPED)


@dataclass(frozen=True)
class OpenModelStats:
    """What an arrival-rate run adds to its summary."""

    arrivals: int
    dropped_iterations: int
    response_time: LatencyStats

    @property
    def dropped_rate(self) -> float:
        return self.dropped_iterations / self.arrivals if self.arrivals else 0.0

    def to_dict(self) -> dict[str, Any]:
        return {"arrivals": self.arrivals, "dropped_iterations": self.dropped_iterations,
                "dropped_rate": self.dropped_rate, "response_time_ms": self.response_time.to_dict()}


def iteration_requests(plan: Any) -> Optional[int]:
    """For `SummaryBuilder`'s ``open_model``: the requests one iteration of an
    arrival-rate plan issues (one pass of its sequence, or 1), or None for a
    closed-model plan."""
    if getattr(plan, "arrivals", None) is None:
        return None
    return int(np.asarray(plan.step_repeat, dtype=np.int64).sum()) or 1


class OpenModelRecorder:
    """Consume event chunks of an arrival-rate run; `finish()` gives `OpenModelStats`.

    ``first_requests`` counts the ``request_issued`` events with ``step == 0``
    of an iteration: the caller passes ``sequence_length`` (the requests of one
    pass of the sequence, 1 without one), so an iteration's first request is the
    one whose per-VU ``seq`` is a multiple of it.
    """

    def __init__(self, ceiling: int, sequence_length: int = 1) -> None:
        self._ceiling = max(int(ceiling), 0)
        self._per_iteration = max(int(sequence_length), 1)
        self._values = GrowableArray(np.uint64, max(self._ceiling, 1))
        self._histogram: Optional[HdrHistogram] = None if self._ceiling else HdrHistogram()
        self._carry = np.zeros(0, dtype=np.uint64)   # lag of each VU's request still in flight, by vu_id
        self.dropped = 0
        self.iterations = 0

    def __call__(self, chunk: np.ndarray) -> None:
        kind = chunk["kind"]
        self.dropped += int(np.count_nonzero(kind == _DROPPED))
        issued = kind == _ISSUED
        # (a redirect's hop, status = its number, repeats its request's seq: not a new iteration)
        self.iterations += int(np.count_nonzero(issued & (chunk["seq"] % self._per_iteration == 0)
                                                & (chunk["status"] == 0)))
        pairs = issued | outcome_mask(kind)
        if not pairs.any():
            return
        sel = chunk[pairs]
        order = np.argsort(sel["vu_id"], kind="stable")
        sel = sel[order]
        vu = sel["vu_id"].astype(np.int64)
        is_issue = sel["kind"] == _ISSUED
        top = int(vu.max()) + 1
        if top > self._carry.size:
            grown = np.zeros(max(top, 2 * self._carry.size), dtype=np.uint64)
            grown[:self._carry.size] = self._carry
            self._carry = grown
        n = sel.size
        position = np.arange(n)
        last_issue = np.maximum.accumulate(np.where(is_issue, position, -1))
        group_start = np.zeros(n, dtype=np.int64)
        starts = np.flatnonzero(np.r_[True, vu[1:] != vu[:-1]])
        group_start[starts] = starts
        group_start = np.maximum.accumulate(group_start)
        # An outcome's request: the latest issue of its VU in this chunk, else one carried over.
        in_chunk = last_issue >= group_start
        lag = np.where(in_chunk, sel["value_ns"][np.maximum(last_issue, 0)], self._carry[vu])
        received = sel["kind"] == _RECEIVED
        self._record(lag[received] + sel["value_ns"][received])
        # Carry the lag of each VU whose last event here is an issue (its outcome comes later).
        ends = np.r_[starts[1:], n] - 1
        pending = ends[is_issue[ends]]
        self._carry[vu[pending]] = sel["value_ns"][pending]

    def _record(self, values: np.ndarray) -> None:
        if values.size == 0:
            return
        if self._histogram is None and len(self._values) + values.size > self._ceiling:
            self._histogram = HdrHistogram()
            self._histogram.record_values(np.ascontiguousarray(self._values.view(), dtype=np.uint64))
            self._values.clear()
        if self._histogram is not None:
            self._histogram.record_values(np.ascontiguousarray(values, dtype=np.uint64))
        else:
            self._values.append(values)

    def finish(self) -> OpenModelStats:
        if self._histogram is not None:
            response = LatencyStats.from_histogram(self._histogram)
        else:
            response = LatencyStats.from_ns(self._values.view())
        return OpenModelStats(arrivals=self.iterations + self.dropped, dropped_iterations=self.dropped,
                              response_time=response)
