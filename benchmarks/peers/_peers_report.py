"""The Markdown report of benchmarks/peers.py: machine, tables, and issue 3's targets.

Every figure is the median over the repetitions of that column on its own. The
targets are printed beside the measured ratios; nothing is asserted.
"""

from __future__ import annotations

import argparse
import datetime
import os
import platform
import sys
from pathlib import Path
from typing import Callable, Optional, Sequence

from _peers_measure import PassResult
from _peers_tools import Tool

__all__ = ["latency_table", "machine_lines", "targets_table", "throughput_table"]

# Issue 3's targets, printed beside the measured ratios (never asserted).
TARGET_CPU_VS_WRK = 1.25
TARGET_CPU_VS_LOCUST = 10.0
TARGET_P50_VS_WRK_MS = 0.3


def fmt(value: Optional[float], digits: int, thousands: bool = False) -> str:
    if value is None:
        return "–"
    return f"{value:,.{digits}f}" if thousands else f"{value:.{digits}f}"


def each(values: Sequence[Optional[float]], digits: int, thousands: bool = False) -> str:
    return ", ".join(fmt(v, digits, thousands) for v in values)


def throughput_table(result: PassResult) -> list[str]:
    lines = [f"### {result.title}", "",
             "| tool | req/s | CPU µs/request | CPU s (user+sys) | errors | runs ok | req/s, each run "
             "| CPU µs/request, each run | client CPU softirq % | client CPU, other work % | server CPU busy % |",
             "|---|---:|---:|---:|---:|---|---|---|---:|---:|---:|"]
    for tool, runs in result.runs.items():
        ok = result.ok_runs(tool)
        row = [tool, fmt(result.median_of(tool, lambda m: m.rate), 0, True),
               fmt(result.median_of(tool, lambda m: m.cpu_us_per_request), 2),
               fmt(result.median_of(tool, lambda m: m.cpu_s), 2),
               fmt(result.median_of(tool, lambda m: m.output.errors if m.output else None), 0, True),
               f"{len(ok)}/{len(runs)}",
               each([m.rate for m in ok], 0, True), each([m.cpu_us_per_request for m in ok], 2),
               fmt(result.median_of(tool, lambda m: m.client_cpu_softirq_pct), 0),
               fmt(result.median_of(tool, lambda m: m.client_cpu_other_pct), 0),
               fmt(result.median_of(tool, lambda m: m.server_cpu_busy_pct), 0)]
        lines.append("| " + " | ".join(row) + " |")
        if tool == "z6" and ok:
            startup = result.median_of(tool, lambda m: m.output.startup_cpu_s if m.output else None)
            run_cpu = result.median_of(tool, lambda m: m.cpu_s - (m.output.startup_cpu_s or 0.0)
                                       if m.output else None)
            row = ["z6, start-up excluded", "", fmt(result.median_of(tool, lambda m: m.run_cpu_us_per_request), 2),
                   f"{fmt(run_cpu, 2)} (start-up {fmt(startup, 2)} s left out)",
                   "", "", "", each([m.run_cpu_us_per_request for m in ok], 2), "", "", ""]
            lines.append("| " + " | ".join(row) + " |")
    return lines


def latency_table(result: PassResult, tools: dict[str, Tool]) -> list[str]:
    wrk_p50 = result.median_of("wrk", lambda m: m.output.p50_ms if m.output else None)
    lines = [f"### {result.title}", "",
             "| tool | p50 ms | p50 − wrk's p50, ms | req/s | errors | runs ok | p50 ms, each run | p50 resolution |",
             "|---|---:|---:|---:|---:|---|---|---|"]
    for tool, runs in result.runs.items():
        ok = result.ok_runs(tool)
        p50 = result.median_of(tool, lambda m: m.output.p50_ms if m.output else None)
        diff = p50 - wrk_p50 if p50 is not None and wrk_p50 is not None else None
        row = [tool, fmt(p50, 3), "" if tool == "wrk" else (f"{diff:+.3f}" if diff is not None else "–"),
               fmt(result.median_of(tool, lambda m: m.rate), 0, True),
               fmt(result.median_of(tool, lambda m: m.output.errors if m.output else None), 0, True),
               f"{len(ok)}/{len(runs)}", each([m.output.p50_ms if m.output else None for m in ok], 3),
               tools[tool].p50_resolution]
        lines.append("| " + " | ".join(row) + " |")
    return lines


def verdict(measured: Optional[float], within: Callable[[float], bool]) -> str:
    if measured is None:
        return "not measured"
    return "meets the target" if within(measured) else "misses the target"


def targets_table(throughput: PassResult, latency: Optional[PassResult]) -> list[str]:
    def cpu(tool: str, run_only: bool = False) -> Optional[float]:
        if run_only:
            return throughput.median_of(tool, lambda m: m.run_cpu_us_per_request)
        return throughput.median_of(tool, lambda m: m.cpu_us_per_request)

    def ratio(a: Optional[float], b: Optional[float]) -> Optional[float]:
        return a / b if a is not None and b else None

    rows = [
        ("z6 CPU per request ÷ wrk's", ratio(cpu("z6"), cpu("wrk")), f"≤ {TARGET_CPU_VS_WRK}x",
         lambda r: r <= TARGET_CPU_VS_WRK, "x"),
        ("same, z6's start-up excluded", ratio(cpu("z6", True), cpu("wrk")), f"≤ {TARGET_CPU_VS_WRK}x",
         lambda r: r <= TARGET_CPU_VS_WRK, "x"),
        ("Locust CPU per request ÷ z6's", ratio(cpu("locust"), cpu("z6")), f"≥ {TARGET_CPU_VS_LOCUST:.0f}x",
         lambda r: r >= TARGET_CPU_VS_LOCUST, "x"),
    ]
    lines = ["### Against issue 3's targets (medians)", "",
             "| comparison | measured | target | |", "|---|---:|---|---|"]
    for label, value, target, within, unit in rows:
        lines.append(f"| {label} | {fmt(value, 2)}{unit if value is not None else ''} | {target} "
                     f"| {verdict(value, within)} |")
    if latency is not None:
        z6_p50 = latency.median_of("z6", lambda m: m.output.p50_ms if m.output else None)
        wrk_p50 = latency.median_of("wrk", lambda m: m.output.p50_ms if m.output else None)
        diff = z6_p50 - wrk_p50 if z6_p50 is not None and wrk_p50 is not None else None
        lines.append(f"| z6 p50 − wrk's p50, 10 ms endpoint | "
                     f"{f'{diff:+.3f} ms' if diff is not None else '–'} | within ±{TARGET_P50_VS_WRK_MS} ms "
                     f"| {verdict(diff, lambda d: abs(d) <= TARGET_P50_VS_WRK_MS)} |")
    return lines


def machine_lines(args: argparse.Namespace, versions: dict[str, str], delay_server: str,
                  affinity: str, load_start: tuple[float, ...]) -> list[str]:
    model = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    now = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    load_end = os.getloadavg()
    argv = " ".join(["python", "benchmarks/peers.py", *sys.argv[1:]])
    return [
        "## z6 beside wrk, hey and Locust",
        "",
        f"Measured {now} with `{argv}`: {args.duration} s per run, {args.repeat} repetition(s),",
        "medians over the repetitions (each column's median on its own).",
        "",
        f"- Machine: `nproc` = {len(os.sched_getaffinity(0))}, CPU model \"{model}\", "
        f"{platform.system()} {platform.release()}, Python {platform.python_version()}.",
        f"- Load average (1/5/15 min) at start {'/'.join(f'{v:.2f}' for v in load_start)}, "
        f"at end {'/'.join(f'{v:.2f}' for v in load_end)}.",
        f"- Load generators pinned to CPU {args.client_cpu} (`taskset -c {args.client_cpu}`); nginx: one worker, "
        f"`worker_cpu_affinity` CPU {args.server_cpu} ({affinity}).",
        f"- 10 ms endpoint: {delay_server}.",
        "- Versions: " + ", ".join(f"{v}" for v in versions.values()) + ".",
        "- CPU = user+sys of the load generator's whole process tree (`wait4`), start-up included;",
        "  CPU µs/request = CPU / completed requests. From `/proc/stat` during each run: \"client CPU",
        "  softirq\" = the client CPU's softirq share (not charged to any process: mostly loopback",
        "  packet delivery); \"client CPU, other work\" = its remaining busy share beyond the generator's",
        "  own CPU time (other processes: noise); \"server CPU busy\" = nginx plus anything else on it.",
        "",
    ]
