"""The event log: every run's events on disk, and every later question answered from it.

    writer = EventLogWriter(run_dir, make_header(scenario, plan))   # a chunk consumer
    run_plan(plan, [writer]); writer.finish("completed")            # -> run_dir/events.z6log

    log = read_log(run_dir)             # header, footer, len(log), .events, .iter_chunks(), .to_pandas()
    verify_log(log).matched             # re-run the recorded scenario and compare
    analyze_log(log, where=compile_filter("status >= 500", log.header.request_names), by="request")

Modules, one job each:

    _format    the byte layout (header, chunk frames, footer), LogHeader, LogFooter
    _errors    LogError (every unreadable log, exit 2), LogWarning (a partial log)
    _writer    EventLogWriter: streams chunks to events.z6log.partial, renames when finished
    _reader    read_log / EventLog: checks, indexes and reads a log
    _filter    the parsed filter language (never eval)
    _analyze   exact figures from a log, filtered and grouped
    _scenario  the scenario a header records, parsed again (body files, or without them)
    _replay    verify_log (re-run and compare), recompute_run (the summary from the log)
    _diff      two logs side by side, regression thresholds
    _export    Parquet / CSV / JSON lines / npy, written atomically
    _render    text, CSV and JSON renderings for the command line

The byte layout is documented in docs/event-log.md.
"""

from z6.log._analyze import DEFAULT_PERCENTILES, GROUPINGS, Analysis, GroupStats, analyze_log, parse_percentiles
from z6.log._diff import DiffResult, Threshold, ThresholdCheck, diff_logs, parse_thresholds
from z6.log._errors import LogError, LogWarning
from z6.log._export import FORMATS as EXPORT_FORMATS
from z6.log._export import export_log
from z6.log._filter import Filter, FilterError, compile_filter
from z6.log._format import FORMAT_VERSION, LOG_NAME, PARTIAL_NAME, LogFooter, LogHeader
from z6.log._reader import ChunkInfo, EventLog, read_log
from z6.log._replay import VerifyResult, recompute_run, verify_log
from z6.log._writer import EventLogWriter, make_header

__all__ = [
    # writing
    "EventLogWriter",
    "LogHeader",
    "LogFooter",
    "make_header",
    "FORMAT_VERSION",
    "LOG_NAME",
    "PARTIAL_NAME",
    # reading
    "read_log",
    "EventLog",
    "ChunkInfo",
    "LogError",
    "LogWarning",
    # questions about a run
    "Filter",
    "FilterError",
    "compile_filter",
    "analyze_log",
    "Analysis",
    "GroupStats",
    "GROUPINGS",
    "DEFAULT_PERCENTILES",
    "parse_percentiles",
    "verify_log",
    "VerifyResult",
    "recompute_run",
    "diff_logs",
    "DiffResult",
    "Threshold",
    "ThresholdCheck",
    "parse_thresholds",
    "export_log",
    "EXPORT_FORMATS",
]
