"""summary.json against its schema, the HTML report's content and escaping, `z6 report`."""

from __future__ import annotations

import copy
import math
import json
import os
import re
from html.parser import HTMLParser

import jsonschema
import pytest

import z6
from z6.metrics import mean_think_ms
from z6.cli import main
from z6.log import EventLogWriter, make_header
from z6.report import (SCHEMA_VERSION, document_from_log, embed_json, load_schema, render_html, summary_document,
                       write_html, write_json)
from z6.runner import run_plan
from conftest import REPO, scenario

SIMULATED = REPO / "examples" / "simulated.toml"
XSS = "<script>alert(1)</script>"
HOSTILE = f'{XSS}"&\'\u2028\u2029</script><!--'


def _validate(document: dict) -> None:
    jsonschema.Draft202012Validator(load_schema()).validate(document)


def _hostile_scenario() -> z6.Scenario:
    # A request named like markup, a sequence of per-request assertions on it, errors and 5xx.
    requests = (f'[[requests]]\nname = {json.dumps(XSS)}\nmethod = "GET"\npath = "/"\nweight = 3\n\n'
                f'[[requests]]\nname = {json.dumps(HOSTILE)}\nmethod = "GET"\npath = "/x"\nweight = 1\n')
    extra = ('[simulation]\nlatency = { type = "lognormal", median_ms = 20, p99_ms = 120 }\nerror_rate = 0.05\n'
             'status_codes = { "200" = 90, "503" = 10 }\n\n'
             f'[assertions]\np99_latency_ms = 1000\n\n[assertions.requests.{json.dumps(XSS)}]\np50_latency_ms = 1\n')
    return scenario("duration_seconds = 4\nvus = 20", requests=requests, extra=extra)


def _log_run(sc: z6.Scenario, directory, finish: str | None = "completed"):
    """Run ``sc`` writing its event log; return (RunResult-equivalent document, log path)."""
    plan = z6.compile_plan(sc)
    writer = EventLogWriter(directory, make_header(sc, plan))
    result = z6.run_scenario(sc, consumers=[writer])
    if finish is None:
        writer.abort()
        return result, directory / "events.z6log.partial"
    return result, writer.finish(finish)


def test_a_runs_document_matches_the_schema():
    result = z6.run_scenario(z6.load_scenario(SIMULATED))
    document = summary_document(result)
    _validate(document)
    assert document["schema_version"] == SCHEMA_VERSION == 1
    run = document["run"]
    assert (run["seed"], run["mode"], run["scenario_sha256"], run["source"], run["status"]) == \
        (result.seed, "simulate", result.scenario_sha256, "run", "completed")
    assert document["summary"]["requests"] == result.summary.overall.requests
    assert set(document["requests"]) == set(result.summary.per_request)
    assert document["verdict"] == {"passed": True, "assertions_total": 2, "assertions_failed": 0,
                                   "interrupted": False, "exit_code": 0, "result": "passed"}
    assert json.loads(json.dumps(document, allow_nan=False)) == document


@pytest.mark.parametrize("damage", [
    lambda d: d.pop("verdict"),
    lambda d: d.update(schema_version=2),
    lambda d: d["run"].update(seed=-1),
    lambda d: d["summary"]["latency_ms"].update(p99="fast"),
    lambda d: d["assertions"].append({"index": 9, "scope": "overall", "name": "p42_latency_ms",
                                      "comparison": "<=", "threshold": 1, "measured": 1, "passed": True}),
    lambda d: d["time_series"].pop("active_vus"),
])
def test_the_schema_rejects_a_damaged_document(damage):
    document = summary_document(z6.run_scenario(z6.load_scenario(SIMULATED), duration_s=1))
    broken = copy.deepcopy(document)
    damage(broken)
    with pytest.raises(jsonschema.ValidationError):
        _validate(broken)


def test_failed_assertions_and_errors_in_the_document():
    result = z6.run_scenario(_hostile_scenario())
    document = summary_document(result)
    _validate(document)
    assert document["verdict"]["passed"] is False and document["verdict"]["exit_code"] == 1
    # p99 passes; the default verdict (no error limit of its own) fails the 5% errors and 10% 503s.
    assert [(a["passed"], a["default"]) for a in document["assertions"]] == [(True, False), (False, True),
                                                                              (False, False)]
    assert document["assertions"][1]["name"] == "error_rate_max" and document["assertions"][2]["scope"] == XSS
    errors = document["errors"]
    assert set(errors) == {"error:simulated", "http_5xx"}
    completed = document["summary"]["completed"]
    assert all(e["rate"] == e["count"] / completed for e in errors.values())
    assert set(document["statuses"]) == {"200", "503"}


def test_the_document_from_a_log_equals_the_runs(tmp_path):
    result, path = _log_run(_hostile_scenario(), tmp_path / "run")
    from_run = summary_document(result)
    from_log = document_from_log(z6.log.read_log(path))
    _validate(from_log)
    assert from_log["run"]["source"] == "log"
    assert from_log["run"]["wall_s"] == z6.log.read_log(path).footer.elapsed_s   # the log's own wall time
    for key in ("summary", "requests", "statuses", "errors", "lag_ms", "time_series", "latency_distribution",
                "assertions", "warnings", "verdict"):
        assert from_log[key] == from_run[key], key
    for key in ("scenario_sha256", "mode", "seed", "vus", "tick_ns", "request_names", "status"):
        assert from_log["run"][key] == from_run["run"][key], key
    # The log records the scenario's absolute path, so it can find body files later.
    assert from_log["run"]["scenario"] == os.path.abspath(from_run["run"]["scenario"])


# --- the HTML page -------------------------------------------------------------


class _Page(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict]] = []
        self.text: list[str] = []
        self.script_data: list[str] = []
        self._in_script = False

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))
        self._in_script = tag == "script"

    def handle_endtag(self, tag):
        self._in_script = False

    def handle_data(self, data):
        (self.script_data if self._in_script else self.text).append(data)


def _parse(page: str) -> _Page:
    parser = _Page()
    parser.feed(page)
    return parser


def test_scenario_strings_show_as_text_never_as_markup():
    page = render_html(summary_document(z6.run_scenario(_hostile_scenario())))
    parsed = _parse(page)
    # One script element, the JSON data block; no comment opened by a name.
    scripts = [attrs for tag, attrs in parsed.tags if tag == "script"]
    assert scripts == [{"type": "application/json", "id": "z6-summary"}]
    assert "<!--" not in page and XSS not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    text = "".join(parsed.text)
    assert XSS in text                                # shown, as text, in the tables
    # The embedded JSON carries the names back exactly, with nothing markup-like as is.
    [data] = parsed.script_data
    assert not re.search(r"[<>&\u2028\u2029]", data)
    document = json.loads(data)
    assert document["run"]["request_names"] == [XSS, HOSTILE]


def test_embedded_json_escapes_what_could_end_a_script():
    text = embed_json({"s": "</script><b>&\u2028\u2029"})
    assert text == '{"s":"\\u003c/script\\u003e\\u003cb\\u003e\\u0026\\u2028\\u2029"}'
    assert json.loads(text) == {"s": "</script><b>&\u2028\u2029"}


def test_the_page_is_self_contained_and_shows_the_run():
    result = z6.run_scenario(_hostile_scenario())
    page = render_html(summary_document(result))
    parsed = _parse(page)
    for tag, attrs in parsed.tags:
        assert not {"src", "href", "srcset", "action"} & set(attrs), (tag, attrs)
        assert tag not in ("link", "img", "iframe", "object", "embed")
    assert "@import" not in page and "url(" not in page
    charts = [attrs for tag, attrs in parsed.tags if tag == "svg"]
    assert [c["aria-label"] for c in charts] == ["Requests per second", "Latency percentiles", "Active VUs",
                                                  "Errors per second", "Latency distribution"]
    assert sum(tag == "polyline" for tag, _ in parsed.tags) >= 5   # rate, p50, p95, p99, VUs, errors
    assert sum(tag == "rect" for tag, _ in parsed.tags) > 20         # the distribution's bars
    text = "".join(parsed.text)
    for needle in (str(result.seed), result.scenario_sha256, "simulate", "FAIL", "PASS", "p50_latency_ms <= 1",
                   "schedule lag", "http_5xx", "error:simulated", "503"):
        assert needle in text, needle


def test_a_run_with_no_responses_still_renders():
    sc = scenario("duration_seconds = 1\nvus = 2", extra='[simulation]\nlatency = { type = "constant", ms = 10 }\n'
                                                         'error_rate = 1')
    page = render_html(summary_document(z6.run_scenario(sc)))
    assert "no data" in page and "No responses." in page


def test_writes_are_atomic(tmp_path):
    document = summary_document(z6.run_scenario(z6.load_scenario(SIMULATED), duration_s=1))
    target = tmp_path / "report.html"
    write_html(target, document)
    write_json(tmp_path / "summary.json", document)
    assert target.read_text(encoding="utf-8").startswith("<!DOCTYPE html>")
    assert json.loads((tmp_path / "summary.json").read_text()) == document
    assert oct(target.stat().st_mode & 0o777) == oct(0o666 & ~_umask())
    blocked = tmp_path / "a-directory"
    blocked.mkdir()
    with pytest.raises(OSError):
        write_html(blocked, document)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a-directory", "report.html", "summary.json"]


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


# --- z6 report -----------------------------------------------------------------


def test_z6_report_from_a_log(tmp_path, capsys):
    result, path = _log_run(_hostile_scenario(), tmp_path / "run")
    html, summary = tmp_path / "report.html", tmp_path / "summary.json"
    code = main(["report", str(tmp_path / "run"), "-o", str(html), "--json", str(summary)])
    out, err = capsys.readouterr()
    assert code == 0 and err == ""
    assert f"wrote {html} and {summary}" in out and "completed" in out
    document = json.loads(summary.read_text())
    _validate(document)
    assert document["summary"] == summary_document(result)["summary"]
    page = html.read_text(encoding="utf-8")
    assert result.scenario_sha256 in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page


def test_z6_report_from_a_partial_log_warns(tmp_path, capsys):
    _, path = _log_run(z6.load_scenario(SIMULATED), tmp_path / "run", finish=None)
    html = tmp_path / "report.html"
    code = main(["report", str(path), "-o", str(html)])
    out, err = capsys.readouterr()
    assert code == 0
    assert err.startswith("z6: warning: ") and "partial" in err and "Traceback" not in err
    page = html.read_text(encoding="utf-8")
    assert "INTERRUPTED" in page and "the log is partial" in page


@pytest.mark.parametrize("args, needle", [
    (["report", "{log}"], "-o REPORT.html and/or --json SUMMARY.json"),
    (["report", "{tmp}/missing.z6log", "-o", "{tmp}/r.html"], "missing.z6log: cannot read event log"),
    (["report", "{log}", "-o", "{tmp}/no/such/dir/r.html"], "r.html: cannot write the HTML report"),
    (["report", "{tmp}/garbage.z6log", "-o", "{tmp}/r.html"], "garbage.z6log"),
    # One file for both: the summary would have overwritten the report ("wrote r.html and r.html").
    (["report", "{log}", "-o", "{tmp}/r.html", "--json", "{tmp}/./r.html"], "-o and --json both name"),
])
def test_z6_report_bad_input_exits_2(tmp_path, capsys, args, needle):
    _, path = _log_run(z6.load_scenario(SIMULATED), tmp_path / "run")
    (tmp_path / "garbage.z6log").write_bytes(b"not a log at all" * 4)
    argv = [a.format(log=path, tmp=tmp_path) for a in args]
    code = main(argv)
    out, err = capsys.readouterr()
    assert code == 2 and needle in err and "Traceback" not in err
    assert not (tmp_path / "r.html").exists()
    assert not list(tmp_path.rglob(".z6-*"))          # no temporary file left behind


def test_run_plan_chunks_render_without_a_log():
    # The report is built from metrics over chunks: any chunk source will do.
    sc = z6.load_scenario(SIMULATED)
    plan = z6.compile_plan(sc, duration_s=2)
    # think_ms as a run passes it: the lag warning's threshold weighs think time.
    builder = z6.SummaryBuilder(plan.request_names, plan.tick_ns, think_ms=mean_think_ms(sc.think_time))
    run_plan(plan, [builder], chunk_records=128)
    whole = z6.run_scenario(sc, duration_s=2)
    assert builder.finish().to_dict() == whole.summary.to_dict()


def _series_document(seconds, requests, vus, p99, final_tick, tick_ns=1_000_000):
    n = len(seconds)
    return {"run": {"final_tick": final_tick, "tick_ns": tick_ns},
            "time_series": {"second": seconds, "requests": requests, "errors": [0] * n, "completed": requests,
                            "active_vus": vus, "bytes_sent": None,
                            "latency_ms": {"p50": p99, "p95": p99, "p99": p99}}}


def test_time_charts_fill_gaps_and_leave_out_a_short_last_second():
    from z6.report._html import _bucketed

    # seconds 0, 1 and 3 had events (2 had none); the run ends 0.2 s into second 3
    doc = _series_document([0, 1, 3], [10, 20, 4], [5, 5, 0], [1.0, None, 9.0], final_tick=3_199)
    x, series, width = _bucketed(doc)
    assert width == 1 and x["mid"][:3] == [0.5, 1.5, 2.5]
    assert series["rate"] == [10.0, 20.0, 0.0, None]      # the gap is 0, the 0.2 s tail left out
    assert series["vus"] == [5, 5, 5, 5, 5, 5, 0, 0]      # steps; second 2 kept the VUs of second 1
    assert series["p99"] == [1.0, None, None, 9.0]


def test_long_runs_are_charted_in_buckets_of_several_seconds():
    from z6.report._html import MAX_CHART_POINTS, _bucketed

    n = 5_000
    seconds = list(range(n))
    p99 = [1.0] * n
    p99[4321] = 500.0
    doc = _series_document(seconds, [2] * n, list(range(n)), p99, final_tick=n * 1000 - 1)
    x, series, width = _bucketed(doc)
    assert width == 3 and len(series["rate"]) == math.ceil(n / 3) <= MAX_CHART_POINTS
    assert series["rate"][:-1] == [2.0] * (len(series["rate"]) - 1)   # averaged over the bucket
    assert series["rate"][-1] == 2.0                                  # the last bucket: 2 s of 3, rated over 2 s
    assert max(v for v in series["p99"] if v is not None) == 500.0   # the worst second survives
    assert series["vus"][0] == 2                                      # active at the end of the first bucket


def test_terminal_summary_shows_lag_statuses_error_rates_and_warnings():
    import dataclasses

    sc = scenario("duration_seconds = 2\nvus = 5",
                  extra='[simulation]\nlatency = { type = "constant", ms = 10 }\nerror_rate = 0.2\n'
                        'status_codes = { "200" = 1, "503" = 1 }')
    result = z6.run_scenario(sc)
    warned = dataclasses.replace(result, summary=dataclasses.replace(result.summary, warnings=("lag is large",)))
    text = z6.render_run(warned)
    o = result.summary.overall
    assert "schedule lag" in text and "\n  503 " in text and "\n  200 " in text
    assert f"error:simulated {o.errors['error:simulated']} ({o.error_rates['error:simulated']:.2%})" in text
    assert "WARNING  lag is large" in text
