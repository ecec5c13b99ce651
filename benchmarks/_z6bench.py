"""Shared helpers for the z6 benchmarks (imported by the suites and by scale.py).

Nothing here asserts on speed: the benchmarks report figures, they never pass or
fail on them.
"""

from __future__ import annotations

import sys
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent
REPO = BENCH_DIR.parent
SCENARIOS = BENCH_DIR / "scenarios"

# Records per chunk: the runner's default (65,536 x 32 bytes = 2 MiB), one
# buffer reused for the whole run.
CHUNK_RECORDS = 65_536

# The original Zig engine (ReleaseFast) on this class of machine: 10,000 VUs x
# 10,000 ticks, think 10 ticks, 2-tick requests, events counted, not stored.
ORIGINAL_WALL_S = 0.19


def ensure_importable() -> None:
    """Make `z6` / `z6core` importable from the source tree when PYTHONPATH is unset."""
    try:
        import z6  # noqa: F401
        import z6core  # noqa: F401
    except ImportError:
        for sub in ("python", "src"):
            path = str(REPO / sub)
            if path not in sys.path:
                sys.path.insert(0, path)


def drain(engine, buf, consumers=()) -> int:
    """Run `engine` to the end into the reused chunk `buf`; hand each chunk to `consumers`.

    Returns the number of events written.
    """
    total = 0
    fill = engine.fill
    while not engine.finished:
        n = fill(buf)
        if n:
            total += n
            if consumers:
                view = buf if n == len(buf) else buf[:n]
                for consume in consumers:
                    consume(view)
    return total


def rate(count: float, seconds: float) -> float:
    return count / seconds if seconds > 0 else float("nan")
