"""The live view of a running test: elapsed of total, active VUs, rate, errors, p95;
after the schedule's end, that it ended and how many requests are still in flight.

`ProgressView` is the runner's progress callback (``view.update(snapshot)`` with a
`z6.result.ProgressSnapshot`, after every chunk, and in a live run every 250 ms
at least, events or not: a stalled server still gets its lines). Its counts and
p95 are not a second count of the events: when it draws a line it reads the run's own figures
(``view.follow(handle.stats)``: the summary's core accumulator, its counts exact,
its p95 from the accumulator's HDR histograms), so between lines it costs nothing
per event. In a simulated run the summary folds on a thread of its own, a chunk or
two behind the engine: a line drawn mid-run may count a few requests in flight
that already have their outcome; the line drawn at the end is exact.

Modes:

* ``"auto"``: on a terminal, one live line redrawn at most 4 times a second (rich),
  showing the final state once the run ends; otherwise a plain line every 10 seconds of wall time (CI logs stay short).
* ``"plain"``: the plain lines, even on a terminal.
* ``"quiet"``: nothing; ``update`` returns at once.

Rates and intervals are judged by the snapshot's wall clock (``wall_s``), so the
view costs the engine nothing between updates. The rate shown is the rate since
the previous update, in run time (simulated seconds in a simulated run).
"""

from __future__ import annotations

import sys
from typing import Callable, Mapping, Optional, Protocol, TextIO

from z6.result import ProgressSnapshot

__all__ = ["ProgressView", "RunFigures", "PROGRESS_MODES", "TERMINAL_INTERVAL_S", "PLAIN_INTERVAL_S",
           "format_progress"]

PROGRESS_MODES = ("auto", "plain", "quiet")
TERMINAL_INTERVAL_S = 0.25   # at most 4 redraws a second
PLAIN_INTERVAL_S = 10.0


class RunFigures(Protocol):
    """What a line shows of the run's figures so far: `z6.run.LiveStats` (a run
    handle's ``stats()``) and `z6.metrics.RunningSummary` both are."""

    @property
    def completed(self) -> int: ...      # requests with an outcome

    @property
    def failed(self) -> int: ...         # failed outcomes (the summary's rule)

    @property
    def latency_ms(self) -> Mapping[str, Optional[float]]: ...   # "p95" among them; None before a response


def _seconds(value: float) -> str:
    return f"{value:.1f} s" if value < 600 else f"{value / 60:.1f} min"


def format_progress(snapshot: ProgressSnapshot, total_s: Optional[float], rate: float, errors: int,
                    completed: int, p95_ms: Optional[float]) -> str:
    """One line: elapsed of total, active VUs, rate, errors, p95 so far.

    Past the schedule's end (a run draining its requests in flight within the
    graceful stop) the line says so, and how many requests are still in flight:
    issued minus those with an outcome."""
    elapsed = _seconds(snapshot.elapsed_s)
    if total_s and snapshot.elapsed_s > total_s:
        in_flight = max(snapshot.requests_issued - completed, 0)
        elapsed = (f"{elapsed}: schedule ended at {_seconds(total_s)}, {in_flight:,} "
                   f"request{'' if in_flight == 1 else 's'} in flight")
    elif total_s:
        share = min(snapshot.elapsed_s / total_s, 1.0)
        elapsed = f"{elapsed} of {_seconds(total_s)} ({share:.0%})"
    error_share = f" ({errors / completed:.2%})" if completed else ""
    p95 = "-" if p95_ms is None else f"{p95_ms:.1f} ms"
    return (f"{elapsed}  VUs {snapshot.active_vus}  {rate:,.1f} req/s  "
            f"errors {errors}{error_share}  p95 {p95}")


class ProgressView:
    """Show a run's progress on ``stream`` (see the module docstring).

    ``figures`` (or `follow`, once the run exists) is where a line reads the
    counts and p95 so far; without it they show as none yet."""

    def __init__(self, total_s: Optional[float], mode: str = "auto", stream: Optional[TextIO] = None,
                 figures: Optional[Callable[[], RunFigures]] = None) -> None:
        if mode not in PROGRESS_MODES:
            raise ValueError(f"progress mode must be one of {', '.join(PROGRESS_MODES)}, got {mode!r}")
        self.total_s = total_s
        self.mode = mode
        self.stream = sys.stderr if stream is None else stream
        self.updates = 0  # lines drawn so far
        self._figures = figures
        self._active = mode != "quiet"
        self._terminal = mode == "auto" and _is_terminal(self.stream)
        self._interval = TERMINAL_INTERVAL_S if self._terminal else PLAIN_INTERVAL_S
        self._next_wall = 0.0 if self._terminal else PLAIN_INTERVAL_S
        self._last_elapsed = 0.0
        self._last_requests = 0
        self._live = None
        self._latest: Optional[ProgressSnapshot] = None
        self._drawn: Optional[ProgressSnapshot] = None

    def follow(self, figures: Callable[[], RunFigures]) -> None:
        """Read the counts and p95 from ``figures()`` (e.g. a `z6.run.RunHandle`'s ``stats``)."""
        self._figures = figures

    def _read(self) -> tuple[int, int, Optional[float]]:
        """(completed, errors, p95 ms) so far: one read of the run's figures."""
        if self._figures is None:
            return 0, 0, None
        figures = self._figures()
        return figures.completed, figures.failed, figures.latency_ms.get("p95")

    @property
    def errors(self) -> int:
        """Failed requests so far (transport errors, timeouts, cancels, status >= 400)."""
        return self._read()[1]

    @property
    def completed(self) -> int:
        """Requests with an outcome so far."""
        return self._read()[0]

    @property
    def p95_ms(self) -> Optional[float]:
        """p95 latency so far (HDR: above the exact value by under 0.1%); None before any response."""
        return self._read()[2]

    # --- the progress callback ---------------------------------------------

    def update(self, snapshot: ProgressSnapshot) -> None:
        """Redraw if the interval has passed since the last line (cheap otherwise)."""
        if not self._active:
            return
        self._latest = snapshot
        if snapshot.wall_s < self._next_wall:
            return
        self._next_wall = snapshot.wall_s + self._interval
        self._draw(snapshot)

    def close(self) -> None:
        """Stop the live line, leaving the run's final state on screen."""
        if self._live is not None:
            if self._latest is not self._drawn:
                self._draw(self._latest)
            self._live.stop()
            self._live = None
        self._active = False

    def __enter__(self) -> "ProgressView":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- drawing -----------------------------------------------------------

    def _draw(self, snapshot: ProgressSnapshot) -> None:
        span = snapshot.elapsed_s - self._last_elapsed
        done = snapshot.requests_issued - self._last_requests
        rate = done / span if span > 0 else 0.0
        self._last_elapsed, self._last_requests = snapshot.elapsed_s, snapshot.requests_issued
        self._drawn = snapshot
        completed, errors, p95_ms = self._read()
        line = format_progress(snapshot, self.total_s if self.total_s is not None else snapshot.total_s,
                               rate, errors, completed, p95_ms)
        self.updates += 1
        if self._terminal:
            self._draw_live(line)
        else:
            self.stream.write(f"z6: {line}\n")
            self.stream.flush()

    def _draw_live(self, line: str) -> None:
        # rich is imported only for a terminal: plain and quiet runs never pay for it.
        from rich.console import Console
        from rich.live import Live
        from rich.text import Text

        # One line however narrow the terminal: a wrapped line would scroll on every redraw.
        text = Text.assemble(("z6 ", "bold cyan"), line, no_wrap=True, overflow="ellipsis")
        if self._live is None:
            console = Console(file=self.stream, force_terminal=True)
            self._live = Live(text, console=console, auto_refresh=False, transient=False)
            self._live.start()
        self._live.update(text, refresh=True)


def _is_terminal(stream: TextIO) -> bool:
    isatty = getattr(stream, "isatty", None)
    try:
        return bool(isatty and isatty())
    except ValueError:  # a closed stream
        return False
