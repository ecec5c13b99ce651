"""Charts as inline SVG, drawn in Python: no script, no CDN, nothing to load.

Two shapes: a line chart over time (gaps in a series break its line) and a bar
chart of counts per bin. Every piece of text is escaped; numbers are formatted
here, so a chart is a pure function of its data.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from html import escape
from typing import Optional, Sequence

__all__ = ["Series", "line_chart", "bar_chart", "nice_ticks", "format_number"]

WIDTH, HEIGHT = 900, 260
LEFT, RIGHT, TOP, BOTTOM = 64, 16, 28, 40
PLOT_W, PLOT_H = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM


@dataclass(frozen=True)
class Series:
    label: str
    color: str                        # a CSS colour written by z6, never user text
    values: Sequence[Optional[float]]  # one per x; None leaves a gap


def format_number(value: float) -> str:
    """Short, readable axis labels: 0, 0.25, 12.5, 1,200, 3.5k, 2.1M."""
    magnitude = abs(value)
    if magnitude >= 1e6:
        return f"{value / 1e6:.3g}M"
    if magnitude >= 1e4:
        return f"{value / 1e3:.3g}k"
    if magnitude >= 100 or value == int(value):
        return f"{value:,.0f}"
    return f"{value:.3g}"


def nice_ticks(low: float, high: float, count: int = 5) -> list[float]:
    """About ``count`` round tick values (1, 2 or 5 times a power of ten) covering [low, high]."""
    if not (math.isfinite(low) and math.isfinite(high)) or high <= low:
        high = low + 1.0
    raw = (high - low) / max(count, 1)
    power = 10.0 ** math.floor(math.log10(raw))
    step = next(m * power for m in (1, 2, 5, 10) if m * power >= raw)
    first = math.floor(low / step) * step
    ticks = []
    value = first
    while value < high + step * 0.999:
        ticks.append(round(value, 12))
        value += step
    return ticks


def _frame(title: str, body: list[str]) -> str:
    label = escape(title, quote=True)
    return (f'<svg class="chart" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" aria-label="{label}" '
            f'xmlns="http://www.w3.org/2000/svg">'
            f'<rect x="0" y="0" width="{WIDTH}" height="{HEIGHT}" fill="#ffffff"/>'
            + "".join(body) + "</svg>")


def _no_data(title: str) -> str:
    return _frame(title, [f'<text x="{WIDTH / 2}" y="{HEIGHT / 2}" text-anchor="middle" class="muted">'
                          "no data</text>"])


def _axes(x_ticks: list[float], x_of, y_ticks: list[float], y_of, x_label: str, y_label: str,
          x_format=format_number) -> list[str]:
    parts = []
    for y in y_ticks:
        py = y_of(y)
        parts.append(f'<line x1="{LEFT}" y1="{py:.1f}" x2="{LEFT + PLOT_W}" y2="{py:.1f}" class="grid"/>')
        parts.append(f'<text x="{LEFT - 6}" y="{py + 4:.1f}" text-anchor="end" class="tick">'
                     f"{escape(format_number(y))}</text>")
    for x in x_ticks:
        px = x_of(x)
        parts.append(f'<line x1="{px:.1f}" y1="{TOP + PLOT_H}" x2="{px:.1f}" y2="{TOP + PLOT_H + 4}" class="axis"/>')
        parts.append(f'<text x="{px:.1f}" y="{TOP + PLOT_H + 16}" text-anchor="middle" class="tick">'
                     f"{escape(x_format(x))}</text>")
    parts.append(f'<line x1="{LEFT}" y1="{TOP + PLOT_H}" x2="{LEFT + PLOT_W}" y2="{TOP + PLOT_H}" class="axis"/>')
    parts.append(f'<line x1="{LEFT}" y1="{TOP}" x2="{LEFT}" y2="{TOP + PLOT_H}" class="axis"/>')
    parts.append(f'<text x="{LEFT + PLOT_W / 2}" y="{HEIGHT - 6}" text-anchor="middle" class="label">'
                 f"{escape(x_label)}</text>")
    parts.append(f'<text x="12" y="{TOP + PLOT_H / 2}" text-anchor="middle" class="label" '
                 f'transform="rotate(-90 12 {TOP + PLOT_H / 2})">{escape(y_label)}</text>')
    return parts


def _legend(series: Sequence[Series]) -> list[str]:
    parts, x = [], LEFT + 8
    for s in series:
        parts.append(f'<rect x="{x}" y="8" width="12" height="12" fill="{s.color}"/>')
        parts.append(f'<text x="{x + 16}" y="18" class="legend">{escape(s.label)}</text>')
        x += 28 + 7 * len(s.label)
    return parts


def line_chart(title: str, x: Sequence[float], series: Sequence[Series], *, y_label: str,
               x_label: str = "time (s)", x_range: Optional[tuple[float, float]] = None) -> str:
    """Lines of ``series`` over ``x`` (ascending); the y axis starts at 0.

    ``x_range`` fixes the x axis (so charts of one run line up); by default it
    spans ``x``.
    """
    finite = [v for s in series for v in s.values if v is not None and math.isfinite(v)]
    if not x or not finite:
        return _no_data(title)
    x_low, x_high = x_range if x_range is not None else (float(x[0]), float(x[-1]))
    if x_high <= x_low:
        x_high = x_low + 1.0
    # An all-zero series (no errors, say) still gets a readable 0..1 axis.
    y_ticks = nice_ticks(0.0, max(finite) if max(finite) > 0 else 1.0)
    y_high = y_ticks[-1]
    x_ticks = [t for t in nice_ticks(x_low, x_high, 8) if x_low <= t <= x_high]

    def x_of(value: float) -> float:
        return LEFT + (value - x_low) / (x_high - x_low) * PLOT_W

    def y_of(value: float) -> float:
        return TOP + PLOT_H - value / y_high * PLOT_H

    parts = _axes(x_ticks, x_of, y_ticks, y_of, x_label, y_label)
    for s in series:
        segment: list[str] = []
        segments: list[list[str]] = []
        for xv, yv in zip(x, s.values):
            if yv is None or not math.isfinite(yv):
                if segment:
                    segments.append(segment)
                segment = []
                continue
            segment.append(f"{x_of(float(xv)):.1f},{y_of(yv):.1f}")
        if segment:
            segments.append(segment)
        for points in segments:
            if len(points) == 1:
                cx, cy = points[0].split(",")
                parts.append(f'<circle cx="{cx}" cy="{cy}" r="2.5" fill="{s.color}"/>')
            else:
                parts.append(f'<polyline points="{" ".join(points)}" fill="none" stroke="{s.color}" '
                             f'stroke-width="1.8" stroke-linejoin="round"/>')
    parts += _legend(series)
    return _frame(title, parts)


def bar_chart(title: str, edges: Sequence[float], counts: Sequence[int], *, x_label: str, y_label: str,
              color: str) -> str:
    """Bars of ``counts`` in bins between ``edges``, drawn with equal widths.

    Equal widths over log-spaced edges make the x axis logarithmic; the axis is
    labelled with the edge values.
    """
    if not counts or max(counts) <= 0:
        return _no_data(title)
    n = len(counts)
    y_ticks = nice_ticks(0.0, float(max(counts)))
    y_high = y_ticks[-1]
    bar_w = PLOT_W / n

    def y_of(value: float) -> float:
        return TOP + PLOT_H - value / y_high * PLOT_H

    def x_of(edge_index: float) -> float:
        return LEFT + edge_index * bar_w

    label_every = max(1, n // 6)
    edge_ticks = list(range(0, n + 1, label_every))
    parts = _axes(edge_ticks, x_of, y_ticks, y_of, x_label, y_label,
                  x_format=lambda i: format_number(edges[int(i)]))
    for i, count in enumerate(counts):
        if count <= 0:
            continue
        top = y_of(count)
        parts.append(f'<rect x="{x_of(i) + 0.5:.1f}" y="{top:.1f}" width="{max(bar_w - 1, 0.5):.1f}" '
                     f'height="{TOP + PLOT_H - top:.1f}" fill="{color}"><title>'
                     f"{escape(format_number(edges[i]))}–{escape(format_number(edges[i + 1]))} ms: {count}"
                     f"</title></rect>")
    return _frame(title, parts)
