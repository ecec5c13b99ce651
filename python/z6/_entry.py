"""The `z6` command's entry point: ``z6`` (the console script) and ``python -m z6``.

Its first act is to install the interrupt handler (`z6._signals.EntryInterrupts`);
only then does it import the command line, and with it the whole package (about
0.3 s: numpy, the compiled core, pydantic, rich). So a Ctrl-C at any instant,
during those imports, the scenario's parse, the target's probe or the built-in
target's start, ends like every other interrupt: "z6: interrupted" on stderr, exit
3, no traceback, no child left, no half-made run directory (docs/architecture.md,
"Interrupts"). This module imports nothing at load time but the standard library
and `z6._signals`; ``z6/__init__.py`` loads the package's names on first use for
the same reason.
"""

from __future__ import annotations

import gc
import os
import signal
import sys
import threading

from z6._signals import STOP_SIGNALS, EntryInterrupts, signals_received

# As in z6/__init__.py: no typing import before the handler is in place.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Optional, Sequence

__all__ = ["main"]

_EXIT_RUNTIME = 3  # z6.errors.EXIT_RUNTIME, not imported here to keep this module's load minimal


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Run the `z6` command; returns its exit code (for ``sys.exit``).

    Without ``argv`` this is the process's own command (the console script, ``python
    -m z6``: the arguments are ``sys.argv``'s and the process exits with the code), and
    the package's objects are kept out of the cyclic garbage collector's way
    (`_imports_frozen`, `_exiting`)."""
    interrupts = EntryInterrupts()
    interrupts.install()
    interrupts.holding = True
    own_process = argv is None
    try:
        # numpy's OpenBLAS starts a thread a core at import, which then spins for a
        # while (about 0.1 s of CPU): z6 does no floating-point linear algebra, and
        # on a two-core machine that thread takes a core from the run. One thread,
        # unless the user chose otherwise; only the command's process (and the
        # workers it starts) is affected, never a program that imports z6.
        os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
        # Deferred on purpose (tests/test_architecture.py, DEFERRED_IMPORTS): the
        # handler above must be in place before the package's imports start.
        with _imports_frozen(own_process):
            from z6.cli import main as cli_main
    finally:
        interrupts.holding = False
    if interrupts.signals:
        # Interrupted during the imports: nothing was made yet.
        print("z6: interrupted", file=sys.stderr)
        code = _EXIT_RUNTIME
    else:
        code = cli_main(argv)
    _exiting(own_process)
    return code


class _imports_frozen:
    """Around the package's imports in the command's own process: the collector off
    while they run, and what they made frozen afterwards (`gc.freeze`).

    The imports make some 46,000 long-lived objects the collector tracks (modules,
    classes, functions, pydantic's schemas): the hundred-odd collections in the
    middle of them cost 0.02-0.04 s of the command's start, and every full
    collection later would walk them all again. Frozen, the collector never looks
    at them; they live as long as the process anyway. A program that calls `main`
    with its own ``argv`` keeps its collector as it was."""

    def __init__(self, own_process: bool) -> None:
        self.active = own_process and gc.isenabled()

    def __enter__(self) -> None:
        if self.active:
            gc.disable()

    def __exit__(self, *exc: object) -> None:
        if self.active:
            gc.freeze()
            gc.enable()


def _exiting(own_process: bool) -> None:
    if own_process:
        # The interpreter's shutdown runs full collections over every object left:
        # 0.07-0.12 s between the end of a `z6 run` and the process's exit, to free
        # memory the process is about to give back anyway (0.02-0.03 s frozen).
        gc.freeze()
    # The command is done and the process only exits now. The interpreter's shutdown
    # puts the default action back for signals with a Python handler (a signal would
    # then kill the process: exit 130 instead of the command's code) and may take a
    # while (module teardown); blocking the signals would not do, as another thread
    # (numpy's BLAS pool) may take them. So they are ignored from here: the command's
    # own exit code stands.
    if threading.current_thread() is not threading.main_thread():
        return
    for signum in STOP_SIGNALS:
        signal.signal(signum, signal.SIG_IGN)
    if signals_received():
        _forget_unhandled_interrupt()


def _forget_unhandled_interrupt() -> None:
    # CPython notes a KeyboardInterrupt that leaves code run through its
    # PyRun_* functions (some extension modules run code that way) as unhandled
    # even when z6 caught it further up, and then kills the process with SIGINT at
    # exit (exit 130). Running an empty string through PyRun_SimpleString resets
    # that note. CPython only (ctypes.pythonapi); elsewhere nothing to do.
    import ctypes  # only on this path: it is not needed for a command that was not interrupted

    try:
        pythonapi = ctypes.pythonapi
    except AttributeError:
        return
    pythonapi.PyRun_SimpleString(b"")
