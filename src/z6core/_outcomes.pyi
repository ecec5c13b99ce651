"""Type stubs for z6core._outcomes (the outcome rule, computed in C)."""

from typing import Any, Final

import numpy as np
import numpy.typing as npt

__all__ = ["OUTCOME_KINDS", "FAILURE_STATUS_MIN", "outcome_mask", "failed_mask", "tally_outcomes", "count_assertions"]

# response_received, response_error, request_timeout, request_cancelled,
# error_dns .. error_resource_exhausted (read-only)
OUTCOME_KINDS: Final[npt.NDArray[np.uint16]]
FAILURE_STATUS_MIN: Final[int]  # 400: a response with this status or above is failed

def outcome_mask(kind: npt.NDArray[np.uint16]) -> npt.NDArray[np.bool_]:
    """True where ``kind`` ends a request (1-d uint16 in, bool of the same length out)."""

def failed_mask(kind: npt.NDArray[np.uint16], status: npt.NDArray[np.uint16],
                error: npt.NDArray[np.uint16] | None = None) -> npt.NDArray[np.bool_]:
    """True where the event is a failed outcome: any outcome but response_received,
    or a response_received with status >= FAILURE_STATUS_MIN whose error is not
    status_listed (34: a status its status check lists). ``error`` None: all 0."""

def tally_outcomes(records: npt.NDArray[Any],
                   latencies: npt.NDArray[np.uint64] | npt.NDArray[np.uint32]) -> tuple[int, int, int, int, int, int]:
    """(events, issued, completed, failed, received, widest) of a contiguous EVENT_DTYPE chunk,
    counted in one pass without the GIL; the value_ns of its response_received events copied in
    order into ``latencies`` (uint64, or uint32: modulo 2**32) from index 0, as many as fit
    (``received`` says how many there were); ``widest`` is the largest of them (0 without any):
    2**32 or more means a uint32 copy wrapped and must be asked for again in uint64."""

def count_assertions(records: npt.NDArray[Any]) -> int:
    """How many assertion_passed and assertion_failed events a contiguous EVENT_DTYPE chunk holds."""
