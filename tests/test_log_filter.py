"""The filter language: what it selects, and where it says a bad expression goes wrong."""

from __future__ import annotations

import numpy as np
import pytest

from z6.events import EVENT_DTYPE, ErrorCode, EventKind
from z6.analysis import FilterError, compile_filter

NAMES = ("login", "browse", "status")


@pytest.fixture(scope="module")
def records() -> np.ndarray:
    rng = np.random.default_rng(5)
    n = 2_000
    out = np.zeros(n, dtype=EVENT_DTYPE)
    out["tick"] = np.sort(rng.integers(0, 2**40, n, dtype=np.uint64))
    out["tick"][-1] = 2**64 - 1
    out["value_ns"] = rng.integers(0, 500_000_000, n, dtype=np.uint64)
    out["vu_id"] = rng.integers(1, 50, n, dtype=np.uint32)
    out["kind"] = rng.integers(0, 21, n, dtype=np.uint16)
    out["request"] = rng.choice(np.array([0, 1, 2, 0xFFFF], np.uint16), n)
    out["status"] = rng.choice(np.array([0, 200, 404, 500, 503], np.uint16), n)
    out["error"] = rng.integers(0, 12, n, dtype=np.uint16)
    out["seq"] = rng.integers(0, 100, n, dtype=np.uint32)
    return out


def _select(text: str, records: np.ndarray) -> np.ndarray:
    return compile_filter(text, NAMES).mask(records)


@pytest.mark.parametrize("text, expected", [
    ("kind == response_received and status >= 500",
     lambda r: (r["kind"] == EventKind.RESPONSE_RECEIVED) & (r["status"] >= 500)),
    ('request == "login"', lambda r: r["request"] == 0),
    ("request == browse or request == 'status'", lambda r: (r["request"] == 1) | (r["request"] == 2)),
    ("not (error == timeout or error == SIMULATED)",
     lambda r: ~((r["error"] == ErrorCode.TIMEOUT) | (r["error"] == ErrorCode.SIMULATED))),
    ("500 <= status", lambda r: r["status"] >= 500),
    ("status = 404", lambda r: r["status"] == 404),
    ("value_ms > 250.5", lambda r: r["value_ns"] / 1e6 > 250.5),
    ("value_ns < 2.5e8 AND vu_id != 7", lambda r: (r["value_ns"] < 250_000_000) & (r["vu_id"] != 7)),
    ("seq > 2.5", lambda r: r["seq"] >= 3),
    ("seq <= 2.5", lambda r: r["seq"] <= 2),
    ("seq == 2.5", lambda r: np.zeros(r.size, bool)),
    ("status > -1", lambda r: np.ones(r.size, bool)),
    ("status < 70000 and status != 70000", lambda r: np.ones(r.size, bool)),
    ("tick == 18446744073709551615", lambda r: r["tick"] == np.uint64(2**64 - 1)),
    ("tick >= 1_000_000_000", lambda r: r["tick"] >= 1_000_000_000),
    ("kind == 3 or kind == 6 and status == 200",
     lambda r: (r["kind"] == 3) | ((r["kind"] == 6) & (r["status"] == 200))),
    ("(kind == 3 or kind == 6) and status == 200",
     lambda r: ((r["kind"] == 3) | (r["kind"] == 6)) & (r["status"] == 200)),
    ("not not kind == vu_ready", lambda r: r["kind"] == EventKind.VU_READY),
    ("seq < vu_id", lambda r: r["seq"].astype(np.int64) < r["vu_id"].astype(np.int64)),
])
def test_filters_select_what_numpy_selects(records, text, expected):
    mask = _select(text, records)
    assert mask.dtype == bool and mask.shape == records.shape
    assert np.array_equal(mask, expected(records)), text
    assert 0 < mask.sum() < records.size or text in ("seq == 2.5", "status > -1",
                                                       "status < 70000 and status != 70000",
                                                       "tick == 18446744073709551615")


def test_a_filter_keeps_records(records):
    kept = compile_filter("status == 503", NAMES)(records)
    assert kept.dtype == EVENT_DTYPE and (kept["status"] == 503).all()
    assert kept.size == int((records["status"] == 503).sum())


@pytest.mark.parametrize("text, column, message", [
    ("stauts >= 500", 1, "unknown field 'stauts' (did you mean status?)"),
    ("kind == response_recieved", 9, "unknown event kind 'response_recieved' (did you mean response_received?)"),
    ('request == "logout"', 12, "unknown request 'logout'"),
    ("error == timeoutt", 10, "unknown error code 'timeoutt'"),
    ("status >= ok", 11, "status compares with numbers, got the name 'ok'"),
    ("kind == 6 and", 14, "expected a field, a number or a name, got the end of the expression"),
    ("kind 6", 6, "expected a comparison (==, !=, <, <=, >, >=) after 'kind', got '6'"),
    ("(kind == 6 or status == 200", 28, "expected ')' to close the '(' at column 1"),
    ("kind == 6)", 10, "expected 'and', 'or' or the end of the expression, got ')'"),
    ("kind == 6 $ 1", 11, "unexpected character '$'"),
    ('request == "login', 12, "unterminated string"),
    ("", 1, "empty expression"),
    ("1 == 1", 1, "a comparison needs a field on one side"),
    ("status == 1e999", 11, "is not a finite number"),
    # Python will not turn a 5000-digit integer into an int: a bad option, not a ValueError.
    ("status == " + "9" * 5000, 11, "the number has too many digits"),
    ("tick > -" + "9" * 5000, 8, "the number has too many digits"),
    ("__import__('os') == 1", 1, "unknown field '__import__'"),
])
def test_bad_expressions_name_the_column(text, column, message):
    with pytest.raises(FilterError) as info:
        compile_filter(text, NAMES)
    error = info.value
    assert error.column == column and message in error.reason, str(error)
    assert f"column {column}" in str(error) and error.exit_code == 2
    # The message shows the expression and a caret under the column.
    lines = str(error).splitlines()
    assert lines[1].strip() == text.strip() and lines[2].index("^") - 2 == column - 1


def test_nesting_is_capped_with_a_clear_error(records, tmp_path, capsys):
    from z6.cli import main
    from z6.analysis._filter import MAX_DEPTH

    from test_log_helpers import mixed_scenario, write_log

    # At the cap it parses and selects; one level more is refused where it starts.
    deepest = "not " * MAX_DEPTH + "status == 500"
    kept = compile_filter(deepest, NAMES)(records)
    expected = records["status"] == 500 if MAX_DEPTH % 2 == 0 else records["status"] != 500
    assert kept.size == int(expected.sum())
    assert compile_filter("(" * MAX_DEPTH + "status == 500" + ")" * MAX_DEPTH, NAMES)(records).size == int(
        (records["status"] == 500).sum())
    for text, column in [("not " * (MAX_DEPTH + 1) + "status == 1", 4 * MAX_DEPTH + 1),
                         ("(" * (MAX_DEPTH + 1) + "status == 1" + ")" * (MAX_DEPTH + 1), MAX_DEPTH + 1),
                         ("not (" * 60 + "status == 1" + ")" * 60, len("not (") * 50 + 1)]:
        with pytest.raises(FilterError) as info:
            compile_filter(text, NAMES)
        assert info.value.column == column and f"more than {MAX_DEPTH} levels deep" in info.value.reason

    # What used to end in a RecursionError (exit 4) is a bad option (exit 2).
    log = write_log(tmp_path, mixed_scenario())
    code = main(["analyze", str(log), "--filter", "not " * 3000 + "status == 1"])
    out, err = capsys.readouterr()
    assert code == 2 and "filter, column" in err and "levels deep" in err and "Traceback" not in err
