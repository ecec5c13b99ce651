"""The writer's worker thread: it owns what it queues, its queue is bounded (the run
waits, and the wait is counted), a failed write is reported at the next call or at
the end and nothing is dropped silently, and a live run that waited says so."""

from __future__ import annotations

import errno
import json
import threading

import numpy as np
import pytest

import z6
from z6.errors import RunError
from z6.log import EventLogWriter, make_header, read_log
from z6.log import _writer as writer_module
from z6.log._format import kind_label
from z6.report import document_from_log

from conftest import REPO
from test_log_helpers import mixed_scenario, read_quietly, run_events


def _writer(directory, **kwargs):
    scn = mixed_scenario()
    return EventLogWriter(directory, make_header(scn, z6.compile_plan(scn)), **kwargs)


def _threads() -> int:
    return sum(t.name.startswith(("z6 log writer", "z6 log digest")) for t in threading.enumerate())


def test_the_writer_owns_what_it_queues(tmp_path):
    events = run_events(mixed_scenario())
    writer = _writer(tmp_path)
    scratch = np.empty(4, dtype=z6.EVENT_DTYPE)
    for start in range(0, events.size, 4):  # one array reused for every chunk, as a caller may
        part = events[start:start + 4]
        scratch[:part.size] = part
        writer(scratch[:part.size])
        scratch[:] = np.zeros(4, dtype=z6.EVENT_DTYPE)
    log = read_log(writer.finish())
    assert np.array_equal(log.events, events) and log.footer.records == events.size
    assert _threads() == 0


def test_a_frozen_chunk_is_queued_without_a_copy_and_never_pooled(tmp_path, monkeypatch):
    events = run_events(mixed_scenario())
    writer = _writer(tmp_path, queue_chunks=1)
    gate = threading.Event()
    queued = []
    append = writer._store

    def held_append(records, *rest):
        queued.append(records)
        gate.wait()
        append(records, *rest)

    monkeypatch.setattr(writer, "_store", held_append)
    frozen = events.copy()
    frozen.flags.writeable = False
    writer(frozen[:5])          # a read-only view of a read-only owner: frozen
    gate.set()
    writer.flush()
    assert np.shares_memory(queued[0], frozen)     # the caller's records, not a copy
    assert not any(np.shares_memory(free, frozen) for free in writer._free)
    writer(frozen[5:])
    assert np.array_equal(read_log(writer.finish()).events, events)


def test_a_read_only_view_of_a_writable_array_is_copied(tmp_path):
    events = run_events(mixed_scenario())
    writer = _writer(tmp_path)
    owner = events.copy()
    view = owner[:]
    view.flags.writeable = False      # the caller can still change the owner
    writer(view)
    owner[:] = np.zeros(owner.size, dtype=z6.EVENT_DTYPE)
    assert np.array_equal(read_log(writer.finish()).events, events)


def test_the_runners_chunks_are_read_only(tmp_path):
    scn = mixed_scenario()
    seen = []

    def consumer(chunk):
        seen.append(chunk.flags.writeable)
        with pytest.raises(ValueError):
            chunk["kind"][0] = 0

    z6.run_plan(z6.compile_plan(scn), [consumer])
    assert seen and not any(seen)


def test_the_queue_is_bounded_and_the_wait_is_counted(tmp_path, monkeypatch):
    writer = _writer(tmp_path, queue_chunks=1)
    gate, entered = threading.Event(), threading.Event()
    append = writer._store

    def slow_append(records, *rest):
        entered.set()
        gate.wait()
        append(records, *rest)

    monkeypatch.setattr(writer, "_store", slow_append)
    events = run_events(mixed_scenario())
    writer(events[:4])           # taken by the worker, which waits at the gate
    assert entered.wait(10)
    writer(events[4:8])          # queued: the queue holds one chunk
    assert writer.stalled_s == 0
    threading.Timer(0.3, gate.set).start()
    writer(events[8:12])         # waits for room
    assert writer.stalled_s >= 0.2 and writer._queue.qsize() <= 1
    writer(events[12:])
    log = read_log(writer.finish())
    assert np.array_equal(log.events, events)


def test_large_chunks_are_split(tmp_path, monkeypatch):
    monkeypatch.setitem(writer_module._MAX_CHUNK_RECORDS, 2, 10)
    events = run_events(mixed_scenario())
    writer = _writer(tmp_path)
    writer(events)
    log = read_log(writer.finish())
    assert [c.records for c in log.chunks] == [10] * (events.size // 10) + [events.size % 10]
    assert np.array_equal(log.events, events)


class _FullDisk:
    """The writer's file, failing with ENOSPC once ``room`` bytes were written."""

    def __init__(self, file, room: int) -> None:
        self.file, self.room = file, room

    def write(self, data):
        if len(memoryview(data)) > self.room:
            self.file.write(memoryview(data)[:self.room])  # a torn write, as a full disk leaves
            self.room = 0
            raise OSError(errno.ENOSPC, "No space left on device")
        self.room -= len(memoryview(data))
        return self.file.write(data)

    def __getattr__(self, name):
        return getattr(self.file, name)


@pytest.mark.parametrize("version", [1, 2])
def test_a_failed_write_is_reported_at_the_next_call_and_nothing_after_it_is_written(tmp_path, version):
    scn = mixed_scenario()
    writer = EventLogWriter(tmp_path, make_header(scn, z6.compile_plan(scn), format_version=version))
    events = run_events(scn)
    writer(events[:8])
    writer.drain()
    writer._file = _FullDisk(writer._file, room=10)
    writer(events[8:16])         # queued; its write fails on the worker
    writer.drain()
    with pytest.raises(RunError, match="events.z6log.partial: cannot write the event log: No space left on device"):
        writer(events[16:24])
    with pytest.raises(RunError, match="No space left on device"):  # and again: never silently dropped
        writer(events[16:24])
    assert writer.records == 8 and writer.chunks == 1
    # The torn write was cut back: the partial log reads its whole chunk.
    partial, _ = read_quietly(tmp_path)
    assert np.array_equal(partial.events, events[:8])
    writer._file = writer._file.file
    log = read_log(writer.finish("failed"))
    assert log.status == "failed" and np.array_equal(log.events, events[:8])
    assert _threads() == 0


def test_a_failed_last_write_is_raised_by_flush_or_finish(tmp_path):
    events = run_events(mixed_scenario())
    for how in ("flush", "finish"):
        writer = _writer(tmp_path / how)
        writer(events[:8])
        writer.drain()
        writer._file = _FullDisk(writer._file, room=0)
        writer(events[8:])
        with pytest.raises(RunError, match="No space left on device"):
            writer.flush() if how == "flush" else writer.finish("completed")
        writer._file = writer._file.file
        # Told once, the caller seals what was written as failed.
        log = read_log(writer.finish("failed"))
        assert log.status == "failed" and len(log) == 8


def test_the_digest_covers_only_what_was_written_while_the_digest_thread_lags(tmp_path, monkeypatch):
    # The digest thread is held while the store thread writes two chunks and fails
    # on the third: the failed log's footer still hashes exactly the two written.
    scn = mixed_scenario()
    writer = _writer(tmp_path, queue_chunks=4)
    gate = threading.Event()
    digest = writer._digest

    def held_digest(records):
        gate.wait()
        digest(records)

    monkeypatch.setattr(writer, "_digest", held_digest)
    events = run_events(scn)
    writer(events[:8])
    writer(events[8:16])
    writer._queue.join()                      # both stored; neither hashed yet
    writer._file = _FullDisk(writer._file, room=0)
    writer(events[16:24])
    writer._queue.join()
    gate.set()
    with pytest.raises(RunError, match="No space left on device"):
        writer.flush()
    writer._file = writer._file.file
    log = read_log(writer.finish("failed"))
    assert log.status == "failed" and np.array_equal(log.events, events[:16])
    assert log.footer.digest == z6.event_digest(events[:16])
    # The kinds too are counted only for chunks written (on the store thread).
    kinds, counts = np.unique(events[:16]["kind"], return_counts=True)
    assert dict(log.footer.kind_counts) == {kind_label(int(k)): int(n) for k, n in zip(kinds, counts)}


def test_a_digest_that_fails_fails_the_log(tmp_path, monkeypatch):
    writer = _writer(tmp_path)
    events = run_events(mixed_scenario())

    def no_memory(records):
        raise MemoryError("no room for the digest")

    monkeypatch.setattr(writer, "_digest", no_memory)
    writer(events[:8])
    writer.drain()
    with pytest.raises(RunError, match="cannot write the event log: no room for the digest"):
        writer(events[8:])
    # No footer can vouch for chunks the digest missed: the log stays partial, and reads.
    with pytest.raises(RunError, match="its digest failed"):
        writer.finish("failed")
    assert _threads() == 0 and writer.closed
    log, warned = read_quietly(tmp_path)
    assert np.array_equal(log.events, events[:8]) and warned


def test_abort_writes_what_was_queued(tmp_path):
    events = run_events(mixed_scenario())
    writer = _writer(tmp_path, queue_chunks=8)
    for start in range(0, events.size, 4):
        writer(events[start:start + 4])
    writer.abort()
    log, warned = read_quietly(tmp_path)
    assert np.array_equal(log.events, events) and warned and _threads() == 0


@pytest.mark.live
def test_a_live_run_that_waited_on_its_writer_warns(tmp_path, monkeypatch):
    monkeypatch.setattr(EventLogWriter, "stalled_s", property(lambda self: 0.25))
    scn = z6.load_scenario(REPO / "examples" / "quickstart.toml")
    result = z6.run_scenario(scn, vus=2, duration_s=0.3, out_dir=tmp_path / "live")
    assert any("the event log writer fell behind: the run waited 0.250 s" in w for w in result.summary.warnings)
    assert any("fell behind" in w for w in json.loads((tmp_path / "live" / "summary.json").read_text())["warnings"])
    # Recorded in the footer, so the document rebuilt from the log says the same.
    log = read_log(tmp_path / "live")
    assert log.footer.writer_stalled_s == 0.25
    written = json.loads((tmp_path / "live" / "summary.json").read_text())
    rebuilt = document_from_log(log)
    assert rebuilt["warnings"] == written["warnings"]
    # The figure itself, in summary.json and in the result, from the run and from the log alike.
    assert written["run"]["writer_stalled_s"] == rebuilt["run"]["writer_stalled_s"] == 0.25
    assert result.stats.writer_stalled_s == 0.25
    # A simulated run waits on its writer by design: no warning.
    sim = z6.run_scenario(z6.load_scenario(REPO / "examples" / "simulated.toml"), out_dir=tmp_path / "sim")
    assert not any("fell behind" in w for w in sim.summary.warnings)


def test_a_failed_run_seals_what_was_written_even_when_a_write_failed_unreported(tmp_path):
    # The run stopped on another error (a lost target) while the writer's last write
    # failed unseen: the run directory still seals the chunks written, as failed.
    from z6.run._directory import RunDirectory
    scn = mixed_scenario()
    outputs = RunDirectory(tmp_path / "run", scn, z6.compile_plan(scn))
    events = run_events(scn)
    outputs.writer(events[:8])
    outputs.writer.drain()
    outputs.writer._file = _FullDisk(outputs.writer._file, room=0)
    outputs.writer(events[8:16])
    outputs.writer.drain()
    outputs.writer._file = outputs.writer._file.file
    sealed = outputs.fail()
    log = read_log(sealed)
    assert log.status == "failed" and np.array_equal(log.events, events[:8])


def test_the_footer_counts_every_kind_even_beyond_the_writers_first_table(tmp_path):
    # The footer's counts by kind come from the core's count (64 slots at first);
    # a kind beyond them (a later kind in a log read back by a newer writer) grows
    # the table, and the chunk is counted once.
    writer = _writer(tmp_path)
    records = np.zeros(5, dtype=z6.EVENT_DTYPE)
    records["kind"] = [0, 70, 300, 2, 0]     # 300: beyond a byte, both of the kind column's planes
    writer(records)
    writer(records[:1])
    writer.flush()
    assert writer._kind_counts[0] == 3 and writer._kind_counts[70] == 1 and writer._kind_counts[2] == 1
    assert writer._kind_counts[300] == 1 and int(writer._kind_counts.sum()) == 6
    writer.abort()
