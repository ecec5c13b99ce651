"""Bytes on the wire: the core's counts of what it sent and read equal what the
tests' own capture server counted on its side of the sockets, in total and by
request; summary.json, the terminal summary and a summary rebuilt from the log
all carry them; a simulated run has none."""

from __future__ import annotations

import json

import jsonschema
import numpy as np
import pytest

import z6
from z6.analysis import recompute_run
from z6.events import NO_REQUEST, EventKind
from z6.live import resolve_target
from z6.log import read_log
from z6.report import load_schema, render_html, render_run, summary_document
from z6.runner import make_engine

from .capture import CaptureServer
from .servers import require_nginx, start_nginx

pytestmark = pytest.mark.live

BODY = b"x" * 1000
RESPONSE = b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 1000\r\n\r\n" + BODY
VUS = 3
ITERATIONS = 8


def _scenario(tmp_path, base_url: str, simulate: bool = False, post: bool = True) -> z6.Scenario:
    text = f"""
[runtime]
vus = {VUS}
iterations = {ITERATIONS}
prng_seed = 5
[target]
base_url = "{base_url}"
[think_time]
type = "constant"
duration_ms = 0
[[requests]]
name = "get"
method = "GET"
path = "/a"
weight = 3
[[requests]]
name = "post"
method = "{'POST' if post else 'GET'}"
path = "/b"
{'body = "' + 'p' * 300 + '"' if post else ''}
weight = 1
"""
    if simulate:
        text += "[simulation]\nlatency = { type = \"uniform\", min_ms = 1, max_ms = 30 }\n"
    (tmp_path / "s.toml").write_text(text)
    return z6.load_scenario(str(tmp_path / "s.toml"))


def test_bytes_sent_and_received_equal_what_the_server_counted(tmp_path):
    with CaptureServer(RESPONSE) as server:
        result = z6.run_scenario(_scenario(tmp_path, server.base_url), out_dir=tmp_path / "run")
        requests = list(server.requests)
        bytes_in, bytes_out = server.bytes_in, server.bytes_out
    assert not result.failed and result.summary.overall.failed == 0
    assert len(requests) == VUS * ITERATIONS
    t = result.stats.transfer
    assert t is not None
    assert t.total_sent == bytes_in > 0
    assert t.total_received == bytes_out == len(requests) * len(RESPONSE)
    # by request: each path's requests as the server read them, each answered in full
    gets = [r for r in requests if r.startswith(b"GET /a ")]
    posts = [r for r in requests if r.startswith(b"POST /b ")]
    assert len(gets) + len(posts) == len(requests) and gets and posts
    assert t.sent == (sum(map(len, gets)), sum(map(len, posts)))
    assert t.received == (len(gets) * len(RESPONSE), len(posts) * len(RESPONSE))

    doc = summary_document(result)
    duration_s = result.summary.duration_s
    assert doc["transfer"]["sent_bytes"] == bytes_in and doc["transfer"]["received_bytes"] == bytes_out
    assert doc["transfer"]["received_mb_per_s"] == pytest.approx(bytes_out / 1e6 / duration_s)
    assert doc["transfer"]["requests"]["post"] == {"sent_bytes": t.sent[1], "received_bytes": t.received[1]}
    text = render_run(result)
    assert f"received {bytes_out / 1e6:.3f} MB" in text
    # the request table's bytes by request
    row = next(line for line in text.splitlines() if line.startswith("  post ") and "%" in line)
    assert row.split()[-2:] == [f"{t.sent[1] / 1e6:.3f}", f"{t.received[1] / 1e6:.3f}"]
    assert "MB sent" in text and "MB recv" in text
    # written into the log's footer and summary.json, and rebuilt from the log alike
    jsonschema.Draft202012Validator(load_schema()).validate(doc)
    page = render_html(doc)
    assert f"<b>{doc['transfer']['received_mb_per_s']:,.3f}</b><span>MB/s received</span>" in page
    assert "<th>MB received</th>" in page and f"<td>{t.received[1] / 1e6:,.3f}</td>" in page
    written = json.loads((tmp_path / "run" / "summary.json").read_text())
    assert written["transfer"] == doc["transfer"]
    rebuilt = recompute_run(read_log(tmp_path / "run" / "events.z6log"))
    assert rebuilt.stats.transfer == t
    assert summary_document(rebuilt)["transfer"] == doc["transfer"]


def test_bytes_equal_nginxs_request_length_and_bytes_sent(tmp_path):
    # An independent count: nginx logs each request's whole length and each
    # response's whole size (heads and bodies).
    require_nginx()
    with start_nginx(tmp_path, log_bytes=True, body=b"y" * 700) as server:
        result = z6.run_scenario(_scenario(tmp_path, server.base_url))
    lines = server.log_lines()
    t = result.stats.transfer
    assert len(lines) == VUS * ITERATIONS
    # nginx's `return` discards a request body unread into $request_length: the
    # POSTs' 300-byte bodies are added back.
    for index, method, body in ((0, "GET", 0), (1, "POST", 300)):
        mine = [line for line in lines if line[0] == method]
        assert t.sent[index] == sum(int(line[-2]) + body for line in mine) > 0
        assert t.received[index] == sum(int(line[-1]) for line in mine) > 0


def test_bytes_are_summed_over_worker_processes(tmp_path):
    with CaptureServer(RESPONSE) as server:
        result = z6.run_scenario(_scenario(tmp_path, server.base_url), workers=2)
        bytes_in, bytes_out = server.bytes_in, server.bytes_out
    t = result.stats.transfer
    assert t is not None and (t.total_sent, t.total_received) == (bytes_in, bytes_out)


def test_a_simulated_run_counts_no_bytes(tmp_path):
    result = z6.run_scenario(_scenario(tmp_path, "http://127.0.0.1:9", simulate=True))
    assert result.stats.transfer is None
    assert summary_document(result)["transfer"] is None
    jsonschema.Draft202012Validator(load_schema()).validate(summary_document(result))
    assert "transfer" not in render_run(result) and "MB sent" not in render_run(result)
    assert "MB/s" not in render_html(summary_document(result))



def test_a_request_resent_on_a_fresh_connection_counts_twice(tmp_path):
    # The server closes every connection after one answer without saying so:
    # a GET written into the dead connection goes out again on a new one
    # (docs/live.md), so it was written twice and counts twice.
    with CaptureServer(RESPONSE, close_after_each=True) as server:
        scenario = _scenario(tmp_path, server.base_url, post=False)
        target = resolve_target(scenario)
        engine = make_engine(z6.compile_plan(scenario), target)
        chunks = []
        while not engine.finished:
            out = np.empty(4096, z6.EVENT_DTYPE)
            chunks.append(out[: engine.fill(out)].copy())
        engine.close()
        events = np.concatenate(chunks)
        bytes_in, bytes_out = server.bytes_in, server.bytes_out
    sent, received = (int(a.sum()) for a in engine.transfer())
    answered = int((events["kind"] == EventKind.RESPONSE_RECEIVED).sum())
    assert answered == VUS * ITERATIONS and received == bytes_out == answered * len(RESPONSE)
    # a resend first closes the dead connection, naming the request and the error
    resent = events[(events["kind"] == EventKind.CONN_CLOSED) & (events["request"] != NO_REQUEST)
                    & (events["error"] != 0)]
    assert len(resent) > 0
    sizes = [len(r) for r in target.requests]
    assert sent == bytes_in + sum(sizes[int(r)] for r in resent["request"])
