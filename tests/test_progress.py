"""The live view: what it shows, how often, and nothing at all when quiet."""

from __future__ import annotations

import io

import pytest

import z6
from z6.cli._progress import ProgressView
from z6.runner import ProgressSnapshot, run_plan
from conftest import scenario


class FakeTerminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def _snapshot(wall_s: float, elapsed_s: float = None, requests: int = 0, vus: int = 5) -> ProgressSnapshot:
    return ProgressSnapshot(elapsed_s=wall_s if elapsed_s is None else elapsed_s, total_s=60.0, active_vus=vus,
                            requests_issued=requests, events=0, wall_s=wall_s)


@pytest.fixture(scope="module")
def plan():
    sc = scenario("duration_seconds = 30\nvus = 50",
                  extra='[simulation]\nlatency = { type = "lognormal", median_ms = 20, p99_ms = 120 }\n'
                        'error_rate = 0.02\nstatus_codes = { "200" = 95, "500" = 5 }')
    return z6.compile_plan(sc)


def test_plain_lines_every_ten_seconds_of_wall_time():
    out = io.StringIO()
    view = ProgressView(60.0, "auto", out)           # a StringIO is not a terminal
    for step in range(0, 351):                      # 0 .. 35 s of wall time, every 0.1 s
        view.update(_snapshot(step / 10, requests=100 * step))
    view.close()
    lines = out.getvalue().splitlines()
    assert len(lines) == 3 == view.updates          # at 10, 20 and 30 s
    assert lines[0].startswith("z6: 10.0 s of 60.0 s (17%)  VUs 5  1,000.0 req/s")
    assert "errors 0" in lines[0] and "p95 -" in lines[0]


def test_quiet_shows_nothing_and_costs_nothing(plan):
    out = FakeTerminal()
    view = ProgressView(None, "quiet", out)
    run_plan(plan, [view], progress=view.update)
    view.close()
    assert out.getvalue() == "" and view.updates == 0
    assert view.completed == 0                      # the consumer returned at once


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


def test_the_view_counts_what_the_summary_counts(plan):
    out = io.StringIO()
    view = ProgressView(None, "plain", out)
    builder = z6.SummaryBuilder(plan.request_names, plan.tick_ns)
    last = []
    run_plan(plan, [builder, view], chunk_records=4096, progress=lambda s: (view.update(s), last.append(s)))
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
    view = ProgressView(5.0, "plain", out)
    view._completed = 88
    view._draw(ProgressSnapshot(elapsed_s=6.0, total_s=5.0, active_vus=3, requests_issued=100, events=0,
                                wall_s=6.0))
    line = out.getvalue().splitlines()[-1]
    assert line.startswith("z6: 6.0 s: schedule ended at 5.0 s, 12 requests in flight  VUs 3"), line
    assert "100%" not in line
    # Within the schedule: elapsed of total, as before.
    view._draw(ProgressSnapshot(elapsed_s=5.0, total_s=5.0, active_vus=3, requests_issued=100, events=0,
                                wall_s=7.0))
    assert "5.0 s of 5.0 s (100%)" in out.getvalue().splitlines()[-1]
