"""The summary document (``summary.json``): one run's header, figures and verdict.

Its layout is versioned (``schema_version``), described in docs/output.md and
checked by ``summary.schema.json`` beside this module. Version 1 is fixed: a
change that removes, renames or retypes a field raises the version; new optional
fields may appear within a version.
"""

from __future__ import annotations

from typing import Any, Optional, Sequence

from z6.analysis import recompute_run
from z6.analysis._recompute import LogSource
from z6.assertions import AssertionResult
from z6.errors import EXIT_ASSERTION_FAILED, EXIT_OK, EXIT_RUNTIME
from z6.metrics import LAG_MIN_SAMPLES, Summary
from z6.report._transfer import transfer_document
from z6.result import RunResult

__all__ = ["SCHEMA_VERSION", "summary_document", "document_from_log", "build_document", "run_header",
           "verdict_word"]

SCHEMA_VERSION = 1


def run_header(*, scenario: str, scenario_sha256: str, mode: str, seed: int, vus: int, tick_ns: int,
               request_names: Sequence[str], final_tick: int, wall_s: Optional[float], status: str,
               z6_version: str, source: str, writer_stalled_s: float = 0.0) -> dict[str, Any]:
    """The ``run`` section. ``source`` says where the figures come from: "run" or "log".

    ``status`` is how the run ended: "completed", "interrupted", "stopped", "failed", or
    "partial" (a log the run never finished writing); anything but "completed"
    marks the run interrupted. ``writer_stalled_s`` is how long the run waited on
    its event log's writer.
    """
    return {
        "scenario": scenario,
        "scenario_sha256": scenario_sha256,
        "mode": mode,
        "seed": seed,
        "vus": vus,
        "tick_ns": tick_ns,
        "request_names": list(request_names),
        "final_tick": final_tick,
        "wall_s": wall_s,
        "writer_stalled_s": writer_stalled_s,
        "status": status,
        "interrupted": status != "completed",
        "z6_version": z6_version,
        "source": source,
    }


def _verdict(assertions: Sequence[AssertionResult], status: str) -> dict[str, Any]:
    failed = sum(1 for a in assertions if not a.passed)
    interrupted = status != "completed"
    # The exit code `z6 run` gives: a run that did not complete is a runtime error
    # whatever its assertions say, since they judged only part of the planned load.
    exit_code = EXIT_RUNTIME if interrupted else EXIT_ASSERTION_FAILED if failed else EXIT_OK
    return {
        "passed": exit_code == EXIT_OK,
        "assertions_total": len(assertions),
        "assertions_failed": failed,
        "interrupted": interrupted,
        "exit_code": exit_code,
        # The word the terminal summary ends with (z6.report.verdict_word).
        "result": verdict_word(status, failed == 0).lower(),
    }


def verdict_word(status: str, assertions_passed: bool) -> str:
    """The verdict a run's summary ends with: FAILED for a run that lost part of
    its load (a worker), STOPPED for one its handle stopped, INTERRUPTED for one
    a signal stopped early (or a partial log), else FAILED or PASSED by its assertions."""
    if status == "failed":
        return "FAILED"
    if status == "stopped":
        return "STOPPED"
    if status != "completed":
        return "INTERRUPTED"
    return "PASSED" if assertions_passed else "FAILED"


def build_document(run: dict[str, Any], summary: Summary, assertions: Sequence[AssertionResult],
                   warnings: Sequence[str] = ()) -> dict[str, Any]:
    """The document from a run header, a summary and assertion results."""
    overall = summary.overall
    duration_s = summary.duration_s
    return {
        "schema_version": SCHEMA_VERSION,
        "run": run,
        "summary": {
            "duration_s": duration_s,
            "rate": summary.rate,
            "vus_max": summary.vus_max,
            "events": summary.events,
            "percentile_method": summary.percentile_method,
            **overall.to_dict(),
            # [lifecycle] on_start runs only: VUs ended by a failed on_start request.
            **({"failed_vus": summary.failed_vus} if summary.failed_vus is not None else {}),
        },
        "requests": {
            name: {**r.to_dict(), "rate": r.requests / duration_s} for name, r in summary.per_request.items()
        },
        "statuses": {str(code): s.to_dict() for code, s in sorted(summary.per_status.items())},
        "errors": {kind: {"count": count, "rate": overall.error_rates[kind]}
                   for kind, count in sorted(overall.errors.items())},
        "lag_ms": {**summary.lag.to_dict(), "warn_above_p99": summary.lag_threshold_ms,
                   "warn_min_samples": LAG_MIN_SAMPLES},
        "time_series": summary.time_series.to_dict() if summary.time_series is not None else None,
        "latency_distribution": summary.distribution.to_dict(),
        "assertions": [{"index": i, **a.to_dict()} for i, a in enumerate(assertions)],
        "warnings": [*summary.warnings, *warnings],
        # Live runs: connections opened, TLS handshakes (full / resumed) and the
        # time to connect (TCP plus handshake); null when none were opened.
        "connections": summary.connections.to_dict() if summary.connections is not None else None,
        "verdict": _verdict(assertions, run["status"] if run["interrupted"] else "completed"),
        # Arrival-rate runs only: dropped iterations and response time (z6.metrics._open_model).
        **({"open_model": summary.open_model.to_dict()} if summary.open_model is not None else {}),
    }


# Why the figures cover less than the planned run, by how it ended.
_STATUS_WARNINGS = {
    "interrupted": "the run was interrupted: the figures cover what ran before the stop",
    "stopped": "the run was stopped through its handle: the figures cover what ran before the stop",
    "failed": "the run failed before its end: the figures cover the events logged",
    "partial": "the log is partial (the run did not finish writing it): the figures cover its complete chunks",
}


def summary_document(result: RunResult) -> dict[str, Any]:
    """The summary document of a run: one finished by `z6.run_scenario`, or one
    rebuilt from its log (`z6.analysis.recompute_run`)."""
    run = run_header(
        scenario=result.scenario_source,
        scenario_sha256=result.scenario_sha256,
        mode=result.mode,
        seed=result.seed,
        vus=result.n_vus,
        tick_ns=result.plan.tick_ns,
        request_names=result.plan.request_names,
        final_tick=result.stats.final_tick,
        wall_s=result.stats.wall_s,
        status=result.status,
        z6_version=result.z6_version,
        source=result.source,
        writer_stalled_s=result.stats.writer_stalled_s,
    )
    warnings = []
    if result.status != "completed":
        if result.scale_out is not None and result.scale_out.lost:
            warnings.extend(result.scale_out.lost_message().splitlines())
        else:
            warnings.append(_STATUS_WARNINGS.get(result.status, f"the run's status is {result.status}"))
    document = build_document(run, result.summary, result.assertions, warnings)
    # Bytes on the wire (live runs): the core's counters, beside the figures from events.
    document["transfer"] = transfer_document(result)
    if result.scale_out is not None:
        document["distributed"] = result.scale_out.to_dict()
    return document


def document_from_log(log: LogSource) -> dict[str, Any]:
    """The summary document of the run recorded in ``log`` (a path or an `EventLog`)."""
    return summary_document(recompute_run(log))
