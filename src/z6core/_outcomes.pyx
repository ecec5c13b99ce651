# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True
"""The outcome rule (`_outcomes.pxd`) for Python: the kinds that end a request,
the status from which a response counts as failed, and both tests vectorised
over event columns in C.

``outcome_mask(kind)`` and ``failed_mask(kind, status)`` take one-dimensional
uint16 arrays (strided views such as ``chunk["kind"]`` are fine) and return a
bool array of the same length.
"""

from libc.stdint cimport uint8_t, uint16_t

import numpy as np

from z6core._defs cimport *

__all__ = ["OUTCOME_KINDS", "FAILURE_STATUS_MIN", "outcome_mask", "failed_mask"]

# The outcome kinds, in z6.events' order: response, error, timeout, cancel, then
# a live run's transport failures. Read-only.
OUTCOME_KINDS = np.array([EV_RESPONSE_RECEIVED, EV_RESPONSE_ERROR, EV_REQUEST_TIMEOUT, EV_REQUEST_CANCELLED]
                         + list(range(EV_ERROR_DNS, EV_ERROR_RESOURCE_EXHAUSTED + 1)), dtype=np.uint16)
OUTCOME_KINDS.flags.writeable = False
FAILURE_STATUS_MIN = Z6_FAILURE_STATUS_MIN


cdef _checked_u16(obj, str name):
    if not isinstance(obj, np.ndarray):
        raise TypeError(f"{name}: expected a numpy array of uint16, got {type(obj).__name__}")
    if obj.dtype != np.uint16:
        raise TypeError(f"{name}: expected dtype uint16, got {obj.dtype}")
    if obj.ndim != 1:
        raise ValueError(f"{name}: expected a one-dimensional array, got shape {obj.shape}")
    return obj


def outcome_mask(kind):
    """``kind`` (uint16, 1-d) -> bool array: True where the kind ends a request."""
    cdef const uint16_t[:] k = _checked_u16(kind, "kind")
    cdef Py_ssize_t i, n = k.shape[0]
    out = np.empty(n, dtype=np.bool_)
    cdef uint8_t[::1] o = out.view(np.uint8)
    with nogil:
        for i in range(n):
            o[i] = is_outcome_kind(k[i])
    return out


def failed_mask(kind, status):
    """``kind``, ``status`` (uint16, 1-d, same length) -> bool array: True where
    the event is a failed outcome (any outcome but ``response_received``, or a
    ``response_received`` with status >= ``FAILURE_STATUS_MIN``)."""
    cdef const uint16_t[:] k = _checked_u16(kind, "kind")
    cdef const uint16_t[:] s = _checked_u16(status, "status")
    cdef Py_ssize_t i, n = k.shape[0]
    if s.shape[0] != n:
        raise ValueError(f"status: expected {n} entries (one per kind), got {s.shape[0]}")
    out = np.empty(n, dtype=np.bool_)
    cdef uint8_t[::1] o = out.view(np.uint8)
    with nogil:
        for i in range(n):
            o[i] = is_failed_outcome(k[i], s[i])
    return out
