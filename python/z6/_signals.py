"""SIGINT and SIGTERM outside a run: the command line's first handler, and
sections a signal must not cut in two.

A run routes the signals to its own handler while it goes on (`z6.runner.stop_signals`:
graceful stop, cancel, give up). Before and after it, `z6._entry` installs
`EntryInterrupts` as the very first thing the `z6` command does. During the
package's imports a signal is held until they end (at most ~0.3 s); after them the
first signal raises `KeyboardInterrupt`, which unwinds (stopping a built-in target,
removing an empty run directory) to "z6: interrupted", exit 3; the process's second
signal (after a first that stopped a run, or one whose clean-up is under way) is
ignored, so the clean-up is not itself cut short; a third raises again, in case
the clean-up hangs.

`signals_deferred` holds SIGINT/SIGTERM back for a few statements that must
happen together (a child process started *and* registered to be stopped) and
delivers a signal that came meanwhile at the end, to whatever handler was there.
"""

from __future__ import annotations

import contextlib
import signal
import threading

TYPE_CHECKING = False  # as in z6/__init__.py: typing is not imported before the handler
if TYPE_CHECKING:
    from typing import Iterator

__all__ = ["STOP_SIGNALS", "EntryInterrupts", "signals_deferred", "note_signal", "signals_received"]

STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)


def _main_thread() -> bool:
    return threading.current_thread() is threading.main_thread()


# SIGINT/SIGTERM this process received, counted by every z6 handler (this
# module's and the run's, `z6.runner`): a signal after a run stopped by one is
# the second of the process, whichever handler took the first.
_received = 0


def note_signal() -> int:
    """Count one SIGINT/SIGTERM; return how many this process has had."""
    global _received
    _received += 1
    return _received


def signals_received() -> int:
    return _received


class EntryInterrupts:
    """The `z6` command's SIGINT/SIGTERM handler outside a run (see the module's doc).

    While ``holding`` (the package's imports) a signal is only counted: raising in
    the middle of a module's initialisation would leave it half made, and CPython
    then remembers an "unhandled" interrupt and kills the process with SIGINT at
    exit even though z6 caught it. The caller looks at ``signals`` afterwards.
    """

    def __init__(self) -> None:
        self.holding = False

    @property
    def signals(self) -> int:
        return _received

    def __call__(self, signum: int, frame: object) -> None:
        count = note_signal()
        if self.holding or count == 2:
            return  # held for the caller; or the first is unwinding: let its clean-up finish
        raise KeyboardInterrupt

    def install(self) -> None:
        if _main_thread():
            for signum in STOP_SIGNALS:
                signal.signal(signum, self)


@contextlib.contextmanager
def signals_deferred() -> Iterator[None]:
    """Run the block with SIGINT/SIGTERM held back, then deliver the first that came.

    Only the main thread can handle signals; elsewhere the block runs as it is.
    """
    if not _main_thread():
        yield
        return
    pending: list[int] = []

    def hold(signum: int, frame: object) -> None:
        pending.append(signum)

    previous = {signum: signal.signal(signum, hold) for signum in STOP_SIGNALS}
    try:
        yield
    finally:
        for signum, old in previous.items():
            # None: the previous handler was not installed from Python.
            signal.signal(signum, signal.SIG_DFL if old is None else old)  # type: ignore[arg-type]
        if pending:
            signal.raise_signal(pending[0])
