"""What a distributed run reports about its shards: where each ran, its clock
offset, what it sent, and whether it was lost."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Optional

from z6.distributed._split import ShardRange

__all__ = ["ShardReport", "ScaleOut"]


@dataclass(frozen=True)
class ShardReport:
    shard: ShardRange
    worker: str  # the Dask worker's address, or host:pid of a local process
    host: str
    pid: int
    # worker clock minus the reference clock (the Dask scheduler's), as Dask
    # measured it; 0 for local processes, which share the coordinator's clock
    clock_offset_ms: float
    # how late the shard began after the start instant (live runs), by its own clock
    start_late_ms: Optional[float]
    events: int  # events received from this shard
    requests_issued: int
    status: str  # "completed", "interrupted" or "lost"
    detail: str = ""  # why it was lost

    def to_dict(self) -> dict[str, Any]:
        return {
            "shard": self.shard.index + 1,
            "vus": self.shard.to_dict(),
            "worker": self.worker,
            "host": self.host,
            "pid": self.pid,
            "clock_offset_ms": self.clock_offset_ms,
            "start_late_ms": self.start_late_ms,
            "events": self.events,
            "requests_issued": self.requests_issued,
            "status": self.status,
            "detail": self.detail,
        }


@dataclass(frozen=True)
class ScaleOut:
    """How a run was split: the backend ("processes" or "dask") and each shard."""

    backend: str
    address: str  # the Dask scheduler's address; "" for local processes
    shards: tuple[ShardReport, ...]
    # the most events the coordinator held back at once, waiting for the other
    # shards to pass their tick (bounded: see z6.distributed._coordinator)
    merge_peak_events: int = 0

    @property
    def lost(self) -> tuple[ShardReport, ...]:
        return tuple(s for s in self.shards if s.status == "lost")

    def lost_message(self) -> str:
        """One line per lost shard, naming its VUs, for the terminal and errors."""
        return "\n".join(
            f"worker lost: {s.shard.label()} on {s.worker}, {s.shard.describe()}: {s.detail}; "
            f"its events after the loss are missing, so the run is incomplete"
            for s in self.lost
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "backend": self.backend,
            "address": self.address or None,
            "workers": len(self.shards),
            "shards": [s.to_dict() for s in self.shards],
            "lost": [s.shard.index + 1 for s in self.lost],
            "merge_peak_events": self.merge_peak_events,
        }
