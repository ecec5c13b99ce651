"""Type stubs for z6core._columns (the event log's format-2 column layout, in C)."""

from typing import Any, Final, Iterable, Literal, Optional

import numpy as np
import numpy.typing as npt

__all__ = ["COLUMN_NAMES", "encode_columns", "decode_columns", "records_sound", "add_kind_counts",
           "add_encoded_kind_counts"]

# The record's fields in column order: tick, value_ns, vu_id, kind, request, status, error, seq.
COLUMN_NAMES: Final[tuple[str, ...]]

def encode_columns(records: npt.NDArray[Any], out: Optional[npt.NDArray[np.uint8]] = None) -> npt.NDArray[np.uint8]:
    """The 32 * n decoded bytes of a format-2 chunk for ``records`` (contiguous EVENT_DTYPE):
    columns in record order, ticks as deltas, each column byte-shuffled; into ``out`` (exactly
    32 * n contiguous bytes, returned) when given. Runs without the GIL."""

def decode_columns(data: Any, out: npt.NDArray[Any], only: Optional[Iterable[str]] = None) -> None:
    """Fill ``out`` (contiguous, writable EVENT_DTYPE) from the decoded bytes ``data`` (a buffer of
    at least 32 * len(out) bytes); with ``only``, just those fields. Runs without the GIL.
    ValueError for a wrong array or too few bytes, or an unknown field name."""

def add_kind_counts(records: npt.NDArray[Any], counts: npt.NDArray[np.int64]) -> int:
    """Add each record's kind to ``counts`` (contiguous int64, index = kind) and return the largest
    kind seen (-1 for none); when it is not below ``len(counts)`` nothing was added (grow, call
    again). One pass without the GIL."""

def add_encoded_kind_counts(data: Any, n: int, counts: npt.NDArray[np.int64]) -> int:
    """`add_kind_counts` for ``n`` records already encoded (``data``: `encode_columns`' bytes),
    read from the kind column's two byte planes. ValueError for too few bytes, a negative ``n``
    or a wrong ``counts``. One pass without the GIL."""

def _vector_path(avx2: Optional[bool] = None) -> Literal["avx2", "baseline"]:
    """The codec's whole-block transposes: "avx2" where the CPU runs it (chosen at run time),
    else "baseline". For tests, ``avx2=False`` forces the baseline and ``avx2=True`` asks for
    AVX2 again. Both paths write and read the same bytes."""

def records_sound(records: npt.NDArray[Any], previous_tick: Optional[int], n_names: int, first_vu: int,
                  vu_step: int, n_vus: int, n_kinds: int) -> bool:
    """True when every record (contiguous EVENT_DTYPE) is one the header's run could write: ticks
    in order (from ``previous_tick``), known kinds, requests and VUs. One pass without the GIL."""
