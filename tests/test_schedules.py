"""Schedules: the active-VU curve matches the declared shape; graceful stop."""

from __future__ import annotations

import numpy as np
import pytest

import z6
from z6.events import EventKind, concat_chunks
from conftest import scenario

LATENCY_TICKS = 5  # constant 5 ms latency at 1 ms ticks
SIM = '[think_time]\ntype = "constant"\nduration_ms = 20\n\n[simulation]\nlatency = { type = "constant", ms = 5 }\n'


def _run(runtime, schedule):
    sc = scenario(runtime, extra=schedule + "\n" + SIM)
    plan = z6.compile_plan(sc)
    return plan, concat_chunks(z6.iter_chunks(plan))


def _active_curve(events, end):
    spawned = np.bincount(events["tick"][events["kind"] == EventKind.VU_SPAWNED].astype(np.int64), minlength=end + 50)
    complete = np.bincount(events["tick"][events["kind"] == EventKind.VU_COMPLETE].astype(np.int64), minlength=end + 50)
    return np.cumsum(spawned) - np.cumsum(complete)


def _check_shape(events, declared, end):
    """Equal to the declared curve, except just after a drop, where VUs with a
    request in flight finish it first (graceful stop): between the new and the
    old level for at most the latency."""
    active = _active_curve(events, end)[:end]
    t = np.arange(end)
    lagged = declared(np.maximum(t - LATENCY_TICKS, 0))
    high = np.maximum(declared(t), lagged)
    assert np.all(active >= declared(t)), "fewer VUs active than declared"
    assert np.all(active <= high), "more VUs active than declared"
    exact = declared(t) == lagged
    np.testing.assert_array_equal(active[exact], declared(t)[exact])


def _no_request_after_end(plan, events):
    stop_tick = (plan.stop_ns // np.uint64(plan.tick_ns)).astype(np.int64)
    issued = events[events["kind"] == EventKind.REQUEST_ISSUED]
    assert np.all(issued["tick"].astype(np.int64) < stop_tick[issued["vu_id"] - 1])
    done = events[events["kind"] == EventKind.VU_COMPLETE]
    assert len(done) == plan.n_vus
    assert np.all(done["tick"].astype(np.int64) >= stop_tick[done["vu_id"] - 1])
    assert np.all(done["tick"].astype(np.int64) <= stop_tick[done["vu_id"] - 1] + LATENCY_TICKS)


def test_constant():
    plan, events = _run("duration_seconds = 2\nvus = 40", '[schedule]\ntype = "constant"')
    _check_shape(events, lambda t: np.where(t < 2000, 40, 0), 2000)
    _no_request_after_end(plan, events)


@pytest.mark.parametrize("start, end", [(0, 100), (10, 250), (100, 0), (300, 40)])
def test_ramp(start, end):
    ramp, hold = 1000, 500
    plan, events = _run("", f'[schedule]\ntype = "ramp"\nstart_vus = {start}\nend_vus = {end}\n'
                            f"ramp_duration_seconds = {ramp / 1000}\nhold_duration_seconds = {hold / 1000}")

    def declared(t):
        t = np.asarray(t, dtype=np.int64)
        step = np.minimum(t, ramp) * abs(end - start) // ramp
        level = start + step if end >= start else start - step
        return np.where(t < ramp + hold, level, 0)

    _check_shape(events, declared, ramp + hold)
    _no_request_after_end(plan, events)


def test_spike():
    plan, events = _run("duration_seconds = 3", '[schedule]\ntype = "spike"\nbaseline_vus = 20\n'
                        'spike_vus = 150\nspike_start_seconds = 1\nspike_duration_seconds = 0.5')
    _check_shape(events, lambda t: np.where(t < 3000, np.where((t >= 1000) & (t < 1500), 150, 20), 0), 3000)
    _no_request_after_end(plan, events)


def test_steps_up_down_up_uses_new_ids():
    levels = [(30, 0.5), (80, 0.5), (10, 0.5), (60, 0.5)]
    steps = "".join(f"\n[[schedule.steps]]\nvus = {v}\nduration_seconds = {d}\n" for v, d in levels)
    plan, events = _run("", '[schedule]\ntype = "steps"\n' + steps)
    bounds = np.cumsum([0] + [int(d * 1000) for _, d in levels])

    def declared(t):
        t = np.asarray(t)
        idx = np.searchsorted(bounds, t, side="right") - 1
        vus = np.array([v for v, _ in levels] + [0])
        return vus[np.minimum(idx, len(levels))]

    _check_shape(events, declared, int(bounds[-1]))
    _no_request_after_end(plan, events)
    # 30 + 50 added, 70 retired, 50 added again: 130 distinct VU ids, spawn order = id order.
    spawned = events[events["kind"] == EventKind.VU_SPAWNED]
    assert spawned["vu_id"].tolist() == list(range(1, 131))
    assert np.all(np.diff(spawned["tick"].astype(np.int64)) >= 0)


def test_iterations_instead_of_duration():
    sc = scenario("vus = 7\niterations = 5", extra=SIM)
    events = concat_chunks(z6.iter_chunks(z6.compile_plan(sc)))
    issued = events[events["kind"] == EventKind.REQUEST_ISSUED]
    assert np.bincount(issued["vu_id"]).tolist()[1:] == [5] * 7
    assert np.count_nonzero(events["kind"] == EventKind.VU_COMPLETE) == 7


def test_sequence_order_and_repeat():
    requests = "".join(f'\n[[requests]]\nname = "{n}"\nmethod = "GET"\npath = "/{n}"\n'
                       for n in ("login", "browse", "logout"))
    seq = ('[sequence]\n[[sequence.steps]]\nrequest = "login"\n[[sequence.steps]]\nrequest = "browse"\n'
           'repeat = 3\n[[sequence.steps]]\nrequest = "logout"\n')
    sc = scenario("vus = 4\niterations = 2", requests=requests, extra=seq + SIM)
    events = concat_chunks(z6.iter_chunks(z6.compile_plan(sc)))
    for vu in range(1, 5):
        mine = events[(events["vu_id"] == vu) & (events["kind"] == EventKind.REQUEST_ISSUED)]
        assert mine["request"].tolist() == [0, 1, 1, 1, 2] * 2
        assert mine["seq"].tolist() == list(range(10))


def test_graceful_stop_cancels_requests_past_the_grace_period():
    sim = '[simulation]\nlatency = { type = "constant", ms = 2000 }\n'
    sc = scenario("duration_seconds = 1\nvus = 3\ngraceful_stop_seconds = 0.5", extra=sim)
    events = concat_chunks(z6.iter_chunks(z6.compile_plan(sc)))
    cancelled = events[events["kind"] == EventKind.REQUEST_CANCELLED]
    assert len(cancelled) == 3
    assert set(cancelled["tick"].tolist()) == {1500}
    assert set(cancelled["value_ns"].tolist()) == {(1500 - 1) * 1_000_000}    # issued at tick 1
    assert set(cancelled["error"].tolist()) == {int(z6.ErrorCode.CANCELLED)}
    done = events[events["kind"] == EventKind.VU_COMPLETE]
    assert set(done["tick"].tolist()) == {1500}


def test_graceful_stop_lets_requests_in_flight_finish():
    sim = '[simulation]\nlatency = { type = "constant", ms = 700 }\n'
    sc = scenario("duration_seconds = 1\nvus = 2\ngraceful_stop_seconds = 5", extra=sim)
    events = concat_chunks(z6.iter_chunks(z6.compile_plan(sc)))
    # issued at 1 and 701; the second response lands at 1401, after the end (1000)
    received = events[events["kind"] == EventKind.RESPONSE_RECEIVED]
    assert sorted(set(received["tick"].tolist())) == [701, 1401]
    done = events[events["kind"] == EventKind.VU_COMPLETE]
    assert set(done["tick"].tolist()) == {1401}
    assert np.count_nonzero(events["kind"] == EventKind.REQUEST_CANCELLED) == 0
