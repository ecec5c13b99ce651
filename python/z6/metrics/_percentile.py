"""Exact nearest-rank percentiles and the latency statistics built on them.

The p-th percentile of n values is the smallest value with at least p% of the
values at or below it: ``sorted[ceil(p/100 * n) - 1]`` (the nearest-rank method,
numpy's ``method="inverted_cdf"``). It is always a value that was measured, never
an interpolation or a bucket edge. The rank is computed exactly from the
percentile's decimal value: in floating point ``99.9 / 100 * 1000`` is
``999.0000000000001``, whose ceiling would be one rank too high (numpy's
``inverted_cdf`` makes that slip; z6 does not).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from fractions import Fraction
from typing import TYPE_CHECKING, Any, Optional

import numpy as np

if TYPE_CHECKING:
    from z6core import HdrHistogram

__all__ = ["PERCENTILES", "LatencyStats", "nearest_rank", "nearest_rank_index", "grouped_nearest_rank"]

# (label, percentile) reported for every latency distribution.
PERCENTILES: tuple[tuple[str, float], ...] = (
    ("p50", 50.0), ("p90", 90.0), ("p95", 95.0), ("p99", 99.0), ("p99.9", 99.9),
)

NS_PER_MS = 1e6


def nearest_rank_index(n: int, percentile: float) -> int:
    """0-based index of the p-th percentile in an ascending array of ``n`` values."""
    rank = math.ceil(Fraction(str(percentile)) * n / 100)
    return min(max(rank, 1), n) - 1


def nearest_rank(sorted_values: np.ndarray, percentile: float) -> float:
    """Nearest-rank percentile of an ascending array (see the module docstring)."""
    return float(sorted_values[nearest_rank_index(int(sorted_values.shape[0]), percentile)])


def grouped_nearest_rank(starts: np.ndarray, sizes: np.ndarray, percentile: float) -> np.ndarray:
    """Index of the p-th percentile of each group of an array sorted within groups.

    Group ``g`` occupies ``[starts[g], starts[g] + sizes[g])``; every size is >= 1.
    The rank is ``ceil(a * n / (100 * b))`` for ``p = a / b`` in integers, so it is
    exact for every group at once.
    """
    exact = Fraction(str(percentile))
    a, b = exact.numerator, exact.denominator * 100
    sizes = sizes.astype(np.int64)
    rank = (a * sizes + b - 1) // b
    return starts.astype(np.int64) + np.clip(rank, 1, sizes) - 1


@dataclass(frozen=True)
class LatencyStats:
    """A distribution of durations in milliseconds; None figures when it is empty."""

    count: int
    min: Optional[float]
    mean: Optional[float]
    percentiles: dict[str, Optional[float]]
    max: Optional[float]

    @classmethod
    def empty(cls) -> "LatencyStats":
        return cls(0, None, None, {label: None for label, _ in PERCENTILES}, None)

    @classmethod
    def from_ns(cls, values_ns: np.ndarray) -> "LatencyStats":
        """Exact statistics of nanosecond values (any order)."""
        if values_ns.size == 0:
            return cls.empty()
        ms = np.sort(values_ns) / NS_PER_MS
        return cls(
            count=int(ms.size),
            min=float(ms[0]),
            mean=float(ms.mean()),
            percentiles={label: nearest_rank(ms, p) for label, p in PERCENTILES},
            max=float(ms[-1]),
        )

    @classmethod
    def from_sorted_with_zeros(cls, zeros: int, sorted_nonzero_ns: np.ndarray) -> "LatencyStats":
        """Exact statistics of ``zeros`` zero values plus ascending non-zero values.

        Schedule lag is 0 for most requests (always in a simulated run); counting the
        zeros instead of storing them keeps the memory to the late requests.
        """
        n = zeros + int(sorted_nonzero_ns.size)
        if n == 0:
            return cls.empty()

        def at(index: int) -> float:
            return 0.0 if index < zeros else float(sorted_nonzero_ns[index - zeros]) / NS_PER_MS

        total_ns = int(sorted_nonzero_ns.sum(dtype=np.uint64)) if sorted_nonzero_ns.size else 0
        return cls(
            count=n,
            min=at(0),
            mean=total_ns / n / NS_PER_MS,
            percentiles={label: at(nearest_rank_index(n, p)) for label, p in PERCENTILES},
            max=at(n - 1),
        )

    @classmethod
    def from_histogram(cls, histogram: "HdrHistogram") -> "LatencyStats":
        """Statistics from a core HDR histogram (bounded memory, for very long runs).

        min, max and mean are exact; each percentile is the top of the bucket that
        holds the nearest-rank value, above the exact one by less than 1/1,024 of it.
        """
        if histogram.total_count == 0:
            return cls.empty()
        values = histogram.values_at_percentiles([p for _, p in PERCENTILES])
        return cls(
            count=int(histogram.total_count),
            min=histogram.min / NS_PER_MS,
            mean=histogram.mean / NS_PER_MS,
            percentiles={label: v / NS_PER_MS for (label, _), v in zip(PERCENTILES, values)},
            max=histogram.max / NS_PER_MS,
        )

    def to_dict(self) -> dict[str, Any]:
        return {"count": self.count, "min": self.min, "mean": self.mean, **self.percentiles, "max": self.max}
