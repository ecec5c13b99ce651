"""The summary's figures equal those computed directly from the same events."""

from __future__ import annotations

import math

import numpy as np

import z6
from z6.events import ErrorCode, EventKind, concat_chunks, failed_mask, outcome_mask
from conftest import scenario

K = EventKind


def _direct_percentile(values_ms: np.ndarray, p: float) -> float:
    # Nearest rank, written out independently: the ceil(p/100 * n)-th smallest.
    ranked = np.sort(values_ms)
    rank = max(1, math.ceil(round(p * 10) * len(ranked) / 1000))
    return float(ranked[rank - 1])


def test_summary_matches_the_events():
    requests = "".join(f'\n[[requests]]\nname = "r{i}"\nmethod = "GET"\npath = "/{i}"\nweight = {w}\n'
                       f"timeout_ms = {t}\n" for i, (w, t) in enumerate([(5, 200), (3, 60), (2, 1000)]))
    sc = scenario("duration_seconds = 20\nvus = 40", requests=requests,
                  extra='[think_time]\ntype = "exponential"\nmean_ms = 50\n\n[simulation]\n'
                        'latency = { type = "lognormal", median_ms = 20, p99_ms = 150 }\nerror_rate = 0.02\n'
                        'status_codes = { "200" = 90, "404" = 6, "503" = 4 }')
    plan = z6.compile_plan(sc)
    events = concat_chunks(z6.iter_chunks(plan))
    result = z6.run_scenario(sc)
    summary = result.summary

    for i, name in enumerate(plan.request_names):
        mine = events[events["request"] == i]
        got = summary.per_request[name]
        assert got.requests == np.count_nonzero(mine["kind"] == K.REQUEST_ISSUED)
        outcomes = mine[outcome_mask(mine["kind"])]
        assert got.completed == len(outcomes)
        assert got.failed == np.count_nonzero(failed_mask(outcomes["kind"], outcomes["status"]))
        received = outcomes[outcomes["kind"] == K.RESPONSE_RECEIVED]
        assert got.errors.get("timeout", 0) == np.count_nonzero(outcomes["kind"] == K.REQUEST_TIMEOUT)
        assert got.errors.get("error:simulated", 0) == np.count_nonzero(outcomes["error"] == ErrorCode.SIMULATED)
        assert got.statuses == {int(s): int(c) for s, c in zip(*np.unique(received["status"], return_counts=True))}
        ms = received["value_ns"] / 1e6
        assert got.latency.min == ms.min() and got.latency.max == ms.max()
        assert math.isclose(got.latency.mean, ms.mean(), rel_tol=1e-12)
        for label, p in (("p50", 50), ("p90", 90), ("p95", 95), ("p99", 99), ("p99.9", 99.9)):
            assert got.latency.percentiles[label] == _direct_percentile(ms, p), (name, label)

    assert summary.overall.requests == np.count_nonzero(events["kind"] == K.REQUEST_ISSUED)
    assert summary.events == len(events)
    assert summary.vus_max == 40
    all_ms = events["value_ns"][events["kind"] == K.RESPONSE_RECEIVED] / 1e6
    assert summary.overall.latency.percentiles["p99"] == _direct_percentile(all_ms, 99)
    span_s = (int(events["tick"][-1]) - int(events["tick"][0])) * plan.tick_ns / 1e9
    assert math.isclose(summary.rate, summary.overall.requests / span_s)


def test_percentiles_agree_with_numpy_when_the_rank_is_exact():
    # numpy's inverted_cdf is the same nearest-rank definition (its float rank is
    # exact here: n = 977 is not a multiple of 1000).
    values = np.random.default_rng(3).lognormal(3, 1, 977)
    for p in (50, 90, 95, 99, 99.9):
        assert z6.metrics.nearest_rank(np.sort(values), p) == np.percentile(values, p, method="inverted_cdf")


def test_connections_are_counted_from_conn_established_events_old_and_tls():
    from z6.metrics import SummaryBuilder

    def chunk(rows):
        out = np.zeros(len(rows), dtype=z6.EVENT_DTYPE)
        for i, (tick, kind, status, value_ns) in enumerate(rows):
            out[i] = (tick, value_ns, 1, kind, 0xFFFF, status, 0, 0)
        return out

    # A log written before TLS: status 0 on every conn_established.
    old = SummaryBuilder(("r",), 1_000_000)
    old(chunk([(1, K.CONN_ESTABLISHED, 0, 2_000_000), (5, K.CONN_ESTABLISHED, 0, 4_000_000)]))
    c = old.finish().connections
    assert (c.opened, c.tls_full, c.tls_resumed) == (2, 0, 0)
    assert c.connect_ms_mean == 3.0 and c.connect_ms_max == 4.0
    # TLS: full (1) and resumed (2) handshakes; value_ns is connect plus handshake.
    tls = SummaryBuilder(("r",), 1_000_000)
    tls(chunk([(1, K.CONN_ESTABLISHED, 1, 9_000_000), (2, K.CONN_ESTABLISHED, 2, 1_000_000),
               (3, K.CONN_ESTABLISHED, 2, 2_000_000)]))
    summary = tls.finish()
    assert (summary.connections.tls_full, summary.connections.tls_resumed) == (1, 2)
    assert summary.to_dict()["connections"]["connect_ms"] == {"mean": 4.0, "max": 9.0}
    # No connections (a simulated run): none.
    assert SummaryBuilder(("r",), 1_000_000).finish().connections is None
