"""`z6 report LOG -o report.html [--json summary.json]`: the report, rebuilt from an event log."""

from __future__ import annotations

import argparse
import os
import sys

from z6._destinations import shown, writes_in_place
from z6.cli._options import UsageError, read_log_noting_partial
from z6.errors import EXIT_OK, ConfigError, io_error
from z6.report import document_from_log, write_html, write_json

__all__ = ["register"]


def register(sub: argparse._SubParsersAction) -> None:
    report = sub.add_parser("report", help="write the HTML report (and summary.json) of a run from its event log")
    report.add_argument("log", help="an events.z6log file, a .partial log, or a run directory")
    report.add_argument("-o", "--output", metavar="HTML", help="write the HTML report to this file (- for standard output)")
    report.add_argument("--json", metavar="FILE",
                        help="write the summary document (summary.json) to this file (- for standard output)")
    report.set_defaults(handler=_cmd_report)


def _write(path: str, what: str, write) -> None:
    try:
        write(path)
    except OSError as exc:  # disk full, EIO, permission denied: 3; no such directory, a directory: 2
        raise io_error(f"{shown(path)}: cannot write the {what}", exc) from None


def _same_file(a: str, b: str) -> bool:
    """Whether paths ``a`` and ``b`` name one file (through links too), existing or not."""
    if os.path.realpath(a) == os.path.realpath(b):
        return True
    try:
        return os.path.samefile(a, b)
    except OSError:  # one of them does not exist yet: different names, different files
        return False


def _cmd_report(args: argparse.Namespace) -> int:
    if not args.output and not args.json:
        raise UsageError("z6 report: say what to write: -o REPORT.html and/or --json SUMMARY.json")
    if args.output and args.json and _same_file(args.output, args.json):
        raise UsageError(f"z6 report: -o and --json both name {shown(args.json)}; the summary would overwrite the "
                         "report: give two files")
    # A partial log reads up to its last complete chunk; say so as one line, not a Python warning.
    log = read_log_noting_partial(args.log)
    for path in (args.output, args.json):
        if path and os.path.exists(path) and os.path.samefile(path, log.path):
            raise ConfigError(f"{path}: is the event log being reported on; write the report elsewhere")
    document = document_from_log(log)
    if args.json:
        _write(args.json, "summary document", lambda path: write_json(path, document))
    if args.output:
        _write(args.output, "HTML report", lambda path: write_html(path, document))
    outputs = [path for path in (args.output, args.json) if path]
    # Written to standard output (a pipe, a terminal, a file the shell opened), the
    # report owns stdout: the note goes to stderr.
    note = sys.stderr if any(writes_in_place(path) for path in outputs) else sys.stdout
    print(f"z6: wrote {' and '.join(shown(path) for path in outputs)} from {log.path} ({len(log):,} events, {document['run']['status']})",
          file=note)
    return EXIT_OK
