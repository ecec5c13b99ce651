"""Bytes on the wire in the summary: the ``transfer`` section of summary.json and
its line in the terminal text (wrk's Transfer/sec, k6's data_sent/data_received).

The figures are the live driver's counters (`z6.result.Transfer`), not events:
the 32-byte record has no room for sizes. Rates are over the run's duration as
the summary measures it (first to last event), like its request rate. A megabyte
here is 10**6 bytes, as k6 prints them.
"""

from __future__ import annotations

from typing import Any, Optional

from z6.result import RunResult

__all__ = ["transfer_document", "transfer_line", "MEGABYTE"]

MEGABYTE = 1_000_000


def transfer_document(result: RunResult) -> Optional[dict[str, Any]]:
    """The ``transfer`` section, or None when no bytes were counted (a simulated
    run, or a log written before they were recorded)."""
    t = result.stats.transfer
    if t is None:
        return None
    duration_s = result.summary.duration_s
    return {
        "sent_bytes": t.total_sent,
        "received_bytes": t.total_received,
        "sent_mb_per_s": t.total_sent / MEGABYTE / duration_s,
        "received_mb_per_s": t.total_received / MEGABYTE / duration_s,
        "requests": {name: {"sent_bytes": sent, "received_bytes": received}
                     for name, sent, received in zip(result.plan.request_names, t.sent, t.received)},
    }


def transfer_line(result: RunResult) -> Optional[str]:
    """``  transfer     sent 1.234 MB (0.123 MB/s), received ...``, or None."""
    doc = transfer_document(result)
    if doc is None:
        return None
    return (f"  transfer     sent {doc['sent_bytes'] / MEGABYTE:.3f} MB ({doc['sent_mb_per_s']:.3f} MB/s), "
            f"received {doc['received_bytes'] / MEGABYTE:.3f} MB ({doc['received_mb_per_s']:.3f} MB/s)")
