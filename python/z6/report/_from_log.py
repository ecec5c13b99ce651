"""The summary document rebuilt from an event log, chunk by chunk.

Every figure is recomputed from the log's records with the same `SummaryBuilder`
a run uses, so a report made later from the log equals the one made at the end
of the run. Assertions are evaluated again from the scenario text stored in the
log's header; recorded assertion events (kinds 12 and 13, appended after the run)
are not counted as traffic.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Iterator, Optional, Protocol, Sequence

import numpy as np

import z6
from z6.assertions import evaluate_assertions
from z6.events import EventKind
from z6.live import host_header, serialize_request
from z6.metrics import SummaryBuilder
from z6.report._document import build_document, run_header

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
    path: Path    # the log file (body_file paths may resolve against its directory)
    status: str   # "completed", "interrupted", "failed", or "partial" (no footer)

    def iter_chunks(self) -> Iterator[np.ndarray]: ...


def _request_bytes(scenario, mode: str) -> Optional[list[int]]:
    # A live run counts the bytes it sent from each request's size on the wire.
    # The wire form is rebuilt from the scenario; the built-in target's port is
    # picked at run time and not logged, so its Host header (hence the sizes)
    # is unknown and bytes are left out.
    if mode != "live" or scenario.target.builtin:
        return None
    agent = f"z6/{z6.__version__}"
    authority = host_header(scenario.target.host, scenario.target.port)
    return [len(serialize_request(r, authority, agent, f"requests[{i}]")) for i, r in enumerate(scenario.requests)]


def document_from_log(log: LogLike) -> dict[str, Any]:
    """The summary document of the run recorded in ``log``."""
    from z6.log._scenario import parse_header_scenario

    header = log.header
    # Bodies change no latency or count: a log whose body files are gone still
    # reports, only without the bytes sent (those need the bodies).
    scenario, dropped = parse_header_scenario(header, Path(log.path), require_bodies=False)
    builder = SummaryBuilder(tuple(header.request_names), header.tick_ns,
                             request_bytes=None if dropped else _request_bytes(scenario, header.mode))
    last_tick = 0
    for chunk in log.iter_chunks():
        # The assertion verdicts appended after the run are not traffic.
        traffic = chunk[(chunk["kind"] != EventKind.ASSERTION_PASSED) & (chunk["kind"] != EventKind.ASSERTION_FAILED)]
        builder(traffic)
        if traffic.size:
            last_tick = int(traffic["tick"][-1])
    summary = builder.finish()
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
