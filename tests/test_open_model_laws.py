"""Queueing laws for the open model against the modelled server (independent oracles).

Poisson arrivals at rate lam, exponential service with mean S:

* with ``capacity = c`` and a pool that never runs out, the server is an M/M/c
  queue: the mean wait in its queue is Erlang C's ``C(c, a) * S / (c - a)``,
  a = lam * S (measured: mean response latency minus S);
* with no capacity limit and a pool of ``max_vus = c`` VUs, an arrival finding
  them all busy is dropped: an M/M/c/c loss system, whose share of dropped
  arrivals is Erlang B's ``B(c, a)``.
"""

from __future__ import annotations

import numpy as np
import pytest

import z6
from z6.plan import compile_plan
from z6.runner import run_plan
from conftest import scenario


def erlang_b(c: int, a: float) -> float:
    b = 1.0
    for k in range(1, c + 1):
        b = a * b / (k + a * b)
    return b


def erlang_c(c: int, a: float) -> float:
    b = erlang_b(c, a)
    rho = a / c
    return b / (1 - rho + rho * b)


def open_scenario(rate: float, duration_s: float, vus: int, max_vus: int, mean_ms: float,
                  capacity: int | None, seed: int) -> z6.Scenario:
    capacity_line = f"capacity = {capacity}" if capacity else ""
    return scenario(
        runtime=f"prng_seed = {seed}\nduration_seconds = {duration_s}",
        extra=f"""
[schedule]
type = "arrival_rate"
rate = {rate}
arrivals = "poisson"
vus = {vus}
max_vus = {max_vus}

[simulation]
latency = {{ type = "exponential", mean_ms = {mean_ms} }}
{capacity_line}
""")


class Totals:
    def __init__(self) -> None:
        self.latency_ns = 0
        self.responses = 0
        self.issued = 0
        self.dropped = 0

    def __call__(self, chunk: np.ndarray) -> None:
        kind = chunk["kind"]
        received = kind == z6.EventKind.RESPONSE_RECEIVED
        self.latency_ns += int(chunk["value_ns"][received].sum(dtype=np.uint64))
        self.responses += int(np.count_nonzero(received))
        self.issued += int(np.count_nonzero(kind == z6.EventKind.REQUEST_ISSUED))
        self.dropped += int(np.count_nonzero(kind == z6.EventKind.ITERATION_DROPPED))


def test_erlang_formulas_known_values():
    # Textbook values: B(1, 1) = 1/2; C(1, a) = a (M/M/1: P(wait) = rho).
    assert erlang_b(1, 1.0) == pytest.approx(0.5)
    assert erlang_c(1, 0.7) == pytest.approx(0.7)
    assert erlang_b(10, 8.0) == pytest.approx(0.1217, abs=1e-4)


@pytest.mark.parametrize("c, rate, duration_s", [
    (1, 500.0, 2000.0),     # utilisation 0.5
    (2, 1600.0, 1500.0),    # utilisation 0.8
    (8, 7600.0, 3600.0),    # utilisation 0.95 (slow to mix: an hour of simulated arrivals)
])
def test_mean_queue_wait_matches_erlang_c(c, rate, duration_s):
    mean_ms = 1.0
    a = rate * mean_ms / 1000
    expected_wait_ms = erlang_c(c, a) * mean_ms / (c - a)
    totals = Totals()
    plan = compile_plan(open_scenario(rate, duration_s, vus=64, max_vus=20_000, mean_ms=mean_ms,
                                      capacity=c, seed=11))
    run_plan(plan, [totals])
    assert totals.dropped == 0
    assert totals.issued == pytest.approx(rate * duration_s, rel=0.01)
    wait_ms = totals.latency_ns / totals.responses / 1e6 - mean_ms
    assert wait_ms == pytest.approx(expected_wait_ms, rel=0.03), (c, a, wait_ms, expected_wait_ms)


def test_a_wrong_capacity_misses_erlang_c():
    # The check can fail: the same load served by one more server waits far less.
    totals = Totals()
    run_plan(compile_plan(open_scenario(1600.0, 300.0, 64, 20_000, 1.0, capacity=3, seed=11)), [totals])
    wait_ms = totals.latency_ns / totals.responses / 1e6 - 1.0
    assert wait_ms < 0.5 * erlang_c(2, 1.6) * 1.0 / (2 - 1.6)


@pytest.mark.parametrize("c, a", [(10, 8.0), (4, 2.0)])
def test_dropped_arrivals_match_erlang_b(c, a):
    mean_ms = 10.0
    rate = a / mean_ms * 1000
    duration_s = 1_000_000 / rate
    totals = Totals()
    run_plan(compile_plan(open_scenario(rate, duration_s, vus=c, max_vus=c, mean_ms=mean_ms,
                                        capacity=None, seed=5)), [totals])
    arrivals = totals.issued + totals.dropped
    assert arrivals == pytest.approx(rate * duration_s, rel=0.01)
    assert totals.dropped / arrivals == pytest.approx(erlang_b(c, a), rel=0.03)
