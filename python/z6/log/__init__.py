"""The event log on disk: its byte layout, the streaming writer and the checked reader.

    writer = EventLogWriter(run_dir, make_header(scenario, plan))   # a chunk consumer
    run_plan(plan, [writer]); writer.finish("completed")            # -> run_dir/events.z6log
    log = read_log(run_dir)             # header, footer, len(log), .events, .iter_chunks(), .to_pandas()

Storage only; the questions asked of a log (verify, analyze, filter, diff, export,
the run rebuilt from it) live in `z6.analysis`. Modules, one job each:

    _format    the byte layout (header, chunk frames, footer; formats 1 and 2), LogHeader, LogFooter
    _errors    LogError (every unreadable log, exit 2), LogWarning (a partial log)
    _writer    EventLogWriter: streams chunks (a worker thread) to events.z6log.partial, renames when finished
    _reader    read_log / EventLog: checks, indexes and reads a log

The byte layout is documented in docs/event-log.md.
"""

from __future__ import annotations

import importlib
from typing import Any

from z6.log._errors import LogError, LogWarning
from z6.log._format import FORMAT_VERSION, FORMAT_VERSIONS, LOG_NAME, PARTIAL_NAME, LogFooter, LogHeader
from z6.log._reader import ChunkInfo, EventLog, read_log
from z6.log._writer import EventLogWriter, make_header, writer_stall_warning

__all__ = [
    # writing
    "EventLogWriter",
    "LogHeader",
    "LogFooter",
    "make_header",
    "writer_stall_warning",
    "FORMAT_VERSION",
    "FORMAT_VERSIONS",
    "LOG_NAME",
    "PARTIAL_NAME",
    # reading
    "read_log",
    "EventLog",
    "ChunkInfo",
    "LogError",
    "LogWarning",
]

# Names this package exported before the analyses moved to z6.analysis. They
# resolve on first use (PEP 562) so that scripts written against `z6.log` keep
# working, while storage never imports the layer above it.
_MOVED_TO_ANALYSIS = frozenset({
    "Filter", "FilterError", "compile_filter", "analyze_log", "Analysis", "GroupStats", "GROUPINGS",
    "DEFAULT_PERCENTILES", "parse_percentiles", "verify_log", "VerifyResult", "recompute_run", "diff_logs",
    "DiffResult", "Threshold", "ThresholdCheck", "parse_thresholds", "export_log", "EXPORT_FORMATS",
})


def __getattr__(name: str) -> Any:
    if name in _MOVED_TO_ANALYSIS:
        return getattr(importlib.import_module("z6.analysis"), name)
    raise AttributeError(f"module 'z6.log' has no attribute {name!r}")
