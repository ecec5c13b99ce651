"""Schedules as VU activations: which VU ids run, from which tick to which tick.

A schedule is a curve of target VU counts over time. The engine wants something
flatter: one entry per VU id with the tick it spawns and the tick its schedule ends.
VU ids are handed out in spawn order and VUs retire last-in-first-out (as k6 and
Locust stop the newest users first), so:

* spawn ticks never decrease with the id, which the engine relies on to merge new
  VUs into a tick without sorting them;
* a VU that retires is never reused: if the curve rises again, new ids start.

Every function returns ``(spawn_tick, stop_tick)`` as uint64 arrays indexed by
``vu_id - 1``; ``stop_tick`` is the first tick at which the VU may no longer issue.
"""

from __future__ import annotations

import numpy as np

__all__ = ["constant_activations", "ramp_activations", "stepped_activations"]

Activations = tuple[np.ndarray, np.ndarray]


def constant_activations(vus: int, end_tick: int) -> Activations:
    """``vus`` VUs from tick 0 to ``end_tick``."""
    return np.zeros(vus, dtype=np.uint64), np.full(vus, end_tick, dtype=np.uint64)


def ramp_activations(start_vus: int, end_vus: int, ramp_ticks: int, hold_ticks: int) -> Activations:
    """A linear ramp from ``start_vus`` to ``end_vus`` over ``ramp_ticks``, then a hold.

    The target at tick t is ``start + floor((end - start) * t / ramp)`` going up and
    ``start - floor((start - end) * t / ramp)`` going down, so the j-th VU added (or
    retired) changes state at ``ceil(j * ramp / |end - start|)``, exact in integers.
    """
    end_tick = ramp_ticks + hold_ticks
    top = max(start_vus, end_vus)
    spawn = np.zeros(top, dtype=np.uint64)
    stop = np.full(top, end_tick, dtype=np.uint64)
    delta = abs(end_vus - start_vus)
    if delta:
        j = np.arange(1, delta + 1, dtype=np.uint64)
        change = (j * np.uint64(ramp_ticks) + np.uint64(delta - 1)) // np.uint64(delta)
        if end_vus > start_vus:
            spawn[start_vus:] = change
        else:
            # The newest VU (highest id) retires first.
            stop[start_vus - delta:] = change[::-1]
    keep = stop > spawn
    return spawn[keep], stop[keep]


def stepped_activations(levels: list[tuple[int, int]], end_tick: int) -> Activations:
    """A piecewise-constant curve: ``levels`` is ``[(tick, vus), ...]`` by tick.

    Each level holds from its tick to the next one's; the curve ends at ``end_tick``.
    Rises add new ids; falls retire the most recently added VUs first.
    """
    total = 0
    current = 0
    for _, vus in levels:
        if vus > current:
            total += vus - current
        current = vus
    spawn = np.zeros(total, dtype=np.uint64)
    stop = np.full(total, end_tick, dtype=np.uint64)
    running: list[list[int]] = []  # stack of [first_id, count] blocks, newest last
    next_id = 0
    current = 0
    for tick, vus in levels:
        if vus > current:
            added = vus - current
            spawn[next_id:next_id + added] = tick
            running.append([next_id, added])
            next_id += added
        else:
            retire = current - vus
            while retire:
                block = running[-1]
                k = min(block[1], retire)
                stop[block[0] + block[1] - k:block[0] + block[1]] = tick
                block[1] -= k
                retire -= k
                if block[1] == 0:
                    running.pop()
        current = vus
    keep = stop > spawn
    return spawn[keep], stop[keep]
