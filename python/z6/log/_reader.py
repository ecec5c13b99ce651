"""Read ``events.z6log``: check it, index its chunks, hand out its records.

`read_log` parses the header, walks the chunk frames and reads the footer. By
default it also checks every chunk's CRC-32 as it goes (one sequential read of the
file, in a reused buffer), so a log it returns is intact. Records are then read
on demand: `EventLog.iter_chunks` reads one chunk at a time into a fresh array
(memory stays one chunk), `EventLog.events` gives all of them as one array.

A complete-named log (``events.z6log``) must be whole: a cut or a changed byte is
a `LogError` saying which chunk and byte offset. A ``.partial`` log is what a run
that did not finish leaves; it reads up to its last complete chunk and warns
(`LogWarning`). Only damage at the very end of a ``.partial`` counts as the cut:
a chunk that is incomplete, or whose CRC fails and that ends exactly at the end
of the file (a write torn by a crash), or damage where the file's all-zero tail
begins (what a power loss leaves of writes that never reached the disk). Damage
followed by more data is an error in any log, and so is a zero tail in a
complete-named log.
"""

from __future__ import annotations

import functools
import os
import queue
import tempfile
import threading
import warnings
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, Iterator, Optional

import numpy as np
import zstandard

from z6.errors import RunError, io_error
from z6.events import EVENT_DTYPE
from z6.log._errors import LogError, LogWarning
from z6.log._format import (
    CHECKED_FIELDS,
    CHUNK_MARKER,
    CRC,
    FOOTER_MARKER,
    FOOTER_PREFIX,
    FORMAT_VERSIONS,
    FRAME,
    FRAME_V2,
    MAX_CHUNK_RECORDS_V2,
    LOG_NAME,
    MAGIC,
    PARTIAL_NAME,
    PREFIX,
    RECORD_SIZE,
    LogFooter,
    LogHeader,
    RecordChecker,
    decode_columns,
    dtype_description,
    footer_from_json,
    frame_crc,
    frame_crc_v2,
    header_from_json,
    json_depth_problem,
    load_json,
)

if TYPE_CHECKING:
    import pandas

__all__ = ["read_log", "resolve_log_path", "EventLog", "ChunkInfo", "MMAP_THRESHOLD_BYTES"]

# `EventLog.events` of a log with more record bytes than this is a memory map,
# not an array in memory (see EventLog.events).
MMAP_THRESHOLD_BYTES = 256 * 1024 * 1024
# Records read per verification step: big chunks are checked in slices this size.
_VERIFY_BLOCK = 4 * 1024 * 1024
# Bytes read per step when looking for where a file's trailing zeros begin.
_ZERO_SCAN_BLOCK = 1024 * 1024


@dataclass(frozen=True)
class ChunkInfo:
    """Where one chunk sits: ``offset`` is its frame's first byte, ``records`` its record count.

    ``stored`` is the bytes stored after the frame in a format-2 chunk (the zstd
    frame), None in format 1 (where they are the ``nbytes`` of raw records).
    """

    number: int
    offset: int
    records: int
    crc: int
    stored: Optional[int] = None

    @property
    def compressed(self) -> bool:
        return self.stored is not None

    @property
    def data_offset(self) -> int:
        """The first byte after the frame: the records (format 1) or the zstd frame (format 2)."""
        return self.offset + (FRAME.size if self.stored is None else FRAME_V2.size)

    @property
    def nbytes(self) -> int:
        """Bytes of the chunk's records, decoded (32 a record)."""
        return self.records * RECORD_SIZE

    @property
    def stored_nbytes(self) -> int:
        """Bytes stored after the frame."""
        return self.nbytes if self.stored is None else self.stored

    @property
    def end(self) -> int:
        return self.data_offset + self.stored_nbytes


def decode_chunk(path: Path, chunk: ChunkInfo, stored: Any, out: np.ndarray,
                 only: Optional[frozenset[str]] = None) -> None:
    """Decompress and decode the stored bytes of format-2 ``chunk`` into ``out``; a LogError
    locating the chunk when they are no zstd frame of exactly its records' bytes."""
    want = chunk.nbytes

    def wrong_size(size: int) -> LogError:
        return LogError(path, f"the stored bytes decompress to {size} bytes, the frame declares "
                        f"{chunk.records} records ({want} bytes): the log is corrupt", part="chunk",
                        chunk=chunk.number, offset=chunk.offset, end=chunk.end)

    try:
        # A zstd frame that says it holds other than the records' bytes is refused before
        # anything is decompressed (no allocation a damaged size asks for); one that does
        # not say is decompressed to at most the records' bytes.
        size = zstandard.frame_content_size(stored)
        if size not in (-1, want):
            raise wrong_size(size)
        data = zstandard.ZstdDecompressor().decompress(stored, max_output_size=want)
    except zstandard.ZstdError as exc:
        raise LogError(path, f"the stored bytes do not decompress ({exc}): the log is corrupt", part="chunk",
                       chunk=chunk.number, offset=chunk.offset, end=chunk.end) from None
    if len(data) != want:
        raise wrong_size(len(data))
    decode_columns(data, out, only)


def resolve_log_path(path: str | os.PathLike[str]) -> Path:
    """The log file ``path`` names: the file itself, or a run directory's log.

    A directory's ``events.z6log`` is preferred; a directory holding only
    ``events.z6log.partial`` (a run that did not finish) gives that.
    """
    p = Path(path)
    if p.is_dir():
        for name in (LOG_NAME, PARTIAL_NAME):
            if (p / name).is_file():
                return p / name
        raise LogError(p, f"no event log here (neither {LOG_NAME} nor {PARTIAL_NAME})")
    if not p.exists():
        raise LogError(p, "cannot read event log: file not found")
    if not p.is_file():  # a FIFO would block the open, a device would read forever or nothing
        raise LogError(p, "cannot read event log: must be a regular file (or a run directory), got "
                          f"{_kind(p)}")
    return p


def _kind(p: Path) -> str:
    if p.is_fifo():
        return "a FIFO"
    if p.is_char_device():
        return "a character device"
    if p.is_block_device():
        return "a block device"
    if p.is_socket():
        return "a socket"
    return "not a regular file"


def record_problem(path: Path, checker: RecordChecker, records: np.ndarray, number: int, data_offset: int,
                   at: int) -> Optional[LogError]:
    """`RecordChecker.check` on the records read from byte ``at`` of chunk ``number``, as a LogError."""
    found = checker.check(records)
    if found is None:
        return None
    i, reason = found
    offset = at + i * RECORD_SIZE
    index = (offset - data_offset) // RECORD_SIZE
    return LogError(path, f"record {index} of the chunk: {reason}: the log is corrupt", part="chunk",
                    chunk=number, offset=offset, end=offset + RECORD_SIZE)


def chunk_record_problem(path: Path, checker: RecordChecker, records: np.ndarray,
                         chunk: ChunkInfo) -> Optional[LogError]:
    """`RecordChecker.check` on a whole chunk's records, as a LogError: at the record's
    bytes in format 1, at the chunk (its bytes are compressed) in format 2."""
    if not chunk.compressed:
        return record_problem(path, checker, records, chunk.number, chunk.data_offset, chunk.data_offset)
    found = checker.check(records)
    if found is None:
        return None
    i, reason = found
    return LogError(path, f"record {i} of the chunk: {reason}: the log is corrupt", part="chunk",
                    chunk=chunk.number, offset=chunk.offset, end=chunk.end)


class _Scan:
    """One pass over the file's structure (and, when verifying, its CRCs)."""

    def __init__(self, path: Path, handle: IO[bytes], size: int, partial: bool, verify: bool) -> None:
        self.checker: Optional[RecordChecker] = None  # set once the header is read; records checked with the CRCs
        self.path = path
        self.handle = handle
        self.size = size
        self.partial = partial
        self.verify = verify
        self.chunks: list[ChunkInfo] = []
        self.footer: Optional[LogFooter] = None
        self.cut: Optional[str] = None  # why a partial log's reading stopped early
        self.zero_tail: Optional[int] = None  # see _zero_tail_start, found when first needed
        self.version = 0  # the header's format version, once read

    def read_at(self, offset: int, n: int) -> bytes:
        self.handle.seek(offset)
        data = self.handle.read(n)
        if len(data) != n:
            raise LogError(self.path, f"the file changed while being read (wanted {n} bytes, got {len(data)})",
                           offset=offset)
        return data

    def header(self) -> tuple[LogHeader, int]:
        """Parse and check the header; return it and the offset of the first chunk."""
        if self.size < PREFIX.size:
            raise LogError(self.path, f"the header is incomplete: the file has {self.size} bytes", part="header",
                           offset=0, end=self.size)
        magic, version, record_size, n = PREFIX.unpack(self.read_at(0, PREFIX.size))
        if magic != MAGIC:
            raise LogError(self.path, f"not a z6 event log (magic {magic!r}, expected {MAGIC!r})", part="header",
                           offset=0, end=len(MAGIC))
        end = PREFIX.size + n + CRC.size
        if end > self.size:
            raise LogError(self.path, f"the header declares {n} bytes of JSON but the file ends at byte {self.size}: "
                           "the header is cut or its length is corrupt", part="header", offset=0, end=PREFIX.size)
        head = self.read_at(0, PREFIX.size + n)
        (stored,) = CRC.unpack(self.read_at(PREFIX.size + n, CRC.size))
        computed = zlib.crc32(head)
        if stored != computed:
            raise LogError(self.path, f"header CRC-32 mismatch (stored 0x{stored:08x}, computed 0x{computed:08x}) "
                           f"over bytes 0-{end - 1}: the header is corrupt", part="header", offset=0, end=end)
        if version not in FORMAT_VERSIONS:
            raise LogError(self.path, f"format version {version}: this z6 reads format versions "
                           f"{' and '.join(map(str, FORMAT_VERSIONS))}", part="header", offset=0, end=PREFIX.size)
        self.version = version
        if record_size != RECORD_SIZE:
            raise LogError(self.path, f"records of {record_size} bytes: this z6 reads {RECORD_SIZE}-byte records",
                           part="header", offset=0, end=PREFIX.size)
        nesting = json_depth_problem(head[PREFIX.size:])
        if nesting is not None:
            raise LogError(self.path, f"unusable header JSON: {nesting}", part="header", offset=0, end=end)
        try:
            doc = load_json(head[PREFIX.size:])
            if not isinstance(doc, dict):
                raise ValueError(f"the header JSON must be an object, got {type(doc).__name__}")
            if doc.get("record_dtype") != dtype_description():
                raise ValueError(f"record_dtype is {doc.get('record_dtype')!r}, this z6 reads {dtype_description()!r}")
            return header_from_json(version, doc), end
        except (ValueError, TypeError, AttributeError) as exc:
            raise LogError(self.path, f"unusable header JSON: {exc}", part="header", offset=0, end=end) from None

    def _stop(self, reason: str, *, part: Optional[str], offset: int, chunk: Optional[int] = None,
              end: Optional[int] = None) -> None:
        # A cut at the end: the expected state of a partial log, an error in a complete one.
        error = LogError(self.path, f"{reason}: the log is truncated or corrupt", part=part, chunk=chunk,
                         offset=offset, end=end)
        if not self.partial:
            raise error
        self.cut = error.location + reason

    def body(self, offset: int) -> None:
        """Walk the chunk frames from ``offset`` up to the footer (or a partial log's cut)."""
        buffer = bytearray(min(_VERIFY_BLOCK, self.size))  # reused for every chunk's CRC
        while True:
            number = len(self.chunks)
            remaining = self.size - offset
            if remaining == 0:
                return self._stop(f"the file ends after chunk {number - 1} with no footer" if number
                                  else "the file ends after the header with no chunk and no footer",
                                  part=None, chunk=number, offset=offset, end=offset)
            # A cut may leave fewer than 4 marker bytes: compare what is there.
            marker = self.read_at(offset, min(4, remaining))
            if marker == FOOTER_MARKER[:len(marker)] and marker != CHUNK_MARKER[:len(marker)]:
                return self._footer(offset)
            if marker != CHUNK_MARKER[:len(marker)]:
                if self._zero_cut(number, offset, offset + FRAME.size):
                    return None
                raise self._unknown_marker(marker, number, offset)
            if self.version == 2:
                end = self._chunk_v2(number, offset, remaining)
                if end is None:
                    return None
                offset = end
                continue
            if remaining < FRAME.size:
                return self._stop(f"the chunk's frame is incomplete ({remaining} of {FRAME.size} bytes)",
                                  part="chunk", chunk=number, offset=offset, end=self.size)
            _, length, stored_number, stored_crc = FRAME.unpack(self.read_at(offset, FRAME.size))
            if (length == 0 or length % RECORD_SIZE or stored_number != number) and self._zero_cut(
                    number, offset, offset + FRAME.size):
                return None
            if length == 0 or length % RECORD_SIZE:
                raise LogError(self.path, f"record length {length} is not a positive multiple of {RECORD_SIZE}: "
                               "the log is corrupt", part="chunk", chunk=number, offset=offset,
                               end=offset + FRAME.size)
            if stored_number != number:
                raise LogError(self.path, f"the frame says chunk {stored_number}, expected chunk {number}: "
                               "the log is corrupt", part="chunk", chunk=number, offset=offset,
                               end=offset + FRAME.size)
            end = offset + FRAME.size + length
            if end > self.size:
                return self._stop(f"the chunk declares {length} bytes of records but the file ends "
                                  f"{remaining - FRAME.size} bytes later", part="chunk", chunk=number,
                                  offset=offset, end=self.size)
            if self.verify:
                computed, meaning = self._crc(offset + FRAME.size, length, number, buffer)
                if computed != stored_crc:
                    reason = (f"CRC-32 mismatch (stored 0x{stored_crc:08x}, computed 0x{computed:08x}) "
                              f"over bytes {offset}-{end - 1}")
                    if end == self.size:  # the last bytes of the file: a torn final write
                        return self._stop(reason, part="chunk", chunk=number, offset=offset, end=end)
                    if self._zero_cut(number, offset, end):
                        return None
                    raise LogError(self.path, f"{reason}: the log is corrupt", part="chunk", chunk=number,
                                   offset=offset, end=end)
                if meaning is not None:  # intact bytes, but not records a run writes
                    raise meaning
            self.chunks.append(ChunkInfo(number, offset, length // RECORD_SIZE, stored_crc))
            offset = end

    def _chunk_v2(self, number: int, offset: int, remaining: int) -> Optional[int]:
        """Check the format-2 chunk ``number`` at ``offset``; its end, or None where a partial log stops."""
        if remaining < FRAME_V2.size:
            self._stop(f"the chunk's frame is incomplete ({remaining} of {FRAME_V2.size} bytes)",
                       part="chunk", chunk=number, offset=offset, end=self.size)
            return None
        _, length, stored_number, records, stored_crc = FRAME_V2.unpack(self.read_at(offset, FRAME_V2.size))
        frame_end = offset + FRAME_V2.size
        bad_records = records == 0 or records > MAX_CHUNK_RECORDS_V2
        if (length == 0 or bad_records or stored_number != number) and self._zero_cut(number, offset, frame_end):
            return None
        if length == 0:
            raise LogError(self.path, "stored length 0: the log is corrupt", part="chunk", chunk=number,
                           offset=offset, end=frame_end)
        if bad_records:
            raise LogError(self.path, f"the frame declares {records} records (1 to {MAX_CHUNK_RECORDS_V2}): "
                           "the log is corrupt", part="chunk", chunk=number, offset=offset, end=frame_end)
        if stored_number != number:
            raise LogError(self.path, f"the frame says chunk {stored_number}, expected chunk {number}: "
                           "the log is corrupt", part="chunk", chunk=number, offset=offset, end=frame_end)
        end = frame_end + length
        if end > self.size:
            self._stop(f"the chunk declares {length} stored bytes but the file ends "
                       f"{remaining - FRAME_V2.size} bytes later", part="chunk", chunk=number,
                       offset=offset, end=self.size)
            return None
        info = ChunkInfo(number, offset, records, stored_crc, stored=length)
        if self.verify:
            stored = self.read_at(frame_end, length)
            computed = frame_crc_v2(length, number, records, stored)
            if computed != stored_crc:
                reason = (f"CRC-32 mismatch (stored 0x{stored_crc:08x}, computed 0x{computed:08x}) "
                          f"over bytes {offset}-{end - 1}")
                if end == self.size:  # the last bytes of the file: a torn final write
                    self._stop(reason, part="chunk", chunk=number, offset=offset, end=end)
                    return None
                if self._zero_cut(number, offset, end):
                    return None
                raise LogError(self.path, f"{reason}: the log is corrupt", part="chunk", chunk=number,
                               offset=offset, end=end)
            # Intact bytes; now what they mean: a zstd frame of exactly the records, records a run
            # writes (only the fields the checker reads are decoded: the chunk is decoded again when
            # read). Deferred checks (no checker) happen when the chunk is read.
            if self.checker is not None:
                out = np.empty(records, dtype=EVENT_DTYPE)
                decode_chunk(self.path, info, stored, out, CHECKED_FIELDS)
                problem = chunk_record_problem(self.path, self.checker, out, info)
                if problem is not None:
                    raise problem
        self.chunks.append(info)
        return end

    def _zero_tail_start(self) -> int:
        """Where the file's run of trailing zero bytes begins (its size when it ends in another byte)."""
        if self.zero_tail is None:
            end = self.size
            while end > 0:
                start = max(0, end - _ZERO_SCAN_BLOCK)
                kept = self.read_at(start, end - start).rstrip(b"\0")
                if kept:
                    end = start + len(kept)
                    break
                end = start
            self.zero_tail = end
        return self.zero_tail

    def _zero_cut(self, number: int, offset: int, damage_end: int, part: str = "chunk") -> bool:
        """For a partial log: is the damage found at chunk ``number`` (bytes ``offset`` up to
        ``damage_end``) the start of an all-zero tail? Then it is the cut; say so.

        A power loss can leave a file longer than the data that reached the disk, the
        difference reading as zeros (the writer does not fsync each chunk): the chunk
        being written, and any after it, end in zeros instead of being cut short.
        """
        if not self.partial:
            return False
        zeros_from = self._zero_tail_start()
        if zeros_from >= min(damage_end, self.size):
            return False
        # Zeros before `offset` are the last complete chunk's own bytes.
        start = max(zeros_from, offset)
        self._stop(f"the file ends in {self.size - start} zero bytes from byte offset {start} "
                   "(written space a crash never filled)", part=part, chunk=number, offset=offset,
                   end=self.size)
        return True

    def _unknown_marker(self, marker: bytes, number: int, offset: int) -> LogError:
        # Neither marker: the damage is in the frame of chunk `number` or in the footer's.
        return LogError(self.path, f"expected chunk {number} ({CHUNK_MARKER!r}) or the footer ({FOOTER_MARKER!r}) "
                        f"here, found {marker!r}: the log is corrupt", chunk=number, offset=offset,
                        end=offset + len(CHUNK_MARKER))

    def _crc(self, data_offset: int, length: int, number: int, buffer: bytearray) -> tuple[int, Optional[LogError]]:
        """The chunk's CRC-32, and the first record whose meaning is wrong (as a LogError, raised
        by the caller only once the CRC matched: damaged bytes are reported as damage)."""
        # Read in blocks into one reused buffer: memory stays a few MiB for any chunk size.
        self.handle.seek(data_offset)
        crc = frame_crc(length, number, b"")
        left = length
        view = memoryview(buffer)
        block_size = len(buffer) // RECORD_SIZE * RECORD_SIZE
        meaning: Optional[LogError] = None
        at = data_offset
        while left:
            n = min(left, block_size)
            got = self.handle.readinto(view[:n])
            if got != n:
                raise LogError(self.path, "the file changed while being read", offset=data_offset)
            crc = zlib.crc32(view[:n], crc)
            if meaning is None and self.checker is not None:
                meaning = record_problem(self.path, self.checker, np.frombuffer(buffer, EVENT_DTYPE, n // RECORD_SIZE),
                                         number, data_offset, at)
            at += n
            left -= n
        return crc, meaning

    def _footer(self, offset: int) -> None:
        number = len(self.chunks)
        remaining = self.size - offset
        if remaining < FOOTER_PREFIX.size:
            return self._stop(f"the footer is incomplete ({remaining} bytes)", part="footer", offset=offset,
                              end=self.size)
        marker, m = FOOTER_PREFIX.unpack(self.read_at(offset, FOOTER_PREFIX.size))
        if marker != FOOTER_MARKER:
            raise self._unknown_marker(marker, number, offset)
        end = offset + FOOTER_PREFIX.size + m + CRC.size
        if end > self.size:
            return self._stop(f"the footer declares {m} bytes of JSON but the file ends at byte {self.size}",
                              part="footer", offset=offset, end=self.size)
        body = self.read_at(offset, FOOTER_PREFIX.size + m)
        (stored,) = CRC.unpack(self.read_at(end - CRC.size, CRC.size))
        computed = zlib.crc32(body)
        if stored != computed:
            reason = f"footer CRC-32 mismatch (stored 0x{stored:08x}, computed 0x{computed:08x})"
            if end == self.size:
                return self._stop(reason, part="footer", offset=offset, end=end)
            if self._zero_cut(number, offset, end, part="footer"):
                return None
            raise LogError(self.path, f"{reason}: the log is corrupt", part="footer", offset=offset, end=end)
        if end != self.size:
            raise LogError(self.path, f"{self.size - end} unexpected bytes after the footer: the log is corrupt",
                           offset=end, end=self.size)
        nesting = json_depth_problem(body[FOOTER_PREFIX.size:])
        if nesting is not None:
            raise LogError(self.path, f"unusable footer JSON: {nesting}", part="footer", offset=offset, end=end)
        try:
            footer = footer_from_json(load_json(body[FOOTER_PREFIX.size:]))
        except (ValueError, TypeError, AttributeError) as exc:
            raise LogError(self.path, f"unusable footer JSON: {exc}", part="footer", offset=offset, end=end) from None
        records = sum(c.records for c in self.chunks)
        if footer.chunks != len(self.chunks) or footer.records != records:
            raise LogError(self.path, f"the footer counts {footer.records} records in {footer.chunks} chunks, "
                           f"the file holds {records} in {len(self.chunks)}: the log is corrupt",
                           part="footer", offset=offset, end=end)
        # Readers size arrays by these counts (`z6 analyze` one for the responses):
        # they must add up to the records the file holds.
        by_kind = sum(footer.kind_counts.values())
        if by_kind != records:
            raise LogError(self.path, f"the footer's counts per kind add up to {by_kind} records, "
                           f"the file holds {records}: the log is corrupt", part="footer", offset=offset, end=end)
        self.footer = footer


def read_log(
    path: str | os.PathLike[str],
    *,
    verify: bool = True,
    defer_record_checks: bool = False,
    mmap_threshold: int = MMAP_THRESHOLD_BYTES,
) -> "EventLog":
    """Open the event log at ``path`` (a log file, a ``.partial`` or a run directory).

    ``verify`` checks every chunk's CRC-32 now (one sequential read of the file);
    without it, each chunk is checked when it is read. ``defer_record_checks`` (with
    ``verify``) checks the CRCs now but what the records mean (ticks in order, known
    kinds, requests and VUs) as each chunk is read: for a reader that reads every
    chunk once anyway, a compressed log is then decompressed once, not twice; the
    same `LogError` comes from the iteration instead. Raises `LogError` for a log
    that cannot be read; warns (`LogWarning`) when a partial log was read up to its
    last complete chunk.
    """
    file_path = resolve_log_path(path)
    partial = file_path.name.endswith(".partial")
    try:
        with open(file_path, "rb") as handle:
            size = os.fstat(handle.fileno()).st_size
            scan = _Scan(file_path, handle, size, partial, verify)
            header, offset = scan.header()
            scan.checker = None if defer_record_checks else RecordChecker(header)
            scan.body(offset)
    except IsADirectoryError:
        raise LogError(file_path, "cannot read event log: is a directory") from None
    except OSError as exc:
        # Missing, not a file, no permission: the path is wrong (2). EIO and the like: the system failed (3).
        if isinstance(io_error(str(file_path), exc, reading=True), RunError):
            raise RunError(f"{file_path}: cannot read event log: {exc.strerror or exc}") from None
        raise LogError(file_path, f"cannot read event log: {exc.strerror or exc}") from None
    log = EventLog(file_path, header, scan.footer, tuple(scan.chunks), verified=verify,
                   records_checked=verify and not defer_record_checks, mmap_threshold=mmap_threshold)
    if partial:
        if scan.footer is not None:
            message = (f"{file_path}: the log is complete (it has a footer) but was never renamed to {LOG_NAME}; "
                       f"read all {len(log)} records")
        else:
            message = (f"{file_path}: partial log (the run did not finish): read {len(log)} records in "
                       f"{len(scan.chunks)} complete chunks; {scan.cut}")
        warnings.warn(message, LogWarning, stacklevel=2)
    return log


class EventLog:
    """A read event log: its header, footer (None when partial) and records.

    ``len(log)`` is the number of readable records. Records are read from the file
    when asked for; the object holds no open file.
    """

    def __init__(self, path: Path, header: LogHeader, footer: Optional[LogFooter], chunks: tuple[ChunkInfo, ...],
                 *, verified: bool, records_checked: Optional[bool] = None,
                 mmap_threshold: int = MMAP_THRESHOLD_BYTES) -> None:
        self.path = path
        self.header = header
        self.footer = footer
        self.chunks = chunks
        self._verified = verified    # every chunk's CRC checked at open
        self._records_checked = verified if records_checked is None else records_checked
        self._mmap_threshold = mmap_threshold
        self._records = sum(c.records for c in chunks)

    def __len__(self) -> int:
        return self._records

    def __repr__(self) -> str:
        return f"<EventLog {str(self.path)!r}: {self._records} records, {self.status}>"

    @property
    def complete(self) -> bool:
        """True when the log has its footer (the run finished writing it)."""
        return self.footer is not None

    @property
    def status(self) -> str:
        """The footer's status ("completed", "interrupted", "stopped", "failed"), or "partial"."""
        return self.footer.status if self.footer is not None else "partial"

    def _read_into(self, handle: IO[bytes], chunk: ChunkInfo, out: np.ndarray,
                   checker: Optional[RecordChecker] = None) -> None:
        if chunk.compressed:
            return self._read_compressed(handle, chunk, out, checker)
        handle.seek(chunk.data_offset)
        view = memoryview(out.view(np.uint8))
        if handle.readinto(view) != chunk.nbytes:
            raise LogError(self.path, "the file changed since it was opened (a chunk is now cut)", part="chunk",
                           chunk=chunk.number, offset=chunk.offset)
        if not self._verified:
            computed = frame_crc(chunk.nbytes, chunk.number, view)
            if computed != chunk.crc:
                raise LogError(self.path, f"CRC-32 mismatch (stored 0x{chunk.crc:08x}, computed 0x{computed:08x}) "
                               f"over bytes {chunk.offset}-{chunk.end - 1}: the log is corrupt", part="chunk",
                               chunk=chunk.number, offset=chunk.offset, end=chunk.end)
        if checker is not None:  # a log read without verify: each chunk's meaning checked as it is read
            problem = record_problem(self.path, checker, out, chunk.number, chunk.data_offset, chunk.data_offset)
            if problem is not None:
                raise problem

    def _read_compressed(self, handle: IO[bytes], chunk: ChunkInfo, out: np.ndarray,
                         checker: Optional[RecordChecker]) -> None:
        handle.seek(chunk.data_offset)
        stored = handle.read(chunk.stored_nbytes)
        if len(stored) != chunk.stored_nbytes:
            raise LogError(self.path, "the file changed since it was opened (a chunk is now cut)", part="chunk",
                           chunk=chunk.number, offset=chunk.offset)
        if not self._verified:
            computed = frame_crc_v2(chunk.stored_nbytes, chunk.number, chunk.records, stored)
            if computed != chunk.crc:
                raise LogError(self.path, f"CRC-32 mismatch (stored 0x{chunk.crc:08x}, computed 0x{computed:08x}) "
                               f"over bytes {chunk.offset}-{chunk.end - 1}: the log is corrupt", part="chunk",
                               chunk=chunk.number, offset=chunk.offset, end=chunk.end)
        decode_chunk(self.path, chunk, stored, out)
        if checker is not None:  # a log read without verify: each chunk's meaning checked as it is read
            problem = chunk_record_problem(self.path, checker, out, chunk)
            if problem is not None:
                raise problem

    def _checker(self) -> Optional[RecordChecker]:
        # A verified log had its records checked with its CRCs when it was opened,
        # unless the checks were deferred to reading.
        return None if self._records_checked else RecordChecker(self.header)

    def _open(self) -> IO[bytes]:
        try:
            return open(self.path, "rb")
        except OSError as exc:
            raise LogError(self.path, f"cannot read event log: {exc.strerror or exc}") from None

    def iter_chunks(self, *, read_ahead: int = 0) -> Iterator[np.ndarray]:
        """Yield the records chunk by chunk, each a fresh array the caller may keep.

        ``read_ahead`` > 0 reads, decompresses, decodes and checks up to that many
        chunks ahead on a thread of the reader's own, while the caller works on the
        current one (zstd and the column decoder run without the GIL, so the two
        overlap on two cores); errors arrive in order, where the chunk would have.
        """
        if read_ahead > 0:
            yield from _read_ahead(self._iter_chunks(), read_ahead)
        else:
            yield from self._iter_chunks()

    def _iter_chunks(self) -> Iterator[np.ndarray]:
        checker = self._checker()
        with self._open() as handle:
            for chunk in self.chunks:
                out = np.empty(chunk.records, dtype=EVENT_DTYPE)
                self._read_into(handle, chunk, out, checker)
                yield out

    @functools.cached_property
    def events(self) -> np.ndarray:
        """All records as one read-only `EVENT_DTYPE` array.

        Records are framed chunk by chunk in the file, so one array means one
        copy. Up to ``mmap_threshold`` bytes of records it is an array in memory;
        above, an `np.memmap` over an unnamed temporary file, so the operating
        system pages it in and out rather than the process holding it.
        `iter_chunks` streams without any such copy.
        """
        n = self._records
        out: np.ndarray
        if n == 0 or n * RECORD_SIZE <= self._mmap_threshold:
            out = np.empty(n, dtype=EVENT_DTYPE)
        else:
            backing = tempfile.TemporaryFile(prefix="z6log-events-")
            out = np.memmap(backing, dtype=EVENT_DTYPE, mode="w+", shape=(n,))
        checker = self._checker()
        with self._open() as handle:
            at = 0
            for chunk in self.chunks:
                self._read_into(handle, chunk, out[at:at + chunk.records], checker)
                at += chunk.records
        if isinstance(out, np.memmap):
            out.flush()
        out.flags.writeable = False
        return out

    def to_pandas(self) -> "pandas.DataFrame":
        """The records as a pandas DataFrame, one column per field (needs pandas)."""
        try:
            import pandas as pd
        except ImportError:
            raise ImportError("EventLog.to_pandas() needs pandas, which is not installed: pip install pandas") from None
        events = self.events
        return pd.DataFrame({name: np.array(events[name]) for name in EVENT_DTYPE.names})

    def describe(self) -> dict[str, Any]:
        """The header and footer as plain data (for JSON output)."""
        h = self.header
        return {
            "path": str(self.path),
            "status": self.status,
            "records": len(self),
            "mode": h.mode,
            "seed": h.seed,
            "tick_ns": h.tick_ns,
            "scenario": h.scenario_source,
            "scenario_sha256": h.scenario_sha256,
            "z6_version": h.z6_version,
            "vus": h.n_vus,
            "first_vu_id": h.first_vu_id,
        }


_DONE = object()


def _read_ahead(chunks: Iterator[np.ndarray], depth: int) -> Iterator[np.ndarray]:
    """``chunks``, produced on a thread up to ``depth`` ahead of the consumer (a bounded
    queue: memory stays ``depth`` chunks). A consumer that stops early stops the thread."""
    pending: queue.Queue[Any] = queue.Queue(maxsize=depth)
    stop = threading.Event()

    def produce() -> None:
        try:
            for chunk in chunks:
                while not stop.is_set():
                    try:
                        pending.put(chunk, timeout=0.05)
                        break
                    except queue.Full:
                        continue
                if stop.is_set():
                    return
            item: Any = _DONE
        except BaseException as exc:  # handed to the consumer, raised where the chunk would have been
            item = exc
        finally:
            chunks.close()
        while not stop.is_set():
            try:
                pending.put(item, timeout=0.05)
                return
            except queue.Full:
                continue

    thread = threading.Thread(target=produce, name="z6-log-read-ahead", daemon=True)
    thread.start()
    try:
        while True:
            item = pending.get()
            if item is _DONE:
                return
            if isinstance(item, BaseException):
                raise item
            yield item
    finally:
        stop.set()
        thread.join()
