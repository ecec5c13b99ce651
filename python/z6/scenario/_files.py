"""Reading a file the scenario names (the scenario itself, a ``body_file``) safely.

A path may name anything: a FIFO or ``/dev/zero`` would block or grow without
bound if read whole, a directory cannot be read at all. ``read_regular`` checks
the file is a regular file of at most ``limit`` bytes *before* reading it, and
reads at most ``limit + 1`` bytes (a file that grows after the check is still
refused). Each failure is a ``FileProblem`` whose text states the rule.
"""

from __future__ import annotations

import os
import stat

__all__ = ["FileProblem", "FileMissing", "read_regular", "describe_size", "kind_of"]


class FileProblem(Exception):
    """Why a file cannot be used: ``str()`` is the rule broken and the bad value;
    ``os_error`` the operating system's error behind it, if any."""

    def __init__(self, message: str, os_error: OSError | None = None) -> None:
        super().__init__(message)
        self.os_error = os_error


class FileMissing(FileProblem):
    """The path names no file."""


def describe_size(limit: int) -> str:
    """``16777216 bytes (16 MiB)``: a byte limit as the messages and docs spell it."""
    mib = limit / (1024 * 1024)
    return f"{limit} bytes ({mib:g} MiB)"


def kind_of(mode: int) -> str:
    """What a file that is not a regular one is, from its ``st_mode``: \"a directory\", ..."""
    if stat.S_ISDIR(mode):
        return "a directory"
    if stat.S_ISFIFO(mode):
        return "a FIFO"
    if stat.S_ISCHR(mode):
        return "a character device"
    if stat.S_ISBLK(mode):
        return "a block device"
    if stat.S_ISSOCK(mode):
        return "a socket"
    return "not a regular file"


def read_regular(path: str, limit: int) -> bytes:
    """The bytes of the regular file ``path``, at most ``limit`` of them; else ``FileProblem``."""
    try:
        info = os.stat(path)
    except FileNotFoundError:
        raise FileMissing("file must exist") from None
    except OSError as exc:
        raise FileProblem(f"file must be readable ({exc.strerror or exc})", exc) from None
    if not stat.S_ISREG(info.st_mode):
        raise FileProblem(f"must be a regular file, got {kind_of(info.st_mode)}")
    # Checked before reading, so that a huge file is never loaded.
    if info.st_size > limit:
        raise FileProblem(f"file must be at most {describe_size(limit)}, got {info.st_size} bytes")
    try:
        # O_NONBLOCK: if the path was swapped for a FIFO since the stat, open does not wait for a writer.
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0))
    except OSError as exc:
        raise FileProblem(f"file must be readable ({exc.strerror or exc})", exc) from None
    with os.fdopen(fd, "rb") as handle:
        if not stat.S_ISREG(os.fstat(handle.fileno()).st_mode):  # swapped since the stat
            raise FileProblem("must be a regular file, got one that changed while it was opened")
        try:
            data = handle.read(limit + 1)
        except OSError as exc:
            raise FileProblem(f"file must be readable ({exc.strerror or exc})", exc) from None
    if len(data) > limit:  # the file grew after the stat
        raise FileProblem(f"file must be at most {describe_size(limit)}, got more (it grew while it was read)")
    return data
