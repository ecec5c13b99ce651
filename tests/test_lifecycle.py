"""The VU lifecycle, think time, the latency model's outcomes, per-VU seq."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

import z6
import z6core
from z6.events import NO_REQUEST, OUTCOME_KINDS, ErrorCode, EventKind, concat_chunks
from conftest import scenario

K = EventKind


def _events(runtime="duration_seconds = 10\nvus = 10", extra='[simulation]\nlatency = { type = "constant", ms = 10 }',
            requests=None):
    kwargs = {} if requests is None else {"requests": requests}
    return concat_chunks(z6.iter_chunks(z6.compile_plan(scenario(runtime, extra=extra, **kwargs))))


def test_each_vu_walks_the_lifecycle_in_order():
    events = _events(extra='[think_time]\ntype = "uniform"\nmin_ms = 0\nmax_ms = 30\n\n'
                           '[simulation]\nlatency = { type = "lognormal", median_ms = 10, p99_ms = 50 }\n'
                           'error_rate = 0.05')
    outcomes = set(OUTCOME_KINDS.tolist())
    for vu in range(1, 11):
        mine = events[events["vu_id"] == vu]
        kinds = [K(int(k)) for k in mine["kind"]]
        assert kinds[:2] == [K.VU_SPAWNED, K.VU_READY] and kinds[-1] == K.VU_COMPLETE
        assert mine["tick"][1] == mine["tick"][0] + 1          # ready one tick after spawn
        body = kinds[2:-1]
        assert body[0::2] == [K.REQUEST_ISSUED] * (len(body) // 2 + len(body) % 2)
        assert all(k in outcomes for k in body[1::2])
        requests = mine[2:-1]
        # an outcome carries its request's seq and request index; seq counts from 0
        assert requests["seq"][0::2].tolist() == list(range(len(body[0::2])))
        assert requests["seq"][1::2].tolist() == requests["seq"][0::2][: len(body[1::2])].tolist()
        assert requests["request"][1::2].tolist() == requests["request"][0::2][: len(body[1::2])].tolist()
        assert mine["request"][[0, 1, -1]].tolist() == [NO_REQUEST] * 3


def test_think_time_counts_from_the_response():
    events = _events(extra='[think_time]\ntype = "constant"\nduration_ms = 30\n\n'
                           '[simulation]\nlatency = { type = "uniform", min_ms = 1, max_ms = 20 }',
                     runtime="duration_seconds = 5\nvus = 1\ntick_ms = 0.001")
    issued = events[events["kind"] == K.REQUEST_ISSUED]
    received = events[events["kind"] == K.RESPONSE_RECEIVED]
    tick_ns = 1000
    issue_ns = issued["tick"].astype(np.int64) * tick_ns
    resp_ns = received["tick"].astype(np.int64) * tick_ns
    gaps = issue_ns[1:] - resp_ns[: len(issue_ns) - 1]
    # 30 ms after each response, to the microsecond tick
    assert np.all(np.abs(gaps - 30_000_000) <= tick_ns)
    # and the recorded latency is the response time minus the issue time
    n = min(len(issued), len(received))
    assert np.all(np.abs(received["value_ns"][:n].astype(np.int64) - (resp_ns[:n] - issue_ns[:n])) <= tick_ns)


@pytest.mark.parametrize("kind, a, b, mean", [
    (z6core.DIST_UNIFORM, 10e6, 30e6, 20e6),
    (z6core.DIST_EXPONENTIAL, 25e6, 0.0, 25e6),
    (z6core.DIST_CONSTANT, 7e6, 0.0, 7e6),
])
def test_duration_draws_have_the_declared_mean(kind, a, b, mean):
    draws = z6core.sample_duration_ns(kind, a, b, 2024, 200_000).astype(float)
    assert draws.mean() == pytest.approx(mean, rel=0.01)
    if kind == z6core.DIST_UNIFORM:
        assert draws.min() >= a and draws.max() <= b
        assert stats.kstest(draws, stats.uniform(a, b - a).cdf).pvalue > 1e-4
    if kind == z6core.DIST_EXPONENTIAL:
        assert stats.kstest(draws, stats.expon(scale=a).cdf).pvalue > 1e-4


def test_lognormal_latency_has_the_declared_median_and_p99():
    sc = scenario(extra='[simulation]\nlatency = { type = "lognormal", median_ms = 20, p99_ms = 120 }')
    plan = z6.compile_plan(sc)
    kind, mu, sigma = plan.latency
    draws = z6core.sample_duration_ns(kind, mu, sigma, 5, 400_000) / 1e6
    assert np.median(draws) == pytest.approx(20, rel=0.01)
    assert np.percentile(draws, 99) == pytest.approx(120, rel=0.03)


def test_timeouts_when_the_modelled_latency_passes_timeout_ms():
    requests = '\n[[requests]]\nname = "slow"\nmethod = "GET"\npath = "/"\ntimeout_ms = 20\n'
    events = _events(extra='[simulation]\nlatency = { type = "uniform", min_ms = 0, max_ms = 40 }',
                     requests=requests)
    timeouts = events[events["kind"] == K.REQUEST_TIMEOUT]
    received = events[events["kind"] == K.RESPONSE_RECEIVED]
    assert len(timeouts) > 0 and len(received) > 0
    assert set(timeouts["value_ns"].tolist()) == {20_000_000}
    assert set(timeouts["error"].tolist()) == {int(ErrorCode.TIMEOUT)}
    assert set(timeouts["status"].tolist()) == {0}
    assert received["value_ns"].max() <= 20_000_000
    share = len(timeouts) / (len(timeouts) + len(received))
    assert share == pytest.approx(0.5, abs=0.05)


def test_error_rate_and_status_codes():
    events = _events(runtime="duration_seconds = 60\nvus = 50",
                     extra='[simulation]\nlatency = { type = "constant", ms = 10 }\nerror_rate = 0.1\n'
                           'status_codes = { "200" = 8, "404" = 1, "503" = 1 }')
    outcome = events[np.isin(events["kind"], [K.RESPONSE_RECEIVED, K.RESPONSE_ERROR])]
    errors = outcome[outcome["kind"] == K.RESPONSE_ERROR]
    assert set(errors["error"].tolist()) == {int(ErrorCode.SIMULATED)}
    assert stats.binomtest(len(errors), len(outcome), 0.1).pvalue > 1e-4
    statuses = outcome["status"][outcome["kind"] == K.RESPONSE_RECEIVED]
    counts = np.array([np.count_nonzero(statuses == s) for s in (200, 404, 503)])
    assert counts.sum() == statuses.size
    assert stats.chisquare(counts, np.array([0.8, 0.1, 0.1]) * counts.sum()).pvalue > 1e-4


def test_vus_view_reflects_completion():
    plan = z6.compile_plan(scenario("duration_seconds = 1\nvus = 5"))
    engine = z6core.Engine(plan)
    buf = np.empty(4096, z6core.EVENT_DTYPE)
    while not engine.finished:
        engine.fill(buf)
    assert engine.vus["state"].tolist() == [4] * 5                    # complete
    assert engine.active_vus == 0
    assert engine.requests_issued == int(engine.vus["seq"].sum())
