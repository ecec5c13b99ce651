"""Scale benchmark: N VUs, 1 s think, lognormal latency (median 20 ms, p99 80 ms),
1 ms ticks, 60 simulated seconds (benchmarks/scenarios/scale.toml, --vus overrides).

    PYTHONPATH=src:python python benchmarks/scale.py --vus 1000000
    PYTHONPATH=src:python python benchmarks/scale.py --vus 100000 --vus 1000000 --json

Each case runs in a fresh child process, so its peak RSS is its own. The figure is
the child's VmHWM (/proc/self/status: the high-water RSS of its address space since
exec), read just before it exits; its RSS right after importing z6 (before the plan
exists) is reported as the baseline. ru_maxrss is NOT used as the figure: Linux
carries the parent's peak RSS into a child across fork/vfork + exec, so
getrusage(RUSAGE_CHILDREN) / wait4() / the child's RUSAGE_SELF report at least the
parent's peak (a pytest process that ran other benchmarks first would pollute
them). Both are still recorded (`maxrss_kib`, `self_maxrss_kib`) for comparison.
Off Linux the figure falls back to ru_maxrss. Events are written into one reused
chunk buffer of 65,536 records and counted, not stored.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time

from _z6bench import CHUNK_RECORDS, SCENARIOS, drain, ensure_importable, rate

SCENARIO = SCENARIOS / "scale.toml"
SIM_SECONDS = 60.0
TARGET_WALL_S = 10.0
TARGET_RSS_BYTES = 1 << 30


def _rss_kib_self() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux


def peak_rss_kib() -> int:
    """High-water RSS of this process's own address space (KiB), not inherited from the parent."""
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except OSError:
        pass
    kib = _rss_kib_self()
    return kib // 1024 if sys.platform == "darwin" else kib  # macOS reports bytes


def run_case(vus: int, duration_s: float = SIM_SECONDS, seed: int = 42) -> dict:
    """Run one case in this process (the child's job); return its figures."""
    started = time.perf_counter()
    ensure_importable()
    import numpy as np
    import z6
    import z6core

    import_s = time.perf_counter() - started
    baseline_kib = peak_rss_kib()

    t0 = time.perf_counter()
    plan = z6.compile_plan(z6.load_scenario(SCENARIO), seed=seed, vus=vus, duration_s=duration_s)
    t1 = time.perf_counter()
    engine = z6core.Engine(plan)
    buf = np.empty(CHUNK_RECORDS, dtype=z6core.EVENT_DTYPE)
    t2 = time.perf_counter()
    events = drain(engine, buf)
    t3 = time.perf_counter()
    if events != engine.events_emitted or events == 0:
        raise SystemExit(f"event count mismatch: drained {events}, engine says {engine.events_emitted}")
    return {
        "vus": vus,
        "sim_seconds": duration_s,
        "tick_ns": int(plan.tick_ns),
        "events": int(events),
        "requests": int(engine.requests_issued),
        "final_tick": int(engine.tick),
        "import_s": import_s,
        "plan_s": t1 - t0,
        "engine_init_s": t2 - t1,
        "run_s": t3 - t2,
        "wall_s": t3 - t0,  # compile plan + build engine + run: everything after import
        "events_per_s": rate(events, t3 - t2),
        "debug_build": getattr(z6core, "DEBUG_BUILD", None),
        "baseline_rss_kib": baseline_kib,
        "peak_rss_kib": peak_rss_kib(),
        "self_maxrss_kib": _rss_kib_self(),
    }


def measure_in_subprocess(vus: int, duration_s: float = SIM_SECONDS, seed: int = 42) -> dict:
    """Run one case in a fresh interpreter; add its process wall time and wait4() ru_maxrss."""
    cmd = [sys.executable, os.path.abspath(__file__), "--child", "--vus", str(vus),
           "--duration", repr(duration_s), "--seed", str(seed)]
    env = dict(os.environ)
    started = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, env=env)
    out = proc.stdout.read()
    proc.stdout.close()
    _, status, usage = os.wait4(proc.pid, 0)
    process_s = time.perf_counter() - started
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} exited with {proc.returncode}")
    result = json.loads(out)
    result["process_s"] = process_s
    result["maxrss_kib"] = usage.ru_maxrss
    return result


def _mib(kib: int) -> float:
    return kib / 1024.0


def format_row(r: dict) -> str:
    return (f"| {r['vus']:>9,} | {r['events']:>11,} | {r['run_s']:6.2f} | {r['wall_s']:6.2f} | "
            f"{r['process_s']:6.2f} | {r['events_per_s'] / 1e6:5.1f} | "
            f"{_mib(r['peak_rss_kib']):12.0f} | {_mib(r['baseline_rss_kib']):8.0f} |")


HEADER = ("|       VUs |      events |  run s | wall s | proc s | Mev/s | peak RSS MiB | base MiB |\n"
          "|----------:|------------:|-------:|-------:|-------:|------:|-------------:|---------:|")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--vus", type=int, action="append", help="VU count (repeatable); default 100000 and 1000000")
    ap.add_argument("--duration", type=float, default=SIM_SECONDS, help="simulated seconds (default 60)")
    ap.add_argument("--seed", type=int, default=42)
    ap.add_argument("--repeat", type=int, default=1, help="fresh processes per case (default 1)")
    ap.add_argument("--json", action="store_true", help="print one JSON object per run instead of a table")
    ap.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    vus_list = args.vus or [100_000, 1_000_000]

    if args.child:
        print(json.dumps(run_case(vus_list[0], args.duration, args.seed)))
        return 0

    if not args.json:
        print(HEADER)
    for vus in vus_list:
        for _ in range(args.repeat):
            r = measure_in_subprocess(vus, args.duration, args.seed)
            if r.get("debug_build"):
                print("warning: z6core is a DEBUG build (Z6_DEBUG=1); figures are not representative",
                      file=sys.stderr)
            print(json.dumps(r) if args.json else format_row(r), flush=True)
    if not args.json:
        print("\nrun s: engine fill loop; wall s: compile plan + build engine + run; proc s: whole child "
              "process incl. interpreter start and imports; peak RSS: child's VmHWM; "
              "base: child's RSS after importing z6, before the plan.")
        print(f"targets for 1,000,000 VUs: wall < {TARGET_WALL_S:.0f} s, peak RSS < {TARGET_RSS_BYTES >> 20} MiB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
