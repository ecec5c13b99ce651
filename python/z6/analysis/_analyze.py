"""`z6 analyze`: exact figures from a log's events, optionally filtered and grouped.

The figures follow `z6.metrics` exactly, so an unfiltered analysis of a run's log
equals its summary:

* ``requests``: ``request_issued`` events; ``completed``: outcome events
  (`z6.events.OUTCOME_KINDS`); ``failed``: outcomes other than
  ``response_received``, plus responses with status >= 400 that no status check listed; ``error_rate``:
  failed / completed.
* latency: ``value_ns`` of ``response_received`` events, in milliseconds, with
  exact nearest-rank percentiles (`z6.metrics.nearest_rank`) and the mean of the
  exact integer sum of nanoseconds, divided once (`z6.metrics`' mean).
* ``rate``: requests per second over the run's duration, from its first to its
  last event (at least one tick); a ``second`` group's rate is its request count.

A filter keeps events, and every figure counts only the events kept: with
``kind == response_received`` there are latencies but no requests. Grouping:

* ``request``: by request name (events without a request, such as ``vu_ready``,
  belong to no group);
* ``status``: outcome events by their HTTP status; a failure with no HTTP status
  (a transport error, a timeout, a cancel) by its kind, named as summary.json's
  ``errors`` names it (`z6.metrics.failure_label`: ``error:tcp``, ``timeout``,
  ``cancelled``, ...), after the statuses; a status has responses, not requests,
  so ``requests`` and ``rate`` are None;
* ``vu``: by VU id; ``second``: by ``floor(tick * tick_ns / 1e9)``, the second of
  the run the event falls in.

Assertion events (kinds 12 and 13, appended after a run's events) are neither
counted nor timed, and do not stretch the run's duration.

Memory: counters per group and the latency of every kept response (8 bytes
each, plus its group key when grouping); never the events themselves.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Callable, Optional, Sequence, Union

import numpy as np

from z6.events import EventKind, failed_mask, outcome_mask
from z6.analysis._filter import Filter
from z6.log import EventLog
from z6.metrics import PERCENTILES, LatencyStats, failure_label
from z6.metrics._growable import GrowableArray
from z6.metrics._pages import ordinary_pages_array
from z6.metrics._percentile import exact_sum, grouped_nearest_rank, mean_ms, nearest_rank_index
from z6core._outcomes import count_assertions, tally_outcomes

__all__ = [
    "GROUPINGS",
    "DEFAULT_PERCENTILES",
    "GroupStats",
    "Analysis",
    "analyze_log",
    "percentile_label",
    "parse_percentiles",
]

GROUPINGS = ("request", "status", "vu", "second")
DEFAULT_PERCENTILES: tuple[float, ...] = tuple(p for _, p in PERCENTILES)

_ISSUED = int(EventKind.REQUEST_ISSUED)
_RECEIVED = int(EventKind.RESPONSE_RECEIVED)
# A lookup table over every uint16 kind: one gather per chunk instead of a search.
_ASSERTION = np.zeros(1 << 16, bool)
_ASSERTION[[EventKind.ASSERTION_PASSED, EventKind.ASSERTION_FAILED]] = True
_NO_REQUEST = 0xFFFF
# --by status: the key of a failure with no HTTP status is this | kind << 16 | error.
_NO_STATUS_KEY = 1 << 32
_NS_PER_S = 1_000_000_000
# Per-chunk group counts are merged once this many rows have piled up.
_MERGE_ROWS = 1 << 20
# Chunks decoded ahead on the log's reading thread (2 MiB each, decoded).
_READ_AHEAD = 4

GroupKey = Union[int, str]


def percentile_label(p: float) -> str:
    """"p50", "p99.9": the label of percentile ``p``."""
    return f"p{int(p)}" if float(p).is_integer() else f"p{p!r}"


def parse_percentiles(text: str) -> tuple[float, ...]:
    """"50,90,99.9" -> (50.0, 90.0, 99.9); ValueError naming the bad item."""
    values: list[float] = []
    for item in text.split(","):
        item = item.strip()
        try:
            p = float(item)
        except ValueError:
            raise ValueError(f"must be a comma-separated list of percentiles in (0, 100], got {item!r}") from None
        if not (math.isfinite(p) and 0 < p <= 100):
            raise ValueError(f"must be a comma-separated list of percentiles in (0, 100], got {item!r}")
        if p not in values:
            values.append(p)
    return tuple(values)


@dataclass(frozen=True)
class GroupStats:
    """The figures of one group (or of all kept events, the group "overall")."""

    key: GroupKey
    label: str
    events: int
    requests: Optional[int]
    completed: int
    failed: int
    rate: Optional[float]
    latency: LatencyStats

    @property
    def error_rate(self) -> Optional[float]:
        return self.failed / self.completed if self.completed else None

    def to_dict(self) -> dict[str, Any]:
        return {
            "group": self.key,
            "events": self.events,
            "requests": self.requests,
            "completed": self.completed,
            "failed": self.failed,
            "error_rate": self.error_rate,
            "rate": self.rate,
            "latency_ms": self.latency.to_dict(),
        }


@dataclass(frozen=True)
class Analysis:
    log: dict[str, Any]
    filter: Optional[str]
    by: Optional[str]
    percentiles: tuple[float, ...]
    duration_s: float
    overall: GroupStats
    groups: tuple[GroupStats, ...]

    @property
    def percentile_labels(self) -> tuple[str, ...]:
        return tuple(percentile_label(p) for p in self.percentiles)

    def to_dict(self) -> dict[str, Any]:
        return {
            "log": self.log,
            "filter": self.filter,
            "by": self.by,
            "percentiles": list(self.percentiles),
            "duration_s": self.duration_s,
            "overall": self.overall.to_dict(),
            "groups": [g.to_dict() for g in self.groups],
        }


class _Counts:
    """Per-group counters (events, issued, outcomes, failed), merged lazily."""

    COLUMNS = 4

    def __init__(self) -> None:
        self._keys: list[np.ndarray] = []
        self._tables: list[np.ndarray] = []
        self._rows = 0

    def add(self, keys: np.ndarray, masks: Sequence[Optional[np.ndarray]]) -> None:
        """Count ``keys`` (all of them, then those each mask selects; None selects all)."""
        if keys.size == 0:
            return
        unique, inverse = np.unique(keys, return_inverse=True)
        table = np.stack([np.bincount(inverse if m is None else inverse[m], minlength=unique.size)
                          for m in masks], axis=1).astype(np.int64)
        self._keys.append(unique)
        self._tables.append(table)
        self._rows += unique.size
        if self._rows >= _MERGE_ROWS:
            self._merge()

    def _merge(self) -> None:
        keys, table = self.result()
        self._keys, self._tables, self._rows = [keys], [table], int(keys.size)

    def result(self) -> tuple[np.ndarray, np.ndarray]:
        if not self._keys:
            return np.zeros(0, np.int64), np.zeros((0, self.COLUMNS), np.int64)
        keys = np.concatenate(self._keys)
        table = np.concatenate(self._tables)
        unique, inverse = np.unique(keys, return_inverse=True)
        merged = np.zeros((unique.size, self.COLUMNS), np.int64)
        np.add.at(merged, inverse, table)
        return unique, merged


KeyFunction = Callable[[np.ndarray], tuple[np.ndarray, np.ndarray]]


class _Aggregator:
    def __init__(self, key_of: KeyFunction) -> None:
        self.key_of = key_of  # chunk -> (keys, mask of events that belong to a group)
        self.counts = _Counts()
        self.lat_keys: list[np.ndarray] = []
        self.lat_values: list[np.ndarray] = []

    def add(self, chunk: np.ndarray) -> None:
        keys, member = self.key_of(chunk)
        kind = chunk["kind"][member]
        status = chunk["status"][member]
        received = kind == _RECEIVED
        outcome = outcome_mask(kind)
        failed = failed_mask(kind, status, chunk["error"][member])
        keys = keys[member]
        self.counts.add(keys, [None, kind == _ISSUED, outcome, failed])
        self.lat_keys.append(keys[received])
        self.lat_values.append(chunk["value_ns"][member][received])

    def latencies(self) -> tuple[np.ndarray, np.ndarray]:
        values = np.concatenate(self.lat_values) if self.lat_values else np.zeros(0, np.uint64)
        if not self.lat_keys:
            return np.zeros(values.size, np.int64), np.sort(values)
        keys = np.concatenate(self.lat_keys)
        order = np.lexsort((values, keys))
        return keys[order], values[order]


class _Totals:
    """The figures of all kept events (no grouping): four counters and the kept
    latencies in one preallocated array; percentiles by selection, not a sort.

    A log of 10**8 events has about half as many latencies: sorting them takes
    seconds, `numpy.partition` at the few ranks asked for a fraction of that.
    They are kept as uint32 while every one is under 2**32 ns (4.3 s), as nearly
    every run's are: half the memory, whose first touch is much of the cost on a
    large log, and half the bytes to select from. The first that is not widens them.
    """

    def __init__(self, latencies_at_most: Optional[int]) -> None:
        self.counts = np.zeros(4, np.int64)   # events, issued, completed, failed
        # The footer's count of responses bounds the latencies: one allocation,
        # whose pages a filter leaves untouched are never resident.
        self.known = ordinary_pages_array(latencies_at_most, np.uint32) if latencies_at_most is not None else None
        self.grown = GrowableArray(np.uint64, 1 << 62) if latencies_at_most is None else None
        self.size = 0

    def _widen(self) -> None:
        assert self.known is not None
        wide = ordinary_pages_array(self.known.size, np.uint64)
        wide[:self.size] = self.known[:self.size]
        self.known = wide

    def add(self, chunk: np.ndarray) -> None:
        # One pass in C: the four counters, and the latencies straight into our array.
        chunk = np.ascontiguousarray(chunk)
        if self.known is not None:
            counts = tally_outcomes(chunk, self.known[self.size:])
            if counts[5] >= 1 << 32 and self.known.dtype == np.uint32:
                self._widen()   # a value wrapped: counted again into uint64
                counts = tally_outcomes(chunk, self.known[self.size:])
            if counts[4] <= self.known.size - self.size:
                self.counts += counts[:4]
                self.size += counts[4]
                return
            # More responses than the footer counts (the log says otherwise): grow.
            self.grown = GrowableArray(np.uint64, 1 << 62)
            self.grown.append(self.known[:self.size].astype(np.uint64))
            self.known = None
        room = np.empty(chunk.size, np.uint64)
        counts = tally_outcomes(chunk, room)
        self.counts += counts[:4]
        self.grown.append(room[:counts[4]])
        self.size += counts[4]

    def latencies(self) -> np.ndarray:
        return self.known[:self.size] if self.known is not None else self.grown.view()

    def group(self, percentiles: Sequence[float], duration_s: float) -> Optional[GroupStats]:
        events, issued, completed, failed = (int(v) for v in self.counts)
        if events == 0:
            return None
        values = self.latencies()
        labels = [percentile_label(p) for p in percentiles]
        n = int(values.size)
        if n == 0:
            latency = LatencyStats(0, None, None, {label: None for label in labels}, None)
        else:
            ranks = [nearest_rank_index(n, p) for p in percentiles]
            # In place (the values are ours); the first and last ranks are the min
            # and max, found by the same selection instead of two more passes.
            values.partition(sorted({0, n - 1, *ranks}))
            latency = LatencyStats(
                count=n, min=float(values[0]) / 1e6,
                # As z6.metrics: the exact integer sum of nanoseconds, divided once.
                mean=mean_ms(exact_sum(values), n),
                percentiles={label: float(values[r]) / 1e6 for label, r in zip(labels, ranks)},
                max=float(values[n - 1]) / 1e6,
            )
        return GroupStats(key="overall", label="overall", events=events, requests=issued, completed=completed,
                          failed=failed, rate=issued / duration_s, latency=latency)


def _latency_stats(sorted_ns: np.ndarray, sorted_ms: np.ndarray, labels: Sequence[str], at: dict[str, np.ndarray],
                   start: int, size: int, group: int) -> LatencyStats:
    if size == 0:
        return LatencyStats(0, None, None, {label: None for label in labels}, None)
    values = sorted_ms[start:start + size]
    return LatencyStats(
        count=size,
        min=float(values[0]),
        # As z6.metrics: the exact integer sum of nanoseconds, divided once, so the
        # mean equals the run summary's to the last bit.
        mean=mean_ms(exact_sum(sorted_ns[start:start + size]), size),
        percentiles={label: float(sorted_ms[at[label][group]]) for label in labels},
        max=float(values[-1]),
    )


def _key_function(by: Optional[str], tick_ns: int) -> KeyFunction:
    def request(chunk: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        return chunk["request"], chunk["request"] != _NO_REQUEST

    def status(chunk: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        # An HTTP status is its own key; a failure without one is keyed by its kind
        # and error code above every status (see _label).
        status = chunk["status"].astype(np.int64)
        no_status = (_NO_STATUS_KEY | (chunk["kind"].astype(np.int64) << 16)
                     | chunk["error"].astype(np.int64))
        return np.where(status != 0, status, no_status), outcome_mask(chunk["kind"])

    def vu(chunk: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        return chunk["vu_id"], np.ones(chunk.size, bool)

    def second(chunk: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        ns = chunk["tick"] * np.uint64(tick_ns)
        return (ns // np.uint64(_NS_PER_S)).astype(np.int64), np.ones(chunk.size, bool)

    functions = {"request": request, "status": status, "vu": vu, "second": second}
    if by not in functions:
        raise ValueError(f"by must be one of {', '.join(GROUPINGS)}, got {by!r}")
    return functions[by]


def _label(by: str, key: int, request_names: Sequence[str]) -> tuple[GroupKey, str]:
    if by == "request":
        name = request_names[key] if key < len(request_names) else f"request {key}"
        return name, name
    if by == "status" and key >= _NO_STATUS_KEY:
        label = failure_label((key >> 16) & 0xFFFF, key & 0xFFFF)
        return label, label
    return key, str(key)


def _groups(agg: _Aggregator, by: str, percentiles: Sequence[float], duration_s: float,
            request_names: Sequence[str]) -> list[GroupStats]:
    keys, table = agg.counts.result()
    lat_keys, lat_values = agg.latencies()
    sorted_ms = lat_values / 1e6
    # Each group's latencies are a contiguous, ascending run of sorted_ms.
    starts = np.searchsorted(lat_keys, keys, side="left")
    sizes = np.searchsorted(lat_keys, keys, side="right") - starts
    labels = [percentile_label(p) for p in percentiles]
    nonempty = sizes > 0
    at = {}
    for label, p in zip(labels, percentiles):
        index = np.zeros(keys.size, np.int64)
        index[nonempty] = grouped_nearest_rank(starts[nonempty], sizes[nonempty], p)
        at[label] = index
    out = []
    for g, (key, row) in enumerate(zip(keys.tolist(), table.tolist())):
        events, issued, completed, failed = row
        group_key, label = _label(by, key, request_names)
        if by == "status":
            requests, rate = None, None
        elif by == "second":
            requests, rate = issued, float(issued)
        else:
            requests, rate = issued, issued / duration_s
        out.append(GroupStats(
            key=group_key, label=label, events=events, requests=requests, completed=completed, failed=failed,
            rate=rate, latency=_latency_stats(lat_values, sorted_ms, labels, at, int(starts[g]), int(sizes[g]), g),
        ))
    return out


def analyze_log(
    log: EventLog,
    *,
    percentiles: Sequence[float] = DEFAULT_PERCENTILES,
    where: Optional[Filter] = None,
    by: Optional[str] = None,
) -> Analysis:
    """Stream ``log`` once and compute its figures (see the module docstring)."""
    tick_ns = log.header.tick_ns
    # The footer's count of responses: the reader checked that the counts per kind
    # add up to the records the file holds, so no footer can inflate it.
    overall = _Totals(log.footer.count(EventKind.RESPONSE_RECEIVED) if log.footer is not None else None)
    grouped = _Aggregator(_key_function(by, tick_ns)) if by is not None else None
    first_tick: Optional[int] = None
    last_tick = 0
    for chunk in log.iter_chunks(read_ahead=_READ_AHEAD):
        if count_assertions(chunk):
            chunk = chunk[~_ASSERTION[chunk["kind"]]]
        if chunk.size == 0:
            continue
        # A log's ticks never decrease (its reader checks): a chunk's first and
        # last are its least and greatest.
        ticks = chunk["tick"]
        first_tick = int(ticks[0]) if first_tick is None else min(first_tick, int(ticks[0]))
        last_tick = max(last_tick, int(ticks[-1]))
        if where is not None:
            chunk = chunk[where.mask(chunk)]
        overall.add(chunk)
        if grouped is not None:
            grouped.add(chunk)
    # As z6.metrics: from the first to the last event, at least one tick.
    duration_s = max(last_tick - (first_tick or 0), 1) * tick_ns / 1e9
    names = log.header.request_names
    total = overall.group(percentiles, duration_s)
    if total is None:
        total = GroupStats("overall", "overall", 0, 0, 0, 0, 0.0,
                           LatencyStats(0, None, None, {percentile_label(p): None for p in percentiles}, None))
    groups = _groups(grouped, by, percentiles, duration_s, names) if grouped is not None else []
    return Analysis(
        log=log.describe(),
        filter=where.text if where is not None else None,
        by=by,
        percentiles=tuple(percentiles),
        duration_s=duration_s,
        overall=total,
        groups=tuple(groups),
    )
