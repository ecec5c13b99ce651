"""One chunk consumer fed, in order, from a thread of its own.

A simulated run's own thread is its critical path: the engine fills a chunk, then
each consumer takes it in turn before the next fill starts. The summary's fold is
the largest consumer (C without the GIL, 10-25 ns an event). On a thread of its
own it folds one chunk while the engine fills the next, and the OS spreads the
engine, the fold and the log's writer over the cores instead of the run's thread
carrying engine and fold alone while the writer's core idles.

Nothing is dropped: the queue is bounded (``depth`` chunks) and the run's thread
waits for room, so memory stays flat and the run goes no faster than its slowest
consumer. The consumer sees the same chunks in the same order, so what it computes
is unchanged. An error it raises reaches the run's thread at the next chunk or at
`close`, and nothing after it is consumed.

The queued chunks are the caller's arrays when nobody can change them (`frozen`:
the runner's chunks), and copies otherwise.
"""

from __future__ import annotations

import queue
import threading
from types import TracebackType
from typing import Callable, Optional

import numpy as np

from z6.events import frozen

__all__ = ["ConsumerThread", "DEFAULT_DEPTH"]

# Enough to ride out one slow fill or fold without either side waiting; each
# queued chunk is the runner's array (2 MiB), which the log's writer holds anyway.
DEFAULT_DEPTH = 4


class ConsumerThread:
    """Call ``consume`` with each chunk given to this object, on a worker thread.

        with ConsumerThread(builder, name="z6 summary") as fold:
            run_plan(plan, [fold, writer])
        summary = builder.finish()     # every chunk was folded

    Leaving the ``with`` normally waits for every queued chunk and raises the
    consumer's error, if it had one; leaving on an exception stops the worker
    without consuming what is still queued.
    """

    def __init__(self, consume: Callable[[np.ndarray], None], *, name: str, depth: int = DEFAULT_DEPTH) -> None:
        if depth < 1:
            raise ValueError(f"depth must be at least 1, got {depth}")
        self._consume = consume
        self._queue: queue.Queue[Optional[np.ndarray]] = queue.Queue(maxsize=depth)
        self._error: Optional[BaseException] = None
        self._abandoned = False
        self._thread: Optional[threading.Thread] = threading.Thread(target=self._work, name=name, daemon=True)
        self._thread.start()

    def __call__(self, chunk: np.ndarray) -> None:
        """Queue ``chunk`` for the consumer (waiting for room); raises the
        consumer's error from an earlier chunk."""
        if self._thread is None:
            raise ValueError("the consumer thread is closed")
        self._raise_pending()
        # A chunk someone could change while it waits in the queue is copied first.
        self._queue.put(chunk if frozen(chunk) else chunk.copy())

    def _work(self) -> None:
        while True:
            chunk = self._queue.get()
            if chunk is None:
                return
            if self._error is None and not self._abandoned:
                try:
                    self._consume(chunk)
                except BaseException as exc:  # reported to the run's thread, never lost
                    self._error = exc

    def _raise_pending(self) -> None:
        if self._error is not None:
            self._abandoned = True   # nothing after a failed chunk is consumed (set before the error is taken)
            error, self._error = self._error, None
            raise error

    def close(self) -> None:
        """Wait until every queued chunk is consumed and stop the worker; raises the
        consumer's error, if it had one. Closing twice does nothing."""
        self._stop()
        self._raise_pending()

    def abandon(self) -> None:
        """Stop the worker without consuming what is still queued, and forget any
        error of the consumer's (the run failed of something else, which is what
        gets reported)."""
        self._abandoned = True
        self._stop()
        self._error = None

    def _stop(self) -> None:
        thread, self._thread = self._thread, None
        if thread is not None:
            self._queue.put(None)
            thread.join()

    def __enter__(self) -> "ConsumerThread":
        return self

    def __exit__(self, kind: Optional[type[BaseException]], error: Optional[BaseException],
                 traceback: Optional[TracebackType]) -> None:
        if kind is None:
            self.close()
        else:
            self.abandon()
