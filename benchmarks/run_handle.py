"""What a run handle (`z6.start`, docs/api.md) changes for a front end: figures only.

Against nginx on loopback (started here, as the live tests do), a constant live
run of ``--vus`` VUs for ``--seconds``:

* ``slow reader``: a reader that takes ``--reader-ms`` per chunk, once as a
  ``consumers=`` callable on the run's thread (what every consumer was before the
  handle) and once reading ``chunks()`` from another thread through a one-chunk
  queue; reported: requests sent, schedule lag p99, chunks missed; and the run
  with no reader at all;
* ``event loop``: a 5 ms asyncio ticker while the coroutine awaits the run, once
  with ``await z6.start(...)`` and once calling ``run_scenario`` in the coroutine
  (which blocks the loop): the ticker's worst gap;
* ``stop``: from ``stop()`` on another thread to the result, live and simulated;
* ``stats()``: the time one call takes, mid-run (simulated; the core's snapshot).

Nothing is asserted.

    PYTHONPATH=src:python python benchmarks/run_handle.py
    PYTHONPATH=src:python python benchmarks/run_handle.py --vus 50 --seconds 5 --json
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

from _z6bench import REPO, ensure_importable

ensure_importable()
sys.path.insert(0, str(REPO / "tests"))

import z6  # noqa: E402
from live.servers import require_nginx, start_nginx  # noqa: E402

SIMULATED = REPO / "examples" / "simulated.toml"


def scenario(base_url: str, vus: int, seconds: float, think_ms: float) -> z6.Scenario:
    return z6.parse_scenario(f"""
[metadata]
name = "bench-handle"
[runtime]
duration_seconds = {seconds}
vus = {vus}
[target]
base_url = "{base_url}"
[[requests]]
name = "r"
method = "GET"
path = "/"
[think_time]
type = "constant"
duration_ms = {think_ms}
""", source="bench-handle.toml")


def figures(result: z6.RunResult) -> dict[str, float]:
    return {"requests": result.summary.overall.requests, "lag_p99_ms": result.summary.lag.percentiles["p99"] or 0.0,
            "chunks_missed": result.chunks_missed}


def slow_reader(base_url: str, args: argparse.Namespace) -> dict[str, dict[str, float]]:
    sc = scenario(base_url, args.vus, args.seconds, args.think_ms)
    pause = args.reader_ms / 1000
    out = {"none": figures(z6.start(sc, keep_events=False).result())}
    out["consumer on the run's thread"] = figures(
        z6.run_scenario(sc, keep_events=False, consumers=[lambda chunk: time.sleep(pause)]))
    run = z6.start(sc, keep_events=False, chunk_queue=1)
    for _ in run.chunks():
        time.sleep(pause)
    out["chunks() reader"] = figures(run.result())
    return out


def event_loop(base_url: str, args: argparse.Namespace) -> dict[str, float]:
    sc = scenario(base_url, args.vus, args.seconds, 0)

    async def watch(blocking: bool) -> float:
        gaps: list[float] = []
        done = asyncio.Event()

        async def ticker() -> None:
            last = time.perf_counter()
            while not done.is_set():
                await asyncio.sleep(0.005)
                now = time.perf_counter()
                gaps.append(now - last)
                last = now

        task = asyncio.create_task(ticker())
        await asyncio.sleep(0.05)
        if blocking:
            z6.run_scenario(sc, keep_events=False)
        else:
            await z6.start(sc, keep_events=False)
        done.set()
        await task
        return max(gaps) * 1e3

    return {"await z6.start(...): worst gap ms": asyncio.run(watch(False)),
            "run_scenario in the coroutine: worst gap ms": asyncio.run(watch(True))}


def stop_latency(base_url: str) -> dict[str, float]:
    out = {}
    for name, run_it in (("live", lambda: z6.start(scenario(base_url, 50, 60, 10), keep_events=False)),
                         ("simulated", lambda: z6.start(SIMULATED, vus=2000, duration_s=3600, keep_events=False))):
        run = run_it()
        time.sleep(1.0)
        t0 = time.perf_counter()
        threading.Thread(target=run.stop).start()
        result = run.result()
        out[f"{name}: stop() to result ms"] = (time.perf_counter() - t0) * 1e3
        out[f"{name}: status"] = result.status
    return out


def stats_cost() -> dict[str, float]:
    run = z6.start(SIMULATED, vus=2000, duration_s=3600, keep_events=False)
    time.sleep(1.0)
    times = []
    responses = 0
    for _ in range(20):
        t0 = time.perf_counter()
        responses = run.stats().completed
        times.append(time.perf_counter() - t0)
    run.stop()
    run.result()
    return {"stats() median ms": statistics.median(times) * 1e3, "responses so far": responses}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--vus", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=5)
    parser.add_argument("--think-ms", type=float, default=10)
    parser.add_argument("--reader-ms", type=float, default=200)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    require_nginx()
    with tempfile.TemporaryDirectory() as tmp:
        nginx = start_nginx(Path(tmp), access_log=False) if "access_log" in start_nginx.__code__.co_varnames \
            else start_nginx(Path(tmp))
        try:
            report = {
                "slow reader": slow_reader(nginx.base_url, args),
                "event loop": event_loop(nginx.base_url, args),
                "stop": stop_latency(nginx.base_url),
                "stats": stats_cost(),
            }
        finally:
            nginx.stop()
    if args.json:
        print(json.dumps(report, indent=2))
        return
    for section, rows in report.items():
        print(section)
        for key, value in rows.items():
            print(f"  {key:45s} {value}")


if __name__ == "__main__":
    main()
