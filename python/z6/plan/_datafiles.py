"""``[[data]]`` files read once into a read-only arena the core renders from.

A file becomes a `DataTable`: every cell's UTF-8 bytes back to back in one
``bytes`` (the arena) and ``n_rows * n_cols + 1`` uint32 offsets into it, row
by row, so a cell is two offsets and the core needs no per-row object. A
million-row file costs its cell bytes plus 4 bytes per cell (docs/performance.md).

CSV: a header row names the columns (unique, non-empty); every row has as many
fields. JSON Lines: one JSON object per non-blank line, the first line's keys are
the columns and every line has exactly those keys; strings are taken as they
are, other values as their JSON text. Every problem names the file, the line
(and the column where there is one) and what is wrong. A value holding CR, LF
or NUL is kept (a body may want it) but warned about: a header that uses it
fails that request instead of sending it (docs/templates.md).
"""

from __future__ import annotations

import csv
import io
import json
import sys
from array import array
from dataclasses import dataclass

import numpy as np

from z6.errors import ConfigError
from z6.scenario import DataSource

__all__ = ["DataTable", "load_data", "MAX_DATA_BYTES"]

# The arena's offsets are uint32: a data file's cells total below 4 GiB.
MAX_DATA_BYTES = 2**32 - 1


@dataclass(frozen=True, eq=False)
class DataTable:
    """One loaded data file (read-only): ``columns``, ``n_rows``, the arena and offsets."""

    name: str
    path: str
    pick: str
    columns: tuple[str, ...]
    n_rows: int
    cells: np.ndarray  # uint32, n_rows * n_cols + 1 offsets into arena
    arena: bytes
    warnings: tuple[str, ...] = ()

    @property
    def n_cols(self) -> int:
        return len(self.columns)

    def cell(self, row: int, column: int) -> bytes:
        """The bytes of one cell (for tests and tools; the core reads the arena)."""
        k = row * self.n_cols + column
        return self.arena[int(self.cells[k]):int(self.cells[k + 1])]


def _utf8(raw: bytes, where: str) -> str:
    # The file's text, or the line and column of its first byte that is not UTF-8.
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw.count(b"\n", 0, exc.start) + 1
        column = exc.start - (raw.rfind(b"\n", 0, exc.start) + 1) + 1
        raise ConfigError(f"{where}:{line}:{column}: not UTF-8 (byte 0x{raw[exc.start]:02x})") from None


class _Arena:
    # Cells appended row by row: bytes into one bytearray, end offsets into an array.
    def __init__(self) -> None:
        self.data = bytearray()
        self.ends = array("I", [0])

    def add(self, value: str) -> None:
        self.data += value.encode("utf-8")
        if len(self.data) > MAX_DATA_BYTES:
            raise OverflowError
        self.ends.append(len(self.data))


def _warn_unsafe(warnings: list[str], where: str, line: int, row: int, column: str) -> None:
    # The first few only: a file full of them says so in ten lines.
    if len(warnings) < 10:
        warnings.append(f"{where}:{line}: row {row}, column {column!r} holds CR, LF or NUL: a header using it "
                        "fails that request (header_value), a path percent-encodes it")


def _load_csv(raw: bytes, source: DataSource, where: str, arena: _Arena, warnings: list[str]) -> tuple[tuple[str, ...], int]:
    # Streamed from the bytes (already checked to be UTF-8): no whole-file str, whose
    # copy in a StringIO would take four bytes a character.
    reader = csv.reader(io.TextIOWrapper(io.BytesIO(raw), encoding="utf-8", newline=""),
                        delimiter=source.delimiter, strict=True)
    try:
        header = next(reader, None)
        if header is None:
            raise ConfigError(f"{where}: the file is empty (a CSV data file needs a header row)")
        columns = tuple(header)
        seen: set[str] = set()   # a set: a header of 100,000 columns is read in linear time
        for i, name in enumerate(columns):
            if not name:
                raise ConfigError(f"{where}:1: column {i + 1} of the header row is empty (every column needs a name)")
            if name in seen:
                raise ConfigError(f"{where}:1: column {name!r} appears twice in the header row")
            seen.add(name)
        n = len(columns)
        rows = 0
        for row in reader:
            if not row:
                continue  # a blank line
            if len(row) != n:
                raise ConfigError(f"{where}:{reader.line_num}: ragged row: {len(row)} fields, the header has {n}")
            for c, value in enumerate(row):
                arena.add(value)
                if "\r" in value or "\n" in value or "\0" in value:
                    _warn_unsafe(warnings, where, reader.line_num, rows + 1, columns[c])
            rows += 1
    except csv.Error as exc:
        raise ConfigError(f"{where}:{reader.line_num}: not valid CSV: {exc}") from None
    return columns, rows


def _not_json_constant(name: str) -> None:
    raise ValueError(f"{name} is not JSON (RFC 8259 has no NaN or Infinity)")


def _json_line(line: str, where: str) -> object:
    # One line of a JSON Lines file; ConfigError naming the line for what json
    # refuses, what it would accept beyond the standard, and what Python cannot
    # hold (a nesting deeper than its recursion, an integer of over 4,300 digits).
    try:
        return json.loads(line, parse_constant=_not_json_constant)
    except json.JSONDecodeError as exc:
        raise ConfigError(f"{where}:{exc.colno}: not JSON: {exc.msg}") from None
    except RecursionError:
        raise ConfigError(f"{where}: the object is nested too deeply to read (arrays and objects inside "
                          "each other, some thousand levels)") from None
    except ValueError as exc:
        if "digits" in str(exc):
            raise ConfigError(f"{where}: a number has more digits than z6 reads "
                              f"({sys.get_int_max_str_digits()})") from None
        raise ConfigError(f"{where}: not JSON: {exc}") from None


def _load_jsonl(text: str, where: str, arena: _Arena, warnings: list[str]) -> tuple[tuple[str, ...], int]:
    columns: tuple[str, ...] | None = None
    rows = 0
    for number, line in enumerate(text.split("\n"), start=1):
        if not line.strip():
            continue
        obj = _json_line(line, f"{where}:{number}")
        if not isinstance(obj, dict):
            raise ConfigError(f"{where}:{number}:1: each line must be a JSON object, got {type(obj).__name__}")
        if columns is None:
            columns = tuple(obj)
            if not columns:
                raise ConfigError(f"{where}:{number}:1: the first object has no keys (they name the columns)")
        elif tuple(obj) != columns and set(obj) != set(columns):
            missing = [k for k in columns if k not in obj]
            extra = [k for k in obj if k not in columns]
            what = f"lacks {missing}" if missing else f"has keys the first line lacks: {extra}"
            raise ConfigError(f"{where}:{number}:1: the object {what}")
        for key in columns:
            value = obj[key]
            text_value = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False,
                                                                         separators=(",", ":"))
            arena.add(text_value)
            if "\r" in text_value or "\n" in text_value or "\0" in text_value:
                _warn_unsafe(warnings, where, number, rows + 1, key)
        rows += 1
    if columns is None:
        raise ConfigError(f"{where}: the file is empty (a JSON Lines data file needs at least one object)")
    return columns, rows


def load_data(source: DataSource, where: str) -> DataTable:
    """Read ``source`` into a `DataTable`; ConfigError (exit 2) naming file, line and
    column for an empty, ragged, non-UTF-8 or unparseable file. ``where`` prefixes
    messages that are not about a place in the file (the scenario key)."""
    path = source.path
    try:
        with open(path, "rb") as f:
            raw = f.read()
    except OSError as exc:
        raise ConfigError(f"{where}: cannot read {path}: {exc.strerror}") from None
    if raw.startswith(b"\xef\xbb\xbf"):
        raw = raw[3:]  # a UTF-8 byte order mark, as spreadsheets write it
    arena = _Arena()
    warnings: list[str] = []
    try:
        if source.format == "csv":
            _utf8(raw, path)
            columns, rows = _load_csv(raw, source, path, arena, warnings)
        else:
            columns, rows = _load_jsonl(_utf8(raw, path), path, arena, warnings)
    except OverflowError:
        raise ConfigError(f"{path}: the cells total more than {MAX_DATA_BYTES} bytes (the limit of one data file)") from None
    if rows == 0:
        raise ConfigError(f"{path}: no rows after the header (a data file needs at least one row)")
    return DataTable(name=source.name, path=path, pick=source.pick, columns=columns, n_rows=rows,
                     cells=np.frombuffer(arena.ends, dtype=np.uint32).copy(), arena=bytes(arena.data),
                     warnings=tuple(warnings))
