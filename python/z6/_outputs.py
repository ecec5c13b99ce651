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
from typing import TYPE_CHECKING, Optional

from z6._errors import ConfigError
from z6.assertions import assertion_events
from z6.log import LOG_NAME, PARTIAL_NAME, EventLogWriter, make_header
from z6.report import summary_document, write_html, write_json
from z6.report._atomic import write_text_atomic

if TYPE_CHECKING:
    from z6._run import RunResult
    from z6.plan import Plan

__all__ = ["RunDirectory", "default_run_dir", "DEFAULT_RUNS_DIR"]

DEFAULT_RUNS_DIR = "z6-runs"


def default_run_dir(scenario, seed: int, base: str | os.PathLike[str] = DEFAULT_RUNS_DIR) -> Path:
    """``z6-runs/<scenario name>-<UTC time>-seed<seed>``, made unique if taken."""
    name = re.sub(r"[^A-Za-z0-9_.-]+", "-", scenario.metadata.name).strip("-.") or "run"
    stamp = _dt.datetime.now(_dt.timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    path = Path(base) / f"{name}-{stamp}-seed{seed}"
    candidate, n = path, 1
    while candidate.exists():
        n += 1
        candidate = path.with_name(f"{path.name}-{n}")
    return candidate


class RunDirectory:
    """Owns one run's output directory. ``writer`` is the chunk consumer to pass
    to the run; then `finish` (or `abort` when the run failed)."""

    def __init__(self, path: str | os.PathLike[str], scenario, plan: "Plan", *,
                 vus_override: Optional[int] = None, duration_override_s: Optional[float] = None) -> None:
        self.path = Path(path)
        if self.path.exists() and not self.path.is_dir():
            raise ConfigError(f"--out {self.path}: exists and is not a directory")
        for name in (LOG_NAME, PARTIAL_NAME):
            if (self.path / name).exists():
                raise ConfigError(f"--out {self.path}: already holds a run ({name}); choose another directory")
        try:
            self.path.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise ConfigError(f"--out {self.path}: cannot create the directory: {exc.strerror}") from None
        self.scenario = scenario
        self.plan = plan
        header = make_header(scenario, plan, vus_override=vus_override, duration_override_s=duration_override_s)
        self.writer = EventLogWriter(self.path, header)
        self.log_path: Optional[Path] = None

    def finish(self, result: "RunResult", *, html: bool = False) -> Path:
        """Append the assertion verdicts to the log, seal it, write the rest."""
        verdicts = assertion_events(result.assertions, result.stats.final_tick, self.plan.request_names)
        if len(verdicts):
            self.writer(verdicts)
        self.log_path = self.writer.finish("interrupted" if result.interrupted else "completed")
        write_text_atomic(self.path / "scenario.toml", self.scenario.text)
        document = summary_document(result)
        write_json(self.path / "summary.json", document)
        if html:
            write_html(self.path / "report.html", document)
        return self.path

    def abort(self) -> None:
        """The run failed: keep what was written as ``events.z6log.partial``."""
        self.writer.abort()
