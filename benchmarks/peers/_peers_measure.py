"""One measured run of one tool, the repeated passes, and the syscall counts.

A run is the tool pinned to the client CPU with taskset; its CPU time is user+sys
of its whole process tree (wait4), and /proc/stat around it shows how busy the
client and server CPUs were.
"""

from __future__ import annotations

import re
import statistics
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Optional, Sequence

from _peers_proc import OutputError, cpu_times, note, run_child, tail
from _peers_tools import Job, Tool, ToolOutput

__all__ = ["RUN_GRACE_S", "Measurement", "PassResult", "measure", "rotated", "run_pass", "strace_counts",
           "syscall_report"]

# A run gets this much time beyond its duration (start-up, z6's graceful stop,
# Locust's shutdown) before it is killed and recorded as failed.
RUN_GRACE_S = 60.0


@dataclass
class Measurement:
    tool: str
    pass_name: str
    repetition: int
    cpu_s: float = 0.0
    wall_s: float = 0.0
    exit_code: Optional[int] = None
    output: Optional[ToolOutput] = None
    failure: Optional[str] = None
    # Without CONFIG_IRQ_TIME_ACCOUNTING a softirq that runs on the way out of the
    # generator's own syscall is charged to the softirq column, not to the process:
    # shown apart from other processes' work on the client CPU.
    client_cpu_softirq_pct: Optional[float] = None
    client_cpu_other_pct: Optional[float] = None  # client CPU busy beyond the generator and softirqs
    server_cpu_busy_pct: Optional[float] = None

    @property
    def ok(self) -> bool:
        return (self.failure is None and self.output is not None and self.output.requests > 0
                and self.output.duration_s > 0)

    @property
    def rate(self) -> float:
        assert self.output is not None
        return self.output.requests / self.output.duration_s

    @property
    def cpu_us_per_request(self) -> float:
        assert self.output is not None
        return self.cpu_s / self.output.requests * 1e6

    @property
    def run_cpu_us_per_request(self) -> Optional[float]:
        """z6 only: CPU per request without the interpreter's start-up and imports."""
        if self.output is None or self.output.startup_cpu_s is None:
            return None
        return (self.cpu_s - self.output.startup_cpu_s) / self.output.requests * 1e6


def measure(tool: Tool, job: Job, repetition: int, workdir: Path, client_cpu: int,
            server_cpu: int) -> Measurement:
    """Run the tool once for job, pinned to client_cpu; a run that did not work says why in .failure."""
    rundir = workdir / f"{job.pass_name}-{repetition}-{tool.name}"
    rundir.mkdir()
    argv = ["taskset", "-c", str(client_cpu), *tool.command(job, rundir)]
    stdout, stderr = rundir / "stdout", rundir / "stderr"
    result = Measurement(tool.name, job.pass_name, repetition)
    before = cpu_times()
    usage = run_child(argv, env=tool.env(job), cwd=rundir, stdout=stdout, stderr=stderr,
                      timeout_s=job.duration_s + RUN_GRACE_S)
    after = cpu_times()
    result.cpu_s = usage.cpu_user_s + usage.cpu_sys_s
    result.wall_s = usage.wall_s
    result.exit_code = usage.exit_code
    client_busy = after[client_cpu].busy_s - before[client_cpu].busy_s
    client_softirq = after[client_cpu].softirq_s - before[client_cpu].softirq_s
    result.client_cpu_softirq_pct = client_softirq / usage.wall_s * 100
    result.client_cpu_other_pct = max(0.0, client_busy - client_softirq - result.cpu_s) / usage.wall_s * 100
    result.server_cpu_busy_pct = (after[server_cpu].busy_s - before[server_cpu].busy_s) / usage.wall_s * 100
    if usage.timed_out:
        result.failure = f"killed after {job.duration_s + RUN_GRACE_S:.0f} s"
        return result
    try:
        result.output = tool.parse(job, rundir, stdout.read_text(errors="replace"))
    except OutputError as exc:
        result.failure = f"exit {usage.exit_code}: {exc}; stderr: {tail(stderr) or '(empty)'}"
        return result
    if usage.exit_code not in tool.ok_exit_codes:
        result.failure = f"exit {usage.exit_code}; stderr: {tail(stderr) or '(empty)'}"
    elif result.output.requests == 0 or result.output.duration_s <= 0:
        result.failure = (f"no completed requests over a measured period ({result.output.requests} in "
                          f"{result.output.duration_s:.3f} s); stderr: {tail(stderr) or '(empty)'}")
    return result


@dataclass
class PassResult:
    """Every run of one pass, by tool, in the order they ran."""
    job: Job
    title: str
    runs: dict[str, list[Measurement]] = field(default_factory=dict)

    def ok_runs(self, tool: str) -> list[Measurement]:
        return [m for m in self.runs.get(tool, []) if m.ok]

    def median_of(self, tool: str, pick: Callable[[Measurement], Optional[float]]) -> Optional[float]:
        """The median of pick(run) over the tool's good runs (None when there are none)."""
        values = [v for v in (pick(m) for m in self.ok_runs(tool)) if v is not None]
        return statistics.median(values) if values else None


def run_pass(title: str, job: Job, tools: Sequence[Tool], repeat: int, workdir: Path, client_cpu: int,
             server_cpu: int) -> PassResult:
    """Each tool once per repetition, the order rotated by one each repetition."""
    result = PassResult(job, title, {tool.name: [] for tool in tools})
    for repetition in range(repeat):
        for tool in rotated(tools, repetition):
            time.sleep(1.0)  # let the previous run's connections close and the server idle
            m = measure(tool, job, repetition, workdir, client_cpu, server_cpu)
            result.runs[tool.name].append(m)
            where = f"{job.pass_name} {repetition + 1}/{repeat} {tool.name}"
            if m.ok and m.output is not None:
                p50 = f"{m.output.p50_ms:.3f} ms" if m.output.p50_ms is not None else "not reported"
                note(f"{where}: {m.rate:,.0f} req/s, {m.cpu_us_per_request:.2f} CPU µs/request, p50 {p50}")
            else:
                note(f"{where}: FAILED: {m.failure}")
    return result


def rotated(items: Sequence[Tool], by: int) -> list[Tool]:
    by %= len(items)
    return [*items[by:], *items[:by]]


def strace_counts(path: Path) -> dict[str, int]:
    """Calls per syscall from an ``strace -c`` table."""
    counts: dict[str, int] = {}
    for line in path.read_text().splitlines():
        parts = line.split()
        # Rows: % time, seconds, usecs/call, calls, [errors,] syscall.
        if len(parts) >= 5 and re.fullmatch(r"[0-9.]+", parts[0]) and parts[-1] != "total":
            counts[parts[-1]] = int(parts[3])
    return counts


def syscall_report(tools: Sequence[Tool], job: Job, workdir: Path, client_cpu: int) -> list[str]:
    """Run each tool once under `strace -c -f` and tabulate its syscalls per completed request."""
    lines = [f"### Syscalls per request (`strace -c -f`, {job.duration_s} s, {job.vus} connections, GET /)",
             "",
             "One run per tool under strace, which slows it down; the counts per request are",
             "what matters. z6's counts include its start-up (Python imports: a few thousand",
             "openat/newfstatat/mmap calls, spread over all requests).",
             ""]
    per_tool: dict[str, tuple[int, dict[str, int]]] = {}
    for tool in tools:
        rundir = workdir / f"strace-{tool.name}"
        rundir.mkdir()
        trace = rundir / "strace.txt"
        argv = ["strace", "-c", "-f", "-o", str(trace), "taskset", "-c", str(client_cpu),
                *tool.command(job, rundir)]
        usage = run_child(argv, env=tool.env(job), cwd=rundir, stdout=rundir / "stdout",
                          stderr=rundir / "stderr", timeout_s=job.duration_s + RUN_GRACE_S)
        try:
            output = tool.parse(job, rundir, (rundir / "stdout").read_text(errors="replace"))
            counts = strace_counts(trace)
        except (OutputError, OSError) as exc:
            stderr = tail(rundir / "stderr") or "(empty)"
            lines += [f"{tool.name}: no figures (exit {usage.exit_code}: {exc}; stderr: {stderr}).", ""]
            continue
        if output.requests == 0:
            lines += [f"{tool.name}: no figures (no completed requests).", ""]
            continue
        per_tool[tool.name] = (output.requests, counts)
    if not per_tool:
        return lines
    names: set[str] = set()
    for requests, counts in per_tool.values():
        names.update(n for n, c in counts.items() if c / requests >= 0.01)
    order = sorted(names, key=lambda n: -max(c.get(n, 0) / r for r, c in per_tool.values()))
    lines.append("| syscall | " + " | ".join(f"{t} (per request)" for t in per_tool) + " |")
    lines.append("|---|" + "---:|" * len(per_tool))
    for name in order:
        cells = [f"{counts.get(name, 0) / requests:.3f}" for requests, counts in per_tool.values()]
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    totals = [f"**{sum(c.values()) / r:.3f}**" for r, c in per_tool.values()]
    lines.append("| **all** | " + " | ".join(totals) + " |")
    lines.append("| requests | " + " | ".join(f"{r:,}" for r, _ in per_tool.values()) + " |")
    return lines
