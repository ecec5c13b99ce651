"""Stream a run's event chunks into ``events.z6log``, one framed chunk at a time.

The writer is a chunk consumer (``run_plan(plan, [writer])``). Each chunk goes to
the operating system as soon as it arrives (an unbuffered write, no fsync), so a
process killed with SIGKILL loses at most the chunk it was writing; the kernel
still holds everything written before. The file is called
``events.z6log.partial`` until `finish` writes the footer, fsyncs and renames it:
a file called ``events.z6log`` is always complete. Memory is bounded: the writer
keeps counters and a running digest, never the chunks.
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import os
import time
from pathlib import Path
from types import TracebackType
from typing import Optional

import numpy as np

from z6._version import __version__
from z6.errors import RunError, io_error
from z6.events import EVENT_DTYPE
from z6.plan import Plan
from z6.scenario import Scenario
from z6.log._format import (
    FORMAT_VERSION,
    LOG_NAME,
    MAX_CHUNK_BYTES,
    PARTIAL_NAME,
    RECORD_SIZE,
    STATUSES,
    LogFooter,
    LogHeader,
    encode_footer,
    encode_frame_header,
    encode_header,
    frame_crc,
    kind_label,
)


__all__ = ["EventLogWriter", "make_header", "utc_now"]

_MAX_CHUNK_RECORDS = MAX_CHUNK_BYTES // RECORD_SIZE


def utc_now() -> str:
    """The current UTC time as ISO 8601 with microseconds and a ``Z``."""
    return _dt.datetime.now(_dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _absolute_source(source: str) -> str:
    # "<string>", "<stdin>": no file, nothing to resolve.
    return source if source.startswith("<") else os.path.abspath(source)


def make_header(
    scenario: Scenario,
    plan: Plan,
    *,
    mode: Optional[str] = None,
    vus_override: Optional[int] = None,
    duration_override_s: Optional[float] = None,
) -> LogHeader:
    """The header for a run of ``plan`` (compiled from ``scenario`` with these overrides).

    ``mode`` defaults to the plan's. The plan's ``first_vu_id``, ``n_vus`` and
    ``vu_id_step`` say which VUs the log covers, so a shard's plan gives a shard's header. The
    scenario's source is recorded as an absolute path (a pseudo-source such as
    ``<string>`` as it is), so that the log can find the scenario's directory,
    and with it its ``body_file`` paths, from any working directory.
    """
    return LogHeader(
        format_version=FORMAT_VERSION,
        z6_version=__version__,
        seed=int(plan.seed),
        mode=mode if mode is not None else plan.mode,
        tick_ns=int(plan.tick_ns),
        scenario_source=_absolute_source(scenario.source),
        scenario_text=scenario.text,
        scenario_sha256=scenario.sha256,
        request_names=tuple(plan.request_names),
        vus_override=vus_override,
        duration_override_s=duration_override_s,
        first_vu_id=int(plan.first_vu_id),
        n_vus=int(plan.n_vus),
        vu_id_step=int(plan.vu_id_step),
        created_utc=utc_now(),
    )


def _fsync_directory(directory: Path) -> None:
    # Make the rename itself durable. Not every platform can open a directory.
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


class EventLogWriter:
    """Write ``directory/events.z6log`` from a stream of `EVENT_DTYPE` chunks.

        writer = EventLogWriter(run_dir, make_header(scenario, plan))
        try:
            run_plan(plan, [summary_builder, writer])
        except BaseException:
            writer.abort()            # leaves events.z6log.partial
            raise
        path = writer.finish("completed")

    As a context manager it finishes with "completed" on a normal exit, with
    "interrupted" on KeyboardInterrupt, and aborts (leaving the ``.partial``) on
    any other exception.
    """

    def __init__(self, directory: str | os.PathLike[str], header: LogHeader) -> None:
        if not isinstance(header, LogHeader):
            raise TypeError(f"header must be a LogHeader, got {type(header).__name__}")
        if header.format_version != FORMAT_VERSION:
            raise ValueError(f"this z6 writes format version {FORMAT_VERSION}, the header says {header.format_version}")
        self.header = header
        self.directory = Path(directory)
        self.path = self.directory / LOG_NAME
        self.partial_path = self.directory / PARTIAL_NAME
        self._records = 0
        self._chunks = 0
        self._kind_counts = np.zeros(0, dtype=np.int64)
        self._sha = hashlib.sha256()
        self._started = time.monotonic()
        # Bytes of the file that hold a whole header and whole chunks: a write that
        # fails part-way (a full disk) is cut back to it, so the file always ends
        # on a chunk boundary and a footer can still follow.
        self._good_bytes = 0
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
            # Unbuffered: every write is a write(2), in the kernel's hands at once.
            self._file: Optional[object] = open(self.partial_path, "wb", buffering=0)
        except OSError as exc:
            raise io_error(f"{self.partial_path}: cannot create the event log", exc) from None
        try:
            self._write_all(encode_header(header))
        except OSError as exc:
            self.abort()
            raise io_error(f"{self.partial_path}: cannot write the event log", exc) from None
        self._good_bytes = self._file.tell()  # type: ignore[attr-defined]

    @property
    def records(self) -> int:
        """Records written so far."""
        return self._records

    @property
    def chunks(self) -> int:
        """Chunks written so far."""
        return self._chunks

    @property
    def closed(self) -> bool:
        return self._file is None

    def _cut_back(self) -> None:
        # Drop the torn tail of a failed write (and give its space back).
        try:
            self._file.truncate(self._good_bytes)  # type: ignore[union-attr]
            self._file.seek(self._good_bytes)  # type: ignore[union-attr]
        except OSError:
            pass

    def _write_all(self, data: object) -> None:
        view = memoryview(data).cast("B")  # type: ignore[arg-type]
        while view.nbytes:
            written = self._file.write(view)  # type: ignore[union-attr]
            view = view[written:]

    def __call__(self, chunk: np.ndarray) -> None:
        """Append ``chunk`` (EVENT_DTYPE records) as one framed chunk (several if it exceeds 4 GiB)."""
        if self._file is None:
            raise ValueError(f"{self.partial_path}: the event log writer is closed")
        if not isinstance(chunk, np.ndarray) or chunk.dtype != EVENT_DTYPE or chunk.ndim != 1:
            got = chunk.dtype if isinstance(chunk, np.ndarray) else type(chunk).__name__
            raise TypeError(f"expected a 1-D array of EVENT_DTYPE records, got {got}")
        if chunk.size == 0:
            return
        chunk = np.ascontiguousarray(chunk)
        for start in range(0, chunk.size, _MAX_CHUNK_RECORDS):
            self._append(chunk[start:start + _MAX_CHUNK_RECORDS])

    def _append(self, records: np.ndarray) -> None:
        length = records.nbytes
        payload = records.view(np.uint8)
        crc = frame_crc(length, self._chunks, payload)
        try:
            frame = encode_frame_header(length, self._chunks, crc)
            self._write_all(frame)
            self._write_all(payload)
        except OSError as exc:
            self._cut_back()
            raise io_error(f"{self.partial_path}: cannot write the event log", exc) from None
        self._good_bytes += len(frame) + length
        self._chunks += 1
        self._records += records.size
        self._sha.update(payload)
        counts = np.bincount(records["kind"])
        if counts.size > self._kind_counts.size:
            counts[: self._kind_counts.size] += self._kind_counts
            self._kind_counts = counts.astype(np.int64)
        else:
            self._kind_counts[: counts.size] += counts

    def finish(self, status: str = "completed") -> Path:
        """Write the footer, fsync, rename to ``events.z6log`` and return its path.

        If the footer cannot be written (a full disk), the file is cut back to its
        last whole chunk and left as ``events.z6log.partial``: it still reads."""
        if status not in STATUSES:
            raise ValueError(f"status must be one of {', '.join(STATUSES)}, got {status!r}")
        if self._file is None:
            raise ValueError(f"{self.partial_path}: the event log writer is closed")
        footer = LogFooter(
            records=self._records,
            chunks=self._chunks,
            kind_counts={kind_label(k): int(n) for k, n in enumerate(self._kind_counts.tolist()) if n},
            status=status,
            digest=self._sha.hexdigest(),
            elapsed_s=time.monotonic() - self._started,
            finished_utc=utc_now(),
        )
        try:
            try:
                self._write_all(encode_footer(footer))
                os.fsync(self._file.fileno())  # type: ignore[union-attr]
            except OSError:
                self._cut_back()
                raise
            self._file.close()  # type: ignore[union-attr]
            self._file = None
            os.replace(self.partial_path, self.path)
        except OSError as exc:
            self.abort()
            raise RunError(f"{self.partial_path}: cannot finish the event log: {exc.strerror or exc}") from None
        _fsync_directory(self.directory)
        return self.path

    def abort(self) -> None:
        """Close the file and leave ``events.z6log.partial`` as it is (its complete chunks read)."""
        if self._file is not None:
            try:
                self._file.close()  # type: ignore[union-attr]
            except OSError:
                pass
            self._file = None

    def __enter__(self) -> "EventLogWriter":
        return self

    def __exit__(
        self,
        exc_type: Optional[type[BaseException]],
        exc: Optional[BaseException],
        tb: Optional[TracebackType],
    ) -> None:
        if self._file is None:
            return
        if exc_type is None:
            self.finish("completed")
        elif issubclass(exc_type, KeyboardInterrupt):
            self.finish("interrupted")
        else:
            self.abort()
