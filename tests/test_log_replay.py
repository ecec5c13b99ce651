"""`z6 replay --verify` and `--metrics-only`: a log checked against a re-run of its scenario."""

from __future__ import annotations

import dataclasses
import json

import numpy as np
import pytest

import z6
import z6core
from z6.cli import main
from z6.events import EVENT_DTYPE, EventKind
from z6.analysis import recompute_run, verify_log
from z6.log import EventLogWriter, LogError, make_header, read_log
from z6.report import summary_document

from test_log_helpers import (
    ASSERTIONS,
    MIXED_SIMULATION,
    assertion_events,
    mixed_scenario,
    passed_failed,
    read_quietly,
    rewrite_log,
    run_events,
    with_footer_doc,
    write_log,
)


def _cli(capsys, *args):
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
def run_log(tmp_path):
    return write_log(tmp_path / "run", mixed_scenario(runtime="duration_seconds = 1\nvus = 4"), chunk_records=16)


def test_an_untouched_log_matches(run_log, capsys):
    result = verify_log(run_log)
    assert result.matched and result.mode == "simulate" and result.records == len(read_log(run_log))
    assert result.index is None and result.expected is None and result.got is None
    code, out, err = _cli(capsys, "replay", str(run_log.parent), "--verify")
    assert code == 0 and "MATCH: all" in out and err == ""


def test_one_altered_event_is_named(run_log, tmp_path, capsys):
    events = read_log(run_log).events.copy()
    i = int(np.flatnonzero(events["kind"] == EventKind.RESPONSE_RECEIVED)[7])
    events["value_ns"][i] += 1
    altered = rewrite_log(run_log, tmp_path / "altered", events=events)
    assert read_log(altered).complete  # CRCs and footer are valid: only the replay can tell

    result = verify_log(altered)
    assert not result.matched and result.index == i
    assert (result.tick, result.vu_id) == (int(events["tick"][i]), int(events["vu_id"][i]))
    assert result.got["value_ns"] == result.expected["value_ns"] + 1
    assert {k: v for k, v in result.got.items() if k != "value_ns"} == {
        k: v for k, v in result.expected.items() if k != "value_ns"}

    code, out, _ = _cli(capsys, "replay", str(altered), "--verify")
    assert code == 1
    assert f"MISMATCH: first divergence at record {i}: tick {result.tick}, VU {result.vu_id}" in out
    assert f"value_ns={result.expected['value_ns']}" in out and f"value_ns={result.got['value_ns']}" in out
    assert "expected: " in out and "got:      " in out


def test_an_altered_scenario_is_named_at_its_first_divergence(run_log, tmp_path, capsys):
    log = read_log(run_log)
    text = log.header.scenario_text.replace("max_ms = 15", "max_ms = 16")
    assert text != log.header.scenario_text
    import hashlib

    altered = rewrite_log(run_log, tmp_path / "altered", scenario_text=text,
                          scenario_sha256=hashlib.sha256(text.encode()).hexdigest())
    # The first record where the altered scenario's run parts from the logged one.
    rerun = run_events(z6.parse_scenario(text, source="test.toml"))
    n = min(rerun.size, len(log))
    first = int(np.flatnonzero(rerun[:n] != log.events[:n])[0])
    result = verify_log(altered)
    assert not result.matched and result.index == first and result.notes == ()
    assert result.expected == {f: int(rerun[first][f]) for f in EVENT_DTYPE.names}
    assert result.got == {f: int(log.events[first][f]) for f in EVENT_DTYPE.names}
    code, out, _ = _cli(capsys, "replay", str(altered), "--verify")
    assert code == 1 and f"first divergence at record {first}" in out


def test_scenario_text_that_no_longer_hashes_to_its_sha256(run_log, tmp_path):
    log = read_log(run_log)
    text = log.header.scenario_text.replace('name = "browse"', 'name = "browse"  # edited')
    altered = rewrite_log(run_log, tmp_path / "altered", scenario_text=text)
    result = verify_log(altered)
    assert not result.matched and "the scenario was altered after the run" in result.message.splitlines()[0]
    assert f"(otherwise: all {len(log)} engine events match the re-run)" in result.message


def test_a_complete_log_missing_its_last_events(run_log, tmp_path):
    events = read_log(run_log).events
    short = rewrite_log(run_log, tmp_path / "short", events=events[:-3])
    result = verify_log(short)
    assert not result.matched and result.index == events.size - 3 and result.got is None
    assert result.expected == {f: int(events[-3][f]) for f in EVENT_DTYPE.names}
    assert "(nothing: the log ends here)" in result.message


def test_a_log_with_an_extra_event(run_log, tmp_path):
    events = read_log(run_log).events
    extra = np.concatenate([events, events[-1:]])
    result = verify_log(rewrite_log(run_log, tmp_path / "extra", events=extra))
    assert not result.matched and result.index == events.size and result.expected is None
    assert "(nothing: the re-run has ended)" in result.message


@pytest.mark.parametrize("status", ["interrupted", "failed"])
def test_a_log_that_stopped_early_matches_as_a_prefix(run_log, tmp_path, status):
    events = read_log(run_log).events
    prefix = rewrite_log(run_log, tmp_path / status, events=events[:50], status=status)
    result = verify_log(prefix)
    assert result.matched and f"ends early ({status})" in result.message and result.records == 50


def test_a_partial_log_matches_as_a_prefix(run_log, tmp_path):
    data = run_log.read_bytes()
    partial = tmp_path / "events.z6log.partial"
    partial.write_bytes(data[: len(data) // 2])
    log, _ = read_quietly(partial)
    result = verify_log(log)
    assert result.matched and "ends early (partial)" in result.message and result.records == len(log)


def test_trailing_assertion_events_are_recomputed(tmp_path, capsys):
    scn = mixed_scenario(runtime="duration_seconds = 1\nvus = 4", extra=ASSERTIONS)
    verdicts = passed_failed(z6.run_scenario(scn).assertions)
    assert verdicts == [12, 13]  # p99 passes, the error rate of 10% fails
    # After every event of the run, as a run records them (at its final tick).
    END = 10**6
    good = write_log(tmp_path / "good", scn, trailing=[assertion_events(verdicts, tick=END)])
    result = verify_log(good)
    assert result.matched and "so do its 2 assertion results" in result.message

    wrong = write_log(tmp_path / "wrong", scn, trailing=[assertion_events([12, 12], tick=END)])
    result = verify_log(wrong)
    assert not result.matched
    assert "assertion 1 (error_rate_max): the log says assertion_passed, the re-run says assertion_failed" in (
        result.message)
    code, out, _ = _cli(capsys, "replay", str(wrong), "--verify", "--json")
    assert code == 1 and json.loads(out)["matched"] is False

    # An engine event after the assertion events does not belong to the run.
    # (Its tick is not before theirs: a record whose tick goes back is refused when the log is read.)
    engine_event = read_log(good).events[:1].copy()
    engine_event["tick"] = END
    stray = write_log(tmp_path / "stray", scn, trailing=[assertion_events(verdicts, tick=END), engine_event])
    result = verify_log(stray)
    assert not result.matched and "is an engine event after the assertion events" in result.message


def test_a_footer_whose_digest_lies(run_log, tmp_path):
    data, _ = with_footer_doc(run_log.read_bytes(), lambda doc: doc.update(digest_sha256="0" * 64))
    path = tmp_path / "events.z6log"
    path.write_bytes(data)
    result = verify_log(path)
    assert not result.matched and "footer's digest does not match the records" in result.message


def test_a_shard_log_replays_its_shard(tmp_path):
    scn = mixed_scenario(runtime="duration_seconds = 0.5\nvus = 5")
    plan = z6.compile_plan(scn).shard(1, 3)  # VUs 2 and 3
    writer = EventLogWriter(tmp_path, make_header(scn, plan))
    z6.run_plan(plan, [writer], chunk_records=16)
    log = read_log(writer.finish())
    assert (log.header.first_vu_id, log.header.n_vus) == (2, 2)
    assert set(np.unique(log.events["vu_id"]).tolist()) == {2, 3}
    assert verify_log(log).matched


def test_an_unparseable_scenario_or_an_unreadable_log_exits_2(run_log, tmp_path, capsys):
    broken = rewrite_log(run_log, tmp_path / "broken", scenario_text="[runtime\n")
    code, out, err = _cli(capsys, "replay", str(broken), "--verify")
    assert code == 2 and f"{broken}: the scenario in its header: " in err and "test.toml: invalid TOML at line 1" in err
    assert "Traceback" not in err
    code, out, err = _cli(capsys, "replay", str(tmp_path / "nowhere"), "--verify")
    assert code == 2 and "file not found" in err
    code, out, err = _cli(capsys, "replay", str(run_log))
    assert code == 2 and "one of the arguments --verify --metrics-only is required" in err


def test_a_header_this_z6_cannot_compile_is_named_as_the_logs(run_log, tmp_path, capsys):
    # The header's overrides and VU range, not a flag the user gave nor the file
    # the header's source names, are what is wrong: the messages say so.
    huge = rewrite_log(run_log, tmp_path / "huge", vus_override=10**9)
    code, _, err = _cli(capsys, "replay", str(huge), "--metrics-only")
    assert code == 2 and err.startswith(f"z6: {huge}: the header records the run's --vus 1000000000, ")
    assert "which this z6 cannot compile: --vus (vus=): must be between" in err and "Traceback" not in err
    wide = rewrite_log(run_log, tmp_path / "wide", n_vus=10**6)
    code, _, err = _cli(capsys, "replay", str(wide), "--verify")
    assert code == 2 and err.startswith(f"z6: {wide}: the log covers VUs 1-1000000, but the re-compiled plan has")


# --- --metrics-only ---------------------------------------------------------

def test_metrics_only_recomputes_the_run_summary(tmp_path, capsys):
    scn = mixed_scenario(runtime="duration_seconds = 1\nvus = 4", extra=ASSERTIONS)
    run = z6.run_scenario(scn)
    path = write_log(tmp_path, scn, trailing=[assertion_events(passed_failed(run.assertions), tick=10**6)])
    again = recompute_run(path)
    assert again.summary.to_dict() == run.summary.to_dict()
    assert [a.to_dict() for a in again.assertions] == [a.to_dict() for a in run.assertions]
    assert again.stats.events == run.stats.events and not again.interrupted
    code, out, _ = _cli(capsys, "replay", str(path), "--metrics-only")
    assert code == 1  # the error-rate assertion fails, as it did in the run
    assert z6.render_run(again).split("\n")[:-1] == out.rstrip("\n").split("\n")[:-1]
    code, out, _ = _cli(capsys, "replay", str(path), "--metrics-only", "--json")
    doc = json.loads(out)
    assert code == 1 and doc["verdict"]["passed"] is False
    assert doc["summary"] == json.loads(json.dumps(summary_document(run)["summary"]))
    assert doc["run"]["source"] == "log"


@pytest.mark.parametrize("cut", ["completed", "partial"])
def test_replay_metrics_only_and_report_give_the_same_document(run_log, tmp_path, capsys, cut):
    # One log -> run function behind both commands: the same document, byte for byte.
    if cut == "partial":
        data = run_log.read_bytes()
        (tmp_path / "events.z6log.partial").write_bytes(data[: len(data) // 2])
        source = tmp_path
    else:
        source = run_log
    code, out, _ = _cli(capsys, "replay", str(source), "--metrics-only", "--json")
    report_code, _, _ = _cli(capsys, "report", str(source), "--json", str(tmp_path / "summary.json"))
    # The scenario sets no assertions: its default verdict (error rate <= 1%) fails its 10% errors.
    assert report_code == 0 and code == (1 if cut == "completed" else 3)
    assert out == (tmp_path / "summary.json").read_text()
    assert json.loads(out)["run"]["status"] == cut


# --- live runs: each VU's request sequence ----------------------------------

LIVE_SCENARIO_EXTRA = """
[think_time]
type = "uniform"
min_ms = 1
max_ms = 3
"""


def _live_log(directory, counts: dict[int, int], change=None):
    """A live-mode log whose request_issued events follow z6core.expected_requests, interleaved in time."""
    from conftest import scenario

    from test_log_helpers import TWO_REQUESTS

    scn = scenario(runtime="duration_seconds = 1\nvus = 4", requests=TWO_REQUESTS, extra=LIVE_SCENARIO_EXTRA)
    plan = z6.compile_plan(scn, mode="live")
    ids = np.array(sorted(counts), np.uint32)
    expected = z6core.expected_requests(plan, ids, np.array([counts[i] for i in ids.tolist()], np.uint32))
    rows = []
    at = 0
    for vu in ids.tolist():
        for n in range(counts[vu]):
            rows.append((n * 10 + vu, vu, int(expected[at]), n))
            at += 1
    rows.sort()
    events = np.zeros(len(rows), EVENT_DTYPE)
    for k, (tick, vu, request, seq) in enumerate(rows):
        events[k] = (tick, 0, vu, EventKind.REQUEST_ISSUED, request, 0, 0, seq)
    if change is not None:
        events = change(events)
    writer = EventLogWriter(directory, make_header(scn, plan, mode="live"))
    writer(events)
    return writer.finish(), events


@pytest.mark.skipif(not hasattr(z6core, "expected_requests"), reason="the core has no expected_requests")
def test_live_request_sequences_match(tmp_path):
    path, _ = _live_log(tmp_path, {1: 6, 2: 3, 4: 5})
    result = verify_log(path)
    assert result.matched and result.mode == "live" and "all 3 VUs (14 requests)" in result.message


@pytest.mark.skipif(not hasattr(z6core, "expected_requests"), reason="the core has no expected_requests")
def test_live_divergences_are_named(tmp_path, capsys):
    def swap(events):
        i = int(np.flatnonzero((events["vu_id"] == 2) & (events["seq"] == 1))[0])
        events["request"][i] = 1 - events["request"][i]
        return events

    path, events = _live_log(tmp_path / "swap", {1: 6, 2: 3, 4: 5}, swap)
    result = verify_log(path)
    assert not result.matched and (result.vu_id, result.index, result.tick) == (2, 1, 12)
    assert result.got["request"] == 1 - result.expected["request"]
    code, out, _ = _cli(capsys, "replay", str(path), "--verify")
    assert code == 1 and "first divergence: tick 12, VU 2, request number 1: expected" in out

    def drop(events):
        return events[~((events["vu_id"] == 4) & (events["seq"] == 2))]

    path, _ = _live_log(tmp_path / "drop", {1: 6, 2: 3, 4: 5}, drop)
    result = verify_log(path)
    assert not result.matched and result.vu_id == 4 and "a request is missing or repeated" in result.message

    def stranger(events):
        events["vu_id"][events["vu_id"] == 4] = 9
        return events

    # A VU the header does not cover is not a divergence but a log no run writes: refused when read.
    path, _ = _live_log(tmp_path / "stranger", {1: 6, 4: 5}, stranger)
    with pytest.raises(LogError, match=r"VU id 9 is not one of the header's VUs \(1 to 4, or 0 for none\)"):
        verify_log(path)


@pytest.mark.live
@pytest.mark.skipif(not hasattr(z6core, "expected_requests"), reason="the core has no expected_requests")
def test_a_real_live_run_verifies(tmp_path):
    # z6's built-in target on 127.0.0.1, three VUs for half a second.
    scn = z6.load_scenario(str(__import__("conftest").REPO / "examples" / "quickstart.toml"))
    if not getattr(scn.target, "builtin", False):
        pytest.skip("examples/quickstart.toml does not use the built-in target")
    plan = z6.compile_plan(scn, vus=3, duration_s=0.5)
    writer = EventLogWriter(tmp_path, make_header(scn, plan, mode="live", vus_override=3, duration_override_s=0.5))
    run = z6.run_scenario(scn, vus=3, duration_s=0.5, consumers=[writer])
    log = read_log(writer.finish())
    assert run.mode == "live" and run.summary.overall.requests > 0
    result = verify_log(log)
    assert result.matched and result.records == run.summary.overall.requests


def test_metrics_only_of_a_partial_log_covers_its_complete_chunks(run_log, tmp_path, capsys):
    data = run_log.read_bytes()
    (tmp_path / "events.z6log.partial").write_bytes(data[: len(data) // 2])
    log, _ = read_quietly(tmp_path)
    result = recompute_run(log)
    assert result.interrupted and result.stats.events == len(log) and result.stats.wall_s is None
    assert result.status == "partial" and result.source == "log"
    assert result.summary.overall.requests == int((log.events["kind"] == EventKind.REQUEST_ISSUED).sum())
    code, out, err = _cli(capsys, "replay", str(tmp_path), "--metrics-only")
    # A run that did not finish exits 3, as `z6 run` and the summary document's verdict do.
    assert code == 3 and "partial log" in err and "the log is partial: the summary covers what it holds" in err
    assert f"requests     {result.summary.overall.requests}" in out


# --- body files, wherever replay runs from -----------------------------------

BODY_REQUESTS = """
[[requests]]
name = "create"
method = "POST"
path = "/items"
body_file = "body.json"

[[requests]]
name = "browse"
method = "GET"
path = "/items"
weight = 3
"""


NO_DEFAULT_VERDICT = "\n[assertions]\ndefault = false\n"  # the simulated errors are wanted here


def test_body_files_resolve_from_any_working_directory(tmp_path, monkeypatch, capsys):
    from conftest import BASE

    project, elsewhere = tmp_path / "project", tmp_path / "elsewhere"
    project.mkdir(), elsewhere.mkdir()
    (project / "body.json").write_text('{"name": "x"}')
    (project / "s.toml").write_text(BASE.format(runtime="duration_seconds = 0.5\nvus = 3", requests=BODY_REQUESTS,
                                                extra=MIXED_SIMULATION + NO_DEFAULT_VERDICT))
    monkeypatch.chdir(project)
    code, _, err = _cli(capsys, "run", "s.toml", "--out", str(tmp_path / "run"), "--quiet")
    assert code == 0, err
    log = read_log(tmp_path / "run")
    assert log.header.scenario_source == str(project / "s.toml")  # absolute, as the log records it

    monkeypatch.chdir(elsewhere)
    code, out, err = _cli(capsys, "replay", str(tmp_path / "run"), "--verify")
    assert code == 0 and "MATCH: all" in out and "note:" not in out, err
    code, out, err = _cli(capsys, "replay", str(tmp_path / "run"), "--metrics-only")
    assert code == 0 and "requests" in out, err

    # The body file gone: neither check needs a body, and --verify says it went without.
    (project / "body.json").unlink()
    code, out, err = _cli(capsys, "replay", str(tmp_path / "run"), "--verify")
    assert code == 0 and "MATCH: all" in out, err
    assert "note: body files unavailable" in out and "requests[0].body_file 'body.json'" in out
    assert verify_log(tmp_path / "run").remarks[0].startswith("body files unavailable")
    code, out, err = _cli(capsys, "replay", str(tmp_path / "run"), "--metrics-only")
    assert code == 0 and "requests" in out, err
    # A scenario wrong in another way as well still fails, naming every problem.
    broken = rewrite_log(log.path, tmp_path / "broken",
                         scenario_text=log.header.scenario_text.replace("vus = 3", "vus = -3"))
    code, _, err = _cli(capsys, "replay", str(broken), "--metrics-only")
    assert code == 2 and "body_file" in err and "vus" in err and "Traceback" not in err


def test_a_scenario_without_a_file_resolves_body_files_beside_the_log(tmp_path):
    from z6.analysis import scenario_from_header

    (tmp_path / "body.json").write_bytes(b"payload")
    text = mixed_scenario().text.replace('method = "POST"', 'method = "POST"\nbody_file = "body.json"')
    header = dataclasses.replace(read_log(write_log(tmp_path / "a", mixed_scenario())).header,
                                 scenario_source="<string>", scenario_text=text)
    assert scenario_from_header(header, tmp_path / "events.z6log").requests[0].body == b"payload"
    with pytest.raises(z6.ScenarioError, match="body_file"):
        scenario_from_header(header, tmp_path / "elsewhere" / "events.z6log")
    dropped = scenario_from_header(header, tmp_path / "elsewhere" / "events.z6log", require_bodies=False)
    assert dropped.requests[0].body is None and dropped.requests[0].name == "login"


@pytest.mark.skipif(not hasattr(z6core, "expected_requests"), reason="the core has no expected_requests")
def test_a_live_log_whose_body_file_is_gone_still_verifies(tmp_path):
    import hashlib

    path, _ = _live_log(tmp_path / "live", {1: 6, 2: 3, 4: 5})
    text = read_log(path).header.scenario_text.replace('method = "POST"', 'method = "POST"\nbody_file = "gone.json"')
    moved = rewrite_log(path, tmp_path / "moved", scenario_text=text,
                        scenario_sha256=hashlib.sha256(text.encode()).hexdigest())
    result = verify_log(moved)
    assert result.matched and result.mode == "live" and "gone.json" in result.remarks[0]
    assert json.loads(json.dumps(result.to_dict()))["remarks"] == list(result.remarks)


# --- exit codes and assertion events of runs that did or did not complete -----

@pytest.mark.parametrize("status", ["interrupted", "failed"])
def test_metrics_only_of_a_run_that_did_not_complete_exits_3(run_log, tmp_path, capsys, status):
    events = read_log(run_log).events
    path = rewrite_log(run_log, tmp_path / status, events=events[:50], status=status)
    # The default verdict fails the 10% errors, but the status decides the exit code.
    assert not recompute_run(path).passed
    code, _, err = _cli(capsys, "replay", str(path), "--metrics-only")
    assert code == 3 and f"the log is {status}" in err and "(exit 3)" in err
    code, out, _ = _cli(capsys, "replay", str(path), "--metrics-only", "--json")
    assert code == 3 and json.loads(out)["run"]["status"] == status


def test_a_completed_log_stripped_of_its_assertion_events_is_a_mismatch(tmp_path, capsys):
    scn = mixed_scenario(runtime="duration_seconds = 1\nvus = 4", extra=ASSERTIONS)
    stripped = write_log(tmp_path / "stripped", scn)  # the footer is consistent with its records
    assert read_log(stripped).footer.count(EventKind.ASSERTION_PASSED) == 0
    result = verify_log(stripped)
    assert not result.matched
    assert "the log holds 0 assertion events, the scenario's assertions give 2 results" in result.message
    code, out, _ = _cli(capsys, "replay", str(stripped), "--verify")
    assert code == 1 and "MISMATCH" in out
    # An interrupted run's log is checked on the assertion events it holds: none here.
    interrupted = write_log(tmp_path / "interrupted", scn, status="interrupted")
    assert verify_log(interrupted).matched
    # A scenario without assertions: a completed log holds none.
    assert verify_log(write_log(tmp_path / "none", mixed_scenario())).matched
