"""Response checks against a server of the tests' own on loopback: one answer in
four is a 200 whose JSON says ``"ok": false``, and the checks fail on exactly
the responses the server marked, per VU and in order, whether the body came
with a Content-Length or chunked; status, header and body checks likewise; a
body longer than max_capture_bytes is judged on its first part and says so."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler

import numpy as np
import pytest

import z6
import z6.cli
from z6.events import ErrorCode, EventKind

from .handler_server import HandlerServer

from .test_tls import ca, pki, tls_nginx  # noqa: F401  (fixtures: a CA and the server's certificates)

pytestmark = pytest.mark.live

K = EventKind


class MarkingServer(HandlerServer):
    """GET /item: every fourth answer (by the server's count) is marked: its
    JSON has ok = false, its X-Mark header "yes", its body the word "error".
    Odd answers are chunked. /big answers a JSON body of ``big`` bytes whose
    "ok" comes last. Logs (X-VU, marked) per request."""

    def __init__(self, big: int = 0) -> None:
        self.log: list[tuple[int, bool]] = []
        lock = threading.Lock()
        log = self.log
        count = [0]

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self) -> None:
                vu = int(self.headers.get("X-VU", "0"))
                with lock:
                    n = count[0]
                    count[0] += 1
                    marked = n % 4 == 3
                    log.append((vu, marked))
                if self.path == "/big":
                    body = (b'{"pad": "' + b"x" * big + b'", "ok": true}')
                    marked = False
                else:
                    doc = {"ok": not marked, "items": [{"id": 7 if marked else 1, "name": "caf\u00e9 \"quoted\""}],
                           "note": "error" if marked else "fine"}
                    body = json.dumps(doc).encode()
                head = [f"HTTP/1.1 {200} OK", "Content-Type: application/json",
                        f"X-Mark: {'yes' if marked else 'no'}"]
                if n % 2:
                    head.append("Transfer-Encoding: chunked")
                    half = len(body) // 2
                    payload = b"".join(b"%x\r\n%s\r\n" % (len(part), part) for part in (body[:half], body[half:]) if part)
                    payload += b"0\r\n\r\n"
                else:
                    head.append(f"Content-Length: {len(body)}")
                    payload = body
                self.wfile.write(("\r\n".join(head) + "\r\n\r\n").encode() + payload)

            def log_message(self, *args) -> None:
                pass

        super().__init__(Handler)


def scenario(base_url: str, checks: str, path: str = "/item", extra: str = "") -> str:
    return f"""
[runtime]
prng_seed = 3
iterations = 12
vus = 6
[target]
base_url = "{base_url}"
{extra}
[[requests]]
name = "item"
method = "GET"
path = "{path}"
headers = {{ "X-VU" = "${{vu}}" }}
checks = {checks}
[assertions]
error_rate_max = 1
"""


def run(tmp_path, text: str):
    path = tmp_path / "checks.toml"
    path.write_text(text)
    code = z6.cli.main(["run", str(path), "--quiet", "--out", str(tmp_path / "run")])
    events = np.concatenate(list(z6.read_log(tmp_path / "run").iter_chunks()))
    return code, events, json.loads((tmp_path / "run" / "summary.json").read_text())


def failed_by_vu(events: np.ndarray, index: int) -> dict[int, list[bool]]:
    """Per VU, in request order: did check ``index`` fail?"""
    out: dict[int, list[bool]] = {}
    issued = events[events["kind"] == K.REQUEST_ISSUED]
    failed = events[(events["kind"] == K.CHECK_FAILED) & (events["status"] == index)]
    for vu in np.unique(issued["vu_id"]).tolist():
        seqs = issued["seq"][issued["vu_id"] == vu].tolist()
        bad = set(failed["seq"][failed["vu_id"] == vu].tolist())
        out[vu] = [s in bad for s in seqs]
    return out


def marked_by_vu(log: list[tuple[int, bool]]) -> dict[int, list[bool]]:
    out: dict[int, list[bool]] = {}
    for vu, marked in log:
        out.setdefault(vu, []).append(marked)
    return out


def test_checks_fail_on_exactly_the_responses_the_server_marked(tmp_path):
    checks = ('{ status = [200], json = { "ok" = true, "items.0.id" = 1, "items.0.name" = "caf\u00e9 \\"quoted\\"" }, '
              'header = { "x-mark" = "no" }, body_not_contains = "error" }')
    with MarkingServer() as server:
        code, events, doc = run(tmp_path, scenario(server.base_url, checks))
        log = list(server.log)
    assert code == 0
    marked = marked_by_vu(log)
    assert sum(m for vu in marked.values() for m in vu) == 72 // 4 and len(log) == 72
    # Checks: 0 status, 1 body_not_contains, 2 header, 3-5 json (the request's order).
    assert failed_by_vu(events, 0) == {vu: [False] * 12 for vu in marked}
    for index in (1, 2, 3, 4):
        assert failed_by_vu(events, index) == marked, index
    assert failed_by_vu(events, 5) == {vu: [False] * 12 for vu in marked}   # the name always matches
    outcomes = events[(events["kind"] == K.ERROR_HTTP)]
    assert outcomes.size == 18 and np.all(outcomes["status"] == 200)
    assert np.all(outcomes["error"] == ErrorCode.CHECK_BODY_NOT_CONTAINS)   # the first failed check names it
    checks_doc = doc["requests"]["item"]["checks"]
    assert [c["check"] for c in checks_doc] == [
        "status in [200]", 'body does not contain "error"', 'header x-mark == "no"', "json ok == true",
        "json items.0.id == 1", 'json items.0.name == "caf\u00e9 \\"quoted\\""']
    assert [(c["passed"], c["failed"]) for c in checks_doc] == [(72, 0), (54, 18), (54, 18), (54, 18), (54, 18),
                                                                 (72, 0)]
    assert doc["summary"]["error_rate"] == pytest.approx(0.25)
    assert doc["errors"]["error:check_body_not_contains"]["count"] == 18
    # The log alone gives the same figures, and replays.
    analyzed = z6.cli.main(["replay", str(tmp_path / "run"), "--verify"])
    assert analyzed == 0
    from z6.analysis import recompute_run
    again = recompute_run(tmp_path / "run").summary.per_request["item"].checks
    assert [(c.passed, c.total) for c in again] == [(c["passed"], c["passed"] + c["failed"]) for c in checks_doc]


def test_checks_rate_min_judges_the_run(tmp_path):
    checks = '{ json = { "ok" = true } }'
    with MarkingServer() as server:
        text = scenario(server.base_url, checks).replace("error_rate_max = 1", "error_rate_max = 1\nchecks_rate_min = 0.9")
        code, _, doc = run(tmp_path, text)
    assert code == 1
    failed = [a for a in doc["assertions"] if not a["passed"]]
    assert [(a["name"], a["measured"]) for a in failed] == [("checks_rate_min", 0.75)]
    # On the boundary it passes: the rate must be at least the limit.
    (tmp_path / "boundary").mkdir()
    with MarkingServer() as server:
        text = scenario(server.base_url, checks).replace("error_rate_max = 1",
                                                         "error_rate_max = 1\nchecks_rate_min = 0.75")
        code, _, doc = run(tmp_path / "boundary", text)
    assert code == 0 and doc["summary"]["checks_rate"] == 0.75


def test_a_body_past_max_capture_bytes_is_judged_on_its_first_part(tmp_path):
    with MarkingServer(big=50_000) as server:
        code, events, doc = run(tmp_path, scenario(server.base_url, '{ json = { "ok" = true } }', path="/big",
                                                   extra="max_capture_bytes = 10000"))
    failed = events[events["kind"] == K.CHECK_FAILED]
    assert failed.size == 72 and np.all(failed["error"] == ErrorCode.CHECK_TRUNCATED)
    assert doc["errors"]["error:check_truncated"]["count"] == 72
    # With room for the whole body the same check passes.
    (tmp_path / "again").mkdir()
    with MarkingServer(big=50_000) as server:
        code, events, doc = run(tmp_path / "again", scenario(server.base_url, '{ json = { "ok" = true } }',
                                                             path="/big", extra="max_capture_bytes = 100000"))
    assert not np.any(events["kind"] == K.CHECK_FAILED)
    assert doc["requests"]["item"]["checks_rate"] == 1.0


def test_checks_judge_responses_read_over_tls(tmp_path, pki):  # noqa: F811  (the imported fixture)
    # The driver keeps what TLS decrypted: the same checks pass over https.
    with tls_nginx(tmp_path, pki, body=b'{"ok": true, "n": 5, "who": "nginx"}') as server:
        text = scenario(server.base_url, '{ status = [200], json = { "ok" = true, "n" = 5 }, body_contains = "nginx" }',
                        extra=f'ca_file = "{pki / "ca.pem"}"')
        code, events, doc = run(tmp_path, text)
        logged = len(server.log_lines())
    assert code == 0 and not np.any(events["kind"] == K.CHECK_FAILED)
    assert [(c["passed"], c["failed"]) for c in doc["requests"]["item"]["checks"]] == [(72, 0)] * 4
    assert logged == 72


def test_a_listed_404_is_a_success_and_an_unlisted_one_a_failure(builtin_target, tmp_path):
    source = f"""
[runtime]
prng_seed = 4
iterations = 10
vus = 2
[target]
base_url = "http://{builtin_target.host}:{builtin_target.port}"
[[requests]]
name = "expected"
method = "GET"
path = "/status/404"
checks = {{ status = [404] }}
[[requests]]
name = "unexpected"
method = "GET"
path = "/status/404"
[think_time]
type = "constant"
duration_ms = 0
[assertions]
error_rate_max = 1
"""
    path = tmp_path / "listed.toml"
    path.write_text(source)
    result = z6.run_scenario(z6.load_scenario(str(path)), mode="live", keep_events=True)
    expected, unexpected = result.summary.per_request["expected"], result.summary.per_request["unexpected"]
    assert expected.requests + unexpected.requests == 20
    assert expected.statuses == {404: expected.requests} and expected.failed == 0 and expected.errors == {}
    assert unexpected.failed == unexpected.requests and unexpected.errors == {"http_4xx": unexpected.requests}
    received = result.events[result.events["kind"] == int(EventKind.RESPONSE_RECEIVED)]
    listed = received["error"] == int(ErrorCode.STATUS_LISTED)
    assert int(listed.sum()) == expected.requests
