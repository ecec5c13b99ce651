"""What `z6 run` leaves in its run directory, and that a report rebuilt from the
log says what the run said."""

from __future__ import annotations

import json
import pathlib
import re

import jsonschema
import numpy as np
import pytest

import z6
from z6.cli import main
from z6.events import EventKind
from z6.report import document_from_log, load_schema
from conftest import REPO

SIMULATED = str(REPO / "examples" / "simulated.toml")


def run_cli(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def _without_run_only_fields(doc: dict) -> dict:
    # wall_s and source differ by design; a log records the scenario's absolute path.
    doc = json.loads(json.dumps(doc))
    for key in ("wall_s", "source"):
        doc["run"].pop(key)
    doc["run"]["scenario"] = str(pathlib.Path(doc["run"]["scenario"]).resolve())
    return doc


def test_a_run_directory_holds_the_log_a_valid_summary_the_scenario_and_the_html(capsys, tmp_path):
    out = tmp_path / "run"
    code, _, err = run_cli(capsys, "run", SIMULATED, "--duration", "2", "--out", str(out), "--html")
    assert code == 0, err
    assert sorted(p.name for p in out.iterdir()) == ["events.z6log", "report.html", "scenario.toml", "summary.json"]
    summary = json.loads((out / "summary.json").read_text())
    jsonschema.validate(summary, load_schema())            # the file z6 run wrote, not an in-memory copy
    assert (out / "scenario.toml").read_text() == pathlib.Path(SIMULATED).read_text()
    html = (out / "report.html").read_text()
    assert html.startswith("<!DOCTYPE html>") and "<svg" in html
    assert not re.search(r'(src|href)\s*=\s*["\']?(https?:)?//', html)     # nothing fetched: works offline
    log = z6.read_log(out)
    assert log.complete and log.status == "completed"
    kinds = log.events["kind"]
    verdicts = np.flatnonzero((kinds == EventKind.ASSERTION_PASSED) | (kinds == EventKind.ASSERTION_FAILED))
    # One verdict per assertion, after every engine event.
    assert len(verdicts) == len(summary["assertions"]) and verdicts.min() == len(kinds) - len(verdicts)


def test_the_report_from_a_run_directory_equals_the_runs_summary(capsys, tmp_path):
    out = tmp_path / "run"
    assert run_cli(capsys, "run", SIMULATED, "--duration", "2", "--out", str(out))[0] == 0
    from_run = json.loads((out / "summary.json").read_text())
    from_log = document_from_log(z6.read_log(out))
    assert _without_run_only_fields(from_log) == _without_run_only_fields(from_run)


@pytest.mark.live
def test_a_live_report_from_the_log_counts_the_same_bytes(tmp_path):
    from z6.serve import BuiltinTarget

    with BuiltinTarget() as server:
        text = pathlib.Path(REPO / "examples" / "quickstart.toml").read_text()
        text = text.replace("builtin = true", f'base_url = "{server.base_url}"')
        scenario = z6.parse_scenario(text, source=str(tmp_path / "live.toml"))
        result = z6.run_scenario(scenario, duration_s=1.5, out_dir=tmp_path / "run")
    from_run = json.loads((tmp_path / "run" / "summary.json").read_text())
    assert from_run["time_series"]["bytes_sent"] and sum(from_run["time_series"]["bytes_sent"]) > 0
    from_log = document_from_log(z6.read_log(tmp_path / "run"))
    assert _without_run_only_fields(from_log) == _without_run_only_fields(from_run)
    assert result.mode == "live"


def test_quiet_shows_no_progress(capsys, tmp_path):
    code, out, err = run_cli(capsys, "run", SIMULATED, "--duration", "2", "--out", str(tmp_path / "r"), "--quiet")
    assert code == 0
    assert err.strip().splitlines() == [f"run directory: {tmp_path / 'r'}"]


def test_report_refuses_to_write_over_the_log_it_reads(capsys, tmp_path):
    out = tmp_path / "run"
    assert run_cli(capsys, "run", SIMULATED, "--duration", "1", "--out", str(out))[0] == 0
    before = (out / "events.z6log").read_bytes()
    code, _, err = run_cli(capsys, "report", str(out), "-o", str(out / "events.z6log"))
    assert code == 2 and "event log" in err
    assert (out / "events.z6log").read_bytes() == before
