"""The `z6` command line: a thin shell over the library.

Exit codes (DESIGN): 0 success, 1 an assertion failed, 2 configuration or usage
error, 3 runtime error (including an interrupted run), 4 internal error. A bad
input gets one message on stderr and no traceback (set Z6_TRACEBACK=1 to see one
for an internal error).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import traceback
from typing import Any, Callable, Optional, Sequence

import z6
from z6._errors import EXIT_ASSERTION_FAILED, EXIT_CONFIG, EXIT_INTERNAL, EXIT_OK, EXIT_RUNTIME, Z6Error

__all__ = ["main", "build_parser"]


class _UsageError(Exception):
    pass


class _Parser(argparse.ArgumentParser):
    # argparse exits with 2 on its own; we route usage errors through our handler
    # so every message has the same shape.
    def error(self, message: str) -> None:  # type: ignore[override]
        raise _UsageError(f"{self.prog}: {message}")


def _option(convert: Callable[[str], Any], valid: Callable[[Any], bool], rule: str) -> Callable[[str], Any]:
    # The parser raises ArgumentTypeError itself: argparse would otherwise name the
    # function ("invalid parse value") instead of saying what is wrong.
    def parse(text: str) -> Any:
        try:
            value = convert(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"must be {rule}, got {text!r}") from None
        if not valid(value):
            raise argparse.ArgumentTypeError(f"must be {rule}, got {text!r}")
        return value

    return parse


_seed = _option(lambda text: int(text, 0), lambda v: 0 <= v < 2**64, "an integer between 0 and 2**64-1")
_positive_int = _option(int, lambda v: v >= 1, "a positive integer")
_positive_float = _option(float, lambda v: 0 < v < float("inf"), "a positive number of seconds")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="z6", description="Deterministic, declarative load testing.")
    parser.add_argument("--version", action="version", version=f"z6 {z6.__version__}")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    validate = sub.add_parser("validate", help="check a scenario file and exit 0 (valid) or 2")
    validate.add_argument("file")

    run = sub.add_parser("run", help="run a scenario and print its summary")
    run.add_argument("file")
    run.add_argument("--seed", type=_seed, help="PRNG seed (default: the scenario's runtime.prng_seed)")
    run.add_argument("--vus", type=_positive_int, help="VUs, for a constant schedule")
    run.add_argument("--duration", type=_positive_float, metavar="S", help="seconds, for a constant schedule")
    run.add_argument("--json", action="store_true", help="print the summary as JSON on stdout")
    return parser


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


def main(argv: Optional[Sequence[str]] = None) -> int:
    try:
        args = build_parser().parse_args(argv)
        if args.command == "validate":
            return _cmd_validate(args)
        return _cmd_run(args)
    except _UsageError as exc:
        print(str(exc), file=sys.stderr)
        return EXIT_CONFIG
    except Z6Error as exc:
        print(f"z6: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("z6: interrupted", file=sys.stderr)
        return EXIT_RUNTIME
    except MemoryError:
        print("z6: out of memory", file=sys.stderr)
        return EXIT_RUNTIME
    except Exception as exc:  # noqa: BLE001 - the last line of defence: exit 4, no traceback
        if os.environ.get("Z6_TRACEBACK"):
            traceback.print_exc()
        print(f"z6: internal error: {type(exc).__name__}: {exc} (set Z6_TRACEBACK=1 for details)",
              file=sys.stderr)
        return EXIT_INTERNAL


if __name__ == "__main__":
    sys.exit(main())
