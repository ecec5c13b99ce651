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
* ``quiet``: the same with ``--quiet`` (no progress view).

Wall and CPU (user + system of the process: the log writer's thread included)
of each, the rounds interleaved; the median ratio run/engine is the figure.
Nothing asserts on speed.

    PYTHONPATH=src:python python benchmarks/whole_run.py [--repeat 5] [--scenario FILE]
"""

from __future__ import annotations

import argparse
import contextlib
import io
import pathlib
import statistics
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

    figures: dict[str, list[tuple[float, float]]] = {"engine": [], "summary": [], "run": [], "quiet": []}
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
    print(f"{args.scenario}: {events:,} events, {args.repeat} rounds (wall s / CPU s)")
    engine_wall = statistics.median(w for w, _ in figures["engine"])
    for name, rows in figures.items():
        walls = ", ".join(f"{w:.3f}/{c:.3f}" for w, c in rows)
        median = statistics.median(w for w, _ in rows)
        print(f"{name:>8}: median wall {median:.3f} s = {median / engine_wall:.2f}x the engine  [{walls}]")
    ratios = [r[0] / e[0] for r, e in zip(figures["run"], figures["engine"])]
    print(f"run/engine per round: {', '.join(f'{r:.2f}' for r in ratios)}; median {statistics.median(ratios):.2f}")


if __name__ == "__main__":
    main()
