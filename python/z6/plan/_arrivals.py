"""Arrival-rate schedules as the rate curve the open-model engine reads.

An `arrival_rate` schedule is one segment at a constant rate; a
`ramping_arrival_rate` schedule is one segment per stage, the rate linear from
the previous stage's target (or `start_rate`) to its own. Segment boundaries are
nanoseconds from the start, each rounded from the start (half up), so the
segments add up to the whole. The instants themselves are computed in the core
(`z6core._arrivals`), from these numbers and the seed alone.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass

import numpy as np

import z6core
from z6.errors import ConfigError

__all__ = ["ArrivalPlan", "arrival_plan", "MAX_ARRIVALS", "expected_arrivals"]

NS_PER_S = 1_000_000_000
# An arrival's index is the u32 `seq` of its iteration_dropped event.
MAX_ARRIVALS = 2**32 - 2


@dataclass(frozen=True, eq=False)
class ArrivalPlan:
    """The rate curve: ``rate0[i]`` to ``rate1[i]`` arrivals per second over
    ``[start_ns[i], start_ns[i + 1])``; ``start_ns[-1]`` is the schedule's end.
    ``pool_vus`` VUs are spawned at the start; the plan's VU table (``max_vus``)
    is what the pool may grow to. A shard of a split run (`shard`) serves the
    arrivals whose index n has ``n % shard_count == shard_index``."""

    kind: int  # z6core.ARRIVALS_CONSTANT or z6core.ARRIVALS_POISSON
    start_ns: np.ndarray
    rate0: np.ndarray
    rate1: np.ndarray
    pool_vus: int
    shard_index: int = 0
    shard_count: int = 1

    def shard(self, index: int, count: int) -> "ArrivalPlan":
        """Shard ``index`` of ``count``: arrival n goes to shard n mod count, and
        the pool is split as the VU table is (every count-th VU from ``index``),
        so the shards' pools add up to this one."""
        if self.shard_count != 1:
            raise ConfigError("an arrival-rate plan that is already a shard cannot be split again")
        pool = len(range(index, self.pool_vus, count))
        if pool < 1:
            raise ConfigError(f"{count} workers need a pool of at least {count} VUs (schedule.vus); "
                              f"the schedule has {self.pool_vus}")
        return dataclasses.replace(self, pool_vus=pool, shard_index=index, shard_count=count)

    @property
    def end_ns(self) -> int:
        return int(self.start_ns[-1])


def expected_arrivals(plan: ArrivalPlan, until_ns: int | None = None) -> float:
    """The integral of the rate from 0 to ``until_ns`` (the end by default): the
    arrivals a constant schedule makes, to within one."""
    until = plan.end_ns if until_ns is None else until_ns
    total = 0.0
    for i in range(plan.rate0.shape[0]):
        a, b = int(plan.start_ns[i]), int(plan.start_ns[i + 1])
        if until <= a:
            break
        span = (b - a) / NS_PER_S
        r0, r1 = float(plan.rate0[i]), float(plan.rate1[i])
        tau = (min(until, b) - a) / NS_PER_S
        total += r0 * tau + (r1 - r0) / span * tau * tau / 2
    return total


def _ns(seconds: float, what: str) -> int:
    if not math.isfinite(seconds) or seconds * NS_PER_S >= z6core.CLOCK_LIMIT_NS:
        raise ConfigError(f"{what}: must be below {z6core.CLOCK_LIMIT_NS / NS_PER_S:.6g} s (the clock's horizon), "
                          f"got {seconds}")
    return math.floor(seconds * NS_PER_S + 0.5)


def arrival_plan(schedule, src: str) -> ArrivalPlan:
    """The `ArrivalPlan` of an `ArrivalRateSchedule` or `RampingArrivalRateSchedule`."""
    if schedule.type == "arrival_rate":
        bounds = [0, _ns(schedule.duration_s, f"{src}: schedule.duration_seconds")]
        rate0 = [schedule.rate]
        rate1 = [schedule.rate]
    else:
        bounds, rate0, rate1 = [0], [], []
        elapsed, previous = 0.0, schedule.start_rate
        for i, stage in enumerate(schedule.stages):
            elapsed += stage.duration_s
            end = _ns(elapsed, f"{src}: schedule.stages[{i}].duration_seconds")
            if end <= bounds[-1]:
                raise ConfigError(f"{src}: schedule.stages[{i}].duration_seconds: must be at least 1 ns, "
                                  f"got {stage.duration_s}")
            bounds.append(end)
            rate0.append(previous)
            rate1.append(stage.target)
            previous = stage.target
    plan = ArrivalPlan(
        kind=z6core.ARRIVALS_POISSON if schedule.arrivals == "poisson" else z6core.ARRIVALS_CONSTANT,
        start_ns=np.array(bounds, dtype=np.uint64),
        rate0=np.array(rate0, dtype=np.float64),
        rate1=np.array(rate1, dtype=np.float64),
        pool_vus=schedule.vus,
    )
    total = expected_arrivals(plan)
    if total > MAX_ARRIVALS * 0.99:
        raise ConfigError(f"{src}: schedule: expects {total:.6g} arrivals, more than one run can number "
                          f"(limit {MAX_ARRIVALS * 0.99:.6g}; split the run)")
    return plan
