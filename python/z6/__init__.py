"""z6: deterministic, declarative load testing with a compiled core.

    scenario = z6.load_scenario("examples/simulated.toml")
    result = z6.run_scenario(scenario, seed=7)
    run = z6.start(scenario, seed=7)      # the run on its own thread: stats(), stop(), await run
    print(z6.render_run(result)); result.summary.overall.latency.percentiles["p99"]

Lower level: `compile_plan` -> `Plan`, `iter_chunks(plan)` yields the event records
(numpy arrays of `EVENT_DTYPE`), `event_digest` hashes a stream.

The package's layers, each importing only those before it (docs/architecture.md):
events -> scenario -> plan -> result -> metrics, assertions -> log -> live, serve ->
runner -> distributed -> analysis -> report -> run -> cli.

The names below are loaded on first use (PEP 562): ``import z6`` itself costs
nothing, so the `z6` command can install its interrupt handler before the package's
imports (about 0.3 s) begin (`z6._entry`, docs/architecture.md "Interrupts").
"""

from __future__ import annotations

import importlib

from z6._version import __version__

# typing.TYPE_CHECKING without importing typing (tens of milliseconds on a busy
# machine, before the command's interrupt handler is in place); type checkers
# treat this name as true.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from z6.assertions import AssertionResult, evaluate_assertions
    from z6.errors import ConfigError, InternalError, Problem, RunError, ScenarioError, Z6Error
    from z6.events import EVENT_DTYPE, OUTCOME_KINDS, ErrorCode, EventKind, event_digest
    from z6.log import EventLog, EventLogWriter, LogError, read_log
    from z6.metrics import Summary, SummaryBuilder
    from z6.plan import Plan, compile_plan, original_profile_plan, seed_profile_plan
    from z6.report import render_run
    from z6.result import RunResult
    from z6.run import LiveStats, RunHandle, run_scenario, start
    from z6.runner import iter_chunks, run_plan
    from z6.scenario import Scenario, load_scenario, parse_scenario

# name -> the module it comes from, imported on first use
_EXPORTS = {
    "AssertionResult": "z6.assertions",
    "evaluate_assertions": "z6.assertions",
    "ConfigError": "z6.errors",
    "InternalError": "z6.errors",
    "RunError": "z6.errors",
    "ScenarioError": "z6.errors",
    "Problem": "z6.errors",
    "Z6Error": "z6.errors",
    "EVENT_DTYPE": "z6.events",
    "OUTCOME_KINDS": "z6.events",
    "ErrorCode": "z6.events",
    "EventKind": "z6.events",
    "event_digest": "z6.events",
    "EventLog": "z6.log",
    "EventLogWriter": "z6.log",
    "LogError": "z6.log",
    "read_log": "z6.log",
    "Summary": "z6.metrics",
    "SummaryBuilder": "z6.metrics",
    "Plan": "z6.plan",
    "compile_plan": "z6.plan",
    "original_profile_plan": "z6.plan",
    "seed_profile_plan": "z6.plan",
    "render_run": "z6.report",
    "RunResult": "z6.result",
    "run_scenario": "z6.run",
    "start": "z6.run",
    "RunHandle": "z6.run",
    "LiveStats": "z6.run",
    "iter_chunks": "z6.runner",
    "run_plan": "z6.runner",
    "Scenario": "z6.scenario",
    "load_scenario": "z6.scenario",
    "parse_scenario": "z6.scenario",
}


__all__ = [
    "__version__",
    # errors
    "Z6Error",
    "ConfigError",
    "ScenarioError",
    "Problem",
    "RunError",
    "InternalError",
    # scenario -> plan -> run
    "Scenario",
    "load_scenario",
    "parse_scenario",
    "Plan",
    "compile_plan",
    "original_profile_plan",
    "seed_profile_plan",
    "run_scenario",
    "start",
    "RunHandle",
    "LiveStats",
    "RunResult",
    "render_run",
    # events and metrics
    "EVENT_DTYPE",
    "EventKind",
    "ErrorCode",
    "event_digest",
    "OUTCOME_KINDS",
    # the event log
    "read_log",
    "EventLog",
    "EventLogWriter",
    "LogError",
    "iter_chunks",
    "run_plan",
    "Summary",
    "SummaryBuilder",
    "AssertionResult",
    "evaluate_assertions",
]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        # A submodule reached as an attribute (z6.events, z6.runner, ...): importing
        # the package's names imports it too, as an eager __init__ did.
        _load_all()
        if name in globals():
            return globals()[name]
        raise AttributeError(f"module 'z6' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def _load_all() -> None:
    for name, module in _EXPORTS.items():
        globals().setdefault(name, getattr(importlib.import_module(module), name))


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
