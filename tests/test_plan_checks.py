"""One plan loader for both engines: the same bad plan is refused by the
simulated `Engine` and the live `LiveEngine` with the same message, and both
`fill()`s check their buffer the same way."""

from __future__ import annotations

import dataclasses
import pathlib
import re
import socket

import numpy as np
import pytest

import z6
import z6core
from conftest import scenario
from z6.live._target import LiveTarget

SRC = pathlib.Path(__file__).resolve().parent.parent / "src" / "z6core"
LIMIT = z6core.CLOCK_LIMIT_NS
U32 = 2**32 - 1


@pytest.fixture(scope="module")
def plan():
    return z6.compile_plan(scenario("duration_seconds = 1\nvus = 4"))


def target_for(n_requests: int) -> LiveTarget:
    # 127.0.0.1:9 (discard): nothing needs to listen, constructing never connects.
    wire = tuple(b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n" for _ in range(n_requests))
    return LiveTarget(base_url="http://127.0.0.1:9", family=socket.AF_INET, address=bytes([127, 0, 0, 1]),
                      port=9, requests=wire, head=(False,) * n_requests, replayable=(True,) * n_requests,
                      connect_timeout_ns=10**9)


def live_engine(plan) -> z6core.LiveEngine:
    return z6core.LiveEngine(plan, target_for(len(plan.cum_weights)))


def u64(*values):
    return np.array(values, np.uint64)


# One bad plan per rule that applies to both engines, and the message both give.
SHARED_RULES = [
    ("vu_id_step", dict(vu_id_step=0), "plan.vu_id_step must be between 1 and 2**32-1, got 0"),
    ("tick_ns", dict(tick_ns=0), "plan.tick_ns must be >= 1, got 0"),
    ("graceful horizon", dict(graceful_ns=LIMIT + 1), f"plan.graceful_ns must be at most {LIMIT}, got {LIMIT + 1}"),
    ("stop_ns per VU", dict(stop_ns=u64(10**9, 10**9, 10**9)),
     "plan.stop_ns: expected 4 entries (one per VU), got 3"),
    ("no VUs", dict(spawn_tick=u64(), stop_ns=u64()), f"plan must have between 1 and {U32 - 1} VUs, got 0"),
    ("spawn order", dict(spawn_tick=u64(3, 2, 1, 0)), "plan.spawn_tick must be non-decreasing in vu_id"),
    ("stop horizon", dict(stop_ns=u64(LIMIT + 1, 10**9, 10**9, 10**9)),
     f"plan.stop_ns must be at most {LIMIT} (the clock's horizon)"),
    ("stop after spawn", dict(stop_ns=u64(10**9, 10**9, 10**9, 0)),
     "plan.stop_ns must be at least one tick after each VU's spawn tick"),
    ("first_vu_id zero", dict(first_vu_id=0), "plan.first_vu_id out of range: 0"),
    ("ids past 32 bits", dict(first_vu_id=U32 - 2), f"plan.first_vu_id out of range: {U32 - 2}"),
    ("ids past 32 bits by step", dict(vu_id_step=2**31), "plan.first_vu_id out of range: 1"),
    ("no requests", dict(cum_weights=u64(), timeout_ns=u64()), "plan must have between 1 and 65534 requests, got 0"),
    ("weights total", dict(cum_weights=u64(0)), "plan.cum_weights must be non-decreasing with a positive total"),
    ("weights order", dict(cum_weights=u64(5, 2), timeout_ns=u64(1, 1)),
     "plan.cum_weights must be non-decreasing with a positive total"),
    ("timeout positive", dict(timeout_ns=u64(0)), "plan.timeout_ns must hold one positive timeout per request"),
    ("timeout per request", dict(timeout_ns=u64(1, 1)), "plan.timeout_ns must hold one positive timeout per request"),
    ("step lengths", dict(step_request=np.zeros(2, np.uint16), step_repeat=np.ones(1, np.uint32)),
     "plan.step_request and plan.step_repeat must have the same length (< 65535)"),
    ("step count", dict(step_request=np.zeros(65535, np.uint16), step_repeat=np.ones(65535, np.uint32)),
     "plan.step_request and plan.step_repeat must have the same length (< 65535)"),
    ("step request", dict(step_request=np.array([3], np.uint16), step_repeat=np.array([1], np.uint32)),
     "plan sequence steps must name existing requests and repeat at least once"),
    ("step repeat", dict(step_request=np.array([0], np.uint16), step_repeat=np.array([0], np.uint32)),
     "plan sequence steps must name existing requests and repeat at least once"),
    ("think kind", dict(think=(3, 1.0, 1.0)), "plan.think: kind must be constant, uniform or exponential, got 3"),
    ("iterations high", dict(iterations=U32), f"plan.iterations must be between 0 and {U32 - 1}, got {U32}"),
    ("iterations negative", dict(iterations=-1), f"plan.iterations must be between 0 and {U32 - 1}, got -1"),
    ("one-dimensional spawn", dict(spawn_tick=np.zeros((2, 2), np.uint64)),
     "plan.spawn_tick must be one-dimensional, got shape (2, 2)"),
    ("one-dimensional weights", dict(cum_weights=np.ones((1, 1), np.uint64)),
     "plan.cum_weights must be one-dimensional, got shape (1, 1)"),
    ("one-dimensional repeat", dict(step_request=np.zeros(1, np.uint16), step_repeat=np.ones((1, 1), np.uint32)),
     "plan.step_repeat must be one-dimensional, got shape (1, 1)"),
]


@pytest.mark.parametrize("change, message", [rule[1:] for rule in SHARED_RULES], ids=[r[0] for r in SHARED_RULES])
def test_both_engines_refuse_a_bad_plan_alike(plan, change, message):
    bad = dataclasses.replace(plan, **change)
    with pytest.raises(ValueError, match=re.escape(message)) as simulated:
        z6core.Engine(bad)
    with pytest.raises(ValueError, match=re.escape(message)) as live:
        live_engine(bad)
    with pytest.raises(ValueError, match=re.escape(message)):
        z6core.expected_requests(bad, np.array([1], np.uint32), np.array([1], np.uint32))
    assert str(simulated.value) == str(live.value) == message


# The simulated target's rules: only the engine that runs it checks them.
MODEL_RULES = [
    (dict(profile=5), "plan.profile must be 0 or 1, got 5"),
    (dict(latency=(9, 1.0, 1.0)), "plan.latency: unknown distribution kind 9"),
    (dict(error_rate=1.5), "plan.error_rate must be within [0, 1], got 1.5"),
    (dict(status_cum=u64(0)), "plan.status_codes and plan.status_cum must be non-empty, equal in length"),
    (dict(status_codes=np.zeros((1, 1), np.uint16)), "plan.status_codes must be one-dimensional"),
    (dict(capacity=-1), "plan.capacity must be >= 0 (0: unlimited), got -1"),
    (dict(profile=z6core.PROFILE_ORIGINAL, original_weights_f32=np.ones(3, np.float32)),
     "the seed profile needs one f32 weight per request"),
]


@pytest.mark.parametrize("change, message", MODEL_RULES)
def test_the_modelled_target_is_checked_by_the_simulated_engine_only(plan, change, message):
    bad = dataclasses.replace(plan, **change)
    with pytest.raises(ValueError, match=re.escape(message)):
        z6core.Engine(bad)
    live_engine(bad).close()     # the live driver never runs the model


def test_a_good_plan_builds_the_same_vu_table_in_both(plan):
    shard = plan.shard(1, 4, 2)
    simulated, live = z6core.Engine(shard), live_engine(shard)
    try:
        assert simulated.vus.tobytes() == live.vus.tobytes()
        assert simulated.vus["vu_id"].tolist() == [2, 4]
        assert set(simulated.vus["iter_left"].tolist()) == {z6core.ITER_UNLIMITED}
    finally:
        live.close()


def fill_cases():
    read_only = np.empty(16, z6core.EVENT_DTYPE)
    read_only.flags.writeable = False
    lookalike = np.dtype([("a", "<u8"), ("b", "<u8"), ("c", "<u8"), ("d", "<u8")])   # 32 bytes, not an event
    return [
        ("bytes", np.empty(16, np.uint8), TypeError, "out must be a 1-d numpy array of EVENT_DTYPE, got ndarray uint8"),
        ("lookalike", np.empty(16, lookalike), TypeError, "out must be a 1-d numpy array of EVENT_DTYPE, got ndarray"),
        ("list", [0] * 16, TypeError, "out must be a 1-d numpy array of EVENT_DTYPE, got list None"),
        ("2-d", np.empty((4, 4), z6core.EVENT_DTYPE), TypeError, "of shape (4, 4)"),
        ("small", np.empty(2, z6core.EVENT_DTYPE), ValueError, "out must hold at least 4 events, got 2"),
        ("read-only", read_only, ValueError, "out must be C-contiguous and writable"),
        ("strided", np.empty(32, z6core.EVENT_DTYPE)[::2], ValueError, "out must be C-contiguous and writable"),
    ]


@pytest.mark.parametrize("out, error, message", [c[1:] for c in fill_cases()], ids=[c[0] for c in fill_cases()])
def test_both_fills_check_their_buffer_alike(plan, out, error, message):
    simulated, live = z6core.Engine(plan), live_engine(plan)
    try:
        with pytest.raises(error, match=re.escape(message)) as a:
            simulated.fill(out)
        with pytest.raises(error, match=re.escape(message)) as b:
            live.fill(out)
        assert str(a.value) == str(b.value)
        assert live.elapsed_ns == 0      # a refused buffer never starts the live clock
    finally:
        live.close()


def test_debug_checks_come_from_one_header():
    # Both engines include z6_debug.h (through _defs.pxd) and use Z6_CHECK; no
    # module defines its own. On a debug build (Z6_DEBUG=1, z6core.DEBUG_BUILD)
    # the live tests run the live driver's invariant checks.
    header = (SRC / "z6_debug.h").read_text()
    assert "#define Z6_CHECK" in header and "#define Z6_DEBUG_BUILD" in header
    assert 'cdef extern from "z6_debug.h"' in (SRC / "_defs.pxd").read_text()
    for name in ("_engine.pyx", "_live.pyx", "_lifecycle.pxd"):
        text = (SRC / name).read_text()
        assert "Z6_CHECK(" in text, name
        assert "#define Z6_CHECK" not in text and "#define Z6_DEBUG_BUILD" not in text, name
    assert isinstance(z6core.DEBUG_BUILD, bool)
