"""Metrics derived exactly from the event stream.

`SummaryBuilder` (a chunk consumer, folding in the core) -> `Summary`: counts,
nearest-rank latency statistics overall, per request name and per status (exact
up to `DEFAULT_EXACT_LIMIT` responses, then from HDR histograms within 0.1%),
error rates by kind, schedule lag, a per-second `TimeSeries`, and for an
arrival-rate run dropped iterations and response time (`OpenModelStats`); during
a run, `SummaryBuilder.snapshot()` -> `RunningSummary`. See docs/metrics.md.
"""

from z6.metrics._distribution import Distribution, latency_distribution
from z6.metrics._lag import LAG_FLOOR_MS, LAG_FRACTION, LAG_MIN_SAMPLES, lag_threshold_ms, mean_think_ms
from z6.metrics._open_model import OpenModelStats, iteration_requests
from z6.metrics._percentile import PERCENTILES, LatencyStats, nearest_rank
from z6.metrics._running import RUNNING_PERCENTILES, RequestCounts, RunningSummary
from z6.metrics._summary import (DEFAULT_EXACT_LIMIT, PERCENTILE_METHODS, RequestSummary, StatusSummary, Summary,
                                 SummaryBuilder, failure_label)
from z6.metrics._timeseries import SERIES_PERCENTILES, TimeSeries, TimeSeriesBuilder

__all__ = [
    "failure_label",
    "RunningSummary",
    "RequestCounts",
    "RUNNING_PERCENTILES",
    "DEFAULT_EXACT_LIMIT",
    "PERCENTILE_METHODS",
    "Distribution",
    "latency_distribution",
    "PERCENTILES",
    "SERIES_PERCENTILES",
    "LatencyStats",
    "RequestSummary",
    "StatusSummary",
    "Summary",
    "SummaryBuilder",
    "TimeSeries",
    "TimeSeriesBuilder",
    "nearest_rank",
    "lag_threshold_ms",
    "LAG_FLOOR_MS",
    "LAG_MIN_SAMPLES",
    "mean_think_ms",
    "LAG_FRACTION",
    "OpenModelStats",
    "iteration_requests",
]
