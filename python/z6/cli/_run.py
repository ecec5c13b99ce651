"""`z6 validate` and `z6 run`."""

from __future__ import annotations

import argparse
import json
import os
import sys

from z6.cli._options import duration_seconds, option, positive_int, seed_option
from z6.cli._progress import ProgressView
from z6.errors import EXIT_ASSERTION_FAILED, EXIT_OK, EXIT_RUNTIME, ConfigError, RunError, ScenarioError
from z6.live import ensure_descriptors
from z6.report import render_run, summary_document
from z6.run import DEFAULT_RUNS_DIR, check_scenario, default_run_dir
from z6.run._handle import prepare_run
from z6.scenario import MAX_SCENARIO_BYTES, Scenario, load_scenario, parse_scenario
from z6.scenario._files import describe_size

__all__ = ["register", "RUNS_DIR_ENV"]

# Where runs go when --out is not given (default ./z6-runs).
RUNS_DIR_ENV = "Z6_RUNS_DIR"


def register(sub: argparse._SubParsersAction) -> None:
    validate = sub.add_parser("validate", help="check a scenario file as `z6 run` would, and exit 0 (valid) or 2")
    validate.add_argument("file", help="the scenario (TOML); - reads it from standard input")
    validate.add_argument("--simulate", action="store_true",
                          help="check it as `z6 run --simulate` would (the default: as `z6 run` would)")
    validate.set_defaults(handler=_cmd_validate)

    run = sub.add_parser("run", help="run a scenario, write its event log and summary, print the summary")
    run.add_argument("file", help="the scenario (TOML); - reads it from standard input")
    run.add_argument("--seed", type=seed_option, help="PRNG seed (default: the scenario's runtime.prng_seed)")
    # -u, -d and -q as k6 spells them.
    run.add_argument("-u", "--vus", type=positive_int, help="VUs, for a constant schedule")
    run.add_argument("-d", "--duration", type=duration_seconds, metavar="D",
                     help="for a constant schedule: seconds, or with units as k6 takes them (30s, 5m, 1h30m)")
    run.add_argument("--simulate", action="store_true",
                     help="run against the scenario's modelled target ([simulation]) instead of sending real traffic")
    run.add_argument("--out", metavar="DIR", type=option(str, bool, "a directory path, not empty"),
                     help=f"directory for events.z6log, summary.json and the scenario (default: "
                          f"${RUNS_DIR_ENV} or ./{DEFAULT_RUNS_DIR}, one new directory per run)")
    run.add_argument("--html", action="store_true", help="also write report.html into the run directory")
    run.add_argument("--json", action="store_true", help="print the summary as JSON on stdout")
    run.add_argument("-q", "--quiet", action="store_true", help="no progress display while the run goes on")
    run.add_argument("--workers", type=positive_int, metavar="N",
                     help="split the VUs over N local worker processes (with --cluster: N shards; "
                          "default one per Dask worker)")
    run.add_argument("--cluster", metavar="ADDRESS",
                     help="run the shards on the Dask cluster whose scheduler is at ADDRESS, e.g. "
                          "tcp://HOST:8786 (pip install 'z6[dask]')")
    run.add_argument("--listen", metavar="HOST",
                     help="with --cluster: the address workers connect back to this machine on "
                          "(default: this machine's address on the route to the scheduler)")
    run.set_defaults(handler=_cmd_run)


_STDIN = "<stdin>"


def _load(path: str) -> Scenario:
    """The scenario file at ``path``; ``-`` reads it from standard input (as ``k6 run -``),
    its ``body_file`` and data paths then resolving against the working directory."""
    if path != "-":
        return load_scenario(path)
    if sys.stdin is None:
        raise ScenarioError([f"{_STDIN}: cannot read scenario: standard input is closed"])
    try:
        raw = sys.stdin.buffer.read(MAX_SCENARIO_BYTES + 1)
    except OSError as exc:  # EIO and the like: the system failed, exit 3
        raise RunError(f"{_STDIN}: cannot read scenario: {exc.strerror or exc}") from None
    if len(raw) > MAX_SCENARIO_BYTES:
        raise ScenarioError([f"{_STDIN}: cannot read scenario: it must be at most "
                             f"{describe_size(MAX_SCENARIO_BYTES)}, got more"])
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ScenarioError([f"{_STDIN}: must be UTF-8 text, got an invalid byte at offset {exc.start}"]) from None
    return parse_scenario(text, source=_STDIN)


def _cmd_validate(args: argparse.Namespace) -> int:
    scenario = _load(args.file)
    # The rules `z6 run` applies before it starts (the plan, the requests' wire form), so that
    # validate refuses exactly what run refuses, with the same message.
    plan = check_scenario(scenario, mode="simulate" if args.simulate else None)
    if plan.mode == "live":
        # As `z6 run` on this machine: every live VU needs a socket (the open-file limit).
        ensure_descriptors(scenario.schedule.max_vus, scenario.source)
    for warning in plan.templates.warnings if plan.templates is not None else ():
        print(f"z6: warning: {warning}", file=sys.stderr)
    n = len(scenario.requests)
    print(f"{scenario.source}: valid ({n} request{'s' if n != 1 else ''}, {scenario.schedule.type} schedule"
          f"{', simulated' if scenario.simulation else ''})")
    return EXIT_OK


def _planned_seconds(scenario, duration_s):
    if duration_s is not None:
        return duration_s
    return scenario.schedule.total_s


def _remove_if_empty(path) -> None:
    try:
        os.rmdir(path)
    except OSError:
        pass


def _cmd_run(args: argparse.Namespace) -> int:
    if args.listen and not args.cluster:
        raise ConfigError("--listen applies only with --cluster")
    scenario = _load(args.file)
    seed = scenario.runtime.prng_seed if args.seed is None else args.seed
    out = args.out or default_run_dir(scenario, seed, os.environ.get(RUNS_DIR_ENV) or DEFAULT_RUNS_DIR)
    view = ProgressView(_planned_seconds(scenario, args.duration), "quiet" if args.quiet or args.json else "auto")
    try:
        with view:
            # `run_scenario` spelled out: the view reads the run's own figures (its
            # handle's stats), so no second pass over the events counts them again.
            run = prepare_run(scenario, seed=args.seed, vus=args.vus, duration_s=args.duration,
                              mode="simulate" if args.simulate else None, progress=view.update, out_dir=out,
                              html=args.html, workers=args.workers, cluster=args.cluster, listen=args.listen,
                              keep_events=False)  # the log has them; memory stays bounded
            view.follow(run.stats)
            result = run.run_here()
    except BaseException:
        if args.out is None:
            _remove_if_empty(out)  # the directory made for this run, if the run never wrote to it
        raise
    if args.json:
        # The same document as the run directory's summary.json (docs/output.md).
        print(json.dumps(summary_document(result), indent=2))
    else:
        print(render_run(result))
        print(f"run directory: {result.out_dir}", file=sys.stderr)
    if result.failed:
        print(f"z6: the run failed: {result.distribution.lost_message()}", file=sys.stderr)
        return EXIT_RUNTIME
    if result.interrupted:
        print("z6: run interrupted: the summary covers what ran before the stop", file=sys.stderr)
        return EXIT_RUNTIME
    if result.status == "stopped":
        print("z6: run stopped: the summary covers what ran before the stop", file=sys.stderr)
        return EXIT_RUNTIME
    return EXIT_OK if result.passed else EXIT_ASSERTION_FAILED
