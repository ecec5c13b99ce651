"""`z6 diff A B`: two runs' figures side by side, and regression thresholds for CI.

Both sides are computed from their logs (`analyze_log`, no filter), so a diff
needs nothing but the logs. ``--fail-on`` takes comma-separated thresholds::

    p99=+10%            B's p99 more than 10% above A's is a regression
    error_rate=+0.5pp   B's error rate more than 0.5 percentage points above A's
    rate=-5%            B's rate more than 5% below A's
    p50=+2ms            B's median more than 2 ms above A's

Metrics: ``requests completed failed rate error_rate min mean max`` and any
percentile ``pNN`` (``p50``, ``p99.9``). The sign says which way is worse; without
one, the worse way is up for latencies, ``failed`` and ``error_rate``, down for
``requests``, ``completed`` and ``rate``. Units: ``%`` (relative to A), ``pp``
(``error_rate`` only), ``ms`` (latencies), ``/s`` (``rate``), or none (the metric's
own unit). A threshold that cannot be checked because a side has no data (no
response to time, no completed request) counts as exceeded: nothing shows it holds.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Any, Optional, Sequence

from z6.analysis._analyze import DEFAULT_PERCENTILES, Analysis, analyze_log, percentile_label
from z6.log import EventLog

__all__ = ["Threshold", "ThresholdCheck", "DiffRow", "DiffResult", "parse_thresholds", "diff_logs", "METRICS"]

METRICS = ("requests", "completed", "failed", "rate", "error_rate", "min", "mean", "max")
_COUNTS = ("requests", "completed", "failed")
_LOWER_IS_WORSE = ("requests", "completed", "rate")
_ITEM = re.compile(r"^(?P<metric>[A-Za-z_][A-Za-z0-9_.]*)=(?P<sign>[+-]?)(?P<amount>\d+(?:\.\d+)?)"
                   r"(?P<unit>%|pp|ms|/s)?$")
_PERCENTILE = re.compile(r"^p(\d+(?:\.\d+)?)$")


def _is_latency(metric: str) -> bool:
    return metric in ("min", "mean", "max") or _PERCENTILE.match(metric) is not None


@dataclass(frozen=True)
class Threshold:
    """``metric`` changing by more than ``amount`` (in ``unit``) in ``direction`` (+1 up, -1 down)."""

    metric: str
    direction: int
    amount: float
    unit: str  # "%", "pp" or "" (the metric's own unit: ms, /s, a fraction, a count)
    text: str

    @property
    def percentile(self) -> Optional[float]:
        match = _PERCENTILE.match(self.metric)
        return float(match.group(1)) if match else None


def parse_thresholds(text: str) -> tuple[Threshold, ...]:
    """Parse ``"p99=+10%,error_rate=+0.5pp"``; ValueError naming the bad item."""
    out = []
    for raw in text.split(","):
        item = raw.strip()
        match = _ITEM.match(item)
        if match is None:
            raise ValueError(f"{item!r} is not METRIC=[+|-]NUMBER[%|pp|ms|/s], e.g. 'p99=+10%'")
        metric, sign, unit = match.group("metric"), match.group("sign"), match.group("unit") or ""
        percentile = _PERCENTILE.match(metric)
        if metric not in METRICS and percentile is None:
            raise ValueError(f"{item!r}: unknown metric {metric!r}; metrics: {', '.join(METRICS)} and pNN "
                             "percentiles such as p99")
        if percentile is not None and not 0 < float(percentile.group(1)) <= 100:
            raise ValueError(f"{item!r}: a percentile must be in (0, 100]")
        if unit == "pp" and metric != "error_rate":
            raise ValueError(f"{item!r}: 'pp' (percentage points) applies to error_rate only")
        if unit == "ms" and not _is_latency(metric):
            raise ValueError(f"{item!r}: 'ms' applies to latencies (min, mean, max, pNN) only")
        if unit == "/s" and metric != "rate":
            raise ValueError(f"{item!r}: '/s' applies to rate only")
        if unit in ("ms", "/s"):
            unit = ""
        direction = {"+": 1, "-": -1, "": -1 if metric in _LOWER_IS_WORSE else 1}[sign]
        out.append(Threshold(metric, direction, float(match.group("amount")), unit, item))
    return tuple(out)


def _value(analysis: Analysis, metric: str) -> Optional[float]:
    o = analysis.overall
    if metric in _COUNTS:
        return float(getattr(o, metric))
    if metric == "rate":
        return o.rate
    if metric == "error_rate":
        return o.error_rate
    if metric in ("min", "mean", "max"):
        return getattr(o.latency, metric)
    percentile = _PERCENTILE.match(metric)
    return o.latency.percentiles[percentile_label(float(percentile.group(1)))]


@dataclass(frozen=True)
class DiffRow:
    metric: str
    a: Optional[float]
    b: Optional[float]

    @property
    def delta(self) -> Optional[float]:
        return None if self.a is None or self.b is None else self.b - self.a

    @property
    def change_pct(self) -> Optional[float]:
        """The change relative to A, in percent; None when a side has no data or A is 0."""
        if self.a is None or self.b is None or self.a == 0:
            return None
        return (self.b - self.a) / self.a * 100

    def to_dict(self) -> dict[str, Any]:
        return {"metric": self.metric, "a": self.a, "b": self.b, "delta": self.delta, "change_pct": self.change_pct}


@dataclass(frozen=True)
class ThresholdCheck:
    threshold: Threshold
    a: Optional[float]
    b: Optional[float]
    change: Optional[float]  # in the threshold's unit; None when a side has no data
    exceeded: bool
    reason: str

    def to_dict(self) -> dict[str, Any]:
        return {"threshold": self.threshold.text, "metric": self.threshold.metric, "a": self.a, "b": self.b,
                "change": self.change, "exceeded": self.exceeded, "reason": self.reason}


def _check(threshold: Threshold, a: Optional[float], b: Optional[float]) -> ThresholdCheck:
    if a is None or b is None:
        side = "A" if a is None else "B"
        return ThresholdCheck(threshold, a, b, None, True, f"{side} has no data for {threshold.metric}")
    if threshold.unit == "%":
        if a == 0:
            change = 0.0 if b == 0 else math.copysign(math.inf, b)
        else:
            change = (b - a) / abs(a) * 100
        shown = f"{change:+.2f}%"
    elif threshold.unit == "pp":
        change = (b - a) * 100
        shown = f"{change:+.3f}pp"
    else:
        change = b - a
        shown = f"{change:+.6g}"
    exceeded = threshold.direction * change > threshold.amount
    limit = f"{'+' if threshold.direction > 0 else '-'}{threshold.amount:g}{threshold.unit}"
    return ThresholdCheck(threshold, a, b, change, exceeded,
                          f"changed {shown} (limit {limit}): {a:.6g} -> {b:.6g}")


@dataclass(frozen=True)
class DiffResult:
    a: Analysis
    b: Analysis
    rows: tuple[DiffRow, ...]
    checks: tuple[ThresholdCheck, ...]
    notes: tuple[str, ...]

    @property
    def regression(self) -> bool:
        return any(c.exceeded for c in self.checks)

    def to_dict(self) -> dict[str, Any]:
        return {
            "a": self.a.log,
            "b": self.b.log,
            "metrics": [r.to_dict() for r in self.rows],
            "thresholds": [c.to_dict() for c in self.checks],
            "regression": self.regression,
            "notes": list(self.notes),
        }


def diff_logs(a: EventLog, b: EventLog, thresholds: Sequence[Threshold] = ()) -> DiffResult:
    """Compare ``b`` against ``a`` (the baseline) and check ``thresholds``."""
    percentiles = list(DEFAULT_PERCENTILES)
    for t in thresholds:
        if t.percentile is not None and t.percentile not in percentiles:
            percentiles.append(t.percentile)
    percentiles.sort()
    left, right = analyze_log(a, percentiles=percentiles), analyze_log(b, percentiles=percentiles)
    metrics = ["requests", "completed", "failed", "error_rate", "rate", "min", "mean",
               *(percentile_label(p) for p in percentiles), "max"]
    rows = tuple(DiffRow(m, _value(left, m), _value(right, m)) for m in metrics)
    checks = tuple(_check(t, _value(left, t.metric), _value(right, t.metric)) for t in thresholds)
    notes = []
    if a.header.scenario_sha256 != b.header.scenario_sha256:
        notes.append("A and B ran different scenarios (their SHA-256 differ)")
    if a.header.mode != b.header.mode:
        notes.append(f"A is a {a.header.mode} run, B a {b.header.mode} run")
    for side, log in (("A", a), ("B", b)):
        if log.status != "completed":
            notes.append(f"{side} did not complete ({log.status})")
    return DiffResult(left, right, rows, checks, tuple(notes))
