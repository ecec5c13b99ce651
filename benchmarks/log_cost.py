"""What the event log costs a run, beside the run without it (issue 17's goals).

    PYTHONPATH=src:python python benchmarks/log_cost.py scale [--vus 1000000]
    PYTHONPATH=src:python python benchmarks/log_cost.py live [--rounds 4 --duration 10 --vus 50]

``scale``: ``z6 run benchmarks/scenarios/scale.toml --simulate --vus N --quiet --out DIR``
as a new user runs it (a child process: wall time, CPU, peak RSS from ``wait4``), the
log's size and bytes per event, then ``z6 analyze DIR`` the same way. The parent is a
small script, so the child's ``ru_maxrss`` (which starts from the parent's peak on
Linux, see benchmarks/README.md) is the child's own to within a few MiB.

``live``: 50 VUs, no think time, against nginx on CPU 1, z6 in this process on CPU 0;
rounds of the same run with the log off (``out_dir=None``) and on (a run directory),
interleaved. CPU µs per request is this process's user + system time (every thread:
the driver and the log's writer) over the requests the run issued.

Figures only: nothing here passes or fails on speed.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _z6bench import REPO, SCENARIOS, ensure_importable

sys.path.insert(0, str(Path(__file__).resolve().parent / "peers"))


def _child(argv: list[str], env: dict[str, str]) -> dict:
    started = time.perf_counter()
    proc = subprocess.Popen(argv, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - started
    out, err = proc.stdout.read(), proc.stderr.read()
    proc.stdout.close()
    proc.stderr.close()
    code = os.waitstatus_to_exitcode(status)
    if code not in (0, 1):
        raise SystemExit(f"{' '.join(argv)} exited {code}:\n{err.decode()[-2000:]}")
    return {"wall_s": wall, "cpu_s": usage.ru_utime + usage.ru_stime, "peak_rss_mib": usage.ru_maxrss / 1024,
            "stdout": out.decode()}


def _env() -> dict[str, str]:
    env = dict(os.environ)
    paths = [str(REPO / "python"), str(REPO / "src")]
    env["PYTHONPATH"] = os.pathsep.join(paths + [env["PYTHONPATH"]] if env.get("PYTHONPATH") else paths)
    return env


def scale(vus: int, keep: bool) -> dict:
    workdir = Path(tempfile.mkdtemp(prefix="z6-log-cost-"))
    out = workdir / "run"
    env = _env()
    z6 = [sys.executable, "-m", "z6"]
    try:
        run = _child(z6 + ["run", str(SCENARIOS / "scale.toml"), "--simulate", "--vus", str(vus), "--quiet",
                           "--out", str(out), "--json"], env)
        document = json.loads(run.pop("stdout"))
        events = document["summary"]["events"]
        log_bytes = (out / "events.z6log").stat().st_size
        analyze = _child(z6 + ["analyze", str(out), "--format", "json"], env)
        analysis = json.loads(analyze.pop("stdout"))
        if analysis["overall"]["requests"] != document["summary"]["requests"]:
            raise SystemExit("z6 analyze disagrees with the run's summary on the request count")
        return {"vus": vus, "events": events, "run": run, "writer_stalled_s": document["run"].get("writer_stalled_s"),
                "log_bytes": log_bytes, "bytes_per_event": log_bytes / events, "analyze": analyze}
    finally:
        if keep:
            print(f"kept {workdir}", file=sys.stderr)
        else:
            shutil.rmtree(workdir, ignore_errors=True)


def _cpu_s() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def live(rounds: int, duration_s: float, vus: int) -> dict:
    ensure_importable()
    import z6
    from _peers_servers import Nginx

    workdir = Path(tempfile.mkdtemp(prefix="z6-log-cost-live-"))
    nginx = Nginx(workdir, server_cpu=1, echo_module=None)
    os.sched_setaffinity(0, {0})
    figures: dict[str, list[float]] = {"off": [], "on": []}
    rates: dict[str, list[float]] = {"off": [], "on": []}
    try:
        nginx.start()
        text = (f'[runtime]\nduration_seconds = {duration_s}\nvus = {vus}\nprng_seed = 1\n'
                f'[target]\nbase_url = "{nginx.base_url}"\n'
                f'[[requests]]\nname = "get"\nmethod = "GET"\npath = "/"\n'
                f'[think_time]\ntype = "constant"\nduration_ms = 0\n')
        path = workdir / "live.toml"
        path.write_text(text)
        scenario = z6.load_scenario(path)
        for r in range(rounds):
            for mode in (("off", "on") if r % 2 == 0 else ("on", "off")):
                out_dir = workdir / f"run-{r}-{mode}" if mode == "on" else None
                before = _cpu_s()
                result = z6.run_scenario(scenario, out_dir=out_dir)
                cpu = _cpu_s() - before
                requests = result.summary.overall.requests
                figures[mode].append(cpu / requests * 1e6)
                rates[mode].append(requests / duration_s)
                if out_dir is not None:
                    shutil.rmtree(out_dir)
                print(f"round {r} log {mode}: {requests} requests, {cpu / requests * 1e6:.2f} µs CPU/request",
                      file=sys.stderr)
    finally:
        nginx.stop()
        shutil.rmtree(workdir, ignore_errors=True)
    off, on = statistics.median(figures["off"]), statistics.median(figures["on"])
    return {"rounds": rounds, "duration_s": duration_s, "vus": vus, "cpu_us_per_request": figures,
            "requests_per_s": rates, "median_off": off, "median_on": on, "on_over_off": on / off}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="case", required=True)
    s = sub.add_parser("scale")
    s.add_argument("--vus", type=int, default=1_000_000)
    s.add_argument("--keep", action="store_true", help="keep the run directory")
    lv = sub.add_parser("live")
    lv.add_argument("--rounds", type=int, default=4)
    lv.add_argument("--duration", type=float, default=10.0)
    lv.add_argument("--vus", type=int, default=50)
    args = parser.parse_args()
    figures = scale(args.vus, args.keep) if args.case == "scale" else live(args.rounds, args.duration, args.vus)
    print(json.dumps(figures, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
