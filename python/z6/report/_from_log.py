"""The summary document rebuilt from an event log, chunk by chunk.

Every figure is recomputed from the log's records with the same `SummaryBuilder`
a run uses, so a report made later from the log equals the one made at the end
of the run. Assertions are evaluated again from the scenario text stored in the
log's header; recorded assertion events (kinds 12 and 13, appended after the run)
are not counted as traffic.
"""

from __future__ import annotations

from typing import Any, Iterator, Protocol, Sequence

import numpy as np

from z6.assertions import evaluate_assertions
from z6.metrics import SummaryBuilder
from z6.report._document import build_document, run_header
from z6.scenario import parse_scenario

__all__ = ["document_from_log", "LogLike"]

_STATUS_WARNINGS = {
    "interrupted": "the run was interrupted: the figures cover what ran before the stop",
    "failed": "the run failed before its end: the figures cover the events logged",
    "partial": "the log is partial (the run did not finish writing it): the figures cover its complete chunks",
}


class _HeaderLike(Protocol):
    seed: int
    mode: str
    tick_ns: int
    scenario_source: str
    scenario_text: str
    scenario_sha256: str
    request_names: Sequence[str]
    z6_version: str
    n_vus: int


class LogLike(Protocol):
    """What the report reads from an event log (`z6.log.read_log`'s result)."""

    header: _HeaderLike
    status: str   # "completed", "interrupted", "failed", or "partial" (no footer)

    def iter_chunks(self) -> Iterator[np.ndarray]: ...


def document_from_log(log: LogLike) -> dict[str, Any]:
    """The summary document of the run recorded in ``log``."""
    header = log.header
    builder = SummaryBuilder(tuple(header.request_names), header.tick_ns)
    last_tick = 0
    for chunk in log.iter_chunks():
        builder(chunk)
        if chunk.size:
            last_tick = int(chunk["tick"][-1])
    summary = builder.finish()
    scenario = parse_scenario(header.scenario_text, source=header.scenario_source)
    status = log.status
    run = run_header(
        scenario=header.scenario_source,
        scenario_sha256=header.scenario_sha256,
        mode=header.mode,
        seed=header.seed,
        vus=header.n_vus,
        tick_ns=header.tick_ns,
        request_names=header.request_names,
        final_tick=last_tick,
        wall_s=None,
        status=status,
        z6_version=header.z6_version,
        source="log",
    )
    warnings = [] if status == "completed" else [_STATUS_WARNINGS.get(status, f"the run's status is {status}")]
    return build_document(run, summary, evaluate_assertions(scenario.assertions, summary), warnings)
