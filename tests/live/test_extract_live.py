"""Extracted variables on the wire, against a server of the tests' own on
loopback that records every request: each VU's login token reaches every later
request of that VU (and only that VU's), an unset variable sends nothing, a
value holding CR/LF never reaches a header, a value past max_bytes fails its
extraction, and `z6 replay --verify` checks the rendered bytes with variables
as placeholders."""

from __future__ import annotations

import json
import secrets
import threading
from http.server import BaseHTTPRequestHandler

import pytest

import z6
import z6.cli
from z6.events import ErrorCode, EventKind

from .handler_server import HandlerServer

pytestmark = pytest.mark.live


class AuthServer(HandlerServer):
    """POST /login (body {"user": ...}) answers a token unique to the user, in
    JSON and in an X-Session header, unless the user is in ``refuse`` (503,
    no JSON); GET /api/... answers 200 "item id=<n>" when its bearer token is the
    one issued to the X-User header's user, else 403. Every request's line and
    headers are kept, in order."""

    def __init__(self, refuse: frozenset[str] = frozenset(), token_suffix: str = "") -> None:
        self.log: list[tuple[str, str, dict[str, str]]] = []
        self.tokens: dict[str, str] = {}
        lock = threading.Lock()
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def _send(self, status: int, body: bytes, extra: str = "") -> None:
                self.wfile.write(f"HTTP/1.1 {status} X\r\nContent-Length: {len(body)}\r\n{extra}\r\n".encode() + body)

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                with lock:
                    server.log.append(("POST", self.path, dict(self.headers.items())))
                user = json.loads(body)["user"]
                if user in refuse:
                    self._send(503, b"busy")
                    return
                with lock:
                    token = server.tokens.setdefault(user, f"t{len(server.tokens) + 1}-{user}{token_suffix}")
                self._send(200, json.dumps({"access_token": token, "n": 3}).encode(),
                           f"X-Session: s/{user} 1\r\n")

            def do_GET(self) -> None:
                with lock:
                    server.log.append(("GET", self.path, dict(self.headers.items())))
                    expected = server.tokens.get(self.headers.get("X-User", ""))
                ok = expected is not None and self.headers.get("Authorization") == f"Bearer {expected}"
                self._send(200 if ok else 403, b"item id=%d" % len(server.log) if ok else b"denied")

            def log_message(self, *args) -> None:
                pass

        super().__init__(Handler)


def scenario(base_url: str, *, vus: int = 4, extract: str = 'token = { json = "access_token" }',
             lifecycle: bool = True, api_path: str = "/api/${vu}", api_extract: str = "") -> str:
    order = ('[lifecycle]\non_start = ["login"]\n' if lifecycle
             else '[[sequence.steps]]\nrequest = "login"\n[[sequence.steps]]\nrequest = "api"\nrepeat = 3\n')
    return f"""
[runtime]
prng_seed = 3
duration_seconds = 1.5
vus = {vus}
graceful_stop_seconds = 2
[target]
base_url = "{base_url}"
{order}
[[requests]]
name = "login"
method = "POST"
path = "/login"
body = '{{"user": "u${{vu}}"}}'
weight = 0
timeout_ms = 3000
extract = {{ {extract} }}
[[requests]]
name = "api"
method = "GET"
path = "{api_path}"
headers = {{ Authorization = "Bearer ${{var.token}}", X-User = "u${{vu}}" }}
timeout_ms = 3000
checks = {{ status = [200] }}
{api_extract}
[think_time]
type = "constant"
duration_ms = 20
[assertions]
error_rate_max = 1
"""


def run(tmp_path, source: str):
    path = tmp_path / "extract.toml"
    path.write_text(source)
    return z6.run_scenario(z6.load_scenario(str(path)), mode="live", out_dir=tmp_path / "run", keep_events=True)


def errors_of(result) -> dict[int, int]:
    ev = result.events
    failed = ev[ev["kind"] == int(EventKind.ERROR_HTTP)]
    return {int(e): int((failed["error"] == e).sum()) for e in set(failed["error"].tolist())}


def test_each_vus_token_reaches_all_its_later_requests(tmp_path, capsys):
    with AuthServer() as server:
        result = run(tmp_path, scenario(server.base_url, api_extract='extract = { item = { regex = "id=(\\\\d+)" } }'))
    api = [(path, headers) for method, path, headers in server.log if method == "GET"]
    assert len(api) >= 4 * 5
    for path, headers in api:
        user = headers["X-User"]
        assert headers["Authorization"] == f"Bearer {server.tokens[user]}"
        assert path == f"/api/{user[1:]}"
    summary = result.summary
    assert summary.per_request["api"].requests == len(api)     # z6's count is the server's
    assert summary.overall.failed == 0
    labels = {c.label: (c.passed, c.total) for c in summary.overall.checks}
    assert labels["extract token from json access_token"] == (4, 4)
    assert labels['extract item from regex "id=(\\\\d+)"'][0] == len(api)
    assert z6.cli.main(["replay", str(tmp_path / "run"), "--verify"]) == 0
    assert "so do the bytes each VU rendered from its templates" in capsys.readouterr().out


def test_a_value_in_the_path_is_percent_encoded(tmp_path):
    with AuthServer() as server:
        run(tmp_path, scenario(server.base_url, vus=2, api_path="/api/${var.sid}",
                               extract='token = { json = "access_token" }, sid = { header = "X-Session" }'))
    paths = {path for method, path, _ in server.log if method == "GET"}
    assert paths == {"/api/s%2Fu1%201", "/api/s%2Fu2%201"}


def test_an_unset_variable_sends_nothing_and_fails_its_request(tmp_path):
    with AuthServer(refuse=frozenset({"u2"})) as server:
        result = run(tmp_path, scenario(server.base_url, vus=3, lifecycle=False))
    users = {headers["X-User"] for method, _, headers in server.log if method == "GET"}
    assert users == {"u1", "u3"}     # VU 2 never logged in: none of its api requests reached the server
    errors = errors_of(result)
    assert errors[int(ErrorCode.VAR_UNSET)] >= 3
    assert errors.get(int(ErrorCode.EXTRACT_JSON), 0) >= 1
    assert not any("${" in path or any("${" in v for v in headers.values()) for _, path, headers in server.log)
    assert result.summary.overall.requests == len(server.log) + errors[int(ErrorCode.VAR_UNSET)]


def test_a_default_stands_in_until_a_value_is_extracted(tmp_path):
    with AuthServer(refuse=frozenset({"u1"})) as server:
        result = run(tmp_path, scenario(server.base_url, vus=1, lifecycle=False,
                                        extract='token = { json = "access_token", default = "anonymous" }'))
    auth = {headers["Authorization"] for method, _, headers in server.log if method == "GET"}
    assert auth == {"Bearer anonymous"}
    assert int(ErrorCode.VAR_UNSET) not in errors_of(result)


def test_an_extracted_value_with_crlf_never_reaches_a_header(tmp_path):
    with AuthServer(token_suffix="\r\nX-Evil: 1") as server:
        result = run(tmp_path, scenario(server.base_url, vus=2))
    assert not any(method == "GET" for method, _, _ in server.log)
    assert not any("X-Evil" in headers for _, _, headers in server.log)
    assert errors_of(result)[int(ErrorCode.HEADER_VALUE)] >= 2


def test_a_value_past_max_bytes_fails_its_extraction(tmp_path):
    with AuthServer() as server:
        result = run(tmp_path, scenario(server.base_url, vus=2, extract='token = { json = "access_token", max_bytes = 4 }'))
    assert result.summary.failed_vus == 2            # the on_start login failed its extraction
    assert errors_of(result) == {int(ErrorCode.VAR_TOO_LONG): 2}
    assert not any(method == "GET" for method, _, _ in server.log)


class FreshTokenServer(HandlerServer):
    """The issue's login flow: each POST /login issues a fresh random token in
    JSON; /api answers 401 without `Authorization: Bearer <a token it issued>`."""

    def __init__(self) -> None:
        self.logins = 0
        self.api = {200: 0, 401: 0}
        self.issued: set[str] = set()
        lock = threading.Lock()
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:
                self.rfile.read(int(self.headers.get("Content-Length") or 0))
                token = secrets.token_urlsafe(24)
                with lock:
                    server.logins += 1
                    server.issued.add(token)
                body = json.dumps({"access_token": token, "expires_in": 3600}).encode()
                self.wfile.write(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n"
                                 % len(body) + body)

            def do_GET(self) -> None:
                auth = self.headers.get("Authorization", "")
                with lock:
                    status = 200 if auth.startswith("Bearer ") and auth[7:] in server.issued else 401
                    server.api[status] += 1
                self.wfile.write(b"HTTP/1.1 %d X\r\nContent-Length: 2\r\n\r\nok" % status)

            def log_message(self, *args) -> None:
                pass

        super().__init__(Handler, queue_size=256)


def test_fifty_vus_log_in_once_each_and_never_see_a_401(tmp_path):
    with FreshTokenServer() as server:
        port = server.server.server_address[1]
        source = f"""
[runtime]
duration_seconds = 5
vus = 50
[target]
base_url = "http://127.0.0.1:{port}"
[lifecycle]
on_start = ["login"]
[[requests]]
name = "login"
method = "POST"
path = "/login"
body = '{{"user": "u${{vu}}"}}'
weight = 0
extract = {{ token = {{ json = "access_token" }} }}
[[requests]]
name = "api"
method = "GET"
path = "/api"
headers = {{ Authorization = "Bearer ${{var.token}}" }}
[think_time]
type = "constant"
duration_ms = 100
"""
        result = run(tmp_path, source)
    assert server.logins == 50
    assert server.api[401] == 0 and server.api[200] > 50 * 10
    assert result.summary.per_request["api"].requests == server.api[200]
    assert result.summary.overall.failed == 0
