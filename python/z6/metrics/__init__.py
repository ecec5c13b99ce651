"""Metrics derived exactly from the event stream."""

from z6.metrics._summary import (
    PERCENTILES,
    LatencyStats,
    RequestSummary,
    Summary,
    SummaryBuilder,
    nearest_rank,
)

__all__ = ["PERCENTILES", "LatencyStats", "RequestSummary", "Summary", "SummaryBuilder", "nearest_rank"]
