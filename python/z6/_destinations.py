"""Where an output file may be written through a temporary file renamed over it.

z6 writes reports, summaries and exports atomically: a temporary file beside
the destination, renamed into place once whole. Some destinations must instead
be written directly, and this module says which.
"""

from __future__ import annotations

import os
import stat

__all__ = ["writes_in_place"]


def writes_in_place(path: str | os.PathLike[str]) -> bool:
    """True when ``path`` must be written directly: an existing device, FIFO or
    socket (renaming over it would replace the device), or any name in /dev or
    /proc. ``/dev/stdout`` redirected to a file stats as a regular file, but
    renaming over it would replace the link in /dev, not the file the shell
    opened, and leave the output nowhere the user looks."""
    target = os.fspath(path)
    parent = os.path.realpath(os.path.dirname(os.path.abspath(target)))
    if parent == "/dev" or parent.startswith(("/dev/", "/proc/")):
        return True
    try:
        mode = os.stat(target).st_mode
    except OSError:
        return False
    return not (stat.S_ISREG(mode) or stat.S_ISDIR(mode))
