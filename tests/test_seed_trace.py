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
