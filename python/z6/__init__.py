"""z6: deterministic, declarative load testing with a compiled core.

    scenario = z6.load_scenario("examples/simulated.toml")
    result = z6.run_scenario(scenario, seed=7)
    print(z6.render_run(result)); result.summary.overall.latency.percentiles["p99"]

Lower level: `compile_plan` -> `Plan`, `iter_chunks(plan)` yields the event records
(numpy arrays of `EVENT_DTYPE`), `event_digest` hashes a stream.

The package's layers, each importing only those before it (docs/architecture.md):
events -> scenario -> plan -> result -> metrics, assertions -> log -> live, serve ->
runner -> distributed -> analysis -> report -> run -> cli.
"""

from z6._version import __version__
from z6.assertions import AssertionResult, evaluate_assertions
from z6.errors import ConfigError, InternalError, RunError, ScenarioError, Z6Error
from z6.events import EVENT_DTYPE, OUTCOME_KINDS, ErrorCode, EventKind, event_digest
from z6.log import EventLog, EventLogWriter, LogError, read_log
from z6.metrics import Summary, SummaryBuilder
from z6.plan import Plan, compile_plan, original_profile_plan, seed_profile_plan
from z6.report import render_run
from z6.result import RunResult
from z6.run import run_scenario
from z6.runner import iter_chunks, run_plan
from z6.scenario import Scenario, load_scenario, parse_scenario

__all__ = [
    "__version__",
    # errors
    "Z6Error",
    "ConfigError",
    "ScenarioError",
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
