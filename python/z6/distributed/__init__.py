"""Scale-out: one run's VUs split over local processes or a Dask cluster, with
the same events as one process.

Shard k of N runs every N-th VU (`split_plan`) with an ordinary z6core engine
from the same compiled plan and seed; the coordinator merges the shards' events
by (tick, vu_id) while the run goes on and hands them to the same consumers a
one-process run feeds (`run_distributed`). See docs/distributed.md.
"""

from z6.distributed._coordinator import CONNECT_TIMEOUT_S, SILENCE_TIMEOUT_S, run_distributed
from z6.distributed._executors import Backend, DaskCluster, LocalProcesses
from z6.distributed._merge import iter_split_chunks, merge_sorted
from z6.distributed._scale_out import ScaleOut, ShardReport
from z6.distributed._worker import ShardTask, run_shard
from z6.distributed._split import ShardRange, split_plan

__all__ = [
    "run_distributed",
    "split_plan",
    "merge_sorted",
    "iter_split_chunks",
    "ShardRange",
    "ShardReport",
    "ScaleOut",
    "Backend",
    "LocalProcesses",
    "DaskCluster",
    "ShardTask",
    "run_shard",
    "CONNECT_TIMEOUT_S",
    "SILENCE_TIMEOUT_S",
]
