"""The open model's ceiling: the highest constant arrival rate z6 holds, beside wrk's closed loop.

    python benchmarks/open_model.py                    # 10 s per run
    python benchmarks/open_model.py --duration 3       # quicker, less exact
    python benchmarks/open_model.py --rates 5000,10000,20000

nginx (one worker, `GET /` answering 3 bytes, access log off) is pinned to the server
CPU, z6 and wrk to the client CPU (``taskset``). wrk runs closed-loop for the same
duration (50 connections, 1 thread): its request rate is the machine's ceiling for a
keep-alive GET /. Then z6 runs `type = "arrival_rate"` schedules, constant arrivals,
at rising rates (every rate is run, so that a machine busy with something else
shows as scattered misses rather than ending the search; the search stops once the
achieved rate falls 5% short); a rate is **held** when

* the requests issued over the schedule are within 0.5% of ``rate x duration``
  (an arrival z6 drops because its pool of ``max_vus`` was busy counts against it), and
* the p99 schedule lag (first byte written minus the arrival's instant, summary.json's
  ``lag_ms``) is below 1 ms.

For each run it prints the achieved rate, the lag p99, the response-time p99, the
drops and z6's CPU per request (user + sys of the ``z6 run`` process tree from
``wait4``, start-up included, divided by the requests). Nothing here is a pass/fail
check: the script reports. Exit codes: 0 done, 2 bad option, 3 the benchmark could
not run (no nginx, wrk or taskset).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import resource
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Optional

sys.path.insert(0, str(Path(__file__).resolve().parent / "peers"))

from _peers_proc import BenchError  # noqa: E402
from _peers_servers import Nginx  # noqa: E402

EXIT_OK, EXIT_RUNTIME = 0, 3
HOLD_RATE_TOLERANCE = 0.005
HOLD_LAG_P99_MS = 1.0

SCENARIO = """
[runtime]
prng_seed = 1
[target]
base_url = "{url}"
[[requests]]
name = "root"
method = "GET"
path = "/"
[schedule]
type = "arrival_rate"
rate = {rate}
duration_seconds = {duration}
vus = 50
max_vus = 2000
[assertions]
default = false
"""


def children_cpu_s() -> float:
    # The CPU of every child reaped so far (wait4's rusage, summed by the kernel), so
    # the delta around one run is that run's process tree, start-up included.
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def wrk_rate(url: str, duration: int, cpu: int) -> float:
    done = subprocess.run(["taskset", "-c", str(cpu), "wrk", "-t1", "-c50", f"-d{duration}s", url],
                          capture_output=True, text=True, timeout=duration + 60)
    found = re.search(r"Requests/sec:\s+([0-9.]+)", done.stdout)
    if done.returncode != 0 or not found:
        raise BenchError(f"wrk failed: {done.stdout}{done.stderr}")
    return float(found.group(1))


def z6_run(url: str, rate: int, duration: int, cpu: int, workdir: Path) -> dict:
    scenario = workdir / f"open-{rate}.toml"
    scenario.write_text(SCENARIO.format(url=url, rate=rate, duration=duration))
    out = workdir / f"run-{rate}"
    shutil.rmtree(out, ignore_errors=True)
    before = children_cpu_s()
    done = subprocess.run(["taskset", "-c", str(cpu), sys.executable, "-m", "z6", "run", str(scenario),
                           "--out", str(out)], capture_output=True, text=True, timeout=duration + 120)
    cpu_s = children_cpu_s() - before
    if done.returncode not in (0, 1):
        raise BenchError(f"z6 run failed ({done.returncode}): {done.stderr.strip()}")
    doc = json.loads((out / "summary.json").read_text())
    requests = doc["summary"]["requests"]
    return {
        "rate": rate,
        "issued": requests,
        "achieved_share": requests / (rate * duration),
        "dropped": doc["open_model"]["dropped_iterations"],
        "lag_p99_ms": doc["lag_ms"]["p99"],
        "response_p99_ms": doc["open_model"]["response_time_ms"]["p99"],
        "cpu_us_per_request": cpu_s * 1e6 / requests if requests else None,
    }


def held(run: dict) -> bool:
    return (abs(run["achieved_share"] - 1) <= HOLD_RATE_TOLERANCE and run["lag_p99_ms"] is not None
            and run["lag_p99_ms"] < HOLD_LAG_P99_MS)


def main(argv: Optional[list[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=int, default=10, help="seconds per run (default 10)")
    parser.add_argument("--rates", default="5000,10000,15000,20000,25000,30000,40000,50000",
                        help="comma-separated arrival rates to try, ascending")
    parser.add_argument("--client-cpu", type=int, default=0)
    parser.add_argument("--server-cpu", type=int, default=1)
    args = parser.parse_args(argv)
    try:
        rates = [int(r) for r in args.rates.split(",")]
    except ValueError:
        parser.error(f"--rates must be comma-separated integers, got {args.rates!r}")
    if args.duration < 1 or any(r < 1 for r in rates):
        parser.error("--duration and every rate must be positive")
    for tool in ("nginx", "wrk", "taskset"):
        if shutil.which(tool) is None:
            print(f"open_model.py: {tool} is not on PATH", file=sys.stderr)
            return EXIT_RUNTIME
    with tempfile.TemporaryDirectory(prefix="z6-open-bench-") as tmp:
        workdir = Path(tmp)
        nginx = Nginx(workdir, args.server_cpu, None)
        try:
            nginx.start()
            url = nginx.base_url + "/"
            print(f"machine: {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.2f} at the start")
            ceiling = wrk_rate(url, args.duration, args.client_cpu)
            print(f"wrk closed loop (50 connections, 1 thread, {args.duration} s): {ceiling:,.0f} req/s")
            print()
            print("| rate /s | issued | achieved | dropped | lag p99 ms | response p99 ms | CPU µs/req | held |")
            print("|---:|---:|---:|---:|---:|---:|---:|---|")
            best = None
            for rate in rates:
                run = z6_run(url, rate, args.duration, args.client_cpu, workdir)
                ok = held(run)
                print(f"| {rate:,} | {run['issued']:,} | {run['achieved_share']:.2%} | {run['dropped']:,} "
                      f"| {run['lag_p99_ms']:.3f} | {run['response_p99_ms']:.3f} "
                      f"| {run['cpu_us_per_request']:.2f} | {'yes' if ok else 'no'} |", flush=True)
                if ok and (best is None or rate > best["rate"]):
                    best = run
                if run["achieved_share"] < 1 - 10 * HOLD_RATE_TOLERANCE:
                    break   # far past what z6 can send here: higher rates say nothing more
            print()
            if best is None:
                print("no rate held")
            else:
                print(f"highest rate held: {best['rate']:,}/s = {best['rate'] / ceiling:.0%} of wrk's closed-loop "
                      f"{ceiling:,.0f} req/s; z6 CPU {best['cpu_us_per_request']:.2f} µs per request there")
            print(f"load average {os.getloadavg()[0]:.2f} at the end")
        except BenchError as exc:
            print(f"open_model.py: {exc}", file=sys.stderr)
            return EXIT_RUNTIME
        finally:
            nginx.stop()
    return EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
