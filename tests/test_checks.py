"""Response checks, simulated and in the scenario: status checks judge the
modelled status, body/header/JSON checks fail at [simulation] check_fail_rate
(deterministically, without moving any other draw), the summary and summary.json
give each check's pass rate, checks_rate_min judges them, and every malformed
`checks` table is refused naming the request and the key."""

from __future__ import annotations

import json

import numpy as np
import pytest

import z6
import z6.cli
from z6.errors import ScenarioError
from z6.events import ErrorCode, EventKind

K = EventKind


def text(checks: str = '{ status = [200], body_contains = "ok", json = { "ok" = true } }',
         simulation: str = "check_fail_rate = 0.2", assertions: str = "error_rate_max = 1", extra: str = "") -> str:
    return f"""
[runtime]
prng_seed = 21
duration_seconds = 20
vus = 20
[target]
base_url = "http://127.0.0.1:8080"
{extra}
[[requests]]
name = "get"
method = "GET"
path = "/"
weight = 3
checks = {checks}
[[requests]]
name = "plain"
method = "GET"
path = "/plain"
[think_time]
type = "constant"
duration_ms = 100
[simulation]
latency = {{ type = "exponential", mean_ms = 20 }}
status_codes = {{ 200 = 0.9, 500 = 0.1 }}
{simulation}
[assertions]
{assertions}
"""


def events_of(source: str) -> np.ndarray:
    plan = z6.compile_plan(z6.parse_scenario(source, source="checks.toml"))
    return np.concatenate(list(z6.iter_chunks(plan, 4096)))


def test_modelled_checks_fail_at_the_rate_and_status_checks_judge_the_status():
    events = events_of(text())
    issued = events[events["kind"] == K.REQUEST_ISSUED]
    failed = events[events["kind"] == K.CHECK_FAILED]
    assert np.all(failed["request"] == 0)
    gets = int(np.count_nonzero(issued["request"] == 0))
    by_check = np.bincount(failed["status"], minlength=3)
    # check 0 (status in [200]) fails exactly on the modelled 500s.
    http_outcomes = events[(events["kind"] == K.ERROR_HTTP) | (events["kind"] == K.RESPONSE_RECEIVED)]
    gets_500 = int(np.count_nonzero((http_outcomes["request"] == 0) & (http_outcomes["status"] == 500)))
    assert by_check[0] == gets_500 > 0
    # checks 1 and 2 fail about 20% of the time each, independently of the status.
    for k in (1, 2):
        assert by_check[k] == pytest.approx(0.2 * gets, rel=0.1)
    # One outcome per request; a failed check makes it error_http with the first failed class.
    outcomes = events[np.isin(events["kind"], [K.RESPONSE_RECEIVED, K.ERROR_HTTP])]
    assert outcomes.size == issued.size
    bad = events[events["kind"] == K.ERROR_HTTP]
    assert set(np.unique(bad["error"]).tolist()) <= {ErrorCode.CHECK_STATUS, ErrorCode.CHECK_BODY_CONTAINS,
                                                     ErrorCode.CHECK_JSON}
    assert np.all(bad["request"] == 0)


def test_checks_move_no_other_draw_and_the_same_seed_gives_the_same_events():
    with_checks = events_of(text())
    assert z6.event_digest([with_checks]) == z6.event_digest([events_of(text())])
    without = events_of(text().replace('checks = { status = [200], body_contains = "ok", json = { "ok" = true } }',
                                       ""))
    keep = ~np.isin(with_checks["kind"], [K.CHECK_FAILED])
    same = with_checks[keep]
    # The same requests, latencies and statuses; only the outcome kinds of failed checks differ.
    assert np.array_equal(same[["tick", "vu_id", "request", "seq", "value_ns"]],
                          without[["tick", "vu_id", "request", "seq", "value_ns"]])
    assert np.array_equal(same["status"], without["status"])


def test_the_summary_reports_each_check_and_checks_rate_min_judges(tmp_path, capsys):
    path = tmp_path / "checks.toml"
    path.write_text(text(assertions="error_rate_max = 1\nchecks_rate_min = 0.95\n"
                                    "[assertions.requests.get]\nchecks_rate_min = 0.5"))
    assert z6.cli.main(["run", str(path), "--out", str(tmp_path / "run")]) == 1
    out = capsys.readouterr().out
    assert "  checks       " in out and "\u2717 get: status in [200]" in out and 'body contains "ok"' in out
    doc = json.loads((tmp_path / "run" / "summary.json").read_text())
    checks = doc["requests"]["get"]["checks"]
    assert [c["check"] for c in checks] == ["status in [200]", 'body contains "ok"', "json ok == true"]
    assert all(0.7 < c["rate"] < 0.95 for c in checks)
    assert "checks" not in doc["requests"]["plain"]
    results = {(a["scope"], a["name"]): a["passed"] for a in doc["assertions"]}
    assert results[("overall", "checks_rate_min")] is False and results[("get", "checks_rate_min")] is True
    assert doc["summary"]["checks_rate"] == pytest.approx(
        sum(c["passed"] for c in checks) / sum(c["passed"] + c["failed"] for c in checks))
    assert z6.cli.main(["replay", str(tmp_path / "run"), "--verify"]) == 0


BAD = [
    ("{ }", "requests[0].checks: must hold at least one check"),
    ("{ status = [] }", "requests[0].checks.status"),
    ("{ status = [99] }", "requests[0].checks.status[0]"),
    ('{ status = "200" }', "requests[0].checks.status"),
    ('{ body_contains = "" }', "requests[0].checks.body_contains"),
    ('{ header = { "Bad Name" = "x" } }', "requests[0].checks.header.\"Bad Name\": header name must be an HTTP token"),
    ('{ header = { "A" = "1", "a" = "2" } }', "names the same header as \"A\""),
    ('{ header = { "A" = "x\\ny" } }', "must be a header value"),
    ('{ json = { "a..b" = 1 } }', "requests[0].checks.json.\"a..b\": path \"a..b\": character 3: empty key"),
    ('{ json = { "a" = [1] } }', "only a string, number or boolean can be compared"),
    ('{ json = { "a" = 99999999999999999999 } }', "requests[0].checks.json"),
    ('{ jsn = { "a" = 1 } }', "requests[0].checks.jsn"),
    ("{ header = { " + ", ".join(f'"h{i}" = "v"' for i in range(33)) + " } }", "at most 32 checks per request"),
]


@pytest.mark.parametrize("checks, message", BAD, ids=[b[1][:30] for b in BAD])
def test_bad_checks_are_refused_naming_the_request_and_key(checks, message):
    with pytest.raises(ScenarioError) as caught:
        z6.parse_scenario(text(checks=checks), source="checks.toml")
    assert message in str(caught.value)


def test_limits_that_need_checks_and_bad_capture_sizes_are_refused(tmp_path, capsys):
    no_checks = text().replace('checks = { status = [200], body_contains = "ok", json = { "ok" = true } }', "")
    with pytest.raises(ScenarioError, match="assertions.checks_rate_min: needs response checks"):
        z6.parse_scenario(no_checks.replace("error_rate_max = 1", "checks_rate_min = 0.5"), source="c.toml")
    with pytest.raises(ScenarioError, match='assertions.requests.plain.checks_rate_min: needs response checks'):
        z6.parse_scenario(text(assertions="[assertions.requests.plain]\nchecks_rate_min = 0.5"), source="c.toml")
    with pytest.raises(ScenarioError, match="target.max_capture_bytes"):
        z6.parse_scenario(text(extra="max_capture_bytes = 0"), source="c.toml")
    with pytest.raises(ScenarioError, match="simulation.check_fail_rate"):
        z6.parse_scenario(text(simulation="check_fail_rate = 1.5"), source="c.toml")
    path = tmp_path / "bad.toml"
    path.write_text(text(checks="{ }"))
    assert z6.cli.main(["validate", str(path)]) == 2
    err = capsys.readouterr().err
    assert "requests[0].checks: must hold at least one check" in err and "Traceback" not in err


def test_a_head_request_cannot_check_a_body():
    source = text(checks='{ status = [200], body_contains = "ok" }').replace('method = "GET"\npath = "/"\nweight = 3',
                                                                            'method = "HEAD"\npath = "/"\nweight = 3')
    with pytest.raises(ScenarioError, match="requests\\[0\\].checks: a HEAD response has no body"):
        z6.parse_scenario(source, source="head.toml")
    ok = text(checks='{ status = [200], header = { "X-A" = "1" } }').replace('method = "GET"\npath = "/"\nweight = 3',
                                                                            'method = "HEAD"\npath = "/"\nweight = 3')
    assert [c.kind for c in z6.parse_scenario(ok, source="head.toml").requests[0].checks] == ["status", "header"]


def test_the_html_report_lists_the_checks_and_a_run_without_checks_has_no_section():
    from z6.report import render_html, summary_document
    result = z6.run_scenario(z6.parse_scenario(text(checks='{ status = [200], body_contains = "<b>" }'),
                                               source="checks.toml"))
    page = render_html(summary_document(result))
    section = page[page.index("<h2>Checks</h2>"):page.index("<h2>Assertions</h2>")]
    assert "status in [200]" in section and "body contains &quot;&lt;b&gt;&quot;" in section   # escaped
    assert section.count("<tr>") == 3 and "\u2717" in section                                 # header + 2 checks
    plain = z6.run_scenario(z6.parse_scenario(
        text().replace('checks = { status = [200], body_contains = "ok", json = { "ok" = true } }', ""),
        source="plain.toml"))
    assert "<h2>Checks</h2>" not in render_html(summary_document(plain))


def test_a_captured_response_splits_after_interim_heads_and_decodes_its_chunks():
    # What the live checks see of a kept response (z6_check.h, through the parser's test module).
    from z6core._httpparse import check_response
    raw = (b"HTTP/1.1 100 Continue\r\n\r\n"
           b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nX-A: 1\r\n\r\n"
           b"3\r\nabc\r\n4;ext=1\r\ndefg\r\n0\r\n\r\n")
    head, body = check_response(raw, chunked=True)
    assert head.startswith(b"HTTP/1.1 200 OK\r\n") and head.endswith(b"X-A: 1\r\n\r\n") and body == b"abcdefg"
    # Cut inside a chunk, or inside a chunk's size line: the part kept, nothing invented
    # (and nothing of the interim head's bytes left over past the end).
    assert check_response(raw[:-10], chunked=True)[1] == b"abcd"
    assert check_response(raw[:-12], chunked=True)[1] == b"abc"
    plain = b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"
    assert check_response(plain) == (b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n", b"ok")
    assert check_response(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok") == (
        b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n", b"ok")
    assert check_response(b"HTTP/1.1 200 OK\r\nX: 1\r\n") is None          # no complete head


def test_a_status_the_check_lists_is_a_success_even_at_400_and_above(tmp_path):
    from z6.metrics._reference import ReferenceSummaryBuilder
    from z6.metrics._summary import SummaryBuilder
    source = text(checks="{ status = [200, 500] }", simulation="")
    events = events_of(source)
    get = 0
    received = events[(events["kind"] == int(K.RESPONSE_RECEIVED)) & (events["request"] == get)]
    five = received["status"] == 500
    assert five.any() and np.all(received["error"][five] == int(ErrorCode.STATUS_LISTED))
    assert np.all(received["error"][~five] == 0)
    # the unlisted request's 500s stay failures
    plain = events[(events["kind"] == int(K.RESPONSE_RECEIVED)) & (events["request"] == 1)]
    assert np.any(plain["status"] == 500) and np.all(plain["error"] == 0)
    assert not z6.events.failed_mask(received["kind"], received["status"], received["error"]).any()
    assert z6.events.failed_mask(received["kind"], received["status"]).sum() == five.sum()
    # core fold, numpy reference and the run's own summary agree: no http_5xx for "get"
    plan = z6.compile_plan(z6.parse_scenario(source, source="checks.toml"))
    core, reference = SummaryBuilder(plan.request_names, plan.tick_ns), ReferenceSummaryBuilder(plan.request_names,
                                                                                                plan.tick_ns)
    for chunk in np.array_split(events, 7):
        core(chunk)
        reference(chunk)
    a, b = core.finish(), reference.finish()
    assert a == b and a.to_dict() == b.to_dict()
    get_summary, plain_summary = a.per_request["get"], a.per_request["plain"]
    assert get_summary.failed == 0 and "http_5xx" not in get_summary.errors
    assert get_summary.statuses[500] == int(five.sum())
    assert plain_summary.errors["http_5xx"] == plain_summary.statuses[500] == plain_summary.failed
    assert a.overall.failed == plain_summary.failed
    path = tmp_path / "listed.toml"
    path.write_text(source)
    assert z6.cli.main(["run", str(path), "--out", str(tmp_path / "run"), "--quiet"]) in (0, 1)
    doc = json.loads((tmp_path / "run" / "summary.json").read_text())
    assert doc["requests"]["get"]["failed"] == 0
    assert z6.cli.main(["report", str(tmp_path / "run"), "--json", str(tmp_path / "again.json")]) == 0
    again = json.loads((tmp_path / "again.json").read_text())
    assert again["requests"] == doc["requests"]
