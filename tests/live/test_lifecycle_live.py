"""[lifecycle] against a server of the tests' own on loopback: every VU logs in
once before its first iteration and out once at the end, a VU whose login fails
runs nothing else, and `z6 replay --verify` accepts the on_stop requests that
the schedule's end started."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import numpy as np
import pytest

import z6
import z6.cli
from z6.events import ErrorCode, EventKind

pytestmark = pytest.mark.live

K = EventKind


class LoginServer:
    """/login answers 503 to the VUs in ``refuse`` (X-VU header), 200 to others;
    /api and /logout answer 200. Every request is logged as (vu, path)."""

    def __init__(self, refuse: set[int]) -> None:
        self.log: list[tuple[int, str]] = []
        lock = threading.Lock()
        log = self.log

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def _answer(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                if length:
                    self.rfile.read(length)
                vu = int(self.headers.get("X-VU", "0"))
                with lock:
                    log.append((vu, self.path))
                status = 503 if self.path == "/login" and vu in refuse else 200
                # One write for the whole answer (no delayed-ACK wait between two).
                self.wfile.write(f"HTTP/1.1 {status} X\r\nContent-Length: 2\r\n\r\nok".encode())

            do_GET = do_POST = _answer

            def log_message(self, *args) -> None:
                pass

        class Server(ThreadingHTTPServer):
            request_queue_size = 128     # every VU connects at once: no SYN left waiting for a retry

        self.server = Server(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def __enter__(self) -> "LoginServer":
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.server.server_close()


def scenario_text(base_url: str, runtime: str) -> str:
    header = 'headers = { "X-VU" = "${vu}" }'
    return f"""
[runtime]
prng_seed = 4
{runtime}
[target]
base_url = "{base_url}"
[[requests]]
name = "login"
method = "POST"
path = "/login"
body = "user=${{vu}}"
{header}
weight = 0
[[requests]]
name = "api"
method = "GET"
path = "/api"
{header}
[[requests]]
name = "logout"
method = "POST"
path = "/logout"
{header}
weight = 0
[lifecycle]
on_start = ["login"]
on_stop = ["logout"]
[think_time]
type = "constant"
duration_ms = 40
[assertions]
error_rate_max = 0.5
"""


@pytest.mark.parametrize("runtime", ["duration_seconds = 1.5\nvus = 8", "iterations = 5\nvus = 8"],
                         ids=["duration", "iterations"])
def test_each_vu_logs_in_once_first_and_out_once_last(tmp_path, runtime):
    with LoginServer(refuse={3}) as server:
        path = tmp_path / "lifecycle.toml"
        path.write_text(scenario_text(server.base_url, runtime))
        code = z6.cli.main(["run", str(path), "--quiet", "--out", str(tmp_path / "run")])
        assert code == 0
        log = list(server.log)
    by_vu: dict[int, list[str]] = {}
    for vu, p in log:
        by_vu.setdefault(vu, []).append(p)
    assert sorted(by_vu) == list(range(1, 9))
    assert by_vu[3] == ["/login"]                       # failed: no iteration, no logout
    for vu in set(by_vu) - {3}:
        paths = by_vu[vu]
        assert paths[0] == "/login" and paths[-1] == "/logout", (vu, paths)
        assert paths.count("/login") == 1 and paths.count("/logout") == 1
        assert set(paths[1:-1]) == {"/api"}
        if "iterations" in runtime:
            assert len(paths) == 7
    doc = json.loads((tmp_path / "run" / "summary.json").read_text())
    assert doc["summary"]["failed_vus"] == 1
    assert doc["requests"]["login"]["requests"] == 8 and doc["requests"]["logout"]["requests"] == 7
    events = z6.read_log(tmp_path / "run")
    chunks = np.concatenate(list(events.iter_chunks()))
    complete = chunks[chunks["kind"] == K.VU_COMPLETE]
    assert complete["vu_id"][complete["error"] == ErrorCode.ON_START_FAILED].tolist() == [3]
    # The server saw exactly the requests the log holds.
    assert int(np.count_nonzero(chunks["kind"] == K.REQUEST_ISSUED)) == len(log)
    # The logouts the schedule's end started are accepted, as are the rendered bytes.
    assert z6.cli.main(["replay", str(tmp_path / "run"), "--verify"]) == 0


def test_a_stop_through_the_handle_still_logs_out(tmp_path):
    with LoginServer(refuse=set()) as server:
        scenario = z6.parse_scenario(scenario_text(server.base_url, "duration_seconds = 60\nvus = 5"),
                                     source="lc.toml")
        run = z6.start(scenario)
        import time
        time.sleep(0.6)
        run.stop()
        result = run.result(timeout=30)
        log = list(server.log)
    assert result.status == "stopped"
    assert sorted(vu for vu, p in log if p == "/logout") == [1, 2, 3, 4, 5]
    assert result.summary.failed_vus == 0
