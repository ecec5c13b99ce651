"""The terminal summary of a run: plain text, aligned columns, no colour codes.

User text (request names, the scenario path) is shown through `z6.errors.printable`:
a name cannot start a line of its own or send escape sequences. With more than
`MAX_REQUEST_ROWS` requests the request tables show the busiest ones and one line
for the rest; summary.json and `z6 analyze --by request` hold them all.
"""

from __future__ import annotations

from z6.errors import printable
from z6.metrics import PERCENTILES, LatencyStats
from z6.report._document import verdict_word
from z6.report._transfer import MEGABYTE, transfer_line
from z6.result import RunResult

__all__ = ["render_run", "MAX_REQUEST_ROWS"]

# Request rows in each table of the terminal summary (the busiest, by count).
MAX_REQUEST_ROWS = 20


def _ms(value: float | None) -> str:
    if value is None:
        return "-"
    return f"{value:.3f}" if value < 10 else f"{value:.2f}" if value < 1000 else f"{value:.0f}"


def _latency_cells(lat: LatencyStats) -> str:
    cells = [_ms(lat.min), *(_ms(lat.percentiles[p]) for p, _ in PERCENTILES), _ms(lat.max)]
    return "".join(f"{c:>10}" for c in cells)


def _latency_row(label: str, lat: LatencyStats, width: int) -> str:
    return f"  {label:<{width}}" + _latency_cells(lat)


def _scale_out_lines(scale_out) -> list[str]:
    where = f" at {scale_out.address}" if scale_out.address else ""
    lines = [f"workers      {len(scale_out.shards)} ({scale_out.backend}{where})"]
    for r in scale_out.shards:
        late = "" if r.start_late_ms is None else f", started {r.start_late_ms:.3f} ms after the instant"
        lines.append(f"  {r.shard.label():<14} {r.worker}: {r.shard.describe()}; clock offset "
                     f"{r.clock_offset_ms:+.3f} ms{late}; {r.requests_issued} requests, {r.events} events, {r.status}")
    return lines


def _shown_requests(per_request: dict) -> tuple[list[tuple[str, object]], int]:
    """The requests the tables show (all in file order, or the busiest
    `MAX_REQUEST_ROWS` by count) and how many are left out."""
    items = list(per_request.items())
    if len(items) <= MAX_REQUEST_ROWS:
        return items, 0
    order = sorted(range(len(items)), key=lambda i: (-items[i][1].requests, i))
    return [items[i] for i in order[:MAX_REQUEST_ROWS]], len(items) - MAX_REQUEST_ROWS


def _more_line(result: RunResult, hidden: int) -> str:
    where = printable(result.out_dir) if result.out_dir is not None else "RUN"
    return f"  ... and {hidden:,} more requests: z6 analyze {where} --by request"


def _check_lines(shown, overall) -> list[str]:
    # k6's lines: a check that passed every time gets a tick, any other a cross,
    # with its pass rate and counts; then all of them together.
    if not overall.checks:
        return []
    lines = ["", f"  checks       {overall.checks_rate:.2%} passed" if overall.checks_rate is not None
             else "  checks       none judged (no response arrived)"]
    rows = [(f"{name}: {printable(c.label)}", c) for name, r in shown for c in r.checks]
    width = max(len(text) for text, _ in rows) if rows else 0
    for text, c in rows:
        mark = "\u2713" if c.total and c.passed == c.total else "\u2717"
        rate = f"{c.rate:8.2%}" if c.rate is not None else "      --"
        lines.append(f"  {mark} {text:<{width}}{rate} ({c.passed:,}/{c.total:,})")
    return lines


def _redirect_lines(shown, overall) -> list[str]:
    # Redirects followed: the hops, then each chain's latency from its first
    # request's first byte to its last response's last byte, per request.
    r = overall.redirects
    if r is None:
        return []
    rows = [(name, q.redirects) for name, q in shown if q.redirects is not None and q.redirects.chains]
    width = max([len("chain latency ms"), *(len(name) for name, _ in rows)])
    header = ["min", *(p for p, _ in PERCENTILES), "max"]
    lines = ["", f"  redirects    {r.hops:,} hops followed; {r.chains:,} chains ended in a response"]
    if rows:
        lines.append(f"  {'chain latency ms':<{width}}" + "".join(f"{h:>10}" for h in header))
        lines.extend(_latency_row(name, stats.chain_latency, width) for name, stats in rows)
    return lines


def render_run(result: RunResult) -> str:
    s = result.summary
    o = s.overall
    shown_raw, hidden = _shown_requests(s.per_request)
    shown = [(printable(name), r) for name, r in shown_raw]
    lines = [
        f"z6 {result.mode} run of {printable(result.scenario_source)}: seed {result.seed}, "
        f"{result.n_vus} VUs, {s.duration_s:.3f} s {'simulated' if result.mode == 'simulate' else ''}".rstrip(),
        f"  requests     {o.requests}  ({s.rate:.1f}/s)",
        f"  completed    {o.completed}, failed {o.failed} ({o.error_rate:.2%})",
    ]
    if s.open_model is not None:
        m = s.open_model
        lines.append(f"  arrivals     {m.arrivals}, dropped {m.dropped_iterations} ({m.dropped_rate:.2%})")
    if s.failed_vus:
        lines.append(f"  VUs failed   {s.failed_vus} of {result.n_vus} (an on_start request failed: they ran no "
                     "iteration)")
    if o.errors:
        rates = o.error_rates
        lines.append("  errors       " + ", ".join(f"{k} {v} ({rates[k]:.2%})" for k, v in sorted(o.errors.items())))
    if o.statuses:
        lines.append("  statuses     " + ", ".join(f"{k}: {v}" for k, v in sorted(o.statuses.items())))
    transfer = transfer_line(result)
    if transfer is not None:
        lines.append(transfer)
    if s.percentile_method == "hdr":
        # Exact is the default and goes unsaid; say so when the run outgrew it.
        lines.append("  percentiles  from HDR histograms (the run outgrew the exact limit): each at most "
                     "0.1% above the exact value; counts, min, mean and max exact")
    lag_label = "schedule lag"
    width = max([len(lag_label), len("response time"), *(len(n) for n, _ in shown)])
    header = ["min", *(p for p, _ in PERCENTILES), "max"]
    lines.append("")
    lines.append(f"  {'latency ms':<{width}}" + "".join(f"{h:>10}" for h in header))
    lines.append(_latency_row("overall", o.latency, width))
    for name, r in shown:
        lines.append(_latency_row(name, r.latency, width))
    if hidden:
        lines.append(_more_line(result, hidden))
    # Beside latency, so a saturated generator shows up where latency is read.
    lines.append(_latency_row(lag_label, s.lag, width))
    if s.open_model is not None:
        # The open model: response time from the arrival's instant, beside service time.
        lines.append(_latency_row("response time", s.open_model.response_time, width))
    if s.connections is not None:
        c = s.connections
        tls = (f", TLS handshakes: {c.tls_full} full, {c.tls_resumed} resumed"
               if c.tls_full or c.tls_resumed else "")
        lines.append(f"  connections {c.opened}{tls}; connect{' + handshake' if tls else ''} ms: "
                     f"mean {c.connect_ms_mean:.3f}, max {c.connect_ms_max:.3f}")
    lines.extend(_redirect_lines(shown, o))
    if s.per_status:
        lines.append("")
        lines.append(f"  {'status':<{width}}{'count':>10}" + "".join(f"{h:>10}" for h in header))
        for status, st in sorted(s.per_status.items()):
            lines.append(f"  {status:<{width}}{st.count:>10}" + _latency_cells(st.latency))
    lines.append("")
    # A live run's bytes by request (the core's counters), beside its counts.
    t = result.stats.transfer
    by_name = {} if t is None else dict(zip(result.plan.request_names, zip(t.sent, t.received)))
    lines.append(f"  {'request':<{width}}{'requests':>10}{'failed':>10}{'error%':>10}"
                 + (f"{'MB sent':>12}{'MB recv':>12}" if by_name else ""))
    for (shown_name, r), (name, _) in zip(shown, shown_raw):
        row = f"  {shown_name:<{width}}{r.requests:>10}{r.failed:>10}{r.error_rate:>10.2%}"
        if name in by_name:
            sent, received = by_name[name]
            row += f"{sent / MEGABYTE:>12.3f}{received / MEGABYTE:>12.3f}"
        lines.append(row)
    if hidden:
        lines.append(_more_line(result, hidden))
    lines.extend(_check_lines(shown, o))
    if result.assertions:
        lines.append("")
        lines.append("assertions")
        for a in result.assertions:
            op = a.comparison
            measured = "no data" if a.measured is None else f"{a.measured:.4g}"
            scope = "" if a.scope == "overall" else f"[{printable(a.scope)}] "
            default = " (default)" if getattr(a, "default", False) else ""
            lines.append(f"  {'PASS' if a.passed else 'FAIL'}  {scope}{a.name} {op} {a.threshold:g}{default}: "
                         f"measured {measured}")
    if result.scale_out is not None:
        lines.append("")
        lines.extend(_scale_out_lines(result.scale_out))
    for warning in s.warnings:
        lines.append("")
        lines.append(f"WARNING  {warning}")
    if result.failed and result.scale_out is not None:
        lines.append("")
        lines.extend(f"LOST  {line}" for line in result.scale_out.lost_message().splitlines())
    lines.append("")
    verdict = verdict_word(result.status, result.passed)
    wall = "wall unknown" if result.stats.wall_s is None else f"{result.stats.wall_s * 1000:.1f} ms wall"
    lines.append(f"{verdict}  ({s.events} events, {wall})")
    return "\n".join(lines)
