"""One run, end to end: scenario -> plan -> engine -> summary -> assertions.

The thin orchestration behind `z6 run` and `z6.run_scenario`, for users who embed
the engine behind their own front end.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Optional, Sequence

import numpy as np

from z6.assertions import AssertionResult, evaluate_assertions
from z6.metrics import Summary, SummaryBuilder
from z6.plan import Plan, compile_plan
from z6.runner import RunStats, run_plan

__all__ = ["RunResult", "run_scenario"]


@dataclass(frozen=True)
class RunResult:
    scenario_source: str
    scenario_sha256: str
    mode: str
    seed: int
    n_vus: int
    plan: Plan
    stats: RunStats
    summary: Summary
    assertions: tuple[AssertionResult, ...]
    interrupted: bool = False  # Ctrl-C / SIGTERM stopped the run early: the summary covers what ran

    @property
    def passed(self) -> bool:
        return all(a.passed for a in self.assertions)

    def to_dict(self) -> dict[str, Any]:
        return {
            "scenario": self.scenario_source,
            "scenario_sha256": self.scenario_sha256,
            "mode": self.mode,
            "seed": self.seed,
            "vus": self.n_vus,
            "tick_ns": self.plan.tick_ns,
            "wall_s": self.stats.wall_s,
            "summary": self.summary.to_dict(),
            "assertions": [a.to_dict() for a in self.assertions],
            "passed": self.passed,
            "interrupted": self.interrupted,
        }


def run_scenario(
    scenario,
    *,
    seed: Optional[int] = None,
    vus: Optional[int] = None,
    duration_s: Optional[float] = None,
    consumers: Sequence[Callable[[np.ndarray], None]] = (),
) -> RunResult:
    """Run a loaded scenario (simulated) and return its summary and verdicts.

    ``consumers`` get every event chunk too, in order (e.g. a digest or a writer).
    """
    plan = compile_plan(scenario, seed=seed, vus=vus, duration_s=duration_s)
    builder = SummaryBuilder(plan.request_names, plan.tick_ns)
    stats = run_plan(plan, [builder, *consumers])
    summary = builder.finish()
    return RunResult(
        scenario_source=scenario.source,
        scenario_sha256=scenario.sha256,
        mode="simulate",
        seed=plan.seed,
        n_vus=plan.n_vus,
        plan=plan,
        stats=stats,
        summary=summary,
        assertions=tuple(evaluate_assertions(scenario.assertions, summary)),
    )
