"""(a) The original's workload: 10,000 VUs x 10,000 ticks, think 10 ticks, 2-tick requests.

The original Zig engine ran it in 0.19 s counting events without storing them
(5.2e8 VU-ticks/s, ~1e8 events/s). Here z6 writes every 32-byte event record into
one reused chunk buffer of 65,536 records:

* seed profile: `z6.original_profile_plan` at tick_ns = 1 ms, exactly the original's
  semantics (one shared stream, think counted from issue, 2-tick requests);
* default profile: scenarios/original_10k.toml (constant 10,000 VUs, 10 s at
  tick_ms = 1, think constant 10 ms, constant 2 ms latency).

Each round builds a fresh Engine (not timed) and runs it to the end (timed).
"""

from __future__ import annotations

import numpy as np
import pytest

import z6
import z6core
from _z6bench import CHUNK_RECORDS, ORIGINAL_WALL_S, SCENARIOS, drain, rate

VUS = 10_000
TICKS = 10_000
THINK_TICKS = 10
LATENCY_TICKS = 2
TICK_NS = 1_000_000
VU_TICKS = VUS * TICKS
ROUNDS = 10


def _seed_plan():
    return z6.original_profile_plan(vus=VUS, duration_ticks=TICKS, think_ticks=THINK_TICKS, seed=42,
                                weights_f32=[5.0, 3.0, 2.0], tick_ns=TICK_NS, latency_ticks=LATENCY_TICKS)


def _default_plan():
    plan = z6.compile_plan(z6.load_scenario(SCENARIOS / "original_10k.toml"))
    assert plan.n_vus == VUS and plan.tick_ns == TICK_NS and plan.end_tick == TICKS
    return plan


@pytest.mark.parametrize("profile", ["seed", "default"])
def test_original_workload(benchmark, z6_figures, profile):
    plan = _seed_plan() if profile == "seed" else _default_plan()
    buf = np.empty(CHUNK_RECORDS, dtype=z6core.EVENT_DTYPE)
    engines = []

    def setup():
        engine = z6core.Engine(plan)
        engines.append(engine)
        return (engine, buf), {}

    events = benchmark.pedantic(drain, setup=setup, rounds=ROUNDS, iterations=1, warmup_rounds=1)

    last = engines[-1]
    assert events > 0 and events == last.events_emitted
    assert last.requests_issued > 0
    stats = benchmark.stats.stats if benchmark.stats else None
    t_min = stats.min if stats else float("nan")
    t_med = stats.median if stats else float("nan")
    z6_figures({
        "profile": profile,
        "events": int(events),
        "requests": int(last.requests_issued),
        "final_tick": int(last.tick),
        "min_s": t_min,
        "median_s": t_med,
        "events_per_s_min": rate(events, t_min),
        "events_per_s_median": rate(events, t_med),
        "vu_ticks_per_s_min": rate(VU_TICKS, t_min),
        "vu_ticks_per_s_median": rate(VU_TICKS, t_med),
        "ratio_vs_0.19s_min": t_min / ORIGINAL_WALL_S,
        "ratio_vs_0.19s_median": t_med / ORIGINAL_WALL_S,
    })
