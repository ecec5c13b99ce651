"""The public surface: deliberate __all__ lists that name real objects."""

from __future__ import annotations

import importlib

import pytest

MODULES = ["z6", "z6.scenario", "z6.metrics", "z6.plan", "z6.events", "z6.runner", "z6.assertions",
           "z6.cli", "z6core", "z6core._engine", "z6core._random"]


@pytest.mark.parametrize("name", MODULES)
def test_all_names_exist(name):
    module = importlib.import_module(name)
    assert module.__all__, name
    assert len(set(module.__all__)) == len(module.__all__), f"duplicates in {name}.__all__"
    for attr in module.__all__:
        assert hasattr(module, attr), f"{name}.__all__ names missing {attr!r}"


def test_top_level_api_is_the_documented_one():
    import z6

    for attr in ("load_scenario", "compile_plan", "run_scenario", "iter_chunks", "event_digest",
                 "EVENT_DTYPE", "EventKind", "ErrorCode", "ScenarioError", "ConfigError"):
        assert attr in z6.__all__


def test_error_exit_codes():
    import z6

    assert (z6.ConfigError.exit_code, z6.ScenarioError.exit_code, z6.RunError.exit_code,
            z6.InternalError.exit_code) == (2, 2, 3, 4)
    assert issubclass(z6.ScenarioError, z6.ConfigError)


def test_assertions_without_data_fail():
    import z6
    from conftest import scenario

    # A request that is never chosen (weight 0) has no data: its rate and latency
    # assertions fail rather than pass vacuously.
    requests = ('\n[[requests]]\nname = "a"\nmethod = "GET"\npath = "/a"\n'
                '\n[[requests]]\nname = "never"\nmethod = "GET"\npath = "/b"\nweight = 0\n')
    extra = ('[simulation]\nlatency = { type = "constant", ms = 5 }\n\n[assertions.requests.never]\n'
             'success_rate_min = 0.5\nerror_rate_max = 0.5\np50_latency_ms = 100\nstatus_5xx_max_rate = 0.5\n')
    result = z6.run_scenario(scenario("duration_seconds = 1\nvus = 2", requests=requests, extra=extra))
    never = [a for a in result.assertions if a.scope == "never"]
    assert len(never) == 4 and not any(a.passed for a in never)
    assert all(a.measured is None for a in never)
    assert not result.passed
