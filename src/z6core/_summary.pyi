"""Type stubs for z6core._summary (the run summary's accounting, folded in C)."""

from typing import Optional, TypedDict

import numpy as np
import numpy.typing as npt

from z6core._hdr import HdrHistogram

__all__ = ["SummaryAccumulator", "KIND_SLOTS", "SERIES_DTYPE"]

# Event kinds counted one by one (run-wide and per request); later kinds in other_kinds.
KIND_SLOTS: int
# One closed second of the series: second, requests, completed, errors, vu_delta,
# bytes_sent (int64), p50, p95, p99 (uint64 ns), latencies (int64: responses that second).
SERIES_DTYPE: np.dtype

class Snapshot(TypedDict):
    """`SummaryAccumulator.snapshot()`: the figures so far."""

    events: int
    elapsed_ticks: int                         # last tick folded minus the first
    requests: int                              # request_issued events
    completed: int                             # outcome events
    failed: int                                # failed outcomes (z6core.failed_mask's rule)
    failures: dict[tuple[int, int], int]       # (kind, error) -> failed outcomes other than responses
    failed_statuses: dict[int, int]            # status >= 400 -> responses
    per_request: tuple[tuple[int, int, int], ...]   # (requests, completed, failed) by request index
    kinds: npt.NDArray[np.int64]               # events by kind, KIND_SLOTS entries
    latency_ns: Optional[tuple[int, int, int]]  # p50, p95, p99 of the responses so far (HDR; None: none yet)
    active_vus: int                            # spawned and not complete
    request_failures: tuple[dict[tuple[int, int], int], ...]   # `failures`, by request index
    request_failed_statuses: tuple[dict[int, int], ...]        # `failed_statuses`, by request index
    request_latency_ns: tuple[Optional[tuple[int, int, int]], ...]   # `latency_ns`, by request index

class SummaryAccumulator:
    """Per-chunk accounting of a run's summary, in C without the GIL.

    One thread folds (check, fold, use_histograms, close_series); snapshot() may
    be called from any thread meanwhile (one lock).
    """

    n_requests: int
    tick_ns: int
    exact: bool                 # latencies and lags kept exactly (False after use_histograms)
    kept_latencies: int
    kept_lags: int
    lag_zeros: int
    def __init__(self, n_requests: int, tick_ns: int, request_bytes: Optional[npt.ArrayLike] = None,
                 exact_ceiling: int = 0) -> None: ...
    def check(self, events: npt.NDArray[np.void], count: bool = True) -> int: ...
    def fold(self, events: npt.NDArray[np.void]) -> None: ...
    def use_histograms(self) -> None: ...
    def close_series(self) -> None: ...
    def snapshot(self) -> Snapshot: ...
    @property
    def events(self) -> int: ...
    @property
    def first_tick(self) -> Optional[int]: ...
    @property
    def last_tick(self) -> int: ...
    @property
    def vus_max(self) -> int: ...
    @property
    def other_kinds(self) -> int: ...
    def kind_counts(self) -> npt.NDArray[np.int64]: ...
    def request_kind_counts(self) -> npt.NDArray[np.int64]: ...
    def outcome_counts(self) -> dict[tuple[int, int, int, int], int]: ...
    def connections(self) -> tuple[int, int, int, int, int]: ...
    # values: uint32 while every latency kept is below 2**32 ns, else uint64
    def exact_latencies(self) -> tuple[npt.NDArray[np.uint32] | npt.NDArray[np.uint64], npt.NDArray[np.uint16],
                                       npt.NDArray[np.uint16]]: ...
    def exact_lags(self) -> tuple[int, npt.NDArray[np.uint64]]: ...
    def overall_histogram(self) -> HdrHistogram: ...
    def request_histograms(self) -> tuple[HdrHistogram, ...]: ...
    def status_histograms(self) -> dict[int, HdrHistogram]: ...
    def lag_histogram(self) -> HdrHistogram: ...
    def series_rows(self) -> npt.NDArray[np.void]: ...
