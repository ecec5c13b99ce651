"""The shape of a latency distribution: exact counts in log-spaced bins.

Bins run from the smallest to the largest latency with edges spaced evenly on a
log scale (latencies spread over orders of magnitude; equal-width bins would put
nearly everything in the first one). Each bin is ``[edge[i], edge[i + 1])``, the
last one closed; every latency is in exactly one bin.

Past the exact limit (`z6.metrics.SummaryBuilder`) the latencies are counts in
an HDR histogram: the edges are the same (they depend only on the exact minimum
and maximum), and each histogram bucket's count goes to the bin that holds the
bucket's middle value. A bucket is under 1/1,024 of its value wide, so only
responses within that distance of a bin edge can land in the neighbouring bin.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Context, Decimal, localcontext
from typing import TYPE_CHECKING, Any

import numpy as np

from z6.metrics._percentile import NS_PER_MS

if TYPE_CHECKING:
    from z6core import HdrHistogram

__all__ = ["Distribution", "latency_distribution", "histogram_distribution", "bucket_bounds", "DISTRIBUTION_BINS"]

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
    edges_ns = _edges_ns(low, high, bins)
    counts, _ = np.histogram(values_ns.astype(np.float64), bins=edges_ns)
    return Distribution((edges_ns / NS_PER_MS).tolist(), counts.astype(np.int64).tolist())


def histogram_distribution(histogram: "HdrHistogram", bins: int = DISTRIBUTION_BINS) -> Distribution:
    """`latency_distribution` of the values counted in an HDR histogram (module docstring)."""
    total = int(histogram.total_count)
    if total == 0:
        return Distribution([], [])
    low, high = int(histogram.min), int(histogram.max)
    if low == high:
        return Distribution([low / NS_PER_MS, high / NS_PER_MS], [total])
    counts = histogram.counts
    index = np.flatnonzero(counts)
    lowest, highest = bucket_bounds(histogram, index)
    middle = np.clip(lowest + (highest - lowest) // np.uint64(2), low, high)
    edges_ns = _edges_ns(low, high, bins)
    binned, _ = np.histogram(middle.astype(np.float64), bins=edges_ns, weights=counts[index].astype(np.float64))
    # Float weights sum exactly: every partial sum is an integer below 2**53.
    return Distribution((edges_ns / NS_PER_MS).tolist(), binned.astype(np.int64).tolist())


def bucket_bounds(histogram: "HdrHistogram", index: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The lowest and highest value of each counts index of an HDR histogram.

    HdrHistogram's layout (z6core._hdr): index ``i`` is in power-of-two bucket
    ``(i >> half_magnitude) - 1`` (the first two halves both in bucket 0), at
    sub-bucket ``(i & (half_count - 1)) + half_count``; its values start at
    ``sub << bucket`` and span ``1 << bucket``.
    """
    half_count = int(histogram.sub_bucket_count) // 2
    half_magnitude = half_count.bit_length() - 1
    index = index.astype(np.int64)
    bucket = (index >> half_magnitude) - 1
    sub = (index & (half_count - 1)) + half_count
    first = bucket < 0
    sub[first] -= half_count
    bucket[first] = 0
    lowest = sub.astype(np.uint64) << bucket.astype(np.uint64)
    highest = lowest + (np.uint64(1) << bucket.astype(np.uint64)) - np.uint64(1)
    return lowest, highest


# 40 significant digits: each edge is then its float's nearest, whatever the
# last digits of the decimal computation.
_EDGE_CONTEXT = Context(prec=40)


def _edges_ns(low: int, high: int, bins: int) -> np.ndarray:
    # low * (high / low) ** (i / bins), in decimal arithmetic: software, the same
    # on every machine. numpy's log and power take SIMD paths chosen by the CPU
    # (AVX-512 or not), whose last bits differ: the same run's summary differed
    # in an edge's 17th digit from one machine to another.
    with localcontext(_EDGE_CONTEXT):
        start = Decimal(max(low, 1))
        step = (Decimal(high) / start).ln() / bins
        edges_ns = np.array([float(start * (step * i).exp()) for i in range(bins + 1)])
    edges_ns[0], edges_ns[-1] = low, high   # exact ends
    return edges_ns
