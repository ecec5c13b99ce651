"""A run's directory: ``events.z6log``, ``summary.json``, ``scenario.toml`` and,
when asked, ``report.html``.

The log is streamed while the run goes on (`z6.log.EventLogWriter`); it is renamed
into place only when its footer is written, so a run that dies leaves
``events.z6log.partial`` and never a complete-looking log. At the end the log is
sealed first, then the other files are written atomically; a failure on the way
leaves no file that claims more than happened (`RunDirectory.finish`,
docs/output.md "The run directory: order of writes").
"""

from __future__ import annotations

import dataclasses
import datetime as _dt
import os
import re
from pathlib import Path
from typing import Optional

from z6.assertions import assertion_events
from z6.errors import ConfigError, RunError, Z6Error, io_error
from z6.log import LOG_NAME, PARTIAL_NAME, EventLogWriter, make_header
from z6.plan import Plan
from z6.report import summary_document, write_html, write_json
from z6.report._atomic import write_text_atomic
from z6.result import RunResult

__all__ = ["RunDirectory", "check_run_directory", "default_run_dir", "DEFAULT_RUNS_DIR"]

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


def check_run_directory(path: Path) -> None:
    """Refuse, with a ConfigError, a run directory that is a file or already holds a
    run. `z6.start` asks before its thread starts; `RunDirectory` asks again (and
    the log writer creates its file exclusively, for two runs started at once)."""
    if path.exists() and not path.is_dir():
        raise ConfigError(f"run directory {path}: exists and is not a directory")
    for name in (LOG_NAME, PARTIAL_NAME):
        if (path / name).exists():
            raise ConfigError(f"run directory {path}: already holds a run ({name}); choose another directory")


class RunDirectory:
    """Owns one run's output directory. ``writer`` is the chunk consumer to pass
    to the run; then `finish` (or `abort` when the run failed)."""

    def __init__(self, path: str | os.PathLike[str], scenario, plan: Plan, *,
                 vus_override: Optional[int] = None, duration_override_s: Optional[float] = None,
                 shards: int = 1) -> None:
        self.path = Path(path)
        check_run_directory(self.path)
        try:
            self.path.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise io_error(f"run directory {self.path}: cannot create it", exc) from None
        self.scenario = scenario
        self.target_templates = None  # the live target's WireTemplates, set by run_scenario when it has some
        self.plan = plan
        header = make_header(scenario, plan, vus_override=vus_override, duration_override_s=duration_override_s,
                             arrival_shards=shards)
        self.writer = EventLogWriter(self.path, header)
        self.log_path: Optional[Path] = None

    def _request_digests(self, result: RunResult) -> Optional[dict]:
        # The footer's record of rendered requests, with the Host and User-Agent
        # they were rendered with (a built-in target's port is chosen per run).
        digests = result.stats.request_digests
        wire = self.target_templates
        if digests is None or wire is None:
            return None
        return {"authority": wire.authority.decode("latin-1"), "user_agent": wire.user_agent.decode("ascii"),
                "digests": digests}

    def finish(self, result: RunResult, *, html: bool = False) -> Path:
        """Seal the log, then write the scenario copy, summary.json and report.html.

        The order is what makes a failure (a full disk) safe, docs/output.md:

        1. the assertion verdicts and the footer go into the log, which is renamed
           ``events.z6log``: the log is the record every other file is rebuilt
           from, so it is sealed whenever its footer fits (if the verdicts do not
           fit, it is sealed without them: they are rebuilt from its header);
        2. ``scenario.toml``, ``summary.json``, ``report.html``, each atomically.

        If step 1 fails the log stays ``events.z6log.partial`` (cut back to its last
        whole chunk) and nothing else is written. If step 2 fails, summary.json
        and report.html are removed again: they would claim a run that exits 0
        or 1 when `z6 run` exits 3; the sealed log stays, complete, and the
        error says so. Either way a `RunError` (exit 3) names the file.
        """
        verdicts = assertion_events(result.assertions, result.stats.final_tick, self.plan.request_names)
        try:
            if len(verdicts):
                try:
                    self.writer(verdicts)
                    self.writer.flush()  # written by the writer's thread: its error surfaces here
                except RunError:
                    pass  # the footer may still fit; the verdicts are rebuilt from the header
            transfer = result.stats.transfer
            self.log_path = self.writer.finish(result.status, request_digests=self._request_digests(result),
                                               transfer=None if transfer is None else transfer.to_json_dict(),
                                               redirect_offsite=result.stats.redirect_offsite)
            # summary.json carries the footer's figure, so a summary rebuilt from the log agrees.
            result = dataclasses.replace(result, stats=dataclasses.replace(
                result.stats, writer_stalled_s=self.writer.stalled_s))
        except RunError as exc:
            self.abort()
            raise RunError(f"{exc}; the run directory {self.path} keeps the log as {PARTIAL_NAME} "
                           "(its complete chunks read) and no summary") from None
        written: list[Path] = []
        target = self.path / "scenario.toml"
        try:
            write_text_atomic(target, self.scenario.text)
            document = summary_document(result)
            target = self.path / "summary.json"
            write_json(target, document)
            written.append(target)
            if html:
                target = self.path / "report.html"
                write_html(target, document)
                written.append(target)
        except OSError as exc:
            for path in written:
                path.unlink(missing_ok=True)
            raise RunError(f"{target}: cannot write: {exc.strerror or exc}; the event log {self.log_path} is "
                           f"sealed and complete, and no summary was left beside it "
                           f"(`z6 report {self.path} --json {self.path / 'summary.json'}` rebuilds it)") from None
        return self.path

    def fail(self) -> Optional[Path]:
        """The run stopped on an error: seal what was logged with status "failed"
        when the footer fits (the log then says the run failed before its end),
        else keep it as ``events.z6log.partial``; no summary is written. A log
        without one event is removed, as by `abort`. Returns the sealed log's path."""
        if self.writer.closed:
            return None
        try:
            self.writer.flush()  # the chunks still queued count (or fail) before the log is judged empty
        except Z6Error:
            pass  # the run failed already: what was written is sealed below, as failed
        if self.writer.records == 0:
            self.abort()
            return None
        try:
            self.log_path = self.writer.finish("failed")
        except RunError:
            return None  # left as .partial, cut back to its last whole chunk
        return self.log_path

    def abort(self) -> None:
        """The run failed: keep what was written as ``events.z6log.partial`` (or,
        when not one event was written, remove it and the directory if empty)."""
        if self.writer.closed:
            return
        self.writer.abort()  # writes the chunks still queued first
        if self.writer.records == 0:
            (self.path / PARTIAL_NAME).unlink(missing_ok=True)
            try:
                self.path.rmdir()
            except OSError:
                pass  # not empty: other files were there before the run
