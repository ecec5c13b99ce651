"""The event log's byte layout (format versions 1 and 2), shared by the writer and the reader.

All integers are little-endian; every CRC-32 is zlib's (the PNG/Ethernet polynomial,
``zlib.crc32``). docs/event-log.md describes the same layout for other tools.

    header   0     8  magic b"\\x89Z6LOG\\r\\n"
             8     2  u16 format version (1)
             10    2  u16 record size (32)
             12    4  u32 N, bytes of header JSON
             16    N  header JSON, UTF-8, padded with spaces so 20 + N is a multiple of 8
             16+N  4  u32 CRC-32 of bytes [0, 16 + N)
    chunk    0     4  b"CHNK"
             4     4  u32 L, bytes of records (a positive multiple of 32)
             8     4  u32 chunk number (0, 1, 2, ... in file order)
             12    4  u32 CRC-32 of the frame's bytes [0, 12) followed by the L record bytes
             16    L  the records (EVENT_DTYPE)
    footer   0     4  b"FOOT"
             4     4  u32 M, bytes of footer JSON
             8     M  footer JSON, UTF-8
             8+M   4  u32 CRC-32 of the footer's bytes [0, 8 + M); the file ends here

Format version 2 has the same header (version 2) and footer; its chunks are stored
column by column and compressed with zstd:

    chunk    0     4  b"CHNK"
             4     4  u32 L, bytes stored (the zstd frame)
             8     4  u32 chunk number (0, 1, 2, ... in file order)
             12    4  u32 n, records in the chunk (at least 1)
             16    4  u32 CRC-32 of the frame's bytes [0, 16) followed by the L stored bytes
             20    L  one zstd frame; decompressed, exactly 32 * n bytes: the eight fields as
                      columns in record order, tick as deltas (tick[i] - tick[i-1] mod 2**64,
                      tick[-1] = 0), every column byte-shuffled (see `encode_columns`)

The chunk number is inside each chunk's CRC, so a chunk that is lost, repeated or
moved fails the check where it happens, not only in the footer's totals. The CRC
covers the stored bytes, so damage is located without decompressing anything.
"""

from __future__ import annotations

import json
import math
import re
import struct
import zlib
import sys
from dataclasses import dataclass, field
from typing import Any, Mapping, Optional

import numpy as np
from z6core._columns import add_encoded_kind_counts, add_kind_counts, decode_columns, encode_columns, records_sound

from z6.events import EVENT_DTYPE, NO_REQUEST, EventKind

__all__ = [
    "MAGIC",
    "FORMAT_VERSION",
    "FORMAT_VERSIONS",
    "RECORD_SIZE",
    "LOG_NAME",
    "PARTIAL_NAME",
    "MODES",
    "STATUSES",
    "PREFIX",
    "FRAME",
    "FRAME_V2",
    "MAX_CHUNK_RECORDS_V2",
    "WRITE_CHUNK_RECORDS_V2",
    "ZSTD_LEVEL",
    "frame_crc_v2",
    "encode_columns",
    "decode_columns",
    "add_kind_counts",
    "add_encoded_kind_counts",
    "FOOTER_PREFIX",
    "CHUNK_MARKER",
    "FOOTER_MARKER",
    "MAX_CHUNK_BYTES",
    "LogHeader",
    "LogFooter",
    "dtype_description",
    "encode_header",
    "header_from_json",
    "encode_frame_header",
    "frame_crc",
    "encode_footer",
    "footer_from_json",
    "kind_label",
    "MAX_JSON_DEPTH",
    "json_depth_problem",
    "load_json",
    "RecordChecker",
]

MAGIC = b"\x89Z6LOG\r\n"  # a high-bit byte and CRLF: text-mode transfers and 7-bit channels show up at once
FORMAT_VERSION = 2            # what the writer writes by default
FORMAT_VERSIONS = (1, 2)      # what the reader reads and the writer can write
RECORD_SIZE = 32
LOG_NAME = "events.z6log"
PARTIAL_NAME = LOG_NAME + ".partial"
MODES = ("simulate", "live")
STATUSES = ("completed", "interrupted", "stopped", "failed")

PREFIX = struct.Struct("<8sHHI")          # magic, format version, record size, N
FRAME = struct.Struct("<4sIII")           # b"CHNK", L, chunk number, CRC-32
FRAME_HEAD = struct.Struct("<4sII")       # the part of FRAME its CRC covers
FRAME_V2 = struct.Struct("<4sIIII")       # b"CHNK", L, chunk number, n records, CRC-32 (format 2)
FRAME_V2_HEAD = struct.Struct("<4sIII")   # the part of FRAME_V2 its CRC covers
FOOTER_PREFIX = struct.Struct("<4sI")     # b"FOOT", M
CRC = struct.Struct("<I")
CHUNK_MARKER = b"CHNK"
FOOTER_MARKER = b"FOOT"
# L is a u32: the largest multiple of the record size that fits.
MAX_CHUNK_BYTES = (2**32 - 1) // RECORD_SIZE * RECORD_SIZE
# Format 2: the records a chunk may declare (its decoded bytes fit a u32, as in format 1),
# and the most the writer puts in one (32 MiB decoded: the writer's queue stays small).
MAX_CHUNK_RECORDS_V2 = MAX_CHUNK_BYTES // RECORD_SIZE
WRITE_CHUNK_RECORDS_V2 = 1 << 20
# zstd level 1: on z6's events byte-shuffled columns compress as well at level 1 as
# at 3, nearly twice as fast (docs/event-log.md, "Why zstd, and why these columns").
ZSTD_LEVEL = 1

# Arrays and objects nested deeper than this in the header or footer JSON are refused
# before json.loads (which recurses once per level). z6 writes depth 3 at most.
MAX_JSON_DEPTH = 64
_JSON_TOKENS = re.compile(rb'"(?:[^"\\]|\\.)*"|[^"\[\]{}]+|(?P<open>[\[{])|(?P<close>[\]}])|"')

_SHA256_HEX = re.compile(r"[0-9a-f]{64}")
_U64_MAX = 2**64 - 1
# Request indices are u16 in a record and 0xFFFF means "no request" (z6.scenario.MAX_REQUESTS).
_MAX_REQUEST_NAMES = NO_REQUEST - 1


def dtype_description(dtype: np.dtype = EVENT_DTYPE) -> list[list[str]]:
    """The record layout as stored in the header: ``[[name, typestr], ...]`` in order."""
    return [[name, dtype.fields[name][0].str] for name in dtype.names]


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


@dataclass(frozen=True)
class LogHeader:
    """What a log says about its run; enough to re-run a simulated one exactly.

    ``first_vu_id``, ``n_vus`` and ``vu_id_step`` name the VUs this log covers:
    the 1-based ids ``first_vu_id + k * vu_id_step`` for k below ``n_vus``. The
    whole plan has step 1; a shard of it holds every N-th VU (step N). Logs
    written before the step was recorded have none, and read as step 1.
    ``arrival_shards`` is how many shards an arrival-rate run was split into: its
    events depend on the split (shard k serves arrivals k mod N), so a re-run
    splits the same way; 1 for every other run, and for logs written before it
    was recorded.
    ``vus_override`` and ``duration_override_s`` are the command-line overrides the
    plan was compiled with (None when the scenario's own values were used).
    """

    format_version: int
    z6_version: str
    seed: int
    mode: str
    tick_ns: int
    scenario_source: str
    scenario_text: str
    scenario_sha256: str
    request_names: tuple[str, ...]
    vus_override: Optional[int]
    duration_override_s: Optional[float]
    first_vu_id: int
    n_vus: int
    created_utc: str
    vu_id_step: int = 1
    arrival_shards: int = 1

    def __post_init__(self) -> None:
        # Validated once here, so the writer never writes and the reader never
        # returns a header that a re-run could not use.
        if not isinstance(self.request_names, tuple):
            object.__setattr__(self, "request_names", tuple(self.request_names))
        if _is_int(self.duration_override_s):
            object.__setattr__(self, "duration_override_s", float(self.duration_override_s))
        problems = []
        if not _is_int(self.format_version) or self.format_version < 1:
            problems.append(f"format_version must be a positive integer, got {self.format_version!r}")
        for name in ("z6_version", "scenario_source", "scenario_text", "created_utc"):
            if not isinstance(getattr(self, name), str):
                problems.append(f"{name} must be a string, got {getattr(self, name)!r}")
        if not _is_int(self.seed) or not 0 <= self.seed <= _U64_MAX:
            problems.append(f"seed must be an integer between 0 and 2**64-1, got {self.seed!r}")
        if self.mode not in MODES:
            problems.append(f"mode must be one of {', '.join(MODES)}, got {self.mode!r}")
        if not _is_int(self.tick_ns) or not 1 <= self.tick_ns <= _U64_MAX:
            problems.append(f"tick_ns must be a positive integer, got {self.tick_ns!r}")
        if not isinstance(self.scenario_sha256, str) or not _SHA256_HEX.fullmatch(self.scenario_sha256):
            problems.append(f"scenario_sha256 must be 64 lowercase hex digits, got {self.scenario_sha256!r}")
        if not all(isinstance(n, str) for n in self.request_names):
            problems.append(f"request_names must be strings, got {list(self.request_names)!r}")
        elif not 1 <= len(self.request_names) <= _MAX_REQUEST_NAMES:
            problems.append(f"request_names must name 1 to {_MAX_REQUEST_NAMES} requests, "
                            f"got {len(self.request_names)}")
        if self.vus_override is not None and (not _is_int(self.vus_override) or self.vus_override < 1):
            problems.append(f"vus_override must be a positive integer or null, got {self.vus_override!r}")
        d = self.duration_override_s
        if d is not None and (not isinstance(d, float) or not math.isfinite(d) or d <= 0):
            problems.append(f"duration_override_s must be a positive number or null, got {d!r}")
        if not _is_int(self.first_vu_id) or not 1 <= self.first_vu_id < 2**32:
            problems.append(f"first_vu_id must be an integer between 1 and 2**32-1, got {self.first_vu_id!r}")
        if not _is_int(self.n_vus) or not 1 <= self.n_vus < 2**32:
            problems.append(f"n_vus must be an integer between 1 and 2**32-1, got {self.n_vus!r}")
        if not _is_int(self.vu_id_step) or not 1 <= self.vu_id_step < 2**32:
            problems.append(f"vu_id_step must be an integer between 1 and 2**32-1, got {self.vu_id_step!r}")
        elif (_is_int(self.first_vu_id) and _is_int(self.n_vus)
              and self.first_vu_id + (self.n_vus - 1) * self.vu_id_step >= 2**32):
            problems.append(f"the VU ids {self.first_vu_id} + k * {self.vu_id_step} for k < {self.n_vus} pass 2**32-1")
        if not _is_int(self.arrival_shards) or not 1 <= self.arrival_shards < 2**32:
            problems.append(f"arrival_shards must be an integer between 1 and 2**32-1, got {self.arrival_shards!r}")
        if problems:
            raise ValueError("invalid event log header: " + "; ".join(problems))

    def to_json_dict(self) -> dict[str, Any]:
        """The header's JSON object (``format_version`` lives in the binary prefix instead)."""
        return {
            "z6_version": self.z6_version,
            "seed": self.seed,
            "mode": self.mode,
            "tick_ns": self.tick_ns,
            "scenario_source": self.scenario_source,
            "scenario_text": self.scenario_text,
            "scenario_sha256": self.scenario_sha256,
            "request_names": list(self.request_names),
            "vus_override": self.vus_override,
            "duration_override_s": self.duration_override_s,
            "first_vu_id": self.first_vu_id,
            "n_vus": self.n_vus,
            "vu_id_step": self.vu_id_step,
            "arrival_shards": self.arrival_shards,
            "created_utc": self.created_utc,
            "record_dtype": dtype_description(),
        }


_HEADER_KEYS = ("z6_version", "seed", "mode", "tick_ns", "scenario_source", "scenario_text", "scenario_sha256",
                "request_names", "vus_override", "duration_override_s", "first_vu_id", "n_vus", "created_utc")


def encode_header(header: LogHeader) -> bytes:
    """The header's bytes: prefix, JSON padded to an 8-byte boundary, CRC-32."""
    text = json.dumps(header.to_json_dict(), ensure_ascii=True, sort_keys=True, allow_nan=False)
    body = text.encode("ascii")
    # Pad the JSON (with spaces, still valid JSON) so the first chunk frame, and
    # with it every record, starts on an 8-byte boundary of the file.
    body += b" " * (-(PREFIX.size + len(body) + CRC.size) % 8)
    head = PREFIX.pack(MAGIC, header.format_version, RECORD_SIZE, len(body)) + body
    return head + CRC.pack(zlib.crc32(head))


def header_from_json(format_version: int, doc: Any) -> LogHeader:
    """A `LogHeader` from the header JSON; ValueError naming the field when it does not fit."""
    if not isinstance(doc, dict):
        raise ValueError(f"the header JSON must be an object, got {type(doc).__name__}")
    missing = [key for key in _HEADER_KEYS if key not in doc]
    if missing:
        raise ValueError(f"the header JSON lacks {', '.join(missing)}")
    names = doc["request_names"]
    if not isinstance(names, list):
        raise ValueError(f"request_names must be a list, got {names!r}")
    values = {key: doc[key] for key in _HEADER_KEYS}
    values["request_names"] = tuple(names)
    # Optional keys: absent from logs written before they were recorded.
    values["vu_id_step"] = doc.get("vu_id_step", 1)
    values["arrival_shards"] = doc.get("arrival_shards", 1)
    return LogHeader(format_version=format_version, **values)


def encode_frame_header(length: int, number: int, crc: int) -> bytes:
    return FRAME.pack(CHUNK_MARKER, length, number, crc)


def frame_crc(length: int, number: int, records: Any) -> int:
    """CRC-32 of a chunk: its frame's first 12 bytes, then its record bytes."""
    return zlib.crc32(records, zlib.crc32(FRAME_HEAD.pack(CHUNK_MARKER, length, number)))


def frame_crc_v2(length: int, number: int, records: int, stored: Any) -> int:
    """CRC-32 of a format-2 chunk: its frame's first 16 bytes, then its stored bytes."""
    return zlib.crc32(stored, zlib.crc32(FRAME_V2_HEAD.pack(CHUNK_MARKER, length, number, records)))


# The column layout of format 2 (see `z6core._columns`, which encodes and decodes it
# in C without the GIL): column by column in record order (tick, value_ns, vu_id,
# kind, request, status, error, seq); tick stored as the difference from the
# previous record's tick (the first from 0, modulo 2**64, so a chunk decodes
# alone); each column of width w byte-shuffled: its n values' byte 0s, then their
# byte 1s, ... byte w-1s. Ticks rise slowly, and the high bytes of every field are
# mostly equal, so the shuffled columns are long runs zstd compresses to a fraction
# of a byte an event on a large run.


def kind_label(kind: int) -> str:
    """``response_received`` for a known kind, ``kind_42`` for another number."""
    try:
        return EventKind(kind).name.lower()
    except ValueError:
        return f"kind_{kind}"


@dataclass(frozen=True)
class LogFooter:
    """Written when a run ends: totals, how it ended, a digest of every record.

    ``digest`` is the SHA-256 (hex) of all record bytes in file order, the same
    value `z6.event_digest` gives for the same records. ``kind_counts`` maps kind
    labels (``request_issued``, ...) to counts, kinds that occur only.
    ``elapsed_s`` is the wall time from opening the log to finishing it.
    ``writer_stalled_s`` is how long the run waited on the log's writer (absent,
    and 0, in logs written before it was recorded).
    """

    records: int
    chunks: int
    kind_counts: Mapping[str, int] = field(default_factory=dict)
    status: str = "completed"
    digest: str = ""
    elapsed_s: float = 0.0
    finished_utc: str = ""
    writer_stalled_s: float = 0.0
    # a live run with templated requests: each VU's digest of the bytes it rendered
    # (docs/event-log.md, "Rendered requests"); None otherwise
    request_digests: Optional[Mapping[str, Any]] = None
    # a live run: bytes sent and received by request, {"sent": [...], "received": [...]}
    # (z6.result.Transfer.to_json_dict); None otherwise and in older logs
    transfer: Optional[Mapping[str, Any]] = None
    # a live run: the first Location to another origin a redirect named (not
    # followed), up to 512 characters; None otherwise and in older logs
    redirect_offsite: Optional[str] = None

    def __post_init__(self) -> None:
        problems = []
        ro = self.redirect_offsite
        if ro is not None and not (isinstance(ro, str) and 0 < len(ro) <= 512):
            problems.append(f"redirect_offsite must be a string of 1 to 512 characters, got {ro!r:.200}")
        tr = self.transfer
        if tr is not None and not (
                isinstance(tr, Mapping) and set(tr) == {"sent", "received"}
                and all(isinstance(tr[k], list) and all(_is_int(n) and n >= 0 for n in tr[k]) for k in tr)
                and len(tr["sent"]) == len(tr["received"])):
            problems.append("transfer must hold sent and received, equally long lists of non-negative integers, "
                            f"got {tr!r:.200}")
        rd = self.request_digests
        if rd is not None and not (
                isinstance(rd, Mapping) and isinstance(rd.get("authority"), str)
                and isinstance(rd.get("user_agent"), str) and isinstance(rd.get("digests"), Mapping)
                and all(isinstance(k, str) and k.isdigit() and isinstance(v, str) and _DIGEST64_HEX.fullmatch(v)
                        for k, v in rd["digests"].items())):
            problems.append("request_digests must hold authority, user_agent and digests (VU id -> 16 hex digits), "
                            f"got {rd!r:.200}")
        if not _is_int(self.records) or self.records < 0:
            problems.append(f"records must be a non-negative integer, got {self.records!r}")
        if not _is_int(self.chunks) or self.chunks < 0:
            problems.append(f"chunks must be a non-negative integer, got {self.chunks!r}")
        if not isinstance(self.kind_counts, Mapping) or not all(
                isinstance(k, str) and _is_int(v) and v > 0 for k, v in self.kind_counts.items()):
            problems.append(f"kind_counts must map kind names to positive counts, got {self.kind_counts!r}")
        if self.status not in STATUSES:
            problems.append(f"status must be one of {', '.join(STATUSES)}, got {self.status!r}")
        if not isinstance(self.digest, str) or not _SHA256_HEX.fullmatch(self.digest):
            problems.append(f"digest must be 64 lowercase hex digits, got {self.digest!r}")
        if not isinstance(self.elapsed_s, (int, float)) or isinstance(self.elapsed_s, bool) or self.elapsed_s < 0:
            problems.append(f"elapsed_s must be a non-negative number, got {self.elapsed_s!r}")
        s = self.writer_stalled_s
        if not isinstance(s, (int, float)) or isinstance(s, bool) or not s >= 0 or s == float("inf"):
            problems.append(f"writer_stalled_s must be a non-negative number, got {s!r}")
        if not isinstance(self.finished_utc, str):
            problems.append(f"finished_utc must be a string, got {self.finished_utc!r}")
        if problems:
            raise ValueError("invalid event log footer: " + "; ".join(problems))

    def count(self, kind: int) -> int:
        """Records of event kind ``kind`` (an `EventKind` or its number)."""
        return int(self.kind_counts.get(kind_label(int(kind)), 0))

    def to_json_dict(self) -> dict[str, Any]:
        return {
            "records": self.records,
            "chunks": self.chunks,
            "kind_counts": dict(self.kind_counts),
            "status": self.status,
            "digest_sha256": self.digest,
            "elapsed_s": float(self.elapsed_s),
            "finished_utc": self.finished_utc,
            "writer_stalled_s": float(self.writer_stalled_s),
            **({"request_digests": dict(self.request_digests)} if self.request_digests is not None else {}),
            **({"transfer": dict(self.transfer)} if self.transfer is not None else {}),
            **({"redirect_offsite": self.redirect_offsite} if self.redirect_offsite is not None else {}),
        }


_DIGEST64_HEX = re.compile(r"[0-9a-f]{16}")
_FOOTER_KEYS = ("records", "chunks", "kind_counts", "status", "digest_sha256", "elapsed_s", "finished_utc")


def encode_footer(footer: LogFooter) -> bytes:
    body = json.dumps(footer.to_json_dict(), ensure_ascii=True, sort_keys=True, allow_nan=False).encode("ascii")
    head = FOOTER_PREFIX.pack(FOOTER_MARKER, len(body)) + body
    return head + CRC.pack(zlib.crc32(head))


def footer_from_json(doc: Any) -> LogFooter:
    if not isinstance(doc, dict):
        raise ValueError(f"the footer JSON must be an object, got {type(doc).__name__}")
    missing = [key for key in _FOOTER_KEYS if key not in doc]
    if missing:
        raise ValueError(f"the footer JSON lacks {', '.join(missing)}")
    counts = doc["kind_counts"]
    return LogFooter(
        records=doc["records"],
        chunks=doc["chunks"],
        kind_counts=dict(counts) if isinstance(counts, dict) else counts,
        status=doc["status"],
        digest=doc["digest_sha256"],
        elapsed_s=doc["elapsed_s"],
        finished_utc=doc["finished_utc"],
        writer_stalled_s=doc.get("writer_stalled_s", 0.0),   # optional: older logs lack it
        request_digests=doc.get("request_digests"),           # optional: live runs with templates only
        transfer=doc.get("transfer"),                         # optional: live runs (and not older logs)
        redirect_offsite=doc.get("redirect_offsite"),         # optional: live runs redirected off-site
    )


def load_json(raw: bytes) -> Any:
    """The JSON document ``raw`` (UTF-8); ValueError in z6's words for what Python's
    reader says in its own (an integer beyond its 4,300 digits names a setting of
    the interpreter, of no use to someone reading a log)."""
    try:
        return json.loads(raw.decode("utf-8"))
    except ValueError as exc:
        if not isinstance(exc, json.JSONDecodeError) and "digits" in str(exc):
            raise ValueError(f"a number of more than {sys.get_int_max_str_digits()} digits") from None
        raise


def json_depth_problem(text: bytes, limit: int = MAX_JSON_DEPTH) -> Optional[str]:
    """Why JSON ``text`` nests too deeply for ``json.loads``, or None (brackets in strings do not count)."""
    if text.count(b"[") + text.count(b"{") <= limit:
        return None
    depth = 0
    for match in _JSON_TOKENS.finditer(text):
        if match.lastgroup == "open":
            depth += 1
            if depth > limit:
                return (f"arrays and objects must nest at most {limit} levels deep, got level {limit + 1} "
                        f"at JSON byte {match.start()}")
        elif match.lastgroup == "close":
            depth -= 1
    return None


_KNOWN_KINDS = len(EventKind)


# The fields `RecordChecker.check` reads: a reader checking a compressed chunk decodes only these.
CHECKED_FIELDS = frozenset({"tick", "kind", "request", "vu_id"})


class RecordChecker:
    """The meaning of records, checked block by block as a log is read (bounded memory).

    A CRC says the bytes are those written; this says they are records a run could
    have written: ticks never go back (within a chunk and across chunks), every kind
    is known, every request index names one of the header's requests (or is 0xFFFF,
    "no request"), every VU id is 0 (not a VU's event) or one of the header's VUs
    ``first_vu_id + k * vu_id_step``. ``check`` returns ``(index, reason)`` for the
    first bad record of a block, or None.
    """

    def __init__(self, header: LogHeader) -> None:
        self.names = len(header.request_names)
        self.first = header.first_vu_id
        self.step = header.vu_id_step
        self.n_vus = header.n_vus
        self.last_tick: Optional[int] = None  # the previous record's, across blocks and chunks

    def check(self, records: np.ndarray) -> Optional[tuple[int, str]]:
        if records.size == 0:
            return None
        # The usual answer, "sound", from one pass in C; the reason, when there is
        # one, from the passes below (each finds the first record of its kind).
        if records.flags.c_contiguous and records_sound(records, self.last_tick, self.names, self.first, self.step,
                                                        self.n_vus, _KNOWN_KINDS):
            self.last_tick = int(records["tick"][-1])
            return None
        return self.reason(records)

    def reason(self, records: np.ndarray) -> Optional[tuple[int, str]]:
        """`check` without its C pass: ``(index, reason)`` of the first bad record, found
        by one numpy pass per rule in the order the rules are stated, or None."""
        if records.size == 0:
            return None
        ticks = records["tick"]
        if self.last_tick is not None and int(ticks[0]) < self.last_tick:
            return 0, (f"tick {int(ticks[0])} is before the previous record's tick {self.last_tick}: "
                       "records are out of order (chunks moved or swapped?)")
        back = np.flatnonzero(ticks[1:] < ticks[:-1])
        if back.size:
            i = int(back[0]) + 1
            return i, (f"tick {int(ticks[i])} is before the previous record's tick {int(ticks[i - 1])}: "
                       "records are out of order")
        kinds = records["kind"]
        bad = np.flatnonzero(kinds >= _KNOWN_KINDS)
        if bad.size:
            i = int(bad[0])
            return i, f"unknown event kind {int(kinds[i])} (known: 0 to {_KNOWN_KINDS - 1})"
        requests = records["request"]
        bad = np.flatnonzero((requests >= self.names) & (requests != NO_REQUEST))
        if bad.size:
            i = int(bad[0])
            return i, (f"request index {int(requests[i])} is out of range: the header names {self.names} "
                       f"request{'s' if self.names != 1 else ''} (0 to {self.names - 1}, or {NO_REQUEST} for none)")
        vus = records["vu_id"].astype(np.int64)
        k = vus - self.first
        bad = np.flatnonzero((vus != 0) & ((k < 0) | (k % self.step != 0) | (k // self.step >= self.n_vus)))
        if bad.size:
            i = int(bad[0])
            last = self.first + (self.n_vus - 1) * self.step
            covers = (f"{self.first} to {last}" if self.step == 1
                      else f"{self.first} + k * {self.step} for k below {self.n_vus}")
            return i, f"VU id {int(vus[i])} is not one of the header's VUs ({covers}, or 0 for none)"
        self.last_tick = int(ticks[-1])
        return None
