"""Reading a log ahead on a thread of its own (`EventLog.iter_chunks(read_ahead=N)`):
the same chunks in the same order, errors where the chunk would have been, and a
consumer that stops early stops the thread."""

from __future__ import annotations

import threading

import numpy as np
import pytest

from z6.log import LogError, read_log

from test_log_helpers import mixed_scenario, write_log


@pytest.fixture(scope="module", params=[1, 2], ids=["v1", "v2"])
def log_path(request, tmp_path_factory):
    return write_log(tmp_path_factory.mktemp("ahead"), mixed_scenario(), chunk_records=5, version=request.param)


def _reader_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name == "z6-log-read-ahead"]


@pytest.mark.parametrize("depth", [1, 3])
def test_the_same_chunks_in_the_same_order(log_path, depth):
    log = read_log(log_path, defer_record_checks=True)
    plain = [c.tobytes() for c in log.iter_chunks()]
    ahead = [c.tobytes() for c in log.iter_chunks(read_ahead=depth)]
    assert len(plain) == len(log.chunks) > 3 and ahead == plain
    assert not _reader_threads()


def test_a_consumer_that_stops_early_stops_the_thread(log_path):
    log = read_log(log_path)
    chunks = log.iter_chunks(read_ahead=1)
    first = next(chunks)
    assert first.size == 5 and _reader_threads()
    chunks.close()
    assert not _reader_threads()


def test_a_damaged_chunk_fails_where_it_is_after_the_good_ones(log_path, tmp_path):
    # Flip a byte in the middle of the third chunk, read without verifying at open:
    # the two chunks before it arrive, then its CRC error.
    log = read_log(log_path)
    target = log.chunks[2]
    data = bytearray(log_path.read_bytes())
    data[target.data_offset + 3] ^= 0x40
    bad = tmp_path / "events.z6log"
    bad.write_bytes(bytes(data))
    seen = []
    with pytest.raises(LogError, match=r"chunk 2 at byte offset .*CRC-32 mismatch"):
        for chunk in read_log(bad, verify=False).iter_chunks(read_ahead=2):
            seen.append(chunk)
    assert [c.tobytes() for c in seen] == [c.tobytes() for c in list(log.iter_chunks())[:2]]
    assert not _reader_threads()
    assert np.concatenate(seen).size == 10
