"""Type stubs for z6core._outcomes (the outcome rule, computed in C)."""

from typing import Final

import numpy as np
import numpy.typing as npt

__all__ = ["OUTCOME_KINDS", "FAILURE_STATUS_MIN", "outcome_mask", "failed_mask"]

# response_received, response_error, request_timeout, request_cancelled,
# error_dns .. error_resource_exhausted (read-only)
OUTCOME_KINDS: Final[npt.NDArray[np.uint16]]
FAILURE_STATUS_MIN: Final[int]  # 400: a response with this status or above is failed

def outcome_mask(kind: npt.NDArray[np.uint16]) -> npt.NDArray[np.bool_]:
    """True where ``kind`` ends a request (1-d uint16 in, bool of the same length out)."""

def failed_mask(kind: npt.NDArray[np.uint16], status: npt.NDArray[np.uint16]) -> npt.NDArray[np.bool_]:
    """True where the event is a failed outcome: any outcome but response_received,
    or a response_received with status >= FAILURE_STATUS_MIN."""
