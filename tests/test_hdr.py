"""The core's HDR histogram: HdrHistogram's layout and counts, exact-rank percentiles.

Checked against the ``hdrhistogram`` package (``hdrh``) on the same values, and
against exact nearest-rank percentiles (within 1/1,024, never below).
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from hdrh.histogram import HdrHistogram as ReferenceHistogram

import z6
from z6.events import EVENT_DTYPE, EventKind, concat_chunks, outcome_mask
from z6.metrics import LatencyStats, nearest_rank
from z6core import DEFAULT_HIGHEST_NS, HdrHistogram, RequestHistograms
from conftest import scenario

RNG = np.random.default_rng(20261128)


def _values(n: int = 20_000) -> np.ndarray:
    # Latency-like values over five orders of magnitude, plus the bucket edges.
    body = RNG.lognormal(math.log(2e7), 1.5, n).astype(np.uint64)
    edges = np.array([0, 1, 2, 1023, 1024, 2047, 2048, 2049, 4095, 4096, 10**9, 2**40], dtype=np.uint64)
    return np.concatenate([body, edges])


def _reference(values: np.ndarray, highest: int = DEFAULT_HIGHEST_NS, digits: int = 3) -> ReferenceHistogram:
    ref = ReferenceHistogram(1, highest, digits)
    for value in values.tolist():
        assert ref.record_value(value)
    return ref


@pytest.mark.parametrize("highest, digits", [(DEFAULT_HIGHEST_NS, 3), (3_600 * 10**9, 3), (10**6, 2),
                                             (2**62, 3), (10**9, 4)])
def test_layout_equals_hdrhistogram(highest, digits):
    mine, ref = HdrHistogram(highest, digits), ReferenceHistogram(1, highest, digits)
    assert (mine.bucket_count, mine.sub_bucket_count, mine.counts_len) == \
        (ref.bucket_count, ref.sub_bucket_count, ref.counts_len)


def test_counts_equal_hdrhistogram_on_the_same_values():
    values = _values()
    mine = HdrHistogram()
    mine.record_values(values)
    ref = _reference(values)
    expected = np.array([ref.get_count_at_index(i) for i in range(ref.counts_len)], dtype=np.uint64)
    assert np.array_equal(mine.counts, expected)
    assert mine.total_count == ref.get_total_count() == values.size
    for value in values[::97].tolist():
        assert mine.index_of(value) == ref.get_counts_array_index(value)
        assert mine.lowest_equivalent_value(value) == ref.get_lowest_equivalent_value(value)
        assert mine.highest_equivalent_value(value) == ref.get_highest_equivalent_value(value)


def test_percentiles_equal_hdrhistogram_where_the_ranks_agree():
    # HdrHistogram rounds p/100 * n to the nearest count, z6 takes its ceiling (the
    # nearest rank); with n = 10,000 both give the same rank for these percentiles.
    values = _values(10_000 - 12)
    mine = HdrHistogram()
    mine.record_values(values)
    ref = _reference(values)
    for p in (1, 10, 50, 90, 95, 99, 99.9, 99.99, 100):
        assert mine.value_at_percentile(p) == ref.get_value_at_percentile(p), p


def test_percentiles_within_a_thousandth_of_the_exact_ones():
    values = _values()
    mine = HdrHistogram()
    mine.record_values(values)
    ordered = np.sort(values)
    for p in (0.1, 1, 25, 50, 75, 90, 95, 99, 99.9, 99.99, 100):
        exact = int(nearest_rank(ordered, p))
        got = mine.value_at_percentile(p)
        assert exact <= got, p
        assert got - exact <= exact / 1024, (p, exact, got)   # < 0.0977%
        assert got - exact <= exact * 0.001


def test_exact_min_max_mean_and_sum():
    values = _values()
    h = HdrHistogram()
    h.record_values(values)
    assert h.min == int(values.min()) and h.max == int(values.max())
    assert h.sum == int(sum(values.tolist()))
    assert h.mean == pytest.approx(float(sum(values.tolist())) / values.size, rel=1e-15)


def test_sum_carries_past_64_bits():
    h = HdrHistogram()
    big = np.full(5, 2**62, dtype=np.uint64)
    h.record_values(big)
    assert h.sum == 5 * 2**62 and h.mean == float(2**62)


def test_values_beyond_the_range_are_clamped_and_counted():
    h = HdrHistogram(highest=10**6)
    h.record_values(np.array([10, 10**7, 2**63], dtype=np.uint64))
    assert h.clamped == 2 and h.total_count == 3
    assert h.max == 2**63                         # the exact maximum is kept
    assert int(h.counts[-1]) == 2                  # both counted in the top bucket


def test_empty_histogram():
    h = HdrHistogram()
    assert h.total_count == 0 and h.min is None and h.max is None and h.mean is None
    assert h.value_at_percentile(99) is None
    assert LatencyStats.from_histogram(h) == LatencyStats.empty()


def test_add_and_reset():
    values = _values()
    whole, a, b = HdrHistogram(), HdrHistogram(), HdrHistogram()
    whole.record_values(values)
    a.record_values(values[:5000])
    b.record_values(values[5000:])
    a.add(b)
    assert np.array_equal(a.counts, whole.counts)
    assert (a.total_count, a.min, a.max, a.sum) == (whole.total_count, whole.min, whole.max, whole.sum)
    with pytest.raises(ValueError, match="layout"):
        a.add(HdrHistogram(significant_figures=2))
    a.reset()
    assert a.total_count == 0 and not a.counts.any()


def test_counts_view_is_read_only():
    with pytest.raises(ValueError):
        HdrHistogram().counts[0] = 1


@pytest.mark.parametrize("kwargs, needle", [
    ({"significant_figures": 0}, "significant_figures"),
    ({"significant_figures": 6}, "significant_figures"),
    ({"highest": 1}, "highest"),
    ({"highest": 2**63}, "highest"),
    ({"highest": 1.5e9}, "highest"),
])
def test_bad_layouts_are_refused(kwargs, needle):
    with pytest.raises(ValueError, match=needle):
        HdrHistogram(**kwargs)


def test_bad_percentile_is_refused():
    h = HdrHistogram()
    h.record_value(5)
    for p in (-1, 100.5):
        with pytest.raises(ValueError, match="percentile"):
            h.value_at_percentile(p)


def _events_of_a_run() -> tuple[z6.Plan, np.ndarray]:
    requests = "".join(f'\n[[requests]]\nname = "r{i}"\nmethod = "GET"\npath = "/{i}"\nweight = {w}\n'
                       for i, w in enumerate([5, 3, 2]))
    sc = scenario("duration_seconds = 5\nvus = 20", requests=requests,
                  extra='[simulation]\nlatency = { type = "lognormal", median_ms = 20, p99_ms = 150 }\n'
                        'error_rate = 0.05')
    plan = z6.compile_plan(sc)
    return plan, concat_chunks(z6.iter_chunks(plan))


def test_request_histograms_record_each_request_and_the_whole():
    plan, events = _events_of_a_run()
    hists = RequestHistograms(len(plan.request_names), int(EventKind.RESPONSE_RECEIVED))
    for start in range(0, events.size, 4096):
        hists.record(events[start:start + 4096])
    received = events[events["kind"] == EventKind.RESPONSE_RECEIVED]
    whole = HdrHistogram()
    whole.record_values(np.ascontiguousarray(received["value_ns"]))
    assert np.array_equal(hists.overall.counts, whole.counts)
    assert len(hists) == 3
    for i in range(3):
        mine = received[received["request"] == i]["value_ns"]
        one = HdrHistogram()
        one.record_values(np.ascontiguousarray(mine))
        assert np.array_equal(hists[i].counts, one.counts) and hists[i].total_count == mine.size
        stats = LatencyStats.from_histogram(hists[i])
        exact = LatencyStats.from_ns(mine)
        assert stats.min == exact.min and stats.max == exact.max
        for label, value in exact.percentiles.items():
            assert value <= stats.percentiles[label] <= value * 1.001, label


def test_record_events_counts_only_the_kind_asked_for():
    _, events = _events_of_a_run()
    h = HdrHistogram()
    h.record_events(events, int(EventKind.RESPONSE_ERROR))
    assert h.total_count == np.count_nonzero(events["kind"] == EventKind.RESPONSE_ERROR) > 0


def test_a_request_index_outside_the_table_is_refused_and_nothing_counted():
    events = np.zeros(3, dtype=EVENT_DTYPE)
    events["kind"] = EventKind.RESPONSE_RECEIVED
    events["value_ns"] = 5
    events["request"] = [0, 1, 7]
    hists = RequestHistograms(2, int(EventKind.RESPONSE_RECEIVED))
    with pytest.raises(ValueError, match="event 2 .* names request 7, but there are 2 requests"):
        hists.record(events)
    assert hists.overall.total_count == 0 and hists[0].total_count == 0


def test_event_arrays_are_checked():
    h = HdrHistogram()
    with pytest.raises(TypeError, match="EVENT_DTYPE"):
        h.record_events(np.zeros(4, dtype=np.uint64), 6)
    events = np.zeros(8, dtype=EVENT_DTYPE)
    with pytest.raises(ValueError, match="contiguous"):
        RequestHistograms(1, 6).record(events[::2])
    h.record_events(events[:0], 6)  # an empty chunk is fine
    assert h.total_count == 0


def test_record_responses_counts_outcomes_and_failures_in_one_pass():
    _, events = _events_of_a_run()
    events = events.copy()
    received = np.flatnonzero(events["kind"] == EventKind.RESPONSE_RECEIVED)
    events["status"][received[::7]] = 503      # some failed responses too
    errors = np.flatnonzero(events["kind"] == EventKind.RESPONSE_ERROR)
    events["kind"][errors[::2]] = EventKind.ERROR_TCP        # as a live run records a transport failure
    events["kind"][errors[1::4]] = EventKind.ERROR_RESOURCE_EXHAUSTED
    h = HdrHistogram()
    outcomes, failures = h.record_responses(events)
    kinds = events["kind"]
    failed_kinds = outcome_mask(kinds) & (kinds != EventKind.RESPONSE_RECEIVED)
    assert np.count_nonzero(kinds == EventKind.ERROR_TCP) > 0
    assert outcomes == received.size + np.count_nonzero(failed_kinds)
    assert failures == np.count_nonzero(failed_kinds) + received[::7].size
    assert failures > received[::7].size > 0
    expected = HdrHistogram()
    expected.record_values(np.ascontiguousarray(events["value_ns"][received]))
    assert np.array_equal(h.counts, expected.counts)
