"""The verdict a run ends with (issue 12): the default verdict, interrupted runs,
and a summary people can read: many requests, hostile request names."""

from __future__ import annotations

import dataclasses
import json

import pytest

import z6
from z6.analysis import recompute_run, verify_log
from z6.assertions import evaluate_assertions
from z6.cli import main
from z6.report import render_run, summary_document

from conftest import BASE, scenario
from test_log_helpers import assertion_events, passed_failed, rewrite_log, write_log

ALL_503 = '[simulation]\nlatency = { type = "constant", ms = 5 }\nstatus_codes = { "503" = 1 }\n'


def _cli(capsys, *args):
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def _write(tmp_path, extra: str, runtime: str = "duration_seconds = 2\nvus = 4", requests: str | None = None):
    from conftest import ONE_REQUEST

    path = tmp_path / "s.toml"
    path.write_text(BASE.format(runtime=runtime, requests=requests or ONE_REQUEST, extra=extra))
    return path


# --- 1. the default verdict ---------------------------------------------------

def test_a_run_whose_every_request_failed_fails_without_any_assertions(tmp_path, capsys):
    code, out, err = _cli(capsys, "run", str(_write(tmp_path, ALL_503)), "--out", str(tmp_path / "run"), "--quiet")
    assert code == 1, err
    assert "FAIL  error_rate_max <= 0.01 (default): measured 1" in out
    assert out.rstrip().splitlines()[-1].startswith("FAILED")
    doc = json.loads((tmp_path / "run" / "summary.json").read_text())
    [default] = doc["assertions"]
    assert default["default"] is True and default["name"] == "error_rate_max" and default["threshold"] == 0.01
    assert doc["verdict"]["exit_code"] == 1 and doc["verdict"]["result"] == "failed"
    # The log records it; --verify and --metrics-only judge it the same way.
    code, out, err = _cli(capsys, "replay", str(tmp_path / "run"), "--verify")
    assert code == 0 and "MATCH" in out and "and so do its 1 assertion results" in out, out + err
    code, out, _ = _cli(capsys, "replay", str(tmp_path / "run"), "--metrics-only")
    assert code == 1 and "(default)" in out


def test_a_healthy_run_passes_the_default_and_says_so(tmp_path, capsys):
    extra = '[simulation]\nlatency = { type = "constant", ms = 5 }\n'
    code, out, err = _cli(capsys, "run", str(_write(tmp_path, extra)), "--quiet")
    assert code == 0, err
    assert "PASS  error_rate_max <= 0.01 (default): measured 0" in out


def test_the_default_verdict_can_be_turned_off(tmp_path, capsys):
    code, out, err = _cli(capsys, "run", str(_write(tmp_path, ALL_503 + "\n[assertions]\ndefault = false\n")),
                          "--quiet")
    assert code == 0, err
    assert "(default)" not in out and out.rstrip().splitlines()[-1].startswith("PASSED")


def test_an_error_limit_of_its_own_replaces_the_default(tmp_path, capsys):
    code, out, _ = _cli(capsys, "run", str(_write(tmp_path, ALL_503 + "\n[assertions]\nsuccess_rate_min = 0\n")),
                        "--quiet")
    assert code == 0 and "(default)" not in out and "success_rate_min >= 0" in out


def test_default_must_be_a_boolean(tmp_path, capsys):
    code, _, err = _cli(capsys, "validate", str(_write(tmp_path, '[assertions]\ndefault = "no"\n')))
    assert code == 2 and "assertions.default" in err and "Traceback" not in err


def test_an_old_log_with_assertions_but_no_default_event_still_verifies(tmp_path):
    # Written before the default verdict: one event for p99 only, none for the default.
    scn = scenario("duration_seconds = 1\nvus = 2", extra=ALL_503 + "\n[assertions]\np99_latency_ms = 1000\n")
    old = evaluate_assertions(dataclasses.replace(scn.assertions, default=False), z6.run_scenario(scn).summary)
    log = write_log(tmp_path / "old", scn, trailing=[assertion_events(passed_failed(old), tick=1000)])
    result = verify_log(log)
    assert result.matched, result.message
    assert "predates the default verdict" in result.message
    # A new log of the same scenario holds both, and verifies.
    new = evaluate_assertions(scn.assertions, z6.run_scenario(scn).summary)
    assert passed_failed(new) == [12, 13]
    assert verify_log(write_log(tmp_path / "new", scn, trailing=[assertion_events(passed_failed(new), tick=1000)])).matched


# --- 2. interrupted runs ---------------------------------------------------------

def test_an_interrupted_run_ends_interrupted_not_passed(tmp_path, capsys):
    scn = scenario("duration_seconds = 1\nvus = 2", extra='[simulation]\nlatency = { type = "constant", ms = 5 }\n')
    full = write_log(tmp_path / "run", scn)
    events = z6.read_log(full).events
    for status, word in (("interrupted", "INTERRUPTED"), ("failed", "FAILED")):
        path = rewrite_log(full, tmp_path / status, events=events[:40], status=status)
        result = recompute_run(path)
        assert result.passed  # its assertions (the default) passed on what ran
        assert render_run(result).splitlines()[-1].startswith(word)
        verdict = summary_document(result)["verdict"]
        assert verdict == {**verdict, "passed": False, "exit_code": 3, "result": word.lower()}
        code, out, _ = _cli(capsys, "replay", str(path), "--metrics-only")
        assert code == 3 and out.rstrip().splitlines()[-1].startswith(word)


# --- 5. a closed pipe -----------------------------------------------------------

def _z6_process(*args, **kwargs):
    import subprocess
    import sys

    from z6._child_env import child_environment

    return subprocess.Popen([sys.executable, "-m", "z6.cli", *args], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, env=child_environment(), **kwargs)


def test_analyze_into_a_pipe_closed_after_one_line_stops_quietly(tmp_path):
    # `z6 analyze RUN --by vu --format csv | head -1`: far more than a pipe's buffer.
    run = tmp_path / "run"
    assert main(["run", str(_write(tmp_path, '[simulation]\nlatency = { type = "constant", ms = 5 }\n',
                                   runtime="duration_seconds = 1\nvus = 3000")),
                 "--quiet", "--out", str(run)]) == 0
    proc = _z6_process("analyze", str(run), "--by", "vu", "--format", "csv")
    first = proc.stdout.readline()
    proc.stdout.close()  # what head does after its line
    err = proc.stderr.read().decode()
    assert proc.wait(timeout=60) == 0, err
    assert first.startswith(b"group,") and err == ""


@pytest.mark.parametrize("extra, code", [('[simulation]\nlatency = { type = "constant", ms = 5 }\n', 0),
                                         (ALL_503, 1)])
def test_run_into_a_closed_pipe_completes_its_run_and_keeps_its_exit_code(tmp_path, extra, code):
    # The reader is gone before the summary is written: `z6 run ... | head -0`.
    proc = _z6_process("run", str(_write(tmp_path, extra)), "--quiet", "--json", "--out", str(tmp_path / "run"))
    proc.stdout.close()
    err = proc.stderr.read().decode()
    assert proc.wait(timeout=120) == code, err
    assert "internal error" not in err and "Traceback" not in err and "BrokenPipe" not in err
    doc = json.loads((tmp_path / "run" / "summary.json").read_text())
    assert doc["run"]["status"] == "completed" and doc["verdict"]["exit_code"] == code
