"""TLS in the live driver: nginx over HTTPS with test-made certificates, the
start-up probe's verification, mutual TLS, session resumption, and faults from
small servers that misbehave on purpose. Loopback only; every run is bounded."""

from __future__ import annotations

import datetime
import ipaddress
import pathlib
import socket
import ssl
import subprocess
import threading
import time

import numpy as np
import pytest

import z6
from z6.cli import main
from z6.events import ErrorCode, EventKind, outcome_mask

from .scenarios import request
from .servers import require_nginx, start_nginx, stop_z6, z6_child

trustme = pytest.importorskip("trustme")

pytestmark = pytest.mark.live

CONN_TLS_FULL, CONN_TLS_RESUMED = 1, 2   # conn_established's status over TLS


def scenario_text(base_url: str, requests: str, *, vus: int = 2, duration_s: float = 0.5, think_ms: float = 0,
                  target_extra: str = "") -> str:
    return f"""
[metadata]
name = "tls-test"
[runtime]
duration_seconds = {duration_s}
vus = {vus}
prng_seed = 7
graceful_stop_seconds = 5
[target]
base_url = "{base_url}"
connection_timeout_ms = 2000
{target_extra}
{requests}
[think_time]
type = "constant"
duration_ms = {think_ms}
"""


MIX = request("get", "/items", weight=3) + request("post", "/form", method="POST", body='{"q": 1}')


def run_live(text: str, tmp_path: pathlib.Path) -> tuple[z6.RunResult, np.ndarray]:
    path = tmp_path / "scenario.toml"
    path.write_text(text)
    chunks: list[np.ndarray] = []
    result = z6.run_scenario(z6.load_scenario(str(path)), consumers=[lambda c: chunks.append(c.copy())])
    return result, np.concatenate(chunks) if chunks else np.zeros(0, z6.EVENT_DTYPE)


def engine_events(text: str, tmp_path: pathlib.Path) -> np.ndarray:
    """Straight to the engine, without the start-up probe: these targets fail on purpose."""
    from z6.live import resolve_target
    from z6.runner import make_engine

    path = tmp_path / "scenario.toml"
    path.write_text(text)
    scenario = z6.load_scenario(str(path))
    engine = make_engine(z6.compile_plan(scenario), resolve_target(scenario))
    chunks = []
    while not engine.finished:
        out = np.empty(4096, z6.EVENT_DTYPE)
        chunks.append(out[: engine.fill(out)].copy())
    return np.concatenate(chunks)


def outcomes(events: np.ndarray) -> np.ndarray:
    return events[outcome_mask(events["kind"])]


def assert_well_formed(events: np.ndarray) -> None:
    issued = events[events["kind"] == EventKind.REQUEST_ISSUED]
    done = outcomes(events)
    key = lambda e: sorted(zip(e["vu_id"].tolist(), e["seq"].tolist()))
    assert key(issued) == key(done)


@pytest.fixture(scope="module")
def ca():
    return trustme.CA()


@pytest.fixture(scope="module")
def pki(ca, tmp_path_factory):
    """PEM files: the CA, a server certificate for 127.0.0.1/localhost, one for
    another name only, an expired one, a self-signed one, and a client certificate."""
    d = tmp_path_factory.mktemp("pki")
    ca.cert_pem.write_to_path(d / "ca.pem")
    ca.issue_cert("127.0.0.1", "localhost").private_key_and_cert_chain_pem.write_to_path(d / "server.pem")
    ca.issue_cert("other.example").private_key_and_cert_chain_pem.write_to_path(d / "other.pem")
    past = datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(days=2)
    ca.issue_cert("127.0.0.1", not_before=past - datetime.timedelta(days=1),
                  not_after=past).private_key_and_cert_chain_pem.write_to_path(d / "expired.pem")
    client = ca.issue_cert("z6-client@example.org")
    client.cert_chain_pems[0].write_to_path(d / "client.crt")
    client.private_key_pem.write_to_path(d / "client.key")
    _self_signed(d / "self.pem")
    return d


def _self_signed(path: pathlib.Path) -> None:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(days=1))
            .not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
                           critical=False)
            .sign(key, hashes.SHA256()))
    path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                       serialization.NoEncryption()) + cert.public_bytes(serialization.Encoding.PEM))


def tls_nginx(tmp_path, pki, cert="server.pem", **kwargs):
    require_nginx()
    return start_nginx(tmp_path, cert=pki / cert, **kwargs)


# ---------------------------------------------------------------- nginx over HTTPS


def test_request_count_equals_nginxs_log_and_each_vu_keeps_one_tls_connection(tmp_path, pki):
    with tls_nginx(tmp_path, pki) as server:
        result, events = run_live(scenario_text(server.base_url, MIX, vus=4, duration_s=1.0,
                                                target_extra=f'ca_file = "{pki / "ca.pem"}"'), tmp_path)
    assert_well_formed(events)
    lines = server.log_lines()
    issued = events[events["kind"] == EventKind.REQUEST_ISSUED]
    received = events[events["kind"] == EventKind.RESPONSE_RECEIVED]
    assert len(issued) > 50 and len(received) == len(issued) and np.all(received["status"] == 200)
    assert len(lines) == len(issued) == result.summary.overall.requests
    assert {line[0] for line in lines} == {"GET", "POST"}
    assert sum(line[0] == "POST" for line in lines) == (issued["request"] == 1).sum()
    # One TLS connection per VU for the whole run, as nginx saw them too.
    established = events[events["kind"] == EventKind.CONN_ESTABLISHED]
    assert len(established) == 4 and np.all(established["status"] == CONN_TLS_FULL)
    assert len({line[4] for line in lines}) == 4
    assert all(line[6] == "TLSv1.3" for line in lines)
    # conn_established holds TCP connect plus handshake.
    assert np.all(established["value_ns"] > 0)


def test_bytes_over_tls_are_the_http_bytes_nginx_counted(tmp_path, pki):
    # Inside TLS: nginx's $request_length and $bytes_sent are the HTTP bytes, as z6's.
    with tls_nginx(tmp_path, pki, log_bytes=True) as server:
        result, _ = run_live(scenario_text(server.base_url, MIX, vus=2, duration_s=0.5,
                                           target_extra=f'ca_file = "{pki / "ca.pem"}"'), tmp_path)
    lines = server.log_lines()
    t = result.stats.transfer
    assert len(lines) == result.summary.overall.requests > 10
    # nginx's `return` discards a request body unread into $request_length: the
    # POSTs' 8-byte bodies ('{"q": 1}') are added back.
    posts = sum(line[0] == "POST" for line in lines)
    assert t.total_sent == sum(int(line[-2]) for line in lines) + 8 * posts
    assert t.total_received == sum(int(line[-1]) for line in lines)
    assert t.sent[1] == sum(int(line[-2]) for line in lines if line[0] == "POST") + 8 * posts


@pytest.mark.parametrize("resume", [True, False])
def test_forced_reconnects_resume_the_tls_session_unless_turned_off(tmp_path, pki, resume):
    # nginx closes each connection after 5 requests: the VUs reconnect, and
    # resume their sessions (nginx logs "r") unless tls_resume = false.
    extra = f'ca_file = "{pki / "ca.pem"}"' + ("" if resume else "\ntls_resume = false")
    with tls_nginx(tmp_path, pki, keepalive_requests=5) as server:
        result, events = run_live(scenario_text(server.base_url, request("r", "/"), vus=3, duration_s=0.6,
                                                think_ms=2, target_extra=extra), tmp_path)
    assert_well_formed(events)
    assert result.summary.overall.failed == 0
    lines = server.log_lines()
    established = events[events["kind"] == EventKind.CONN_ESTABLISHED]
    assert len(established) >= 6
    connections = {line[4] for line in lines}
    assert len(connections) == len(established)
    reused_connections = {line[4] for line in lines if line[5] == "r"}
    if resume:
        # Every connection after a VU's first resumed its session.
        assert len(reused_connections) == len(established) - 3
        assert (established["status"] == CONN_TLS_RESUMED).sum() == len(established) - 3
    else:
        assert not reused_connections and np.all(established["status"] == CONN_TLS_FULL)


def test_tls_1_2_and_a_minimum_version_the_server_does_not_offer(tmp_path, pki):
    ca_line = f'ca_file = "{pki / "ca.pem"}"'
    with tls_nginx(tmp_path, pki, tls_protocols="TLSv1.2") as server:
        result, _ = run_live(scenario_text(server.base_url, request("r", "/"), duration_s=0.3,
                                           target_extra=ca_line), tmp_path)
        assert result.summary.overall.requests > 0 and result.summary.overall.failed == 0
        assert all(line[6] == "TLSv1.2" for line in server.log_lines())
        text = scenario_text(server.base_url, request("r", "/"), duration_s=0.2,
                             target_extra=ca_line + '\ntls_min_version = "1.3"')
        events = engine_events(text, tmp_path)
        (tmp_path / "scenario.toml").write_text(text)
        from z6.cli import main as cli
        assert cli(["run", str(tmp_path / "scenario.toml"), "--quiet"]) == 3
    done = outcomes(events)
    assert len(done) >= 2
    assert np.all(done["kind"] == EventKind.ERROR_TLS) and np.all(done["error"] == ErrorCode.TLS_VERSION)


# ---------------------------------------------------------------- verification


def test_an_untrusted_certificate_stops_the_run_before_any_traffic(tmp_path, pki, capsys):
    with tls_nginx(tmp_path, pki, cert="self.pem") as server:
        (tmp_path / "s.toml").write_text(scenario_text(server.base_url, request("r", "/"), duration_s=0.3))
        code = main(["run", str(tmp_path / "s.toml"), "--out", str(tmp_path / "out")])
        err = capsys.readouterr().err
    assert code == 3
    assert "self-signed certificate" in err and "ca_file" in err and "Traceback" not in err
    assert server.requests_logged() == 0 and not (tmp_path / "out").exists()


def test_a_certificate_for_another_host_stops_the_run_and_the_driver_classifies_it(tmp_path, pki, capsys):
    ca_line = f'ca_file = "{pki / "ca.pem"}"'
    with tls_nginx(tmp_path, pki, cert="other.pem") as server:
        text = scenario_text(server.base_url, request("r", "/"), duration_s=0.3, think_ms=20, target_extra=ca_line)
        (tmp_path / "s.toml").write_text(text)
        code = main(["run", str(tmp_path / "s.toml")])
        err = capsys.readouterr().err
        events = engine_events(text, tmp_path)
    assert code == 3 and "mismatch" in err.lower()
    # the hint is one that can help: a CA file cannot make a certificate fit another name
    assert "is not for 127.0.0.1: use the name it was issued for" in err and "trust it with" not in err
    done = outcomes(events)
    assert len(done) >= 2
    assert np.all(done["kind"] == EventKind.ERROR_TLS) and np.all(done["error"] == ErrorCode.TLS_HOSTNAME)
    assert (events["kind"] == EventKind.VU_COMPLETE).sum() == 2       # the VUs carried on to the end


def test_an_expired_certificate_stops_the_run_with_a_hint_that_can_help(tmp_path, pki, capsys):
    # The run trusts the CA already: "trust it with target.ca_file" (the hint
    # once given for every failure) cannot cure an expired certificate.
    with tls_nginx(tmp_path, pki, cert="expired.pem") as server:
        (tmp_path / "s.toml").write_text(scenario_text(server.base_url, request("r", "/"), duration_s=0.3,
                                                       target_extra=f'ca_file = "{pki / "ca.pem"}"'))
        code = main(["run", str(tmp_path / "s.toml")])
        err = capsys.readouterr().err
    assert code == 3 and "certificate has expired" in err
    assert "renew it, or set target.insecure = true" in err and "trust it with" not in err
    assert server.requests_logged() == 0


def test_the_driver_names_a_self_signed_certificate(tmp_path, pki):
    with tls_nginx(tmp_path, pki, cert="self.pem") as server:
        events = engine_events(scenario_text(server.base_url, request("r", "/"), duration_s=0.2, think_ms=20),
                               tmp_path)
    done = outcomes(events)
    assert len(done) >= 2 and np.all(done["error"] == ErrorCode.TLS_SELF_SIGNED)


def test_insecure_passes_an_untrusted_certificate_with_a_warning(tmp_path, pki, capsys):
    with tls_nginx(tmp_path, pki, cert="self.pem") as server:
        (tmp_path / "s.toml").write_text(scenario_text(server.base_url, request("r", "/"), duration_s=0.3,
                                                       target_extra="insecure = true"))
        code = main(["run", str(tmp_path / "s.toml"), "--out", str(tmp_path / "out")])
        out = capsys.readouterr().out
    assert code == 0
    assert "WARNING" in out and "insecure" in out
    import json
    document = json.loads((tmp_path / "out" / "summary.json").read_text())
    assert any("insecure" in w for w in document["warnings"])
    assert document["summary"]["requests"] == server.requests_logged() > 0
    # The warning is the log's too: the summary recomputed from it carries it.
    assert main(["replay", str(tmp_path / "out"), "--metrics-only", "--json"]) == 0
    recomputed = json.loads(capsys.readouterr().out)
    assert any("insecure" in w for w in recomputed["warnings"])


# ---------------------------------------------------------------- mutual TLS


def test_mutual_tls_with_and_without_a_client_certificate(tmp_path, pki):
    ca_line = f'ca_file = "{pki / "ca.pem"}"'
    with tls_nginx(tmp_path, pki, client_ca=pki / "ca.pem") as server:
        with_cert, events = run_live(scenario_text(
            server.base_url, request("r", "/"), duration_s=0.3,
            target_extra=f'{ca_line}\nclient_cert = "{pki / "client.crt"}"\nclient_key = "{pki / "client.key"}"'),
            tmp_path)
        without, events_without = run_live(scenario_text(server.base_url, request("r", "/"), duration_s=0.3,
                                                         target_extra=ca_line), tmp_path)
    got = outcomes(events)
    assert len(got) > 0 and np.all(got["status"] == 200)
    # nginx answers a request without the required certificate with 400.
    refused = outcomes(events_without)
    assert len(refused) > 0 and np.all(refused["status"] == 400)
    assert without.summary.overall.failed == len(refused)


# ---------------------------------------------------------------- faults


class _FaultServer:
    """Accepts TLS clients and misbehaves: ``mode`` is "reset" (RST after the
    ClientHello), "garbage" (bytes that are not TLS instead of a ServerHello),
    "stall" (reads the ClientHello, answers nothing), "truncate" (a real TLS
    server that sends half a body, then closes without close_notify), or
    "alert" (a TLS alert in answer to a plain HTTP request)."""

    def __init__(self, mode: str, cert: pathlib.Path | None = None) -> None:
        self.mode = mode
        self.context = None
        if cert is not None:
            self.context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            self.context.load_cert_chain(cert)
        self._listener = socket.create_server(("127.0.0.1", 0))
        self._listener.settimeout(0.1)
        self.port = self._listener.getsockname()[1]
        self._stop = False
        self._held: list[socket.socket] = []
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop:
            try:
                conn, _ = self._listener.accept()
            except (TimeoutError, socket.timeout):
                continue
            except OSError:
                return
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _serve(self, conn: socket.socket) -> None:
        conn.settimeout(5)
        try:
            if self.mode == "truncate":
                assert self.context is not None
                tls = self.context.wrap_socket(conn, server_side=True)
                tls.recv(65536)
                tls.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n" + b"x" * 10)
                time.sleep(0.01)
                tls.close()                                     # no close_notify: SSL_free, close
                return
            if self.mode == "alert":
                conn.recv(65536)                                # a plain HTTP request
                conn.sendall(b"\x15\x03\x01\x00\x02\x02\x50")       # fatal alert: internal_error
                time.sleep(0.05)
                conn.close()
                return
            conn.recv(65536)                                    # the ClientHello
            if self.mode == "reset":
                conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
                conn.close()
            elif self.mode == "garbage":
                conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
                time.sleep(0.05)
                conn.close()
            else:
                self._held.append(conn)
        except (OSError, ssl.SSLError):
            conn.close()

    def close(self) -> None:
        self._stop = True
        self._listener.close()
        self._thread.join(2)
        for c in self._held:
            c.close()


@pytest.mark.parametrize("mode, kind, error", [
    ("reset", EventKind.ERROR_TLS, ErrorCode.CONN_RESET),
    ("garbage", EventKind.ERROR_TLS, ErrorCode.TLS_NOT_TLS),
    ("stall", EventKind.ERROR_TIMEOUT, ErrorCode.CONNECT_TIMEOUT),
])
def test_handshake_faults_are_classified_and_the_vus_carry_on(tmp_path, mode, kind, error):
    server = _FaultServer(mode)
    try:
        text = scenario_text(f"https://127.0.0.1:{server.port}", request("r", "/"), duration_s=0.5, think_ms=10)
        if mode == "stall":
            # Only the stall waits for the connect timeout; the other faults come at once,
            # and a loaded machine must not turn them into timeouts.
            text = text.replace("connection_timeout_ms = 2000", "connection_timeout_ms = 100")
        events = engine_events(text, tmp_path)
    finally:
        server.close()
    assert_well_formed(events)
    done = outcomes(events)
    assert len(done) >= 2 * 2
    assert np.all(done["kind"] == kind) and np.all(done["error"] == error), (done["kind"], done["error"])
    if mode == "stall":
        assert np.all(done["value_ns"] >= 100_000_000)
    assert (events["kind"] == EventKind.VU_COMPLETE).sum() == 2


def test_a_close_without_close_notify_mid_body_is_a_closed_connection(tmp_path, pki):
    server = _FaultServer("truncate", cert=pki / "server.pem")
    try:
        events = engine_events(scenario_text(f"https://127.0.0.1:{server.port}", request("r", "/"), duration_s=0.4,
                                             think_ms=10, target_extra=f'ca_file = "{pki / "ca.pem"}"'), tmp_path)
    finally:
        server.close()
    done = outcomes(events)
    assert len(done) >= 2
    assert np.all(done["kind"] == EventKind.ERROR_TCP) and np.all(done["error"] == ErrorCode.CONN_CLOSED)


def test_a_tls_server_on_an_http_target_is_classified(tmp_path, pki):
    # A TLS server answers a plain HTTP request with an alert record.
    server = _FaultServer("alert")
    try:
        events = engine_events(scenario_text(f"http://127.0.0.1:{server.port}", request("r", "/"), duration_s=0.3,
                                             think_ms=10), tmp_path)
    finally:
        server.close()
    done = outcomes(events)
    assert len(done) >= 2
    assert np.all(done["kind"] == EventKind.ERROR_TLS) and np.all(done["error"] == ErrorCode.TLS_ON_PLAIN_PORT)


# ---------------------------------------------------------------- scale-out


@pytest.mark.slow
def test_two_local_workers_over_https_issue_what_nginx_logged(tmp_path, pki):
    with tls_nginx(tmp_path, pki) as server:
        text = scenario_text(server.base_url, MIX, vus=6, duration_s=1.0, think_ms=5,
                             target_extra=f'ca_file = "{pki / "ca.pem"}"')
        path = tmp_path / "scenario.toml"
        path.write_text(text)
        chunks: list[np.ndarray] = []
        result = z6.run_scenario(z6.load_scenario(str(path)), consumers=[lambda c: chunks.append(c.copy())],
                                 workers=2)
    events = np.concatenate(chunks)
    assert_well_formed(events)
    issued = events[events["kind"] == EventKind.REQUEST_ISSUED]
    assert len(issued) > 50 and result.summary.overall.failed == 0
    assert len(server.log_lines()) == len(issued)
    assert result.summary.connections is not None and result.summary.connections.tls_full == 6


def test_a_plain_http_server_on_an_https_target(tmp_path, nginx, capsys):
    # nginx without ssl: the probe's handshake fails (exit 3, before traffic),
    # and the driver classifies every attempt as not TLS.
    text = scenario_text(nginx.base_url.replace("http://", "https://"), request("r", "/"), duration_s=0.2,
                         think_ms=20)
    (tmp_path / "s.toml").write_text(text)
    assert main(["run", str(tmp_path / "s.toml")]) == 3
    err = capsys.readouterr().err
    assert "TLS handshake failed" in err and "Traceback" not in err
    assert "is it plain HTTP on this port? then use an http:// base_url" in err   # OpenSSL's reason, explained
    events = engine_events(text, tmp_path)
    done = outcomes(events)
    assert len(done) >= 2
    assert np.all(done["kind"] == EventKind.ERROR_TLS) and np.all(done["error"] == ErrorCode.TLS_NOT_TLS)


def test_z6_serve_tls_writes_the_certificate_clients_trust(tmp_path):
    from z6.serve import BuiltinTarget

    with BuiltinTarget(tls=True) as server:
        assert server.base_url.startswith("https://127.0.0.1:")
        context = ssl.create_default_context(cafile=server.ca_file)
        context.set_alpn_protocols(["http/1.1"])
        for host in ("127.0.0.1", "localhost"):
            with socket.create_connection(("127.0.0.1", server.port), timeout=5) as sock:
                with context.wrap_socket(sock, server_hostname=host) as tls:
                    assert tls.selected_alpn_protocol() == "http/1.1"
                    tls.sendall(b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
                    assert tls.recv(100).startswith(b"HTTP/1.1 200")
    assert main(["serve", "--cert-file", str(tmp_path / "c.pem")]) == 2


def test_z6_serve_tls_prints_the_certificate_to_a_pipe(tmp_path):
    # --cert-file - (or a FIFO): the server loads the certificate from its private
    # directory and copies it out; loading it back from the pipe could not work.
    ready = tmp_path / "ready"
    with z6_child("serve", "--tls", "--port", "0", "--ready-file", str(ready), "--cert-file", "-",
                  text=False) as process:
        watchdog = threading.Timer(30, process.kill)  # no certificate on stdout: fail, never hang
        watchdog.start()
        try:
            lines = []
            while not lines or lines[-1] != b"-----END CERTIFICATE-----\n":
                line = process.stdout.readline()
                assert line, process.communicate()
                lines.append(line)
            pem = b"".join(lines[lines.index(b"-----BEGIN CERTIFICATE-----\n"):]).decode()
            port = int(_wait_for_ready_file(ready, process, 10))  # the certificate is made before the server listens
            context = ssl.create_default_context(cadata=pem)
            with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
                with context.wrap_socket(sock, server_hostname="localhost") as tls:
                    tls.sendall(b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
                    assert tls.recv(100).startswith(b"HTTP/1.1 200")
            out, err = stop_z6(process)
        finally:
            watchdog.cancel()
    assert process.returncode == 0 and err == b"", err
    assert b"certificate for 127.0.0.1, ::1 and localhost in standard output" in b"".join(lines) + out


def test_z6_serve_tls_takes_a_close_notify_quietly(tmp_path):
    # A client's close_notify with a reply still due: TLS cannot stay half-open in
    # asyncio, so the connection ends, the request is logged without a status, and
    # nothing is printed (asking asyncio to keep it open logged a warning on stderr).
    ready, cert, log = tmp_path / "ready", tmp_path / "cert.pem", tmp_path / "access.log"
    with z6_child("serve", "--tls", "--port", "0", "--ready-file", str(ready), "--cert-file", str(cert),
                  "--access-log", str(log), text=False, stdout=subprocess.DEVNULL) as process:
        port = int(_wait_for_ready_file(ready, process, 20))
        context = ssl.create_default_context(cafile=str(cert))
        with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
            tls = context.wrap_socket(sock, server_hostname="localhost")
            tls.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
            assert tls.recv(1000).startswith(b"HTTP/1.1 200")
            tls.sendall(b"GET /delay/2s HTTP/1.1\r\nHost: x\r\n\r\n")
            try:
                tls.unwrap()   # close_notify sent; the server answers with its own, or just closes
            except (ssl.SSLError, OSError):
                pass
        deadline = time.monotonic() + 10
        while "/delay/2s" not in log.read_text():
            assert time.monotonic() < deadline, log.read_text()
            time.sleep(0.01)
        _, err = stop_z6(process)
    assert process.returncode == 0 and err == b"", err
    assert log.read_text().splitlines() == ["GET / 200 3", "GET /delay/2s - 0"]


def _wait_for_ready_file(ready: pathlib.Path, process, timeout_s: float) -> str:
    deadline = time.monotonic() + timeout_s
    while not ready.exists():
        assert process.poll() is None and time.monotonic() < deadline, process.communicate()
        time.sleep(0.01)
    return ready.read_text()


@pytest.mark.parametrize("sent", [b"", b"\x16\x03"], ids=["silent", "partial-client-hello"])
def test_z6_serve_tls_closes_a_handshake_that_stalls_after_the_header_timeout(sent):
    # Slowloris in the handshake: the header timeout covers it too (asyncio's own is 60 s).
    from z6.serve import BuiltinTarget

    with BuiltinTarget(tls=True, header_timeout_s=0.5) as server:
        with socket.create_connection(("127.0.0.1", server.port), timeout=10) as sock:
            started = time.monotonic()
            if sent:
                sock.sendall(sent)
            assert sock.recv(100) == b""          # closed by the server, not by our timeout
            assert time.monotonic() - started < 5
