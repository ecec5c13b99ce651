"""Text, CSV and JSON renderings of analyses, diffs and verifications.

The text forms show user text (request names, paths, the filter) through
`z6.errors.printable`: a name from a log cannot forge a line or send escape
sequences. CSV and JSON keep it as it is (their quoting is their own)."""

from __future__ import annotations

import csv
import io
import json
import math
from typing import Any, Optional, Sequence

from z6.analysis._analyze import Analysis, GroupStats
from z6.analysis._diff import DiffResult, DiffRow
from z6.analysis._verify import VerifyResult
from z6.errors import printable

__all__ = ["render_analysis", "render_diff", "render_verify", "to_json"]


def _finite(value: Any) -> Any:
    """``value`` with every infinite or NaN float replaced by None (JSON has no such numbers)."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {key: _finite(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_finite(item) for item in value]
    return value


def to_json(data: Any) -> str:
    """``data`` as strict JSON: a number that is not finite (a relative change from a
    baseline of 0 is infinite) is written as null, never as ``Infinity``."""
    return json.dumps(_finite(data), indent=2, allow_nan=False)


def _ms(value: Optional[float]) -> str:
    if value is None:
        return "-"
    return f"{value:.3f}" if value < 10 else f"{value:.2f}" if value < 1000 else f"{value:.0f}"


def _pct(value: Optional[float]) -> str:
    return "-" if value is None else f"{value:.2%}"


def _rate(value: Optional[float]) -> str:
    return "-" if value is None else f"{value:.1f}"


def _count(value: Optional[int]) -> str:
    return "-" if value is None else str(value)


def _table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> list[str]:
    # First column left-aligned, the others right-aligned, two spaces apart.
    widths = [max(len(str(cell)) for cell in column) for column in zip(headers, *rows)]
    lines = []
    for row in (headers, *rows):
        cells = [f"{row[0]:<{widths[0]}}", *(f"{cell:>{w}}" for cell, w in zip(row[1:], widths[1:]))]
        lines.append("  " + "  ".join(cells).rstrip())
    return lines


def _log_line(log: dict) -> str:
    return (f"{printable(log['path'])}: {log['mode']} run of {printable(log['scenario'])}, seed {log['seed']}, {log['vus']} VUs, "
            f"{log['status']}, {log['records']} records")


def _analysis_text(analysis: Analysis) -> str:
    lines = [f"z6 analyze {_log_line(analysis.log)}", f"  duration  {analysis.duration_s:.3f} s"]
    if analysis.filter is not None:
        lines.append(f"  filter    {printable(analysis.filter)}")
    rows: list[GroupStats] = [analysis.overall, *analysis.groups]
    title = analysis.by or "group"
    lines.append("")
    lines += _table([title, "events", "requests", "completed", "failed", "error%", "rate/s"],
                    [[printable(g.label), str(g.events), _count(g.requests), str(g.completed), str(g.failed),
                      _pct(g.error_rate), _rate(g.rate)] for g in rows])
    labels = analysis.percentile_labels
    lines.append("")
    lines += _table(["latency ms", "count", "min", "mean", *labels, "max"],
                    [[printable(g.label), str(g.latency.count), _ms(g.latency.min), _ms(g.latency.mean),
                      *(_ms(g.latency.percentiles[p]) for p in labels), _ms(g.latency.max)] for g in rows])
    return "\n".join(lines)


def _cell(value: object) -> object:
    return "" if value is None else value


def _analysis_csv(analysis: Analysis) -> str:
    labels = analysis.percentile_labels
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["group", "events", "requests", "completed", "failed", "error_rate", "rate", "latency_count",
                     "latency_min_ms", "latency_mean_ms", *(f"latency_{p}_ms" for p in labels), "latency_max_ms"])
    for g in (analysis.overall, *analysis.groups):
        lat = g.latency
        writer.writerow([_cell(v) for v in (g.key, g.events, g.requests, g.completed, g.failed, g.error_rate, g.rate,
                                            lat.count, lat.min, lat.mean, *(lat.percentiles[p] for p in labels),
                                            lat.max)])
    return out.getvalue().rstrip("\n")


def render_analysis(analysis: Analysis, fmt: str = "summary") -> str:
    """``summary`` (aligned text), ``json`` or ``csv`` (one row per group, overall first)."""
    if fmt == "json":
        return to_json(analysis.to_dict())
    if fmt == "csv":
        return _analysis_csv(analysis)
    return _analysis_text(analysis)


def _diff_cells(row: DiffRow) -> list[str]:
    metric = row.metric
    if metric == "error_rate":
        delta = "-" if row.delta is None else f"{row.delta * 100:+.3f}pp"
        return ["error_rate", _pct(row.a), _pct(row.b), delta, "-"]
    change = "-" if row.change_pct is None else f"{row.change_pct:+.2f}%"
    if metric in ("requests", "completed", "failed"):
        shown = [_count(None if v is None else int(v)) for v in (row.a, row.b)]
        delta = "-" if row.delta is None else f"{int(row.delta):+d}"
        return [metric, *shown, delta, change]
    if metric == "rate":
        delta = "-" if row.delta is None else f"{row.delta:+.1f}"
        return ["rate/s", _rate(row.a), _rate(row.b), delta, change]
    delta = "-" if row.delta is None else f"{row.delta:+.3f}"
    return [f"{metric} ms", _ms(row.a), _ms(row.b), delta, change]


def render_diff(result: DiffResult, fmt: str = "text") -> str:
    if fmt == "json":
        return to_json(result.to_dict())
    lines = ["z6 diff", f"  A  {_log_line(result.a.log)}", f"  B  {_log_line(result.b.log)}"]
    lines += [f"  note: {printable(note)}" for note in result.notes]
    lines.append("")
    lines += _table(["metric", "A", "B", "delta", "change"], [_diff_cells(row) for row in result.rows])
    if result.checks:
        lines.append("")
        lines.append("thresholds")
        for check in result.checks:
            lines.append(f"  {'FAIL' if check.exceeded else 'PASS'}  {printable(check.threshold.text)}: "
                         f"{printable(check.reason)}")
        exceeded = sum(c.exceeded for c in result.checks)
        lines.append("")
        lines.append(f"REGRESSION: {exceeded} of {len(result.checks)} thresholds exceeded" if exceeded
                     else f"OK: none of {len(result.checks)} thresholds exceeded")
    return "\n".join(lines)


def render_verify(result: VerifyResult, log: dict) -> str:
    verdict = "MATCH" if result.matched else "MISMATCH"
    # The message's own lines are z6's; each is shown printable (names in it are escaped at the source).
    message = "\n".join(printable(line) for line in result.message.split("\n"))
    return "\n".join([f"z6 replay --verify {_log_line(log)}", f"{verdict}: {message}",
                      *(f"note: {printable(remark)}" for remark in result.remarks)])
