"""Per-second time series of a run, computed exactly from the event stream.

Second ``s`` holds the events whose tick starts in ``[s, s + 1)`` seconds from the
start of the run (``tick * tick_ns // 10**9``). For each second: requests issued,
outcomes (completed), failures, the exact nearest-rank p50/p95/p99 of the
latencies of responses received in that second, the VUs active at its end, and the
bytes of the requests issued (when the request sizes are known).

Only seconds in which something happened have a row: a missing second had no
events, so its counts are 0 and its active VUs those of the row before.

Events must arrive in tick order (the engine and the log emit them so);
that lets each second be closed as soon as a later one begins, so the builder
holds at most one second of latencies.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Optional, Sequence

import numpy as np

from z6.events import EventKind, failed_mask, outcome_mask
from z6.metrics._percentile import NS_PER_MS, nearest_rank_index

__all__ = ["TimeSeries", "TimeSeriesBuilder", "SERIES_PERCENTILES"]

NS_PER_S = 1_000_000_000
SERIES_PERCENTILES: tuple[tuple[str, float], ...] = (("p50", 50.0), ("p95", 95.0), ("p99", 99.0))

_ISSUED = int(EventKind.REQUEST_ISSUED)
_RECEIVED = int(EventKind.RESPONSE_RECEIVED)
_SPAWNED = int(EventKind.VU_SPAWNED)
_COMPLETE = int(EventKind.VU_COMPLETE)
_KIND_SLOTS = max(EventKind) + 1

# Columns of the per-second counters, in this order.
_COUNTERS = ("requests", "completed", "errors", "vu_delta", "bytes_sent")


@dataclass(frozen=True)
class TimeSeries:
    """One row per second that had events (see the module docstring)."""

    second: list[int]
    requests: list[int]
    completed: list[int]
    errors: list[int]
    latency_ms: dict[str, list[Optional[float]]]   # "p50", "p95", "p99"
    active_vus: list[int]                           # at the end of the second
    bytes_sent: Optional[list[int]]                 # None when request sizes are unknown

    def __len__(self) -> int:
        return len(self.second)

    def to_dict(self) -> dict[str, Any]:
        return {
            "second": self.second,
            "requests": self.requests,
            "completed": self.completed,
            "errors": self.errors,
            "latency_ms": self.latency_ms,
            "active_vus": self.active_vus,
            "bytes_sent": self.bytes_sent,
        }


class TimeSeriesBuilder:
    """Chunk consumer; `finish()` returns the `TimeSeries`.

    ``request_bytes[i]``, when given, is the size on the wire of request ``i``.
    A chunk is cut where its second changes (usually once or not at all) and each
    piece costs one ``bincount`` of its kinds; the second still open keeps its
    counters and latencies until a later second starts.
    """

    def __init__(self, tick_ns: int, request_bytes: Optional[Sequence[int]] = None) -> None:
        self.tick_ns = int(tick_ns)
        self._request_bytes = None if request_bytes is None else np.asarray(request_bytes, dtype=np.int64)
        self._last_tick = 0
        self._rows: dict[str, list] = {name: [] for name in ("second", *_COUNTERS)}
        self._percentiles: list[tuple[Optional[int], ...]] = []
        # The open second: its counters and latencies so far.
        self._second = -1
        self._counts = [0] * len(_COUNTERS)
        self._latencies: list[np.ndarray] = []

    def __call__(self, chunk: np.ndarray) -> None:
        if chunk.size == 0:
            return
        tick = chunk["tick"]
        if int(tick[0]) < self._last_tick or np.any(tick[1:] < tick[:-1]):
            raise ValueError(f"events out of tick order (a chunk goes back before tick {self._last_tick}): "
                             "the time series needs the stream in the order the engine emits it")
        self._last_tick = int(tick[-1])
        first, last = (int(tick[0]) * self.tick_ns // NS_PER_S, int(tick[-1]) * self.tick_ns // NS_PER_S)
        if first == last:
            cuts, seconds = [0, chunk.size], [first]
        else:
            second = (tick * np.uint64(self.tick_ns)) // np.uint64(NS_PER_S)
            starts = np.flatnonzero(second[1:] != second[:-1]) + 1
            cuts = [0, *starts.tolist(), chunk.size]
            seconds = [first, *second[starts].tolist()]
        kind, status, value_ns, request = chunk["kind"], chunk["status"], chunk["value_ns"], chunk["request"]
        error = chunk["error"]
        for (start, stop), sec in zip(zip(cuts, cuts[1:]), seconds):
            if sec != self._second:
                self._close_second()
                self._second = sec
            self._count(kind[start:stop], status[start:stop], value_ns[start:stop], request[start:stop],
                        error[start:stop])

    def _count(self, kind: np.ndarray, status: np.ndarray, value_ns: np.ndarray, request: np.ndarray,
               error: np.ndarray) -> None:
        per_kind = np.bincount(kind, minlength=_KIND_SLOTS)
        received = kind == _RECEIVED
        counts = self._counts
        counts[0] += int(per_kind[_ISSUED])
        counts[1] += int(np.count_nonzero(outcome_mask(kind)))
        counts[2] += int(np.count_nonzero(failed_mask(kind, status, error)))
        counts[3] += int(per_kind[_SPAWNED]) - int(per_kind[_COMPLETE])
        if self._request_bytes is not None and per_kind[_ISSUED]:
            issued = request[kind == _ISSUED]
            sizes = np.bincount(issued, minlength=self._request_bytes.size)[: self._request_bytes.size]
            counts[4] += int(sizes @ self._request_bytes)
        if received.any():
            self._latencies.append(value_ns[received])

    def _close_second(self) -> None:
        if self._second < 0:
            return
        self._rows["second"].append(self._second)
        for name, value in zip(_COUNTERS, self._counts):
            self._rows[name].append(value)
        self._counts = [0] * len(_COUNTERS)
        if self._latencies:
            values = np.concatenate(self._latencies)
            # Only three ranks are needed: a partition finds them without a full sort.
            ranks = [nearest_rank_index(values.size, p) for _, p in SERIES_PERCENTILES]
            values = np.partition(values, ranks)
            self._percentiles.append(tuple(int(values[r]) for r in ranks))
            self._latencies = []
        else:
            self._percentiles.append((None,) * len(SERIES_PERCENTILES))

    def finish(self) -> TimeSeries:
        self._close_second()
        self._second = -1
        rows = self._rows
        latency: dict[str, list[Optional[float]]] = {
            label: [None if row[column] is None else row[column] / NS_PER_MS for row in self._percentiles]
            for column, (label, _) in enumerate(SERIES_PERCENTILES)
        }
        return TimeSeries(
            second=list(rows["second"]),
            requests=list(rows["requests"]),
            completed=list(rows["completed"]),
            errors=list(rows["errors"]),
            latency_ms=latency,
            active_vus=np.cumsum(np.array(rows["vu_delta"], dtype=np.int64)).tolist(),
            bytes_sent=None if self._request_bytes is None else list(rows["bytes_sent"]),
        )
