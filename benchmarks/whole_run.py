"""The whole `z6 run` against the engine alone, on the same plan, in the same process.

Issue 17's goal: `z6 run benchmarks/scenarios/original_10k.toml --simulate`, beyond
start-up, within 2x the engine alone. Each round, in one process whose imports
are done (that is the start-up left out):

* ``engine``: the simulated engine on the scenario's plan, filling one reused
  65,536-record chunk to the end (no consumer);
* ``summary``: the runner with `z6.metrics.SummaryBuilder` as the only consumer,
  then its `finish()` (fresh chunks, as a run hands them out);
* ``run``: `z6 run FILE --simulate --out DIR` through the command line's own entry
  (`z6.cli.main`), as typed in CI: scenario, plan, engine, summary, event log on
  its writer's thread, the progress view (plain lines: stderr is no terminal),
  summary.json, the verdict;
* ``quiet``: the same with ``--quiet`` (no progress view);
* ``command``: ``python -m z6 run FILE --simulate --out DIR`` as a process of its
  own, as a user types it: start-up, the run, and the interpreter's exit;
* ``start-up``: ``python -m z6 --version`` as a process: the same imports and
  exit with nothing to run. ``command`` less ``start-up`` is the command beyond
  its start-up, which the in-process rounds cannot see (the exit's share above
  all: the interpreter's last garbage collections).

Wall and CPU (user + system of the process: the log writer's thread included;
of the child for the two processes) of each, the rounds interleaved; the median
ratio run/engine is the figure. Nothing asserts on speed.

    PYTHONPATH=src:python python benchmarks/whole_run.py [--repeat 5] [--scenario FILE]
"""

from __future__ import annotations

import argparse
import contextlib
import io
import os
import pathlib
import resource
import statistics
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))

from _z6bench import CHUNK_RECORDS, SCENARIOS, drain, ensure_importable  # noqa: E402

ensure_importable()

import numpy as np  # noqa: E402

import z6  # noqa: E402
import z6.cli  # noqa: E402
from z6.metrics import SummaryBuilder, mean_think_ms  # noqa: E402
from z6.runner import run_plan  # noqa: E402
from z6core import EVENT_DTYPE, Engine  # noqa: E402


def _timed(action) -> tuple[float, float]:
    wall, cpu = time.perf_counter(), time.process_time()
    action()
    return time.perf_counter() - wall, time.process_time() - cpu


def _child(argv: list[str]) -> tuple[float, float]:
    # The z6 this process imported, for the child too.
    import z6core

    paths = [str(pathlib.Path(module.__file__).resolve().parents[1]) for module in (z6core, z6)]
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([*paths, os.environ.get("PYTHONPATH", "")]))
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    wall = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "z6", *argv], env=env, stdout=subprocess.DEVNULL,
                          stderr=subprocess.PIPE, text=True, check=False)
    wall = time.perf_counter() - wall
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode not in (0, 1):
        raise SystemExit(f"z6 {' '.join(argv)} exited {done.returncode}: {done.stderr}")
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scenario", default=str(SCENARIOS / "original_10k.toml"))
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args(argv)
    scenario = z6.load_scenario(args.scenario)
    plan = z6.compile_plan(scenario)
    buf = np.empty(CHUNK_RECORDS, dtype=EVENT_DTYPE)
    events = 0

    def engine() -> None:
        nonlocal events
        events = drain(Engine(plan), buf)

    def summary() -> None:
        builder = SummaryBuilder(plan.request_names, plan.tick_ns, think_ms=mean_think_ms(scenario.think_time))
        run_plan(plan, [builder])
        builder.finish()

    figures: dict[str, list[tuple[float, float]]] = {"engine": [], "summary": [], "run": [], "quiet": [],
                                                     "command": [], "start-up": []}
    with tempfile.TemporaryDirectory() as tmp:
        for round_ in range(args.repeat):
            out = pathlib.Path(tmp) / f"run{round_}"

            def command(*options: str, out: pathlib.Path) -> None:
                # The terminal summary goes nowhere: printing it is not what is measured.
                with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
                    code = z6.cli.main(["run", args.scenario, "--simulate", *options, "--out", str(out)])
                if code not in (0, 1):
                    raise SystemExit(f"z6 run exited {code}")

            for name, action in (("engine", engine), ("summary", summary),
                                 ("run", lambda: command(out=out)),
                                 ("quiet", lambda: command("--quiet", out=out.with_name(out.name + "q")))):
                figures[name].append(_timed(action))
            # Processes of their own, timed by this one (their CPU is the child's).
            figures["command"].append(_child(["run", args.scenario, "--simulate",
                                              "--out", str(out.with_name(out.name + "p"))]))
            figures["start-up"].append(_child(["--version"]))
    print(f"{args.scenario}: {events:,} events, {args.repeat} rounds (wall s / CPU s)")
    engine_wall = statistics.median(w for w, _ in figures["engine"])
    for name, rows in figures.items():
        walls = ", ".join(f"{w:.3f}/{c:.3f}" for w, c in rows)
        median = statistics.median(w for w, _ in rows)
        print(f"{name:>8}: median wall {median:.3f} s = {median / engine_wall:.2f}x the engine  [{walls}]")
    ratios = [r[0] / e[0] for r, e in zip(figures["run"], figures["engine"])]
    print(f"run/engine per round: {', '.join(f'{r:.2f}' for r in ratios)}; median {statistics.median(ratios):.2f}")
    beyond = [c[0] - s[0] for c, s in zip(figures["command"], figures["start-up"])]
    print(f"command beyond start-up (command - start-up, per round): {', '.join(f'{b:.3f}' for b in beyond)} s; "
          f"median {statistics.median(beyond):.3f} s = {statistics.median(beyond) / engine_wall:.2f}x the engine")


if __name__ == "__main__":
    main()
