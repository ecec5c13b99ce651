"""A bounded queue of event chunks between a run's thread and one reader.

The run's thread never waits on it: `offer` puts the chunk in when there is room
and otherwise drops it and counts it as missed. The reader (`RunHandle.chunks`)
takes chunks in order and learns, at the end, how many it missed; the run's
result and summary say so too. A chunk is the engine's own array, handed over
without a copy (the runner fills an array again only once nothing refers to it), read-only.
"""

from __future__ import annotations

import threading
from collections import deque
from typing import Iterator, Optional

import numpy as np

__all__ = ["ChunkQueue"]


class ChunkQueue:
    def __init__(self, capacity: int) -> None:
        self.capacity = capacity
        self._chunks: deque[np.ndarray] = deque()
        self._ready = threading.Condition()
        self._closed = False
        self.offered = 0
        self.missed = 0

    def offer(self, chunk: np.ndarray) -> None:
        """The run's side: enqueue or, when full, drop and count (never blocks)."""
        with self._ready:
            self.offered += 1
            if len(self._chunks) >= self.capacity:
                self.missed += 1
                return
            self._chunks.append(chunk)
            self._ready.notify()

    def close(self) -> None:
        """The run ended: the reader gets what is queued, then the end."""
        with self._ready:
            self._closed = True
            self._ready.notify_all()

    def get(self, timeout: Optional[float] = None) -> Optional[np.ndarray]:
        """The next chunk; None at the end (or when ``timeout`` passes first)."""
        with self._ready:
            if not self._ready.wait_for(lambda: self._chunks or self._closed, timeout):
                return None
            return self._chunks.popleft() if self._chunks else None

    def __iter__(self) -> Iterator[np.ndarray]:
        while True:
            chunk = self.get()
            if chunk is None:
                return
            yield chunk
