"""Where an output file may be written through a temporary file renamed over it.

z6 writes reports, summaries and exports atomically: a temporary file beside
the destination, renamed into place once whole. Some destinations must instead
be written directly, and this module says which and opens them. ``-`` names
standard output, as for most tools that write files.
"""

from __future__ import annotations

import os
import stat
import sys
from typing import IO, Any, Optional

__all__ = ["STANDARD_OUTPUT", "writes_in_place", "open_in_place", "shown"]

STANDARD_OUTPUT = "-"


def writes_in_place(path: str | os.PathLike[str]) -> bool:
    """True when ``path`` must be written directly: ``-``, an existing device,
    FIFO or socket (renaming over it would replace the device), or any name in
    /dev or /proc. ``/dev/stdout`` redirected to a file stats as a regular file,
    but renaming over it would replace the link in /dev, not the file the shell
    opened, and leave the output nowhere the user looks."""
    target = os.fspath(path)
    if target == STANDARD_OUTPUT:
        return True
    parent = os.path.realpath(os.path.dirname(os.path.abspath(target)))
    if parent == "/dev" or parent.startswith(("/dev/", "/proc/")):
        return True
    try:
        mode = os.stat(target).st_mode
    except OSError:
        return False
    return not (stat.S_ISREG(mode) or stat.S_ISDIR(mode))


def open_in_place(path: str | os.PathLike[str], mode: str, *, encoding: Optional[str] = None,
                  errors: Optional[str] = None, newline: Optional[str] = None) -> IO[Any]:
    """``path`` opened for writing as it is. ``-`` is a copy of file descriptor 1:
    reopening /dev/stdout would truncate a file the shell opened for appending
    (``>> all.csv``), where writing to the descriptor appends."""
    if os.fspath(path) == STANDARD_OUTPUT:
        sys.stdout.flush()  # what Python buffered for stdout goes first
        return open(os.dup(sys.stdout.fileno()), mode, encoding=encoding, errors=errors, newline=newline)
    return open(path, mode, encoding=encoding, errors=errors, newline=newline)


def shown(path: str | os.PathLike[str]) -> str:
    """``path`` as a message names it."""
    text = os.fspath(path)
    return "standard output" if text == STANDARD_OUTPUT else text
