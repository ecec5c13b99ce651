"""Edge cases: the clock's horizon, extreme draws, bounds and rounding rules."""

from __future__ import annotations

import math

import numpy as np
import pytest

import z6
import z6core
from z6.events import EventKind, concat_chunks
from z6.metrics import nearest_rank
from z6.plan import integer_weights
from conftest import assert_tick_vu_order, merge_shards, scenario

MASK = 2**64 - 1


def _state_whose_next_output_is(output: int) -> int:
    """Invert one xorshift64* step: the state that yields ``output`` next."""
    x = (output * pow(0x2545F4914F6CDD1D, -1, 2**64)) & MASK

    def undo_right(y, k):
        r = y
        for _ in range(64 // k + 1):
            r = y ^ (r >> k)
        return r & MASK

    def undo_left(y, k):
        r = y
        for _ in range(64 // k + 1):
            r = (y ^ (r << k)) & MASK
        return r

    return undo_right(undo_left(undo_right(x, 27), 25), 12)


def test_state_inversion_helper():
    state = _state_whose_next_output_is(0xFFFFFFFFFFFFF923)
    assert z6core.Xorshift64Star(state).next_u64() == 0xFFFFFFFFFFFFF923


def test_lognormal_top_draw_is_the_largest_not_zero():
    # u = 1 - 2**-53, the largest float the stream can give: its latency must be
    # the distribution's far tail, not 0 (u + 2**-54 rounds to 1.0 in doubles).
    mu, sigma = math.log(20e6), math.log(4) / 2.3263478740408408
    state = _state_whose_next_output_is(0xFFFFFFFFFFFFF923)
    assert z6core.Xorshift64Star(state).float() == 1 - 2**-53
    top = int(z6core.sample_duration_ns(z6core.DIST_LOGNORMAL, mu, sigma, state, 1)[0])
    assert top > 20e6 * 4 ** (8.0 / 2.3263478740408408)        # beyond z = 8


def test_iterations_run_stops_at_the_clock_horizon_without_wrapping():
    # 100-day think times, 3000 iterations: more than the horizon (2**62 ns) holds.
    sc = scenario("vus = 1\niterations = 3000",
                  extra='[think_time]\ntype = "constant"\nduration_ms = 8640000000\n\n'
                        '[simulation]\nlatency = { type = "constant", ms = 1 }')
    plan = z6.compile_plan(sc)
    events = concat_chunks(z6.iter_chunks(plan))
    ticks = events["tick"].astype(np.uint64)
    assert np.all(np.diff(ticks.astype(object)) >= 0)            # never goes back
    assert int(ticks.max()) <= z6core.CLOCK_LIMIT_NS // plan.tick_ns
    issued = np.count_nonzero(events["kind"] == EventKind.REQUEST_ISSUED)
    assert 0 < issued < 3000
    assert events["kind"][-1] == EventKind.VU_COMPLETE


def test_far_future_vus_leave_the_heap_in_order():
    # Exponential think with a 60 s mean at 10 us ticks: most waits end several
    # wheel blocks (65,536 ticks) ahead, in the far heap.
    sc = scenario("duration_seconds = 600\nvus = 300\ntick_ms = 0.01",
                  extra='[think_time]\ntype = "exponential"\nmean_ms = 60000\n\n'
                        '[simulation]\nlatency = { type = "uniform", min_ms = 1, max_ms = 900 }')
    plan = z6.compile_plan(sc)
    whole = concat_chunks(z6.iter_chunks(plan))
    assert_tick_vu_order(whole)
    assert z6.event_digest([whole]) == z6.event_digest(z6.iter_chunks(plan, 13))
    parts = [concat_chunks(z6.iter_chunks(plan.shard(a, b))) for a, b in ((0, 120), (120, 300))]
    assert merge_shards(parts).tobytes() == whole.tobytes()


@pytest.mark.parametrize("runtime, extra, needle", [
    ("duration_seconds = 1e11\nvus = 1", "", "horizon"),
    ("duration_seconds = 1\nvus = 1\ngraceful_stop_seconds = 1e11", "", "graceful_stop_seconds"),
    ("vus = 1\niterations = 4294967295", "", "iterations"),
    ("duration_seconds = 1\nvus = 1", '[think_time]\ntype = "constant"\nduration_ms = 1e13', "think_time"),
])
def test_values_beyond_the_engine_are_config_errors(runtime, extra, needle):
    sc = scenario(runtime, extra=extra + '\n[simulation]\nlatency = { type = "constant", ms = 1 }')
    with pytest.raises(z6.ConfigError, match=needle):
        z6.compile_plan(sc)


def test_duration_override_beyond_the_horizon():
    with pytest.raises(z6.ConfigError, match="horizon"):
        z6.compile_plan(scenario(), duration_s=1e300)


def test_a_schedule_that_never_reaches_one_vu_is_a_config_error():
    sc = scenario("duration_seconds = 0.001\ntick_ms = 1",
                  extra='[schedule]\ntype = "ramp"\nstart_vus = 0\nend_vus = 1\nramp_duration_seconds = 0.001\n\n'
                        '[simulation]\nlatency = { type = "constant", ms = 1 }')
    with pytest.raises(z6.ConfigError, match="no VU"):
        z6.compile_plan(sc)


def test_steps_round_boundaries_from_the_start():
    steps = "".join(f"\n[[schedule.steps]]\nvus = {v}\nduration_seconds = 0.0015\n" for v in (1, 2, 3))
    sc = scenario("", extra='[schedule]\ntype = "steps"\n' + steps +
                  '\n[simulation]\nlatency = { type = "constant", ms = 0.1 }')
    plan = z6.compile_plan(sc)
    # boundaries 0, 1.5, 3.0, 4.5 ms -> ticks 0, 2, 3, 5: the steps add up to 4.5 ms
    assert int(plan.end_tick) == 5
    assert plan.spawn_tick.tolist() == [0, 2, 3]


def test_smallest_weight_survives_rounding_half_up():
    assert integer_weights([5e-7, 1.0]).tolist() == [1, 1_000_000]
    with pytest.raises(z6.ConfigError, match="0.0000005"):
        integer_weights([4e-7, 1.0])


def test_p999_of_a_thousand_values_is_the_999th():
    values = np.arange(1000.0)
    assert nearest_rank(values, 99.9) == 998.0
    assert nearest_rank(values, 50) == 499.0
    assert nearest_rank(values, 99) == 989.0
    assert nearest_rank(np.arange(1001.0), 99.9) == 999.0
