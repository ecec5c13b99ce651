"""Stream a run's event chunks into ``events.z6log``, one framed chunk at a time.

The writer is a chunk consumer (``run_plan(plan, [writer])``). It puts each chunk
(the runner's own, read-only, or else a copy) in a bounded queue (4 chunks by
default) and returns. Two worker threads follow, one chunk apart, while the engine
fills the next: the store thread counts a chunk's kinds, encodes it (format 2:
columns, zstd, which releases the GIL) and writes it, then hands it to the digest
thread, which adds it to the footer's SHA-256. Two threads, because on a simulated run
the hash alone (1.5 GB/s with SHA instructions) is about as long as the engine:
one thread doing both would be the run's slowest. The digest only ever covers
chunks the file holds: a chunk reaches it after its write succeeded. When the
queue is full the run's thread waits (`EventLogWriter.stalled_s` counts how long),
so memory stays flat and no event is dropped. A write that fails (a full disk) is
reported to the caller at its next call, `flush` or `finish`, with the message it
always had.

Each chunk goes to the operating system as soon as it is encoded (an unbuffered
write, no fsync), so a process killed with SIGKILL loses at most the chunks still
queued and the one being written; the kernel still holds everything written before.
The file is called ``events.z6log.partial`` until `finish` writes the footer,
fsyncs and renames it: a file called ``events.z6log`` is always complete.
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import os
import queue
import threading
import time
from pathlib import Path
from types import TracebackType
from typing import Any, Optional

import numpy as np
import zstandard

from z6._version import __version__
from z6.errors import ConfigError, RunError, io_error
from z6.events import EVENT_DTYPE, frozen
from z6.plan import Plan
from z6.scenario import Scenario
from z6.log._format import (
    FORMAT_VERSION,
    FORMAT_VERSIONS,
    FRAME_V2,
    LOG_NAME,
    MAX_CHUNK_BYTES,
    PARTIAL_NAME,
    RECORD_SIZE,
    STATUSES,
    WRITE_CHUNK_RECORDS_V2,
    ZSTD_LEVEL,
    CHUNK_MARKER,
    LogFooter,
    LogHeader,
    add_encoded_kind_counts,
    add_kind_counts,
    encode_columns,
    encode_footer,
    encode_frame_header,
    encode_header,
    frame_crc,
    frame_crc_v2,
    kind_label,
)


__all__ = ["EventLogWriter", "make_header", "utc_now", "writer_stall_warning"]

_MAX_CHUNK_RECORDS = {1: MAX_CHUNK_BYTES // RECORD_SIZE, 2: WRITE_CHUNK_RECORDS_V2}
# Chunks the writer holds at most besides the one being written (the run waits beyond).
DEFAULT_QUEUE_CHUNKS = 4
# The size of the arrays the writer copies chunks into: the runner's chunk.
_POOLED_RECORDS = 65_536


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
    format_version: int = FORMAT_VERSION,
    arrival_shards: int = 1,
) -> LogHeader:
    """The header for a run of ``plan`` (compiled from ``scenario`` with these overrides).

    ``mode`` defaults to the plan's. The plan's ``first_vu_id``, ``n_vus`` and
    ``vu_id_step`` say which VUs the log covers, so a shard's plan gives a shard's header. The
    scenario's source is recorded as an absolute path (a pseudo-source such as
    ``<string>`` as it is), so that the log can find the scenario's directory,
    and with it its ``body_file`` paths, from any working directory.
    ``arrival_shards``: the shards a split arrival-rate run has (`LogHeader`).
    """
    return LogHeader(
        format_version=format_version,
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
        arrival_shards=int(arrival_shards) if getattr(plan, "arrivals", None) is not None else 1,
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
            writer.flush()            # every chunk written, or the write error raised
        except BaseException:
            writer.abort()            # leaves events.z6log.partial
            raise
        path = writer.finish("completed")

    The layout is the header's ``format_version`` (2 unless asked for 1). Chunks
    are copied into a queue of ``queue_chunks`` and written by a worker thread;
    ``stalled_s`` is how long callers waited for room in it. As a context manager
    it finishes with "completed" on a normal exit, with "interrupted" on
    KeyboardInterrupt, and aborts (leaving the ``.partial``) on any other exception.
    """

    def __init__(self, directory: str | os.PathLike[str], header: LogHeader, *,
                 queue_chunks: int = DEFAULT_QUEUE_CHUNKS, level: int = ZSTD_LEVEL) -> None:
        if not isinstance(header, LogHeader):
            raise TypeError(f"header must be a LogHeader, got {type(header).__name__}")
        if header.format_version not in FORMAT_VERSIONS:
            raise ValueError(f"this z6 writes format versions {', '.join(map(str, FORMAT_VERSIONS))}, "
                             f"the header says {header.format_version}")
        if queue_chunks < 1:
            raise ValueError(f"queue_chunks must be at least 1, got {queue_chunks}")
        self.header = header
        self.version = header.format_version
        self.directory = Path(directory)
        self.path = self.directory / LOG_NAME
        self.partial_path = self.directory / PARTIAL_NAME
        self._level = level
        self._records = 0
        self._chunks = 0
        self._stored_bytes = 0
        self._kind_counts = np.zeros(64, dtype=np.int64)   # by kind; grows for a kind beyond
        self._sha = hashlib.sha256()
        self._started = time.monotonic()
        # The workers' state: chunks waiting to be stored, chunks stored and waiting
        # to be hashed, the two threads (started with the first chunk), the first
        # error (nothing is written after it) and whether a caller has been told of it.
        self._queue: "queue.Queue[Optional[np.ndarray]]" = queue.Queue(maxsize=queue_chunks)
        self._digest_queue: "queue.Queue[Optional[np.ndarray]]" = queue.Queue(maxsize=queue_chunks)
        self._thread: Optional[threading.Thread] = None
        self._digester: Optional[threading.Thread] = None
        self._digest_failed = False
        self._error: Optional[BaseException] = None
        self._error_reported = False
        self._stalled_s = 0.0
        # Arrays the worker is done with, for the next copies: a fresh 2 MiB array a
        # chunk costs its page faults every time (on a 10**8-event run, seconds).
        # list.append and list.pop are atomic, so the two threads share it unlocked.
        self._free: list[np.ndarray] = []
        self._pool_limit = 2 * queue_chunks + 3
        self._encoded: Optional[np.ndarray] = None   # the worker's reused encoding buffer
        # Bytes of the file that hold a whole header and whole chunks: a write that
        # fails part-way (a full disk) is cut back to it, so the file always ends
        # on a chunk boundary and a footer can still follow.
        self._good_bytes = 0
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
            # Unbuffered: every write is a write(2), in the kernel's hands at once.
            # Exclusive ("x"): a second writer in the same directory (two runs given
            # one out_dir at once) must not truncate and share the first's file.
            self._file: Optional[Any] = open(self.partial_path, "xb", buffering=0)
        except FileExistsError:
            raise ConfigError(f"{self.directory}: already holds a run being written ({PARTIAL_NAME}); "
                              "choose another directory") from None
        except OSError as exc:
            raise io_error(f"{self.partial_path}: cannot create the event log", exc) from None
        # Checked after the partial file is ours: a run that finished before could
        # only have renamed its partial file away before we created ours, so its log
        # is there to see now, and `finish` would replace it.
        if self.path.exists():
            self._file.close()
            self._file = None
            self.partial_path.unlink(missing_ok=True)
            raise ConfigError(f"{self.directory}: already holds a run ({LOG_NAME}); choose another directory")
        try:
            self._write_all(encode_header(header))
        except OSError as exc:
            self.abort()
            raise io_error(f"{self.partial_path}: cannot write the event log", exc) from None
        self._good_bytes = self._file.tell()

    @property
    def records(self) -> int:
        """Records written so far (chunks still queued not counted: `drain` first)."""
        return self._records

    @property
    def chunks(self) -> int:
        """Chunks written so far (chunks still queued not counted: `drain` first)."""
        return self._chunks

    @property
    def stored_bytes(self) -> int:
        """Bytes of chunks (frames included) written so far."""
        return self._stored_bytes

    @property
    def stalled_s(self) -> float:
        """Seconds callers waited for room in the queue: the writer fell behind the run."""
        return self._stalled_s

    @property
    def closed(self) -> bool:
        return self._file is None

    def _cut_back(self) -> None:
        # Drop the torn tail of a failed write (and give its space back).
        try:
            self._file.truncate(self._good_bytes)
            self._file.seek(self._good_bytes)
        except OSError:
            pass

    def _write_all(self, data: object) -> None:
        view = memoryview(data).cast("B")  # type: ignore[arg-type]
        while view.nbytes:
            written = self._file.write(view)
            view = view[written:]

    def _write_error(self) -> BaseException:
        error = self._error
        if isinstance(error, OSError):
            return io_error(f"{self.partial_path}: cannot write the event log", error)
        return RunError(f"{self.partial_path}: cannot write the event log: {error}")

    def _raise_pending(self) -> None:
        if self._error is not None:
            self._error_reported = True
            raise self._write_error() from None

    def __call__(self, chunk: np.ndarray) -> None:
        """Queue ``chunk`` (EVENT_DTYPE records) to be written as one framed chunk
        (several above 4 GiB, or 32 MiB in format 2); raises the error of a write
        that failed since the last call. A chunk nobody can change
        (`z6.events.frozen`: the runner's) is queued as it is, any other as a copy."""
        if self._file is None:
            raise ValueError(f"{self.partial_path}: the event log writer is closed")
        if not isinstance(chunk, np.ndarray) or chunk.dtype != EVENT_DTYPE or chunk.ndim != 1:
            got = chunk.dtype if isinstance(chunk, np.ndarray) else type(chunk).__name__
            raise TypeError(f"expected a 1-D array of EVENT_DTYPE records, got {got}")
        self._raise_pending()
        if chunk.size == 0:
            return
        if self._thread is None:
            self._digester = threading.Thread(target=self._digest_work, name=f"z6 log digest {self.partial_path}",
                                              daemon=True)
            self._digester.start()
            self._thread = threading.Thread(target=self._work, name=f"z6 log writer {self.partial_path}",
                                            daemon=True)
            self._thread.start()
        step = _MAX_CHUNK_RECORDS[self.version]
        for start in range(0, chunk.size, step):
            piece = chunk[start:start + step]
            if piece.flags.c_contiguous and frozen(piece):
                part = piece   # no one can change it: queued as it is
            else:
                # A copy the writer owns: the caller may reuse or change its array at once.
                part = self._array_for(piece.size)
                if piece.flags.c_contiguous:
                    # As bytes: numpy copies a structured dtype field by field, several
                    # times slower than the memcpy a byte view gets.
                    part.view(np.uint8)[...] = piece.view(np.uint8)
                else:
                    np.copyto(part, piece)
            try:
                self._queue.put_nowait(part)
            except queue.Full:
                waited = time.perf_counter()
                self._queue.put(part)
                self._stalled_s += time.perf_counter() - waited

    def _array_for(self, n: int) -> np.ndarray:
        """An array of ``n`` records for a copy: a free one of the pool when one is
        large enough, else a new one (of at least a run's usual chunk size)."""
        while self._free:
            try:
                array = self._free.pop()
            except IndexError:   # the worker took none; another caller is not possible
                break
            if array.size >= n:
                return array[:n]
        return np.empty(max(n, _POOLED_RECORDS), dtype=EVENT_DTYPE)[:n]

    def _release(self, records: np.ndarray) -> None:
        # The workers are done with the copy: keep its whole array for the next one.
        whole = records.base if isinstance(records.base, np.ndarray) else records
        # (a frozen chunk queued without a copy is the caller's, never pooled)
        if len(self._free) < self._pool_limit and whole.dtype == EVENT_DTYPE and whole.flags.writeable:
            self._free.append(whole)

    def _work(self) -> None:
        compressor = zstandard.ZstdCompressor(level=self._level) if self.version == 2 else None
        while True:
            records = self._queue.get()
            try:
                if records is None:
                    return
                if self._error is None:  # after a failed write nothing more is written (the caller is told)
                    encoded = self._encode(records) if compressor is not None else None
                    kinds = self._chunk_kinds(records, encoded)   # counted first: a failure here writes nothing
                    self._store(records, encoded, compressor)
                    # Written: now it counts in the footer's kind counts and digest.
                    self._kind_counts[:kinds.size] += kinds
                    self._digest_queue.put(records)
                else:
                    self._release(records)
            except OSError as exc:
                self._cut_back()
                self._error = exc
            except BaseException as exc:  # a bug, not the disk: still reported, never lost
                self._cut_back()
                self._error = exc
            finally:
                self._queue.task_done()

    def _digest_work(self) -> None:
        while True:
            records = self._digest_queue.get()
            try:
                if records is None:
                    return
                # Every chunk that reaches here is in the file, even when a later
                # write failed: a log sealed "failed" has their digest.
                if not self._digest_failed:
                    self._digest(records)
                self._release(records)
            except BaseException as exc:  # a bug (or no memory): the footer would be wrong, so the log fails
                self._digest_failed = True
                if self._error is None:
                    self._error = exc
            finally:
                self._digest_queue.task_done()

    def _encode(self, records: np.ndarray) -> np.ndarray:
        # Format 2's column layout, into one reused array (no page faults a chunk).
        if self._encoded is None or self._encoded.size < records.nbytes:
            self._encoded = np.empty(records.nbytes, dtype=np.uint8)
        return encode_columns(records, self._encoded[:records.nbytes])

    def _store(self, records: np.ndarray, encoded: Optional[np.ndarray],
               compressor: Optional[zstandard.ZstdCompressor]) -> None:
        number = self._chunks
        if compressor is None:
            payload: Any = records.view(np.uint8)
            length = records.nbytes
            frame = encode_frame_header(length, number, frame_crc(length, number, payload))
        else:
            payload = compressor.compress(encoded)
            length = len(payload)
            frame = FRAME_V2.pack(CHUNK_MARKER, length, number, records.size,
                                  frame_crc_v2(length, number, records.size, payload))
        self._write_all(frame)
        self._write_all(payload)
        self._good_bytes += len(frame) + length
        self._stored_bytes += len(frame) + length
        self._chunks += 1
        self._records += records.size

    def _chunk_kinds(self, records: np.ndarray, encoded: Optional[np.ndarray]) -> np.ndarray:
        # On the store thread: the digest thread's SHA-256 alone is its longest
        # part of a run, and this pass is cheaper beside zstd than beside it.
        # Format 2 counts from the kind column just encoded (2 bytes a record, in
        # cache) instead of reading every 32-byte record again.
        def count(into: np.ndarray) -> int:
            if encoded is None:
                return add_kind_counts(records, into)
            return add_encoded_kind_counts(encoded, records.size, into)

        kinds = np.zeros(self._kind_counts.size, dtype=np.int64)
        largest = count(kinds)
        if largest >= kinds.size:   # a kind beyond the table: room for it, then count
            kinds = np.zeros(largest + 1, dtype=np.int64)
            count(kinds)
            self._kind_counts = np.concatenate([self._kind_counts,
                                                np.zeros(largest + 1 - self._kind_counts.size, dtype=np.int64)])
        return kinds

    def _digest(self, records: np.ndarray) -> None:
        self._sha.update(records.view(np.uint8))

    def drain(self) -> None:
        """Wait until every queued chunk is written and hashed (or dropped after a failed write)."""
        if self._thread is not None:
            self._queue.join()          # stored (each one then queued for its digest) ...
            self._digest_queue.join()   # ... and hashed

    def flush(self) -> None:
        """`drain`, then raise the error of a write that failed, if one did."""
        self.drain()
        self._raise_pending()

    def _stop_worker(self) -> None:
        if self._thread is not None:
            self._queue.put(None)
            self._thread.join()
            self._thread = None
            # Every stored chunk is in the digest's queue before this end mark.
            self._digest_queue.put(None)
            self._digester.join()
            self._digester = None

    def finish(self, status: str = "completed", request_digests: Optional[dict] = None,
               transfer: Optional[dict] = None, redirect_offsite: Optional[str] = None) -> Path:
        """Write every queued chunk, then the footer; fsync, rename to ``events.z6log``
        and return its path.

        A chunk write that failed and was not yet reported is raised here (the writer
        stays open: `finish("failed")` then seals what was written, or `abort`). If
        the footer cannot be written (a full disk), the file is cut back to its last
        whole chunk and left as ``events.z6log.partial``: it still reads."""
        if status not in STATUSES:
            raise ValueError(f"status must be one of {', '.join(STATUSES)}, got {status!r}")
        if self._file is None:
            raise ValueError(f"{self.partial_path}: the event log writer is closed")
        self._stop_worker()
        if self._error is not None and not self._error_reported:
            self._raise_pending()
        if self._digest_failed:
            # The digest missed chunks the file holds: no footer can vouch for them.
            self.abort()
            raise RunError(f"{self.partial_path}: cannot finish the event log: its digest failed "
                           f"({self._error}); the complete chunks still read")
        footer = LogFooter(
            records=self._records,
            chunks=self._chunks,
            kind_counts={kind_label(k): int(n) for k, n in enumerate(self._kind_counts.tolist()) if n},
            status=status,
            digest=self._sha.hexdigest(),
            elapsed_s=time.monotonic() - self._started,
            finished_utc=utc_now(),
            writer_stalled_s=self.stalled_s,
            request_digests=request_digests,
            transfer=transfer,
            redirect_offsite=redirect_offsite,
        )
        try:
            try:
                self._write_all(encode_footer(footer))
                os.fsync(self._file.fileno())
            except OSError:
                self._cut_back()
                raise
            self._file.close()
            self._file = None
            os.replace(self.partial_path, self.path)
        except OSError as exc:
            self.abort()
            raise RunError(f"{self.partial_path}: cannot finish the event log: {exc.strerror or exc}") from None
        _fsync_directory(self.directory)
        return self.path

    def abort(self) -> None:
        """Write the chunks still queued, close the file and leave ``events.z6log.partial``
        as it is (its complete chunks read)."""
        if self._file is not None:
            self._stop_worker()
            try:
                self._file.close()
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


# A live run that waited on its writer less than this in all is not warned about: a
# few milliseconds over a whole run cannot move its figures.
STALL_WARN_S = 0.01


def writer_stall_warning(stalled_s: float) -> Optional[str]:
    """The summary's warning for a live run that waited ``stalled_s`` seconds on its
    event log writer (`EventLogWriter.stalled_s`, recorded in the footer), or None
    below `STALL_WARN_S`."""
    if stalled_s < STALL_WARN_S:
        return None
    return (f"the event log writer fell behind: the run waited {stalled_s:.3f} s in all for it to take "
            "events (the disk or the compression is slower than the events arrive); while it waited no "
            "request was issued or read, so requests may have started late and latencies read high")
