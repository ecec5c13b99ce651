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

__all__ = ["PERCENTILES", "LatencyStats", "nearest_rank", "nearest_rank_index", "grouped_nearest_rank", "exact_sum",
           "mean_ms"]

# (label, percentile) reported for every latency distribution.
PERCENTILES: tuple[tuple[str, float], ...] = (
    ("p50", 50.0), ("p90", 90.0), ("p95", 95.0), ("p99", 99.0), ("p99.9", 99.9),
)

NS_PER_MS = 1e6
_NS_PER_MS_INT = 1_000_000
_SUM_BLOCK = 1 << 20


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


def exact_sum(values_ns: np.ndarray) -> int:
    """The exact sum of unsigned values (64 bits or fewer), whatever their count or size.

    A uint64 sum overflows silently; summing the high and low 32-bit halves of
    blocks of at most 2**20 values each cannot (2**20 * 2**32 < 2**64), and the
    blocks bound the temporaries to 8 MiB.
    """
    if values_ns.dtype.kind == "u" and values_ns.dtype.itemsize <= 4 and values_ns.shape[0] < 1 << 32:
        # Fewer than 2**32 values each below 2**32: their uint64 sum cannot wrap.
        return int(values_ns.sum(dtype=np.uint64))
    total = 0
    for start in range(0, int(values_ns.shape[0]), _SUM_BLOCK):
        block = values_ns[start:start + _SUM_BLOCK]
        total += (int((block >> np.uint64(32)).sum(dtype=np.uint64)) << 32) + int(
            (block & np.uint64(0xFFFF_FFFF)).sum(dtype=np.uint64))
    return total


def mean_ms(sum_ns: int, count: int) -> float:
    """The mean of ``count`` values summing to ``sum_ns`` nanoseconds, in ms, rounded once."""
    return float(Fraction(sum_ns, count * _NS_PER_MS_INT))


@dataclass(frozen=True)
class LatencyStats:
    """A distribution of durations in milliseconds; None figures when it is empty.

    ``min``, ``max`` and the percentiles are measured nanosecond values divided by
    10**6; ``mean`` is the exact mean of the nanosecond values, rounded once to a
    float of milliseconds. Both the exact and the histogram path produce them so,
    which keeps ``count``, ``min``, ``mean`` and ``max`` identical between the two.
    """

    count: int
    min: Optional[float]
    mean: Optional[float]
    percentiles: dict[str, Optional[float]]
    max: Optional[float]

    @classmethod
    def empty(cls) -> "LatencyStats":
        return cls(0, None, None, {label: None for label, _ in PERCENTILES}, None)

    @classmethod
    def _of_ns(cls, count: int, min_ns: int, max_ns: int, sum_ns: int, percentiles_ns: list[int]) -> "LatencyStats":
        return cls(
            count=count,
            min=min_ns / NS_PER_MS,
            mean=mean_ms(sum_ns, count),
            percentiles={label: v / NS_PER_MS for (label, _), v in zip(PERCENTILES, percentiles_ns)},
            max=max_ns / NS_PER_MS,
        )

    @classmethod
    def from_ns(cls, values_ns: np.ndarray, *, in_place: bool = False) -> "LatencyStats":
        """Exact statistics of nanosecond values (any order).

        The percentiles' ranks are found by one partition, not a full sort. With
        ``in_place`` the partition reorders ``values_ns`` itself instead of a copy
        (for callers that own the array and want no second one).
        """
        n = int(values_ns.size)
        if n == 0:
            return cls.empty()
        values = values_ns if in_place else values_ns.copy()
        ranks = [nearest_rank_index(n, p) for _, p in PERCENTILES]
        values.partition(sorted(set(ranks)))
        return cls._of_ns(n, int(values.min()), int(values.max()), exact_sum(values),
                          [int(values[r]) for r in ranks])

    @classmethod
    def from_sorted_with_zeros(cls, zeros: int, sorted_nonzero_ns: np.ndarray) -> "LatencyStats":
        """Exact statistics of ``zeros`` zero values plus ascending non-zero values.

        Schedule lag is 0 for most requests (always in a simulated run); counting the
        zeros instead of storing them keeps the memory to the late requests.
        """
        n = zeros + int(sorted_nonzero_ns.size)
        if n == 0:
            return cls.empty()

        def at(index: int) -> int:
            return 0 if index < zeros else int(sorted_nonzero_ns[index - zeros])

        return cls._of_ns(n, at(0), at(n - 1), exact_sum(sorted_nonzero_ns),
                          [at(nearest_rank_index(n, p)) for _, p in PERCENTILES])

    @classmethod
    def from_histogram(cls, histogram: "HdrHistogram") -> "LatencyStats":
        """Statistics from a core HDR histogram (bounded memory, for very long runs).

        count, min, max and mean are exact (the histogram keeps them beside its
        counts). Each percentile is the top of the bucket that holds the
        nearest-rank value, capped at the exact maximum: never below the exact
        percentile, and above it by less than 1/1,024 of it.
        """
        n = int(histogram.total_count)
        if n == 0:
            return cls.empty()
        top = int(histogram.max)
        values = histogram.values_at_percentiles([p for _, p in PERCENTILES])
        return cls._of_ns(n, int(histogram.min), top, int(histogram.sum), [min(int(v), top) for v in values])

    def to_dict(self) -> dict[str, Any]:
        return {"count": self.count, "min": self.min, "mean": self.mean, **self.percentiles, "max": self.max}
