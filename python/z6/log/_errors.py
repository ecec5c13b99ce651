"""What goes wrong reading an event log: one error for every unreadable log, one warning.

    LogError (Z6Error, exit 2)   the log cannot be read as it is: missing, not a z6
                                 log, corrupt, or a complete-named log that is cut
    LogWarning (UserWarning)     a partial log (the run did not finish) was read up
                                 to its last complete chunk
"""

from __future__ import annotations

import os
from typing import Optional

from z6.errors import EXIT_CONFIG, Z6Error

__all__ = ["LogError", "LogWarning"]


class LogError(Z6Error):
    """An event log that cannot be read; the message names the file and where.

    ``offset`` and ``end`` bound the bytes at fault (``end`` is exclusive, None when
    unknown); ``chunk`` is the 0-based number of the chunk at fault (None for the
    header, the footer or the file as a whole); ``part`` is "header", "chunk",
    "footer" or None.
    """

    exit_code = EXIT_CONFIG

    def __init__(
        self,
        path: str | os.PathLike[str],
        reason: str,
        *,
        part: Optional[str] = None,
        chunk: Optional[int] = None,
        offset: Optional[int] = None,
        end: Optional[int] = None,
    ) -> None:
        self.path = os.fsdecode(os.fspath(path))
        self.reason = reason
        self.part = part
        self.chunk = chunk
        self.offset = offset
        self.end = end
        super().__init__(f"{self.path}: {self.location}{reason}")

    @property
    def location(self) -> str:
        """"chunk 3 at byte offset 4120: " and the like ("" when the whole file is at fault)."""
        if self.part == "chunk" and self.chunk is not None:
            return f"chunk {self.chunk} at byte offset {self.offset}: "
        if self.part is not None and self.offset is not None:
            return f"{self.part} at byte offset {self.offset}: "
        if self.offset is not None:
            return f"byte offset {self.offset}: "
        return ""


class LogWarning(UserWarning):
    """A partial event log was read up to its last complete chunk."""
