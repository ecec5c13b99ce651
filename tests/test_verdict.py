"""The verdict a run ends with (issue 12): the default verdict, interrupted runs,
and a summary people can read: many requests, hostile request names."""

from __future__ import annotations

import dataclasses
import json
import re

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
    log = write_log(tmp_path / "old", scn, trailing=[assertion_events(passed_failed(old), tick=10**6)])
    result = verify_log(log)
    assert result.matched, result.message
    assert "predates the default verdict" in result.message
    # A new log of the same scenario holds both, and verifies.
    new = evaluate_assertions(scn.assertions, z6.run_scenario(scn).summary)
    assert passed_failed(new) == [12, 13]
    assert verify_log(write_log(tmp_path / "new", scn, trailing=[assertion_events(passed_failed(new), tick=10**6)])).matched


# --- 2. interrupted runs ---------------------------------------------------------

def test_an_interrupted_run_ends_interrupted_not_passed(tmp_path, capsys):
    scn = scenario("duration_seconds = 1\nvus = 2", extra='[simulation]\nlatency = { type = "constant", ms = 5 }\n')
    full = write_log(tmp_path / "run", scn)
    events = z6.read_log(full).events
    for status, word in (("interrupted", "INTERRUPTED"), ("failed", "FAILED")):
        path = rewrite_log(full, tmp_path / status, events=events[:40], status=status)
        result = recompute_run(path)
        # Its assertions (the default) passed on what ran, yet the run did not pass.
        assert all(a.passed for a in result.assertions) and not result.passed
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

    kwargs.setdefault("stderr", subprocess.PIPE)
    return subprocess.Popen([sys.executable, "-m", "z6.cli", *args], stdout=subprocess.PIPE,
                            env=child_environment(), **kwargs)


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


# --- 7. request names reach the terminal only as printable text ------------------

FORGED = "x\r\nPASSED  (1 events)\x1b[2J\x9b1m\u2028"


def test_a_request_name_with_control_characters_is_refused_naming_it(tmp_path, capsys):
    requests = '[[requests]]\nname = "ok"\nmethod = "GET"\npath = "/"\n\n' \
               '[[requests]]\nname = "x\\r\\nPASSED\\u001b[2J\\u009b1m"\nmethod = "GET"\npath = "/"\n'
    code, out, err = _cli(capsys, "validate", str(_write(tmp_path, "", requests=requests)))
    assert code == 2 and out == ""
    assert 'requests[1].name: must not contain control characters, got "x\\r\\nPASSED\\u001b[2J\\x9b1m"' in err
    assert "\x1b" not in err and "\x9b" not in err and "\r" not in err and "Traceback" not in err


def _forged_scenario():
    # A Scenario built in code skips validation: the renderers must hold on their own
    # (and logs written before the rule may hold such names).
    scn = scenario("duration_seconds = 1\nvus = 2", extra='[simulation]\nlatency = { type = "constant", ms = 5 }\n')
    return dataclasses.replace(scn, requests=(dataclasses.replace(scn.requests[0], name=FORGED),))


def _assert_printable(text: str) -> None:
    assert not any(ch in text for ch in "\r\x1b\x9b\u2028"), text
    assert "\nPASSED" not in text.replace("\nPASSED  (", "")  # only the verdict line may start with it


def test_the_summary_and_the_analyses_escape_what_is_not_printable(tmp_path, capsys):
    scn = _forged_scenario()
    text = render_run(z6.run_scenario(scn))
    _assert_printable(text)
    assert "x\\r\\nPASSED  (1 events)\\x1b[2J\\x9b1m\\u2028" in text
    log = write_log(tmp_path / "run", scn)
    for args in (["analyze", str(log), "--by", "request"], ["diff", str(log), str(log)],
                 ["replay", str(log), "--verify"]):
        code, out, err = _cli(capsys, *args)
        _assert_printable(out + err)
    code, out, _ = _cli(capsys, "analyze", str(log), "--by", "request")
    assert code == 0 and "x\\r\\nPASSED" in out


# --- 6. many requests -------------------------------------------------------------

def test_many_requests_show_the_busiest_twenty_and_one_line_for_the_rest(tmp_path, capsys):
    # 200 requests; r000..r019 weigh 100 times the rest, so they are the busiest.
    requests = "".join(f'[[requests]]\nname = "r{i:03d}"\nmethod = "GET"\npath = "/{i}"\n'
                       f'weight = {100 if i < 20 else 1}\n\n' for i in range(200))
    path = _write(tmp_path, '[simulation]\nlatency = { type = "constant", ms = 5 }\n',
                  runtime="duration_seconds = 5\nvus = 50", requests=requests)
    code, out, err = _cli(capsys, "run", str(path), "--quiet", "--out", str(tmp_path / "run"))
    assert code == 0, err
    lines = out.splitlines()
    assert len(lines) < 80, len(lines)
    more = f"  ... and 180 more requests: z6 analyze {tmp_path / 'run'} --by request"
    assert lines.count(more) == 2  # under the latency table and under the request table
    shown = {line.split()[0] for line in lines if re.match(r"  r\d{3} ", line)}
    assert shown == {f"r{i:03d}" for i in range(20)}
    # The document and the analysis keep them all.
    doc = json.loads((tmp_path / "run" / "summary.json").read_text())
    assert len(doc["requests"]) == 200
    code, out, _ = _cli(capsys, "analyze", str(tmp_path / "run"), "--by", "request", "--format", "csv")
    assert code == 0 and len(out.splitlines()) == 1 + 1 + 200


def test_an_error_message_quoting_a_file_name_escapes_it(tmp_path, capsys):
    code, _, err = _cli(capsys, "validate", str(tmp_path / "no\x1b[2Jsuch.toml"))
    assert code == 2 and "\x1b" not in err and "no\\x1b[2Jsuch.toml" in err


@pytest.mark.parametrize("extra, code", [('[simulation]\nlatency = { type = "constant", ms = 5 }\n', 0),
                                         (ALL_503, 1)])
def test_run_with_stderr_into_the_same_closed_pipe_keeps_its_exit_code(tmp_path, extra, code):
    # `z6 run s.toml 2>&1 | head -0`: the messages' pipe is closed too.
    import subprocess

    proc = _z6_process("run", str(_write(tmp_path, extra)), "--out", str(tmp_path / "run"),
                       stderr=subprocess.STDOUT)
    proc.stdout.close()
    assert proc.wait(timeout=120) == code
    assert json.loads((tmp_path / "run" / "summary.json").read_text())["run"]["status"] == "completed"
