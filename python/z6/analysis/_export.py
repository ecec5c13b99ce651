"""`z6 export`: a log's records as Parquet, CSV, JSON lines or a numpy ``.npy``.

Every format streams chunk by chunk (memory: one chunk) into a temporary file
beside the destination, renamed into place only once complete, so a failed or
interrupted export never leaves a file that looks whole.

* ``npy``: the records exactly, an array of `z6.EVENT_DTYPE` (``np.load`` reads it).
* ``csv`` / ``jsonl`` / ``parquet``: the eight record fields, then ``kind_name``,
  ``request_name`` (empty / null when the event has no request) and ``error_name``.
  Parquet keeps the log's header JSON in the schema metadata under ``z6.header``
  and needs pyarrow (``pip install z6[parquet]``).
"""

from __future__ import annotations

import contextlib
import csv
import json
import os
import tempfile
from pathlib import Path
from typing import IO, Any, Iterator, Optional

import numpy as np

from z6._destinations import STANDARD_OUTPUT, open_in_place, shown, writes_in_place
from z6.errors import ConfigError, RunError, io_error
from z6.events import EVENT_DTYPE, ErrorCode
from z6.analysis._filter import Filter
from z6.log._format import kind_label
from z6.log import EventLog

__all__ = ["FORMATS", "export_log", "default_output"]

FORMATS = ("parquet", "csv", "jsonl", "npy")
_FIELDS = EVENT_DTYPE.names
_NAME_COLUMNS = ("kind_name", "request_name", "error_name")
_NO_REQUEST = 0xFFFF


def default_output(log: EventLog, fmt: str) -> Path:
    """``events.<format>`` beside the log."""
    return log.path.parent / f"events.{fmt}"


@contextlib.contextmanager
def _atomic(dest: Path, *, text: bool) -> Iterator[IO[Any]]:
    """A temporary file beside ``dest``, renamed to ``dest`` only when the block succeeds.

    A destination that `writes_in_place` (``/dev/stdout``, a FIFO, a device) is
    written directly: renaming over it would replace the device or link itself.
    An I/O error is exit 2 or 3 by `z6.errors.io_error` (disk full: 3).
    """
    if writes_in_place(dest):
        try:
            with (open_in_place(dest, "w", encoding="utf-8", newline="") if text else open_in_place(dest, "wb")) \
                    as handle:
                yield handle
        except OSError as exc:
            raise io_error(f"{shown(dest)}: cannot write", exc) from None
        return
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{dest.name}.", suffix=".partial", dir=dest.parent)
    except OSError as exc:
        raise io_error(f"{dest}: cannot write", exc) from None
    try:
        with (open(fd, "w", encoding="utf-8", newline="") if text else open(fd, "wb")) as handle:
            yield handle
            handle.flush()
            os.fsync(handle.fileno())
        # mkstemp makes the file private (0600): give it the mode a plain open() would.
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)
        os.replace(tmp, dest)
    except OSError as exc:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise io_error(f"{dest}: cannot write", exc) from None
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


class _Names:
    """Kind, request and error names for columns of codes (cached per code)."""

    def __init__(self, request_names: tuple[str, ...]) -> None:
        self.requests = {i: name for i, name in enumerate(request_names)}
        self.kinds: dict[int, str] = {}
        self.errors: dict[int, str] = {}

    def kind(self, code: int) -> str:
        name = self.kinds.get(code)
        if name is None:
            name = self.kinds[code] = kind_label(code)
        return name

    def error(self, code: int) -> str:
        name = self.errors.get(code)
        if name is None:
            try:
                name = ErrorCode(code).name.lower()
            except ValueError:
                name = f"error_{code}"
            self.errors[code] = name
        return name

    def request(self, code: int) -> Optional[str]:
        if code == _NO_REQUEST:
            return None
        return self.requests.get(code, f"request_{code}")

    def columns(self, chunk: np.ndarray) -> tuple[list[str], list[Optional[str]], list[str]]:
        return ([self.kind(k) for k in chunk["kind"].tolist()],
                [self.request(r) for r in chunk["request"].tolist()],
                [self.error(e) for e in chunk["error"].tolist()])


def _chunks(log: EventLog, where: Optional[Filter]) -> Iterator[np.ndarray]:
    for chunk in log.iter_chunks():
        yield chunk if where is None else chunk[where.mask(chunk)]


def _write_csv(log: EventLog, where: Optional[Filter], handle: IO[str]) -> int:
    writer = csv.writer(handle, lineterminator="\n")
    writer.writerow([*_FIELDS, *_NAME_COLUMNS])
    names = _Names(log.header.request_names)
    count = 0
    for chunk in _chunks(log, where):
        kinds, requests, errors = names.columns(chunk)
        requests_text = ["" if r is None else r for r in requests]
        writer.writerows(zip(*(chunk[f].tolist() for f in _FIELDS), kinds, requests_text, errors))
        count += chunk.size
    return count


def _write_jsonl(log: EventLog, where: Optional[Filter], handle: IO[str]) -> int:
    # One format string per row: json.dumps per record would be several times slower.
    line = "{" + ",".join(f'"{f}":%d' for f in _FIELDS) + ',"kind_name":%s,"request_name":%s,"error_name":%s}\n'
    names = _Names(log.header.request_names)
    count = 0
    for chunk in _chunks(log, where):
        kinds, requests, errors = names.columns(chunk)
        columns = [chunk[f].tolist() for f in _FIELDS]
        handle.writelines(line % (*row, json.dumps(k), json.dumps(r), json.dumps(e))
                          for *row, k, r, e in zip(*columns, kinds, requests, errors))
        count += chunk.size
    return count


def _write_npy(log: EventLog, where: Optional[Filter], handle: IO[bytes]) -> int:
    # The header states the length up front: count first when a filter decides it.
    count = len(log) if where is None else sum(int(c.size) for c in _chunks(log, where))
    np.lib.format.write_array_header_1_0(handle, {
        "descr": np.lib.format.dtype_to_descr(EVENT_DTYPE), "fortran_order": False, "shape": (count,)})
    written = 0
    for chunk in _chunks(log, where):
        handle.write(np.ascontiguousarray(chunk).view(np.uint8))
        written += chunk.size
    if written != count:
        raise RunError(f"{log.path}: the log changed during the export ({written} records, expected {count})")
    return written


def _require_pyarrow() -> Any:
    try:
        import pyarrow
        import pyarrow.parquet  # noqa: F401 - the submodule must load too
    except ImportError:
        raise ConfigError("export to parquet needs pyarrow, which is not installed: pip install z6[parquet]") from None
    return pyarrow


def _write_parquet(log: EventLog, where: Optional[Filter], handle: IO[bytes]) -> int:
    pa = _require_pyarrow()
    import pyarrow.parquet as pq

    schema = pa.schema(
        [(f, pa.from_numpy_dtype(EVENT_DTYPE.fields[f][0])) for f in _FIELDS]
        + [(name, pa.string()) for name in _NAME_COLUMNS],
        metadata={b"z6.header": json.dumps(log.header.to_json_dict()).encode("utf-8")},
    )
    names = _Names(log.header.request_names)
    count = 0
    with pq.ParquetWriter(handle, schema) as writer:
        for chunk in _chunks(log, where):
            if chunk.size == 0:
                continue
            kinds, requests, errors = names.columns(chunk)
            arrays = [pa.array(np.ascontiguousarray(chunk[f])) for f in _FIELDS]
            arrays += [pa.array(kinds, pa.string()), pa.array(requests, pa.string()), pa.array(errors, pa.string())]
            writer.write_table(pa.Table.from_arrays(arrays, schema=schema))
            count += chunk.size
    return count


_WRITERS = {"csv": (_write_csv, True), "jsonl": (_write_jsonl, True), "npy": (_write_npy, False),
            "parquet": (_write_parquet, False)}


def _file_destination(log: EventLog, fmt: str, dest: Path) -> Path:
    """The file ``dest`` names (``events.<fmt>`` in a directory), once known writable in principle."""
    if dest.is_dir():
        dest = dest / f"events.{fmt}"
    if dest.exists() and dest.resolve() == log.path.resolve():
        raise ConfigError(f"{dest}: refusing to overwrite the event log being exported")
    if not dest.parent.is_dir():
        what = "is not a directory" if dest.parent.exists() else "does not exist"
        raise ConfigError(f"{dest}: cannot write: {dest.parent} {what}")
    return dest


def export_log(log: EventLog, fmt: str, output: Optional[str | os.PathLike[str]] = None, *,
               where: Optional[Filter] = None) -> tuple[Path, int]:
    """Write ``log``'s records (those ``where`` keeps) as ``fmt``; return the path and the record count.

    ``output`` defaults to ``events.<fmt>`` beside the log; an existing directory
    gets ``events.<fmt>`` inside it; ``"-"`` is standard output.
    """
    if fmt not in _WRITERS:
        raise ConfigError(f"export format must be one of {', '.join(FORMATS)}, got {fmt!r}")
    if fmt == "parquet":
        _require_pyarrow()  # before any file exists
    dest = default_output(log, fmt) if output is None else Path(output)
    if os.fspath(dest) != STANDARD_OUTPUT:
        dest = _file_destination(log, fmt, dest)
    write, text = _WRITERS[fmt]
    with _atomic(dest, text=text) as handle:
        count = write(log, where, handle)
    return dest, count
