"""Servers the live tests start and stop themselves: nginx with its own config,
and `z6 serve` as a child process (`z6_child`, `stop_z6`).

    server = start_nginx(tmp_path)          # listening on 127.0.0.1:<free port>
    ...                                     # requests to server.base_url
    server.stop()
    assert server.requests_logged() == sent

nginx runs in the foreground (``daemon off``) as a child process, with its prefix,
pid file, error log, access log and temporary directories under the test's
directory. Every path and method gets ``body`` (request bodies are read and
discarded, of any size); keep-alive connections are never closed by nginx during
a test (``keepalive_requests`` and ``keepalive_timeout`` far above any test).
"""

from __future__ import annotations

import contextlib
import os
import pathlib
import shutil
import signal
import socket
import subprocess
import sys
import time
from typing import Any, Iterator, Optional

import pytest

__all__ = ["NGINX_PATHS", "find_nginx", "require_nginx", "free_port", "NginxServer", "start_nginx", "z6_child",
           "stop_z6"]

# /usr/sbin is not on a non-root user's PATH on Debian, where apt-get puts nginx.
NGINX_PATHS = ("/usr/sbin/nginx", "/usr/local/sbin/nginx", "/usr/local/nginx/sbin/nginx")
_START_TIMEOUT_S = 10.0
_STOP_TIMEOUT_S = 10.0
_BIND_ATTEMPTS = 5

_CONFIG = """\
daemon off;
master_process on;
worker_processes 1;
{affinity}
pid {prefix}/nginx.pid;
error_log {prefix}/error.log warn;
worker_rlimit_nofile 16384;

events {{
    worker_connections 8192;
}}

http {{
    {access_log}
    client_body_temp_path {prefix}/client_body;
    proxy_temp_path {prefix}/proxy;
    fastcgi_temp_path {prefix}/fastcgi;
    uwsgi_temp_path {prefix}/uwsgi;
    scgi_temp_path {prefix}/scgi;
    keepalive_requests {keepalive_requests};
    keepalive_timeout 3600s;
    client_max_body_size 0;
    client_body_buffer_size 1m;
    default_type text/plain;

    server {{
        listen 127.0.0.1:{port}{ssl} backlog=4096;
        {tls}
        location / {{
            return 200 "{body}";
        }}
    }}
}}
"""


def find_nginx() -> Optional[str]:
    """The nginx binary: on PATH, or where Debian and source builds install it."""
    found = shutil.which("nginx")
    if found:
        return found
    for path in NGINX_PATHS:
        if os.access(path, os.X_OK):
            return path
    return None


def require_nginx() -> str:
    """nginx's path; skips the calling test without it, but fails it when Z6_REQUIRE_SYSTEM_TOOLS is set (CI)."""
    binary = find_nginx()
    if binary is None:
        if os.environ.get("Z6_REQUIRE_SYSTEM_TOOLS"):
            pytest.fail("nginx is not installed, and CI must run the nginx tests: "
                        "add `apt-get install -y nginx` to .ci/run")
        pytest.skip("nginx is not installed (apt-get install nginx); CI runs these tests")
    return binary


def free_port() -> int:
    """A TCP port free on 127.0.0.1 right now (for servers that cannot bind port 0)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _nginx_string(body: bytes) -> str:
    """``body`` as the inside of an nginx double-quoted string."""
    text = body.decode("ascii")
    if "$" in text or any(ord(ch) < 0x20 and ch not in "\n\t" for ch in text):
        raise ValueError(f"nginx body must be printable ASCII without '$', got {body!r}")
    return text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n").replace("\t", "\\t")


class NginxServer:
    """A running nginx started by `start_nginx`."""

    def __init__(self, process: subprocess.Popen[bytes], prefix: pathlib.Path, port: int,
                 access_log: Optional[pathlib.Path], body: bytes) -> None:
        self.process = process
        self.prefix = prefix
        self.host = "127.0.0.1"
        self.port = port
        self.access_log = access_log
        self.body = body
        self.tls = False

    @property
    def base_url(self) -> str:
        return f"{'https' if self.tls else 'http'}://{self.host}:{self.port}"

    def log_lines(self) -> list[list[str]]:
        """The access log's lines, split: METHOD URI STATUS BODY_BYTES, and over
        TLS also CONNECTION SESSION_REUSED ("r" or ".") PROTOCOL."""
        if self.access_log is None:
            raise RuntimeError("this nginx was started with access_log=False")
        return [line.split() for line in self.access_log.read_text().splitlines()]

    def error_log(self) -> str:
        path = self.prefix / "error.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def stop(self) -> None:
        """Fast shutdown (SIGTERM) and wait; every request's log line is written by then."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(_STOP_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
                raise RuntimeError(f"nginx did not stop within {_STOP_TIMEOUT_S:g} s of SIGTERM; killed it")

    def requests_logged(self) -> int:
        """Lines in the access log. nginx writes each line unbuffered, after the response
        is sent; stop() first for a count no client can race."""
        if self.access_log is None:
            raise RuntimeError("this nginx was started with access_log=False")
        with open(self.access_log, "rb") as file:
            return sum(1 for _ in file)

    def __enter__(self) -> "NginxServer":
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()


def start_nginx(tmp_path: pathlib.Path, port: int = 0, worker_cpu: Optional[int] = None,
                access_log: bool = True, body: bytes = b"ok\n", *, cert: Optional[pathlib.Path] = None,
                key: Optional[pathlib.Path] = None, client_ca: Optional[pathlib.Path] = None,
                tls_protocols: str = "TLSv1.2 TLSv1.3", keepalive_requests: int = 100000000,
                log_bytes: bool = False) -> NginxServer:
    """Start nginx on 127.0.0.1 (``port`` 0: a free port) and wait until it accepts connections.

    ``worker_cpu``: pin the one worker to this CPU. ``access_log``: one line per
    request (``METHOD URI STATUS BODY_BYTES``, over TLS then ``CONNECTION
    SESSION_REUSED PROTOCOL``) in ``tmp_path/nginx/access.log``. ``cert`` and
    ``key`` (PEM files): serve HTTPS; ``client_ca``: require a client certificate
    issued by it; ``keepalive_requests``: close a connection after that many.
    ``log_bytes``: end each access log line with REQUEST_LENGTH BYTES_SENT (the
    request's and the response's whole bytes, heads and bodies, inside TLS).
    """
    tls_lines = ""
    if cert is not None:
        tls_lines = (f"ssl_certificate {cert};\n        ssl_certificate_key {key or cert};\n"
                     f"        ssl_protocols {tls_protocols};\n")
        if client_ca is not None:
            tls_lines += f"        ssl_client_certificate {client_ca};\n        ssl_verify_client on;\n"
    binary = find_nginx()
    if binary is None:
        raise RuntimeError("nginx is not installed (apt-get install nginx)")
    prefix = tmp_path / "nginx"
    prefix.mkdir(parents=True, exist_ok=True)
    log_path = prefix / "access.log" if access_log else None
    # nginx cannot bind port 0 and report it, so a free port is picked first; another
    # process may take it in between, hence the retries.
    attempts = 1 if port else _BIND_ATTEMPTS
    for attempt in range(attempts):
        chosen = port or free_port()
        config = prefix / "nginx.conf"
        config.write_text(_CONFIG.format(
            prefix=prefix, port=chosen, body=_nginx_string(body), ssl=" ssl" if cert is not None else "",
            tls=tls_lines, keepalive_requests=keepalive_requests,
            affinity="" if worker_cpu is None else f"worker_cpu_affinity {1 << worker_cpu:b};",
            access_log=(f"log_format z6 '$request_method $uri $status $body_bytes_sent"
                        f"{' $connection $ssl_session_reused $ssl_protocol' if cert is not None else ''}"
                        f"{' $request_length $bytes_sent' if log_bytes else ''}';\n"
                        f"    access_log {log_path} z6;" if log_path else "access_log off;")))
        if log_path is not None and log_path.exists():
            log_path.unlink()
        (prefix / "error.log").unlink(missing_ok=True)
        (prefix / "nginx.pid").unlink(missing_ok=True)
        process = subprocess.Popen([binary, "-p", str(prefix), "-c", str(config), "-e", str(prefix / "error.log")],
                                   stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        server = NginxServer(process, prefix, chosen, log_path, body)
        server.tls = cert is not None
        problem = _wait_accepting(server)
        if problem is None:
            return server
        server.stop()
        stderr = process.stderr.read().decode(errors="replace").strip() if process.stderr else ""
        # nginx says why on stderr when it can, else only in its error log.
        message = f"nginx did not start: {problem}\n{stderr or server.error_log().strip()}"
        if "Address already in use" not in message or attempt == attempts - 1:
            raise RuntimeError(message)
    raise AssertionError("unreachable")


def _wait_accepting(server: NginxServer) -> Optional[str]:
    """None once nginx accepts a connection; else why it does not.

    nginx writes its pid file only after it has bound its listening sockets: until
    then a connection could reach another process holding the port.
    """
    deadline = time.monotonic() + _START_TIMEOUT_S
    pid_file = server.prefix / "nginx.pid"
    while time.monotonic() < deadline:
        status = server.process.poll()
        if status is not None:
            return f"it exited with status {status}"
        try:
            if int(pid_file.read_text()) != server.process.pid:
                raise ValueError("a pid file of another nginx")
        except (OSError, ValueError):
            time.sleep(0.02)
            continue
        try:
            with socket.create_connection((server.host, server.port), timeout=1.0):
                return None
        except OSError:
            time.sleep(0.02)
    return f"not accepting connections after {_START_TIMEOUT_S:g} s"


@contextlib.contextmanager
def z6_child(*args: str, text: bool = True, stdout: Any = subprocess.PIPE,
             cwd: Optional[pathlib.Path] = None) -> Iterator[subprocess.Popen[Any]]:
    """``python -m z6 ARGS`` as a child (the z6 these tests import, stdin closed,
    stderr piped), killed on leaving the block if it is still running."""
    import z6

    environment = dict(os.environ, PYTHONPATH=os.pathsep.join(
        [str(pathlib.Path(z6.__file__).parent.parent), *sys.path]))
    process = subprocess.Popen([sys.executable, "-m", "z6", *args], stdin=subprocess.DEVNULL, stdout=stdout,
                               stderr=subprocess.PIPE, text=text, env=environment, cwd=cwd)
    try:
        yield process
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()


def stop_z6(process: subprocess.Popen[Any], signum: int = signal.SIGTERM) -> tuple[Any, Any]:
    """Signal the child and wait for it (at most 10 s): its stdout and stderr."""
    process.send_signal(signum)
    return process.communicate(timeout=_STOP_TIMEOUT_S)
