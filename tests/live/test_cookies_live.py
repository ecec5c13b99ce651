"""Cookies on the wire, against a server of the tests' own on loopback: each
VU's session cookie comes back on its later requests only (on a plain and on a
templated request), Path limits where a cookie goes, Max-Age=0 deletes, a
request with a Cookie header of its own sends that one alone, and
`[target] cookies = false` sends none."""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler

import pytest

import z6

from .handler_server import HandlerServer

pytestmark = pytest.mark.live


class SessionServer(HandlerServer):
    """/login (X-User header) answers Set-Cookie lines: a session unique to the
    user (Path=/), one for /admin only, one deleted at once; other paths
    answer 200. Every request's path and Cookie header are kept."""

    def __init__(self) -> None:
        self.log: list[tuple[str, str, str]] = []     # (user, path, cookie header)
        lock = threading.Lock()
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self) -> None:
                user = self.headers.get("X-User", "")
                with lock:
                    server.log.append((user, self.path, self.headers.get("Cookie", "")))
                extra = ""
                if self.path == "/login":
                    extra = (f"Set-Cookie: session=s-{user}; Path=/; HttpOnly\r\n"
                             "Set-Cookie: admin=1; Path=/admin\r\n"
                             "Set-Cookie: gone=1; Max-Age=0\r\n")
                self.wfile.write(f"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n{extra}\r\nok".encode())

            def log_message(self, *args) -> None:
                pass

        super().__init__(Handler)


def scenario(base_url: str, cookies: str = "") -> str:
    return f"""
[runtime]
prng_seed = 9
duration_seconds = 1
vus = 3
[target]
base_url = "{base_url}"
{cookies}
[lifecycle]
on_start = ["login"]
[[requests]]
name = "login"
method = "GET"
path = "/login"
headers = {{ X-User = "u${{vu}}" }}
weight = 0
[[requests]]
name = "plain"
method = "GET"
path = "/api"
headers = {{ X-User = "u${{vu}}" }}
[[requests]]
name = "own"
method = "GET"
path = "/own"
headers = {{ X-User = "u${{vu}}", Cookie = "mine=1" }}
[[requests]]
name = "admin"
method = "GET"
path = "/admin/${{random.int(1,3)}}"
headers = {{ X-User = "u${{vu}}" }}
[think_time]
type = "constant"
duration_ms = 20
"""


def run(tmp_path, source: str):
    path = tmp_path / "cookies.toml"
    path.write_text(source)
    return z6.run_scenario(z6.load_scenario(str(path)), mode="live")


def test_each_vu_gets_its_own_session_back_on_the_paths_its_cookies_cover(tmp_path):
    with SessionServer() as server:
        result = run(tmp_path, scenario(server.base_url))
    assert result.summary.overall.failed == 0
    after_login = [(user, path, cookie) for user, path, cookie in server.log if path != "/login"]
    assert {path for _, path, _ in after_login} >= {"/api", "/own", "/admin/1", "/admin/2", "/admin/3"}
    for user, path, cookie in after_login:
        if path.startswith("/admin/"):
            assert cookie == f"admin=1; session=s-{user}"      # the longer path first
        elif path == "/own":
            assert cookie == "mine=1"                           # its own Cookie header alone
        else:
            assert cookie == f"session=s-{user}"
    assert all(cookie == "" for _, path, cookie in server.log if path == "/login")
    assert result.summary.overall.requests == len(server.log)


def test_cookies_false_sends_none(tmp_path):
    with SessionServer() as server:
        run(tmp_path, scenario(server.base_url, cookies="cookies = false"))
    assert len(server.log) > 6
    assert all(cookie == ("mine=1" if path == "/own" else "") for _, path, cookie in server.log)
