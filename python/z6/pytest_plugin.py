"""z6's pytest plugin: a performance check in a test suite, in three lines.

    def test_checkout_stays_fast(z6_run):
        result = z6_run("perf/checkout.toml", seed=7)
        assert result.passed

`z6_run` runs a scenario (simulated by default; ``live=True`` sends real
traffic) and returns its `z6.RunResult`. When the test fails, its report gets a
section per run: the run's summary (as `z6 run` prints it) and each assertion
that failed, measured against its threshold. Loaded through the ``pytest11``
entry point of the z6 distribution (so installing z6 is enough), or with
``-p z6.pytest_plugin``. docs/api.md has the details.
"""

from __future__ import annotations

import os
from typing import Any, Iterator, Optional, Protocol, Union

import pytest

from z6.errors import ConfigError
from z6.report import render_run
from z6.result import RunResult
from z6.run import Mode, run_scenario
from z6.scenario import Scenario

__all__ = ["Z6Run", "z6_run", "failure_text"]

_RUNS = pytest.StashKey[list[RunResult]]()


class Z6Run(Protocol):
    """The `z6_run` fixture's type: call it as `z6.run_scenario`, with ``live``."""

    def __call__(self, scenario: Union[Scenario, str, "os.PathLike[str]"], *, live: bool = False,
                 **options: Any) -> RunResult: ...


def failure_text(result: RunResult) -> str:
    """The section a failed test's report shows for one run: its summary, then
    the assertions that failed (or why the run did not complete)."""
    lines = [render_run(result).rstrip(), ""]
    failed = [a for a in result.assertions if not a.passed]
    if failed:
        lines.append("failed assertions:")
        for a in failed:
            measured = "no measurement" if a.measured is None else f"measured {a.measured:g}"
            lines.append(f"  {a.scope}: {a.name} {a.comparison} {a.threshold:g}: {measured}")
    if result.status != "completed":
        lines.append(f"the run did not complete: status {result.status}")
    if not failed and result.status == "completed":
        lines.append("every assertion of the run passed")
    return "\n".join(lines)


@pytest.fixture
def z6_run(request: pytest.FixtureRequest) -> Iterator[Z6Run]:
    """Run a scenario: ``z6_run(scenario, live=False, **run_scenario_options)``."""
    runs = request.node.stash.setdefault(_RUNS, [])

    def run(scenario: Union[Scenario, str, "os.PathLike[str]"], *, live: bool = False,
            **options: Any) -> RunResult:
        mode: Optional[Mode] = options.pop("mode", None)
        if not isinstance(live, bool):
            raise ConfigError(f"z6_run: live must be True or False, got {live!r}")
        if live and mode == "simulate":
            raise ConfigError("z6_run: live=True and mode='simulate' contradict each other; give one")
        result = run_scenario(scenario, mode=mode or ("live" if live else "simulate"), **options)
        runs.append(result)
        return result

    yield run


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    outcome: Any = yield
    report: pytest.TestReport = outcome.get_result()
    if report.when != "call" or not report.failed:
        return
    runs: list[RunResult] = item.stash[_RUNS] if _RUNS in item.stash else []
    for i, result in enumerate(runs):
        report.sections.append((f"z6 run {i + 1}: {result.scenario_source}", failure_text(result)))
