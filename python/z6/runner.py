"""Drive an engine over a plan and hand its event chunks to consumers.

The runner's memory is bounded: each chunk is a fresh fixed-size array that
consumers may keep or drop, and the engine never holds more than one chunk. What a
consumer keeps is its own affair (the summary keeps every latency, 10 bytes a
response).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Callable, Iterator, Sequence

import numpy as np

from z6core import EVENT_DTYPE, Engine
from z6.plan import Plan

__all__ = ["DEFAULT_CHUNK_RECORDS", "iter_chunks", "run_plan", "RunStats"]

# 65,536 records = 2 MiB a chunk: large enough that Python's per-chunk cost
# vanishes, small enough to stay in cache-friendly territory.
DEFAULT_CHUNK_RECORDS = 65_536


@dataclass(frozen=True)
class RunStats:
    events: int
    requests_issued: int
    final_tick: int
    wall_s: float


def _drain(engine: Engine, chunk_records: int) -> Iterator[np.ndarray]:
    while not engine.finished:
        chunk = np.empty(chunk_records, dtype=EVENT_DTYPE)
        n = engine.fill(chunk)
        if n:
            yield chunk if n == chunk_records else chunk[:n]


def iter_chunks(plan: Plan, chunk_records: int = DEFAULT_CHUNK_RECORDS) -> Iterator[np.ndarray]:
    """Yield the run's events as arrays of ``chunk_records`` (the last may be shorter)."""
    return _drain(Engine(plan), chunk_records)


def run_plan(
    plan: Plan,
    consumers: Sequence[Callable[[np.ndarray], None]],
    chunk_records: int = DEFAULT_CHUNK_RECORDS,
) -> RunStats:
    """Run ``plan`` to the end, calling every consumer with every chunk, in order."""
    engine = Engine(plan)
    started = time.perf_counter()
    for chunk in _drain(engine, chunk_records):
        for consume in consumers:
            consume(chunk)
    return RunStats(
        events=int(engine.events_emitted),
        requests_issued=int(engine.requests_issued),
        final_tick=int(engine.tick),
        wall_s=time.perf_counter() - started,
    )
