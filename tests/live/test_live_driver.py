"""The live HTTP driver against z6's built-in target: counts, faults, framing,
determinism, stopping. Loopback only; every run is bounded in time and VUs."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

import z6
import z6core
from z6._child_env import child_environment
from z6.events import ErrorCode, EventKind, outcome_mask
from z6.serve import BuiltinTarget

from conftest import wait_until

from .scenarios import request


pytestmark = pytest.mark.live


@pytest.fixture(scope="module")
def target(tmp_path_factory):
    log = tmp_path_factory.mktemp("serve") / "access.log"
    with BuiltinTarget(access_log=log) as server:
        yield server


def scenario_text(base_url: str, requests: str, *, vus: int = 2, duration_s: float = 0.5,
                  think_ms: float = 0, extra: str = "") -> str:
    return f"""
[metadata]
name = "live-test"
[runtime]
duration_seconds = {duration_s}
vus = {vus}
prng_seed = 7
graceful_stop_seconds = 5
{extra}
[target]
base_url = "{base_url}"
{requests}
[think_time]
type = "constant"
duration_ms = {think_ms}
"""


def run_live(text: str, **overrides) -> tuple[z6.RunResult, np.ndarray]:
    scenario = z6.parse_scenario(text, source="live-test.toml")
    chunks: list[np.ndarray] = []
    result = z6.run_scenario(scenario, consumers=[lambda c: chunks.append(c.copy())], **overrides)
    events = np.concatenate(chunks) if chunks else np.zeros(0, z6.EVENT_DTYPE)
    return result, events


def outcomes(events: np.ndarray) -> np.ndarray:
    return events[outcome_mask(events["kind"])]


def log_lines(server: BuiltinTarget) -> int:
    """Lines in the server's access log so far (it writes them once per event-loop turn)."""
    return len(Path(server.access_log).read_text().splitlines())


def assert_well_formed(events: np.ndarray) -> None:
    """Every request has exactly one outcome with its seq; the stream is ordered."""
    order = np.lexsort((events["vu_id"], events["tick"]))
    assert np.array_equal(order, np.arange(len(events))), "events ordered by (tick, vu_id)"
    issued = events[events["kind"] == EventKind.REQUEST_ISSUED]
    done = outcomes(events)
    assert len(issued) == len(done)
    key = lambda e: sorted(zip(e["vu_id"].tolist(), e["seq"].tolist(), e["request"].tolist()))
    assert key(issued) == key(done)


WEIGHTED_MIX = (request("get", "/api/items", weight=3)
                + request("post", "/echo", method="POST", weight=1, body='{"qty": 1}')
                + request("big", "/bytes/200000", weight=1))


def assert_counts_match(result: z6.RunResult, events: np.ndarray, logged: int) -> None:
    assert result.mode == "live"
    assert_well_formed(events)
    issued = events[events["kind"] == EventKind.REQUEST_ISSUED]
    received = events[events["kind"] == EventKind.RESPONSE_RECEIVED]
    assert len(issued) > 50 and len(received) == len(issued)
    assert np.all(received["status"] == 200)
    assert logged == len(issued) == result.summary.overall.requests
    counts = np.bincount(issued["request"], minlength=3)
    assert counts[0] > counts[1] and counts[0] > counts[2]   # weights 3:1:1
    assert counts[1] > 0 and counts[2] > 0


def test_request_count_equals_the_builtin_targets_log_for_a_weighted_mix(tmp_path):
    with BuiltinTarget(access_log=tmp_path / "access.log") as server:
        result, events = run_live(scenario_text(server.base_url, WEIGHTED_MIX, vus=4, duration_s=1.0))
    # Stopped: every line is written.
    assert_counts_match(result, events, len((tmp_path / "access.log").read_text().splitlines()))


def test_request_count_equals_nginxs_log_for_a_weighted_mix(nginx):
    mix = WEIGHTED_MIX.replace("/bytes/200000", "/big").replace("/echo", "/form")
    result, events = run_live(scenario_text(nginx.base_url, mix, vus=4, duration_s=1.0))
    nginx.stop()
    assert_counts_match(result, events, nginx.requests_logged())


@pytest.mark.slow
def test_a_thousand_vus_against_nginx_for_five_seconds(nginx):
    result, events = run_live(scenario_text(nginx.base_url, request("r", "/"), vus=1000, duration_s=5,
                                            think_ms=100))
    assert_well_formed(events)
    issued = events[events["kind"] == EventKind.REQUEST_ISSUED]
    assert len(np.unique(issued["vu_id"])) == 1000           # every VU active
    assert (events["kind"] == EventKind.VU_COMPLETE).sum() == 1000
    done = outcomes(events)
    assert np.all(done["kind"] == EventKind.RESPONSE_RECEIVED) and np.all(done["status"] == 200)  # no errors
    assert result.summary.overall.failed == 0
    nginx.stop()
    assert nginx.requests_logged() == len(issued)


@pytest.mark.parametrize("path, kind, error, status", [
    ("/status/503", EventKind.RESPONSE_RECEIVED, ErrorCode.NONE, 503),
    ("/reset", EventKind.ERROR_TCP, ErrorCode.CONN_RESET, 0),
    ("/malformed", EventKind.ERROR_PROTOCOL_VIOLATION, ErrorCode.PROTOCOL, 0),
    ("/truncated", EventKind.ERROR_TCP, ErrorCode.CONN_CLOSED, 0),
    ("/huge-headers", EventKind.ERROR_RESOURCE_EXHAUSTED, ErrorCode.RESOURCE_EXHAUSTED, 0),
    ("/delay/300ms", EventKind.REQUEST_TIMEOUT, ErrorCode.TIMEOUT, 0),
])
def test_fault_routes_are_classified_and_the_vu_carries_on(target, path, kind, error, status):
    text = scenario_text(target.base_url, request("fault", path, timeout_ms=100) + request("ok", "/", weight=1),
                         vus=2, duration_s=0.6, think_ms=5)
    result, events = run_live(text)
    assert_well_formed(events)
    faults = outcomes(events)[outcomes(events)["request"] == 0]
    assert len(faults) >= 2
    assert np.all(faults["kind"] == kind) and np.all(faults["error"] == error) and np.all(faults["status"] == status)
    # The VUs went on issuing after the faults, and succeeded on the healthy route.
    ok = events[(events["kind"] == EventKind.RESPONSE_RECEIVED) & (events["request"] == 1)]
    assert len(ok) >= 2
    for vu in np.unique(faults["vu_id"]):
        assert events[(events["vu_id"] == vu) & (events["kind"] == EventKind.REQUEST_ISSUED)]["seq"].max() >= 1
    assert result.summary.per_request["fault"].failed == len(faults)


@pytest.mark.parametrize("path, method", [
    ("/chunked/20?size=3000", "GET"),
    ("/status/204", "GET"),
    ("/http10", "GET"),
    ("/close", "GET"),
    ("/bytes/3000000", "GET"),
    ("/trickle", "GET"),
    ("/slow-body/4000?delay=20ms", "GET"),
    ("/bytes/5000", "HEAD"),
])
def test_framings_parse_as_responses(target, path, method):
    text = scenario_text(target.base_url, request("r", path, method=method, timeout_ms=10_000), vus=2,
                         duration_s=0.4)
    result, events = run_live(text)
    assert_well_formed(events)
    done = outcomes(events)
    assert len(done) >= 2
    assert np.all(done["kind"] == EventKind.RESPONSE_RECEIVED), np.unique(done["kind"])
    assert np.all(done["status"] == (204 if "204" in path else 200))


@pytest.fixture(scope="module")
def tls_target(tmp_path_factory):
    log = tmp_path_factory.mktemp("serve-tls") / "access.log"
    with BuiltinTarget(access_log=log, tls=True) as server:
        yield server


def over_tls(text: str, server: BuiltinTarget) -> str:
    return text.replace(f'base_url = "{server.base_url}"', f'base_url = "{server.base_url}"\nca_file = "{server.ca_file}"')


@pytest.mark.parametrize("path, method", [
    ("/chunked/20?size=3000", "GET"),
    ("/close", "GET"),
    ("/bytes/3000000", "GET"),
    ("/trickle", "GET"),
    ("/slow-body/4000?delay=20ms", "GET"),
    ("/bytes/5000", "HEAD"),
])
def test_framings_parse_as_responses_over_tls(tls_target, path, method):
    text = over_tls(scenario_text(tls_target.base_url, request("r", path, method=method, timeout_ms=10_000), vus=2,
                                  duration_s=0.4), tls_target)
    result, events = run_live(text)
    assert_well_formed(events)
    done = outcomes(events)
    assert len(done) >= 2
    assert np.all(done["kind"] == EventKind.RESPONSE_RECEIVED), np.unique(done["kind"])
    assert np.all(done["status"] == 200)
    established = events[events["kind"] == EventKind.CONN_ESTABLISHED]
    assert np.all(established["status"] >= 1)          # TLS handshakes


@pytest.mark.parametrize("path, kind, error", [
    ("/reset", EventKind.ERROR_TCP, ErrorCode.CONN_RESET),
    ("/truncated", EventKind.ERROR_TCP, ErrorCode.CONN_CLOSED),
    ("/malformed", EventKind.ERROR_PROTOCOL_VIOLATION, ErrorCode.PROTOCOL),
])
def test_fault_routes_over_tls_are_classified_and_the_vu_carries_on(tls_target, path, kind, error):
    text = over_tls(scenario_text(tls_target.base_url, request("fault", path, timeout_ms=1000)
                                  + request("ok", "/", weight=1), vus=2, duration_s=0.6, think_ms=5), tls_target)
    result, events = run_live(text)
    assert_well_formed(events)
    faults = outcomes(events)[outcomes(events)["request"] == 0]
    assert len(faults) >= 2
    assert np.all(faults["kind"] == kind) and np.all(faults["error"] == error), (faults["kind"], faults["error"])
    ok = events[(events["kind"] == EventKind.RESPONSE_RECEIVED) & (events["request"] == 1)]
    assert len(ok) >= 2


def test_the_builtin_target_over_https_with_nothing_else_to_configure(tmp_path, capsys):
    from z6.cli import main

    path = tmp_path / "s.toml"
    path.write_text(scenario_text("https://x", request("r", "/"), vus=2, duration_s=0.4).replace(
        'base_url = "https://x"', "builtin = true\ntls = true"))
    code = main(["run", str(path), "--out", str(tmp_path / "out")])
    out = capsys.readouterr().out
    assert code == 0, out
    assert "TLS handshakes: 2 full" in out
    import json
    document = json.loads((tmp_path / "out" / "summary.json").read_text())
    assert document["summary"]["requests"] > 0 and document["summary"]["failed"] == 0
    assert document["connections"]["tls_full"] == 2


def test_connection_close_reconnects_and_keep_alive_reuses(target):
    keep, keep_events = run_live(scenario_text(target.base_url, request("r", "/"), vus=1, duration_s=0.3))
    close, close_events = run_live(scenario_text(target.base_url, request("r", "/close"), vus=1, duration_s=0.3))
    n_keep = (keep_events["kind"] == EventKind.CONN_ESTABLISHED).sum()
    n_close = (close_events["kind"] == EventKind.CONN_ESTABLISHED).sum()
    assert n_keep == 1
    assert n_close == (close_events["kind"] == EventKind.REQUEST_ISSUED).sum() > 1
    established = close_events[close_events["kind"] == EventKind.CONN_ESTABLISHED]
    assert np.all(established["value_ns"] > 0)     # connect time is recorded


def test_each_vus_request_sequence_repeats_across_live_runs(target):
    reqs = (request("a", "/", weight=5) + request("b", "/delay/1ms", weight=3)
            + request("c", "/bytes/10", weight=2))
    text = scenario_text(target.base_url, reqs, vus=5, duration_s=0.5, extra="", think_ms=2)
    sequences = []
    for _ in range(2):
        result, events = run_live(text)
        issued = events[events["kind"] == EventKind.REQUEST_ISSUED]
        per_vu = {int(vu): issued[issued["vu_id"] == vu] for vu in np.unique(issued["vu_id"])}
        for vu, ev in per_vu.items():
            assert np.array_equal(ev["seq"], np.arange(len(ev)))
        # The core's own account of what each VU issues agrees with the traffic.
        ids = np.array(sorted(per_vu), dtype=np.uint32)
        counts = np.array([len(per_vu[v]) for v in ids])
        expected = z6core.expected_requests(result.plan, ids, counts)
        assert np.array_equal(np.concatenate([per_vu[v]["request"] for v in ids]), expected)
        sequences.append({v: per_vu[v]["request"].tolist() for v in per_vu})
    shared = min(len(s) for s in sequences[0].values())
    assert shared >= 5
    for vu in sequences[0]:
        n = min(len(sequences[0][vu]), len(sequences[1][vu]))
        assert sequences[0][vu][:n] == sequences[1][vu][:n]


def test_schedule_end_cancels_requests_in_flight_after_the_graceful_stop(target):
    text = scenario_text(target.base_url, request("slow", "/delay/2s", timeout_ms=10_000), vus=3, duration_s=0.2)
    text = text.replace("graceful_stop_seconds = 5", "graceful_stop_seconds = 0.1")
    started = time.monotonic()
    result, events = run_live(text)
    assert time.monotonic() - started < 1.5
    done = outcomes(events)
    assert len(done) == 3 and np.all(done["kind"] == EventKind.REQUEST_CANCELLED)
    assert np.all(done["error"] == ErrorCode.CANCELLED)
    assert (events["kind"] == EventKind.VU_COMPLETE).sum() == 3


def test_no_request_is_issued_after_a_vus_schedule_ends(target):
    text = scenario_text(target.base_url, request("r", "/delay/20ms"), vus=3, duration_s=0.3)
    result, events = run_live(text)
    issued = events[events["kind"] == EventKind.REQUEST_ISSUED]
    end_tick = int(result.plan.stop_ns.max() // result.plan.tick_ns)
    assert issued["tick"].max() < end_tick
    assert (events["kind"] == EventKind.VU_COMPLETE).sum() == 3


def _run_cli_process(args: list[str], **kwargs) -> subprocess.Popen:
    # The child imports z6 and z6core from where this process found them
    # (an installed package in CI, the checkout in development).
    env = child_environment()
    return subprocess.Popen([sys.executable, "-m", "z6.cli", *args], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=env, **kwargs)


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_a_stop_signal_prints_what_ran_marked_interrupted_and_exits_3(target, tmp_path, signum):
    sc = tmp_path / "long.toml"
    sc.write_text(scenario_text(target.base_url, request("r", "/delay/5ms"), vus=3, duration_s=60))
    before = log_lines(target)
    proc = _run_cli_process(["run", str(sc), "--json"])

    def under_way() -> bool:
        assert proc.poll() is None, proc.communicate()
        return log_lines(target) - before >= 30

    # Signalled once the run is under way: the target has answered its requests.
    wait_until(under_way, 60, what="the run's first 30 requests in the target's access log")
    proc.send_signal(signum)
    out, err = proc.communicate(timeout=20)
    assert proc.returncode == 3, err
    assert "interrupted" in err
    import json

    doc = json.loads(out)
    assert doc["run"]["interrupted"] is True and doc["run"]["status"] == "interrupted"
    assert doc["summary"]["requests"] > 10
    assert doc["verdict"]["result"] == "interrupted" and doc["verdict"]["passed"] is False


def test_an_interrupted_runs_summary_ends_interrupted(target, tmp_path):
    sc = tmp_path / "long.toml"
    sc.write_text(scenario_text(target.base_url, request("r", "/delay/5ms"), vus=3, duration_s=60))
    before = log_lines(target)
    proc = _run_cli_process(["run", str(sc), "--quiet"])
    wait_until(lambda: log_lines(target) - before >= 30, 60, what="the run's first 30 requests")
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=20)
    assert proc.returncode == 3, err
    # The verdict is on stdout, where the summary is read (and piped), not only on stderr.
    assert out.rstrip().splitlines()[-1].startswith("INTERRUPTED"), out
    assert "PASSED" not in out


def test_more_vus_than_descriptors_is_refused_before_any_traffic(tmp_path):
    import resource

    def low_limit():
        resource.setrlimit(resource.RLIMIT_NOFILE, (256, 256))

    # A target of its own: once stopped, its access log is complete.
    with BuiltinTarget(access_log=tmp_path / "access.log") as server:
        sc = tmp_path / "many.toml"
        sc.write_text(scenario_text(server.base_url, request("r", "/"), vus=500, duration_s=1))
        proc = _run_cli_process(["run", str(sc)], preexec_fn=low_limit)
        out, err = proc.communicate(timeout=30)
    assert proc.returncode == 2
    assert "500 VUs" in err and "256" in err and "ulimit" in err
    assert (tmp_path / "access.log").read_text() == ""


def _engine_events(text: str) -> tuple[z6.Plan, np.ndarray]:
    # Straight to the engine, without run_scenario's reachability check: these
    # targets are meant to fail.
    from z6.live import resolve_target
    from z6.runner import make_engine

    scenario = z6.parse_scenario(text, source="live-test.toml")
    plan = z6.compile_plan(scenario)
    engine = make_engine(plan, resolve_target(scenario))
    chunks = []
    while not engine.finished:
        out = np.empty(4096, z6.EVENT_DTYPE)
        chunks.append(out[: engine.fill(out)].copy())
    return plan, np.concatenate(chunks)


def test_refused_connections_are_counted_and_the_vus_keep_trying():
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    plan, events = _engine_events(scenario_text(f"http://127.0.0.1:{port}", request("r", "/"), vus=2,
                                                duration_s=0.3, think_ms=20))
    assert_well_formed(events)
    done = outcomes(events)
    assert len(done) >= 4
    assert np.all(done["kind"] == EventKind.ERROR_TCP) and np.all(done["error"] == ErrorCode.CONNECT_REFUSED)
    assert (events["kind"] == EventKind.VU_COMPLETE).sum() == 2


def _established(sock) -> bool:
    try:
        sock.getpeername()
    except OSError:
        return False
    return True


@pytest.mark.parametrize("connect_ms, request_ms", [(100, 5000), (5000, 150)],
                         ids=["the connect timeout first", "the request's timeout first"])
def test_a_connect_that_gets_no_answer_times_out(connect_ms, request_ms):
    import socket

    # A listener whose accept queue is full drops further SYNs: connects hang. A
    # request timeout that ends it first is a connect timeout too (once reported
    # as the server slow to answer a request it never took).
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(0)
    port = listener.getsockname()[1]
    fillers = []
    try:
        for _ in range(4):
            c = socket.socket()
            c.setblocking(False)
            c.connect_ex(("127.0.0.1", port))
            fillers.append(c)
        wait_until(lambda: any(_established(c) for c in fillers), 10, what="a filler connection in the accept queue")
        text = scenario_text(f"http://127.0.0.1:{port}", request("r", "/", timeout_ms=request_ms), vus=1,
                             duration_s=0.5, think_ms=10)
        text = text.replace("[target]\n", f"[target]\nconnection_timeout_ms = {connect_ms}\n")
        plan, events = _engine_events(text)
    finally:
        for c in fillers:
            c.close()
        listener.close()
    done = outcomes(events)
    assert len(done) >= 2
    timeouts = done[done["kind"] == EventKind.ERROR_TIMEOUT]
    assert len(timeouts) >= 2 and len(timeouts) == len(done)
    assert np.all(timeouts["error"] == ErrorCode.CONNECT_TIMEOUT)
    assert np.all(timeouts["value_ns"] >= min(connect_ms, request_ms) * 1_000_000)


@pytest.mark.skipif(z6core.DEBUG_BUILD, reason="the debug build traces Cython lines and calls for the profiler")
@pytest.mark.parametrize("tls", [False, True], ids=["http", "https"])
def test_the_live_loop_calls_python_per_fill_not_per_request(target, tls_target, tls):
    # Counted, not timed: every Python-level call while the live engine runs
    # (over TLS too: handshakes, reads and writes stay in C).
    from z6.live import resolve_target
    from z6.runner import make_engine

    server = tls_target if tls else target
    text = scenario_text(server.base_url, request("r", "/"), vus=20, duration_s=0.6)
    scenario = z6.parse_scenario(over_tls(text, server) if tls else text, source="live-test.toml")
    engine = make_engine(z6.compile_plan(scenario), resolve_target(scenario))
    buf = np.empty(1 << 20, z6.EVENT_DTYPE)
    calls = fills = 0

    def profiler(frame, event, arg):
        nonlocal calls
        if event in ("call", "c_call"):
            calls += 1

    sys.setprofile(profiler)
    try:
        while not engine.finished:
            engine.fill(buf)
            fills += 1
    finally:
        sys.setprofile(None)
    assert engine.requests_issued > 500
    assert fills <= 6             # one return per 250 ms at most, plus the last
    assert calls <= 5 * fills + 5


class _QuietCloser:
    """A keep-alive HTTP server that closes connections without saying so:
    after every response (``after_each``) or after ``idle_s`` without a request,
    as servers with idle timeouts do. Counts the requests it answered."""

    def __init__(self, *, after_each: bool = False, idle_s: float | None = None) -> None:
        import socket
        import threading

        self.after_each, self.idle_s = after_each, idle_s
        self.answered = 0
        self.connections_open = 0          # accepted and not yet closed
        self._lock = threading.Lock()
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port = self._listener.getsockname()[1]
        self._stop = False
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        import threading

        self._listener.settimeout(0.2)
        while not self._stop:
            try:
                conn, _ = self._listener.accept()
            except OSError:
                continue
            with self._lock:
                self.connections_open += 1
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _serve(self, conn) -> None:
        try:
            self._answer(conn)
        finally:
            with self._lock:
                self.connections_open -= 1

    def _answer(self, conn) -> None:
        buf = b""
        conn.settimeout(self.idle_s or 5)
        with conn:
            while not self._stop:
                try:
                    data = conn.recv(65536)
                except OSError:
                    return                          # idle too long: close without a word
                if not data:
                    return
                buf += data
                while b"\r\n\r\n" in buf:
                    head, buf = buf.split(b"\r\n\r\n", 1)
                    length = 0
                    for line in head.split(b"\r\n")[1:]:
                        if line.lower().startswith(b"content-length:"):
                            length = int(line.split(b":")[1])
                    buf = buf[length:]
                    conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
                    with self._lock:
                        self.answered += 1
                    if self.after_each:
                        return

    def close(self) -> None:
        self._stop = True
        self._listener.close()


def test_a_quietly_closed_keep_alive_connection_is_retried_for_safe_requests():
    server = _QuietCloser(after_each=True)
    try:
        plan, events = _engine_events(scenario_text(f"http://127.0.0.1:{server.port}", request("r", "/"), vus=4,
                                                    duration_s=0.5))
    finally:
        # The count is final once the server has closed every connection.
        wait_until(lambda: server.connections_open == 0, 10, what="the server to close its connections")
        server.close()
    done = outcomes(events)
    assert len(done) > 20
    # Every GET succeeded: a request that met a connection the server had closed
    # went out again on a fresh one, and the server saw each request once.
    assert np.all(done["kind"] == EventKind.RESPONSE_RECEIVED)
    assert server.answered == len(done)


def test_a_quietly_closed_connection_fails_a_request_that_is_not_safe_to_repeat():
    server = _QuietCloser(after_each=True)
    try:
        plan, events = _engine_events(scenario_text(f"http://127.0.0.1:{server.port}",
                                                    request("r", "/", method="POST", body="x"), vus=4,
                                                    duration_s=0.5))
    finally:
        # The count is final once the server has closed every connection.
        wait_until(lambda: server.connections_open == 0, 10, what="the server to close its connections")
        server.close()
    assert_well_formed(events)
    done = outcomes(events)
    failed = done[done["kind"] != EventKind.RESPONSE_RECEIVED]
    # POST is never sent twice; when it hits a dead connection it fails, classified.
    assert np.all(failed["kind"] == EventKind.ERROR_TCP)
    assert set(failed["error"].tolist()) <= {ErrorCode.CONN_CLOSED, ErrorCode.CONN_RESET}
    assert server.answered == (done["kind"] == EventKind.RESPONSE_RECEIVED).sum()


def test_connections_closed_by_an_idle_timeout_are_not_written_into():
    server = _QuietCloser(idle_s=0.03)
    try:
        plan, events = _engine_events(scenario_text(f"http://127.0.0.1:{server.port}",
                                                    request("r", "/", method="POST", body="x"), vus=3,
                                                    duration_s=0.8, think_ms=80))
    finally:
        server.close()
    done = outcomes(events)
    assert len(done) >= 15
    assert np.all(done["kind"] == EventKind.RESPONSE_RECEIVED)
    # Each request after the first found its connection closed while idle.
    idle_closes = events[(events["kind"] == EventKind.CONN_CLOSED) & (events["request"] == z6.events.NO_REQUEST)]
    assert len(idle_closes) >= len(done) - 2 * 3


def test_the_timer_heap_never_holds_more_than_one_timer_per_vu(target):
    from z6.live import resolve_target
    from z6.runner import make_engine

    scenario = z6.parse_scenario(scenario_text(target.base_url, request("r", "/", timeout_ms=3_600_000), vus=4,
                                               duration_s=0.6), source="live-test.toml")
    engine = make_engine(z6.compile_plan(scenario), resolve_target(scenario))
    buf = np.empty(256, z6.EVENT_DTYPE)
    seen = []
    while not engine.finished:
        engine.fill(buf)
        seen.append(engine.timers_pending)
    assert engine.requests_issued > 200       # many requests, each with an hour's timeout
    assert max(seen) <= 4


@pytest.mark.skipif(sys.platform != "linux" or __import__("platform").machine() != "x86_64",
                    reason="the seccomp filter below is written for x86_64 Linux")
def test_a_kernel_that_refuses_epoll_pwait2_falls_back_to_epoll_wait(target, tmp_path):
    # Some container runtimes' seccomp profiles answer EPERM for system calls
    # they do not know; the driver must fall back, not fail.
    script = tmp_path / "seccomp_run.py"
    script.write_text('''
import ctypes, struct, sys
libc = ctypes.CDLL(None, use_errno=True)
def ins(code, jt, jf, k): return struct.pack("HBBI", code, jt, jf, k)
EPOLL_PWAIT2 = 441
prog = (ins(0x20, 0, 0, 0) + ins(0x15, 0, 1, EPOLL_PWAIT2)
        + ins(0x06, 0, 0, 0x00050000 | 1) + ins(0x06, 0, 0, 0x7fff0000))
buf = ctypes.create_string_buffer(prog)
class Fprog(ctypes.Structure):
    _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.c_void_p)]
fp = Fprog(len(prog) // 8, ctypes.cast(buf, ctypes.c_void_p))
assert libc.prctl(38, 1, 0, 0, 0) == 0
assert libc.prctl(22, 2, ctypes.byref(fp), 0, 0) == 0
import z6.cli
sys.exit(z6.cli.main(sys.argv[1:]))
''')
    sc = tmp_path / "s.toml"
    sc.write_text(scenario_text(target.base_url, request("r", "/delay/2ms"), vus=2, duration_s=0.4, think_ms=5))
    env = child_environment()
    proc = subprocess.run([sys.executable, str(script), "run", str(sc), "--json", "--out", str(tmp_path / "run")],
                          capture_output=True, text=True, env=env, timeout=60)
    assert proc.returncode == 0, proc.stderr
    import json

    doc = json.loads(proc.stdout)
    assert doc["summary"]["requests"] > 20 and doc["summary"]["failed"] == 0


def test_a_base_url_path_prefix_is_sent_before_every_request_path(tmp_path):
    # base_url "http://host:port/api/v1/" (trailing slash and all): "/items?page=2"
    # goes out as "/api/v1/items?page=2", "/" as "/api/v1/".
    with BuiltinTarget(access_log=tmp_path / "access.log") as server:
        mix = request("items", "/items?page=2") + request("root", "/")
        result, events = run_live(scenario_text(f"{server.base_url}/api/v1/", mix, vus=2, duration_s=0.3))
    assert result.summary.overall.requests > 0
    targets = {line.split()[1] for line in (tmp_path / "access.log").read_text().splitlines()}
    assert targets == {"/api/v1/items?page=2", "/api/v1/"}


def test_the_lag_leaves_out_each_vus_first_request_and_few_requests_never_warn(target):
    # Every VU issues at least one request; each VU's first (its start-up) is not in the lag.
    result, events = run_live(scenario_text(target.base_url, request("r", "/"), vus=10, duration_s=0.3,
                                            think_ms=50))
    issued = events[events["kind"] == EventKind.REQUEST_ISSUED]
    assert np.unique(issued["vu_id"]).size == 10
    assert result.summary.lag.count == issued.size - 10 == int((issued["seq"] != 0).sum())
    # Under 500 requests: no lag warning, whatever the lag.
    assert result.summary.lag.count < 500 and not any("schedule lag" in w for w in result.summary.warnings)
