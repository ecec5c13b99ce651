"""`z6.start` and its `RunHandle` on simulated runs: the same events as
`run_scenario`, stop from a thread and from a task, two runs at once, stats,
chunks, kept events, and the typed API's messages (docs/api.md)."""

from __future__ import annotations

import asyncio
import json
import re
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest

import z6
from z6.events import EventKind, event_digest, outcome_mask
from z6.log import read_log

EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "simulated.toml"
ISSUED = int(EventKind.REQUEST_ISSUED)
COMPLETE = int(EventKind.VU_COMPLETE)


def long_run(**kwargs):
    """A simulated run that takes several seconds of wall time: long enough to stop."""
    return z6.start(EXAMPLE, seed=11, vus=2000, duration_s=3600, **kwargs)


def test_a_handle_gives_the_events_and_result_of_run_scenario():
    alone = z6.run_scenario(EXAMPLE, seed=7, keep_events=True)
    run = z6.start(EXAMPLE, seed=7, keep_events=True)
    result = run.result(timeout=60)
    assert run.state == "finished" and result.status == "completed"
    assert event_digest(result.events) == event_digest(alone.events)
    assert result.summary == alone.summary
    assert [a.passed for a in result.assertions] == [a.passed for a in alone.assertions]


def test_two_runs_in_two_threads_each_equal_its_run_alone():
    seeds = (3, 4)
    alone = {s: event_digest(z6.run_scenario(EXAMPLE, seed=s, vus=50).events) for s in seeds}
    handles = {s: z6.start(EXAMPLE, seed=s, vus=50) for s in seeds}
    together = {s: event_digest(h.result(timeout=120).events) for s, h in handles.items()}
    assert together == alone
    assert alone[3] != alone[4]


def check_stopped(result, stopped_at: float, graceful_ticks: int) -> None:
    assert result.status == "stopped" and result.stats.stopped
    events = result.events
    issued = events[events["kind"] == ISSUED]
    completes = events[events["kind"] == COMPLETE]
    # Nothing is issued from the stop on: every VU completes at or after the stop tick.
    assert issued.size and completes.size
    assert int(issued["tick"].max()) < int(completes["tick"].min())
    # Every request has its outcome, within the graceful stop of the stop tick.
    outcomes = events[outcome_mask(events["kind"])]
    assert outcomes.size == issued.size
    assert int(outcomes["tick"].max()) <= int(completes["tick"].min()) + graceful_ticks
    # Far short of the planned hour.
    assert result.summary.duration_s < 3000
    assert time.monotonic() - stopped_at < 30


def test_stop_from_another_thread(tmp_path):
    run = long_run(keep_events=True, out_dir=tmp_path / "run")
    time.sleep(0.3)
    assert run.state == "running"
    stopped_at = time.monotonic()
    threading.Thread(target=run.stop).start()
    result = run.result(timeout=30)
    check_stopped(result, stopped_at, graceful_ticks=int(30e9 // result.plan.tick_ns))
    assert run.state == "finished"
    log = read_log(tmp_path / "run")
    assert log.status == "stopped"
    assert "\nSTOPPED  (" in z6.render_run(result)
    # Its assertions judged what ran and held, yet a stopped run never passed:
    # the result says what summary.json's verdict says.
    assert result.assertions and all(a.passed for a in result.assertions)
    assert result.passed is False and result.to_dict()["passed"] is False
    document = json.loads((tmp_path / "run" / "summary.json").read_text())
    assert document["verdict"]["passed"] is False
    # The CLI reads a stopped run as not complete: exit 3.
    replay = subprocess.run([sys.executable, "-m", "z6", "replay", str(tmp_path / "run"), "--metrics-only"],
                            capture_output=True, text=True)
    assert replay.returncode == 3, replay.stderr


def test_stop_from_an_asyncio_task_cancelling_in_flight():
    async def main():
        run = long_run(keep_events=True)
        await asyncio.sleep(0.3)

        async def stopper():
            run.stop(cancel_in_flight=True)
        stopped_at = time.monotonic()
        await asyncio.create_task(stopper())
        return await run, stopped_at

    result, stopped_at = asyncio.run(main())
    check_stopped(result, stopped_at, graceful_ticks=0)
    assert result.summary.overall.errors.get("cancelled", 0) > 0


def test_cancelling_the_awaiting_task_stops_the_run():
    async def main():
        run = long_run(keep_events=False)
        task = asyncio.create_task(_await(run))
        await asyncio.sleep(0.3)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        return run

    async def _await(run):
        return await run

    run = asyncio.run(main())
    assert run.result(timeout=30).status == "stopped"


def test_leaving_the_with_block_stops_and_waits():
    with long_run(keep_events=False) as run:
        time.sleep(0.2)
    assert run.done and run.result(0).status == "stopped"


def test_a_stop_after_the_end_leaves_the_run_completed():
    run = z6.start(EXAMPLE, seed=7)
    result = run.result(timeout=60)
    run.stop()
    assert result.status == "completed" and run.result(0) is result


def test_stats_come_from_the_summary_aggregate():
    run = long_run(keep_events=False)
    time.sleep(0.5)
    mid = run.stats()
    assert mid.state == "running" and mid.requests > 0 and mid.elapsed_s > 0 and mid.rate > 0
    assert mid.active_vus == 2000
    assert mid.latency_ms["p95"] is not None
    assert sum(r.requests for r in mid.per_request.values()) == mid.requests
    run.stop()
    result = run.result(timeout=30)
    final = run.stats()
    overall = result.summary.overall
    assert (final.requests, final.completed, final.failed, final.errors) == \
        (overall.requests, overall.completed, overall.failed, overall.errors)
    # Live percentiles come from the core's HDR histograms: at or within 1/1,024 above
    # the summary's exact nearest-rank values.
    def close(live, exact):
        return exact <= live <= exact * (1 + 1 / 1024) + 1e-9

    for p in ("p50", "p95", "p99"):
        assert close(final.latency_ms[p], overall.latency.percentiles[p]), p
    for name, per in final.per_request.items():
        assert close(per.latency_ms["p95"], result.summary.per_request[name].latency.percentiles["p95"]), name
        assert per.errors == result.summary.per_request[name].errors


def test_aiter_stats_ends_with_the_run():
    async def main():
        run = z6.start(EXAMPLE, seed=7, stats_interval_s=0.01)
        seen = [s async for s in run.aiter_stats()]
        return run, seen

    run, seen = asyncio.run(main())
    assert seen[-1].state == "finished" and seen[-1].requests == run.result(0).summary.overall.requests


def test_chunks_arrive_in_order_and_misses_are_counted():
    run = z6.start(EXAMPLE, seed=7, vus=200, duration_s=60, chunk_queue=1000, keep_events=True)
    read = list(run.chunks())
    result = run.result(timeout=60)
    assert result.chunks_missed == 0
    assert event_digest(np.concatenate(read)) == event_digest(result.events)

    # A reader that reads nothing until the run is over: a queue of 2 keeps the
    # first two chunks, and every later one is missed, counted and reported.
    slow = z6.start(EXAMPLE, seed=7, vus=2000, duration_s=60, chunk_queue=2, keep_events=True)
    result = slow.result(timeout=120)
    got = list(slow.chunks())
    total = -(-len(result.events) // 65536)
    assert total > 4
    assert len(got) == 2 and result.chunks_missed == total - 2
    assert event_digest(np.concatenate(got)) == event_digest(result.events[:2 * 65536])
    assert any(f"missed {total - 2} of {total} event chunks" in w for w in result.summary.warnings)
    # The summary and the kept events have every event all the same.
    assert event_digest(result.events) == event_digest(
        z6.run_scenario(EXAMPLE, seed=7, vus=2000, duration_s=60).events)


def test_chunks_need_a_queue():
    run = z6.start(EXAMPLE, seed=7)
    with pytest.raises(z6.ConfigError, match=r"chunks\(\): start the run with chunk_queue=N"):
        run.chunks()
    run.result(timeout=60)


def test_to_pandas_has_categoricals():
    pd = pytest.importorskip("pandas")
    result = z6.run_scenario(EXAMPLE, seed=7)
    frame = result.to_pandas()
    assert len(frame) == len(result.events)
    assert isinstance(frame["kind"].dtype, pd.CategoricalDtype)
    assert isinstance(frame["request"].dtype, pd.CategoricalDtype)
    issued = frame[frame["kind"] == "request_issued"]
    assert issued["request"].value_counts().to_dict() == {
        name: r.requests for name, r in result.summary.per_request.items()}
    assert frame.loc[frame["kind"] == "vu_spawned", "request"].isna().all()


def test_keep_events_false_keeps_none():
    result = z6.run_scenario(EXAMPLE, seed=7, keep_events=False)
    assert result.events is None
    with pytest.raises(ValueError, match="keep_events=True"):
        result.to_pandas()


@pytest.mark.parametrize("kwargs, message", [
    ({"vus": 0}, "vus=0: must be between 1 and 10,000,000"),
    ({"vus": True}, "vus=True: must be between 1 and 10,000,000"),
    ({"duration_s": -1.0}, "duration_s=-1.0: must be a positive, finite number of seconds"),
    ({"seed": -1}, "seed=-1: must be an integer between 0 and 2**64-1"),
    ({"mode": "fast"}, "mode='fast': must be 'live' or 'simulate'"),
    ({"stats_interval_s": 0}, r"stats_interval_s=0: must be a number of seconds in (0, 3600]"),
    ({"chunk_queue": -1}, "chunk_queue=-1: must be an integer between 0 and 1,000,000"),
    ({"keep_events": "yes"}, "keep_events='yes': must be True, False or None"),
    ({"base_url": "ftp://x"}, "base_url='ftp://x': must be an absolute http:// or https:// URL"),
    ({"base_url": "http://h:99999"}, "base_url='http://h:99999': is not a URL with a host and a port"),
    ({"base_url": "http://[::1"}, "base_url='http://[::1': is not a URL with a host and a port"),
    ({"base_url": "http://h:0"}, "base_url='http://h:0': port 0 is not a port"),
    ({"keep_events": 1}, "keep_events=1: must be True, False or None"),
    ({"consumers": [print, 1]}, "consumers[1]=1: must be callable"),
    ({"consumers": None}, "consumers=None: must be a sequence"),
    ({"consumers": print}, "consumers=<built-in function print>: must be a sequence"),
    ({"progress": "x"}, "progress='x': must be None or callable"),
    ({"out_dir": 5}, "out_dir=5: must be a path (str or os.PathLike), got int"),
    ({"out_dir": b"runs"}, "out_dir=b'runs': must be a path"),
    ({"out_dir": ""}, "out_dir='': must name a directory"),
    ({"html": True}, "html=True: report.html is written into the run directory; give out_dir too"),
    ({"html": "yes", "out_dir": "x"}, "html='yes': must be True or False"),
])
def test_bad_keywords_name_the_keyword(kwargs, message):
    with pytest.raises(z6.ConfigError, match=re.escape(message)) as info:
        z6.start(EXAMPLE, **kwargs)
    assert info.value.exit_code == 2


def test_a_directory_holding_a_run_is_refused_before_the_run_starts(tmp_path):
    z6.run_scenario(EXAMPLE, seed=1, out_dir=tmp_path)
    before = {p.name: p.stat().st_mtime_ns for p in tmp_path.iterdir()}
    with pytest.raises(z6.ConfigError, match=re.escape(f"run directory {tmp_path}: already holds a run (events.z6log)")):
        z6.start(EXAMPLE, seed=2, out_dir=tmp_path)   # from start itself, not later from result()
    assert {p.name: p.stat().st_mtime_ns for p in tmp_path.iterdir()} == before


def test_handle_methods_refuse_values_that_are_not_their_type():
    run = long_run(keep_events=False)
    try:
        with pytest.raises(z6.ConfigError, match=re.escape("stop(cancel_in_flight='no'): must be True or False")):
            run.stop(cancel_in_flight="no")  # type: ignore[arg-type]
        assert run.state in ("starting", "running")   # not stopping

        async def first(interval):
            async for stats in run.aiter_stats(interval):
                return stats
        with pytest.raises(z6.ConfigError, match=re.escape("aiter_stats(interval_s=-1): must be a number of seconds")):
            asyncio.run(first(-1))
    finally:
        run.stop(cancel_in_flight=True)
    assert run.result(timeout=30).status == "stopped"


@pytest.mark.parametrize("kwargs, message", [
    ({"seed": 1.5}, "--seed (seed=): must be an integer, got 1.5"),
    ({"seed": True}, "--seed (seed=): must be an integer, got True"),
    ({"vus": "3"}, "--vus (vus=): must be an integer, got '3'"),
    ({"duration_s": "5"}, "--duration (duration_s=): must be a number of seconds, got '5'"),
    # Out of range: named by the flag and the keyword alike (an API caller never typed --duration).
    ({"seed": -1}, "--seed (seed=): must be between 0 and 2**64-1, got -1"),
    ({"vus": 0}, "--vus (vus=): must be between 1 and 10000000, got 0"),
    ({"duration_s": -1.0}, "--duration (duration_s=): must be a positive number of seconds, got -1.0"),
    ({"duration_s": 1e10}, "--duration (duration_s=): must be below 4.61169e+09 (the simulated clock's horizon)"),
])
def test_compile_plan_refuses_overrides_of_the_wrong_type_or_range(kwargs, message):
    # A float seed ran as its integer part; the others failed with a TypeError.
    with pytest.raises(z6.ConfigError, match=re.escape(message)):
        z6.compile_plan(z6.load_scenario(EXAMPLE), **kwargs)


def test_compile_plan_names_a_path_given_for_a_scenario():
    with pytest.raises(z6.ConfigError, match=r"compile_plan takes a z6.Scenario \(z6.load_scenario\(path\)"):
        z6.compile_plan(str(EXAMPLE))  # type: ignore[arg-type]


def test_vus_on_a_ramp_names_the_keyword():
    ramp = Path(__file__).resolve().parent.parent / "examples" / "ramp.toml"
    with pytest.raises(z6.ConfigError, match=re.escape(f"vus=5: vus and duration_s override a constant schedule; "
                                                       f"{ramp} declares a 'ramp' schedule")):
        z6.start(ramp, vus=5)


def test_a_scenario_of_the_wrong_type_is_named():
    with pytest.raises(z6.ConfigError, match=r"scenario=42: must be a z6.Scenario or the path"):
        z6.start(42)  # type: ignore[arg-type]


def test_a_path_loads_and_a_bad_file_gives_problems(tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text(EXAMPLE.read_text().replace("vus = 10", "vus = -3"))
    with pytest.raises(z6.ScenarioError) as info:
        z6.start(bad)
    [problem] = info.value.problems
    assert isinstance(problem, z6.Problem)
    assert (problem.path, problem.rule, problem.value) == ("runtime.vus", "must be >= 1", "-3")
    assert str(problem) == problem.message == f"{bad}: runtime.vus: must be >= 1, got -3"


def test_base_url_points_a_live_plan_elsewhere():
    scenario = z6.load_scenario(EXAMPLE)
    run = z6.start(scenario, base_url="https://example.test:8443/api/", mode="simulate")
    assert run.scenario.target.base_url == "https://example.test:8443/api"
    assert (run.scenario.target.host, run.scenario.target.port, run.scenario.target.tls) == ("example.test", 8443, True)
    assert run.scenario.text == scenario.text
    run.result(timeout=60)


def test_a_simulated_arrival_rate_run_stops_through_its_handle():
    # 200 arrivals/s for 10**6 simulated seconds: far longer than the test waits.
    text = (Path(__file__).resolve().parent.parent / "examples" / "arrival_rate.toml").read_text()
    text = text.replace("duration_seconds = 20", "duration_seconds = 1000000")
    run = z6.start(z6.parse_scenario(text, source="arrival.toml"), seed=7, keep_events=True)
    deadline = time.monotonic() + 30
    while run.stats().requests < 1000 and time.monotonic() < deadline:
        time.sleep(0.01)
    run.stop()
    result = run.result(timeout=60)
    assert result.status == "stopped"
    events = result.events
    kind = events["kind"]
    issued = int(np.count_nonzero(kind == z6.EventKind.REQUEST_ISSUED))
    assert 1000 <= issued < 200 * 1_000_000
    assert int(np.count_nonzero(outcome_mask(kind))) == issued          # every request ended
    spawned = int(np.count_nonzero(kind == z6.EventKind.VU_SPAWNED))
    assert int(np.count_nonzero(kind == z6.EventKind.VU_COMPLETE)) == spawned


def test_kept_short_chunks_do_not_pin_the_runners_arrays():
    # A live fill returns every 250 ms with a few events in a view of a 2 MiB
    # array; keeping the view would hold the whole array for the run's length.
    from z6.run._handle import _EventKeeper
    keeper = _EventKeeper(None)
    expected = []
    for i in range(40):
        array = np.zeros(65_536, dtype=z6.EVENT_DTYPE)
        array["tick"][:3] = i
        array.flags.writeable = False
        keeper(array[:3])
        expected.append(array[:3].copy())
    full = np.ones(65_536, dtype=z6.EVENT_DTYPE)
    keeper(full)
    held = sum((c.base if c.base is not None else c).nbytes for c in keeper.chunks[:-1])
    assert held <= 40 * 3 * z6.EVENT_DTYPE.itemsize
    assert keeper.chunks[-1] is full   # a full chunk is kept as it is, no copy
    assert np.array_equal(keeper.events(), np.concatenate(expected + [full]))


def test_a_scenario_changed_after_parsing_cannot_write_a_run_directory(tmp_path):
    # Its text (what the log header records, and what replay runs) is the file's,
    # not what would run: the log could not reproduce its own run.
    import dataclasses
    parsed = z6.load_scenario(EXAMPLE)
    changed = dataclasses.replace(parsed, requests=parsed.requests[:1])
    with pytest.raises(z6.ConfigError, match=r"this Scenario was changed after it was parsed \(dataclasses.replace\)"):
        z6.start(changed, out_dir=tmp_path / "run")
    assert not (tmp_path / "run").exists()
    # Without a run directory it runs as built; a base_url override stays recordable.
    assert z6.run_scenario(changed, seed=1).plan.request_names == (parsed.requests[0].name,)
    aimed = z6.run_scenario(parsed, seed=1, mode="simulate", base_url="http://127.0.0.1:9", out_dir=tmp_path / "b")
    assert aimed.status == "completed"
