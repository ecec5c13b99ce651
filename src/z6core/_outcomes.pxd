# cython: language_level=3
"""The outcome rule, once: which event kinds end a request, and which of those
outcomes count as failed (inline C; `_outcomes.pyx` exposes it to Python as
`z6core.OUTCOME_KINDS`, `FAILURE_STATUS_MIN`, `outcome_mask` and `failed_mask`).

Every `request_issued` gets exactly one outcome event with the same vu_id and
seq: `response_received`, `response_error` (a simulated failure),
`request_timeout`, `request_cancelled`, or one of a live run's transport
failures `error_dns` .. `error_resource_exhausted`. An outcome is failed unless
it is a `response_received` with a status below 400, or one whose error is
`status_listed`: its status is one its request's `status` check lists.
"""

from libc.stdint cimport uint16_t

from z6core._defs cimport (ERR_STATUS_LISTED, EV_ERROR_DNS, EV_ERROR_RESOURCE_EXHAUSTED, EV_REQUEST_CANCELLED,
                           EV_REQUEST_TIMEOUT, EV_RESPONSE_ERROR, EV_RESPONSE_RECEIVED)

cdef enum:
    Z6_FAILURE_STATUS_MIN = 400    # a response with this status or above is failed


cdef inline bint is_outcome_kind(uint16_t kind) noexcept nogil:
    return (kind == EV_RESPONSE_RECEIVED or kind == EV_RESPONSE_ERROR or kind == EV_REQUEST_TIMEOUT
            or kind == EV_REQUEST_CANCELLED or EV_ERROR_DNS <= kind <= EV_ERROR_RESOURCE_EXHAUSTED)


cdef inline bint is_failed_response(uint16_t status, uint16_t error) noexcept nogil:
    # A response_received is failed by its status, unless its status check listed it.
    return status >= Z6_FAILURE_STATUS_MIN and error != ERR_STATUS_LISTED


cdef inline bint is_failed_outcome(uint16_t kind, uint16_t status, uint16_t error) noexcept nogil:
    if kind == EV_RESPONSE_RECEIVED:
        return is_failed_response(status, error)
    return is_outcome_kind(kind)
