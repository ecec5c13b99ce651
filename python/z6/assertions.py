"""Post-run assertions (the original format's `[assertions]`), checked against a Summary.

Each threshold is inclusive: ``p99_latency_ms = 100`` passes when p99 <= 100 ms,
``rps_min = 50`` passes when the rate >= 50. The open model's ``dropped_max``,
``dropped_rate_max`` and ``p99_response_time_ms`` are overall limits only, judged
after the other overall ones. An assertion with nothing to measure
fails, since nothing shows it holds: latency assertions when no response was
received, rate-of-requests assertions (error, success, 5xx) when no request
completed. ``rps_min`` always has a value (0 when nothing was issued).

After a run the results are also recorded in the event log, one event each
(`assertion_events`): kind ``assertion_passed`` (12) or ``assertion_failed`` (13),
``vu_id`` 0 (the run itself, not a VU), ``request`` the request index of a
per-request assertion or 0xFFFF for an overall one, ``seq`` the assertion's index in
the results, ``value_ns`` 0.

The default verdict: a scenario whose overall limits set neither
``error_rate_max`` nor ``success_rate_min`` is judged on an implicit
``error_rate_max = DEFAULT_ERROR_RATE_MAX`` (1%), so that a run that mostly failed
never passes because nobody wrote a limit. Its result has ``default`` true, sits
where an overall ``error_rate_max`` would, and is recorded in the log like any
other. ``[assertions] default = false`` turns it off (docs/scenario.md).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Optional, Sequence, Union

import numpy as np

from z6.events import EVENT_DTYPE, NO_REQUEST, EventKind
from z6.metrics import OpenModelStats, RequestSummary, Summary

__all__ = ["AssertionResult", "evaluate_assertions", "assertion_events", "ASSERTION_KEYS",
           "DEFAULT_ERROR_RATE_MAX", "applies_default", "assertion_count"]

# The limit a scenario without an error limit of its own is judged on: at most 1%
# of completed requests may fail. Strict enough that a run against a broken or
# dying target (all 503s, most connections refused) fails; loose enough that a
# healthy target's rare stray reset or timeout does not (docs/scenario.md).
DEFAULT_ERROR_RATE_MAX = 0.01


@dataclass(frozen=True)
class AssertionResult:
    scope: str                 # "overall" or a request name
    name: str                  # the scenario key, e.g. "p99_latency_ms"
    threshold: float
    measured: Optional[float]
    passed: bool
    default: bool = False      # the default verdict's implicit error_rate_max, not a scenario key

    @property
    def comparison(self) -> str:
        """How the measured value must compare with the threshold to pass."""
        return "<=" if _AT_MOST[self.name] else ">="

    def to_dict(self) -> dict[str, Any]:
        return {"scope": self.scope, "name": self.name, "comparison": self.comparison,
                "threshold": self.threshold, "measured": self.measured, "passed": self.passed,
                "default": self.default}


def _status_5xx_rate(r: RequestSummary) -> Optional[float]:
    fivexx = sum(c for s, c in r.statuses.items() if 500 <= s <= 599)
    return fivexx / r.completed if r.completed else None


def _error_rate(r: RequestSummary) -> Optional[float]:
    return r.error_rate if r.completed else None


def _success_rate(r: RequestSummary) -> Optional[float]:
    # (completed - failed) / completed, not 1 - error_rate: one rounding, not two,
    # so a limit written as the exact fraction sits exactly on its boundary.
    return (r.completed - r.failed) / r.completed if r.completed else None


# key -> (how to measure it, True when the measured value must stay at or below)
_CHECKS: dict[str, tuple[Callable[[RequestSummary, float], Optional[float]], bool]] = {
    "p50_latency_ms": (lambda r, rate: r.latency.percentiles["p50"], True),
    "p90_latency_ms": (lambda r, rate: r.latency.percentiles["p90"], True),
    "p95_latency_ms": (lambda r, rate: r.latency.percentiles["p95"], True),
    "p99_latency_ms": (lambda r, rate: r.latency.percentiles["p99"], True),
    "p999_latency_ms": (lambda r, rate: r.latency.percentiles["p99.9"], True),
    "error_rate_max": (lambda r, rate: _error_rate(r), True),
    "success_rate_min": (lambda r, rate: _success_rate(r), False),
    "rps_min": (lambda r, rate: rate, False),
    "status_5xx_max_rate": (lambda r, rate: _status_5xx_rate(r), True),
    "checks_rate_min": (lambda r, rate: r.checks_rate, False),
}


# The open model's limits (overall only; docs/scenario.md "Arrival rates"): measured
# on the summary's OpenModelStats, which an arrival-rate run always has.
_OPEN_CHECKS: dict[str, tuple[Callable[[OpenModelStats], Optional[float]], bool]] = {
    "dropped_max": (lambda o: float(o.dropped_iterations), True),
    "dropped_rate_max": (lambda o: o.dropped_rate if o.arrivals else None, True),
    "p99_response_time_ms": (lambda o: o.response_time.percentiles["p99"], True),
}

_AT_MOST = {key: at_most for key, (_, at_most) in (*_CHECKS.items(), *_OPEN_CHECKS.items())}

ASSERTION_KEYS: tuple[str, ...] = (*_CHECKS, *_OPEN_CHECKS)


def applies_default(assertions) -> bool:
    """Whether the default verdict's implicit ``error_rate_max`` judges the run:
    the scenario left it on and set no overall error limit of its own."""
    return (bool(getattr(assertions, "default", True)) and assertions.error_rate_max is None
            and assertions.success_rate_min is None)


def assertion_count(assertions) -> int:
    """How many results `evaluate_assertions` gives for ``assertions``."""
    own = sum(getattr(assertions, key, None) is not None for key in ASSERTION_KEYS)
    per = sum(sum(getattr(limits, key, None) is not None for key in ASSERTION_KEYS)
              for _, limits in assertions.per_request)
    return own + per + applies_default(assertions)


def _check(scope: str, assertions, r: RequestSummary, rate: float,
           default: bool = False) -> list[AssertionResult]:
    results = []
    for key, (measure, at_most) in _CHECKS.items():
        threshold = getattr(assertions, key, None)
        is_default = default and key == "error_rate_max"
        if is_default:
            threshold = DEFAULT_ERROR_RATE_MAX
        if threshold is None:
            continue
        measured = measure(r, rate)
        if measured is None:
            passed = False
        else:
            passed = measured <= threshold if at_most else measured >= threshold
        results.append(AssertionResult(scope, key, float(threshold), measured, passed, is_default))
    return results


def _check_open_model(assertions, stats: Optional[OpenModelStats]) -> list[AssertionResult]:
    results = []
    for key, (measure, _) in _OPEN_CHECKS.items():
        threshold = getattr(assertions, key, None)
        if threshold is None:
            continue
        measured = measure(stats) if stats is not None else None
        passed = measured is not None and measured <= threshold
        results.append(AssertionResult("overall", key, float(threshold), measured, passed))
    return results


def evaluate_assertions(assertions, summary: Summary) -> list[AssertionResult]:
    """Check the scenario's assertions (overall, then per request) against ``summary``."""
    results = _check("overall", assertions, summary.overall, summary.rate, applies_default(assertions))
    results += _check_open_model(assertions, summary.open_model)
    for name, per in assertions.per_request:
        r = summary.per_request[name]
        results += _check(name, per, r, r.requests / summary.duration_s)
    return results


def assertion_events(results: Sequence[AssertionResult], tick: int,
                     request_index: Union[Callable[[str], int], Sequence[str]]) -> np.ndarray:
    """The results as EVENT_DTYPE records, to append to the event log after the run.

    ``tick`` is the tick they are recorded at (the run's last); ``request_index``
    maps a request name to its index: a function (``Scenario.request_index``) or
    the plan's ``request_names``.
    """
    index_of = request_index.index if isinstance(request_index, Sequence) else request_index
    events = np.zeros(len(results), dtype=EVENT_DTYPE)
    for i, result in enumerate(results):
        events[i]["tick"] = tick
        events[i]["kind"] = EventKind.ASSERTION_PASSED if result.passed else EventKind.ASSERTION_FAILED
        events[i]["request"] = NO_REQUEST if result.scope == "overall" else index_of(result.scope)
        events[i]["seq"] = i
    return events
