"""Per-status figures, error rates by kind, the time series, schedule lag and the
latency distribution equal what is computed directly from the same events."""

from __future__ import annotations

import math

import numpy as np
import pytest

import z6
from z6.events import EVENT_DTYPE, ErrorCode, EventKind, concat_chunks, outcome_mask
from z6.metrics import LAG_FLOOR_MS, LAG_MIN_SAMPLES, LatencyStats, SummaryBuilder, lag_threshold_ms
from z6.metrics._percentile import nearest_rank
from z6.runner import iter_chunks
from conftest import scenario

K = EventKind


@pytest.fixture(scope="module")
def run():
    requests = "".join(f'\n[[requests]]\nname = "r{i}"\nmethod = "GET"\npath = "/{i}"\nweight = {w}\n'
                       f"timeout_ms = {t}\n" for i, (w, t) in enumerate([(5, 200), (3, 60)]))
    sc = scenario("duration_seconds = 7", requests=requests,
                  extra='[schedule]\ntype = "ramp"\nstart_vus = 1\nend_vus = 30\nramp_duration_seconds = 4\n'
                        'hold_duration_seconds = 3\n\n[think_time]\ntype = "exponential"\nmean_ms = 80\n\n[simulation]\n'
                        'latency = { type = "lognormal", median_ms = 20, p99_ms = 150 }\nerror_rate = 0.03\n'
                        'status_codes = { "200" = 85, "404" = 10, "503" = 5 }')
    plan = z6.compile_plan(sc)
    return plan, concat_chunks(z6.iter_chunks(plan))


def _summarise(plan, chunk_records: int, **kwargs):
    builder = SummaryBuilder(plan.request_names, plan.tick_ns, **kwargs)
    for chunk in iter_chunks(plan, chunk_records):
        builder(chunk)
    return builder.finish()


def test_per_status_latency_is_exact(run):
    plan, events = run
    summary = _summarise(plan, 65_536)
    received = events[events["kind"] == K.RESPONSE_RECEIVED]
    assert sorted(summary.per_status) == sorted(np.unique(received["status"]).tolist()) == [200, 404, 503]
    for status, st in summary.per_status.items():
        ms = received[received["status"] == status]["value_ns"] / 1e6
        assert st.count == ms.size == summary.overall.statuses[status]
        assert st.latency.min == ms.min() and st.latency.max == ms.max()
        for label, p in (("p50", 50), ("p90", 90), ("p99", 99), ("p99.9", 99.9)):
            assert st.latency.percentiles[label] == nearest_rank(np.sort(ms), p)


def test_error_rates_by_kind(run):
    plan, events = run
    summary = _summarise(plan, 65_536)
    outcomes = events[outcome_mask(events["kind"])]
    received = outcomes[outcomes["kind"] == K.RESPONSE_RECEIVED]
    completed = outcomes.size
    expected = {
        "timeout": np.count_nonzero(outcomes["kind"] == K.REQUEST_TIMEOUT),
        "error:simulated": np.count_nonzero(outcomes["error"] == ErrorCode.SIMULATED),
        "http_4xx": np.count_nonzero(received["status"] == 404),
        "http_5xx": np.count_nonzero(received["status"] == 503),
    }
    assert all(v > 0 for v in expected.values())
    assert summary.overall.errors == expected
    assert summary.overall.error_rates == {k: v / completed for k, v in expected.items()}
    assert summary.overall.failed == sum(expected.values())
    for name, r in summary.per_request.items():
        assert set(r.error_rates) == set(r.errors)
        assert all(math.isclose(rate * r.completed, r.errors[k]) for k, rate in r.error_rates.items())


def _direct_series(events: np.ndarray, tick_ns: int) -> dict:
    second = events["tick"].astype(np.int64) * tick_ns // 10**9
    rows = {}
    active = 0
    for s in np.unique(second):
        mine = events[second == s]
        kind = mine["kind"]
        received = mine[kind == K.RESPONSE_RECEIVED]
        outcome = outcome_mask(kind)
        active += np.count_nonzero(kind == K.VU_SPAWNED) - np.count_nonzero(kind == K.VU_COMPLETE)
        ms = np.sort(received["value_ns"]) / 1e6
        rows[int(s)] = {
            "requests": np.count_nonzero(kind == K.REQUEST_ISSUED),
            "completed": np.count_nonzero(outcome),
            "errors": np.count_nonzero(outcome & (kind != K.RESPONSE_RECEIVED))
                      + np.count_nonzero(received["status"] >= 400),
            "active": active,
            **{label: (nearest_rank(ms, p) if ms.size else None) for label, p in (("p50", 50), ("p95", 95), ("p99", 99))},
        }
    return rows


@pytest.mark.parametrize("chunk_records", [97, 4096, 65_536])
def test_time_series_per_second_is_exact_whatever_the_chunks(run, chunk_records):
    plan, events = run
    ts = _summarise(plan, chunk_records).time_series
    direct = _direct_series(events, plan.tick_ns)
    assert ts.second == sorted(direct)
    for row, s in enumerate(ts.second):
        d = direct[s]
        assert (ts.requests[row], ts.completed[row], ts.errors[row], ts.active_vus[row]) == \
            (d["requests"], d["completed"], d["errors"], d["active"]), s
        for label in ("p50", "p95", "p99"):
            assert ts.latency_ms[label][row] == d[label], (s, label)
    assert max(ts.active_vus) == 30 and ts.active_vus[-1] == 0
    assert sum(ts.requests) == np.count_nonzero(events["kind"] == K.REQUEST_ISSUED)
    assert ts.bytes_sent is None


def test_time_series_counts_bytes_sent_when_request_sizes_are_known(run):
    plan, events = run
    sizes = [120, 4000]
    ts = _summarise(plan, 4096, request_bytes=sizes).time_series
    issued = events[events["kind"] == K.REQUEST_ISSUED]
    assert sum(ts.bytes_sent) == int(np.sum(np.array(sizes)[issued["request"]]))
    second = issued["tick"].astype(np.int64) * plan.tick_ns // 10**9
    for row, s in enumerate(ts.second):
        assert ts.bytes_sent[row] == int(np.sum(np.array(sizes)[issued["request"][second == s]]))


def test_a_second_without_events_has_no_row():
    events = np.zeros(4, dtype=EVENT_DTYPE)
    events["tick"] = [0, 10, 5_000, 5_001]          # 1 ms ticks: seconds 0, 0, 5, 5
    events["kind"] = [K.VU_SPAWNED, K.REQUEST_ISSUED, K.RESPONSE_RECEIVED, K.VU_COMPLETE]
    events["request"] = [0xFFFF, 0, 0, 0xFFFF]
    events["value_ns"] = [0, 0, 4_990_000_000, 0]
    events["status"] = [0, 0, 200, 0]
    builder = SummaryBuilder(("only",), 1_000_000)
    builder(events)
    ts = builder.finish().time_series
    assert ts.second == [0, 5] and ts.requests == [1, 0] and ts.active_vus == [1, 0]
    assert ts.latency_ms["p99"] == [None, 4990.0]


def test_out_of_order_events_are_refused():
    builder = SummaryBuilder(("only",), 1_000_000)
    late = np.zeros(2, dtype=EVENT_DTYPE)
    late["tick"] = [100, 200]
    builder(late)
    early = np.zeros(1, dtype=EVENT_DTYPE)
    early["tick"] = [50]
    with pytest.raises(ValueError, match="out of tick order"):
        builder(early)
    shuffled = np.zeros(2, dtype=EVENT_DTYPE)
    shuffled["tick"] = [300, 250]
    with pytest.raises(ValueError, match="out of tick order"):
        SummaryBuilder(("only",), 1_000_000)(shuffled)


def test_events_of_another_plan_are_refused():
    events = np.zeros(1, dtype=EVENT_DTYPE)
    events["kind"] = K.REQUEST_ISSUED
    events["request"] = 3
    with pytest.raises(ValueError, match="names request 3, but the run has 2 requests"):
        SummaryBuilder(("a", "b"), 1_000_000)(events)


# --- schedule lag -----------------------------------------------------------


def _issued(lags_ns: list[int], latency_ns: int = 0, first_lag_ns: int = 0) -> np.ndarray:
    """request_issued events with these lags, each answered after ``latency_ns``; VU 1's
    first request (seq 0, lag ``first_lag_ns``) comes before them and is not in the lag."""
    n = len(lags_ns) + 1
    events = np.zeros(2 * n, dtype=EVENT_DTYPE)
    events["tick"] = np.repeat(np.arange(n), 2)
    events["vu_id"] = 1
    events["request"] = 0
    events["seq"] = np.repeat(np.arange(n), 2)
    events["kind"][0::2] = K.REQUEST_ISSUED
    events["value_ns"][0::2] = [first_lag_ns, *lags_ns]
    events["kind"][1::2] = K.RESPONSE_RECEIVED
    events["status"][1::2] = 200
    events["value_ns"][1::2] = latency_ns
    return events


def _summary_of(events: np.ndarray, think_ms: float = 0.0, exact_limit: int | None = None):
    kwargs = {} if exact_limit is None else {"exact_limit": exact_limit}
    builder = SummaryBuilder(("only",), 1_000_000, think_ms=think_ms, **kwargs)
    for start in range(0, events.size, 50):
        builder(events[start:start + 50])
    return builder.finish()


def test_lag_stats_are_exact_from_request_issued_events():
    rng = np.random.default_rng(11)
    lags = [0] * 300 + rng.integers(1, 50_000_000, 200).tolist()
    rng.shuffle(lags)
    summary = _summary_of(_issued(lags, latency_ns=20_000_000))
    expected = LatencyStats.from_ns(np.array(lags, dtype=np.uint64))
    assert summary.lag.count == 500
    assert summary.lag.percentiles == expected.percentiles
    assert summary.lag.max == expected.max and summary.lag.min == 0.0
    assert summary.lag.mean == pytest.approx(expected.mean, rel=1e-12)


@pytest.mark.parametrize("exact_limit", [None, 0])
def test_a_vus_first_request_is_not_in_the_lag(exact_limit):
    # The start-up burst (issue 12): a first request 50 ms late, the rest on time.
    summary = _summary_of(_issued([0] * 999, latency_ns=1_000_000, first_lag_ns=50_000_000),
                          exact_limit=exact_limit)
    assert summary.lag.count == 999 and summary.lag.max == 0.0 and summary.warnings == ()


def test_simulated_runs_have_no_lag_and_no_warning(run):
    plan, _ = run
    summary = _summarise(plan, 65_536)
    # Every request but each VU's first.
    assert summary.lag.count == summary.overall.requests - plan.n_vus
    assert summary.lag.max == 0.0 and summary.warnings == ()


def test_lag_threshold_rule():
    assert lag_threshold_ms(None) == LAG_FLOOR_MS == 1.0
    assert lag_threshold_ms(2.0) == 1.0          # 10% is 0.2 ms: the floor
    assert lag_threshold_ms(40.0) == 4.0         # 10% of p50
    assert lag_threshold_ms(5000.0) == 500.0     # no ceiling: 10% of the cycle, whatever its length
    assert lag_threshold_ms(2.0, think_ms=1000.0) == pytest.approx(100.2)  # think time is part of the cycle
    assert lag_threshold_ms(None, think_ms=5.0) == 1.0


# Enough requests that the p99 rests on evidence: 1,000, the 11 worst at or above it.
@pytest.mark.parametrize("p50_ms, think_ms, p99_lag_ms, warns", [
    (40.0, 0.0, 4.0, False),        # exactly at 10% of p50: no warning (the limit itself passes)
    (40.0, 0.0, 4.000001, True),
    (2.0, 0.0, 1.0, False),         # the 1 ms floor
    (2.0, 0.0, 1.000001, True),
    (2.0, 1000.0, 18.8, False),     # 100 VUs, 1 s think: 18.8 ms is under 2% of a cycle
    (2.0, 1000.0, 100.200001, True),
])
def test_lag_warning_at_its_boundary(p50_ms, think_ms, p99_lag_ms, warns):
    lags = [0] * 980 + [round(p99_lag_ms * 1e6)] * 20
    summary = _summary_of(_issued(lags, latency_ns=round(p50_ms * 1e6)), think_ms=think_ms)
    assert summary.lag.percentiles["p99"] == pytest.approx(p99_lag_ms, abs=1e-9)
    assert bool(summary.warnings) is warns
    if warns:
        assert "schedule lag p99" in summary.warnings[0] and "coordinated omission" in summary.warnings[0]
        assert "over 1,000 requests" in summary.warnings[0]


def test_lag_on_too_few_requests_does_not_warn():
    # 4 VUs at 4.4 req/s (issue 12): 35 requests, the p99 is the single worst.
    few = _summary_of(_issued([0] * 34 + [2_050_000], latency_ns=1_000_000))
    assert few.lag.percentiles["p99"] == 2.05 and few.warnings == ()
    enough = _summary_of(_issued([0] * (LAG_MIN_SAMPLES - 10) + [2_050_000] * 10, latency_ns=1_000_000))
    assert enough.lag.count == LAG_MIN_SAMPLES and "over 500 requests" in enough.warnings[0]
    assert enough.to_dict()["lag_ms"]["warn_min_samples"] == LAG_MIN_SAMPLES


# --- the latency distribution -----------------------------------------------


def test_distribution_counts_every_response_once(run):
    plan, events = run
    dist = _summarise(plan, 65_536).distribution
    received = events[events["kind"] == K.RESPONSE_RECEIVED]["value_ns"]
    assert sum(dist.counts) == received.size
    assert dist.edges_ms[0] == received.min() / 1e6 and dist.edges_ms[-1] == received.max() / 1e6
    assert len(dist.edges_ms) == len(dist.counts) + 1
    assert all(a < b for a, b in zip(dist.edges_ms, dist.edges_ms[1:]))


def test_distribution_of_a_constant_latency_is_one_bin():
    summary = _summary_of(_issued([0] * 10, latency_ns=7_000_000))  # 11 responses: the first request's too
    assert summary.distribution.edges_ms == [7.0, 7.0] and summary.distribution.counts == [11]
    empty = SummaryBuilder(("only",), 1_000_000).finish()
    assert empty.distribution.counts == [] and empty.time_series.second == []


def test_a_live_transport_failure_is_an_outcome_and_an_error():
    events = np.zeros(4, dtype=EVENT_DTYPE)
    events["tick"] = [0, 1, 2, 3]
    events["kind"] = [K.REQUEST_ISSUED, K.ERROR_TCP, K.REQUEST_ISSUED, K.RESPONSE_RECEIVED]
    events["error"] = [0, ErrorCode.CONNECT_REFUSED, 0, 0]
    events["status"] = [0, 0, 0, 200]
    events["value_ns"] = [0, 1_000, 0, 2_000_000]
    builder = SummaryBuilder(("only",), 1_000_000)
    builder(events)
    summary = builder.finish()
    assert summary.overall.completed == 2 and summary.overall.failed == 1
    assert summary.overall.errors == {"error:connect_refused": 1}
    assert summary.overall.error_rates == {"error:connect_refused": 0.5}
    ts = summary.time_series
    assert (ts.requests, ts.completed, ts.errors) == ([2], [2], [1])
