"""The `z6` command line: a thin shell over the library.

Exit codes (docs/architecture.md): 0 success, 1 an assertion failed, 2 configuration or usage
error, 3 runtime error (including an interrupted run), 4 internal error. A bad
input gets one message on stderr and no traceback (set Z6_TRACEBACK=1 to see one
for an internal error).
"""

from __future__ import annotations

import argparse
import errno
import io
import os
import platform
import sys
import traceback
from typing import Optional, Sequence

import z6core
from z6._version import __version__
from z6.cli import _log, _report, _run, _serve
from z6.cli._options import Parser, UsageError
from z6.errors import EXIT_CONFIG, EXIT_INTERNAL, EXIT_OK, EXIT_RUNTIME, Z6Error, io_error, printable

__all__ = ["main", "build_parser", "version_text"]

# Each module registers its subcommands; see z6.cli._options. Order = order in --help.
_COMMAND_MODULES = (_run, _serve, _report, _log)


def version_text() -> str:
    """What `z6 --version` prints: z6's version, how its core was built, and the Python it runs on."""
    build = "debug" if z6core.DEBUG_BUILD else "release"
    return "\n".join([
        f"z6 {__version__}",
        f"core: {build} build, poller {z6core.POLLER}, {z6core.OPENSSL_VERSION}",
        f"Python {platform.python_version()} ({platform.python_implementation()}, {platform.machine()})",
    ])


class _VersionAction(argparse.Action):
    # argparse's own version action reflows its text into one paragraph.
    def __call__(self, parser: argparse.ArgumentParser, namespace: argparse.Namespace, values: object,
                 option_string: Optional[str] = None) -> None:
        print(version_text())
        parser.exit()


def build_parser() -> argparse.ArgumentParser:
    parser = Parser(prog="z6", description="Deterministic, declarative load testing.")
    parser.add_argument("--version", action=_VersionAction, nargs=0,
                        help="show z6's version, the core's build and Python's, then exit")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=Parser)
    for module in _COMMAND_MODULES:
        module.register(sub)
    return parser


def _stdout_failed(exc: OSError, what: str = "cannot write to standard output") -> int:
    # Standard output could not be written (`z6 analyze > /dev/full`): a runtime I/O
    # failure, exit 3. (A closed pipe never gets here: _StdoutUntilClosed drops the
    # output and the command keeps its own exit code.) Point stdout at /dev/null so the
    # interpreter's own flush at exit does not fail again with a traceback.
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    except (OSError, AttributeError, ValueError):
        pass
    if exc.errno != errno.EPIPE:  # a reader that went away wants no message
        print(f"z6: {what}: {exc.strerror or exc}", file=sys.stderr)
    return EXIT_RUNTIME


class _StdoutUntilClosed:
    """``sys.stdout`` (or ``sys.stderr``) while a command runs. Once its reader has gone (a closed pipe:
    ``z6 analyze RUN --format csv | head -1``), further output is dropped and the
    command carries on to its own exit code, as Unix tools stop quietly on a closed
    pipe. `z6 run` thus still completes its run directory and exits with the run's
    verdict. The file descriptor is pointed at /dev/null so that the interpreter's
    last flush finds no closed pipe either."""

    def __init__(self, stream) -> None:
        self.stream = stream
        self.reader_gone = False

    def write(self, text: str) -> int:
        if not self.reader_gone:
            try:
                return self.stream.write(text)
            except BrokenPipeError:
                self._gone()
        return len(text)

    def flush(self) -> None:
        if not self.reader_gone:
            try:
                self.stream.flush()
            except BrokenPipeError:
                self._gone()

    def _gone(self) -> None:
        self.reader_gone = True
        try:
            devnull = os.open(os.devnull, os.O_WRONLY)
            try:
                os.dup2(devnull, self.stream.fileno())
            finally:
                os.close(devnull)
        except (OSError, ValueError, io.UnsupportedOperation):
            pass  # not a file descriptor (a test's captured stream): dropping is enough

    def __getattr__(self, name: str):
        return getattr(self.stream, name)


def _shown(exc: BaseException) -> str:
    """An error message for the terminal: its own lines kept, anything else that is
    not printable (an ESC, a CR in a quoted value) escaped (`z6.errors.printable`)."""
    return "\n".join(printable(line) for line in str(exc).split("\n"))


def main(argv: Optional[Sequence[str]] = None) -> int:
    # stderr too: `z6 run s.toml 2>&1 | head` closes the progress line's and the
    # messages' pipe as well.
    stdout, stderr = _StdoutUntilClosed(sys.stdout), _StdoutUntilClosed(sys.stderr)
    sys.stdout, sys.stderr = stdout, stderr
    try:
        return _main(argv)
    finally:
        stdout.flush()
        stderr.flush()
        sys.stdout, sys.stderr = stdout.stream, stderr.stream


def _main(argv: Optional[Sequence[str]]) -> int:
    try:
        args = build_parser().parse_args(argv)
        code = int(args.handler(args))
        try:
            sys.stdout.flush()  # a full disk behind stdout shows here, not at exit
        except OSError as exc:
            return _stdout_failed(exc)
        return code
    except UsageError as exc:
        print(_shown(exc), file=sys.stderr)
        return EXIT_CONFIG
    except Z6Error as exc:
        if exc.os_errno == errno.EPIPE:
            # An output path that is a pipe whose reader left (`-o /dev/stdout | head`):
            # quiet, as for standard output itself.
            return EXIT_OK
        print(f"z6: {_shown(exc)}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("z6: interrupted", file=sys.stderr)
        return EXIT_RUNTIME
    except OSError as exc:
        # An I/O failure no command classified: exit 2 or 3 by z6.errors.io_error. Without a
        # file name it is most likely standard output (`print` into a full disk or a closed pipe).
        if exc.filename is None:
            return _stdout_failed(exc, "cannot write output")
        error = io_error(os.fsdecode(exc.filename), exc)
        print(f"z6: {error}", file=sys.stderr)
        return error.exit_code
    except MemoryError:
        print("z6: out of memory", file=sys.stderr)
        return EXIT_RUNTIME
    except Exception as exc:  # noqa: BLE001 - the last line of defence: exit 4, no traceback
        if os.environ.get("Z6_TRACEBACK"):
            traceback.print_exc()
        print(f"z6: internal error: {type(exc).__name__}: {_shown(exc)} (set Z6_TRACEBACK=1 for details)",
              file=sys.stderr)
        return EXIT_INTERNAL


if __name__ == "__main__":
    sys.exit(main())
