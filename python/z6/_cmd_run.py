"""`z6 validate` and `z6 run`."""

from __future__ import annotations

import argparse
import json

import z6
from z6._cli_util import positive_float, positive_int, seed_option
from z6._errors import EXIT_ASSERTION_FAILED, EXIT_OK

__all__ = ["register"]


def register(sub: argparse._SubParsersAction) -> None:
    validate = sub.add_parser("validate", help="check a scenario file and exit 0 (valid) or 2")
    validate.add_argument("file")
    validate.set_defaults(handler=_cmd_validate)

    run = sub.add_parser("run", help="run a scenario and print its summary")
    run.add_argument("file")
    run.add_argument("--seed", type=seed_option, help="PRNG seed (default: the scenario's runtime.prng_seed)")
    run.add_argument("--vus", type=positive_int, help="VUs, for a constant schedule")
    run.add_argument("--duration", type=positive_float, metavar="S", help="seconds, for a constant schedule")
    run.add_argument("--json", action="store_true", help="print the summary as JSON on stdout")
    run.set_defaults(handler=_cmd_run)


def _cmd_validate(args: argparse.Namespace) -> int:
    scenario = z6.load_scenario(args.file)
    n = len(scenario.requests)
    print(f"{args.file}: valid ({n} request{'s' if n != 1 else ''}, {scenario.schedule.type} schedule"
          f"{', simulated' if scenario.simulation else ''})")
    return EXIT_OK


def _cmd_run(args: argparse.Namespace) -> int:
    scenario = z6.load_scenario(args.file)
    result = z6.run_scenario(scenario, seed=args.seed, vus=args.vus, duration_s=args.duration)
    if args.json:
        print(json.dumps(result.to_dict(), indent=2))
    else:
        print(z6.render_run(result))
    return EXIT_OK if result.passed else EXIT_ASSERTION_FAILED
