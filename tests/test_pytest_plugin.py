"""The pytest plugin: the `z6_run` fixture used from a test file, passing and
failing, and the failure report naming the summary and the failed assertions."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest

import z6.pytest_plugin

pytest_plugins = ["pytester"]

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "examples" / "simulated.toml"


def test_the_plugin_is_declared_as_a_pytest11_entry_point():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())
    assert project["project"]["entry-points"]["pytest11"] == {"z6.pytest_plugin": "z6.pytest_plugin"}
    assert callable(z6.pytest_plugin.z6_run)


def write_suite(pytester: pytest.Pytester, p99_ms: float) -> None:
    # The scenario with its assertions loosened or tightened, and a suite of three lines using it.
    text = EXAMPLE.read_text()
    assert "p99_latency_ms = 500" in text
    (pytester.path / "perf.toml").write_text(text.replace("p99_latency_ms = 500", f"p99_latency_ms = {p99_ms}"))
    pytester.makepyfile(test_perf="""
        def test_api_is_fast(z6_run):
            result = z6_run("perf.toml", seed=7)
            assert result.passed
    """)


def test_a_passing_check(pytester: pytest.Pytester):
    write_suite(pytester, p99_ms=500)
    outcome = pytester.runpytest_subprocess("-p", "z6.pytest_plugin")
    outcome.assert_outcomes(passed=1)


def test_a_failing_check_prints_the_summary_and_the_failed_assertion(pytester: pytest.Pytester):
    write_suite(pytester, p99_ms=1)
    outcome = pytester.runpytest_subprocess("-p", "z6.pytest_plugin")
    outcome.assert_outcomes(failed=1)
    text = outcome.stdout.str()
    assert "z6 run 1: perf.toml" in text
    assert "z6 simulate run of perf.toml: seed 7" in text
    assert "failed assertions:" in text
    assert "overall: p99_latency_ms <= 1: measured " in text


def test_the_fixture_runs_here(z6_run):
    # Used directly from this suite: simulated by default, the same run as run_scenario's.
    result = z6_run(EXAMPLE, seed=7)
    assert result.mode == "simulate" and result.passed
    assert result.summary == z6.run_scenario(EXAMPLE, seed=7, mode="simulate").summary


@pytest.mark.parametrize("options, message", [
    ({"live": True, "mode": "simulate"}, "live=True and mode='simulate' contradict each other"),
    ({"live": "yes"}, "live must be True or False, got 'yes'"),
])
def test_the_fixture_refuses_contradictory_modes(z6_run, options, message):
    # live=True with mode="simulate" used to simulate without a word.
    with pytest.raises(z6.ConfigError, match=re.escape(message)):
        z6_run(EXAMPLE, **options)
