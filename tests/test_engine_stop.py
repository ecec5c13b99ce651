"""The simulated engine's stop (`Engine.stop`, what a run handle's stop() reaches):
no request and no VU after the stop, every request in flight ends within the
graceful stop (or at once when cancelled), every VU completes, the order holds,
and a stop at the same point gives the same events (docs/api.md "Stopping")."""

from __future__ import annotations

import numpy as np
import pytest

import z6
import z6core
from conftest import scenario
from z6.events import EventKind, outcome_mask

ISSUED = int(EventKind.REQUEST_ISSUED)
SPAWNED = int(EventKind.VU_SPAWNED)
COMPLETE = int(EventKind.VU_COMPLETE)
RECEIVED = int(EventKind.RESPONSE_RECEIVED)
CANCELLED = int(EventKind.REQUEST_CANCELLED)
CHUNK = 1000


def ramp_plan(latency_ms: float = 10, graceful_s: float = 1.0) -> z6.Plan:
    # VUs keep arriving for a minute: a stop must also end the spawning.
    text = scenario(f"duration_seconds = 120\nvus = 200\ngraceful_stop_seconds = {graceful_s}",
                    extra=f'[simulation]\nlatency = {{ type = "exponential", mean_ms = {latency_ms} }}')
    plan = z6.compile_plan(text, seed=5)
    plan = plan.__class__(**{**plan.__dict__, "spawn_tick": np.sort(np.linspace(0, 60_000, plan.n_vus)
                                                                       .astype(np.uint64))})
    return plan


def run_stopped(plan, chunks_before: int, cancel_in_flight: bool = False) -> tuple[np.ndarray, np.ndarray, int]:
    """The events before and after a stop asked for after ``chunks_before`` chunks,
    and the tick under way at the stop."""
    engine = z6core.Engine(plan)
    before = []
    for _ in range(chunks_before):
        out = np.empty(CHUNK, z6.EVENT_DTYPE)
        before.append(out[:engine.fill(out)])
    stop_tick = int(engine.tick)
    engine.stop(cancel_in_flight=cancel_in_flight)
    assert engine.stopping
    after = []
    while not engine.finished:
        out = np.empty(CHUNK, z6.EVENT_DTYPE)
        after.append(out[:engine.fill(out)])
    empty = np.empty(0, z6.EVENT_DTYPE)
    return np.concatenate(before or [empty]), np.concatenate(after or [empty]), stop_tick


def check_ordered_and_whole(events: np.ndarray) -> None:
    keys = events["tick"].astype(np.float64) * 2**32 + events["vu_id"]
    assert np.all(np.diff(keys) >= 0), "events out of (tick, vu_id) order"
    issued = events[events["kind"] == ISSUED]
    outcomes = events[outcome_mask(events["kind"])]
    assert sorted(zip(issued["vu_id"], issued["seq"])) == sorted(zip(outcomes["vu_id"], outcomes["seq"]))
    spawned = set(events[events["kind"] == SPAWNED]["vu_id"].tolist())
    assert spawned == set(events[events["kind"] == COMPLETE]["vu_id"].tolist())


@pytest.mark.parametrize("cancel_in_flight", [False, True])
def test_nothing_starts_after_the_stop_and_everything_ends(cancel_in_flight):
    plan = ramp_plan(latency_ms=400, graceful_s=1.0)
    before, after, stop_tick = run_stopped(plan, chunks_before=20, cancel_in_flight=cancel_in_flight)
    assert stop_tick >= int(before["tick"][-1])
    check_ordered_and_whole(np.concatenate([before, after]))
    # The tick under way finishes; nothing is issued or spawned after it.
    assert int(after[after["kind"] == ISSUED]["tick"].max(initial=0)) <= stop_tick
    assert int(after[after["kind"] == SPAWNED]["tick"].max(initial=0)) <= stop_tick
    spawned = np.count_nonzero(np.concatenate([before, after])["kind"] == SPAWNED)
    assert 0 < spawned < plan.n_vus
    graceful_ticks = 0 if cancel_in_flight else 1000
    outcomes = after[outcome_mask(after["kind"])]
    assert int(outcomes["tick"].max()) <= stop_tick + 1 + graceful_ticks
    late = outcomes[outcomes["tick"] > stop_tick + 1]
    cancelled = outcomes[outcomes["kind"] == CANCELLED]
    if cancel_in_flight:
        assert late.size == 0 and cancelled.size > 0
        assert set(cancelled["tick"].tolist()) == {stop_tick + 1}
    else:
        # 400 ms mean latency against a 1 s graceful stop: most finish, some are cut there.
        assert np.count_nonzero(late["kind"] == RECEIVED) > 0
        assert set(cancelled["tick"].tolist()) <= {stop_tick + 1 + graceful_ticks}


def test_a_stop_at_the_same_point_gives_the_same_events():
    plan = ramp_plan()
    first = np.concatenate(run_stopped(plan, chunks_before=7)[:2])
    second = np.concatenate(run_stopped(plan, chunks_before=7)[:2])
    assert first.tobytes() == second.tobytes()
    whole = np.concatenate(run_stopped(plan, chunks_before=10_000)[:2])
    assert whole.size > first.size


def test_a_stop_before_the_first_fill_runs_nothing():
    before, after, _ = run_stopped(ramp_plan(), chunks_before=0)
    assert before.size == 0 and after.size == 0


def test_a_second_stop_may_only_make_it_harsher():
    plan = ramp_plan(latency_ms=400, graceful_s=1.0)
    engine = z6core.Engine(plan)
    out = np.empty(CHUNK, z6.EVENT_DTYPE)
    engine.fill(out)
    stop_tick = int(engine.tick)
    engine.stop(cancel_in_flight=True)
    engine.stop()   # does not soften the first
    rest = []
    while not engine.finished:
        chunk = np.empty(CHUNK, z6.EVENT_DTYPE)
        rest.append(chunk[:engine.fill(chunk)])
    after = np.concatenate(rest)
    assert int(after[outcome_mask(after["kind"])]["tick"].max()) <= stop_tick + 1


def test_the_seed_profile_just_ends_at_the_stop():
    plan = z6.original_profile_plan(vus=50, duration_ticks=100_000, think_ticks=10, seed=1, weights_f32=[1.0])
    before, after, stop_tick = run_stopped(plan, chunks_before=5)
    # As the original engine at its last tick: the tick under way ends, then nothing.
    assert after.size > 0 or before.size == 5 * CHUNK
    assert int(after["tick"].max(initial=0)) <= stop_tick
    unstopped = np.concatenate(run_stopped(plan, chunks_before=10_000)[:2])
    assert int(unstopped["tick"].max()) > stop_tick + 1000
