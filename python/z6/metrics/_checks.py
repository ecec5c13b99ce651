"""Response checks in the summary: each check's pass rate per request, from the
events alone (docs/scenario.md "Checks").

A check is judged on every response of its request that arrived: a
``response_received``, or the ``error_http`` outcome a failed check turns it
into (its error one of the ``check_*`` classes). Each failed check is one
``check_failed`` event (request, status = the check's index); so a check's
passes are its request's judged responses less its own failures.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Optional, Sequence

import numpy as np

from z6.events import ErrorCode, EventKind

__all__ = ["CheckResult", "CheckRecorder", "CHECK_ERRORS", "checks_rate"]

_CHECK_FAILED = int(EventKind.CHECK_FAILED)
# The error classes of a response that failed a check (its outcome is error_http).
CHECK_ERRORS = frozenset(int(e) for e in (ErrorCode.CHECK_STATUS, ErrorCode.CHECK_BODY_CONTAINS,
                                          ErrorCode.CHECK_BODY_NOT_CONTAINS, ErrorCode.CHECK_HEADER,
                                          ErrorCode.CHECK_JSON, ErrorCode.CHECK_TRUNCATED,
                                          ErrorCode.EXTRACT_JSON, ErrorCode.EXTRACT_HEADER, ErrorCode.EXTRACT_REGEX,
                                          ErrorCode.VAR_TOO_LONG))


@dataclass(frozen=True)
class CheckResult:
    """One check of one request: its label (``status in [200, 201]``), and how
    many of the responses it judged passed it."""

    label: str
    passed: int
    total: int

    @property
    def rate(self) -> Optional[float]:
        return self.passed / self.total if self.total else None

    def to_dict(self) -> dict[str, Any]:
        return {"check": self.label, "passed": self.passed, "failed": self.total - self.passed, "rate": self.rate}


def checks_rate(results: Sequence[CheckResult]) -> Optional[float]:
    """All checks passed over all checks judged (None when none was)."""
    total = sum(r.total for r in results)
    return sum(r.passed for r in results) / total if total else None


class CheckRecorder:
    """A chunk consumer counting ``check_failed`` events by (request, check)."""

    def __init__(self, labels: Sequence[Sequence[str]]) -> None:
        self.labels = tuple(tuple(request) for request in labels)
        width = max((len(request) for request in self.labels), default=0) or 1
        self._failed = np.zeros((len(self.labels), width), dtype=np.int64)

    def __call__(self, chunk: np.ndarray) -> None:
        hit = chunk["kind"] == _CHECK_FAILED
        if hit.any():
            failed = chunk[hit]
            request, index = failed["request"].astype(np.intp), failed["status"].astype(np.intp)
            if request.max() >= self._failed.shape[0] or index.max() >= self._failed.shape[1]:
                raise ValueError("a check_failed event names a check the scenario does not have")
            np.add.at(self._failed, (request, index), 1)

    def finish(self, judged: Sequence[int]) -> list[tuple[CheckResult, ...]]:
        """Per request, its checks' results, given how many responses each request's checks judged."""
        return [tuple(CheckResult(label, int(judged[r]) - int(self._failed[r, k]), int(judged[r]))
                      for k, label in enumerate(request))
                for r, request in enumerate(self.labels)]
