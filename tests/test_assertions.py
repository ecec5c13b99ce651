"""Assertions at their boundaries (the limit itself passes), their events, and exit codes."""

from __future__ import annotations

import math

import numpy as np
import pytest

from z6.assertions import ASSERTION_KEYS, DEFAULT_ERROR_RATE_MAX, assertion_events, evaluate_assertions
from z6.cli import main
from z6.events import EVENT_DTYPE, NO_REQUEST, ErrorCode, EventKind
from z6.metrics import SummaryBuilder
from z6.scenario import Assertions
from conftest import REPO

K = EventKind
SIMULATED = REPO / "examples" / "simulated.toml"


def _events() -> np.ndarray:
    """A run whose figures are known by hand (see MEASURED)."""
    rows = []   # (tick, kind, request, status, error, value_ns)
    # request "a": ten responses of 1..10 ms (a 404 at 9 ms, a 503 at 10 ms), two errors, one timeout
    for i, ms in enumerate(range(1, 11)):
        status = 404 if ms == 9 else 503 if ms == 10 else 200
        rows += [(10 * i, K.REQUEST_ISSUED, 0, 0, 0, 0), (10 * i + 1, K.RESPONSE_RECEIVED, 0, status, 0, ms * 10**6)]
    for i in range(2):
        rows += [(200 + i, K.REQUEST_ISSUED, 0, 0, 0, 0), (300 + i, K.RESPONSE_ERROR, 0, 0, ErrorCode.SIMULATED, 5)]
    rows += [(400, K.REQUEST_ISSUED, 0, 0, 0, 0), (500, K.REQUEST_TIMEOUT, 0, 0, ErrorCode.TIMEOUT, 60 * 10**6)]
    # request "b": 3 ms and 30 ms, both 200; request "c" is never issued
    rows += [(600, K.REQUEST_ISSUED, 1, 0, 0, 0), (603, K.RESPONSE_RECEIVED, 1, 200, 0, 3 * 10**6)]
    rows += [(700, K.REQUEST_ISSUED, 1, 0, 0, 0), (2000, K.RESPONSE_RECEIVED, 1, 200, 0, 30 * 10**6)]
    rows.sort(key=lambda r: r[0])
    events = np.zeros(len(rows), dtype=EVENT_DTYPE)
    for field, column in zip(("tick", "kind", "request", "status", "error", "value_ns"), zip(*rows)):
        events[field] = column
    events["vu_id"] = 1
    return events


def _summary():
    builder = SummaryBuilder(("a", "b", "c"), 1_000_000)
    builder(_events())
    return builder.finish()


# Overall latencies: 1..10, 3 and 30 ms (12); sorted 1 2 3 3 4 5 6 7 8 9 10 30.
# Run: ticks 0..2000 at 1 ms = 2 s; 15 issued.
MEASURED = {
    "overall": {"p50_latency_ms": 5.0, "p90_latency_ms": 10.0, "p95_latency_ms": 30.0, "p99_latency_ms": 30.0,
                "p999_latency_ms": 30.0, "error_rate_max": 5 / 15, "success_rate_min": 10 / 15, "rps_min": 7.5,
                "status_5xx_max_rate": 1 / 15},
    "a": {"p50_latency_ms": 5.0, "p90_latency_ms": 9.0, "p95_latency_ms": 10.0, "p99_latency_ms": 10.0, "p999_latency_ms": 10.0,
          "error_rate_max": 5 / 13, "success_rate_min": 8 / 13, "rps_min": 6.5, "status_5xx_max_rate": 1 / 13},
    "b": {"p50_latency_ms": 3.0, "p90_latency_ms": 30.0, "p95_latency_ms": 30.0, "p99_latency_ms": 30.0, "p999_latency_ms": 30.0,
          "error_rate_max": 0.0, "success_rate_min": 1.0, "rps_min": 1.0, "status_5xx_max_rate": 0.0},
}
AT_MOST = {"p50_latency_ms", "p90_latency_ms", "p95_latency_ms", "p99_latency_ms", "p999_latency_ms", "error_rate_max",
           "status_5xx_max_rate"}


def _limits(scope: str, key: str, threshold: float) -> Assertions:
    # default=False: the one result is the key's own (the default verdict is tested below).
    if scope == "overall":
        return Assertions(**{key: threshold}, default=False)
    return Assertions(per_request=((scope, Assertions(**{key: threshold})),), default=False)


def test_every_key_is_covered():
    # The open model's keys have their boundary tests in tests/test_open_model.py, the
    # checks' pass rate in tests/test_checks.py (this run has no checks).
    open_model = {"dropped_max", "dropped_rate_max", "p99_response_time_ms"}
    checks = {"checks_rate_min"}
    assert set(ASSERTION_KEYS) == set(MEASURED["overall"]) | open_model | checks and len(ASSERTION_KEYS) == 13


def test_every_printed_percentile_can_be_asserted():
    from z6.metrics import PERCENTILES
    keys = {label.replace(".", "") + "_latency_ms" for label, _ in PERCENTILES}
    assert keys <= set(ASSERTION_KEYS)


def test_default_verdict_judges_a_scenario_without_an_error_limit():
    # 5 of 15 failed: the implicit error_rate_max of 1% fails the run.
    [result] = evaluate_assertions(Assertions(), _summary())
    assert result.default and result.name == "error_rate_max" and result.threshold == DEFAULT_ERROR_RATE_MAX
    assert result.measured == 5 / 15 and not result.passed and result.to_dict()["default"] is True
    # Beside other limits, in the place an overall error_rate_max takes.
    results = evaluate_assertions(Assertions(p99_latency_ms=100.0, rps_min=1.0), _summary())
    assert [(r.name, r.default) for r in results] == [("p99_latency_ms", False), ("error_rate_max", True),
                                                        ("rps_min", False)]
    # An error limit of its own, or default = false, replaces it.
    assert not any(r.default for r in evaluate_assertions(Assertions(success_rate_min=0.5), _summary()))
    assert not any(r.default for r in evaluate_assertions(Assertions(error_rate_max=0.5), _summary()))
    assert evaluate_assertions(Assertions(default=False), _summary()) == []


@pytest.mark.parametrize("scope", ["overall", "a", "b"])
@pytest.mark.parametrize("key", sorted(MEASURED["overall"]))
def test_each_assertion_passes_at_its_limit_and_fails_just_beyond(scope, key):
    summary = _summary()
    measured = MEASURED[scope][key]
    [at_limit] = evaluate_assertions(_limits(scope, key, measured), summary)
    assert at_limit.measured == measured and at_limit.passed, at_limit
    assert at_limit.scope == scope and at_limit.name == key
    assert at_limit.comparison == ("<=" if key in AT_MOST else ">=")
    beyond = math.nextafter(measured, -math.inf if key in AT_MOST else math.inf)
    if beyond < 0:
        return  # a rate of 0 has nothing below it to fail against
    [over] = evaluate_assertions(_limits(scope, key, beyond), summary)
    assert over.measured == measured and not over.passed, over


# The open model's keys are overall only (tests/test_open_model.py).
@pytest.mark.parametrize("key", sorted(set(ASSERTION_KEYS) - {"rps_min", "dropped_max", "dropped_rate_max",
                                                               "p99_response_time_ms"}))
def test_an_assertion_with_nothing_to_measure_fails(key):
    [result] = evaluate_assertions(_limits("c", key, 0.5), _summary())
    assert result.measured is None and not result.passed


def test_rps_min_of_a_request_never_issued_measures_zero():
    [zero] = evaluate_assertions(_limits("c", "rps_min", 0.0), _summary())
    assert zero.measured == 0.0 and zero.passed


def test_assertion_events_record_each_result():
    summary = _summary()
    limits = Assertions(p99_latency_ms=30.0, error_rate_max=0.1,
                        per_request=(("a", Assertions(rps_min=100.0)), ("b", Assertions(p50_latency_ms=3.0))))
    results = evaluate_assertions(limits, summary)
    assert [r.passed for r in results] == [True, False, False, True]
    for request_index in (("a", "b", "c"), {"a": 0, "b": 1, "c": 2}.__getitem__):
        events = assertion_events(results, 2000, request_index)
        assert events.dtype == EVENT_DTYPE and events.size == 4
        assert events["kind"].tolist() == [K.ASSERTION_PASSED, K.ASSERTION_FAILED, K.ASSERTION_FAILED,
                                           K.ASSERTION_PASSED]
        assert events["request"].tolist() == [NO_REQUEST, NO_REQUEST, 0, 1]
        assert events["seq"].tolist() == [0, 1, 2, 3]
        assert not events["vu_id"].any() and not events["value_ns"].any()
        assert (events["tick"] == 2000).all() and not events["status"].any() and not events["error"].any()
    assert assertion_events([], 5, ("a",)).size == 0


def test_assertion_events_do_not_count_as_traffic():
    summary = _summary()
    builder = SummaryBuilder(("a", "b", "c"), 1_000_000)
    builder(_events())
    builder(assertion_events(evaluate_assertions(Assertions(p99_latency_ms=1.0), summary), 2000, ("a", "b", "c")))
    again = builder.finish()
    assert again.overall == summary.overall and again.per_request == summary.per_request


def _scenario_with(tmp_path, assertions: str):
    text = SIMULATED.read_text()
    path = tmp_path / "scenario.toml"
    path.write_text(text[: text.index("[assertions]")] + assertions)
    return str(path)


@pytest.mark.parametrize("assertions, code, lines", [
    ("[assertions]\np99_latency_ms = 500\nerror_rate_max = 0.05\n", 0,
     ["PASS  p99_latency_ms <= 500", "PASS  error_rate_max <= 0.05"]),
    ("[assertions]\np50_latency_ms = 1\n", 1, ["FAIL  p50_latency_ms <= 1: measured"]),
    ("[assertions]\nrps_min = 1000000\n", 1, ["FAIL  rps_min >= 1e+06"]),
    ("[assertions]\nsuccess_rate_min = 0.5\n\n[assertions.requests.get_item]\np90_latency_ms = 0.001\n", 1,
     ["PASS  success_rate_min >= 0.5", "FAIL  [get_item] p90_latency_ms <= 0.001"]),
])
def test_exit_codes_of_z6_run(tmp_path, capsys, assertions, code, lines):
    got = main(["run", _scenario_with(tmp_path, assertions), "--duration", "2"])
    out, err = capsys.readouterr()
    assert got == code, err
    for line in lines:
        assert line in out
    assert ("FAILED" if code else "PASSED") in out.splitlines()[-1]
