"""Event-log memory benchmark: 50 million simulated events streamed through the writer.

    PYTHONPATH=src:python python benchmarks/log_memory.py
    PYTHONPATH=src:python python benchmarks/log_memory.py --events 5000000 --json
    PYTHONPATH=src:python python benchmarks/log_memory.py --dir /var/tmp --keep

Two fresh child processes, so each peak RSS is its own:

* write: a simulated run (10,000 VUs, 10 ms constant think time, 10 ms constant
  latency: about 1 million events per simulated second) handed chunk by chunk
  (the runner's 65,536 records) to `z6.log.EventLogWriter`, then `finish()`.
* read: `z6.log.read_log` (every chunk's CRC checked), then every chunk read with
  `iter_chunks()` and hashed, the digest compared with the footer's.

The figure is each child's VmHWM (/proc/self/status), read just before it exits;
ru_maxrss is recorded too (see benchmarks/scale.py for why it is not the figure:
Linux carries the parent's peak into the child). The target is a write peak below
300 MB however long the run: the writer keeps counters and a running digest,
never the chunks beyond its queue of 4. The log (format 2: compressed columns, a few MB
for 50 million of these events; format 1 took 32 bytes an event, 1.6 GB) is written
to a temporary directory and removed unless --keep. Nothing here asserts on speed.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

from _z6bench import ensure_importable, rate
from scale import _rss_kib_self, peak_rss_kib

TARGET_PEAK_BYTES = 300 * 1000 * 1000
VUS = 10_000
CYCLE_S = 0.020  # 10 ms think + 10 ms latency: two events (issued, received) per VU per cycle

SCENARIO = """
[runtime]
duration_seconds = {duration}
vus = {vus}
prng_seed = 42

[target]
base_url = "http://127.0.0.1:8080"

[[requests]]
name = "get"
method = "GET"
path = "/"

[think_time]
type = "constant"
duration_ms = 10

[simulation]
latency = {{ type = "constant", ms = 10 }}
"""


def _duration_for(events: int) -> float:
    # Each VU emits 2 events a cycle, plus spawned/ready/complete once.
    return round((events - 3 * VUS) / (2 * VUS) * CYCLE_S, 3)


def write_case(directory: str, events: int) -> dict:
    ensure_importable()
    import z6
    from z6.log import EventLogWriter, make_header
    from z6.runner import run_plan

    baseline_kib = peak_rss_kib()
    scenario = z6.parse_scenario(SCENARIO.format(duration=_duration_for(events), vus=VUS), source="log_memory.toml")
    plan = z6.compile_plan(scenario)
    started = time.perf_counter()
    writer = EventLogWriter(directory, make_header(scenario, plan))
    stats = run_plan(plan, [writer])
    path = writer.finish()
    wall_s = time.perf_counter() - started
    size = os.path.getsize(path)
    return {
        "phase": "write",
        "events": stats.events,
        "log_bytes": size,
        "wall_s": wall_s,
        "events_per_s": rate(stats.events, wall_s),
        "mb_per_s": rate(size / 1e6, wall_s),
        "baseline_rss_kib": baseline_kib,
        "peak_rss_kib": peak_rss_kib(),
        "self_maxrss_kib": _rss_kib_self(),
    }


def read_case(directory: str) -> dict:
    ensure_importable()
    from z6.log import read_log

    baseline_kib = peak_rss_kib()
    started = time.perf_counter()
    log = read_log(directory)
    opened_s = time.perf_counter() - started
    digest = hashlib.sha256()
    records = 0
    for chunk in log.iter_chunks():
        digest.update(chunk)
        records += chunk.size
    wall_s = time.perf_counter() - started
    if log.footer is None or digest.hexdigest() != log.footer.digest or records != log.footer.records:
        raise SystemExit("read back a different log than was written")
    return {
        "phase": "read",
        "events": records,
        "open_verify_s": opened_s,
        "wall_s": wall_s,
        "events_per_s": rate(records, wall_s),
        "baseline_rss_kib": baseline_kib,
        "peak_rss_kib": peak_rss_kib(),
        "self_maxrss_kib": _rss_kib_self(),
    }


def _child(phase: str, directory: str, events: int) -> dict:
    cmd = [sys.executable, os.path.abspath(__file__), "--child", phase, "--dir", directory, "--events", str(events)]
    proc = subprocess.run(cmd, stdout=subprocess.PIPE, check=False)
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} exited with {proc.returncode}")
    return json.loads(proc.stdout)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--events", type=int, default=50_000_000, help="events to simulate (default 50 million)")
    ap.add_argument("--dir", help="where to write the log (default: a new temporary directory)")
    ap.add_argument("--keep", action="store_true", help="keep the log afterwards")
    ap.add_argument("--json", action="store_true", help="print one JSON object per phase")
    ap.add_argument("--child", choices=("write", "read"), help=argparse.SUPPRESS)
    args = ap.parse_args(argv)

    if args.child == "write":
        print(json.dumps(write_case(args.dir, args.events)))
        return 0
    if args.child == "read":
        print(json.dumps(read_case(args.dir)))
        return 0

    directory = tempfile.mkdtemp(prefix="z6-log-memory-", dir=args.dir)
    try:
        results = [_child("write", directory, args.events), _child("read", directory, args.events)]
    finally:
        if not args.keep:
            shutil.rmtree(directory, ignore_errors=True)
    for r in results:
        if args.json:
            print(json.dumps(r))
            continue
        print(f"{r['phase']:>5}: {r['events']:,} events in {r['wall_s']:.2f} s ({r['events_per_s'] / 1e6:.1f} M/s); "
              f"peak RSS {r['peak_rss_kib'] / 1024:.0f} MiB ({r['peak_rss_kib'] * 1024 / 1e6:.0f} MB; "
              f"after import {r['baseline_rss_kib'] / 1024:.0f} MiB; ru_maxrss {r['self_maxrss_kib'] / 1024:.0f} MiB)")
    if not args.json:
        write = results[0]
        print(f"log: {write['log_bytes'] / 1e6:.1f} MB, {write['log_bytes'] / write['events']:.3f} bytes an event "
              f"({write['mb_per_s']:.1f} MB/s written); "
              f"write peak target < {TARGET_PEAK_BYTES / 1e6:.0f} MB: "
              f"{'met' if write['peak_rss_kib'] * 1024 < TARGET_PEAK_BYTES else 'NOT met'}"
              + (f"; kept in {directory}" if args.keep else ""))
    return 0


if __name__ == "__main__":
    sys.exit(main())
