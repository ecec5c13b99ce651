"""Scale-out benchmark: one run over 1 and 2 local worker processes.

    PYTHONPATH=src:python python benchmarks/distributed.py sim  [--vus 1000000] [--repeat 2]
    PYTHONPATH=src:python python benchmarks/distributed.py live [--seconds 10] [--vus 50] [--repeat 2]

sim: benchmarks/scenarios/scale.toml (1 s think, lognormal 20/80 ms latency, 1 ms
ticks, 60 simulated s) at --vus, each case in a fresh coordinator process, as one
process (the baseline), ``--workers 1`` and ``--workers 2``, twice: ``events`` (the
engines and the coordinator's merge, the merged stream consumed by nothing) and
``summary`` (z6.run_scenario: the full summary, as `z6 run` computes it; --log
also streams the event log to a temporary directory). Reported: the
coordinator's wall time from compiling the plan to the finished summary, the
speed-up over --workers 1, the coordinator's peak RSS (VmHWM, bounded whatever the
run's length) and the CPU seconds of the coordinator and of its shard processes.

live: nginx (one worker pinned to CPU 1, access log off) on 127.0.0.1, --vus VUs
with no think time for --seconds, as ``--workers 1`` and ``--workers 2``;
reported: requests per second and the CPU seconds of nginx, the coordinator and
the shards, so what saturates is visible.

Nothing here asserts on speed; the figures go to docs/performance.md (h).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _z6bench import SCENARIOS, ensure_importable
from scale import peak_rss_kib

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH / "peers"))
from _peers_proc import z6_env  # noqa: E402


def _child_cpu_s() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _self_cpu_s() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _events_only(scenario, vus: int, workers: int) -> dict:
    # The engines and the merge, nothing consuming the merged stream: the part
    # of a run that scale-out spreads over processes.
    import z6
    from z6.distributed import LocalProcesses, run_distributed
    from z6.runner import run_plan

    started = time.perf_counter()
    plan = z6.compile_plan(scenario, vus=vus)
    if workers:
        with LocalProcesses(workers) as backend:
            stats, _ = run_distributed(plan, [], backend)
    else:
        stats = run_plan(plan, [])
    return {"wall_s": time.perf_counter() - started, "events": stats.events, "requests": stats.requests_issued}


def case(scenario_path: str, vus: int, workers: int, log_dir: str, duration: float | None, mode: str) -> dict:
    """One run in this process (the child's job): its figures as a dict."""
    ensure_importable()
    import z6

    scenario = z6.load_scenario(scenario_path)
    if mode == "events":
        row = _events_only(scenario, vus, workers)
        row.update(mode=mode, workers=workers, vus=vus, coordinator_cpu_s=_self_cpu_s(),
                   shards_cpu_s=_child_cpu_s(), coordinator_peak_rss_mib=peak_rss_kib() / 1024)
        return row
    started = time.perf_counter()
    result = z6.run_scenario(scenario, vus=vus, duration_s=duration, workers=workers or None,
                             out_dir=log_dir or None, keep_events=False)  # the coordinator's RSS without a copy
    wall = time.perf_counter() - started
    return {
        "mode": mode,
        "workers": workers,
        "vus": vus,
        "wall_s": wall,
        "events": result.summary.events,
        "requests": result.summary.overall.requests,
        "rate": result.summary.rate,
        "failed": result.summary.overall.failed,
        "duration_s": result.summary.duration_s,
        "coordinator_cpu_s": _self_cpu_s(),
        "shards_cpu_s": _child_cpu_s(),
        "coordinator_peak_rss_mib": peak_rss_kib() / 1024,
        "lost": len(result.scale_out.lost) if result.scale_out else 0,
    }


def _run_case(args: list[str]) -> dict:
    out = subprocess.run([sys.executable, __file__, "case", *args], capture_output=True, text=True, env=z6_env(),
                         check=False)
    if out.returncode != 0:
        raise SystemExit(f"case {args} failed:\n{out.stderr}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def _sim(opts: argparse.Namespace) -> list[dict]:
    rows = []
    for rep in range(opts.repeat):
        for mode, workers in (("events", 0), ("events", 1), ("events", 2), ("summary", 0), ("summary", 1),
                              ("summary", 2)):
            with tempfile.TemporaryDirectory() as tmp:
                log = str(Path(tmp) / "run") if opts.log else ""
                row = _run_case([str(SCENARIOS / "scale.toml"), str(opts.vus), str(workers), log, "", mode])
            row["rep"] = rep
            rows.append(row)
            print(json.dumps(row), flush=True)
    return rows


def _live(opts: argparse.Namespace) -> list[dict]:
    from _peers_servers import Nginx

    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        nginx = Nginx(Path(tmp), server_cpu=1, echo_module=None)
        nginx.start()
        try:
            scenario = Path(tmp) / "live.toml"
            scenario.write_text(f"""
[metadata]
name = "distributed-live"
[runtime]
duration_seconds = {opts.seconds}
vus = {opts.vus}
prng_seed = 42
[target]
base_url = "{nginx.base_url}"
[[requests]]
name = "root"
method = "GET"
path = "/"
[think_time]
type = "constant"
duration_ms = 0
""")
            for rep in range(opts.repeat):
                for workers in (0, 1, 2):
                    before = _nginx_cpu_s(nginx.proc.pid)
                    row = _run_case([str(scenario), str(opts.vus), str(workers), "", str(opts.seconds), "summary"])
                    row["nginx_cpu_s"] = _nginx_cpu_s(nginx.proc.pid) - before
                    row["rep"] = rep
                    rows.append(row)
                    print(json.dumps(row), flush=True)
        finally:
            nginx.stop()
    return rows


def _nginx_cpu_s(master: int) -> float:
    # The master and its worker(s): utime + stime from /proc, in clock ticks.
    pids = [master]
    try:
        for task in os.listdir(f"/proc/{master}/task"):
            pids += [int(c) for c in open(f"/proc/{master}/task/{task}/children").read().split()]
    except OSError:
        pass
    total = 0
    for pid in pids:
        try:
            fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])
    return total / os.sysconf("SC_CLK_TCK")


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "case":
        path, vus, workers, log, duration, mode = sys.argv[2:8]
        print(json.dumps(case(path, int(vus), int(workers), log, float(duration) if duration else None, mode)))
        return
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("what", choices=("sim", "live"))
    parser.add_argument("--vus", type=int)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument("--log", action="store_true", help="sim: also write the event log")
    opts = parser.parse_args()
    if opts.vus is None:
        opts.vus = 1_000_000 if opts.what == "sim" else 50
    rows = _sim(opts) if opts.what == "sim" else _live(opts)
    print(json.dumps({"what": opts.what, "rows": rows}))


if __name__ == "__main__":
    main()
