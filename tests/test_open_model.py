"""The open model, simulated: arrival instants, the VU pool, dropped iterations, the summary."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

import z6
import z6core
from z6.assertions import evaluate_assertions
from z6.errors import ConfigError
from z6.scenario import Assertions
from z6.events import concat_chunks, outcome_mask
from z6.metrics import SummaryBuilder
from z6.metrics._open_model import OpenModelRecorder
from z6.plan import compile_plan, expected_arrivals
from z6.runner import iter_chunks
from conftest import assert_tick_vu_order, scenario

K = z6.EventKind


def open_scenario(schedule: str, latency: str = '{ type = "constant", ms = 5 }', runtime: str = "",
                  extra: str = "") -> z6.Scenario:
    return scenario(runtime=runtime or "prng_seed = 3", extra=f"""
[schedule]
{schedule}

[simulation]
latency = {latency}
{extra}
""")


def events_of(sc: z6.Scenario, chunk: int = 4096, **kw) -> np.ndarray:
    return concat_chunks(iter_chunks(compile_plan(sc, **kw), chunk))


def arrival_ticks(events: np.ndarray) -> np.ndarray:
    # An arrival is an iteration's first request or a dropped iteration (no sequence here).
    kind = events["kind"]
    return events["tick"][(kind == K.REQUEST_ISSUED) | (kind == K.ITERATION_DROPPED)]


CONSTANT = 'type = "arrival_rate"\nrate = 1000\nduration_seconds = 5\nvus = 20'


def test_constant_arrivals_are_evenly_spaced():
    events = events_of(open_scenario(CONSTANT))
    ticks = arrival_ticks(events)
    assert ticks.size == 5000
    assert np.bincount(ticks // 1000).tolist() == [1000] * 5
    # One arrival every millisecond: each tick holds exactly one.
    assert np.array_equal(np.sort(ticks), np.arange(5000))
    assert not np.any(events["kind"] == K.ITERATION_DROPPED)
    assert_tick_vu_order(events)


def test_ramping_arrivals_follow_the_stages_per_second():
    schedule = """type = "ramping_arrival_rate"
start_rate = 200
vus = 50
max_vus = 500
stages = [
  { target = 1000, duration_seconds = 4 },
  { target = 1000, duration_seconds = 3 },
  { target = 300, duration_seconds = 3 },
]"""
    sc = open_scenario(schedule)
    plan = compile_plan(sc)
    counts = np.bincount(arrival_ticks(events_of(sc)) // 1000, minlength=10)
    expected = [expected_arrivals(plan.arrivals, (s + 1) * 10**9) - expected_arrivals(plan.arrivals, s * 10**9)
                for s in range(10)]
    assert expected[0] == pytest.approx(300) and expected[5] == pytest.approx(1000)
    for got, want in zip(counts.tolist(), expected):
        assert abs(got - want) <= max(1.0, 0.01 * want), (counts.tolist(), expected)


def test_poisson_arrivals_have_exponential_gaps():
    sc = open_scenario('type = "arrival_rate"\nrate = 2000\nduration_seconds = 50\narrivals = "poisson"\n'
                       'vus = 50\nmax_vus = 1000', runtime="prng_seed = 3\ntick_ms = 0.001")
    ticks = np.sort(arrival_ticks(events_of(sc)).astype(np.int64))   # microseconds
    n = ticks.size
    assert abs(n - 100_000) < 4 * 100_000 ** 0.5
    gaps = np.diff(ticks) / 1e6
    assert gaps.mean() == pytest.approx(1 / 2000, rel=0.02)
    assert gaps.std() / gaps.mean() == pytest.approx(1.0, rel=0.03)   # exponential: coefficient of variation 1
    # P(gap > mean) = 1/e for an exponential; constant spacing would give 0 or 1.
    assert np.mean(gaps > 1 / 2000) == pytest.approx(np.exp(-1), abs=0.01)


def test_arrival_instants_depend_on_the_seed_and_schedule_alone():
    poisson = 'type = "arrival_rate"\nrate = 500\nduration_seconds = 4\narrivals = "poisson"\nvus = 400'
    fast = arrival_ticks(events_of(open_scenario(poisson, '{ type = "constant", ms = 1 }')))
    slow = arrival_ticks(events_of(open_scenario(poisson, '{ type = "exponential", mean_ms = 50 }')))
    assert np.array_equal(np.sort(fast), np.sort(slow))
    other_seed = arrival_ticks(events_of(open_scenario(poisson, runtime="prng_seed = 4")))
    assert not np.array_equal(np.sort(fast), np.sort(other_seed))


def test_same_seed_same_stream_whatever_the_chunk_size():
    sc = open_scenario('type = "arrival_rate"\nrate = 3000\nduration_seconds = 3\narrivals = "poisson"\n'
                       'vus = 5\nmax_vus = 40', '{ type = "exponential", mean_ms = 20 }', extra="capacity = 30")
    digests = {z6.event_digest(iter_chunks(compile_plan(sc), chunk)) for chunk in (4, 97, 65_536)}
    assert len(digests) == 1
    assert z6.event_digest(iter_chunks(compile_plan(sc, seed=99))) not in digests


def test_the_pool_serves_with_its_lowest_free_id_and_grows_by_events():
    # 100 arrivals/s, each served for 25 ms: at most 3 VUs are ever busy at once.
    sc = open_scenario('type = "arrival_rate"\nrate = 100\nduration_seconds = 2\nvus = 1\nmax_vus = 10',
                       '{ type = "constant", ms = 25 }')
    events = events_of(sc)
    spawned = events[events["kind"] == K.VU_SPAWNED]
    assert spawned["vu_id"].tolist() == [1, 2, 3]
    assert spawned["tick"].tolist() == [0, 10, 20]          # grown when an arrival found all busy
    issued = events[events["kind"] == K.REQUEST_ISSUED]
    assert issued["vu_id"][:6].tolist() == [1, 2, 3, 1, 2, 3]
    assert events["vu_id"].max() == 3
    assert np.count_nonzero(events["kind"] == K.VU_COMPLETE) == 3


def test_an_arrival_finding_the_pool_busy_at_max_vus_is_dropped():
    sc = open_scenario('type = "arrival_rate"\nrate = 100\nduration_seconds = 2\nvus = 2\nmax_vus = 2',
                       '{ type = "constant", ms = 25 }')
    events = events_of(sc)
    dropped = events[events["kind"] == K.ITERATION_DROPPED]
    # Arrivals every 10 ms, 25 ms of service, 2 VUs: every third arrival is dropped.
    assert dropped.size == 66
    assert set(dropped["vu_id"].tolist()) == {0}
    assert dropped["seq"].tolist() == list(range(2, 200, 3))   # the arrival's index
    assert set(dropped["request"].tolist()) == {z6.events.NO_REQUEST}
    assert np.count_nonzero(events["kind"] == K.REQUEST_ISSUED) == 200 - 66
    assert_tick_vu_order(events)


def test_a_sequence_runs_back_to_back_within_one_arrival():
    sc = scenario(runtime="prng_seed = 1", requests="""
[[requests]]
name = "login"
method = "GET"
path = "/login"

[[requests]]
name = "page"
method = "GET"
path = "/page"
""", extra="""
[schedule]
type = "arrival_rate"
rate = 10
duration_seconds = 1
vus = 5

[sequence]
steps = [{ request = "login" }, { request = "page", repeat = 2 }]

[simulation]
latency = { type = "constant", ms = 3 }
""")
    events = events_of(sc)
    issued = events[events["kind"] == K.REQUEST_ISSUED]
    assert issued.size == 30
    first = issued[issued["vu_id"] == 1]
    # Arrivals every 100 ms all find VU 1 free: login at the arrival, then page, page, 3 ms apart.
    assert first["tick"][:6].tolist() == [0, 3, 6, 100, 103, 106]
    assert first["request"][:3].tolist() == [0, 1, 1]
    summary = z6.run_scenario(sc).summary
    assert (summary.open_model.arrivals, summary.overall.requests) == (10, 30)


def test_summary_counts_drops_and_response_time():
    sc = open_scenario('type = "arrival_rate"\nrate = 100\nduration_seconds = 2\nvus = 2\nmax_vus = 2',
                       '{ type = "constant", ms = 25 }',
                       extra="[assertions]\ndropped_max = 65\np99_response_time_ms = 30")
    result = z6.run_scenario(sc)
    om = result.summary.open_model
    assert (om.arrivals, om.dropped_iterations) == (200, 66)
    assert om.dropped_rate == pytest.approx(0.33)
    # Simulated arrivals are served at their instant: response time equals service time.
    assert om.response_time.percentiles["p99"] == pytest.approx(25.0)
    checks = {(r.name, r.passed) for r in result.assertions}
    assert ("dropped_max", False) in checks and ("p99_response_time_ms", True) in checks
    assert not result.passed


@pytest.mark.parametrize("key, at_limit, beyond", [
    ("dropped_max", 66, 65),
    ("dropped_rate_max", 0.33, 0.329),
    ("p99_response_time_ms", 25.0, 24.99),
])
def test_open_model_assertions_at_their_boundary(key, at_limit, beyond):
    sc = open_scenario('type = "arrival_rate"\nrate = 100\nduration_seconds = 2\nvus = 2\nmax_vus = 2',
                       '{ type = "constant", ms = 25 }')
    summary = z6.run_scenario(sc).summary
    passed = evaluate_assertions(Assertions(**{key: at_limit}, default=False), summary)
    failed = evaluate_assertions(Assertions(**{key: beyond}, default=False), summary)
    assert [(r.name, r.passed, r.comparison) for r in passed] == [(key, True, "<=")]
    assert [(r.name, r.passed) for r in failed] == [(key, False)]
    assert failed[0].measured == pytest.approx(at_limit)


def test_a_closed_run_has_no_open_model_figures():
    summary = z6.run_scenario(scenario()).summary
    assert summary.open_model is None
    # Nothing to measure: an open-model limit on such a summary fails (the scenario layer refuses it first).
    for key in ("dropped_max", "dropped_rate_max", "p99_response_time_ms"):
        [result] = evaluate_assertions(Assertions(**{key: 1}, default=False), summary)
        assert result.measured is None and not result.passed


def test_response_time_adds_each_requests_lag_across_chunks():
    # Hand-made live-like events: VU 1's request is 4 ms late, its response after
    # 10 ms service falls in the next chunk; VU 2's request is on time.
    ev = np.zeros(4, dtype=z6.EVENT_DTYPE)
    ev[0] = (0, 4_000_000, 1, K.REQUEST_ISSUED, 0, 0, 0, 0)
    ev[1] = (1, 0, 2, K.REQUEST_ISSUED, 0, 0, 0, 0)
    ev[2] = (3, 2_000_000, 2, K.RESPONSE_RECEIVED, 0, 200, 0, 0)
    ev[3] = (14, 10_000_000, 1, K.RESPONSE_RECEIVED, 0, 200, 0, 0)
    recorder = OpenModelRecorder(ceiling=100)
    recorder(ev[:3])
    recorder(ev[3:])
    stats = recorder.finish()
    assert stats.response_time.count == 2
    assert stats.response_time.max == pytest.approx(14.0)     # 4 ms lag + 10 ms service
    assert stats.response_time.min == pytest.approx(2.0)
    histogram = OpenModelRecorder(ceiling=0)                   # the HDR path agrees within its precision
    histogram(ev)
    assert histogram.finish().response_time.max == pytest.approx(14.0, rel=1e-3)
    builder = SummaryBuilder(("get",), 1_000_000, open_model=1)
    builder(ev)
    assert builder.finish().open_model.response_time.max == pytest.approx(14.0)


def test_open_model_plans_split_only_into_whole_strides():
    # (the split itself: tests/test_open_model_split.py)
    plan = compile_plan(open_scenario(CONSTANT))
    with pytest.raises(ValueError, match="splits as range"):
        plan.shard(0, plan.n_vus - 2, 2)     # leaves VU n_vus - 1 out
    with pytest.raises(ConfigError, match="already a shard"):
        plan.shard(0, plan.n_vus, 2).shard(0, plan.n_vus // 2, 2)


def test_the_engine_checks_its_arrival_plan():
    import dataclasses
    plan = compile_plan(open_scenario(CONSTANT))
    bad = dataclasses.replace(plan.arrivals, rate0=np.array([-1.0]))
    with pytest.raises(ValueError, match="rates must be finite and >= 0"):
        z6core.OpenEngine(dataclasses.replace(plan, arrivals=bad))
    with pytest.raises(ValueError, match="pool_vus"):
        z6core.OpenEngine(dataclasses.replace(plan, arrivals=dataclasses.replace(plan.arrivals, pool_vus=21)))


BAD = [
    ('type = "arrival_rate"\nrate = 10\nduration_seconds = 1', "", "schedule.vus: required key is missing"),
    ('type = "arrival_rate"\nrate = 10\nduration_seconds = 1\nvus = 5\nmax_vus = 2', "",
     "schedule.max_vus: must be >= vus (5), got 2"),
    ('type = "arrival_rate"\nrate = 0\nduration_seconds = 1\nvus = 5', "", "schedule.rate"),
    ('type = "arrival_rate"\nrate = 10\nvus = 5', "", "schedule.duration_seconds: required key is missing"),
    ('type = "arrival_rate"\nrate = 10\nduration_seconds = 1\nvus = 5\narrivals = "bursty"', "",
     "schedule.arrivals"),
    ('type = "ramping_arrival_rate"\nvus = 5\nstages = [{ target = 0, duration_seconds = 1 }]', "",
     "schedule.stages: at least one stage must have target > 0"),
    ('type = "ramping_arrival_rate"\nvus = 5\nstages = [{ target = 5, duration_seconds = 1 }]',
     "duration_seconds = 3", "schedule.stages: the stage durations must add up to the runtime duration (3 s)"),
    ('type = "arrival_rate"\nrate = 10\nduration_seconds = 1\nvus = 5', "[think_time]\nduration_ms = 100",
     "think_time: does not apply to a schedule.type = \"arrival_rate\" schedule"),
]


@pytest.mark.parametrize("schedule, more, message", BAD)
def test_bad_open_model_scenarios_name_the_key(schedule, more, message):
    runtime, extra = (more, "") if more.startswith("duration") else ("prng_seed = 1", more)
    with pytest.raises(z6.ScenarioError) as info:
        scenario(runtime=runtime, extra=f"[schedule]\n{schedule}\n\n{extra}\n\n[simulation]\n"
                                        'latency = { type = "constant", ms = 1 }')
    assert message in str(info.value)
    assert "test.toml" in str(info.value)


def test_open_model_assertions_need_an_arrival_rate_schedule():
    with pytest.raises(z6.ScenarioError, match=r"assertions.dropped_max: applies to an arrival-rate schedule"):
        scenario(extra='[assertions]\ndropped_max = 3\n[simulation]\nlatency = { type = "constant", ms = 1 }')


def _cli(tmp_path, text: str, *args: str) -> subprocess.CompletedProcess:
    path = tmp_path / "open.toml"
    path.write_text(text)
    return subprocess.run([sys.executable, "-m", "z6", "run", str(path), *args], capture_output=True, text=True,
                          cwd=tmp_path, timeout=120)


OPEN_TOML = """
[runtime]
prng_seed = 2
[target]
base_url = "http://127.0.0.1:9"
[[requests]]
name = "get"
method = "GET"
path = "/"
[schedule]
type = "arrival_rate"
rate = 200
duration_seconds = 1
vus = 2
max_vus = 4
"""


def test_cli_more_workers_than_pool_vus_is_refused_with_exit_2(tmp_path):
    text = OPEN_TOML + '[simulation]\nlatency = { type = "constant", ms = 1 }\n'
    done = _cli(tmp_path, text, "--workers", "3", "--out", str(tmp_path / "run"))
    assert done.returncode == 2, done.stderr
    assert "3 workers need a pool of at least 3 VUs (schedule.vus); the schedule has 2" in done.stderr
    assert "Traceback" not in done.stderr
    assert not (tmp_path / "run").exists()


def test_cli_run_and_replay_verify(tmp_path):
    text = OPEN_TOML + '[simulation]\nlatency = { type = "constant", ms = 12 }\n'
    done = _cli(tmp_path, text, "--out", str(tmp_path / "run"))
    assert done.returncode == 0, done.stderr
    assert "arrivals     200, dropped" in done.stdout
    verify = subprocess.run([sys.executable, "-m", "z6", "replay", "--verify", str(tmp_path / "run" / "events.z6log")],
                            capture_output=True, text=True, timeout=120)
    assert verify.returncode == 0 and "MATCH" in verify.stdout, verify.stdout + verify.stderr


def test_every_reader_of_a_log_takes_iteration_dropped(tmp_path):
    # The run's log through the readers, the exporters and the reports.
    import csv
    import json as jsonlib
    import jsonschema
    from z6.report import load_schema
    text = OPEN_TOML + '[simulation]\nlatency = { type = "constant", ms = 25 }\n'
    text = text.replace("max_vus = 4", "max_vus = 2")
    done = _cli(tmp_path, text, "--out", str(tmp_path / "run"))
    assert done.returncode == 0, done.stderr
    log = str(tmp_path / "run" / "events.z6log")
    document = jsonlib.loads((tmp_path / "run" / "summary.json").read_text())
    jsonschema.validate(document, load_schema())
    dropped = document["open_model"]["dropped_iterations"]
    assert dropped > 0

    def z6cli(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "z6", *args], capture_output=True, text=True, timeout=120,
                              cwd=tmp_path)

    exported = z6cli("export", log, "--to", "csv", "-o", str(tmp_path / "dropped.csv"),
                     "--filter", "kind=iteration_dropped")
    assert exported.returncode == 0, exported.stderr
    rows = list(csv.DictReader((tmp_path / "dropped.csv").open()))
    assert len(rows) == dropped and {r["kind_name"] for r in rows} == {"iteration_dropped"}
    assert {r["vu_id"] for r in rows} == {"0"}
    analyzed = z6cli("analyze", log, "--format", "json", "--filter", "kind=iteration_dropped")
    assert analyzed.returncode == 0, analyzed.stderr
    report = z6cli("report", log, "-o", str(tmp_path / "report.html"), "--json", str(tmp_path / "rebuilt.json"))
    assert report.returncode == 0, report.stderr
    html = (tmp_path / "report.html").read_text()
    assert "dropped iterations" in html and "response time" in html
    rebuilt = jsonlib.loads((tmp_path / "rebuilt.json").read_text())
    assert rebuilt["open_model"] == document["open_model"]


@pytest.mark.parametrize("cancel", [False, True])
def test_stop_ends_the_schedule_at_the_next_tick_boundary(cancel):
    # A long sequence-free plan with slow responses, stopped after three chunks.
    sc = open_scenario('type = "arrival_rate"\nrate = 400\nduration_seconds = 1000\narrivals = "poisson"\n'
                       'vus = 10\nmax_vus = 200', latency='{ type = "exponential", mean_ms = 300 }',
                       runtime="prng_seed = 3\ngraceful_stop_seconds = 0.5")
    plan = compile_plan(sc)

    def run_until_stop() -> tuple[np.ndarray, int]:
        engine = z6core.OpenEngine(plan)
        out = np.zeros(512, dtype=z6.EVENT_DTYPE)
        parts = []
        for _ in range(3):
            parts.append(out[:engine.fill(out)].copy())
        stop_tick = engine.tick + 1            # the tick being gathered ends the schedule
        engine.stop(cancel_in_flight=cancel)
        assert engine.stopping
        while not engine.finished:
            parts.append(out[:engine.fill(out)].copy())
        return np.concatenate(parts), stop_tick

    events, stop_tick = run_until_stop()
    assert np.array_equal(events, run_until_stop()[0])            # deterministic
    assert_tick_vu_order(events)
    kind = events["kind"]
    issued = events[kind == K.REQUEST_ISSUED]
    assert issued.size and int(issued["tick"].max()) < stop_tick
    assert int(np.count_nonzero(outcome_mask(kind))) == issued.size   # every request ended
    spawned = events[kind == K.VU_SPAWNED]["vu_id"]
    assert np.array_equal(np.sort(events[kind == K.VU_COMPLETE]["vu_id"]), np.sort(spawned))
    cancelled = events[kind == K.REQUEST_CANCELLED]
    assert cancelled.size                                          # 300 ms mean: some outlive the grace
    limit = stop_tick if cancel else stop_tick + 500
    assert int(events["tick"].max()) <= limit and np.all(cancelled["tick"] == limit)
