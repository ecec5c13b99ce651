"""Write a file all at once: readers see the old file or the whole new one, never a part."""

from __future__ import annotations

import os
import tempfile

from z6._destinations import open_in_place, writes_in_place

__all__ = ["write_text_atomic"]


def write_text_atomic(path: str | os.PathLike[str], text: str) -> None:
    """Write ``text`` (UTF-8) to ``path`` through a temporary file in the same directory.

    A failure (disk full, no permission, interrupt) leaves no partial file behind:
    z6 never leaves a half-written report that looks complete. A ``path`` that
    `writes_in_place` (``-`` for standard output, ``/dev/stdout``, a FIFO, a device) is written directly:
    renaming over it would replace the device or link itself. Raises
    the ``OSError`` met (the caller classifies it with `z6.errors.io_error`).
    """
    target = os.fspath(path)
    if writes_in_place(target):
        with open_in_place(target, "w", encoding="utf-8") as out:
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
