"""SIGINT and SIGTERM routed to a run's own handler while it goes on.

A run stops gracefully on the first signal, cancels on the second and gives up
on the third; the one-process runner and the distributed coordinator both
install their handler through `stop_signals`.
"""

from __future__ import annotations

import contextlib
import signal
import threading
from typing import Callable, Iterator

__all__ = ["stop_signals"]


@contextlib.contextmanager
def stop_signals(handler: Callable[[int, object], None], enabled: bool = True) -> Iterator[None]:
    """Install ``handler`` for SIGINT and SIGTERM for the block, then restore
    what was there. Only the main thread can install handlers; elsewhere (or
    when not ``enabled``) the block runs with the handlers untouched."""
    previous: dict[int, object] = {}
    if enabled and threading.current_thread() is threading.main_thread():
        for signum in (signal.SIGINT, signal.SIGTERM):
            previous[signum] = signal.signal(signum, handler)
    try:
        yield
    finally:
        for signum, old in previous.items():
            # None: the previous handler was not installed from Python.
            signal.signal(signum, signal.SIG_DFL if old is None else old)  # type: ignore[arg-type]
