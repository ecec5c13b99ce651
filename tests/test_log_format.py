"""The event log on disk: round trip, the documented byte layout, the writer's contract."""

from __future__ import annotations

import collections
import dataclasses
import json
import pathlib
import struct
import sys
import zlib
from typing import Optional

import numpy as np
import pytest
import zstandard

import z6
from z6.errors import ConfigError
from z6.events import EVENT_DTYPE, EventKind, event_digest
from z6.log import (
    FORMAT_VERSION,
    EventLogWriter,
    LogError,
    LogHeader,
    LogWarning,
    make_header,
    read_log,
)
from z6.runner import iter_chunks, run_plan

from test_log_helpers import mixed_scenario, read_quietly, run_events, with_footer_doc, write_log


def test_round_trip_events_header_and_footer(tmp_path):
    scn = mixed_scenario()
    path = write_log(tmp_path / "run", scn, chunk_records=8)
    assert path == tmp_path / "run" / "events.z6log"
    assert not (tmp_path / "run" / "events.z6log.partial").exists()
    expected = run_events(scn)
    log = read_log(path)
    assert log.complete and log.status == "completed" and len(log) == expected.size
    assert log.events.dtype == EVENT_DTYPE and np.array_equal(log.events, expected)
    assert [c.size for c in log.iter_chunks()] == [8] * (expected.size // 8) + ([expected.size % 8] if expected.size % 8 else [])
    assert np.array_equal(np.concatenate(list(log.iter_chunks())), expected)

    footer = log.footer
    assert footer.records == expected.size and footer.chunks == len(log.chunks)
    assert footer.digest == event_digest([expected]) == event_digest(iter_chunks(z6.compile_plan(scn)))
    counts = collections.Counter(EventKind(k).name.lower() for k in expected["kind"].tolist())
    assert dict(footer.kind_counts) == dict(counts)
    assert footer.count(EventKind.REQUEST_ISSUED) == int((expected["kind"] == EventKind.REQUEST_ISSUED).sum())

    h = log.header
    assert h.format_version == FORMAT_VERSION and h.mode == "simulate" and h.seed == scn.runtime.prng_seed
    assert h.scenario_text == scn.text and h.scenario_sha256 == scn.sha256
    # The source as an absolute path, so the log finds the scenario's directory from anywhere.
    assert h.scenario_source == str(pathlib.Path("test.toml").absolute())
    assert h.request_names == ("login", "browse") and h.first_vu_id == 1 and h.n_vus == 2
    assert h.tick_ns == 1_000_000 and h.vus_override is None and h.duration_override_s is None
    assert h.z6_version == z6.__version__


def test_a_source_that_is_no_file_is_recorded_as_it_is(tmp_path):
    scn = z6.parse_scenario(mixed_scenario().text)
    assert scn.source == "<string>"
    assert read_log(write_log(tmp_path, scn)).header.scenario_source == "<string>"


def test_overrides_are_recorded(tmp_path):
    path = write_log(tmp_path, mixed_scenario(), vus=3, duration_s=0.05, seed=9)
    h = read_log(path).header
    assert (h.vus_override, h.duration_override_s, h.seed, h.n_vus) == (3, 0.05, 9, 3)


def _parse_as_documented(data: bytes):
    """Read a log with nothing but docs/event-log.md: struct, json, zlib (and zstd for format 2)."""
    magic, version, record_size, n = struct.unpack_from("<8sHHI", data, 0)
    assert magic == b"\x89Z6LOG\r\n" and version in (1, 2) and record_size == 32
    (crc,) = struct.unpack_from("<I", data, 16 + n)
    assert crc == zlib.crc32(data[:16 + n])
    header = json.loads(data[16:16 + n])
    offset = 20 + n
    assert offset % 8 == 0
    dtype = np.dtype([tuple(field) for field in header["record_dtype"]])
    chunks = []
    while data[offset:offset + 4] == b"CHNK":
        if version == 1:
            length, number, crc = struct.unpack_from("<III", data, offset + 4)
            payload = data[offset + 16:offset + 16 + length]
            assert crc == zlib.crc32(payload, zlib.crc32(data[offset:offset + 12]))
            chunks.append(np.frombuffer(payload, dtype=dtype))
            offset += 16 + length
        else:
            length, number, count, crc = struct.unpack_from("<IIII", data, offset + 4)
            stored = data[offset + 20:offset + 20 + length]
            assert crc == zlib.crc32(stored, zlib.crc32(data[offset:offset + 16]))
            columns = zstandard.ZstdDecompressor().decompress(stored)
            assert len(columns) == 32 * count
            records = np.empty(count, dtype=dtype)
            at = 0
            for name in dtype.names:  # the columns in record order, each byte-shuffled
                width = dtype.fields[name][0].itemsize
                plane = np.frombuffer(columns, np.uint8, count * width, at).reshape(width, count).T
                values = np.ascontiguousarray(plane).view(dtype.fields[name][0]).ravel()
                records[name] = np.cumsum(values, dtype=np.uint64) if name == "tick" else values
                at += count * width
            chunks.append(records)
            offset += 20 + length
        assert number == len(chunks) - 1
    assert data[offset:offset + 4] == b"FOOT"
    (m,) = struct.unpack_from("<I", data, offset + 4)
    footer = json.loads(data[offset + 8:offset + 8 + m])
    (crc,) = struct.unpack_from("<I", data, offset + 8 + m)
    assert crc == zlib.crc32(data[offset:offset + 8 + m]) and offset + 12 + m == len(data)
    return version, header, np.concatenate(chunks), footer


@pytest.mark.parametrize("version", [1, 2])
def test_the_documented_layout_reads_without_z6(tmp_path, version):
    scn = mixed_scenario()
    path = write_log(tmp_path, scn, chunk_records=5, version=version)
    read_version, header, records, footer = _parse_as_documented(path.read_bytes())
    assert read_version == version
    assert records.dtype.descr == EVENT_DTYPE.descr
    assert np.array_equal(records.view(EVENT_DTYPE), run_events(scn))
    assert header["scenario_text"] == scn.text and header["seed"] == scn.runtime.prng_seed
    assert footer["records"] == records.size and footer["status"] == "completed"
    assert footer["digest_sha256"] == event_digest([records.view(EVENT_DTYPE)])
    if version == 1:
        assert all(c.data_offset % 8 == 0 for c in read_log(path).chunks)


def test_a_run_with_no_events_still_makes_a_readable_log(tmp_path):
    scn = mixed_scenario()
    writer = EventLogWriter(tmp_path, make_header(scn, z6.compile_plan(scn)))
    writer(np.zeros(0, EVENT_DTYPE))  # empty chunks write nothing
    log = read_log(writer.finish("failed"))
    assert len(log) == 0 and log.status == "failed" and log.events.shape == (0,) and log.chunks == ()


def test_events_of_a_large_log_are_memory_mapped(tmp_path):
    path = write_log(tmp_path, mixed_scenario())
    small = read_log(path)
    mapped = read_log(path, mmap_threshold=0)
    assert not isinstance(small.events, np.memmap) and isinstance(mapped.events, np.memmap)
    assert np.array_equal(mapped.events, small.events)
    with pytest.raises(ValueError):
        mapped.events["tick"][0] = 1  # read-only: a view of the log, not a scratch array


def test_to_pandas(tmp_path):
    pd = pytest.importorskip("pandas")
    log = read_log(write_log(tmp_path, mixed_scenario()))
    frame = log.to_pandas()
    assert isinstance(frame, pd.DataFrame) and list(frame.columns) == list(EVENT_DTYPE.names)
    assert (frame["value_ns"].to_numpy() == log.events["value_ns"]).all()


def test_to_pandas_without_pandas_says_how_to_get_it(tmp_path, monkeypatch):
    log = read_log(write_log(tmp_path, mixed_scenario()))
    monkeypatch.setitem(sys.modules, "pandas", None)  # import pandas now raises ImportError
    with pytest.raises(ImportError, match="pip install pandas"):
        log.to_pandas()


# --- where a log is found ---------------------------------------------------

def test_a_run_directory_reads_its_log_or_its_partial(tmp_path):
    path = write_log(tmp_path / "run", mixed_scenario())
    assert read_log(tmp_path / "run").path == path
    path.rename(path.with_name("events.z6log.partial"))
    log, warned = read_quietly(tmp_path / "run")
    assert log.path.name == "events.z6log.partial" and log.complete
    assert warned and "never renamed" in warned[0]


@pytest.mark.parametrize("name, content, message", [
    ("missing", None, "file not found"),
    ("empty.z6log", b"", "header is incomplete"),
    ("text.z6log", b"tick,value_ns\n1,2\n" * 4, "not a z6 event log"),
])
def test_unreadable_files_raise_log_error(tmp_path, name, content, message):
    path = tmp_path / name
    if content is not None:
        path.write_bytes(content)
    with pytest.raises(LogError, match=message) as info:
        read_log(path)
    assert info.value.exit_code == 2 and str(path) in str(info.value)


def test_a_directory_without_a_log(tmp_path):
    with pytest.raises(LogError, match="no event log here"):
        read_log(tmp_path)


def _with_header_text(data: bytes, body: bytes, version: Optional[int] = None) -> bytes:
    """``data`` with its header JSON replaced by the text ``body`` (valid CRC)."""
    magic, stored_version, record_size, n = struct.unpack_from("<8sHHI", data, 0)
    version = version or stored_version
    body += b" " * (-(20 + len(body)) % 8)
    head = struct.pack("<8sHHI", magic, version, record_size, len(body)) + body
    return head + struct.pack("<I", zlib.crc32(head)) + data[20 + n:]


def _with_header(data: bytes, change) -> bytes:
    """``data`` with its header JSON changed by ``change(dict)`` (which may return
    another format version) and the CRC made valid again."""
    n = struct.unpack_from("<8sHHI", data, 0)[3]
    doc = json.loads(data[16:16 + n])
    version = change(doc)
    return _with_header_text(data, json.dumps(doc).encode(), version)


@pytest.mark.parametrize("change, message", [
    (lambda doc: 3, "format version 3: this z6 reads format versions 1 and 2"),
    (lambda doc: doc.update(record_dtype=[["tick", "<u4"]]), "record_dtype"),
    (lambda doc: doc.pop("seed") and None, "lacks seed"),
    (lambda doc: doc.update(mode="replayed"), "mode must be one of simulate, live"),
])
def test_a_header_that_does_not_fit(tmp_path, change, message):
    error = _header_error(tmp_path, lambda data: _with_header(data, change), message)
    assert error.part == "header"


def _header_error(tmp_path, rewrite, message: str) -> LogError:
    """The LogError (matching ``message``) of reading a log whose bytes ``rewrite`` changed."""
    source = write_log(tmp_path / "a", mixed_scenario())
    path = tmp_path / "events.z6log"
    path.write_bytes(rewrite(source.read_bytes()))
    with pytest.raises(LogError, match=message) as info:
        read_log(path)
    return info.value


@pytest.mark.parametrize("body, message", [
    (b"[1, 2]", "unusable header JSON: the header JSON must be an object, got list"),
    (b'{"seed": ' + b"7" * 5000 + b"}", "unusable header JSON: a number of more than 4300 digits"),
], ids=["a list", "a 5000-digit number"])
def test_a_header_json_python_reads_only_in_its_own_words_is_named_in_ours(tmp_path, body, message):
    # Once: "'list' object has no attribute 'get'", "use sys.set_int_max_str_digits()".
    error = _header_error(tmp_path, lambda data: _with_header_text(data, body), message)
    assert error.part == "header" and "sys." not in str(error) and "attribute" not in str(error)


def _inflate_responses(doc: dict) -> None:
    doc["kind_counts"]["response_received"] = 10**15


@pytest.mark.parametrize("change, message", [
    (lambda doc: doc.update(records=doc["records"] + 1), "the footer counts"),
    # A count no reader may size an array by (z6 analyze would ask for 4 PB).
    (_inflate_responses, r"the footer's counts per kind add up to 1\d{15} records, the file holds \d+"),
], ids=["records", "a kind's count"])
def test_a_footer_that_miscounts_is_an_error(tmp_path, change, message):
    data, at = with_footer_doc(write_log(tmp_path / "a", mixed_scenario()).read_bytes(), change)
    path = tmp_path / "events.z6log"
    path.write_bytes(data)
    with pytest.raises(LogError, match=message) as info:
        read_log(path)
    assert info.value.part == "footer" and info.value.offset == at


def test_bytes_after_the_footer_are_an_error(tmp_path):
    path = write_log(tmp_path, mixed_scenario())
    size = path.stat().st_size
    with open(path, "ab") as f:
        f.write(b"\0" * 3)
    with pytest.raises(LogError, match="3 unexpected bytes after the footer") as info:
        read_log(path)
    assert info.value.offset == size


# --- the writer -------------------------------------------------------------

def _writer(directory):
    scn = mixed_scenario()
    plan = z6.compile_plan(scn)
    return EventLogWriter(directory, make_header(scn, plan)), plan


def test_writer_refuses_other_records(tmp_path):
    writer, _ = _writer(tmp_path)
    with pytest.raises(TypeError, match="EVENT_DTYPE"):
        writer(np.zeros(4, np.uint64))
    with pytest.raises(TypeError, match="EVENT_DTYPE"):
        writer(np.zeros((2, 2), EVENT_DTYPE))
    with pytest.raises(ValueError, match="status must be one of completed, interrupted, stopped, failed"):
        writer.finish("done")
    writer.finish()
    with pytest.raises(ValueError, match="closed"):
        writer(np.zeros(1, EVENT_DTYPE))
    with pytest.raises(ValueError, match="closed"):
        writer.finish()


def test_writer_cannot_create_its_directory(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    scn = mixed_scenario()
    with pytest.raises(ConfigError, match="cannot create the event log"):
        EventLogWriter(blocker / "run", make_header(scn, z6.compile_plan(scn)))


def test_a_second_writer_in_one_directory_is_refused_and_the_first_log_kept(tmp_path):
    # Two runs given one out_dir at once: the second must neither truncate the
    # first's partial file nor later replace its finished log.
    first, plan = _writer(tmp_path)
    chunks = list(iter_chunks(plan))
    for chunk in chunks:
        first(chunk)
    with pytest.raises(ConfigError, match=r"already holds a run being written \(events.z6log.partial\)"):
        _writer(tmp_path)
    first.finish()
    with pytest.raises(ConfigError, match=r"already holds a run \(events.z6log\)"):
        _writer(tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["events.z6log"]
    log = read_log(tmp_path)
    assert log.status == "completed" and event_digest(log.events) == event_digest(chunks)


def test_header_is_validated():
    scn = mixed_scenario()
    header = make_header(scn, z6.compile_plan(scn))
    for change, message in [({"mode": "dry"}, "mode"), ({"tick_ns": 0}, "tick_ns"), ({"seed": -1}, "seed"),
                            ({"scenario_sha256": "abc"}, "scenario_sha256"), ({"first_vu_id": 0}, "first_vu_id"),
                            ({"duration_override_s": float("nan")}, "duration_override_s")]:
        with pytest.raises(ValueError, match=message):
            dataclasses.replace(header, **change)
    assert isinstance(header, LogHeader)


def test_a_failed_run_leaves_a_partial_log_of_its_complete_chunks(tmp_path):
    writer, plan = _writer(tmp_path)
    seen = []

    def fail_on_third(chunk):
        seen.append(chunk.copy())
        if len(seen) == 3:
            raise RuntimeError("the run broke")

    with pytest.raises(RuntimeError):
        run_plan(plan, [writer, fail_on_third], chunk_records=4)
    writer.abort()
    assert not (tmp_path / "events.z6log").exists()
    log, warned = read_quietly(tmp_path)
    assert log.status == "partial" and not log.complete and log.footer is None
    assert np.array_equal(log.events, np.concatenate(seen)) and len(log) == 12
    assert warned and "partial log" in warned[0] and "3 complete chunks" in warned[0]
    with pytest.warns(LogWarning):
        read_log(tmp_path)


def test_context_manager_statuses(tmp_path):
    for name, error, status in [("ok", None, "completed"), ("stop", KeyboardInterrupt, "interrupted")]:
        writer, plan = _writer(tmp_path / name)
        try:
            with writer:
                run_plan(plan, [writer], chunk_records=4)
                if error:
                    raise error
        except KeyboardInterrupt:
            pass
        assert read_log(tmp_path / name / "events.z6log").status == status
    writer, plan = _writer(tmp_path / "broken")
    with pytest.raises(RuntimeError):
        with writer:
            run_plan(plan, [writer], chunk_records=4)
            raise RuntimeError("boom")
    assert (tmp_path / "broken" / "events.z6log.partial").exists()
    assert not (tmp_path / "broken" / "events.z6log").exists()


def test_the_record_checker_reads_only_the_fields_a_compressed_chunk_decodes_for_it():
    # Reading format 2, the check at opening decodes only CHECKED_FIELDS: the checker must need no other.
    from z6.log._format import CHECKED_FIELDS, RecordChecker
    scn = mixed_scenario()
    events = run_events(scn)
    header = make_header(scn, z6.compile_plan(scn))
    assert RecordChecker(header).check(events[sorted(CHECKED_FIELDS)]) is None
    bad = events.copy()
    bad["kind"][3] = 99
    assert RecordChecker(header).check(bad[sorted(CHECKED_FIELDS)])[0] == 3
