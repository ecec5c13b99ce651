"""Queueing laws the simulated target must obey."""

from __future__ import annotations

import math

import numpy as np
import pytest

import z6
from z6.events import EventKind, concat_chunks
from conftest import scenario


def _events(sc):
    return concat_chunks(z6.iter_chunks(z6.compile_plan(sc)))


def _throughput(events, tick_ns, start_s, end_s):
    issued = events["tick"][events["kind"] == EventKind.REQUEST_ISSUED].astype(np.int64) * tick_ns / 1e9
    return np.count_nonzero((issued >= start_s) & (issued < end_s)) / (end_s - start_s)


@pytest.mark.parametrize("latency, mean_latency_ms, think, mean_think_ms", [
    ('{ type = "constant", ms = 40 }', 40.0, 'type = "constant"\nduration_ms = 60', 60.0),
    ('{ type = "uniform", min_ms = 10, max_ms = 90 }', 50.0, 'type = "uniform"\nmin_ms = 0\nmax_ms = 100', 50.0),
    ('{ type = "exponential", mean_ms = 30 }', 30.0, 'type = "exponential"\nmean_ms = 70', 70.0),
    # lognormal: mean = median * exp(sigma^2 / 2), sigma = ln(p99/median) / z_0.99
    ('{ type = "lognormal", median_ms = 20, p99_ms = 80 }',
     20.0 * math.exp((math.log(4.0) / 2.3263478740408408) ** 2 / 2), 'type = "constant"\nduration_ms = 80', 80.0),
])
def test_closed_loop_throughput_law(latency, mean_latency_ms, think, mean_think_ms):
    vus, duration = 200, 400
    sc = scenario(f"duration_seconds = {duration}\nvus = {vus}",
                  extra=f"[think_time]\n{think}\n\n[simulation]\nlatency = {latency}")
    events = _events(sc)
    measured = _throughput(events, 1_000_000, 10, duration - 10)
    law = vus / ((mean_latency_ms + mean_think_ms) / 1000.0)
    assert measured == pytest.approx(law, rel=0.01)
    # and the modelled latencies have the declared mean
    received = events["value_ns"][events["kind"] == EventKind.RESPONSE_RECEIVED] / 1e6
    assert received.mean() == pytest.approx(mean_latency_ms, rel=0.01)


def test_capacity_levels_throughput_off_at_capacity_over_service_time():
    capacity, service_ms = 10, 10.0
    rates, latencies = {}, {}
    for vus in (2, 5, 10, 20, 50, 100):
        sc = scenario(f"duration_seconds = 60\nvus = {vus}",
                      extra=f'[simulation]\nlatency = {{ type = "exponential", mean_ms = {service_ms} }}\n'
                            f"capacity = {capacity}")
        events = _events(sc)
        rates[vus] = _throughput(events, 1_000_000, 5, 55)
        latencies[vus] = events["value_ns"][events["kind"] == EventKind.RESPONSE_RECEIVED].mean() / 1e6
    ceiling = capacity / (service_ms / 1000.0)  # 1000 requests/s
    # Below capacity no request waits: throughput = VUs / service time.
    for vus in (2, 5, 10):
        assert rates[vus] == pytest.approx(vus / (service_ms / 1000.0), rel=0.03)
        assert latencies[vus] == pytest.approx(service_ms, rel=0.03)
    # Above it, throughput levels off at the ceiling and latency grows with load
    # (Little's law: latency = VUs / throughput).
    for vus in (20, 50, 100):
        assert rates[vus] == pytest.approx(ceiling, rel=0.02)
        assert latencies[vus] == pytest.approx(vus / ceiling * 1000.0, rel=0.03)
    assert latencies[20] < latencies[50] < latencies[100]


def test_capacity_queue_is_deterministic():
    sc = scenario("duration_seconds = 10\nvus = 30",
                  extra='[simulation]\nlatency = { type = "uniform", min_ms = 1, max_ms = 30 }\ncapacity = 3')
    plan = z6.compile_plan(sc)
    assert z6.event_digest(z6.iter_chunks(plan)) == z6.event_digest(z6.iter_chunks(plan, 7))
