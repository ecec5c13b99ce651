"""`z6 analyze`, `z6 replay`, `z6 diff` and `z6 export`: questions answered from event logs.

Each LOG argument is an ``events.z6log``, an ``events.z6log.partial`` or a run
directory holding one. An unreadable log exits 2 (`z6.log.LogError`); a partial
log is read up to its last complete chunk with a warning on stderr.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any, Callable, Optional

from z6._destinations import shown, writes_in_place
from z6.analysis import (DEFAULT_PERCENTILES, analyze_log, compile_filter, diff_logs, export_log, parse_percentiles,
                         parse_thresholds, recompute_run, verify_log)
from z6.cli._options import read_log_noting_partial
from z6.errors import EXIT_OK
from z6.report import render_json, render_run, summary_document
from z6.report._log_text import render_analysis, render_diff, render_verify, to_json

__all__ = ["register"]

EXIT_MISMATCH = 1     # replay --verify: the log and the re-run differ
EXIT_REGRESSION = 1   # diff --fail-on: a threshold was exceeded


def _parsed(parse: Callable[[str], Any]) -> Callable[[str], Any]:
    # argparse ``type=`` from a parser raising ValueError with the rule in its message.
    def convert(text: str) -> Any:
        try:
            return parse(text)
        except ValueError as exc:
            raise argparse.ArgumentTypeError(str(exc)) from None

    return convert


def register(sub: argparse._SubParsersAction) -> None:
    log_help = "an events.z6log, an events.z6log.partial, or a run directory holding one"

    analyze = sub.add_parser("analyze", help="figures from a run's event log, filtered and grouped",
                             description="Exact figures (counts, error rate, rate, nearest-rank latency "
                                         "percentiles) from a run's event log.")
    analyze.add_argument("log", metavar="LOG", help=log_help)
    analyze.add_argument("--format", choices=("summary", "json", "csv"), default="summary",
                         help="aligned text (default), JSON, or CSV with one row per group")
    analyze.add_argument("--percentiles", type=_parsed(parse_percentiles), metavar="LIST",
                         help="comma-separated latency percentiles (default 50,90,95,99,99.9)")
    analyze.add_argument("--filter", metavar="EXPR",
                         help="keep the events EXPR selects, e.g. 'kind == response_received and status >= 500' "
                              "or 'request == \"login\"' (docs/event-log.md)")
    analyze.add_argument("--by", choices=("request", "status", "vu", "second"), help="one row per group")
    analyze.set_defaults(handler=_cmd_analyze)

    replay = sub.add_parser("replay", help="re-run a log's scenario and check the log, or recompute its summary",
                            description="--verify re-runs the scenario recorded in the log: a simulated run must "
                                        "match event for event, a live run each VU's request sequence (exit 0 "
                                        "match, 1 mismatch, 2 unreadable log). --metrics-only prints the summary "
                                        "computed from the log's events (exit 1 when an assertion fails, 3 when "
                                        "the log is partial or its run did not complete).")
    replay.add_argument("log", metavar="LOG", help=log_help)
    action = replay.add_mutually_exclusive_group(required=True)
    action.add_argument("--verify", action="store_true", help="re-run and compare")
    action.add_argument("--metrics-only", action="store_true", help="recompute the summary from the log")
    replay.add_argument("--json", action="store_true", help="print the result as JSON")
    replay.set_defaults(handler=_cmd_replay)

    diff = sub.add_parser("diff", help="compare two runs' logs; exit 1 when a --fail-on threshold is exceeded",
                          description="Latency percentiles, rate and error rate of B against A (the baseline), "
                                      "computed from the logs.")
    diff.add_argument("a", metavar="A", help="the baseline: " + log_help)
    diff.add_argument("b", metavar="B", help="the run compared: " + log_help)
    diff.add_argument("--fail-on", type=_parsed(parse_thresholds), metavar="LIST", default=(),
                      help="thresholds such as 'p99=+10%%,error_rate=+0.5pp,rate=-5%%': exit 1 when B is worse "
                           "than A by more")
    diff.add_argument("--format", choices=("text", "json"), default="text")
    diff.set_defaults(handler=_cmd_diff)

    export = sub.add_parser("export", help="write a log's events as Parquet, CSV, JSON lines or .npy")
    export.add_argument("log", metavar="LOG", help=log_help)
    export.add_argument("--to", choices=("parquet", "csv", "jsonl", "npy"), required=True, dest="fmt",
                        help="the output format (parquet needs pyarrow: pip install z6[parquet])")
    export.add_argument("-o", "--output", metavar="FILE", help="where to write, - for standard output (default: events.FORMAT beside the log)")
    export.add_argument("--filter", metavar="EXPR", help="export only the events EXPR selects")
    export.set_defaults(handler=_cmd_export)


def _filter(text: Optional[str], log):
    return None if text is None else compile_filter(text, log.header.request_names)


def _cmd_analyze(args: argparse.Namespace) -> int:
    # Every chunk is read once: its records are checked then, not also at open.
    log = read_log_noting_partial(args.log, defer_record_checks=True)
    analysis = analyze_log(log, percentiles=args.percentiles or DEFAULT_PERCENTILES,
                           where=_filter(args.filter, log), by=args.by)
    print(render_analysis(analysis, args.format))
    return EXIT_OK


def _cmd_replay(args: argparse.Namespace) -> int:
    log = read_log_noting_partial(args.log)
    if args.metrics_only:
        result = recompute_run(log)
        document = summary_document(result)
        # The exit code of the run's summary document (the one `z6 run` gives): 3 for
        # a run that did not complete whatever its assertions, else 1 when one failed.
        exit_code = document["verdict"]["exit_code"]
        if args.json:
            # The same document `z6 report --json` writes for this log.
            print(render_json(document), end="")
        else:
            print(render_run(result))
        if log.status != "completed":
            print(f"z6: note: the log is {log.status}: the summary covers what it holds (exit {exit_code})",
                  file=sys.stderr)
        return exit_code
    verified = verify_log(log)
    if args.json:
        print(to_json({"log": log.describe(), **verified.to_dict()}))
    else:
        print(render_verify(verified, log.describe()))
    return EXIT_OK if verified.matched else EXIT_MISMATCH


def _cmd_diff(args: argparse.Namespace) -> int:
    result = diff_logs(read_log_noting_partial(args.a), read_log_noting_partial(args.b), args.fail_on)
    print(render_diff(result, args.format))
    return EXIT_REGRESSION if result.regression else EXIT_OK


def _cmd_export(args: argparse.Namespace) -> int:
    log = read_log_noting_partial(args.log)
    path, count = export_log(log, args.fmt, args.output, where=_filter(args.filter, log))
    # Written to standard output (a pipe, a terminal, a file the shell opened), the
    # records own stdout: the note goes to stderr.
    print(f"z6 export: wrote {count} records to {shown(path)}",
          file=sys.stderr if writes_in_place(path) else sys.stdout)
    return EXIT_OK
