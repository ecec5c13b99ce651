"""Large arrays whose memory is touched once, in order: on the kernel's ordinary pages.

numpy asks the kernel for transparent huge pages (``madvise(MADV_HUGEPAGE)``) on
every array of 4 MiB or more. Where the kernel then compacts memory to find each
2 MiB page at its first touch (``defrag`` set to ``madvise``, as on the virtual
machines docs/performance.md was measured on), an array filled once from start to
end pays for that in system time: `z6 analyze` of a 500 MB log spent 0.9-1.8 s of
it with its one array of latencies on huge pages, 0.6-0.65 s with 4 KiB pages. An
anonymous mapping of our own gets no such advice: its pages are the kernel's
default, each zeroed as it is first written, and never resident if never written.
"""

from __future__ import annotations

import mmap
from typing import Any

import numpy as np

__all__ = ["ordinary_pages_array"]


def ordinary_pages_array(n: int, dtype: Any) -> np.ndarray:
    """A writable, uninitialised array of ``n`` values of ``dtype`` on an anonymous
    mapping of ordinary pages (freed with the array)."""
    if n < 0:
        raise ValueError(f"an array of {n} values")
    dtype = np.dtype(dtype)
    if n * dtype.itemsize == 0:
        return np.empty(n, dtype)
    return np.frombuffer(mmap.mmap(-1, n * dtype.itemsize), dtype=dtype, count=n)
