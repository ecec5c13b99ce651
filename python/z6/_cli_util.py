"""Pieces every `z6` subcommand module shares: the parser class and option types.

Each command module (`z6._cmd_*`) exposes ``register(subparsers)``, which adds its
subcommand(s) and sets ``handler`` to a function ``(args) -> exit code``.
`z6.cli` owns ``main`` and the mapping of exceptions to exit codes.
"""

from __future__ import annotations

import argparse
from typing import Any, Callable

__all__ = ["UsageError", "Parser", "option", "seed_option", "positive_int", "positive_float"]


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
positive_float = option(float, lambda v: 0 < v < float("inf"), "a positive number of seconds")
