"""The shape of a latency distribution: exact counts in log-spaced bins.

Bins run from the smallest to the largest latency with edges spaced evenly on a
log scale (latencies spread over orders of magnitude; equal-width bins would put
nearly everything in the first one). Each bin is ``[edge[i], edge[i + 1])``, the
last one closed; every latency is in exactly one bin.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from z6.metrics._percentile import NS_PER_MS

__all__ = ["Distribution", "latency_distribution", "DISTRIBUTION_BINS"]

DISTRIBUTION_BINS = 40


@dataclass(frozen=True)
class Distribution:
    edges_ms: list[float]   # bins + 1 edges, ascending
    counts: list[int]       # one per bin

    def to_dict(self) -> dict[str, Any]:
        return {"edges_ms": self.edges_ms, "counts": self.counts}


def latency_distribution(values_ns: np.ndarray, bins: int = DISTRIBUTION_BINS) -> Distribution:
    """Count nanosecond latencies into ``bins`` log-spaced bins (see the module docstring)."""
    if values_ns.size == 0:
        return Distribution([], [])
    low, high = int(values_ns.min()), int(values_ns.max())
    if low == high:
        return Distribution([low / NS_PER_MS, high / NS_PER_MS], [int(values_ns.size)])
    edges_ns = np.geomspace(max(low, 1), high, bins + 1)
    edges_ns[0], edges_ns[-1] = low, high   # exact ends, whatever geomspace rounded
    counts, _ = np.histogram(values_ns.astype(np.float64), bins=edges_ns)
    return Distribution((edges_ns / NS_PER_MS).tolist(), counts.astype(np.int64).tolist())
