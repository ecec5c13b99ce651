"""The run rebuilt from its event log alone: the one log -> run function.

`z6 replay --metrics-only` and `z6 report` (and `z6.report.document_from_log`)
all call `recompute_run`, so they cannot disagree about a log. Every figure is
recomputed from the log's records with the same `SummaryBuilder` a run uses, so a
report made later from the log equals the one made at the end of the run.
Assertions are evaluated again from the scenario text stored in the log's header;
recorded assertion events (kinds 12 and 13, appended after the run) are not
counted as traffic.
"""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path
from typing import Optional, Union

import numpy as np

from z6.analysis._rows import RowsRunOut, with_rows_note
from z6.analysis._header_scenario import parse_header_scenario, plan_from_header
from z6.assertions import evaluate_assertions
from z6.events import EventKind
from z6.live import host_header, serialize_request, tls_warnings
from z6.log import EventLog, LogError, read_log, writer_stall_warning
from z6.metrics import Summary, SummaryBuilder, iteration_requests, mean_think_ms
from z6.result import RunResult, RunStats, Transfer
from z6._version import __version__

__all__ = ["recompute_run", "with_live_warnings", "LogSource"]

LogSource = Union[str, os.PathLike, EventLog]

_ASSERTION_KINDS = np.array([EventKind.ASSERTION_PASSED, EventKind.ASSERTION_FAILED], dtype=np.uint16)


def _request_bytes(scenario, mode: str) -> Optional[list[int]]:
    # A live run counts the bytes it sent from each request's size on the wire.
    # The wire form is rebuilt from the scenario; the built-in target's port is
    # picked at run time and not logged, so its Host header (hence the sizes)
    # is unknown and bytes are left out.
    if mode != "live" or scenario.target.builtin:
        return None
    agent = f"z6/{__version__}"
    authority = host_header(scenario.target.host, scenario.target.port, 443 if scenario.target.tls else 80)
    prefix = scenario.target.path_prefix
    return [len(serialize_request(r, authority, agent, f"requests[{i}]", prefix))
            for i, r in enumerate(scenario.requests)]


def with_live_warnings(summary: Summary, scenario, mode: str, writer_stalled_s: float,
                       redirect_offsite: Optional[str] = None) -> Summary:
    """``summary`` with the warnings a live run adds beside its figures: an insecure
    TLS target, a writer the run had to wait on, and a redirect to another origin
    (named: the events hold only its class). One rule for the run
    (`z6.run_scenario`) and for its rebuild from the log, so the two agree."""
    if mode != "live":
        return summary
    extra = list(tls_warnings(scenario))
    stall = writer_stall_warning(writer_stalled_s)
    if stall is not None:
        extra.append(stall)
    if redirect_offsite is not None:
        count = summary.overall.errors.get("error:redirect_offsite", 0)
        extra.append(f"{count:,} redirect{'s' if count != 1 else ''} to another origin not followed "
                     f"(error redirect_offsite: a run tests its target's origin alone); the first went to "
                     f"{redirect_offsite!r}")
    return dataclasses.replace(summary, warnings=(*summary.warnings, *extra)) if extra else summary


def recompute_run(source: LogSource, *, base_dir: Optional[str | os.PathLike[str]] = None) -> RunResult:
    """The run's result rebuilt from its log: summary, assertions, counts.

    ``stats.wall_s`` is the footer's ``elapsed_s`` (None for a partial log, which
    has no footer); ``stats.final_tick`` the last traffic event's tick. The
    result's ``source`` is "log", its ``status`` the log's own ("completed",
    "interrupted", "failed" or "partial") and its ``z6_version`` the writer's.
    Request bodies change no latency or count: a log whose body files are gone
    still recomputes, only without the bytes sent (those need the bodies).
    Raises `LogError` when the records do not fit the header.
    """
    log = source if isinstance(source, EventLog) else read_log(source)
    header = log.header
    scenario, dropped = parse_header_scenario(header, Path(log.path), base_dir, require_bodies=False)
    plan = plan_from_header(header, scenario, log.path)
    builder = SummaryBuilder(tuple(header.request_names), header.tick_ns,
                             request_bytes=(None if dropped or (plan.templates and plan.templates.any_templated)
                                            else _request_bytes(scenario, header.mode)),
                             think_ms=mean_think_ms(scenario.think_time), open_model=iteration_requests(plan),
                             on_start=len(plan.on_start) > 0,
                             checks=plan.checks.labels if plan.checks is not None else None,
                             redirects=header.mode == "live" and scenario.target.follow_redirects > 0)
    rows = RowsRunOut(plan)
    last_tick = 0
    for chunk in log.iter_chunks():
        traffic = chunk[~np.isin(chunk["kind"], _ASSERTION_KINDS)]
        if traffic.size == 0:
            continue
        try:
            builder(traffic)
            rows(traffic)
        except ValueError as exc:  # records that do not fit the header's requests
            raise LogError(log.path, f"records do not fit the header: {exc}") from None
        last_tick = max(last_tick, int(traffic["tick"].max()))
    summary = builder.finish()
    # The run's own wait on its writer, as the footer recorded it.
    summary = with_live_warnings(summary, scenario, header.mode, log.footer.writer_stalled_s if log.footer else 0.0,
                                 log.footer.redirect_offsite if log.footer else None)
    summary = with_rows_note(summary, rows)
    status = log.status
    interrupted = status != "completed"
    # The bytes on the wire are the core's counters, not events: the footer keeps them.
    transfer = log.footer.transfer if log.footer is not None else None
    if transfer is not None and len(transfer["sent"]) != len(header.request_names):
        raise LogError(log.path, f"the footer's transfer counts {len(transfer['sent'])} requests, "
                                 f"the header names {len(header.request_names)}")
    stats = RunStats(events=summary.events, requests_issued=summary.overall.requests, final_tick=last_tick,
                     wall_s=log.footer.elapsed_s if log.footer is not None else None, interrupted=interrupted,
                     writer_stalled_s=log.footer.writer_stalled_s if log.footer is not None else 0.0,
                     transfer=None if transfer is None else Transfer.from_json_dict(dict(transfer)),
                     redirect_offsite=log.footer.redirect_offsite if log.footer is not None else None)
    return RunResult(
        scenario_source=header.scenario_source,
        scenario_sha256=header.scenario_sha256,
        mode=header.mode,
        seed=header.seed,
        n_vus=header.n_vus,
        plan=plan,
        stats=stats,
        summary=summary,
        assertions=tuple(evaluate_assertions(scenario.assertions, summary)),
        interrupted=interrupted,
        source="log",
        z6_version=header.z6_version,
        recorded_status=status,
    )
