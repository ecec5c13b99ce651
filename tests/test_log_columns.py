"""The core's format-2 column codec (`z6core._columns`) against a reference written
in numpy from the layout's description (docs/event-log.md), on random records."""

from __future__ import annotations

import platform
import sys

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from z6.events import EVENT_DTYPE
from z6core._columns import (COLUMN_NAMES, _vector_path, add_encoded_kind_counts, add_kind_counts, decode_columns, encode_columns,
                             records_sound)

# (name, offset, width) in record order: the column order of format 2.
_LAYOUT = tuple((name, EVENT_DTYPE.fields[name][1], EVENT_DTYPE.fields[name][0].itemsize)
                for name in EVENT_DTYPE.names)


def reference_encode(records: np.ndarray) -> np.ndarray:
    n = records.size
    out = np.empty(n * EVENT_DTYPE.itemsize, dtype=np.uint8)
    at = 0
    for name, _, width in _LAYOUT:
        column = records[name]
        if name == "tick":
            column = np.diff(column, prepend=np.uint64(0)) if n else column
        plane = np.ascontiguousarray(column).view(np.uint8).reshape(n, width)
        out[at:at + n * width].reshape(width, n)[...] = plane.T
        at += n * width
    return out


def reference_decode(data: bytes, n: int) -> np.ndarray:
    raw = np.frombuffer(data, dtype=np.uint8, count=n * EVENT_DTYPE.itemsize)
    out = np.zeros(n, EVENT_DTYPE)
    at = 0
    for name, _, width in _LAYOUT:
        column = np.ascontiguousarray(raw[at:at + n * width].reshape(width, n).T).view(EVENT_DTYPE.fields[name][0])
        out[name] = np.cumsum(column[:, 0], dtype=np.uint64) if name == "tick" else column[:, 0]
        at += n * width
    return out


def random_records(seed: int, n: int, sorted_ticks: bool) -> np.ndarray:
    rng = np.random.default_rng(seed)
    records = np.zeros(n, EVENT_DTYPE)
    for name in EVENT_DTYPE.names:
        info = np.iinfo(EVENT_DTYPE.fields[name][0])
        records[name] = rng.integers(0, info.max, n, dtype=EVENT_DTYPE.fields[name][0], endpoint=True)
    if sorted_ticks:
        records["tick"].sort()
    return records


def test_column_names_follow_the_record():
    assert COLUMN_NAMES == EVENT_DTYPE.names


@settings(max_examples=60, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), n=st.integers(0, 3000), sorted_ticks=st.booleans())
def test_encode_matches_the_reference_and_decodes_back(seed, n, sorted_ticks):
    records = random_records(seed, n, sorted_ticks)
    encoded = encode_columns(records)
    assert np.array_equal(encoded, reference_encode(records))
    into = np.full(n * 32, 0xAB, np.uint8)
    assert encode_columns(records, into) is into and np.array_equal(into, encoded)
    out = np.zeros(n, EVENT_DTYPE)
    decode_columns(encoded.tobytes(), out)
    assert out.tobytes() == records.tobytes()
    assert reference_decode(encoded.tobytes(), n).tobytes() == records.tobytes()


@pytest.mark.parametrize("n", [3, 16, 40])
def test_ticks_that_wrap_modulo_2_64_decode_exactly(n):
    # In the whole blocks the decoder transposes and in the records after them.
    records = np.zeros(n, EVENT_DTYPE)
    records["tick"] = np.resize(np.array([2**64 - 1, 0, 2**63], np.uint64), n)   # deltas wrap both ways
    out = np.zeros(n, EVENT_DTYPE)
    decode_columns(encode_columns(records), out)
    assert out.tobytes() == records.tobytes()
    every = np.zeros(n, EVENT_DTYPE)
    decode_columns(encode_columns(records), every, frozenset(EVENT_DTYPE.names))   # named one by one: the same
    assert every.tobytes() == records.tobytes()


def _cpu_has_avx2() -> bool:
    try:
        with open("/proc/cpuinfo") as info:
            return any(line.startswith("flags") and " avx2" in line for line in info)
    except OSError:
        return False


@pytest.fixture
def both_vector_paths():
    """The codec's paths this CPU runs: AVX2 (where it has it) and the baseline; the
    path chosen at import is put back afterwards."""
    chosen = _vector_path()
    paths = ["baseline"] + (["avx2"] if _vector_path(True) == "avx2" else [])
    yield paths
    _vector_path(chosen == "avx2")


def test_the_avx2_path_is_chosen_where_the_cpu_has_it(both_vector_paths):
    if not sys.platform.startswith("linux") or platform.machine() not in ("x86_64", "AMD64"):
        pytest.skip("the CPU's flags are read from Linux's /proc/cpuinfo on x86-64")
    assert ("avx2" in both_vector_paths) == _cpu_has_avx2()


@pytest.mark.parametrize("n", [0, 1, 15, 16, 17, 63, 64, 65, 111, 127, 128, 129, 250, 4096, 65536])
def test_both_vector_paths_write_and_read_the_layouts_bytes(both_vector_paths, n):
    # Whole tiles of 64 records, the tile left over (1-3 blocks) and the records
    # after the last whole block; ticks wrapping modulo 2**64 in the unsorted case.
    for sorted_ticks in (True, False):
        records = random_records(n * 31 + sorted_ticks, n, sorted_ticks)
        expected = reference_encode(records)
        for path in both_vector_paths:
            assert _vector_path(path == "avx2") == path
            encoded = encode_columns(records)
            assert np.array_equal(encoded, expected), path
            out = np.zeros(n, EVENT_DTYPE)
            decode_columns(encoded.tobytes(), out)
            assert out.tobytes() == records.tobytes(), path


def test_only_some_fields_are_decoded_and_the_rest_left_as_they_were():
    records = random_records(7, 500, True)
    out = np.zeros(500, EVENT_DTYPE)
    out["seq"] = 12345
    decode_columns(encode_columns(records), out, frozenset({"tick", "kind"}))
    assert np.array_equal(out["tick"], records["tick"])
    assert np.array_equal(out["kind"], records["kind"])
    assert (out["seq"] == 12345).all() and (out["value_ns"] == 0).all()


def test_bad_arguments_are_refused_with_a_reason():
    records = random_records(1, 10, True)
    with pytest.raises(ValueError, match="contiguous 1-d array of EVENT_DTYPE"):
        encode_columns(records[::2])
    with pytest.raises(ValueError, match="out must be a contiguous uint8 array of 320 bytes"):
        encode_columns(records, np.zeros(319, np.uint8))
    with pytest.raises(ValueError, match="fewer than 10 records"):
        decode_columns(b"\0" * 319, np.zeros(10, EVENT_DTYPE))
    with pytest.raises(ValueError, match="no event field 'nope'"):
        decode_columns(b"\0" * 320, np.zeros(10, EVENT_DTYPE), {"nope"})
    with pytest.raises(ValueError, match="contiguous 1-d array of EVENT_DTYPE records to fill"):
        decode_columns(b"\0" * 320, np.zeros(10, np.uint64))


@settings(max_examples=200, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), n=st.integers(1, 400), names=st.integers(1, 4), first=st.integers(1, 3),
       step=st.integers(1, 3), n_vus=st.integers(1, 5), previous=st.one_of(st.none(), st.integers(0, 60)),
       disorder=st.floats(0, 0.02))
def test_records_sound_agrees_with_the_reasoned_check(seed, n, names, first, step, n_vus, previous, disorder):
    # Records near every boundary: ticks mostly rising, kinds, requests and VU ids
    # around their limits. The C pass says "sound" exactly when the reasoned check
    # (`RecordChecker.reason`, one numpy pass per rule) finds nothing.
    from z6.log._format import RecordChecker
    rng = np.random.default_rng(seed)
    records = np.zeros(n, EVENT_DTYPE)
    ticks = np.cumsum(rng.integers(0, 3, n)) + 50
    flips = rng.random(n) < disorder
    ticks[flips] = rng.integers(0, 50, int(flips.sum()))
    records["tick"] = ticks
    rare = lambda p: rng.random(n) < p  # noqa: E731
    records["kind"] = np.where(rare(0.003), rng.integers(21, 30, n), rng.integers(0, 21, n))
    records["request"] = np.where(rare(0.5), 0xFFFF, np.where(rare(0.003), rng.integers(0, 0xFFFF, n),
                                                              rng.integers(0, names, n)))
    good_vus = first + step * rng.integers(0, n_vus, n)
    records["vu_id"] = np.where(rare(0.1), 0, np.where(rare(0.005), rng.integers(0, 20, n), good_vus))

    class Header:
        request_names = ("r",) * names
        first_vu_id, vu_id_step = first, step

    Header.n_vus = n_vus
    checker = RecordChecker(Header)
    checker.last_tick = previous
    from z6.events import EventKind
    fast = records_sound(records, previous, names, first, step, n_vus, len(EventKind))
    assert fast == (checker.reason(records) is None)


@given(seed=st.integers(0, 2**32 - 1), n=st.integers(0, 2000), slots=st.integers(1, 260),
       top=st.sampled_from([40, 64, 65, 200]))
def test_add_kind_counts_adds_a_bincount_or_names_the_kind_beyond(seed, n, slots, top):
    # Kinds below 64 are counted on the stack, any others in a second pass: both add up.
    rng = np.random.default_rng(seed)
    records = np.zeros(n, dtype=EVENT_DTYPE)
    records["kind"] = rng.integers(0, top, n)
    counts = np.arange(slots, dtype=np.int64)
    before = counts.copy()
    largest = add_kind_counts(records, counts)
    assert largest == (int(records["kind"].max()) if n else -1)
    if largest < slots:
        expected = before + np.bincount(records["kind"], minlength=slots)[:slots] if n else before
        assert np.array_equal(counts, expected)
    else:
        assert np.array_equal(counts, before)   # nothing added: the caller grows and asks again


@given(seed=st.integers(0, 2**32 - 1), n=st.integers(0, 2000), slots=st.integers(1, 300),
       top=st.sampled_from([1, 40, 256, 257, 300, 65536]))
def test_add_encoded_kind_counts_reads_the_kind_planes_as_add_kind_counts_reads_records(seed, n, slots, top):
    # Kinds below 256 leave the high plane zero (one byte table); 256 and up take
    # the two-plane path. Either way: the largest kind, and the same counts added
    # (or none, when it is beyond the table), as counting the records themselves.
    rng = np.random.default_rng(seed)
    records = np.zeros(n, dtype=EVENT_DTYPE)
    for name in COLUMN_NAMES:    # every other field noise, so only the kind planes can give the answer
        info = np.iinfo(records[name].dtype)
        records[name] = rng.integers(0, info.max, n, dtype=records[name].dtype, endpoint=True)
    records["kind"] = rng.integers(0, top, n)
    encoded = encode_columns(records)
    from_records = np.arange(slots, dtype=np.int64)
    from_planes = from_records.copy()
    largest = add_kind_counts(records, from_records)
    assert add_encoded_kind_counts(encoded, n, from_planes) == largest
    assert np.array_equal(from_planes, from_records)


def test_add_encoded_kind_counts_refuses_what_cannot_be_a_chunks_encoding():
    records = np.zeros(10, dtype=EVENT_DTYPE)
    encoded = encode_columns(records)
    counts = np.zeros(8, dtype=np.int64)
    with pytest.raises(ValueError, match="fewer than 11 encoded records"):
        add_encoded_kind_counts(encoded, 11, counts)
    with pytest.raises(ValueError, match="must not be negative"):
        add_encoded_kind_counts(encoded, -1, counts)
    with pytest.raises(ValueError, match="int64"):
        add_encoded_kind_counts(encoded, 10, np.zeros(8, dtype=np.int32))
    with pytest.raises(ValueError, match="fewer than"):
        add_encoded_kind_counts(encoded, 2**59, counts)     # 2**59 * 32 wraps to 0 in 64 bits
    assert add_encoded_kind_counts(encoded, 0, counts) == -1
    assert add_encoded_kind_counts(encoded, 10, counts) == 0 and counts[0] == 10
