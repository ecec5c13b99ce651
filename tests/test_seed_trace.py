"""The seed-compatibility profile reproduces the original engine's trace."""

from __future__ import annotations

import re

import numpy as np
import pytest

import z6
import z6core
from z6.events import EventKind


def _seed_plan(vectors):
    config = vectors["engine_trace"]["config"]
    return z6.original_profile_plan(
        vus=config["max_vus"],
        duration_ticks=config["duration_ticks"],
        think_ticks=config["think_time_ticks"],
        seed=config["prng_seed"],
        weights_f32=config["requests_weights"],
    )


def _as_reference(events):
    out = []
    for e in events:
        item = {"tick": int(e["tick"]), "vu_id": int(e["vu_id"]), "event": EventKind(int(e["kind"])).name.lower()}
        if e["kind"] == EventKind.REQUEST_ISSUED:
            item["request_index"] = int(e["request"])
        out.append(item)
    return out


@pytest.mark.parametrize("chunk", [4, 5, 7, 64, 65536])
def test_engine_trace_event_for_event(seed_vectors, chunk):
    trace = seed_vectors["engine_trace"]
    events = z6.events.concat_chunks(z6.iter_chunks(_seed_plan(seed_vectors), chunk))
    assert _as_reference(events) == trace["events"]
    assert len(events) == trace["summary"]["events_emitted"]
    assert int((events["kind"] == EventKind.REQUEST_ISSUED).sum()) == trace["summary"]["total_requests"]
    assert int(events["tick"].max()) == trace["summary"]["final_tick"]


def test_engine_selection_sequence(seed_vectors):
    events = z6.events.concat_chunks(z6.iter_chunks(_seed_plan(seed_vectors)))
    issued = events[events["kind"] == EventKind.REQUEST_ISSUED]
    assert issued["request"].tolist() == seed_vectors["engine_trace"]["engine_selection_sequence"]


def test_trace_text_file(seed_vectors, seed_trace_text):
    # Render our events in the text file's format and compare line by line.
    events = z6.events.concat_chunks(z6.iter_chunks(_seed_plan(seed_vectors)))
    lines = []
    final = int(events["tick"].max())
    for tick in range(1, final + 1):
        here = events[events["tick"] == tick]
        parts = []
        for e in here:
            name = EventKind(int(e["kind"])).name.lower()
            if e["kind"] == EventKind.REQUEST_ISSUED:
                name += f"(req {int(e['request'])})"
            parts.append(f"vu{int(e['vu_id'])} {name}")
        lines.append(f"tick {tick:2d}: " + (", ".join(parts) if parts else "-"))
    want = [re.sub(r"\s+$", "", line) for line in seed_trace_text.strip().splitlines()]
    assert lines == want


def test_weighted_pick_sequence(seed_vectors):
    sel = seed_vectors["select_request"]
    got = z6core.sample_original_f32(np.array(sel["weights_f32"], np.float32), int(sel["seed"]), len(sel["request_indices"]))
    assert got.tolist() == sel["request_indices"]
    # and the f32 intermediate values bit for bit
    g = z6core.Xorshift64Star(int(sel["seed"]))
    for row in sel["first_20"]:
        rand_val = np.float32(g.seed_float() * float(np.float32(sel["total_weight_f32"])))
        assert int(rand_val.view(np.uint32)) == int(row["rand_val_f32_bits_hex"], 16)


def test_seed_profile_cannot_be_split(seed_vectors):
    with pytest.raises(z6.ConfigError, match="seed-compatibility"):
        _seed_plan(seed_vectors).shard(0, 1)


# -- the original engine's stop: run() ends after tick duration + 1000 ----------------------


def _original_run(vus, duration_ticks, think_ticks, seed, weights):
    """The original engine's VUEngine.run(), transcribed from src/vu_engine.zig
    (spawnAllVUs at tick 0, then `while (!isComplete() and tick_count <
    duration_ticks + 1000) tick()`): (events as in the reference, its final tick)."""
    picks = iter(z6core.sample_original_f32(np.array(weights, np.float32), seed, 100_000).tolist())
    state = ["spawned"] * vus
    count = [0] * vus
    last = [0] * vus
    events = []
    tick = 0
    for _ in range(duration_ticks + 1000):
        if all(s == "complete" for s in state):
            break
        tick += 1
        for i in range(vus):
            vu_id = i + 1
            if state[i] == "spawned":
                state[i] = "ready"
                events.append({"tick": tick, "vu_id": vu_id, "event": "vu_ready"})
            elif state[i] == "ready":
                if count[i] == 0 or tick - last[i] >= think_ticks:
                    count[i] += 1
                    last[i] = tick
                    state[i] = "executing"
                    events.append({"tick": tick, "vu_id": vu_id, "event": "request_issued",
                                   "request_index": next(picks)})
            elif state[i] == "executing":
                state[i] = "waiting"
            elif state[i] == "waiting":
                events.append({"tick": tick, "vu_id": vu_id, "event": "response_received"})
                if tick >= duration_ticks:
                    state[i] = "complete"
                    events.append({"tick": tick, "vu_id": vu_id, "event": "vu_complete"})
                else:
                    state[i] = "ready"
    return events, tick


def test_the_transcribed_original_gives_the_reference_trace(seed_vectors):
    config = seed_vectors["engine_trace"]["config"]
    events, final_tick = _original_run(config["max_vus"], config["duration_ticks"], config["think_time_ticks"],
                                       config["prng_seed"], config["requests_weights"])
    assert events == seed_vectors["engine_trace"]["events"]
    assert final_tick == seed_vectors["engine_trace"]["summary"]["final_tick"]


@pytest.mark.parametrize("vus, duration, think, seed", [
    (3, 50, 10, 42),      # the reference configuration: every VU completes, no stop
    (3, 50, 1500, 42),    # think > 1000: every VU still thinking at tick 1050
    (3, 50, 1047, 42),    # the second request issued at 1049: its response (1051) never comes
    (3, 50, 1048, 42),    # issued at 1050, the last tick: no outcome either
    (4, 20, 999, 7),      # the second request answered at 1003, after the duration: all complete
    (5, 1, 400, 3),       # duration 1: every VU completes at its first response
    (2, 100, 1098, 5),    # the second request issued at 1100, the last tick: no outcome
    (2, 1000, 1, 9),      # a long duration: completes before the stop
])
def test_the_profile_stops_where_the_original_does(vus, duration, think, seed):
    weights = [5.0, 3.0, 2.0]
    want, final_tick = _original_run(vus, duration, think, seed, weights)
    plan = z6.original_profile_plan(vus=vus, duration_ticks=duration, think_ticks=think, seed=seed,
                                    weights_f32=weights)
    engine = z6core.Engine(plan)
    chunks = []
    while not engine.finished:
        out = np.empty(7, dtype=z6.EVENT_DTYPE)
        chunks.append(out[:engine.fill(out)])
    events = np.concatenate(chunks)
    assert _as_reference(events) == want
    # Nothing after tick duration + 1000; the engine's clock ends where the original's does.
    assert int(events["tick"].max()) <= duration + 1000
    assert int(engine.tick) == final_tick
    if final_tick == duration + 1000 and think > 1000:
        # Stopped with VUs thinking or mid-request: no vu_complete for them, as in the original.
        assert int((events["kind"] == EventKind.VU_COMPLETE).sum()) < vus
