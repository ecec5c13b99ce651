"""`z6 analyze`: its figures equal a direct numpy computation on the same events."""

from __future__ import annotations

import csv
import io
import json
import math
from fractions import Fraction

import numpy as np

from z6.metrics import failure_label
import pytest

from z6.cli import main
from z6.events import EventKind, outcome_mask
from z6.analysis import analyze_log, compile_filter
from z6.log import read_log
from z6.metrics import SummaryBuilder

from test_log_helpers import assertion_events, mixed_scenario, rewrite_log, with_footer_doc, write_log

ISSUED, RECEIVED = int(EventKind.REQUEST_ISSUED), int(EventKind.RESPONSE_RECEIVED)


@pytest.fixture(scope="module")
def log(tmp_path_factory):
    scn = mixed_scenario(runtime="duration_seconds = 4\nvus = 12")
    # Assertion events after the run's events must change nothing below.
    path = write_log(tmp_path_factory.mktemp("run"), scn, chunk_records=300,
                     trailing=[assertion_events([12, 13], tick=10**9)])
    return read_log(path)


def _engine(events: np.ndarray) -> np.ndarray:
    return events[~np.isin(events["kind"], [12, 13])]


def _rank(sorted_ms: np.ndarray, p: float) -> float:
    # The nearest rank, in exact integer arithmetic: ceil(p/100 * n).
    n = sorted_ms.size
    return float(sorted_ms[math.ceil(Fraction(str(p)) * n / 100) - 1])


def _numpy_figures(ev: np.ndarray, percentiles) -> dict:
    kind = ev["kind"]
    outcome = outcome_mask(kind)
    received = kind == RECEIVED
    ns = ev["value_ns"][received]
    ms = np.sort(ns) / 1e6
    figures = {
        "events": ev.size,
        "requests": int((kind == ISSUED).sum()),
        "completed": int(outcome.sum()),
        "failed": int((outcome & (~received | (ev["status"] >= 400))).sum()),
        "count": int(ms.size),
    }
    if ms.size:
        # The mean of the exact nanosecond sum (Python integers), rounded once.
        mean = float(Fraction(sum(ns.tolist()), ns.size * 1_000_000))
        figures.update(min=ms.min(), max=ms.max(), mean=mean, **{f"p{p:g}": _rank(ms, p) for p in percentiles})
    return figures


def _analysis_figures(group, percentiles) -> dict:
    lat = group.latency
    figures = {"events": group.events, "requests": group.requests, "completed": group.completed,
               "failed": group.failed, "count": lat.count}
    if lat.count:
        figures.update(min=lat.min, max=lat.max, mean=lat.mean,
                       **{f"p{p:g}": lat.percentiles[f"p{p:g}"] for p in percentiles})
    return figures


PCTS = (50, 90, 99, 99.9)


def test_overall_figures_equal_numpy(log):
    ev = _engine(log.events)
    result = analyze_log(log, percentiles=PCTS)
    expected = _numpy_figures(ev, PCTS)
    assert expected["failed"] > 0 and expected["count"] > 1000
    assert _analysis_figures(result.overall, PCTS) == expected
    # numpy's own inverted_cdf agrees where its floating-point rank is exact
    ms = np.sort(ev["value_ns"][ev["kind"] == RECEIVED]) / 1e6
    assert [result.overall.latency.percentiles[f"p{p}"] for p in (50, 90, 99)] == list(
        np.percentile(ms, [50, 90, 99], method="inverted_cdf"))
    duration_s = (int(ev["tick"].max()) - int(ev["tick"].min())) * log.header.tick_ns / 1e9
    assert result.duration_s == duration_s
    assert result.overall.rate == expected["requests"] / duration_s
    assert result.overall.error_rate == expected["failed"] / expected["completed"]


def test_responses_of_4_3_s_and_more_are_exact_after_the_narrow_column_widens(log, tmp_path):
    # The analysis keeps latencies as uint32 until one needs 64 bits: a response of
    # 2**32 ns or more half-way through the log widens them, and nothing wraps.
    events = log.events.copy()
    received = np.flatnonzero(events["kind"] == RECEIVED)
    middle = received[received.size // 2:received.size // 2 + 3]
    events["value_ns"][middle] = [2**32, 5 * 10**9 + 7, 2**40 + 1]
    wide = read_log(rewrite_log(log.path, tmp_path, events=events, chunk_records=300))
    result = analyze_log(wide, percentiles=PCTS + (99.99, 100))
    assert _analysis_figures(result.overall, PCTS + (99.99, 100)) == _numpy_figures(_engine(events),
                                                                                      PCTS + (99.99, 100))
    assert result.overall.latency.max == (2**40 + 1) / 1e6


def test_unfiltered_analysis_equals_the_run_summary(log):
    builder = SummaryBuilder(log.header.request_names, log.header.tick_ns)
    builder(_engine(log.events))
    summary = builder.finish()
    analysis = analyze_log(log, by="request")
    overall = analysis.overall
    assert (overall.requests, overall.completed, overall.failed) == (
        summary.overall.requests, summary.overall.completed, summary.overall.failed)
    assert overall.rate == summary.rate and overall.error_rate == summary.overall.error_rate
    assert overall.latency == summary.overall.latency
    # Per request too, every latency figure to the last bit (the mean included).
    assert [g.key for g in analysis.groups] == list(log.header.request_names)
    for group in analysis.groups:
        expected = summary.per_request[group.key]
        assert (group.requests, group.completed, group.failed, group.error_rate) == (
            expected.requests, expected.completed, expected.failed, expected.error_rate), group.key
        assert group.latency == expected.latency, group.key


@pytest.mark.parametrize("by, key_of, member", [
    ("request", lambda ev: ev["request"], lambda ev: ev["request"] != 0xFFFF),
    # A failure with no HTTP status is grouped by its kind and error, after the statuses.
    ("status", lambda ev: np.where(ev["status"] != 0, ev["status"].astype(np.int64),
                                   (1 << 32) | (ev["kind"].astype(np.int64) << 16) | ev["error"].astype(np.int64)),
     lambda ev: outcome_mask(ev["kind"])),
    ("vu", lambda ev: ev["vu_id"], lambda ev: np.ones(ev.size, bool)),
    ("second", lambda ev: ev["tick"] * np.uint64(1_000_000) // np.uint64(10**9), lambda ev: np.ones(ev.size, bool)),
])
def test_grouped_figures_equal_numpy(log, by, key_of, member):
    ev = _engine(log.events)
    ev = ev[member(ev)]
    keys = key_of(ev)
    result = analyze_log(log, percentiles=PCTS, by=by)
    assert len(result.groups) == np.unique(keys).size > 1
    names = log.header.request_names
    for group, key in zip(result.groups, np.unique(keys).tolist()):
        if by == "status" and key >= 1 << 32:
            assert group.key == failure_label((key >> 16) & 0xFFFF, key & 0xFFFF)
        else:
            assert group.key == (names[key] if by == "request" else key)
        expected = _numpy_figures(ev[keys == key], PCTS)
        got = _analysis_figures(group, PCTS)
        if by == "status":
            assert group.requests is None and group.rate is None
            expected["requests"] = None
        assert got == expected, (by, key)
    if by == "second":
        assert all(g.rate == g.requests for g in result.groups)


def test_filtered_figures_equal_numpy(log):
    text = 'request == "login" and kind == response_received and status < 500 and value_ms >= 8.5'
    result = analyze_log(log, percentiles=PCTS, where=compile_filter(text, log.header.request_names))
    ev = _engine(log.events)
    kept = ev[(ev["request"] == 0) & (ev["kind"] == RECEIVED) & (ev["status"] < 500) & (ev["value_ns"] >= 8_500_000)]
    assert 0 < kept.size < (ev["kind"] == RECEIVED).sum()
    assert _analysis_figures(result.overall, PCTS) == _numpy_figures(kept, PCTS)
    assert result.overall.requests == 0 and result.filter == text


def test_a_filter_that_keeps_nothing(log):
    result = analyze_log(log, where=compile_filter("status == 418"), by="request")
    assert result.overall.events == 0 and result.overall.latency.count == 0 and result.groups == ()
    assert result.overall.error_rate is None and result.overall.latency.percentiles["p99"] is None


# --- the command line -------------------------------------------------------

def _run(capsys, *args):
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def test_cli_json_and_csv_carry_the_same_figures(log, capsys):
    code, out, err = _run(capsys, "analyze", str(log.path), "--format", "json", "--by", "request",
                          "--percentiles", "50,99.9")
    assert code == 0 and err == ""
    doc = json.loads(out)
    expected = analyze_log(log, percentiles=(50, 99.9), by="request").to_dict()
    assert doc == json.loads(json.dumps(expected))
    assert set(doc["overall"]["latency_ms"]) == {"count", "min", "mean", "p50", "p99.9", "max"}

    code, out, _ = _run(capsys, "analyze", str(log.path.parent), "--format", "csv", "--by", "request")
    rows = list(csv.DictReader(io.StringIO(out)))
    assert [r["group"] for r in rows] == ["overall", "login", "browse"]
    assert int(rows[0]["requests"]) == expected["overall"]["requests"]
    assert float(rows[1]["latency_p99_ms"]) == analyze_log(log, by="request").groups[0].latency.percentiles["p99"]


def test_by_status_names_failures_without_a_status_as_summary_json_does(log, capsys):
    # Not one group "0": transport errors, timeouts and cancels by their kind, as `errors` names them.
    from z6.analysis import recompute_run

    groups = {g.key: g for g in analyze_log(log, by="status").groups}
    assert 0 not in groups
    errors = recompute_run(log.path).summary.overall.errors
    no_status = {k: v for k, v in errors.items() if not k.startswith("http_")}
    assert no_status and {k: g.completed for k, g in groups.items() if isinstance(k, str)} == no_status
    assert all(g.failed == g.completed and g.latency.count == 0 for k, g in groups.items() if isinstance(k, str))
    code, out, _ = _run(capsys, "analyze", str(log.path), "--by", "status")
    assert code == 0 and "error:simulated" in out
    assert [line.split()[0] for line in out.splitlines() if line.strip()].count("0") == 0


def test_cli_summary_text(log, capsys):
    code, out, _ = _run(capsys, "analyze", str(log.path), "--filter", "status >= 500", "--by", "status")
    assert code == 0
    assert "filter    status >= 500" in out and "503" in out and "latency ms" in out
    assert "200" not in out.split("latency ms")[1]


@pytest.mark.parametrize("args, message", [
    (["--filter", "kind == response_recieved"], "column 9: unknown event kind"),
    (["--percentiles", "50,abc"], "--percentiles: must be a comma-separated list of percentiles in (0, 100], got 'abc'"),
    (["--percentiles", "0"], "got '0'"),
    (["--by", "tenant"], "invalid choice: 'tenant'"),
])
def test_cli_bad_options_exit_2(log, capsys, args, message):
    code, out, err = _run(capsys, "analyze", str(log.path), *args)
    assert code == 2 and out == "" and message in err and "Traceback" not in err


def test_cli_unreadable_log_exits_2(tmp_path, capsys):
    bad = tmp_path / "events.z6log"
    bad.write_bytes(b"\x89Z6LOG\r\n" + b"\0" * 40)
    code, out, err = _run(capsys, "analyze", str(bad))
    assert code == 2 and out == "" and str(bad) in err and "header" in err


def test_cli_footer_that_inflates_a_count_exits_2_naming_the_footer(log, tmp_path, capsys):
    # Analyze sizes one array by the footer's count of responses: a footer (with a
    # good CRC) claiming 10**15 of them is refused as corrupt, not allocated.
    data, at = with_footer_doc(log.path.read_bytes(),
                               lambda doc: doc["kind_counts"].update(response_received=10**15))
    bad = tmp_path / "events.z6log"
    bad.write_bytes(data)
    code, out, err = _run(capsys, "analyze", str(bad))
    assert code == 2 and out == "" and "Traceback" not in err
    assert str(bad) in err and f"footer at byte offset {at}" in err and "counts per kind add up to" in err


def test_cli_partial_log_warns_on_stderr(tmp_path, capsys):
    path = write_log(tmp_path, mixed_scenario(), chunk_records=4)
    data = path.read_bytes()
    chunks = read_log(path).chunks
    path.unlink()
    # Cut halfway through the chunks (a compressed log's header is half of its file).
    (tmp_path / "events.z6log.partial").write_bytes(data[: (chunks[0].offset + chunks[-1].end) // 2])
    code, out, err = _run(capsys, "analyze", str(tmp_path))
    assert code == 0 and "z6: warning:" in err and "partial log" in err and "overall" in out
