"""Merging the shards' event streams into the one ordered by (tick, vu_id, seq).

Each shard's stream is already ordered by (tick, vu_id), each VU's events in
the order they happened, and no VU belongs to two shards. So the merged stream
is those streams combined by a stable sort on (tick, vu_id). A shard's
watermark says every event with a smaller tick has arrived; events below the
lowest watermark of all shards are final and leave the merger, in chunks of a
fixed size (so a merged event log is framed exactly like a one-process log).
"""

from __future__ import annotations

from typing import Callable, Iterator, Sequence

import numpy as np

from z6.distributed._protocol import FINISHED
from z6.events import EVENT_DTYPE
from z6.plan import Plan
from z6.runner import iter_chunks

__all__ = ["ShardMerger", "Rechunker", "merge_sorted", "iter_split_chunks"]

_U32 = 2**32


def _words(events: np.ndarray) -> np.ndarray:
    # The records as rows of four 64-bit words: gathers and copies of plain
    # integers run several times faster than of a structured dtype.
    return events.view(np.uint64).reshape(-1, 4)


def merge_sorted(parts: Sequence[np.ndarray]) -> np.ndarray:
    """Stable merge of (tick, vu_id)-ordered event arrays into one ordered array."""
    parts = [p for p in parts if p.size] or list(parts[:1])
    if len(parts) == 1:
        return parts[0]
    events = np.concatenate(parts)
    tick = events["tick"]
    if int(tick[-1]) < _U32 and int(tick.max()) < _U32:
        # One 64-bit key sorts in one pass; timsort finds the sorted runs.
        key = tick << np.uint64(32)
        key |= events["vu_id"]
        order = np.argsort(key, kind="stable")
    else:
        order = np.lexsort((events["vu_id"], tick))
    return _words(events).take(order, axis=0).view(events.dtype).reshape(-1)


class ShardMerger:
    """Buffers each shard's events until every shard has passed their tick."""

    def __init__(self, shards: int, dtype: np.dtype) -> None:
        self._dtype = dtype
        self._buffers: list[list[np.ndarray]] = [[] for _ in range(shards)]
        self.buffered = [0] * shards  # records held per shard
        self.watermark = [0] * shards

    def add(self, shard: int, records: np.ndarray, watermark: int) -> None:
        if records.size:
            self._buffers[shard].append(records)
            self.buffered[shard] += records.size
        if watermark > self.watermark[shard]:
            self.watermark[shard] = watermark

    def close(self, shard: int) -> None:
        """Nothing more will come from ``shard`` (it finished, or was lost)."""
        self.watermark[shard] = FINISHED

    @property
    def low(self) -> int:
        return min(self.watermark)

    @property
    def held(self) -> int:
        return sum(self.buffered)

    def take_ready(self) -> np.ndarray:
        """Every buffered event with a tick below the lowest watermark, merged."""
        low = self.low
        ready = []
        for k, buffer in enumerate(self._buffers):
            if not buffer:
                continue
            if low == FINISHED:
                ready.extend(buffer)
                self._buffers[k] = []
                self.buffered[k] = 0
                continue
            keep: list[np.ndarray] = []
            for i, records in enumerate(buffer):
                cut = int(np.searchsorted(records["tick"], low, side="left"))
                if cut == records.size:
                    ready.append(records)
                    continue
                if cut:
                    ready.append(records[:cut])
                keep = [records[cut:], *buffer[i + 1:]]
                break
            self._buffers[k] = keep
            self.buffered[k] = sum(r.size for r in keep)
        if not ready:
            return np.empty(0, dtype=self._dtype)
        return merge_sorted(ready)


class Rechunker:
    """Hands merged events to consumers in chunks of exactly ``size`` records
    (the last one shorter), as one engine process would have."""

    def __init__(self, consumers: Sequence[Callable[[np.ndarray], None]], size: int, dtype: np.dtype) -> None:
        self._consumers = consumers
        self._size = size
        self._pending = np.empty(size, dtype=dtype)
        self._n = 0
        self.delivered = 0

    def __call__(self, events: np.ndarray) -> None:
        i = 0
        while i < events.size:
            take = min(self._size - self._n, events.size - i)
            _words(self._pending)[self._n:self._n + take] = _words(events[i:i + take])
            self._n += take
            i += take
            if self._n == self._size:
                self._emit()

    def flush(self) -> None:
        if self._n:
            self._emit()

    def _emit(self) -> None:
        # Consumers may keep the chunk: it is handed over, not reused, and read-only
        # as the runner's are (the log's writer keeps it without a copy).
        self._pending.flags.writeable = False
        chunk = self._pending[:self._n]
        self._pending = np.empty(self._size, dtype=chunk.dtype)
        self._n = 0
        self.delivered += chunk.size
        for consume in self._consumers:
            consume(chunk)


def iter_split_chunks(parts: Sequence[Plan], chunk_records: int) -> Iterator[np.ndarray]:
    """The merged events of ``parts`` (the shards of one plan, `split_plan`) run
    one after another in this process, in chunks of ``chunk_records``: what a
    split run's coordinator hands its consumers, without processes. `z6 replay
    --verify` re-runs a split arrival-rate run this way (its events depend on the
    split: docs/architecture.md, "Scale-out")."""
    merger = ShardMerger(len(parts), np.dtype(EVENT_DTYPE))
    out: list[np.ndarray] = []
    rechunk = Rechunker([out.append], chunk_records, np.dtype(EVENT_DTYPE))
    streams = [iter_chunks(part, chunk_records) for part in parts]
    live = list(range(len(parts)))
    while live:
        for k in list(live):
            chunk = next(streams[k], None)
            if chunk is None:
                merger.close(k)
                live.remove(k)
            elif chunk.size:
                # Every event of this shard below its last tick has arrived.
                merger.add(k, chunk, int(chunk["tick"][-1]))
        rechunk(merger.take_ready())
        yield from out
        out.clear()
    rechunk(merger.take_ready())
    rechunk.flush()
    yield from out
