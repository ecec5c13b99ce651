"""Redirects on the wire, against a server of the tests' own on loopback
(docs/scenario.md "Redirects"): a same-origin chain followed hop by hop (each
hop a request of its own, so z6's counts equal the server's log), the chain's
latency reported; 303 and a 302 after a POST become a GET without the body,
307 keeps both; a cookie set by a redirect goes with the next hop; a redirect
to another origin, a loop past the limit and an unusable Location each fail
with their own class; `follow_redirects = 0` leaves the 3xx as the outcome."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler
from pathlib import Path

import jsonschema
import pytest

import z6
from z6.events import EventKind, concat_chunks
from z6.analysis import recompute_run, verify_log
from z6.log import read_log

from .handler_server import HandlerServer

pytestmark = pytest.mark.live

SCHEMA = Path(z6.__file__).parent / "report" / "summary.schema.json"


class RedirectServer(HandlerServer):
    """/start -> 302 /middle -> 301 (absolute URL) /end -> 200; /see-other
    (POST) -> 303 landing-see (relative); /temp (POST) -> 307 /landing-temp;
    /found (POST) -> 302 /landing-found?from=found; /away -> 302 to another port; /loop -> 302 /loop; /bad -> a
    Location with a space; /cookie -> 302 /need with Set-Cookie, /need 401
    without it. Every request's method, path and body are logged."""

    def __init__(self) -> None:
        self.log: list[tuple[str, str, bytes]] = []
        self.users: list[tuple[str, str]] = []     # (path, X-User header)
        lock = threading.Lock()
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def _answer(self, method: str) -> None:
                length = int(self.headers.get("Content-Length", "0") or 0)
                body = self.rfile.read(length) if length else b""
                with lock:
                    server.log.append((method, self.path, body))
                    server.users.append((self.path, self.headers.get("X-User", "")))
                port = server.port
                routes = {
                    "/start": (302, "/middle"),
                    "/middle": (301, f"http://127.0.0.1:{port}/end"),
                    "/see-other": (303, "landing-see"),
                    "/temp": (307, "/landing-temp"),
                    "/found": (302, "/landing-found?from=found"),
                    "/away": (302, "http://127.0.0.1:1/elsewhere"),
                    "/loop": (302, "/loop"),
                    "/bad": (302, "/a b"),
                    "/cookie": (302, "/need"),
                }
                extra = ""
                if self.path.startswith("/start?"):
                    self.path = "/start"      # a templated request's query: the same route
                if self.path in routes:
                    status, location = routes[self.path]
                    extra = f"Location: {location}\r\n"
                    if self.path == "/cookie":
                        extra += "Set-Cookie: hop=1; Path=/\r\n"
                    head = f"HTTP/1.1 {status} Moved\r\nContent-Length: 0\r\n{extra}\r\n"
                    self.wfile.write(head.encode())
                    return
                if self.path == "/need" and "hop=1" not in self.headers.get("Cookie", ""):
                    self.wfile.write(b"HTTP/1.1 401 Unauthorized\r\nContent-Length: 0\r\n\r\n")
                    return
                self.wfile.write(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")

            def do_GET(self) -> None:
                self._answer("GET")

            def do_POST(self) -> None:
                self._answer("POST")

            def log_message(self, *args) -> None:
                pass

        super().__init__(Handler)


def scenario(base_url: str, requests: str, target: str = "", vus: int = 2, seconds: float = 0.6) -> str:
    return f"""
[runtime]
prng_seed = 5
duration_seconds = {seconds}
vus = {vus}
[target]
base_url = "{base_url}"
{target}
{requests}
[think_time]
type = "constant"
duration_ms = 20
"""


def request(name: str, path: str, method: str = "GET", extra: str = "") -> str:
    return f'[[requests]]\nname = "{name}"\nmethod = "{method}"\npath = "{path}"\n{extra}\n'


def run(tmp_path, source: str):
    path = tmp_path / "redirects.toml"
    path.write_text(source)
    out = tmp_path / "out"
    result = z6.run_scenario(z6.load_scenario(str(path)), mode="live", out_dir=str(out))
    events = concat_chunks(read_log(out / "events.z6log").iter_chunks())
    return result, events


def test_a_two_hop_chain_is_three_requests_as_the_server_counts_them(tmp_path):
    with RedirectServer() as server:
        result, events = run(tmp_path, scenario(server.base_url, request("chain", "/start")))
    paths = [path for _, path, _ in server.log]
    chains = paths.count("/start")
    assert chains > 2 and paths.count("/middle") == chains and paths.count("/end") == chains
    overall = result.summary.overall
    assert overall.requests == len(server.log)                   # every hop is a request
    assert overall.statuses == {302: chains, 301: chains, 200: chains}
    assert overall.failed == 0
    issued = events[events["kind"] == EventKind.REQUEST_ISSUED]
    assert sorted(issued["status"].tolist()) == sorted([0, 1, 2] * chains)   # a hop's number in status
    redirects = overall.redirects
    assert redirects is not None and redirects.hops == 2 * chains and redirects.chains == chains
    assert redirects.chain_latency.count == chains
    # a chain takes at least as long as its last hop
    received = events[(events["kind"] == EventKind.RESPONSE_RECEIVED) & (events["status"] == 200)]
    chain = events[events["kind"] == EventKind.REDIRECT_CHAIN]
    assert chain.size == chains and (chain["value_ns"] >= received["value_ns"]).all()
    summary_json = json.loads((tmp_path / "out" / "summary.json").read_text())
    jsonschema.validate(summary_json, json.loads(SCHEMA.read_text()))
    doc = summary_json["requests"]["chain"]["redirects"]
    assert doc["hops"] == 2 * chains and doc["chain_latency_ms"]["count"] == chains
    # the hops of one chain share its seq: the plan's requests are the same as without redirects
    check = verify_log(tmp_path / "out" / "events.z6log")
    assert check.matched, check.message


def test_a_templated_request_is_followed_with_the_headers_it_was_rendered_with(tmp_path):
    extra = 'headers = { X-User = "u${vu}" }'
    with RedirectServer() as server:
        result, _ = run(tmp_path, scenario(server.base_url, request("chain", "/start?vu=${vu}", extra=extra), vus=3))
    assert result.summary.overall.failed == 0
    starts = {user for path, user in server.users if path.startswith("/start?")}
    ends = {user for path, user in server.users if path == "/end"}
    assert starts == ends == {"u1", "u2", "u3"}
    for path, user in server.users:
        if path.startswith("/start?"):
            assert path == f"/start?vu={user[1:]}"


def test_303_and_a_302_after_post_become_get_and_307_keeps_the_body(tmp_path):
    body = 'body = "payload"\nheaders = { Content-Type = "text/plain" }'
    requests = (request("see", "/see-other", "POST", body) + request("temp", "/temp", "POST", body)
                + request("found", "/found", "POST", body))
    with RedirectServer() as server:
        result, _ = run(tmp_path, scenario(server.base_url, requests, seconds=1.0))
    assert result.summary.overall.failed == 0
    log = server.log
    landed = [entry for entry in log if entry[1].startswith("/landing")]
    assert len(landed) == len(log) - len(landed) > 3
    for source, landing, method, sent in (("/see-other", "/landing-see", "GET", b""),
                                          ("/temp", "/landing-temp", "POST", b"payload"),
                                          ("/found", "/landing-found?from=found", "GET", b"")):
        count = sum(1 for _, path, _ in log if path == source)
        assert count > 0 and landed.count((method, landing, sent)) == count, source


def test_a_cookie_set_by_a_redirect_goes_with_the_next_hop(tmp_path):
    with RedirectServer() as server:
        result, _ = run(tmp_path, scenario(server.base_url, request("cookie", "/cookie")))
    assert result.summary.overall.statuses.get(401, 0) == 0
    assert result.summary.overall.statuses[200] == [p for _, p, _ in server.log].count("/need") > 0


def test_another_origin_a_loop_and_a_bad_location_fail_each_with_its_class(tmp_path):
    requests = request("away", "/away") + request("loop", "/loop") + request("bad", "/bad")
    with RedirectServer() as server:
        result, events = run(tmp_path, scenario(server.base_url, requests, target="follow_redirects = 3",
                                                 seconds=1.0))
    names = result.summary.per_request
    assert names["away"].errors == {"error:redirect_offsite": names["away"].completed}
    assert names["bad"].errors == {"error:redirect_location": names["bad"].completed}
    loop = names["loop"]
    assert loop.errors == {"error:redirect_limit": loop.failed} and loop.failed > 0
    # three hops followed, the fourth refused: all four are 302s the server sent
    assert loop.statuses == {302: 4 * loop.failed}
    assert names["away"].statuses == {302: names["away"].completed}
    assert names["bad"].statuses == {302: names["bad"].completed}
    assert [p for _, p, _ in server.log].count("/loop") == loop.requests
    # the location is named where a user reads it (the events hold only the class)
    warning = next(w for w in result.summary.warnings if "another origin" in w)
    assert "http://127.0.0.1:1/elsewhere" in warning
    assert result.stats.redirect_offsite == "http://127.0.0.1:1/elsewhere"
    # and rebuilt from the log, the summary is the run's (the footer keeps the location)
    assert recompute_run(tmp_path / "out" / "events.z6log").summary.to_dict() == result.summary.to_dict()


def test_follow_redirects_0_leaves_the_redirect_as_the_outcome(tmp_path):
    with RedirectServer() as server:
        result, events = run(tmp_path, scenario(server.base_url, request("chain", "/start"),
                                                 target="follow_redirects = 0"))
    assert {p for _, p, _ in server.log} == {"/start"}
    assert set(result.summary.overall.statuses) == {302}
    assert result.summary.overall.redirects is None
    assert not (events["kind"] == EventKind.REDIRECT_CHAIN).any()


@pytest.mark.slow
def test_split_over_two_workers_the_hops_and_the_off_origin_location_come_through(tmp_path):
    requests = request("chain", "/start") + request("away", "/away")
    with RedirectServer() as server:
        path = tmp_path / "redirects.toml"
        path.write_text(scenario(server.base_url, requests, vus=4, seconds=1.0))
        result = z6.run_scenario(z6.load_scenario(str(path)), mode="live", out_dir=str(tmp_path / "out"), workers=2)
    overall = result.summary.overall
    assert overall.requests == len(server.log)
    chains = [p for _, p, _ in server.log].count("/start")
    assert overall.redirects.hops == 2 * chains and overall.redirects.chain_latency.count == chains
    assert result.stats.redirect_offsite == "http://127.0.0.1:1/elsewhere"
    assert any("http://127.0.0.1:1/elsewhere" in w for w in result.summary.warnings)
    assert recompute_run(tmp_path / "out" / "events.z6log").summary.to_dict() == result.summary.to_dict()
