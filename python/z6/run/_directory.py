"""A run's directory: ``events.z6log``, ``summary.json``, ``scenario.toml`` and,
when asked, ``report.html``.

The log is streamed while the run goes on (`z6.log.EventLogWriter`); it is renamed
into place only when its footer is written, so a run that dies leaves
``events.z6log.partial`` and never a complete-looking log. The other files are
written atomically after the run.
"""

from __future__ import annotations

import datetime as _dt
import os
import re
from pathlib import Path
from typing import Optional

from z6.assertions import assertion_events
from z6.errors import ConfigError, RunError, io_error
from z6.log import LOG_NAME, PARTIAL_NAME, EventLogWriter, make_header
from z6.plan import Plan
from z6.report import summary_document, write_html, write_json
from z6.report._atomic import write_text_atomic
from z6.result import RunResult

__all__ = ["RunDirectory", "default_run_dir", "DEFAULT_RUNS_DIR"]

DEFAULT_RUNS_DIR = "z6-runs"


def default_run_dir(scenario, seed: int, base: str | os.PathLike[str] = DEFAULT_RUNS_DIR) -> Path:
    """A new directory ``<base>/<scenario name>-<UTC time>-seed<seed>[-N]``.

    It is created here, atomically, so two runs started in the same second never
    share one; a run that fails before any event removes it again.
    """
    name = re.sub(r"[^A-Za-z0-9_.-]+", "-", scenario.metadata.name).strip("-.") or "run"
    stamp = _dt.datetime.now(_dt.timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    path = Path(base) / f"{name}-{stamp}-seed{seed}"
    try:
        Path(base).mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise io_error(f"runs directory {base}: cannot create it", exc) from None
    for n in range(1, 10_000):
        candidate = path if n == 1 else path.with_name(f"{path.name}-{n}")
        try:
            candidate.mkdir()
            return candidate
        except FileExistsError:
            continue
        except OSError as exc:
            raise io_error(f"run directory {candidate}: cannot create it", exc) from None
    raise ConfigError(f"runs directory {base}: no free name for {path.name}")


class RunDirectory:
    """Owns one run's output directory. ``writer`` is the chunk consumer to pass
    to the run; then `finish` (or `abort` when the run failed)."""

    def __init__(self, path: str | os.PathLike[str], scenario, plan: Plan, *,
                 vus_override: Optional[int] = None, duration_override_s: Optional[float] = None) -> None:
        self.path = Path(path)
        if self.path.exists() and not self.path.is_dir():
            raise ConfigError(f"run directory {self.path}: exists and is not a directory")
        for name in (LOG_NAME, PARTIAL_NAME):
            if (self.path / name).exists():
                raise ConfigError(f"run directory {self.path}: already holds a run ({name}); choose another directory")
        try:
            self.path.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise io_error(f"run directory {self.path}: cannot create it", exc) from None
        self.scenario = scenario
        self.plan = plan
        header = make_header(scenario, plan, vus_override=vus_override, duration_override_s=duration_override_s)
        self.writer = EventLogWriter(self.path, header)
        self.log_path: Optional[Path] = None

    def finish(self, result: RunResult, *, html: bool = False) -> Path:
        """Write the scenario copy, summary.json (and report.html), then append the
        assertion verdicts to the log and seal it. The log is sealed last, so a
        complete events.z6log always has its summary beside it; if anything
        fails, the log stays ``.partial`` and the error names the file."""
        target = self.path
        try:
            target = self.path / "scenario.toml"
            write_text_atomic(target, self.scenario.text)
            document = summary_document(result)
            target = self.path / "summary.json"
            write_json(target, document)
            if html:
                target = self.path / "report.html"
                write_html(target, document)
            target = self.path / PARTIAL_NAME
            verdicts = assertion_events(result.assertions, result.stats.final_tick, self.plan.request_names)
            if len(verdicts):
                self.writer(verdicts)
            self.log_path = self.writer.finish(result.status)
        except RunError:
            self.abort()
            raise
        except OSError as exc:
            self.abort()
            # Files z6 names inside the run directory, after the run: any failure is a runtime one (3).
            raise RunError(f"{target}: cannot write: {exc.strerror or exc}") from None
        return self.path

    def abort(self) -> None:
        """The run failed: keep what was written as ``events.z6log.partial`` (or,
        when not one event was written, remove it and the directory if empty)."""
        if self.writer.closed:
            return
        empty = self.writer.records == 0
        self.writer.abort()
        if empty:
            (self.path / PARTIAL_NAME).unlink(missing_ok=True)
            try:
                self.path.rmdir()
            except OSError:
                pass  # not empty: other files were there before the run
