"""`z6 diff A B`: side-by-side figures and the exit codes of --fail-on thresholds."""

from __future__ import annotations

import json

import numpy as np
import pytest

import z6
from z6.cli import main
from z6.events import EVENT_DTYPE
from z6.analysis import analyze_log, diff_logs, parse_thresholds
from z6.log import EventLogWriter, make_header, read_log

from conftest import scenario
from test_log_helpers import TWO_REQUESTS, write_log

RUNTIME = "duration_seconds = 2\nvus = 6"


def _sim(latency: str, error_rate: float) -> str:
    return (f'[think_time]\ntype = "constant"\nduration_ms = 20\n\n[simulation]\nlatency = {latency}\n'
            f"error_rate = {error_rate}\n")


@pytest.fixture(scope="module")
def logs(tmp_path_factory):
    root = tmp_path_factory.mktemp("diff")
    base = scenario(runtime=RUNTIME, requests=TWO_REQUESTS,
                    extra=_sim('{ type = "uniform", min_ms = 5, max_ms = 15 }', 0.01))
    slow = scenario(runtime=RUNTIME, requests=TWO_REQUESTS,
                    extra=_sim('{ type = "uniform", min_ms = 10, max_ms = 30 }', 0.01))
    flaky = scenario(runtime=RUNTIME, requests=TWO_REQUESTS,
                     extra=_sim('{ type = "uniform", min_ms = 5, max_ms = 15 }', 0.05))
    return {
        "a": write_log(root / "a", base, chunk_records=64),
        "a_again": write_log(root / "a_again", base, chunk_records=100),
        "other_seed": write_log(root / "other_seed", base, seed=99),
        "slow": write_log(root / "slow", slow),
        "flaky": write_log(root / "flaky", flaky),
    }


def _diff(capsys, *args):
    code = main(["diff", *map(str, args)])
    out, err = capsys.readouterr()
    return code, out, err


def test_the_same_run_is_no_regression(logs, capsys):
    code, out, err = _diff(capsys, logs["a"].parent, logs["a_again"], "--fail-on", "p99=+0%,error_rate=+0pp,rate=-0%")
    assert code == 0 and err == ""
    assert "OK: none of 3 thresholds exceeded" in out and "+0.00%" in out


def test_a_slower_run_is_a_regression(logs, capsys):
    code, out, _ = _diff(capsys, logs["a"], logs["slow"], "--fail-on", "p99=+10%")
    assert code == 1 and "FAIL  p99=+10%" in out and "REGRESSION: 1 of 1 thresholds exceeded" in out
    # the other way round the latency fell: no regression
    code, out, _ = _diff(capsys, logs["slow"], logs["a"], "--fail-on", "p99=+10%,mean=+1ms")
    assert code == 0 and "PASS  p99=+10%" in out and "PASS  mean=+1ms" in out


def test_error_rate_in_percentage_points(logs, capsys):
    a, b = analyze_log(read_log(logs["a"])).overall, analyze_log(read_log(logs["flaky"])).overall
    pp = (b.error_rate - a.error_rate) * 100
    assert 1 < pp < 10
    code, _, _ = _diff(capsys, logs["a"], logs["flaky"], "--fail-on", f"error_rate=+{pp - 0.01:.4f}pp")
    assert code == 1
    code, _, _ = _diff(capsys, logs["a"], logs["flaky"], "--fail-on", f"error_rate=+{pp + 0.01:.4f}pp")
    assert code == 0


def test_a_small_difference_within_the_thresholds(logs, capsys):
    code, out, _ = _diff(capsys, logs["a"], logs["other_seed"], "--fail-on", "p50=+25%,p99.9=+50%,rate=-5%")
    assert code == 0 and out.count("PASS") == 3


def test_rate_dropping(logs, tmp_path, capsys):
    fewer = write_log(tmp_path, scenario(runtime="duration_seconds = 2\nvus = 3", requests=TWO_REQUESTS,
                                         extra=_sim('{ type = "uniform", min_ms = 5, max_ms = 15 }', 0.01)))
    assert _diff(capsys, logs["a"], fewer, "--fail-on", "rate=-5%")[0] == 1
    assert _diff(capsys, logs["a"], fewer, "--fail-on", "requests=10%")[0] == 1  # no sign: fewer is worse
    assert _diff(capsys, fewer, logs["a"], "--fail-on", "rate=-5%")[0] == 0


def test_the_figures_are_the_logs_own(logs):
    result = diff_logs(read_log(logs["a"]), read_log(logs["slow"]), parse_thresholds("p99.99=+1%"))
    a, b = analyze_log(read_log(logs["a"]), percentiles=(50, 90, 95, 99, 99.9, 99.99)), analyze_log(
        read_log(logs["slow"]), percentiles=(50, 90, 95, 99, 99.9, 99.99))
    rows = {r.metric: r for r in result.rows}
    assert rows["p99.99"].a == a.overall.latency.percentiles["p99.99"]
    assert rows["p99.99"].b == b.overall.latency.percentiles["p99.99"]
    assert rows["rate"].delta == b.overall.rate - a.overall.rate
    assert rows["requests"].a == a.overall.requests and rows["error_rate"].b == b.overall.error_rate
    assert result.regression and result.checks[0].change == pytest.approx(
        (rows["p99.99"].b - rows["p99.99"].a) / rows["p99.99"].a * 100)


def test_a_threshold_without_data_is_exceeded(logs, tmp_path, capsys):
    scn = z6.parse_scenario(read_log(logs["a"]).header.scenario_text, source="test.toml")
    writer = EventLogWriter(tmp_path, make_header(scn, z6.compile_plan(scn)))
    writer(np.zeros(0, EVENT_DTYPE))
    empty = writer.finish("failed")
    code, out, _ = _diff(capsys, logs["a"], empty, "--fail-on", "p99=+10%")
    assert code == 1 and "B has no data for p99" in out and "B did not complete (failed)" in out


def test_json_output(logs, capsys):
    code, out, _ = _diff(capsys, logs["a"], logs["slow"], "--fail-on", "p99=+10%", "--format", "json")
    doc = json.loads(out)
    assert code == 1 and doc["regression"] is True and doc["thresholds"][0]["exceeded"] is True
    assert {m["metric"] for m in doc["metrics"]} >= {"p50", "p99", "rate", "error_rate"}


def _strict_json(text: str):
    def refuse(constant: str):
        raise ValueError(f"not JSON: {constant}")

    return json.loads(text, parse_constant=refuse)


def test_json_output_is_strict_when_a_change_from_zero_is_infinite(logs, tmp_path, capsys):
    flawless = scenario(runtime=RUNTIME, requests=TWO_REQUESTS,
                        extra=_sim('{ type = "uniform", min_ms = 5, max_ms = 15 }', 0.0))
    a = write_log(tmp_path / "flawless", flawless)
    assert analyze_log(read_log(a)).overall.failed == 0
    code, out, _ = _diff(capsys, a, logs["flaky"], "--fail-on", "failed=+10%,p99=+10%", "--format", "json")
    doc = _strict_json(out)
    assert "Infinity" not in out and code == 1
    failed, p99 = doc["thresholds"]
    # +inf% over a baseline of 0: exceeded, its change written as null, the reason in words.
    assert failed["exceeded"] is True and failed["change"] is None and "+inf%" in failed["reason"]
    assert failed["a"] == 0 and failed["b"] > 0
    assert isinstance(p99["change"], float)
    text_code, text, _ = _diff(capsys, a, logs["flaky"], "--fail-on", "failed=+10%")
    assert text_code == 1 and "FAIL  failed=+10%: changed +inf%" in text


@pytest.mark.parametrize("fail_on, message", [
    ("p99=10", None),
    ("p99>10%", "is not METRIC=[+|-]NUMBER[%|pp|ms|/s]"),
    ("latency=+10%", "unknown metric 'latency'"),
    ("p99=+1pp", "'pp' (percentage points) applies to error_rate only"),
    ("rate=+2ms", "'ms' applies to latencies"),
    ("p150=+1%", "a percentile must be in (0, 100]"),
    ("error_rate=+1/s", "'/s' applies to rate only"),
])
def test_bad_thresholds_exit_2(logs, capsys, fail_on, message):
    code, out, err = _diff(capsys, logs["a"], logs["slow"], "--fail-on", fail_on)
    if message is None:  # a valid threshold (no unit: milliseconds) for contrast
        assert code == 1
        return
    assert code == 2 and out == "" and message in err and "--fail-on" in err


def test_an_unreadable_side_exits_2(logs, tmp_path, capsys):
    code, out, err = _diff(capsys, logs["a"], tmp_path / "missing.z6log")
    assert code == 2 and out == "" and "missing.z6log: cannot read event log: file not found" in err
