"""Determinism as a tested feature: golden digests, seeds, chunking, splitting."""

from __future__ import annotations

import dataclasses
import json
import os

import pytest

import z6
from z6.events import concat_chunks, event_digest
from conftest import REPO, assert_tick_vu_order, merge_shards, scenario

# Golden digests cover the simulated examples (a live run's timings come from the server).
EXAMPLES = sorted(p for p in (REPO / "examples").glob("*.toml") if "[simulation]" in p.read_text())
GOLDEN = REPO / "tests" / "data" / "golden_digests.json"


def _digest(plan, chunk=65_536):
    return event_digest(z6.iter_chunks(plan, chunk))


def test_golden_digests_of_examples():
    """Each example's event stream is byte-identical to the recorded one.

    A change to the engine that alters any event changes these digests: that is a
    change of z6's compatibility guarantee and must be deliberate. Regenerate with
    Z6_UPDATE_GOLDEN=1 after such a change.
    """
    got = {path.name: _digest(z6.compile_plan(z6.load_scenario(path))) for path in EXAMPLES}
    if os.environ.get("Z6_UPDATE_GOLDEN"):
        GOLDEN.write_text(json.dumps(got, indent=1, sort_keys=True) + "\n")
    want = json.loads(GOLDEN.read_text())
    assert got == want


def test_same_seed_same_digest_other_seed_other_digest():
    sc = z6.load_scenario(REPO / "examples" / "simulated.toml")
    first = _digest(z6.compile_plan(sc, seed=7))
    assert _digest(z6.compile_plan(sc, seed=7)) == first
    assert _digest(z6.compile_plan(sc, seed=8)) != first
    assert _digest(z6.compile_plan(sc)) != first  # the scenario's own seed, 42


@pytest.mark.parametrize("chunk", [4, 9, 1000])
def test_chunk_size_does_not_change_the_stream(chunk):
    plan = z6.compile_plan(z6.load_scenario(REPO / "examples" / "ramp.toml"))
    assert _digest(plan, chunk) == _digest(plan)


@pytest.mark.parametrize("example", ["constant.toml", "ramp.toml", "spike.toml", "steps.toml",
                                     "sequence.toml", "iterations.toml", "simulated.toml"])
def test_split_by_vu_range_equals_one_engine(example):
    # A modelled capacity couples VUs (and refuses to split), so split without it.
    plan = dataclasses.replace(z6.compile_plan(z6.load_scenario(REPO / "examples" / example)), capacity=0)
    whole = concat_chunks(z6.iter_chunks(plan))
    n = plan.n_vus
    for cuts in ([n // 2], [n // 3, (2 * n) // 3], [1]):
        bounds = [0, *[c for c in cuts if 0 < c < n], n]
        parts = [concat_chunks(z6.iter_chunks(plan.shard(a, b))) for a, b in zip(bounds, bounds[1:])]
        assert merge_shards(parts).tobytes() == whole.tobytes(), (example, bounds)


def test_events_are_ordered_by_tick_then_vu():
    events = concat_chunks(z6.iter_chunks(z6.compile_plan(z6.load_scenario(REPO / "examples" / "spike.toml"))))
    assert_tick_vu_order(events)


def test_capacity_plans_refuse_to_split():
    sc = scenario(extra='[simulation]\nlatency = { type = "constant", ms = 10 }\ncapacity = 4')
    with pytest.raises(z6.ConfigError, match="capacity"):
        z6.compile_plan(sc).shard(0, 5)


def test_each_vu_stream_depends_only_on_seed_and_id():
    # VU 7's events are the same whether it runs with 10 or with 50 other VUs.
    small = concat_chunks(z6.iter_chunks(z6.compile_plan(scenario("duration_seconds = 5\nvus = 10"))))
    large = concat_chunks(z6.iter_chunks(z6.compile_plan(scenario("duration_seconds = 5\nvus = 50"))))
    assert small[small["vu_id"] == 7].tobytes() == large[large["vu_id"] == 7].tobytes()
