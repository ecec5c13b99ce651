"""Child processes, templates and installs for benchmarks/peers.py.

Runs a program to completion and reads its CPU time from ``wait4``, fills the
double-braced placeholders of the templates in this directory, reads per-CPU busy
time from /proc/stat, and installs missing programs with apt-get or pip.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Optional, Sequence

__all__ = ["REPO", "TEMPLATES", "BenchError", "OutputError", "ChildUsage", "CpuTimes", "Installer",
           "cpu_times", "fill_template", "free_port", "kill_group", "note", "run_child", "tail", "z6_env"]

TEMPLATES = Path(__file__).resolve().parent
REPO = TEMPLATES.parent.parent


class BenchError(Exception):
    """The benchmark cannot run (a server or a required program is missing)."""


class OutputError(Exception):
    """A tool's output did not say what the script needs; the run is recorded as failed."""


def note(message: str) -> None:
    """Progress and problems go to stderr; stdout carries only the report."""
    print(f"peers: {message}", file=sys.stderr, flush=True)


def z6_env() -> dict[str, str]:
    """The environment for z6 processes: this checkout's core and package first."""
    env = dict(os.environ)
    paths = [str(REPO / "src"), str(REPO / "python")]
    if env.get("PYTHONPATH"):
        paths.append(env["PYTHONPATH"])
    env["PYTHONPATH"] = os.pathsep.join(paths)
    return env


@dataclass(frozen=True)
class ChildUsage:
    exit_code: int
    cpu_user_s: float
    cpu_sys_s: float
    wall_s: float
    timed_out: bool


def run_child(argv: Sequence[str], *, env: dict[str, str], cwd: Path, stdout: Path, stderr: Path,
              timeout_s: float) -> ChildUsage:
    """Run argv to completion and return its exit code and the CPU time of its process tree.

    ``wait4`` reports the child's own CPU time plus that of every descendant it waited
    for, so a tool that forks helpers is charged for them too. The child gets its own
    session: a Ctrl-C here kills it explicitly instead of racing it.
    """
    with open(stdout, "wb") as out, open(stderr, "wb") as err:
        started = time.monotonic()
        proc = subprocess.Popen(list(argv), env=env, cwd=cwd, stdin=subprocess.DEVNULL, stdout=out,
                                stderr=err, start_new_session=True)
    timed_out = threading.Event()

    def kill_on_timeout() -> None:
        timed_out.set()
        kill_group(proc.pid)

    timer = threading.Timer(timeout_s, kill_on_timeout)
    timer.start()
    try:
        _, status, usage = os.wait4(proc.pid, 0)
    except BaseException:
        kill_group(proc.pid)
        os.waitpid(proc.pid, 0)
        raise
    finally:
        timer.cancel()
    proc.returncode = os.waitstatus_to_exitcode(status)  # reaped here, not by Popen
    return ChildUsage(proc.returncode, usage.ru_utime, usage.ru_stime, time.monotonic() - started,
                      timed_out.is_set())


def kill_group(pid: int) -> None:
    try:
        os.killpg(pid, signal.SIGKILL)
    except ProcessLookupError:
        pass


def tail(path: Path, lines: int = 5) -> str:
    try:
        text = path.read_text(errors="replace").strip().splitlines()
    except OSError:
        return ""
    return " | ".join(text[-lines:])


def fill_template(name: str, values: dict[str, object]) -> str:
    """The template TEMPLATES/name with each ``{{key}}`` replaced; every key must be used."""
    text = (TEMPLATES / name).read_text()
    for key, value in values.items():
        marker = "{{" + key + "}}"
        if marker not in text:
            raise BenchError(f"{TEMPLATES / name}: has no placeholder {marker}")
        text = text.replace(marker, str(value))
    left = re.search(r"\{\{(\w+)\}\}", text)
    if left:
        raise BenchError(f"{TEMPLATES / name}: placeholder {left.group(0)} was not filled in")
    return text


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Installer:
    """Installs missing programs with apt-get or pip, or says why it cannot."""

    def __init__(self, allowed: bool) -> None:
        self.allowed = allowed
        self._apt_updated = False

    def apt(self, package: str) -> Optional[str]:
        """None once the package is installed, else the reason it is not."""
        if not self.allowed:
            return "not installed, and --no-install was given"
        if shutil.which("apt-get") is None:
            return "not installed, and there is no apt-get to install it"
        if os.geteuid() != 0:
            return f"not installed; `apt-get install {package}` needs root"
        env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
        command = ["apt-get", "install", "-y", "--no-install-recommends", package]
        note(f"installing {package} with apt-get")
        done = subprocess.run(command, env=env, capture_output=True, text=True)
        if done.returncode != 0 and not self._apt_updated:
            self._apt_updated = True  # a stale package list is the usual cause: refresh once
            subprocess.run(["apt-get", "update"], env=env, capture_output=True, text=True)
            done = subprocess.run(command, env=env, capture_output=True, text=True)
        if done.returncode != 0:
            last = (done.stderr.strip() or done.stdout.strip()).splitlines()[-1:] or ["no output"]
            return f"`apt-get install {package}` failed: {last[0]}"
        return None

    def pip(self, package: str) -> Optional[str]:
        if not self.allowed:
            return "not installed, and --no-install was given"
        note(f"installing {package} with pip")
        done = subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", package],
                              capture_output=True, text=True)
        if done.returncode != 0:
            last = done.stderr.strip().splitlines()[-1:] or ["no output"]
            return f"`pip install {package}` failed: {last[0]}"
        return None


@dataclass(frozen=True)
class CpuTimes:
    busy_s: float       # not idle (steal included: time the hypervisor gave elsewhere)
    softirq_s: float    # the part spent in softirqs (loopback packet delivery among others)


def cpu_times() -> dict[int, CpuTimes]:
    """Each CPU's busy and softirq seconds since boot, from /proc/stat."""
    ticks = os.sysconf("SC_CLK_TCK")
    times: dict[int, CpuTimes] = {}
    with open("/proc/stat") as stat:
        for line in stat:
            if line.startswith("cpu") and line[3].isdigit():
                name, *values = line.split()
                user, nice, system, idle, iowait, irq, softirq, steal = (int(v) for v in values[:8])
                times[int(name[3:])] = CpuTimes((user + nice + system + irq + softirq + steal) / ticks,
                                                softirq / ticks)
    return times
