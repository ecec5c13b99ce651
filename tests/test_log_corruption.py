"""Every damaged log is found out and located; a partial log reads its complete chunks."""

from __future__ import annotations

import bisect

import numpy as np
import pytest

from z6.log import LogError, read_log

from test_log_helpers import mixed_scenario, read_quietly, write_log


@pytest.fixture(scope="module", params=[1, 2], ids=["v1", "v2"])
def small_log(request, tmp_path_factory):
    """A log of a few KB in several small chunks (format 1: raw records; 2: compressed
    columns), its bytes and its chunk table."""
    path = write_log(tmp_path_factory.mktemp("log"), mixed_scenario(), chunk_records=6, version=request.param)
    log = read_log(path)
    data = path.read_bytes()
    assert 1_000 < len(data) < 8_000 and len(log.chunks) >= 4 and log.header.format_version == request.param
    assert all(c.compressed == (request.param == 2) for c in log.chunks)
    return data, log


def _owner(chunks, offset: int):
    """The chunk whose frame or records hold byte ``offset`` (None: header or footer)."""
    starts = [c.offset for c in chunks]
    i = bisect.bisect_right(starts, offset) - 1
    return chunks[i] if i >= 0 and offset < chunks[i].end else None


def test_every_single_byte_flip_is_detected_and_located(small_log, tmp_path):
    data, log = small_log
    path = tmp_path / "events.z6log"
    for offset in range(len(data)):
        damaged = bytearray(data)
        damaged[offset] ^= 0xFF
        path.write_bytes(damaged)
        with pytest.raises(LogError) as info:
            read_log(path)
        error = info.value
        assert error.offset is not None and error.end is not None, str(error)
        assert error.offset <= offset < error.end, f"byte {offset}: {error}"
        owner = _owner(log.chunks, offset)
        if owner is not None:
            assert error.chunk == owner.number and f"chunk {owner.number}" in str(error), f"byte {offset}: {error}"
            if error.part is None:  # a damaged marker: chunk or footer, the error cannot tell
                assert error.offset == owner.offset and "or the footer" in str(error)
            else:
                assert f"chunk {owner.number} at byte offset {owner.offset}" in str(error)
        elif error.part is None:
            assert error.chunk == len(log.chunks) and "or the footer" in str(error), f"byte {offset}: {error}"
        else:
            assert error.part in ("header", "footer"), f"byte {offset}: {error}"
        assert str(path) in str(error)


def test_truncation_at_every_offset(small_log, tmp_path):
    data, log = small_log
    events = log.events
    header_end = log.chunks[0].offset
    footer_at = log.chunks[-1].end
    partial = tmp_path / "events.z6log.partial"
    complete = tmp_path / "complete" / "events.z6log"
    complete.parent.mkdir()
    for cut in range(len(data)):
        partial.write_bytes(data[:cut])
        complete.write_bytes(data[:cut])

        # A complete-named log must be whole: the error says where it stops.
        with pytest.raises(LogError) as info:
            read_log(complete)
        error = info.value
        assert error.offset is not None and error.offset <= cut, f"cut {cut}: {error}"
        whole = [c for c in log.chunks if c.end <= cut]
        at_boundary = cut == header_end or any(c.end == cut for c in log.chunks)
        if header_end <= cut <= footer_at:
            # Inside chunk n, or right after chunk n - 1 where chunk n or the footer should start.
            assert error.chunk == len(whole), f"cut {cut}: {error}"
            assert error.part == (None if at_boundary else "chunk"), f"cut {cut}: {error}"
        elif cut > footer_at:
            assert error.part == "footer" and error.offset == footer_at, f"cut {cut}: {error}"

        # The same bytes as a partial log: exactly the complete chunks, and a warning.
        if cut < header_end:
            with pytest.raises(LogError, match="header"):
                read_log(partial)
            continue
        read, warned = read_quietly(partial)
        n = sum(c.records for c in whole)
        assert len(read) == n and np.array_equal(read.events, events[:n]), f"cut {cut}"
        assert read.status == "partial" and len(warned) == 1 and f"{len(whole)} complete chunks" in warned[0]


def test_a_partial_log_whose_last_chunk_is_torn(small_log, tmp_path):
    # A crash (not a kill) can leave the last write's bytes wrong: that chunk is the cut.
    data, log = small_log
    last = log.chunks[-1]
    damaged = bytearray(data[:last.end])
    damaged[last.end - 1] ^= 0x01
    path = tmp_path / "events.z6log.partial"
    path.write_bytes(damaged)
    read, warned = read_quietly(path)
    assert len(read) == len(log) - last.records and "CRC-32 mismatch" in warned[0]
    # Damage with more data after it is corruption, partial or not.
    damaged = bytearray(data[:last.end])
    damaged[log.chunks[1].data_offset] ^= 0x01
    path.write_bytes(damaged)
    with pytest.raises(LogError, match="chunk 1 at byte offset"):
        read_log(path)


def test_without_verification_a_chunk_is_checked_when_read(small_log, tmp_path):
    data, log = small_log
    damaged = bytearray(data)
    damaged[log.chunks[2].data_offset + 3] ^= 0x10
    path = tmp_path / "events.z6log"
    path.write_bytes(damaged)
    lazy = read_log(path, verify=False)  # the structure is intact
    chunks = lazy.iter_chunks()
    next(chunks), next(chunks)
    with pytest.raises(LogError, match="chunk 2 at byte offset .*CRC-32 mismatch"):
        next(chunks)


def _intact_chunks(chunks, original: bytes, damaged: bytes) -> int:
    """How many leading chunks of ``damaged`` hold exactly the original bytes."""
    n = 0
    for c in chunks:
        if damaged[c.offset:c.end] != original[c.offset:c.end]:
            break
        n += 1
    return n


def test_a_partial_log_ending_in_zeros_reads_up_to_them(small_log, tmp_path):
    # A power loss can leave the file longer than what reached the disk (no fsync
    # per chunk): the rest reads as zeros. In a .partial, the zeros are the cut.
    data, log = small_log
    header_end = log.chunks[0].offset
    last_data = len(data.rstrip(b"\0"))  # from here the original itself is zeros
    partial = tmp_path / "events.z6log.partial"
    complete = tmp_path / "complete" / "events.z6log"
    complete.parent.mkdir()
    for cut in range(header_end, last_data):
        pad = 1 + (cut * 7919) % 700  # from one zero byte to a few chunks' worth
        damaged = data[:cut] + bytes(len(data) - cut + pad)
        partial.write_bytes(damaged)
        read, warned = read_quietly(partial)
        n = _intact_chunks(log.chunks, data, damaged)
        records = sum(c.records for c in log.chunks[:n])
        assert len(read) == records and np.array_equal(read.events, log.events[:records]), f"cut {cut}"
        assert read.status == "partial" and len(warned) == 1 and f"{n} complete chunks" in warned[0], f"cut {cut}"
        if cut % 11 == 0:  # a complete-named log must be whole: zeros are corruption there
            complete.write_bytes(damaged)
            with pytest.raises(LogError):
                read_log(complete)

    # The message says what was found where.
    third = log.chunks[3]
    partial.write_bytes(data[:third.offset] + bytes(5000))
    read, warned = read_quietly(partial)
    assert len(read) == sum(c.records for c in log.chunks[:3])
    assert (f"chunk 3 at byte offset {third.offset}: the file ends in 5000 zero bytes from byte offset "
            f"{third.offset}") in warned[0]
    # Zeros from inside a chunk's records on: that chunk is the cut.
    partial.write_bytes(data[:third.data_offset + min(40, third.stored_nbytes // 2)] + bytes(3000))
    read, warned = read_quietly(partial)
    assert len(read) == sum(c.records for c in log.chunks[:3]) and "3 complete chunks" in warned[0]
    assert f"chunk 3 at byte offset {third.offset}: the file ends in" in warned[0]
    # Damage that is not the start of the zero tail stays corruption.
    damaged = bytearray(data[:third.end] + bytes(3000))
    damaged[log.chunks[1].data_offset] ^= 0x01
    partial.write_bytes(damaged)
    with pytest.raises(LogError, match="chunk 1 at byte offset .*CRC-32 mismatch"):
        read_log(partial)
    # And a zero tail in a complete-named log is an error naming where.
    complete.write_bytes(data[:third.offset] + bytes(5000))
    with pytest.raises(LogError, match=f"byte offset {third.offset}: expected chunk 3"):
        read_log(complete)


def _with_stored(data: bytes, chunk, stored: bytes, records: int) -> bytes:
    """``data`` with format-2 ``chunk``'s stored bytes replaced and its frame's CRC made valid."""
    from z6.log._format import CHUNK_MARKER, FRAME_V2, frame_crc_v2
    frame = FRAME_V2.pack(CHUNK_MARKER, len(stored), chunk.number, records,
                          frame_crc_v2(len(stored), chunk.number, records, stored))
    return data[:chunk.offset] + frame + stored + data[chunk.end:]


def test_a_format_2_chunk_with_a_valid_crc_that_is_no_zstd_frame_of_its_records(tmp_path):
    # Bytes a CRC vouches for but that do not decode are corruption too, located at their chunk.
    import zstandard
    path = write_log(tmp_path / "src", mixed_scenario(), chunk_records=6, version=2)
    data = path.read_bytes()
    second = read_log(path).chunks[1]
    target = tmp_path / "events.z6log"
    cases = [
        (b"not a zstd frame at all", second.records, "do not decompress"),
        (zstandard.ZstdCompressor().compress(bytes(32 * second.records - 32)), second.records,
         "decompress to 160 bytes, the frame declares 6 records"),
        (zstandard.ZstdCompressor().compress(bytes(32 * second.records + 32)), second.records,
         "decompress to 224 bytes, the frame declares 6 records"),
        # A frame that does not say its size, and holds too much: cut at the records' bytes.
        (zstandard.ZstdCompressor(write_content_size=False).compress(bytes(32 * second.records + 32)),
         second.records, "do not decompress"),
        # A frame that claims 2**40 bytes: refused before any allocation.
        (zstandard.ZstdCompressor().compress(b"x")[:5] + (2**40).to_bytes(8, "little")
         + zstandard.ZstdCompressor().compress(b"x")[13:], second.records, "decompress to|do not decompress"),
    ]
    for stored, records, message in cases:
        target.write_bytes(_with_stored(data, second, stored, records))
        for verify in (True, False):
            with pytest.raises(LogError, match=f"chunk 1 at byte offset {second.offset}: .*{message}"):
                list(read_log(target, verify=verify).iter_chunks())
