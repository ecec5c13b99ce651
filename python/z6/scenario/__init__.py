"""The scenario layer: a TOML scenario file in, a frozen, typed ``Scenario`` out.

    load_scenario(path) / parse_scenario(text)      -> Scenario, or ScenarioError
                                                       listing every problem

Modules, one job each:

    _load      read the file, decode, hash, parse TOML (syntax errors with line/column)
    _model     pydantic models of the raw tables: keys, types, ranges, same-table rules
    _resolve   rules between tables, defaults, body files; builds the Scenario
    _messages  key paths, value rendering, "did you mean", pydantic errors -> messages
    _files     reading a named file: regular files only, size-checked before reading
    _types     the resolved value objects and the limits (MAX_VUS, ...)

The format is documented in docs/scenario.md.
"""

from __future__ import annotations

from z6.errors import ScenarioError
from z6.scenario._load import load_scenario, parse_scenario
from z6.scenario._types import (
    ARRIVAL_SCHEDULES,
    MAX_ARRIVAL_RATE,
    MAX_BODY_BYTES,
    MAX_DATA_FILES,
    DataSource,
    MAX_NESTING,
    MAX_REQUESTS,
    MAX_SCENARIO_BYTES,
    MAX_SCHEDULE_STEPS,
    MAX_SEQUENCE_STEPS,
    MAX_VUS,
    MIN_POSITIVE_WEIGHT,
    ArrivalRateSchedule,
    Assertions,
    ConstantSchedule,
    LatencyModel,
    Lifecycle,
    MAX_LIFECYCLE_REQUESTS,
    Check,
    CHECK_KINDS,
    MAX_CHECKS,
    MAX_CAPTURE_BYTES,
    DEFAULT_CAPTURE_BYTES,
    DEFAULT_FOLLOW_REDIRECTS,
    MAX_FOLLOW_REDIRECTS,
    DEFAULT_VAR_BYTES,
    MAX_VAR_BYTES,
    MAX_REGEX_GROUP,
    Variable,
    Metadata,
    RampSchedule,
    RampingArrivalRateSchedule,
    RateStage,
    Request,
    Runtime,
    Scenario,
    Schedule,
    RequestSequence,
    Sequence,
    SequenceStep,
    Simulation,
    SpikeSchedule,
    Step,
    StepsSchedule,
    Target,
    ThinkTime,
)

__all__ = [
    "MAX_DATA_FILES",
    "DataSource",
    "load_scenario",
    "parse_scenario",
    "ScenarioError",
    "Scenario",
    "Metadata",
    "Runtime",
    "Target",
    "Request",
    "Schedule",
    "ConstantSchedule",
    "RampSchedule",
    "SpikeSchedule",
    "StepsSchedule",
    "Step",
    "ArrivalRateSchedule",
    "RampingArrivalRateSchedule",
    "RateStage",
    "ARRIVAL_SCHEDULES",
    "MAX_ARRIVAL_RATE",
    "ThinkTime",
    "RequestSequence",
    "Sequence",
    "SequenceStep",
    "Lifecycle",
    "MAX_LIFECYCLE_REQUESTS",
    "Check",
    "CHECK_KINDS",
    "MAX_CHECKS",
    "MAX_CAPTURE_BYTES",
    "DEFAULT_CAPTURE_BYTES",
    "DEFAULT_FOLLOW_REDIRECTS",
    "MAX_FOLLOW_REDIRECTS",
    "DEFAULT_VAR_BYTES",
    "MAX_VAR_BYTES",
    "MAX_REGEX_GROUP",
    "Variable",
    "Assertions",
    "Simulation",
    "LatencyModel",
    "MAX_VUS",
    "MAX_REQUESTS",
    "MAX_BODY_BYTES",
    "MAX_SCENARIO_BYTES",
    "MAX_NESTING",
    "MAX_SCHEDULE_STEPS",
    "MAX_SEQUENCE_STEPS",
    "MIN_POSITIVE_WEIGHT",
]
