"""The HTML report: one self-contained file drawn from a summary document.

No script runs and nothing is fetched: the styles are inline, the charts are
inline SVG (see `z6.report._svg`), so the page works offline and from any
directory. The document itself is embedded as JSON in a
``<script type="application/json" id="z6-summary">`` block (data, not code) for
tools that want the numbers back.

Every string that can come from a scenario (its path, request names, error
labels, warnings) goes through `html.escape`; the embedded JSON escapes ``<``,
``>``, ``&`` and U+2028/U+2029, so no value can close the block or start markup.
"""

from __future__ import annotations

import json
import math
import os
from html import escape
from typing import Any, Mapping, Optional, Sequence

from z6.metrics import PERCENTILES
from z6.report._atomic import write_text_atomic
from z6.report._svg import Series, bar_chart, line_chart

__all__ = ["render_html", "write_html", "embed_json", "MAX_CHART_POINTS"]

# Beyond this many seconds the time charts show buckets of several seconds.
MAX_CHART_POINTS = 2000

# Chart colours appear nowhere else on the page (the badges use darker shades), so a
# screenshot shows by its pixels which charts were drawn.
COLORS = {
    "rate": "#2563eb",
    "errors": "#dc2626",
    "p50": "#16a34a",
    "p95": "#d97706",
    "p99": "#9333ea",
    "vus": "#0891b2",
    "distribution": "#4f46e5",
}

_STYLE = """
body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: #111827;
       background: #f3f4f6; margin: 0; }
main { max-width: 960px; margin: 0 auto; padding: 24px; }
h1 { font-size: 22px; margin: 0 0 4px; } h2 { font-size: 17px; margin: 28px 0 8px; }
section { background: #fff; border-radius: 8px; padding: 16px 20px; margin: 16px 0;
          box-shadow: 0 1px 2px rgba(0,0,0,.06); }
.table { overflow-x: auto; }
table { border-collapse: collapse; width: 100%; font-size: 13px; font-variant-numeric: tabular-nums; }
th, td { text-align: right; padding: 4px 6px; border-bottom: 1px solid #e5e7eb; white-space: nowrap; }
th:first-child, td:first-child { text-align: left; white-space: normal; overflow-wrap: anywhere; min-width: 7em; }
th { color: #374151; font-weight: 600; }
dl.header { display: grid; grid-template-columns: max-content 1fr; gap: 2px 16px; margin: 0; }
dl.header dt { color: #6b7280; } dl.header dd { margin: 0; overflow-wrap: anywhere; }
.verdict { display: inline-block; padding: 2px 10px; border-radius: 999px; font-weight: 700; color: #fff; }
.pass { background: #15803d; } .fail { background: #b91c1c; } .warn { background: #b45309; }
.cards { display: grid; grid-template-columns: repeat(auto-fit, minmax(130px, 1fr)); gap: 12px; }
.card { background: #f9fafb; border-radius: 6px; padding: 8px 12px; }
.card b { display: block; font-size: 20px; } .card span { color: #6b7280; font-size: 12px; }
.warning { border-left: 4px solid #b45309; background: #fffbeb; padding: 8px 12px; margin: 8px 0; }
svg.chart { width: 100%; height: auto; display: block; }
svg .grid { stroke: #e5e7eb; stroke-width: 1; } svg .axis { stroke: #9ca3af; stroke-width: 1; }
svg text { font: 11px system-ui, sans-serif; fill: #374151; } svg .label { fill: #6b7280; }
svg .muted { fill: #9ca3af; font-size: 14px; }
.caption { color: #6b7280; font-size: 12px; margin: 4px 0 0; }
"""


def embed_json(data: Any) -> str:
    """JSON safe inside a ``<script>`` block: no ``<``, ``>``, ``&`` or line separators as is."""
    text = json.dumps(data, ensure_ascii=False, allow_nan=False, separators=(",", ":"))
    return (text.replace("&", "\\u0026").replace("<", "\\u003c").replace(">", "\\u003e")
            .replace("\u2028", "\\u2028").replace("\u2029", "\\u2029"))


def _ms(value: Optional[float]) -> str:
    if value is None:
        return "–"
    return f"{value:.3f}" if value < 10 else f"{value:.2f}" if value < 1000 else f"{value:,.0f}"


def _percent(value: Optional[float]) -> str:
    return "–" if value is None else f"{value:.2%}"


def _number(value: Any) -> str:
    if value is None:
        return "–"
    if isinstance(value, float):
        return f"{value:,.4g}" if abs(value) < 1e6 else f"{value:,.0f}"
    return f"{value:,}"


def _table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    # Cells arrive escaped (or made of markup z6 writes); headers are z6's own words.
    head = "".join(f"<th>{escape(h)}</th>" for h in headers)
    body = "".join("<tr>" + "".join(f"<td>{c}</td>" for c in row) + "</tr>" for row in rows)
    return f'<div class="table"><table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table></div>'


def _latency_cells(latency: Mapping[str, Any]) -> list[str]:
    return [_ms(latency["min"]), *(_ms(latency[label]) for label, _ in PERCENTILES), _ms(latency["max"])]


_LATENCY_HEADERS = ["min", *(label for label, _ in PERCENTILES), "max"]

_PERCENTILE_METHODS = {
    "exact": "exact (nearest rank)",
    "hdr": "HDR histograms: each at most 0.1% above the exact value",
}


def _percentile_method(summary: Mapping[str, Any]) -> str:
    # Documents from before the field existed were always exact.
    method = str(summary.get("percentile_method", "exact"))
    return _PERCENTILE_METHODS.get(method, method)


def _header(doc: Mapping[str, Any]) -> str:
    run, verdict = doc["run"], doc["verdict"]
    if verdict.get("result") == "failed" and verdict["interrupted"]:
        badge = '<span class="verdict fail">FAILED</span>'  # a lost worker
    elif verdict["interrupted"]:
        word = "STOPPED" if verdict.get("result") == "stopped" else "INTERRUPTED"
        badge = f'<span class="verdict warn">{word}</span>'
    elif verdict["passed"]:
        badge = '<span class="verdict pass">PASSED</span>'
    else:
        badge = '<span class="verdict fail">FAILED</span>'
    fields = [
        ("scenario", run["scenario"]),
        ("scenario SHA-256", run["scenario_sha256"]),
        ("mode", run["mode"]),
        ("seed", str(run["seed"])),
        ("VUs", f"{run['vus']:,}"),
        ("tick", f"{run['tick_ns'] / 1e6:g} ms"),
        ("duration", f"{doc['summary']['duration_s']:,.3f} s"),
        ("wall time", "–" if run["wall_s"] is None else f"{run['wall_s']:,.3f} s"),
        ("z6", run["z6_version"]),
        ("figures from", "the run" if run["source"] == "run" else "the event log"),
        ("percentiles", _percentile_method(doc["summary"])),
    ]
    items = "".join(f"<dt>{escape(k)}</dt><dd>{escape(v)}</dd>" for k, v in fields)
    return (f"<h1>z6 report: {escape(run['scenario'])}</h1><p>{badge} "
            f"{verdict['assertions_total'] - verdict['assertions_failed']} of {verdict['assertions_total']} "
            f"assertions passed; exit code {verdict['exit_code']}</p>"
            f'<section><dl class="header">{items}</dl></section>')


def _cards(doc: Mapping[str, Any]) -> str:
    s = doc["summary"]
    lat = s["latency_ms"]
    cards = [
        ("requests", _number(s["requests"])),
        ("requests/s", f"{s['rate']:,.1f}"),
        ("failed", f"{_number(s['failed'])} ({_percent(s['error_rate'])})"),
        ("p50 ms", _ms(lat["p50"])),
        ("p95 ms", _ms(lat["p95"])),
        ("p99 ms", _ms(lat["p99"])),
        ("max VUs", _number(s["vus_max"])),
        ("lag p99 ms", _ms(doc["lag_ms"]["p99"])),
    ]
    if "open_model" in doc:
        # An arrival-rate run: arrivals dropped with the pool busy, response time from the intended start.
        om = doc["open_model"]
        cards += [("dropped iterations", f"{_number(om['dropped_iterations'])} ({_percent(om['dropped_rate'])})"),
                  ("response p99 ms", _ms(om["response_time_ms"]["p99"]))]
    transfer = doc.get("transfer")   # absent in documents written before it, null in simulated runs
    if transfer:
        cards += [("MB/s sent", f"{transfer['sent_mb_per_s']:,.3f}"),
                  ("MB/s received", f"{transfer['received_mb_per_s']:,.3f}")]
    return '<div class="cards">' + "".join(
        f'<div class="card"><b>{escape(v)}</b><span>{escape(k)}</span></div>' for k, v in cards) + "</div>"


def _bucketed(doc: Mapping[str, Any]) -> tuple[dict[str, list[float]], dict[str, list[Optional[float]]], int]:
    """Chart series from the sparse time series (a missing second had no events).

    Returns x values ("mid": bucket middles for rates and latency; "steps": each
    bucket's start and end, for the VUs active at its end drawn across it), the
    series, and the bucket width in seconds.
    """
    ts = doc["time_series"] or {"second": []}
    seconds = ts["second"]
    if not seconds:
        return {"mid": [], "steps": []}, {}, 1
    first, last = seconds[0], seconds[-1]
    width = max(1, math.ceil((last - first + 1) / MAX_CHART_POINTS))
    n = (last - first) // width + 1
    sums = {key: [0.0] * n for key in ("requests", "errors")}
    vus: list[Optional[float]] = [None] * n
    latency: dict[str, list[Optional[float]]] = {label: [None] * n for label in ("p50", "p95", "p99")}
    for row, second in enumerate(seconds):
        b = (second - first) // width
        sums["requests"][b] += ts["requests"][row]
        sums["errors"][b] += ts["errors"][row]
        vus[b] = ts["active_vus"][row]
        for label in latency:
            value = ts["latency_ms"][label][row]
            # A bucket of several seconds shows the worst second: a spike must not average away.
            if value is not None and (latency[label][b] is None or value > latency[label][b]):
                latency[label][b] = value
    for b in range(1, n):  # a second without events kept the VUs of the one before
        if vus[b] is None:
            vus[b] = vus[b - 1]
    # The run ends inside its last bucket: divide by the time it covers, and leave
    # it out when that is under half a bucket (a few ms of stragglers would show
    # as a collapse or a spike of the rate).
    spans = [float(width)] * n
    end_s = (doc["run"]["final_tick"] + 1) * doc["run"]["tick_ns"] / 1e9
    spans[-1] = min(float(width), max(end_s - (first + (n - 1) * width), 0.0))

    def rate(total: float, span: float) -> Optional[float]:
        return total / span if span >= width / 2 else None

    starts = [float(first + b * width) for b in range(n)]
    ends = [t + span for t, span in zip(starts, spans)]
    # The VUs are drawn as steps: each bucket's value held from its start to its end.
    x = {"mid": [t + min(width, span) / 2 for t, span in zip(starts, spans)],
         "steps": [t for pair in zip(starts, ends) for t in pair]}
    series: dict[str, list[Optional[float]]] = {
        "rate": [rate(v, span) for v, span in zip(sums["requests"], spans)],
        "errors": [rate(v, span) for v, span in zip(sums["errors"], spans)],
        "vus": [v for v in vus for _ in range(2)],
        **latency,
    }
    return x, series, width


def _charts(doc: Mapping[str, Any]) -> str:
    xs, series, width = _bucketed(doc)
    x = xs["mid"]
    span = (xs["steps"][0], xs["steps"][-1]) if xs["steps"] else None
    per = "per second" if width == 1 else f"per {width}-second bucket (rates averaged, latency: the worst second)"
    rate = line_chart("Requests per second", x, [Series("requests/s", COLORS["rate"], series.get("rate", []))],
                      y_label="requests/s", x_range=span)
    errors = line_chart("Errors per second", x, [Series("errors/s", COLORS["errors"], series.get("errors", []))],
                        y_label="errors/s", x_range=span)
    latency = line_chart("Latency percentiles", x,
                         [Series(label, COLORS[label], series.get(label, [])) for label in ("p50", "p95", "p99")],
                         y_label="ms", x_range=span)
    vus = line_chart("Active VUs", xs["steps"], [Series("active VUs", COLORS["vus"], series.get("vus", []))],
                     y_label="VUs", x_range=span)
    dist = doc["latency_distribution"]
    distribution = bar_chart("Latency distribution", dist["edges_ms"], dist["counts"],
                             x_label="latency (ms, log scale)", y_label="responses", color=COLORS["distribution"])
    caption = (f'<p class="caption">Time charts: {escape(per)}, seconds from the start of the run; '
               "a last bucket the run covers for less than half its width is left out of the rates. "
               "Active VUs: those active at the end of each bucket.</p>")
    return (f'<h2>Throughput</h2><section>{rate}{caption}</section>'
            f'<h2>Latency over time</h2><section>{latency}</section>'
            f'<h2>Active VUs</h2><section>{vus}</section>'
            f'<h2>Errors over time</h2><section>{errors}</section>'
            f'<h2>Latency distribution</h2><section>{distribution}'
            f'<p class="caption">Responses received, by latency; bins evenly spaced on a log scale.</p></section>')


def _megabytes(n: int) -> str:
    return f"{n / 1e6:,.3f}"


def _requests_table(doc: Mapping[str, Any]) -> str:
    s = doc["summary"]
    transfer = doc.get("transfer")   # a live run's bytes by request; absent or null otherwise

    def wire(name: Optional[str]) -> list[str]:
        if not transfer:
            return []
        t = transfer if name is None else transfer["requests"].get(name)
        return ["", ""] if t is None else [_megabytes(t["sent_bytes"]), _megabytes(t["received_bytes"])]

    rows = [[escape(name), _number(r["requests"]), f"{r['rate']:,.1f}", _number(r["failed"]),
             _percent(r["error_rate"]), *wire(name), *_latency_cells(r["latency_ms"])]
            for name, r in doc["requests"].items()]
    rows.append(["<b>all requests</b>", _number(s["requests"]), f"{s['rate']:,.1f}", _number(s["failed"]),
                 _percent(s["error_rate"]), *wire(None), *_latency_cells(s["latency_ms"])])
    lag = doc["lag_ms"]
    rows.append(["schedule lag", _number(lag["count"]), "", "", "", *(["", ""] if transfer else []),
                 *_latency_cells(lag)])
    if "open_model" in doc:
        response = doc["open_model"]["response_time_ms"]
        rows.append(["response time", _number(response["count"]), "", "", "", *(["", ""] if transfer else []),
                     *_latency_cells(response)])
    headers = ["request", "requests", "req/s", "failed", "error %", *(["MB sent", "MB received"] if transfer else []),
               *(f"{h} ms" for h in _LATENCY_HEADERS)]
    return "<h2>Requests</h2><section>" + _table(headers, rows) + (
        '<p class="caption">Latency of responses received (any status); schedule lag: how late requests were '
        f"issued (warning above a p99 of {_ms(lag['warn_above_p99'])} ms).</p></section>")


def _status_and_errors(doc: Mapping[str, Any]) -> str:
    status_rows = [[escape(code), _number(st["count"]), *_latency_cells(st["latency_ms"])]
                   for code, st in doc["statuses"].items()]
    error_rows = [[escape(kind), _number(e["count"]), _percent(e["rate"])] for kind, e in doc["errors"].items()]
    parts = ["<h2>Statuses and errors</h2><section>"]
    parts.append(_table(["status", "responses", *(f"{h} ms" for h in _LATENCY_HEADERS)], status_rows)
                 if status_rows else "<p>No responses.</p>")
    parts.append(_table(["failure kind", "count", "share of completed"], error_rows)
                 if error_rows else "<p>No failures.</p>")
    parts.append("</section>")
    return "".join(parts)


def _checks(doc: Mapping[str, Any]) -> str:
    # Each request's response checks and their pass rates, as the terminal lists them;
    # nothing for a run without checks.
    rows = []
    for name, r in doc["requests"].items():
        for c in r.get("checks", ()):
            total = c["passed"] + c["failed"]
            mark = "\u2713" if total and not c["failed"] else "\u2717"
            rows.append([escape(mark), escape(name), escape(c["check"]), _percent(c["rate"]),
                         f"{_number(c['passed'])} / {_number(total)}"])
    if not rows:
        return ""
    overall = doc["summary"].get("checks_rate")
    return ("<h2>Checks</h2><section>"
            + (f"<p>{_percent(overall)} of the checks judged passed.</p>" if overall is not None else "")
            + _table(["", "request", "check", "passed", "passed / judged"], rows) + "</section>")


def _assertions(doc: Mapping[str, Any]) -> str:
    if not doc["assertions"]:
        return "<h2>Assertions</h2><section><p>The scenario sets no assertions.</p></section>"
    rows = []
    for a in doc["assertions"]:
        verdict = '<span class="verdict pass">PASS</span>' if a["passed"] else '<span class="verdict fail">FAIL</span>'
        measured = "no data" if a["measured"] is None else f"{a['measured']:.6g}"
        rows.append([escape(a["scope"]), verdict, escape(f"{a['name']} {a['comparison']} {a['threshold']:g}"
                            f"{' (default)' if a.get('default') else ''}"),
                     escape(measured)])
    return "<h2>Assertions</h2><section>" + _table(["scope", "result", "assertion", "measured"], rows) + "</section>"


def render_html(data: Mapping[str, Any]) -> str:
    """The report page for a summary document (`summary_document` or `document_from_log`)."""
    warnings = "".join(f'<div class="warning">{escape(w)}</div>' for w in data["warnings"])
    title = escape(f"z6 report: {data['run']['scenario']}")
    return (
        "<!DOCTYPE html>\n"
        f'<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, '
        f'initial-scale=1"><title>{title}</title><style>{_STYLE}</style></head><body><main>'
        + _header(data) + warnings + _cards(data) + _charts(data) + _requests_table(data)
        + _status_and_errors(data) + _checks(data) + _assertions(data)
        + f'<script type="application/json" id="z6-summary">{embed_json(data)}</script>'
        + "</main></body></html>\n"
    )


def write_html(path: str | os.PathLike[str], data: Mapping[str, Any]) -> None:
    """Write the report for ``data`` to ``path`` (atomically: never a partial file)."""
    write_text_atomic(path, render_html(data))
