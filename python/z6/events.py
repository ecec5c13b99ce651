"""The event record, its kinds and error codes, and the event-stream digest.

The dtype is the core's (read off the C struct); the numbering of kinds follows
the original engine's EventType (docs/architecture.md); error codes are z6's taxonomy.
"""

from __future__ import annotations

import enum
import hashlib
from typing import Iterable

import numpy as np

from z6core import EVENT_DTYPE, FAILURE_STATUS_MIN, OUTCOME_KINDS, failed_mask, outcome_mask

__all__ = ["EVENT_DTYPE", "EventKind", "ErrorCode", "NO_REQUEST", "OUTCOME_KINDS", "FAILURE_STATUS_MIN", "outcome_mask",
           "failed_mask", "event_digest", "concat_chunks"]

NO_REQUEST = 0xFFFF


class EventKind(enum.IntEnum):
    VU_SPAWNED = 0
    VU_READY = 1
    VU_COMPLETE = 2
    REQUEST_ISSUED = 3
    REQUEST_TIMEOUT = 4
    REQUEST_CANCELLED = 5
    RESPONSE_RECEIVED = 6
    RESPONSE_ERROR = 7
    CONN_ESTABLISHED = 8
    CONN_CLOSED = 9
    CONN_ERROR = 10
    SCHEDULER_TICK = 11
    ASSERTION_PASSED = 12
    ASSERTION_FAILED = 13
    ERROR_DNS = 14
    ERROR_TCP = 15
    ERROR_TLS = 16
    ERROR_HTTP = 17
    ERROR_TIMEOUT = 18
    ERROR_PROTOCOL_VIOLATION = 19
    ERROR_RESOURCE_EXHAUSTED = 20
    # The open model: an arrival that found every VU busy at max_vus (vu_id 0,
    # seq = the arrival's index); not a request, so no outcome follows.
    ITERATION_DROPPED = 21
    # A response check that failed, one per failed check, before its request's
    # outcome (error_http): request, status = the check's index among the
    # request's checks, error = its class (CHECK_*). Not an outcome.
    CHECK_FAILED = 22
    # A redirect chain that ended in a response: after that response's outcome,
    # value_ns = the whole chain's latency, status = the last response's. Not a
    # request, not an outcome; each hop is (its request_issued's status = the
    # hop's number, 1 on). docs/scenario.md "Redirects".
    REDIRECT_CHAIN = 23


class ErrorCode(enum.IntEnum):
    NONE = 0
    DNS = 1
    CONNECT_REFUSED = 2
    CONNECT_TIMEOUT = 3
    CONN_RESET = 4
    CONN_CLOSED = 5
    TIMEOUT = 6
    PROTOCOL = 7
    RESOURCE_EXHAUSTED = 8
    TLS = 9
    CANCELLED = 10
    SIMULATED = 11
    # TLS sub-codes (ERR_TLS above stays "any other TLS failure"); docs/live.md "TLS"
    TLS_SELF_SIGNED = 12  # certificate verification failed: self-signed certificate
    TLS_UNKNOWN_CA = 13  # certificate verification failed: issuer unknown or not trusted
    TLS_HOSTNAME = 14  # certificate verification failed: not valid for the target's host name or IP
    TLS_EXPIRED = 15  # certificate verification failed: expired or not yet valid
    TLS_CERT_INVALID = 16  # certificate verification failed: any other reason
    TLS_HANDSHAKE = 17  # handshake failure, or an alert from the server during it
    TLS_VERSION = 18  # no TLS version both sides accept
    TLS_NOT_TLS = 19  # an https:// target that does not answer in TLS (plain HTTP, garbage)
    TLS_ON_PLAIN_PORT = 20  # an http:// target that answers in TLS
    HEADER_VALUE = 21  # a templated header value held CR, LF or NUL: the request was not sent (docs/templates.md)
    ON_START_FAILED = 22  # on a vu_complete: one of the VU's [lifecycle] on_start requests failed (docs/scenario.md)
    # Response checks, by class (docs/scenario.md "Checks"):
    CHECK_STATUS = 23  # the status is not one of the check's
    CHECK_BODY_CONTAINS = 24  # the body lacks the text
    CHECK_BODY_NOT_CONTAINS = 25  # the body holds the text
    CHECK_HEADER = 26  # no such header with that value
    CHECK_JSON = 27  # the JSON value at the path is missing, malformed or unequal
    CHECK_TRUNCATED = 28  # a body or JSON check failed on a body cut at max_capture_bytes
    # Extracted variables (docs/scenario.md "Extraction"); the first four are check classes:
    EXTRACT_JSON = 29  # no JSON value at the extraction's path
    EXTRACT_HEADER = 30  # no such header
    EXTRACT_REGEX = 31  # the regex did not match (or its group took no part)
    VAR_TOO_LONG = 32  # the value found is longer than the variable's max_bytes
    VAR_UNSET = 33  # a template read a variable with no value and no default: the request was not sent
    # On a response_received only: its status (>= 400) is one its status check lists: a success.
    STATUS_LISTED = 34
    # Redirects (docs/scenario.md "Redirects"), on an error_http with the 3xx status:
    REDIRECT_OFFSITE = 35  # the Location is another origin (scheme, host or port): not followed
    REDIRECT_LIMIT = 36  # one redirect more than [target] follow_redirects allows
    REDIRECT_LOCATION = 37  # the Location is not a URL a request can go to


# The outcome rule is the core's, written once (docs/architecture.md, "Event kinds
# and the outcome rule"): OUTCOME_KINDS are the kinds that end a request (every
# request_issued gets exactly one, with the same vu_id and seq); outcome_mask and
# failed_mask apply it to a chunk's columns in C; a response with a status of
# FAILURE_STATUS_MIN or above is a failed one, unless its error is STATUS_LISTED
# (its request's status check lists that status).


def event_digest(chunks: Iterable[np.ndarray]) -> str:
    """SHA-256 (hex) of the records' bytes, in order: equal digests, equal streams."""
    h = hashlib.sha256()
    for chunk in chunks:
        if chunk.dtype != EVENT_DTYPE:
            raise TypeError(f"expected EVENT_DTYPE records, got {chunk.dtype}")
        h.update(np.ascontiguousarray(chunk).tobytes())
    return h.hexdigest()


def frozen(array: np.ndarray) -> bool:
    """Whether no one can change ``array``'s records: read-only, and so is every
    array down to the one that owns the memory (a read-only view of a writable
    array is not frozen). Owners can be made writable again: the runner, whose
    chunks these are, does so only to refill an array nothing refers to any more,
    and a consumer must not. A consumer that keeps a chunk beyond its call keeps a
    frozen one as it is (holding it is what keeps it) and copies any other."""
    while not array.flags.writeable:
        base = array.base
        if base is None:
            return bool(array.flags.owndata)
        if not isinstance(base, np.ndarray):
            return False
        array = base
    return False


def concat_chunks(chunks: Iterable[np.ndarray]) -> np.ndarray:
    """All records of ``chunks`` as one array (for tests and small runs)."""
    parts = list(chunks)
    return np.concatenate(parts) if parts else np.zeros(0, dtype=EVENT_DTYPE)
