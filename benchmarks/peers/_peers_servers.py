"""The targets for benchmarks/peers.py: nginx with this run's own config, and z6 serve.

nginx runs in the foreground (``daemon off``) from nginx.conf.template, one worker
pinned to the server CPU. Its 10 ms endpoint needs the echo module
(libnginx-mod-http-echo); without it, ``z6 serve`` pinned to the server CPU serves
``/delay/10ms`` instead.
"""

from __future__ import annotations

import http.client
import re
import signal
import ssl
import subprocess
import sys
import time
from pathlib import Path
from typing import Optional

from _peers_proc import BenchError, Installer, fill_template, free_port, kill_group, tail, z6_env

__all__ = ["BODY", "DELAY_PATH", "THROUGHPUT_PATH", "Nginx", "Z6Serve", "check_endpoint", "find_echo_module"]

THROUGHPUT_PATH = "/"
DELAY_PATH = "/delay/10ms"
BODY = b"ok\n"


def http_get(port: int, path: str, timeout_s: float = 2.0, tls: bool = False) -> tuple[int, dict[str, str], bytes]:
    conn = (http.client.HTTPSConnection("127.0.0.1", port, timeout=timeout_s,
                                        context=ssl._create_unverified_context()) if tls
            else http.client.HTTPConnection("127.0.0.1", port, timeout=timeout_s))
    try:
        conn.request("GET", path)
        response = conn.getresponse()
        return response.status, {k.lower(): v for k, v in response.getheaders()}, response.read()
    finally:
        conn.close()


def check_endpoint(port: int, path: str, min_seconds: float, tls: bool = False) -> Optional[str]:
    """None when GET path answers 200 "ok\\n" after at least min_seconds, else what was wrong."""
    started = time.monotonic()
    try:
        status, _, body = http_get(port, path, tls=tls)
    except OSError as exc:
        return f"GET {path}: {exc}"
    elapsed = time.monotonic() - started
    if status != 200 or body != BODY:
        return f"GET {path}: expected 200 {BODY!r}, got {status} {body[:40]!r}"
    if elapsed < min_seconds:
        return f"GET {path}: answered in {elapsed * 1e3:.2f} ms, expected at least {min_seconds * 1e3:.0f} ms"
    return None


def nginx_modules_dir() -> Optional[Path]:
    """nginx's module directory, from the ``--modules-path`` it was built with."""
    done = subprocess.run(["nginx", "-V"], capture_output=True, text=True)
    found = re.search(r"--modules-path=(\S+)", done.stdout + done.stderr)
    return Path(found.group(1)) if found else None


def find_echo_module(installer: Installer) -> tuple[Optional[Path], str]:
    """The echo module's .so (installing it if allowed), or None and the reason."""
    modules = nginx_modules_dir()
    if modules is None:
        return None, "nginx -V names no --modules-path"
    module = modules / "ngx_http_echo_module.so"
    if not module.is_file():
        reason = installer.apt("libnginx-mod-http-echo")
        if reason is not None:
            return None, f"libnginx-mod-http-echo: {reason}"
    if not module.is_file():
        return None, f"{module} does not exist after installing libnginx-mod-http-echo"
    return module, ""


class Nginx:
    """nginx in the foreground with this run's own config, pinned to one CPU."""

    def __init__(self, workdir: Path, server_cpu: int, echo_module: Optional[Path],
                 tls: Optional[tuple[Path, Path]] = None, extra_locations: str = "") -> None:
        self.prefix = workdir / "nginx"
        self.server_cpu = server_cpu
        self.echo_module = echo_module
        self.tls = tls   # (certificate, key): serve HTTPS, TLS 1.3 only, session tickets on
        self.extra_locations = extra_locations   # more `location` blocks, for another benchmark's endpoints
        self.port = 0
        self.proc: Optional[subprocess.Popen[bytes]] = None

    @property
    def base_url(self) -> str:
        return f"{'https' if self.tls else 'http'}://127.0.0.1:{self.port}"

    def start(self) -> None:
        self.prefix.mkdir(parents=True, exist_ok=True)
        self.port = free_port()
        delay = ""
        if self.echo_module is not None:
            delay = (f"        # The latency endpoint: wait 10 ms, then answer like / does.\n"
                     f"        location = {DELAY_PATH} {{\n"
                     f"            echo_sleep 0.010;\n"
                     f"            echo_exec @ok;\n"
                     f"        }}\n"
                     f"        location @ok {{\n"
                     f"            return 200 \"ok\\n\";\n"
                     f"        }}\n")
        config = fill_template("nginx.conf.template", {
            "load_echo_module": f"load_module {self.echo_module};" if self.echo_module else "",
            # worker_cpu_affinity takes a bit mask, CPU 0 rightmost: CPU 1 is "10".
            "server_cpu_mask": "1" + "0" * self.server_cpu,
            "prefix": self.prefix,
            "port": self.port,
            "delay_location": delay + self.extra_locations,
            "listen_ssl": " ssl" if self.tls else "",
            "tls": (f"        ssl_certificate {self.tls[0]};\n        ssl_certificate_key {self.tls[1]};\n"
                    f"        ssl_protocols TLSv1.3;\n        ssl_session_tickets on;\n"
                    f"        ssl_session_cache shared:z6:10m;") if self.tls else "",
        })
        conf = self.prefix / "nginx.conf"
        conf.write_text(config)
        log = self.prefix / "stderr.log"
        with open(log, "wb") as out:
            self.proc = subprocess.Popen(
                ["nginx", "-p", str(self.prefix), "-c", str(conf), "-e", str(self.prefix / "error.log")],
                stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.monotonic() + 10.0
        problem: Optional[str] = "not started"
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise BenchError(f"nginx exited with {self.proc.returncode}: "
                                 f"{tail(self.prefix / 'error.log') or tail(log)}")
            problem = check_endpoint(self.port, THROUGHPUT_PATH, 0.0, tls=self.tls is not None)
            if problem is None:
                break
            time.sleep(0.1)
        if problem is not None:
            raise BenchError(f"nginx on port {self.port} did not answer: {problem}")
        if self.echo_module is not None:
            problem = check_endpoint(self.port, DELAY_PATH, 0.009)
            if problem is not None:
                raise BenchError(f"nginx's echo_sleep endpoint is not working: {problem}")

    def worker_affinity(self) -> str:
        """The CPUs the worker processes may run on, read back from /proc."""
        if self.proc is None:
            return "not started"
        children = Path(f"/proc/{self.proc.pid}/task/{self.proc.pid}/children")
        try:
            workers = children.read_text().split()
            allowed = []
            for pid in workers:
                for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                    if line.startswith("Cpus_allowed_list:"):
                        allowed.append(f"worker {pid} on CPU {line.split(':', 1)[1].strip()}")
            return ", ".join(allowed) or "no worker found"
        except OSError as exc:
            return f"unknown ({exc})"

    def stop(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.send_signal(signal.SIGQUIT)  # graceful: the master stops its worker
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            kill_group(self.proc.pid)
            self.proc.wait()


class Z6Serve:
    """z6's built-in target pinned to the server CPU: the 10 ms endpoint without the echo module."""

    def __init__(self, workdir: Path, server_cpu: int) -> None:
        self.workdir = workdir
        self.server_cpu = server_cpu
        self.port = 0
        self.proc: Optional[subprocess.Popen[bytes]] = None

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        ready = self.workdir / "z6-serve.port"
        log = self.workdir / "z6-serve.log"
        argv = ["taskset", "-c", str(self.server_cpu), sys.executable, "-m", "z6.cli", "serve",
                "--port", "0", "--ready-file", str(ready)]
        with open(log, "wb") as out:
            self.proc = subprocess.Popen(argv, env=z6_env(), stdin=subprocess.DEVNULL, stdout=out,
                                         stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.monotonic() + 15.0
        while not ready.exists():
            if self.proc.poll() is not None:
                raise BenchError(f"z6 serve exited with {self.proc.returncode}: {tail(log)}")
            if time.monotonic() > deadline:
                raise BenchError(f"z6 serve did not write {ready} within 15 s: {tail(log)}")
            time.sleep(0.1)
        self.port = int(ready.read_text().strip())
        problem = check_endpoint(self.port, DELAY_PATH, 0.009)
        if problem is not None:
            raise BenchError(f"z6 serve's delay route is not working: {problem}")

    def stop(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.terminate()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            kill_group(self.proc.pid)
            self.proc.wait()
