"""The live view: what it shows, how often, and nothing at all when quiet."""

from __future__ import annotations

import io
import json
import re
from types import SimpleNamespace

import pytest

import z6
import z6.cli
from z6.cli._progress import ProgressView
from z6.runner import ProgressSnapshot, run_plan
from conftest import BASE, ONE_REQUEST, scenario

ERRORS_AND_LATENCY = ('[simulation]\nlatency = { type = "lognormal", median_ms = 20, p99_ms = 120 }\n'
                      'error_rate = 0.02\nstatus_codes = { "200" = 95, "500" = 5 }')


class FakeTerminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def _snapshot(wall_s: float, elapsed_s: float = None, requests: int = 0, vus: int = 5) -> ProgressSnapshot:
    return ProgressSnapshot(elapsed_s=wall_s if elapsed_s is None else elapsed_s, total_s=60.0, active_vus=vus,
                            requests_issued=requests, events=0, wall_s=wall_s)


@pytest.fixture(scope="module")
def plan():
    sc = scenario("duration_seconds = 30\nvus = 50", extra=ERRORS_AND_LATENCY)
    return z6.compile_plan(sc)


class CountedFigures:
    """A run's figures so far, counting how often the view reads them."""

    def __init__(self, completed: int = 0, failed: int = 0, p95_ms=None) -> None:
        self.reads = 0
        self.figures = SimpleNamespace(completed=completed, failed=failed, latency_ms={"p95": p95_ms})

    def __call__(self):
        self.reads += 1
        return self.figures


def test_plain_lines_every_ten_seconds_of_wall_time():
    out = io.StringIO()
    figures = CountedFigures()
    view = ProgressView(60.0, "auto", out, figures=figures)   # a StringIO is not a terminal
    for step in range(0, 351):                      # 0 .. 35 s of wall time, every 0.1 s
        view.update(_snapshot(step / 10, requests=100 * step))
    view.close()
    lines = out.getvalue().splitlines()
    assert len(lines) == 3 == view.updates          # at 10, 20 and 30 s
    assert lines[0].startswith("z6: 10.0 s of 60.0 s (17%)  VUs 5  1,000.0 req/s")
    assert "errors 0" in lines[0] and "p95 -" in lines[0]
    # The run's figures are read once a line, not once an update: between lines the view costs nothing.
    assert figures.reads == 3


def test_a_line_shows_the_figures_it_follows():
    out = io.StringIO()
    view = ProgressView(60.0, "plain", out)
    view._draw(_snapshot(10.0, requests=400))
    assert "errors 0  p95 -" in out.getvalue()      # nothing followed yet: none so far
    view.follow(CountedFigures(completed=400, failed=8, p95_ms=12.34))
    view._draw(_snapshot(20.0, requests=500))
    assert out.getvalue().splitlines()[-1].endswith("errors 8 (2.00%)  p95 12.3 ms")
    assert (view.completed, view.errors, view.p95_ms) == (400, 8, 12.34)


def test_quiet_shows_nothing_and_costs_nothing(plan):
    out = FakeTerminal()
    figures = CountedFigures()
    view = ProgressView(None, "quiet", out, figures=figures)
    run_plan(plan, [], progress=view.update)
    view.close()
    assert out.getvalue() == "" and view.updates == 0
    assert figures.reads == 0                       # update returned at once, every time


def test_terminal_redraws_at_most_four_times_a_second():
    out = FakeTerminal()
    view = ProgressView(60.0, "auto", out)
    for step in range(0, 208):                      # 2.07 s of wall time, a snapshot every 10 ms
        view.update(_snapshot(step / 100, requests=step))
    drawn = view.updates
    view.close()
    assert drawn == 9                               # at 0, 0.25, ..., 2.0 s
    assert view.updates == drawn + 1                # the final state, drawn on close
    text = out.getvalue()
    assert "\x1b[" in text                          # rich's live line, not plain lines
    assert "2.1 s of 60.0 s (3%)" in text


def test_the_view_shows_what_the_summary_counts(plan):
    out = io.StringIO()
    builder = z6.SummaryBuilder(plan.request_names, plan.tick_ns)
    view = ProgressView(None, "plain", out, figures=builder.snapshot)
    last = []
    run_plan(plan, [builder], chunk_records=4096, progress=lambda s: (view.update(s), last.append(s)))
    summary = builder.finish()
    assert view.errors == summary.overall.failed > 0
    assert view.completed == summary.overall.completed
    exact = summary.overall.latency.percentiles["p95"]
    p95 = view.p95_ms
    assert exact <= p95 <= exact * 1.001
    # A final plain line carries the same figures (drawn here by hand: the run is
    # faster than the 10 s interval).
    view._draw(last[-1])
    line = out.getvalue().splitlines()[-1]
    assert f"errors {summary.overall.failed} ({summary.overall.error_rate:.2%})" in line
    # The run ended past its 30 s schedule, every request answered: nothing in flight.
    assert f"p95 {p95:.1f} ms" in line and "schedule ended at 30.0 s, 0 requests in flight" in line


def test_unknown_mode_is_refused():
    with pytest.raises(ValueError, match="progress mode must be one of auto, plain, quiet, got 'loud'"):
        ProgressView(None, "loud")


def test_after_the_schedule_ends_the_line_says_so_and_counts_requests_in_flight():
    # 6 s into a 5 s schedule: the run drains what is in flight (issue 12: not "6.0 s of 5.0 s (100%)").
    out = io.StringIO()
    view = ProgressView(5.0, "plain", out, figures=CountedFigures(completed=88))
    view._draw(ProgressSnapshot(elapsed_s=6.0, total_s=5.0, active_vus=3, requests_issued=100, events=0,
                                wall_s=6.0))
    line = out.getvalue().splitlines()[-1]
    assert line.startswith("z6: 6.0 s: schedule ended at 5.0 s, 12 requests in flight  VUs 3"), line
    assert "100%" not in line
    # Within the schedule: elapsed of total, as before.
    view._draw(ProgressSnapshot(elapsed_s=5.0, total_s=5.0, active_vus=3, requests_issued=100, events=0,
                                wall_s=7.0))
    assert "5.0 s of 5.0 s (100%)" in out.getvalue().splitlines()[-1]


def test_z6_run_on_a_terminal_ends_on_the_summarys_own_figures(capsys, tmp_path, monkeypatch):
    # The command line's view follows the run's handle: its last line (drawn when the
    # run ends) carries the summary's counts and, within the HDR's precision, its p95.
    path = tmp_path / "errors.toml"
    path.write_text(BASE.format(runtime="duration_seconds = 30\nvus = 50", requests=ONE_REQUEST,
                                extra=ERRORS_AND_LATENCY))
    monkeypatch.setattr("z6.cli._progress._is_terminal", lambda stream: True)
    monkeypatch.setenv("COLUMNS", "200")             # rich cuts a line at the terminal's width
    assert z6.cli.main(["run", str(path), "--simulate", "--json", "--out", str(tmp_path / "quiet")]) in (0, 1)
    document = json.loads(capsys.readouterr().out)
    assert z6.cli.main(["run", str(path), "--simulate", "--out", str(tmp_path / "run")]) in (0, 1)
    err = capsys.readouterr().err
    last = [line for line in re.split(r"[\r\n]", err) if "z6 " in line][-1]
    summary = document["summary"]
    assert summary["failed"] > 0
    shown = re.search(r"errors (\d+) \([\d.]+%\)  p95 ([\d.]+) ms", last)
    assert shown, err
    assert int(shown.group(1)) == summary["failed"]
    exact = summary["latency_ms"]["p95"]
    assert exact - 0.05 <= float(shown.group(2)) <= exact * 1.001 + 0.05   # the line shows 0.1 ms
    assert "schedule ended at 30.0 s, 0 requests in flight" in last
