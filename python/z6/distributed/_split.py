"""How a run's VUs are split into shards.

Shard k of N runs the VUs at plan indices ``range(k, n_vus, N)``: every N-th VU.
Contiguous blocks would not keep a schedule's shape on each worker (in a ramp
the first block's VUs spawn first, so one worker would carry the whole start of
the ramp); striding does, to within one VU at every instant, for every schedule
type. Each VU owns its PRNG stream, so which shard runs it changes nothing in
its events.
"""

from __future__ import annotations

from dataclasses import dataclass

from z6.errors import ConfigError
from z6.plan import Plan

__all__ = ["ShardRange", "split_plan"]


@dataclass(frozen=True)
class ShardRange:
    """One shard's place in the run: its number and its 1-based VU ids."""

    index: int  # 0-based
    shards: int  # how many shards the run has
    vu_ids: range

    @property
    def n_vus(self) -> int:
        return len(self.vu_ids)

    def describe(self) -> str:
        """The VU ids in words, e.g. ``VUs 2, 4, ..., 100 (ids 2-100 in steps of 2, 50 VUs)``."""
        ids = self.vu_ids
        if len(ids) == 1:
            return f"VU {ids[0]}"
        if ids.step == 1:
            return f"VUs {ids[0]}-{ids[-1]} ({len(ids)} VUs)"
        listed = f"{ids[0]}, {ids[1]}" + (f", ..., {ids[-1]}" if len(ids) > 2 else "")
        return f"VUs {listed} (ids {ids[0]}-{ids[-1]} in steps of {ids.step}, {len(ids)} VUs)"

    def label(self) -> str:
        return f"shard {self.index + 1} of {self.shards}"

    def to_dict(self) -> dict[str, int]:
        ids = self.vu_ids
        return {"first": ids[0], "last": ids[-1], "step": ids.step, "count": len(ids)}


def split_plan(plan: Plan, shards: int) -> list[tuple[ShardRange, Plan]]:
    """``shards`` strided sub-plans of ``plan`` (shard k holds every ``shards``-th VU from index k)."""
    if shards < 1:
        raise ConfigError(f"the number of workers must be at least 1, got {shards}")
    if shards > plan.n_vus:
        raise ConfigError(f"{shards} workers need at least {shards} VUs; the run has {plan.n_vus}")
    out = []
    for k in range(shards):
        part = plan.shard(k, plan.n_vus, shards)
        out.append((ShardRange(k, shards, part.vu_ids), part))
    return out
