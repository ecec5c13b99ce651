"""An arrival-rate run split over workers: arrival n goes to shard n mod N and the
pool is split as the VU table is, so without drops the shards' traffic adds up
to the one-process run's exactly (docs/architecture.md, "Scale-out").

Unlike a closed-model split, the merged event stream is not byte-identical: which
VU of a pool serves an arrival depends on the pool, so VU ids, per-VU sequence
numbers and the pool's own events (spawn, ready, complete) differ. What each
arrival does (its instant, its request, the modelled service time, status,
failure) comes from the arrival's own stream, so the traffic is the same.
"""

from __future__ import annotations

import json

import numpy as np
import pytest

import z6
import z6.cli
from z6.distributed import LocalProcesses, merge_sorted, run_distributed, split_plan
from z6.errors import ConfigError
from z6.events import EventKind, outcome_mask
from z6.plan import compile_plan
from z6.runner import iter_chunks
from conftest import ONE_REQUEST, REPO, assert_tick_vu_order, scenario

K = EventKind
EXAMPLES = REPO / "examples"


def open_scenario(schedule: str, latency: str = '{ type = "exponential", mean_ms = 8 }', extra: str = "",
                  requests: str = ONE_REQUEST) -> z6.Scenario:
    return scenario(runtime="prng_seed = 11", requests=requests, extra=f"""
[schedule]
{schedule}

[simulation]
latency = {latency}
error_rate = 0.02
status_codes = {{ 200 = 0.9, 404 = 0.05, 500 = 0.05 }}
{extra}
""")


POISSON = 'type = "arrival_rate"\nrate = 800\nduration_seconds = 3\narrivals = "poisson"\nvus = 12\nmax_vus = 60'
CONSTANT = 'type = "arrival_rate"\nrate = 500\nduration_seconds = 2\nvus = 9\nmax_vus = 40'


def traffic(events: np.ndarray) -> np.ndarray:
    """The requests' side of a run, in a canonical order: one row per request
    event (tick, value_ns, kind, request, status, error), without the VU."""
    kind = events["kind"]
    rows = events[(kind == K.REQUEST_ISSUED) | outcome_mask(kind)]
    table = np.stack([rows["tick"], rows["value_ns"], rows["kind"].astype(np.uint64),
                      rows["request"].astype(np.uint64), rows["status"].astype(np.uint64),
                      rows["error"].astype(np.uint64)], axis=1)
    return table[np.lexsort(table.T[::-1])]


def one_and_split(sc: z6.Scenario, n: int) -> tuple[np.ndarray, np.ndarray, list]:
    plan = compile_plan(sc)
    whole = np.concatenate(list(iter_chunks(plan, 4096)))
    parts = split_plan(plan, n)
    merged = merge_sorted([np.concatenate(list(iter_chunks(part, 997))) for _, part in parts])
    return whole, merged, parts


# ---------------------------------------------------------------- the split


def test_shard_k_serves_arrivals_k_mod_n_with_every_nth_vu_of_the_pool():
    plan = compile_plan(open_scenario(POISSON))
    parts = split_plan(plan, 5)
    assert [p.arrivals.shard_index for _, p in parts] == [0, 1, 2, 3, 4]
    assert {p.arrivals.shard_count for _, p in parts} == {5}
    # The pool (12) and its ceiling (max_vus 60) are split as the VU ids are: every 5th.
    assert [p.arrivals.pool_vus for _, p in parts] == [3, 3, 2, 2, 2]
    assert [p.n_vus for _, p in parts] == [12] * 5
    assert sorted(v for _, p in parts for v in p.vu_ids) == list(range(1, 61))
    for shard, part in parts:
        assert list(part.vu_ids)[:part.arrivals.pool_vus] == list(range(shard.index + 1, 13, 5))


def test_a_pool_smaller_than_the_workers_and_a_modelled_queue_are_refused():
    plan = compile_plan(open_scenario(POISSON))
    with pytest.raises(ConfigError, match="13 workers need a pool of at least 13 VUs"):
        split_plan(plan, 13)
    with pytest.raises(ConfigError, match="capacity cannot be split"):
        split_plan(compile_plan(open_scenario(POISSON, extra="capacity = 4")), 2)


@pytest.mark.parametrize("n", [2, 3, 5])
@pytest.mark.parametrize("schedule", [POISSON, CONSTANT], ids=["poisson", "constant"])
def test_without_drops_the_shards_traffic_is_the_one_process_runs(schedule, n):
    two = (z6_requests("get", 3) + z6_requests("post", 1))
    whole, merged, parts = one_and_split(open_scenario(schedule, requests=two), n)
    assert not np.any(whole["kind"] == K.ITERATION_DROPPED)
    assert not np.any(merged["kind"] == K.ITERATION_DROPPED)
    assert_tick_vu_order(merged)
    assert np.array_equal(traffic(merged), traffic(whole))
    # The mix, statuses and failures really vary, so the equality says something.
    issued = whole[whole["kind"] == K.REQUEST_ISSUED]
    assert set(np.unique(issued["request"]).tolist()) == {0, 1}
    assert {404, 500} <= set(np.unique(whole["status"]).tolist())
    assert np.any(whole["kind"] == K.RESPONSE_ERROR)
    # Each shard issued the arrivals of its own residue: a 1/N share of them.
    shares = [int(np.count_nonzero(np.isin(merged["vu_id"], np.array(part.vu_ids))
                                   & (merged["kind"] == K.REQUEST_ISSUED))) for _, part in parts]
    assert sum(shares) == issued.size
    assert max(shares) - min(shares) <= 1 if "constant" in schedule else max(shares) <= 1.25 * issued.size / n


def test_a_sequence_splits_iteration_by_iteration():
    ramp = EXAMPLES / "ramping_arrival_rate.toml"        # login then dashboard, a ramp, no drops
    whole, merged, _ = one_and_split(z6.load_scenario(ramp), 3)
    assert not np.any(whole["kind"] == K.ITERATION_DROPPED)
    assert np.array_equal(traffic(merged), traffic(whole))


def test_with_drops_every_arrival_is_still_served_or_dropped_exactly_once():
    tight = POISSON.replace("max_vus = 60", "max_vus = 12")
    sc = open_scenario(tight, latency='{ type = "constant", ms = 40 }')
    whole, merged, parts = one_and_split(sc, 3)

    def arrivals(events):
        # One request per iteration here: an arrival is an issue or a drop.
        return int(np.count_nonzero((events["kind"] == K.REQUEST_ISSUED)
                                    | (events["kind"] == K.ITERATION_DROPPED)))
    assert np.any(whole["kind"] == K.ITERATION_DROPPED)
    assert arrivals(merged) == arrivals(whole)
    # A dropped arrival names its index (seq): each once, and each shard only its own residue.
    seq = merged[merged["kind"] == K.ITERATION_DROPPED]["seq"].astype(np.int64)
    assert np.unique(seq).size == seq.size
    by_shard = [np.concatenate(list(iter_chunks(part, 4096))) for _, part in parts]
    for (shard, _), events in zip(parts, by_shard):
        seq = events[events["kind"] == K.ITERATION_DROPPED]["seq"].astype(np.int64)
        assert seq.size and np.all(seq % 3 == shard.index)


def z6_requests(name: str, weight: int) -> str:
    return f'\n[[requests]]\nname = "{name}"\nmethod = "GET"\npath = "/{name}"\nweight = {weight}\n'


# ---------------------------------------------------------------- in processes, and from the command line


@pytest.mark.live
def test_local_processes_give_the_one_process_traffic():
    plan = compile_plan(open_scenario(POISSON))
    chunks: list[np.ndarray] = []
    with LocalProcesses(2) as backend:
        stats, dist = run_distributed(plan, [lambda c: chunks.append(c.copy())], backend)
    merged = np.concatenate(chunks)
    whole = np.concatenate(list(iter_chunks(plan)))
    assert [s.status for s in dist.shards] == ["completed"] * 2
    assert np.array_equal(traffic(merged), traffic(whole))
    assert stats.requests_issued == int(np.count_nonzero(whole["kind"] == K.REQUEST_ISSUED))


@pytest.mark.live
def test_z6_run_workers_gives_the_one_process_summary(tmp_path):
    path = EXAMPLES / "ramping_arrival_rate.toml"
    one, two = tmp_path / "one", tmp_path / "two"
    assert z6.cli.main(["run", str(path), "--quiet", "--out", str(one)]) == 0
    assert z6.cli.main(["run", str(path), "--quiet", "--workers", "2", "--out", str(two)]) == 0
    a, b = (json.loads((d / "summary.json").read_text()) for d in (one, two))
    assert b["distributed"]["workers"] == 2
    for key in ("requests", "statuses", "errors", "latency_distribution", "assertions", "open_model"):
        assert a[key] == b[key], key
    assert a["summary"]["requests"] == b["summary"]["requests"] > 0
    # Each shard's log of its part replays: the merged log verifies as a run of this scenario.
    assert z6.cli.main(["replay", str(two), "--verify"]) == 0


@pytest.mark.live
def test_a_dask_local_cluster_gives_the_one_process_traffic():
    distributed = pytest.importorskip("distributed")
    from z6.distributed import DaskCluster
    plan = compile_plan(open_scenario(CONSTANT))
    chunks: list[np.ndarray] = []
    with distributed.LocalCluster(n_workers=3, threads_per_worker=1, processes=True, dashboard_address=":0",
                                  silence_logs=50) as cluster, distributed.Client(cluster) as client:
        with DaskCluster(client) as backend:
            _, dist = run_distributed(plan, [lambda c: chunks.append(c.copy())], backend, shards=3)
    assert dist.backend == "dask" and [s.status for s in dist.shards] == ["completed"] * 3
    whole = np.concatenate(list(iter_chunks(plan)))
    assert np.array_equal(traffic(np.concatenate(chunks)), traffic(whole))
