"""Pieces every `z6` subcommand module shares: the parser class, option types and
reading a log with its partial-log warning said as one line.

Each command module (`z6.cli._run`, `_serve`, `_report`, `_log`) exposes ``register(subparsers)``, which adds its
subcommand(s) and sets ``handler`` to a function ``(args) -> exit code``.
`z6.cli` owns ``main`` and the mapping of exceptions to exit codes.
"""

from __future__ import annotations

import argparse
import math
import re
import sys
import warnings
from typing import Any, Callable

from z6.log import EventLog, LogWarning, read_log

__all__ = ["UsageError", "Parser", "option", "seed_option", "positive_int", "duration_seconds",
           "read_log_noting_partial"]


class UsageError(Exception):
    """A command-line mistake: printed as one line, exit 2."""


class Parser(argparse.ArgumentParser):
    # argparse exits with 2 on its own; usage errors are routed through z6.cli's
    # handler so every message has the same shape.
    def error(self, message: str) -> None:  # type: ignore[override]
        raise UsageError(f"{self.prog}: {message}")


def option(convert: Callable[[str], Any], valid: Callable[[Any], bool], rule: str) -> Callable[[str], Any]:
    """An argparse ``type=`` that says what is wrong ("must be RULE, got 'x'")."""

    # argparse would otherwise name the function ("invalid parse value").
    def parse(text: str) -> Any:
        try:
            value = convert(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"must be {rule}, got {text!r}") from None
        if not valid(value):
            raise argparse.ArgumentTypeError(f"must be {rule}, got {text!r}")
        return value

    return parse


seed_option = option(lambda text: int(text, 0), lambda v: 0 <= v < 2**64, "an integer between 0 and 2**64-1")
positive_int = option(int, lambda v: v >= 1, "a positive integer")

# Go's duration units, as k6's --duration takes them ("30s", "5m", "1h30m", "250ms").
_DURATION_PART = re.compile(r"([0-9]{1,15}(?:\.[0-9]{1,15})?)(ns|us|µs|ms|s|m|h)")
_UNIT_S = {"ns": 1e-9, "us": 1e-6, "µs": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0, "h": 3600.0}


def _seconds(text: str) -> float:
    """A plain number of seconds, or k6's form: number-unit pairs such as 1h30m."""
    try:
        return float(text)
    except ValueError:
        pass
    stripped = text.strip()
    if not stripped or len(stripped) > 64:
        raise ValueError(text)
    position, total = 0, 0.0
    while position < len(stripped):
        part = _DURATION_PART.match(stripped, position)
        if part is None:
            raise ValueError(text)
        total += float(part[1]) * _UNIT_S[part[2]]
        position = part.end()
    return total


duration_seconds = option(_seconds, lambda v: 0 < v and math.isfinite(v),
                          "a positive duration: seconds (90, 2.5) or with units (30s, 5m, 1h30m, 500ms)")


def read_log_noting_partial(path: str, *, defer_record_checks: bool = False) -> EventLog:
    """`read_log`, with a partial log's warning printed as one line on stderr
    instead of a Python warning."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", LogWarning)
        log = read_log(path, defer_record_checks=defer_record_checks)
    for warning in caught:
        if issubclass(warning.category, LogWarning):
            print(f"z6: warning: {warning.message}", file=sys.stderr)
        else:
            warnings.warn(warning.message, warning.category, stacklevel=2)
    return log
