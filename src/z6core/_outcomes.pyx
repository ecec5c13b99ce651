# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True
"""The outcome rule (`_outcomes.pxd`) for Python: the kinds that end a request,
the status from which a response counts as failed, and both tests vectorised
over event columns in C.

``outcome_mask(kind)`` and ``failed_mask(kind, status)`` take one-dimensional
uint16 arrays (strided views such as ``chunk["kind"]`` are fine) and return a
bool array of the same length. ``tally_outcomes(records, latencies)`` counts a
chunk of records by the rule in one pass; ``count_assertions(records)`` counts
its assertion events.
"""

from libc.stdint cimport int64_t, uint8_t, uint16_t, uint32_t, uint64_t

import numpy as np

from z6core._defs cimport *

__all__ = ["OUTCOME_KINDS", "FAILURE_STATUS_MIN", "outcome_mask", "failed_mask", "tally_outcomes", "count_assertions"]

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


def failed_mask(kind, status, error=None):
    """``kind``, ``status``, ``error`` (uint16, 1-d, same length; ``error`` None:
    all 0) -> bool array: True where the event is a failed outcome (any outcome
    but ``response_received``, or a ``response_received`` with status >=
    ``FAILURE_STATUS_MIN`` whose error is not ``status_listed``)."""
    cdef const uint16_t[:] k = _checked_u16(kind, "kind")
    cdef const uint16_t[:] s = _checked_u16(status, "status")
    cdef const uint16_t[:] e
    cdef Py_ssize_t i, n = k.shape[0]
    if s.shape[0] != n:
        raise ValueError(f"status: expected {n} entries (one per kind), got {s.shape[0]}")
    e = _checked_u16(np.zeros(n, np.uint16) if error is None else error, "error")
    if e.shape[0] != n:
        raise ValueError(f"error: expected {n} entries (one per kind), got {e.shape[0]}")
    out = np.empty(n, dtype=np.bool_)
    cdef uint8_t[::1] o = out.view(np.uint8)
    with nogil:
        for i in range(n):
            o[i] = is_failed_outcome(k[i], s[i], e[i])
    return out


def tally_outcomes(records, latencies):
    """Count a contiguous EVENT_DTYPE array by the outcome rule in one pass, and copy
    the ``value_ns`` of its ``response_received`` events, in order, into
    ``latencies`` (contiguous uint64, or uint32) from index 0.

    Returns ``(events, issued, completed, failed, received, widest)``: records,
    ``request_issued`` events, outcomes, failed outcomes, ``response_received``
    events, and the largest of their ``value_ns`` (0 without any). When
    ``received`` exceeds ``len(latencies)`` only the first ``len(latencies)``
    values were copied: the caller makes room and asks again. Into uint32 each
    value is copied modulo 2**32: when ``widest`` is 2**32 or more, the caller
    asks again with uint64 (a response of 4.3 s or more is rare, and a uint32
    column holds the usual ones in half the memory).
    """
    if records.dtype.itemsize != sizeof(event_t) or not records.flags.c_contiguous or records.ndim != 1:
        raise ValueError("tally_outcomes needs a contiguous 1-d array of event records")
    if not isinstance(latencies, np.ndarray) or latencies.dtype not in (np.uint64, np.uint32):
        raise TypeError("tally_outcomes: latencies must be a numpy array of uint64 or uint32")
    cdef const uint8_t[::1] raw = records.view(np.uint8)
    cdef uint64_t[::1] out64
    cdef uint32_t[::1] out32
    cdef uint64_t* wide = NULL
    cdef uint32_t* narrow = NULL
    cdef Py_ssize_t i, n = records.shape[0], room
    cdef const event_t* ev
    cdef int64_t issued = 0, completed = 0, failed = 0, received = 0
    cdef uint64_t value, widest = 0
    if latencies.dtype == np.uint64:
        out64 = latencies
        room = out64.shape[0]
        if room:
            wide = &out64[0]
    else:
        out32 = latencies
        room = out32.shape[0]
        if room:
            narrow = &out32[0]
    if n == 0:
        return 0, 0, 0, 0, 0, 0
    ev = <const event_t*>&raw[0]
    with nogil:
        for i in range(n):
            if ev[i].kind == EV_REQUEST_ISSUED:
                issued += 1
            elif is_outcome_kind(ev[i].kind):
                completed += 1
                failed += is_failed_outcome(ev[i].kind, ev[i].status, ev[i].error)
                if ev[i].kind == EV_RESPONSE_RECEIVED:
                    value = ev[i].value_ns
                    if value > widest:
                        widest = value
                    if received < room:
                        if wide != NULL:
                            wide[received] = value
                        else:
                            narrow[received] = <uint32_t>value
                    received += 1
    return n, issued, completed, failed, received, widest


def count_assertions(records):
    """How many ``assertion_passed`` and ``assertion_failed`` events a contiguous
    EVENT_DTYPE array holds: one pass in C without the GIL (a reader that leaves
    them out filters only the chunks that have any)."""
    if records.dtype.itemsize != sizeof(event_t) or not records.flags.c_contiguous or records.ndim != 1:
        raise ValueError("count_assertions needs a contiguous 1-d array of event records")
    cdef Py_ssize_t i, n = records.shape[0]
    cdef int64_t found = 0
    cdef const uint8_t[::1] raw
    cdef const event_t* ev
    if n == 0:
        return 0
    raw = records.view(np.uint8)
    ev = <const event_t*>&raw[0]
    with nogil:
        for i in range(n):
            found += (ev[i].kind == EV_ASSERTION_PASSED) | (ev[i].kind == EV_ASSERTION_FAILED)
    return found
