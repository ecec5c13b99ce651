"""The outcome rule, stated once in the core (_outcomes.pxd), against an
independent statement of it here."""

from __future__ import annotations

import numpy as np
import pytest

import z6core

# Written out by hand from the event-kind table (docs/engine.md, docs/live.md):
# the kinds that end a request, in the order z6.events lists them.
RESPONSE_RECEIVED, RESPONSE_ERROR, REQUEST_TIMEOUT, REQUEST_CANCELLED = 6, 7, 4, 5
TRANSPORT_FAILURES = [14, 15, 16, 17, 18, 19, 20]   # error_dns .. error_resource_exhausted
EXPECTED_OUTCOMES = [RESPONSE_RECEIVED, RESPONSE_ERROR, REQUEST_TIMEOUT, REQUEST_CANCELLED, *TRANSPORT_FAILURES]


def is_outcome(kind: int) -> bool:
    return kind in EXPECTED_OUTCOMES


def is_failed(kind: int, status: int) -> bool:
    if not is_outcome(kind):
        return False
    return kind != RESPONSE_RECEIVED or status >= 400


def test_outcome_kinds_and_threshold():
    assert z6core.OUTCOME_KINDS.dtype == np.uint16
    assert z6core.OUTCOME_KINDS.tolist() == EXPECTED_OUTCOMES
    assert not z6core.OUTCOME_KINDS.flags.writeable
    with pytest.raises(ValueError):
        z6core.OUTCOME_KINDS[0] = 1
    assert z6core.FAILURE_STATUS_MIN == 400
    for name in ("OUTCOME_KINDS", "FAILURE_STATUS_MIN", "outcome_mask", "failed_mask"):
        assert name in z6core.__all__


def test_outcome_kinds_match_the_python_list():
    # z6.events.OUTCOME_KINDS is the Python copy the metrics read today.
    from z6.events import OUTCOME_KINDS

    assert z6core.OUTCOME_KINDS.tolist() == OUTCOME_KINDS.tolist()


def test_masks_over_every_kind_and_status_boundary():
    kinds = np.repeat(np.arange(0, 64, dtype=np.uint16), 6)
    status = np.tile(np.array([0, 200, 399, 400, 404, 65535], np.uint16), 64)
    outcome = z6core.outcome_mask(kinds)
    failed = z6core.failed_mask(kinds, status)
    assert outcome.dtype == np.bool_ and failed.dtype == np.bool_
    assert outcome.shape == kinds.shape and failed.shape == kinds.shape
    assert outcome.tolist() == [is_outcome(int(k)) for k in kinds]
    assert failed.tolist() == [is_failed(int(k), int(s)) for k, s in zip(kinds, status)]
    # every kind a uint16 can hold
    every = np.arange(1 << 16, dtype=np.uint16)
    assert np.flatnonzero(z6core.outcome_mask(every)).tolist() == sorted(EXPECTED_OUTCOMES)


def test_masks_read_event_columns_and_agree_with_the_histogram():
    plan_events = np.zeros(8, z6core.EVENT_DTYPE)
    plan_events["kind"] = [3, 6, 6, 7, 4, 15, 2, 6]
    plan_events["status"] = [0, 200, 503, 0, 0, 0, 0, 404]
    plan_events["value_ns"] = 1000
    kind, status = plan_events["kind"], plan_events["status"]      # strided views
    assert z6core.outcome_mask(kind).tolist() == [False, True, True, True, True, True, False, True]
    assert z6core.failed_mask(kind, status).tolist() == [False, False, True, True, True, True, False, True]
    h = z6core.HdrHistogram()
    assert h.record_responses(plan_events) == (6, 5)
    read_only = np.array(kind)
    read_only.flags.writeable = False
    assert z6core.outcome_mask(read_only).sum() == 6
    assert z6core.outcome_mask(np.zeros(0, np.uint16)).shape == (0,)


@pytest.mark.parametrize("call, error, message", [
    (lambda: z6core.outcome_mask([6, 7]), TypeError, "kind: expected a numpy array of uint16, got list"),
    (lambda: z6core.outcome_mask(np.zeros(3, np.int64)), TypeError, "kind: expected dtype uint16, got int64"),
    (lambda: z6core.outcome_mask(np.zeros((2, 2), np.uint16)), ValueError,
     r"kind: expected a one-dimensional array, got shape \(2, 2\)"),
    (lambda: z6core.failed_mask(np.zeros(3, np.uint16), np.zeros(3, np.int32)), TypeError,
     "status: expected dtype uint16, got int32"),
    (lambda: z6core.failed_mask(np.zeros(3, np.uint16), np.zeros(2, np.uint16)), ValueError,
     r"status: expected 3 entries \(one per kind\), got 2"),
])
def test_masks_check_their_arguments(call, error, message):
    with pytest.raises(error, match=message):
        call()


def test_tally_outcomes_counts_by_the_rule_and_copies_response_latencies():
    from z6core._outcomes import tally_outcomes
    rng = np.random.default_rng(5)
    records = np.zeros(5000, z6core.EVENT_DTYPE)
    records["kind"] = rng.integers(0, 24, records.size)
    records["status"] = rng.choice([0, 200, 399, 400, 503], records.size)
    records["value_ns"] = rng.integers(0, 2**63, records.size, dtype=np.uint64)
    kinds, statuses = records["kind"].tolist(), records["status"].tolist()
    received = records["value_ns"][records["kind"] == RESPONSE_RECEIVED]
    expected = (records.size, kinds.count(3), sum(map(is_outcome, kinds)),
                sum(is_failed(k, s) for k, s in zip(kinds, statuses)), received.size, int(received.max()))
    room = np.zeros(records.size, np.uint64)
    assert tally_outcomes(records, room) == expected
    assert np.array_equal(room[:received.size], received)
    # Too little room: the first values copied, the count still whole.
    small = np.zeros(3, np.uint64)
    assert tally_outcomes(records, small) == expected and np.array_equal(small, received[:3])
    assert tally_outcomes(records[:0], small) == (0, 0, 0, 0, 0, 0)
    # Into uint32: each value modulo 2**32, and the widest says a copy wrapped.
    narrow = np.zeros(records.size, np.uint32)
    assert tally_outcomes(records, narrow) == expected
    assert np.array_equal(narrow[:received.size], (received & np.uint64(0xFFFFFFFF)).astype(np.uint32))
    records["value_ns"] = rng.integers(0, 2**32, records.size, dtype=np.uint64)
    fits = records["value_ns"][records["kind"] == RESPONSE_RECEIVED]
    assert tally_outcomes(records, narrow)[5] == int(fits.max()) < 2**32
    assert np.array_equal(narrow[:fits.size], fits)
    with pytest.raises(TypeError, match="uint64 or uint32"):
        tally_outcomes(records, np.zeros(3, np.int64))
    with pytest.raises(ValueError, match="contiguous 1-d array of event records"):
        tally_outcomes(records[::2], room)


def test_count_assertions_counts_both_assertion_kinds_only():
    from z6core._outcomes import count_assertions
    records = np.zeros(100, z6core.EVENT_DTYPE)
    assert count_assertions(records) == 0 and count_assertions(records[:0]) == 0
    records["kind"][[3, 50, 99]] = [12, 13, 12]
    records["kind"][[4, 5]] = [11, 14]
    assert count_assertions(records) == 3
    with pytest.raises(ValueError, match="contiguous 1-d array of event records"):
        count_assertions(records[::2])
