"""Questions asked of an event log, every answer computed from its records.

    verify_log(log).matched             # re-run the recorded scenario and compare
    recompute_run(log).summary          # the run rebuilt from its log (z6 replay --metrics-only, z6 report)
    analyze_log(log, where=compile_filter("status >= 500", log.header.request_names), by="request")

Modules, one job each:

    _header_scenario  the scenario a header records, parsed again; its plan compiled again
    _recompute        recompute_run: the one log -> run function
    _verify           verify_log: re-run and compare
    _filter           the parsed filter language (never eval)
    _analyze          exact figures from a log, filtered and grouped
    _diff             two logs side by side, regression thresholds
    _export           Parquet / CSV / JSON lines / npy, written atomically
"""

from z6.analysis._analyze import DEFAULT_PERCENTILES, GROUPINGS, Analysis, GroupStats, analyze_log, parse_percentiles
from z6.analysis._diff import DiffResult, Threshold, ThresholdCheck, diff_logs, parse_thresholds
from z6.analysis._export import FORMATS as EXPORT_FORMATS
from z6.analysis._export import export_log
from z6.analysis._filter import Filter, FilterError, compile_filter
from z6.analysis._header_scenario import plan_from_header, scenario_from_header
from z6.analysis._recompute import recompute_run, with_live_warnings
from z6.analysis._rows import RowsRunOut, with_rows_note
from z6.analysis._verify import VerifyResult, verify_log

__all__ = [
    "RowsRunOut",
    "with_rows_note",
    "recompute_run",
    "with_live_warnings",
    "verify_log",
    "VerifyResult",
    "scenario_from_header",
    "plan_from_header",
    "Filter",
    "FilterError",
    "compile_filter",
    "analyze_log",
    "Analysis",
    "GroupStats",
    "GROUPINGS",
    "DEFAULT_PERCENTILES",
    "parse_percentiles",
    "diff_logs",
    "DiffResult",
    "Threshold",
    "ThresholdCheck",
    "parse_thresholds",
    "export_log",
    "EXPORT_FORMATS",
]
