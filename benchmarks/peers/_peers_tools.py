"""The load generators benchmarks/peers.py compares: how to install, run and read each.

Each tool's figures come from its own output: wrk's ``done()`` hook
(wrk_summary.lua), hey's summary, Locust's ``--json-file`` stats, z6's ``--json``
summary (run through z6_timed.py, which also records z6's start-up CPU).
"""

from __future__ import annotations

import abc
import json
import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Optional

from _peers_proc import TEMPLATES, Installer, OutputError, fill_template, z6_env

__all__ = ["ALL_TOOLS", "TOOL_NAMES", "Job", "Tool", "ToolOutput", "Hey", "Locust", "Wrk", "Z6", "Z6NoResume",
           "locust_percentile"]

TOOL_NAMES = ("wrk", "hey", "locust", "z6")


@dataclass(frozen=True)
class Job:
    """One run's parameters, the same for every tool."""
    pass_name: str
    base_url: str
    path: str
    vus: int
    duration_s: int
    # extra request headers (e.g. Connection: close), sent by every tool
    headers: tuple[tuple[str, str], ...] = ()
    # https: the certificate z6 trusts (wrk does not verify)
    ca_file: Optional[str] = None

    @property
    def url(self) -> str:
        return self.base_url + self.path


@dataclass(frozen=True)
class ToolOutput:
    """What a tool's own output says about one run."""
    requests: int               # completed requests, as the tool counts them
    errors: int                 # failed requests and connection errors, as the tool counts them
    duration_s: float           # the measuring period the tool reports
    p50_ms: Optional[float]
    startup_cpu_s: Optional[float] = None  # z6 only: CPU before the command line started


class Tool(abc.ABC):
    """A load generator: how to check for it, run it and read its output."""
    name = ""
    ok_exit_codes: frozenset[int] = frozenset({0})
    p50_resolution = ""

    @abc.abstractmethod
    def ensure(self, installer: Installer) -> Optional[str]:
        """None when the tool can run (installing it if missing and allowed), else why not."""

    @abc.abstractmethod
    def version(self) -> str:
        """The tool's name and version, for the report."""

    @abc.abstractmethod
    def command(self, job: Job, workdir: Path) -> list[str]:
        """The command line for one run (without taskset); may write files into workdir."""

    def env(self, job: Job) -> dict[str, str]:
        return dict(os.environ)

    @abc.abstractmethod
    def parse(self, job: Job, workdir: Path, stdout: str) -> ToolOutput:
        """The run's figures from the tool's own output; OutputError when they are not there."""


def _apt_tool(installer: Installer, program: str, package: str) -> Optional[str]:
    if shutil.which(program):
        return None
    reason = installer.apt(package)
    if reason is None and not shutil.which(program):
        reason = f"`{program}` is still not on PATH after installing {package}"
    return reason


def _debian_version(package: str) -> str:
    done = subprocess.run(["dpkg-query", "-W", "-f=${Version}", package], capture_output=True, text=True)
    return done.stdout.strip() if done.returncode == 0 and done.stdout.strip() else "unknown version"


class Wrk(Tool):
    name = "wrk"
    p50_resolution = "1 µs (wrk's own histogram, read in its done() hook)"

    def ensure(self, installer: Installer) -> Optional[str]:
        return _apt_tool(installer, "wrk", "wrk")

    def version(self) -> str:
        done = subprocess.run(["wrk", "-v"], capture_output=True, text=True)
        first = (done.stdout + done.stderr).strip().splitlines()[:1]
        return first[0].split(" Copyright")[0] if first else _debian_version("wrk")

    def command(self, job: Job, workdir: Path) -> list[str]:
        # One thread: the client CPU is a single core, as for every tool here.
        headers = [arg for name, value in job.headers for arg in ("-H", f"{name}: {value}")]
        return ["wrk", "-t1", f"-c{job.vus}", f"-d{job.duration_s}s", "--timeout", "10s", *headers,
                "-s", str(TEMPLATES / "wrk_summary.lua"), job.url]

    def parse(self, job: Job, workdir: Path, stdout: str) -> ToolOutput:
        line = next((ln for ln in stdout.splitlines() if ln.startswith("Z6PEERS ")), None)
        if line is None:
            raise OutputError("no Z6PEERS line (wrk_summary.lua's done() hook did not run)")
        fields = dict(item.split("=", 1) for item in line.split()[1:])
        try:
            errors = sum(int(fields[k]) for k in ("connect_errors", "read_errors", "write_errors",
                                                  "status_errors", "timeouts"))
            return ToolOutput(requests=int(fields["requests"]), errors=errors,
                              duration_s=int(fields["duration_us"]) / 1e6, p50_ms=int(fields["p50_us"]) / 1e3)
        except (KeyError, ValueError) as exc:
            raise OutputError(f"malformed Z6PEERS line {line!r}: {exc}") from None


class Hey(Tool):
    name = "hey"
    p50_resolution = "0.1 ms (hey prints seconds with 4 decimals)"

    def ensure(self, installer: Installer) -> Optional[str]:
        return _apt_tool(installer, "hey", "hey")

    def version(self) -> str:
        return f"hey {_debian_version('hey')}"

    def command(self, job: Job, workdir: Path) -> list[str]:
        return ["hey", "-z", f"{job.duration_s}s", "-c", str(job.vus), job.url]

    def parse(self, job: Job, workdir: Path, stdout: str) -> ToolOutput:
        total = re.search(r"Total:\s+([0-9.]+) secs", stdout)
        if not total:
            raise OutputError("no 'Total: ... secs' line in hey's summary")
        responses = sum(int(n) for n in re.findall(r"\[\d{3}\]\s+(\d+) responses", stdout))
        errors = 0
        if "Error distribution:" in stdout:
            section = stdout.split("Error distribution:", 1)[1]
            errors = sum(int(n) for n in re.findall(r"^\s*\[(\d+)\]\s", section, re.MULTILINE))
        if responses == 0 and errors == 0:
            raise OutputError("hey's summary has no status code or error distribution")
        p50 = re.search(r"50%\s+in\s+([0-9.]+) secs", stdout)
        return ToolOutput(requests=responses, errors=errors, duration_s=float(total.group(1)),
                          p50_ms=float(p50.group(1)) * 1e3 if p50 else None)


class Locust(Tool):
    name = "locust"
    # Exit code 1 means some requests failed; they are counted as errors.
    ok_exit_codes = frozenset({0, 1})
    p50_resolution = "1 ms (Locust keeps response times rounded to whole ms below 100 ms)"

    def ensure(self, installer: Installer) -> Optional[str]:
        if self._importable():
            return None
        reason = installer.pip("locust")
        if reason is None and not self._importable():
            reason = "locust is still not importable after `pip install locust`"
        return reason

    @staticmethod
    def _importable() -> bool:
        return subprocess.run([sys.executable, "-c", "import locust"], capture_output=True).returncode == 0

    def version(self) -> str:
        done = subprocess.run([sys.executable, "-m", "locust", "--version"], capture_output=True, text=True)
        found = re.search(r"locust (\S+)", done.stdout + done.stderr)
        return f"Locust {found.group(1)}" if found else "Locust (unknown version)"

    def command(self, job: Job, workdir: Path) -> list[str]:
        # One process (no --processes), headless, all users spawned at once. The final
        # counts come from --json-file, written after the users stop: the --csv files
        # are rewritten once a second while running and can lag the end by up to 1 s.
        return [sys.executable, "-m", "locust", "-f", str(TEMPLATES / "locustfile.py"), "--headless",
                "-u", str(job.vus), "-r", str(job.vus), "-t", f"{job.duration_s}s", "--only-summary",
                "--json-file", str(workdir / "locust"), "-H", job.base_url]

    def env(self, job: Job) -> dict[str, str]:
        return dict(os.environ, Z6_PEERS_PATH=job.path)

    def parse(self, job: Job, workdir: Path, stdout: str) -> ToolOutput:
        path = workdir / "locust.json"  # Locust appends ".json" to --json-file
        try:
            entries = json.loads(path.read_text())
        except (OSError, ValueError) as exc:
            raise OutputError(f"cannot read Locust's stats {path}: {exc}") from None
        if not isinstance(entries, list) or not entries:
            raise OutputError(f"{path}: expected a non-empty list of request stats")
        try:
            requests = sum(int(e["num_requests"]) for e in entries)
            failures = sum(int(e["num_failures"]) for e in entries)
            started = min(float(e["start_time"]) for e in entries)
            last = max(float(e["last_request_timestamp"]) for e in entries)
            buckets: dict[float, int] = {}
            for e in entries:
                for ms, count in e["response_times"].items():
                    buckets[float(ms)] = buckets.get(float(ms), 0) + int(count)
        except (KeyError, TypeError, ValueError) as exc:
            raise OutputError(f"{path}: unexpected stats layout: {exc!r}") from None
        return ToolOutput(requests=requests, errors=failures, duration_s=last - started,
                          p50_ms=locust_percentile(buckets, requests, 0.5))


def locust_percentile(buckets: dict[float, int], total: int, fraction: float) -> Optional[float]:
    """Locust's own percentile rule (locust.stats.calculate_response_time_percentile).

    Walking down from the slowest bucket, the first value at which at most
    ``int(total * fraction)`` requests remain below. None when there is no value
    (Locust prints 0 then).
    """
    at_or_below = int(total * fraction)
    processed = 0
    for value in sorted(buckets, reverse=True):
        processed += buckets[value]
        if total - processed <= at_or_below:
            return value
    return None


class Z6(Tool):
    name = "z6"
    p50_resolution = "exact (nanoseconds, nearest rank)"
    tls_resume = True

    def ensure(self, installer: Installer) -> Optional[str]:
        done = subprocess.run([sys.executable, "-c", "import z6core._live, z6.cli"], env=z6_env(),
                              capture_output=True, text=True)
        if done.returncode != 0:
            last = done.stderr.strip().splitlines()[-1:] or ["no output"]
            return (f"this checkout's z6 does not import ({last[0]}); build the core with "
                    f"`python setup.py build_ext --inplace`")
        return None

    def version(self) -> str:
        done = subprocess.run([sys.executable, "-m", "z6.cli", "--version"], env=z6_env(),
                              capture_output=True, text=True)
        return done.stdout.strip() or "z6 (unknown version)"

    def command(self, job: Job, workdir: Path) -> list[str]:
        scenario = workdir / "scenario.toml"
        scenario.write_text(fill_template("z6_scenario.toml.template", {
            "pass_name": job.pass_name, "duration_s": job.duration_s, "vus": job.vus,
            "base_url": job.base_url, "path": job.path,
            "target_extra": "\n".join(
                ([f'ca_file = "{job.ca_file}"'] if job.ca_file else [])
                + ([] if self.tls_resume or not job.ca_file else ["tls_resume = false"])),
            "request_extra": ("headers = { " + ", ".join(f'"{n}" = "{v}"' for n, v in job.headers) + " }"
                              if job.headers else ""),
        }))
        # The real interpreter, not a version-manager shim (a pyenv shim runs a few
        # dozen bash processes before Python starts, all charged to the tool).
        return [sys.executable, str(TEMPLATES / "z6_timed.py"), str(workdir / "startup.json"),
                "run", str(scenario), "--json"]

    def env(self, job: Job) -> dict[str, str]:
        return z6_env()

    def parse(self, job: Job, workdir: Path, stdout: str) -> ToolOutput:
        try:
            report = json.loads(stdout)
            summary = report["summary"]
            startup = json.loads((workdir / "startup.json").read_text())
            return ToolOutput(requests=int(summary["completed"]), errors=int(summary["failed"]),
                              duration_s=float(summary["duration_s"]),
                              p50_ms=summary["latency_ms"]["p50"],
                              startup_cpu_s=float(startup["user_s"]) + float(startup["sys_s"]))
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise OutputError(f"cannot read z6's JSON summary: {exc!r}") from None


class Z6NoResume(Z6):
    """z6 with tls_resume = false: every reconnect a full TLS handshake (--https only)."""
    name = "z6-noresume"
    tls_resume = False


ALL_TOOLS: dict[str, Callable[[], Tool]] = {"wrk": Wrk, "hey": Hey, "locust": Locust, "z6": Z6,
                                            "z6-noresume": Z6NoResume}
