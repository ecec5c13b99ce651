"""Helpers shared by the event-log tests (tests/test_log_*.py): small runs written to logs.

No tests here; the test modules import these functions.
"""

from __future__ import annotations

import dataclasses
import json
import pathlib
import struct
import warnings
import zlib
from typing import Callable, Optional, Sequence

import numpy as np

import z6
from z6.events import EventKind, concat_chunks
from z6.log import FORMAT_VERSION, EventLogWriter, LogHeader, LogWarning, make_header, read_log
from z6.runner import iter_chunks, run_plan

from conftest import scenario

# Two VUs for a tenth of a second: 28 events with failures (error_rate) and 503s,
# a few KB of log with small chunks.
TINY_RUNTIME = "duration_seconds = 0.1\nvus = 2"
MIXED_SIMULATION = """
[think_time]
type = "constant"
duration_ms = 10

[simulation]
latency = { type = "uniform", min_ms = 5, max_ms = 15 }
error_rate = 0.1
status_codes = { 200 = 8, 503 = 2 }
"""
TWO_REQUESTS = """
[[requests]]
name = "login"
method = "POST"
path = "/login"
weight = 1

[[requests]]
name = "browse"
method = "GET"
path = "/items"
weight = 3
"""
ASSERTIONS = """
[assertions]
p99_latency_ms = 1000
error_rate_max = 0.0001
"""


def mixed_scenario(runtime: str = TINY_RUNTIME, extra: str = "") -> z6.Scenario:
    """Two requests, uniform latency, 10% simulated errors, some 503s."""
    return scenario(runtime=runtime, requests=TWO_REQUESTS, extra=MIXED_SIMULATION + extra)


def write_log(directory: pathlib.Path, scn: z6.Scenario, *, chunk_records: int = 8, seed: Optional[int] = None,
              vus: Optional[int] = None, duration_s: Optional[float] = None, status: str = "completed",
              trailing: Sequence[np.ndarray] = (), version: int = FORMAT_VERSION) -> pathlib.Path:
    """Run ``scn`` simulated into ``directory/events.z6log`` (format ``version``); ``trailing``
    chunks are appended after the run."""
    plan = z6.compile_plan(scn, seed=seed, vus=vus, duration_s=duration_s)
    writer = EventLogWriter(directory, make_header(scn, plan, vus_override=vus, duration_override_s=duration_s,
                                                   format_version=version))
    run_plan(plan, [writer], chunk_records=chunk_records)
    for chunk in trailing:
        writer(chunk)
    return writer.finish(status)


def run_events(scn: z6.Scenario, **overrides) -> np.ndarray:
    """The events a simulated run of ``scn`` emits, as one array."""
    return concat_chunks(iter_chunks(z6.compile_plan(scn, **overrides)))


def rewrite_log(source: pathlib.Path, directory: pathlib.Path, *, events: Optional[np.ndarray] = None,
                chunk_records: int = 8, status: Optional[str] = None, **header_changes) -> pathlib.Path:
    """A consistent log (valid CRCs, footer and digest) with other events or header fields
    (``format_version=1`` among them rewrites it in another format)."""
    log = read_log(source)
    header: LogHeader = dataclasses.replace(log.header, **header_changes)
    records = log.events if events is None else events
    writer = EventLogWriter(directory, header)
    for start in range(0, records.size, chunk_records):
        writer(np.ascontiguousarray(records[start:start + chunk_records]))
    return writer.finish(status or log.status)


def with_footer_doc(data: bytes, change: Callable[[dict], None]) -> tuple[bytes, int]:
    """The log bytes ``data`` with its footer JSON changed by ``change`` (in place) and
    the footer's CRC made good again; and the footer's byte offset."""
    at = data.rindex(b"FOOT")
    (m,) = struct.unpack_from("<I", data, at + 4)
    doc = json.loads(data[at + 8:at + 8 + m])
    change(doc)
    body = json.dumps(doc).encode()
    footer = b"FOOT" + struct.pack("<I", len(body)) + body
    return bytes(data[:at]) + footer + struct.pack("<I", zlib.crc32(footer)), at


def assertion_events(kinds: Sequence[int], tick: int) -> np.ndarray:
    """Assertion records as a run appends them (only the kind matters to the verifier)."""
    out = np.zeros(len(kinds), dtype=z6.EVENT_DTYPE)
    out["tick"] = tick
    out["kind"] = kinds
    out["request"] = 0xFFFF
    return out


def passed_failed(results) -> list[int]:
    return [int(EventKind.ASSERTION_PASSED if r.passed else EventKind.ASSERTION_FAILED) for r in results]


def read_quietly(path: pathlib.Path, **kwargs):
    """read_log, returning (log, [LogWarning messages])."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        log = read_log(path, **kwargs)
    return log, [str(w.message) for w in caught if issubclass(w.category, LogWarning)]
