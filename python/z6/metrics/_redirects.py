"""Redirects in the summary: per request, the hops followed and the latency of
whole chains, from the events alone (docs/scenario.md "Redirects").

Each hop the live driver follows is a request of its own: a ``request_issued``
whose ``status`` is the hop's number (1 on), with its own outcome, so request
counts equal the server's log. A chain that ended in a response adds one
``redirect_chain`` event after that response's outcome, its ``value_ns`` the
chain's latency: the first byte of its first request written to the last byte
of its last response read. Chains are timed exactly up to a limit, then by HDR
histograms (as latency is).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Optional

import numpy as np

from z6.events import ErrorCode, EventKind
from z6.metrics._growable import GrowableArray
from z6.metrics._percentile import LatencyStats
from z6core import HdrHistogram

__all__ = ["RedirectStats", "RedirectRecorder", "REDIRECT_ERRORS"]

# The error classes of a redirect z6 did not follow (its outcome is error_http with
# the redirect's status): the server sent that response, so it counts under its status.
REDIRECT_ERRORS = frozenset(int(e) for e in (ErrorCode.REDIRECT_OFFSITE, ErrorCode.REDIRECT_LIMIT,
                                             ErrorCode.REDIRECT_LOCATION))

_ISSUED = int(EventKind.REQUEST_ISSUED)
_CHAIN = int(EventKind.REDIRECT_CHAIN)


@dataclass(frozen=True)
class RedirectStats:
    """One request's redirects (or every request's): hops followed, chains that
    ended in a response, and those chains' latency."""

    hops: int
    chains: int
    chain_latency: LatencyStats

    def to_dict(self) -> dict[str, Any]:
        return {"hops": self.hops, "chains": self.chains, "chain_latency_ms": self.chain_latency.to_dict()}


class RedirectRecorder:
    """A chunk consumer: hops by request, and each chain's latency by request.

    ``ceiling`` is how many chain latencies are kept as exact values before
    every request's switch to an HDR histogram (the summary's exact limit)."""

    def __init__(self, n_requests: int, ceiling: int) -> None:
        self._n = int(n_requests)
        self._ceiling = max(int(ceiling), 0)
        self._hops = np.zeros(self._n, dtype=np.int64)
        self._requests = GrowableArray(np.uint16, self._ceiling)
        self._values = GrowableArray(np.uint64, self._ceiling)
        self._histograms: Optional[list[HdrHistogram]] = None

    def __call__(self, chunk: np.ndarray) -> None:
        kind = chunk["kind"]
        hop = (kind == _ISSUED) & (chunk["status"] != 0)
        if hop.any():
            self._hops += np.bincount(chunk["request"][hop], minlength=self._n)[:self._n]
        chain = kind == _CHAIN
        if not chain.any():
            return
        requests = chunk["request"][chain]
        values = np.ascontiguousarray(chunk["value_ns"][chain], dtype=np.uint64)
        if int(requests.max()) >= self._n:
            raise ValueError(f"a redirect_chain event names request {int(requests.max())}, but the run has "
                             f"{self._n} requests")
        if self._histograms is None and len(self._values) + values.size > self._ceiling:
            self._histograms = [HdrHistogram() for _ in range(self._n)]
            self._record(self._requests.view(), self._values.view())
            self._requests.clear()
            self._values.clear()
        if self._histograms is not None:
            self._record(requests, values)
        else:
            self._requests.append(requests)
            self._values.append(values)

    def _record(self, requests: np.ndarray, values: np.ndarray) -> None:
        assert self._histograms is not None
        for r in np.unique(requests).tolist():
            self._histograms[r].record_values(np.ascontiguousarray(values[requests == r], dtype=np.uint64))

    def finish(self) -> tuple[Optional[RedirectStats], list[Optional[RedirectStats]]]:
        """The overall figures and each request's; None where no redirect was followed."""
        per_request: list[Optional[RedirectStats]] = []
        if self._histograms is not None:
            chains = [int(h.total_count) for h in self._histograms]
            latency = [LatencyStats.from_histogram(h) for h in self._histograms]
            total = HdrHistogram()
            for h in self._histograms:
                total.add(h)
            overall_latency = LatencyStats.from_histogram(total)
        else:
            requests, values = self._requests.view(), self._values.view()
            chains = np.bincount(requests, minlength=self._n).tolist() if requests.size else [0] * self._n
            latency = [LatencyStats.from_ns(values[requests == r]) for r in range(self._n)]
            overall_latency = LatencyStats.from_ns(values)
        for r in range(self._n):
            hops = int(self._hops[r])
            per_request.append(RedirectStats(hops, int(chains[r]), latency[r]) if hops or chains[r] else None)
        hops_total = int(self._hops.sum())
        overall = RedirectStats(hops_total, int(sum(chains)), overall_latency) if hops_total or sum(chains) else None
        return overall, per_request
