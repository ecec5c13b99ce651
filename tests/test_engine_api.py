"""The engine's boundary: bad plans and bad buffers are refused with a reason."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

import z6
import z6core
from conftest import scenario


@pytest.fixture()
def plan():
    return z6.compile_plan(scenario("duration_seconds = 1\nvus = 4"))


@pytest.mark.parametrize("change, message", [
    (dict(tick_ns=0), "tick_ns"),
    (dict(profile=5), "profile"),
    (dict(spawn_tick=np.array([3, 2, 1, 0], np.uint64)), "non-decreasing"),
    (dict(stop_ns=np.zeros(4, np.uint64)), "stop_ns"),
    (dict(stop_ns=np.ones(3, np.uint64) * 10**9), "stop_ns"),
    (dict(cum_weights=np.zeros(1, np.uint64)), "cum_weights"),
    (dict(cum_weights=np.array([5, 2], np.uint64)), "cum_weights"),
    (dict(timeout_ns=np.zeros(1, np.uint64)), "timeout_ns"),
    (dict(step_request=np.array([3], np.uint16), step_repeat=np.array([1], np.uint32)), "sequence"),
    (dict(status_cum=np.zeros(1, np.uint64)), "status"),
    (dict(spawn_tick=np.zeros((2, 2), np.uint64)), "one-dimensional"),
    (dict(think=(3, 1.0, 1.0)), "think"),
    (dict(latency=(9, 1.0, 1.0)), "latency"),
    (dict(error_rate=1.5), "error_rate"),
])
def test_bad_plans_are_refused(plan, change, message):
    with pytest.raises(ValueError, match=message):
        z6core.Engine(dataclasses.replace(plan, **change))


def test_fill_checks_its_buffer(plan):
    engine = z6core.Engine(plan)
    with pytest.raises(TypeError):
        engine.fill(np.empty(16, np.uint8))
    with pytest.raises(ValueError):
        engine.fill(np.empty(2, z6core.EVENT_DTYPE))
    read_only = np.empty(16, z6core.EVENT_DTYPE)
    read_only.flags.writeable = False
    with pytest.raises(ValueError):
        engine.fill(read_only)
    with pytest.raises(ValueError):
        engine.fill(np.empty(32, z6core.EVENT_DTYPE)[::2])


def test_every_chunk_but_the_last_is_full(plan):
    engine = z6core.Engine(plan)
    sizes = []
    while not engine.finished:
        sizes.append(engine.fill(np.empty(10, z6core.EVENT_DTYPE)))
    assert all(n == 10 for n in sizes[:-1]) and 0 < sizes[-1] <= 10
    assert sum(sizes) == engine.events_emitted
    assert engine.fill(np.empty(10, z6core.EVENT_DTYPE)) == 0   # done stays done


def test_shard_bounds(plan):
    with pytest.raises(ValueError):
        plan.shard(3, 3)
    with pytest.raises(ValueError):
        plan.shard(0, 5)
    assert plan.shard(1, 3).first_vu_id == 2


@pytest.mark.parametrize("engine", [z6core.Engine, z6core.LiveEngine])
def test_the_engines_are_final_classes(engine):
    # cython.final lets the loops call their own methods directly instead of
    # through the vtable; losing it slows the hot path without failing anything else.
    with pytest.raises(TypeError, match="not an acceptable base type"):
        type("Sub", (engine,), {})
