"""One run, end to end: scenario -> plan -> engine -> summary -> assertions -> run directory.

    result = z6.run_scenario(scenario, seed=7, out_dir="z6-runs/x")   # -> z6.result.RunResult
    run = z6.start(scenario, seed=7)                                   # -> RunHandle, its own thread

Modules, one job each:

    _options      the keywords checked (errors name them), a scenario path loaded, base_url
    _execute      execute_run: start the target (or the built-in one), run, judge; check_scenario
    _handle       start / RunHandle: the run on its own thread, state, stop, result, await
    _live_stats   LiveStats read from the run's summary aggregate (the one adapter to it)
    _chunk_queue  the bounded queue a chunks() reader takes from (drops, counted, when full)
    _consumer_thread  one consumer fed in order from a thread of its own (a simulated run's summary)
    _run          run_scenario: the same run on the calling thread
    _directory    the run directory: events.z6log streamed, summary.json, scenario copy, report.html

The engine loop itself is `z6.runner`; the result types are `z6.result`.
The threading and asyncio contract is docs/api.md.
"""

from z6.result import ProgressSnapshot, RunResult, RunStats
from z6.run._directory import DEFAULT_RUNS_DIR, RunDirectory, default_run_dir
from z6.run._execute import check_scenario
from z6.run._handle import DEFAULT_KEEP_EVENTS, RunHandle, RunState, start
from z6.run._live_stats import LiveStats, RequestLiveStats
from z6.run._options import Mode
from z6.run._run import run_scenario

__all__ = ["run_scenario", "start", "RunHandle", "RunState", "Mode", "LiveStats", "RequestLiveStats",
           "DEFAULT_KEEP_EVENTS", "check_scenario", "RunResult", "RunStats", "ProgressSnapshot", "RunDirectory",
           "default_run_dir", "DEFAULT_RUNS_DIR"]
