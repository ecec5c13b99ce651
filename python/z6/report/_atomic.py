"""Write a file all at once: readers see the old file or the whole new one, never a part."""

from __future__ import annotations

import os
import stat
import tempfile

__all__ = ["write_text_atomic"]


def _is_special(target: str) -> bool:
    """True when ``target`` exists and is neither a regular file nor a directory (a device, a FIFO)."""
    try:
        mode = os.stat(target).st_mode
    except OSError:
        return False
    return not (stat.S_ISREG(mode) or stat.S_ISDIR(mode))


def write_text_atomic(path: str | os.PathLike[str], text: str) -> None:
    """Write ``text`` (UTF-8) to ``path`` through a temporary file in the same directory.

    A failure (disk full, no permission, interrupt) leaves no partial file behind:
    z6 never leaves a half-written report that looks complete. A ``path`` that
    exists and is not a regular file (``/dev/stdout``, a FIFO, a device) is
    written directly: renaming over it would replace the device itself. Raises
    the ``OSError`` met (the caller classifies it with `z6.errors.io_error`).
    """
    target = os.fspath(path)
    if _is_special(target):
        with open(target, "w", encoding="utf-8") as out:
            out.write(text)
        return
    directory = os.path.dirname(os.path.abspath(target))
    fd, temporary = tempfile.mkstemp(prefix=".z6-", suffix=".tmp", dir=directory)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            out.write(text)
        # mkstemp makes the file private; give it the permissions a plain open() would.
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(temporary, 0o666 & ~umask)
        os.replace(temporary, target)
    except BaseException:
        os.unlink(temporary)
        raise
