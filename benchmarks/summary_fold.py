"""What folding a chunk into the summary costs per event: the core's
`z6.metrics.SummaryBuilder` against the numpy `ReferenceSummaryBuilder` it replaced.

The chunks are the original's workload (`scenarios/original_10k.toml`, 10,000
VUs, 2-tick requests), made once before the clock starts; each builder then
folds them all and finishes. Prints wall ns per event of the fold and the
finish, best of ``--repeat`` rounds. The wall figures are noisy on a shared
machine; the stable measure is the instruction count under callgrind:

    valgrind --tool=callgrind --callgrind-out-file=/tmp/cg.none \\
        python benchmarks/summary_fold.py --chunks 20 --builder none
    valgrind --tool=callgrind --callgrind-out-file=/tmp/cg.core \\
        python benchmarks/summary_fold.py --chunks 20 --builder core

and the difference of the two totals (``callgrind_annotate`` prints them)
divided by the events folded is the fold's instructions per event
(``--builder reference`` for the numpy one). docs/performance.md has the figures.
"""

from __future__ import annotations

import argparse
import itertools
import pathlib
import sys
import time

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))

from _z6bench import ensure_importable  # noqa: E402

ensure_importable()

import z6  # noqa: E402
from z6.metrics import DEFAULT_EXACT_LIMIT, SummaryBuilder  # noqa: E402
from z6.metrics._reference import ReferenceSummaryBuilder  # noqa: E402
from z6.runner import iter_chunks  # noqa: E402

SCENARIO = pathlib.Path(__file__).resolve().parent / "scenarios" / "original_10k.toml"
BUILDERS = {"core": SummaryBuilder, "reference": ReferenceSummaryBuilder}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--chunks", type=int, default=0, help="fold only the first N chunks (0: the whole run)")
    parser.add_argument("--builder", choices=[*BUILDERS, "none", "both"], default="both")
    parser.add_argument("--exact-limit", type=int, default=DEFAULT_EXACT_LIMIT)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args(argv)
    plan = z6.compile_plan(z6.load_scenario(SCENARIO))
    chunks = list(itertools.islice(iter_chunks(plan), args.chunks or None))
    events = sum(int(c.size) for c in chunks)
    names = list(BUILDERS) if args.builder == "both" else [] if args.builder == "none" else [args.builder]
    print(f"{events:,} events in {len(chunks)} chunks, exact limit {args.exact_limit:,}")
    for name in names:
        best_fold = best_finish = float("inf")
        for _ in range(args.repeat):
            builder = BUILDERS[name](plan.request_names, plan.tick_ns, exact_limit=args.exact_limit)
            start = time.perf_counter()
            for chunk in chunks:
                builder(chunk)
            folded = time.perf_counter()
            builder.finish()
            best_fold = min(best_fold, folded - start)
            best_finish = min(best_finish, time.perf_counter() - folded)
        print(f"{name:>9}: fold {best_fold / events * 1e9:6.1f} ns/event, finish {best_finish * 1e3:7.1f} ms "
              f"({best_finish / events * 1e9:.1f} ns/event), percentiles {builder.percentile_method}")


if __name__ == "__main__":
    main()
