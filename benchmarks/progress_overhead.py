"""What the live progress view costs a run: the same simulated run with and without it.

Cases, each timed over the whole `z6.runner.run_plan` (engine + consumers):

* ``engine``: no consumer at all (the engine's own speed);
* ``summary``: `z6.SummaryBuilder`, as `z6 run` uses it;
* ``summary+quiet`` / ``summary+plain`` / ``summary+terminal``: the summary plus the
  view in each mode, as `z6 run` wires it: the progress callback, reading the
  summary's running figures (``builder.snapshot``) when it draws a line (plain
  lines and the live line go to a discarding stream);
* and the view alone, its progress callback called as after each of the run's
  chunks (one snapshot a chunk, 0.05 s of wall time apart) with the figures of a
  summary that has folded the whole run: its own CPU cost per event, the figure
  least disturbed by other work on the machine;
* what one read of the running figures costs (``SummaryBuilder.snapshot``, what a
  line or a run handle's ``stats()`` reads), by the scenario's number of request
  names: it adds up each request's HDR histogram.

Rounds are interleaved (every case once per round) so drift in the machine's
speed spreads over all cases; min and median wall and process CPU times are
reported with the overhead against the case without the view (CPU time is the
steadier figure on a shared machine). Nothing is asserted: figures only.

    PYTHONPATH=src:python python benchmarks/progress_overhead.py
    PYTHONPATH=src:python python benchmarks/progress_overhead.py --vus 20000 --repeat 7 --json
"""

from __future__ import annotations

import argparse
import io
import json
import statistics
import sys
import time

from _z6bench import SCENARIOS, ensure_importable

ensure_importable()

import z6  # noqa: E402
from z6.cli._progress import ProgressView  # noqa: E402
from z6.runner import ProgressSnapshot, iter_chunks, run_plan  # noqa: E402
from z6core import DEBUG_BUILD  # noqa: E402


class _DiscardingTerminal(io.TextIOBase):
    """A terminal that throws its text away: the view draws as on a real one."""

    def isatty(self) -> bool:
        return True

    def writable(self) -> bool:
        return True

    def write(self, text: str) -> int:
        return len(text)


class _Discarding(_DiscardingTerminal):
    def isatty(self) -> bool:
        return False


def _view(mode: str, figures) -> ProgressView:
    stream = _DiscardingTerminal() if mode == "terminal" else _Discarding()
    return ProgressView(None, "auto" if mode == "terminal" else mode, stream, figures=figures)


def _case(plan, summary: bool, mode: str | None) -> tuple[float, float, int]:
    consumers = []
    if summary:
        consumers.append(z6.SummaryBuilder(plan.request_names, plan.tick_ns))
    view = None
    if mode is not None:
        view = _view(mode, consumers[0].snapshot)
    started, cpu_started = time.perf_counter(), time.process_time()
    stats = run_plan(plan, consumers, progress=view.update if view is not None else None)
    if summary:
        consumers[0].finish()
    if view is not None:
        view.close()
    return time.perf_counter() - started, time.process_time() - cpu_started, stats.events


def _view_alone(sizes: list[int], mode: str, figures) -> float:
    """CPU seconds the view spends on a run's progress callbacks (chunks of ``sizes``), nothing else."""
    view = _view(mode, figures)
    requests = 0
    started = time.process_time()
    for i, size in enumerate(sizes):
        requests += size // 2
        view.update(ProgressSnapshot(elapsed_s=float(i), total_s=None, active_vus=1, requests_issued=requests,
                                     events=requests * 2, wall_s=i * 0.05))
    view.close()
    return time.process_time() - started


CASES = {
    "engine": (False, None),
    "summary": (True, None),
    "summary+quiet": (True, "quiet"),
    "summary+plain": (True, "plain"),
    "summary+terminal": (True, "terminal"),
}
BASELINE = {"summary+quiet": "summary", "summary+plain": "summary",
            "summary+terminal": "summary"}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--vus", type=int, default=100_000, help="VUs of scenarios/scale.toml (default 100,000)")
    parser.add_argument("--duration", type=float, default=60.0, help="simulated seconds (default 60)")
    parser.add_argument("--repeat", type=int, default=5, help="rounds (default 5)")
    parser.add_argument("--json", action="store_true", help="print the figures as one JSON object")
    args = parser.parse_args(argv)

    plan = z6.compile_plan(z6.load_scenario(SCENARIOS / "scale.toml"), vus=args.vus, duration_s=args.duration)
    _case(plan, True, "terminal")  # warm-up: imports (rich), caches
    walls: dict[str, list[float]] = {name: [] for name in CASES}
    cpus: dict[str, list[float]] = {name: [] for name in CASES}
    events = 0
    for _ in range(args.repeat):
        for name, (summary, mode) in CASES.items():
            wall, cpu, events = _case(plan, summary, mode)
            walls[name].append(wall)
            cpus[name].append(cpu)

    figures = {
        "vus": args.vus, "simulated_s": args.duration, "events": events, "rounds": args.repeat,
        "debug_build": DEBUG_BUILD,
        "cases": {name: {"min_s": min(walls[name]), "median_s": statistics.median(walls[name]),
                         "cpu_min_s": min(cpus[name]), "cpu_median_s": statistics.median(cpus[name])}
                  for name in CASES},
    }
    for name, base in BASELINE.items():
        mine, theirs = figures["cases"][name], figures["cases"][base]
        for key in ("min_s", "median_s", "cpu_min_s", "cpu_median_s"):
            mine[f"overhead_{key[:-2]}_pct"] = 100 * (mine[key] / theirs[key] - 1)
    # The view alone, as over the run's chunks, reading a finished run's figures: its own cost per event.
    done = z6.SummaryBuilder(plan.request_names, plan.tick_ns)
    sizes = []
    for chunk in iter_chunks(plan):
        done(chunk)
        sizes.append(chunk.size)
    alone = {mode: min(_view_alone(sizes, mode, done.snapshot) for _ in range(args.repeat))
             for mode in ("quiet", "plain", "terminal")}
    engine_ns = figures["cases"]["engine"]["cpu_min_s"] / events * 1e9
    figures["view_alone"] = {mode: {"cpu_min_s": cpu, "ns_per_event": cpu / events * 1e9,
                                    "pct_of_engine": 100 * cpu / figures["cases"]["engine"]["cpu_min_s"]}
                             for mode, cpu in alone.items()}
    figures["snapshot_ms"] = {str(names): _snapshot_ms(names) for names in (1, 10, 50)}
    if args.json:
        print(json.dumps(figures, indent=2))
        return 0
    print(f"{args.vus:,} VUs, {args.duration:g} simulated s, {events:,} events, {args.repeat} rounds"
          f"{' (DEBUG build)' if DEBUG_BUILD else ''}")
    print(f"{'case':<18}{'wall min':>9}{'median':>8}{'cpu min':>9}{'median':>8}{'Mev/s':>7}"
          f"{'overhead wall min/med':>23}{'cpu min/med':>17}")
    for name, c in figures["cases"].items():
        wall = (f"{c['overhead_min_pct']:+.1f}% / {c['overhead_median_pct']:+.1f}%"
                if "overhead_min_pct" in c else "")
        cpu = (f"{c['overhead_cpu_min_pct']:+.1f}% / {c['overhead_cpu_median_pct']:+.1f}%"
               if "overhead_cpu_min_pct" in c else "")
        print(f"{name:<18}{c['min_s']:>9.3f}{c['median_s']:>8.3f}{c['cpu_min_s']:>9.3f}{c['cpu_median_s']:>8.3f}"
              f"{events / c['min_s'] / 1e6:>7.1f}{wall:>23}{cpu:>17}")
    print(f"the view alone, the run's progress callbacks (engine: {engine_ns:.1f} ns/event CPU):")
    for mode, v in figures["view_alone"].items():
        print(f"  {mode:<10}{v['cpu_min_s']:>8.4f} s  {v['ns_per_event']:>6.2f} ns/event  "
              f"{v['pct_of_engine']:>5.1f}% of the engine's time")
    print("one read of the running figures (SummaryBuilder.snapshot), by request names: " +
          ", ".join(f"{names}: {ms:.3f} ms" for names, ms in figures["snapshot_ms"].items()))
    return 0


def _snapshot_ms(names: int, reads: int = 50) -> float:
    builder = z6.SummaryBuilder(tuple(f"request_{i}" for i in range(names)), 1_000_000)
    builder.snapshot()
    started = time.perf_counter()
    for _ in range(reads):
        builder.snapshot()
    return (time.perf_counter() - started) / reads * 1e3


if __name__ == "__main__":
    sys.exit(main())
