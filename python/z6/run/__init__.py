"""One run, end to end: scenario -> plan -> engine -> summary -> assertions -> run directory.

    result = z6.run_scenario(scenario, seed=7, out_dir="z6-runs/x")   # -> z6.result.RunResult

Modules, one job each:

    _run        run_scenario: compile, start the target (or the built-in one), run, judge
    _directory  the run directory: events.z6log streamed, summary.json, scenario copy, report.html

The engine loop itself is `z6.runner`; the result types are `z6.result`.
"""

from z6.result import ProgressSnapshot, RunResult, RunStats
from z6.run._directory import DEFAULT_RUNS_DIR, RunDirectory, default_run_dir
from z6.run._run import check_scenario, run_scenario

__all__ = ["run_scenario", "check_scenario", "RunResult", "RunStats", "ProgressSnapshot", "RunDirectory", "default_run_dir",
           "DEFAULT_RUNS_DIR"]
