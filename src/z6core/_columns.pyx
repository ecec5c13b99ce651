# cython: language_level=3
"""An event log's chunks in C: the column layout of format 2, encoded and decoded,
and the one-pass test that decoded records are ones a run could have written.

A chunk's n records are stored column by column in record order (tick, value_ns,
vu_id, kind, request, status, error, seq); the tick column holds each record's
difference from the previous record's tick (the first from 0, modulo 2**64, so a
chunk decodes alone); each column of width w is byte-shuffled: the n values'
byte 0s, then their byte 1s, ... their byte w-1s. `z6.log` compresses the result
with zstd; docs/event-log.md describes the layout for other readers.

These loops run without the GIL, so the log's writer thread encodes a chunk while
the engine fills the next, and a reader's decoding overlaps its caller's work.
numpy's transposed copies of the same layout cost several times more (per byte
plane a strided pass, and a Python loop around them).
"""

from libc.stdint cimport int64_t, uint8_t, uint16_t, uint32_t, uint64_t
from libc.string cimport memcpy, memset

import numpy as np

from z6core._defs cimport event_t
from z6core._engine import EVENT_DTYPE

__all__ = ["COLUMN_NAMES", "encode_columns", "decode_columns", "records_sound", "add_kind_counts",
           "add_encoded_kind_counts"]

cdef enum:
    RECORD_SIZE = 32
    N_COLUMNS = 8
    _LOCAL_KINDS = 64     # kinds add_kind_counts counts on the stack (a run's are below 40)
    _KIND_COLUMN = 3      # the kind's place in COLUMN_NAMES

# (offset, width) of each column in the 32-byte record, in record order.
cdef uint32_t[N_COLUMNS] _OFFSET = [0, 8, 16, 20, 22, 24, 26, 28]
cdef uint32_t[N_COLUMNS] _WIDTH = [8, 8, 4, 2, 2, 2, 2, 4]

COLUMN_NAMES = ("tick", "value_ns", "vu_id", "kind", "request", "status", "error", "seq")


cdef extern from "z6_shuffle.h" nogil:
    enum: Z6_SHUFFLE_BLOCK
    void z6_shuffle_blocks(const uint8_t* rows, size_t blocks, const size_t* plane, uint8_t* out,
                           uint64_t* previous)
    void z6_unshuffle_blocks(const uint8_t* data, size_t blocks, const size_t* plane, uint8_t* rows,
                             uint64_t* tick)
    int z6_shuffle_use_avx2()
    int z6_shuffle_set_avx2(int on)


cdef inline void _planes(Py_ssize_t n, size_t* plane) noexcept nogil:
    # Where byte p of a record has its plane: each column's w planes in a row.
    cdef Py_ssize_t at = 0
    cdef uint32_t c, b
    for c in range(N_COLUMNS):
        for b in range(_WIDTH[c]):
            plane[_OFFSET[c] + b] = <size_t>(at + b * n)
        at += _WIDTH[c] * n


cdef inline void _encode(const uint8_t* rows, Py_ssize_t n, uint8_t* out) noexcept nogil:
    # Whole blocks of records by transposes (z6_shuffle.h), then the few left
    # column by column: each record's field read as one word, its bytes stored to
    # the column's w planes.
    cdef size_t plane[RECORD_SIZE]      # where byte p of a record goes: its plane's start
    cdef Py_ssize_t at = 0, blocks = n // Z6_SHUFFLE_BLOCK, done = blocks * Z6_SHUFFLE_BLOCK
    cdef uint32_t c
    cdef uint64_t last_tick = 0
    _planes(n, plane)
    z6_shuffle_blocks(rows, <size_t>blocks, plane, out, &last_tick)
    if done == n:
        return
    at = 0
    for c in range(N_COLUMNS):
        _encode_tail(rows, n, done, out + at, _OFFSET[c], _WIDTH[c], c == 0, last_tick)
        at += _WIDTH[c] * n


cdef inline void _encode_tail(const uint8_t* rows, Py_ssize_t n, Py_ssize_t start, uint8_t* planes,
                              uint32_t offset, uint32_t width, bint deltas, uint64_t previous) noexcept nogil:
    # Records start..n-1 of one column (fewer than a block: the blocks did the rest).
    cdef Py_ssize_t i
    cdef uint32_t b
    cdef uint64_t v, tick
    for i in range(start, n):
        v = 0
        memcpy(&v, rows + i * RECORD_SIZE + offset, width)       # little-endian hosts only
        if deltas:
            tick = v
            v = tick - previous    # modulo 2**64
            previous = tick
        for b in range(width):
            planes[b * n + i] = <uint8_t>(v >> (8 * b))


cdef inline void _decode_column(const uint8_t* planes, Py_ssize_t n, uint8_t* rows, uint32_t offset,
                                uint32_t width, bint deltas, Py_ssize_t start=0, uint64_t tick=0) noexcept nogil:
    # Records start..n-1 of one column; a tick column's running sum goes on from ``tick``.
    cdef Py_ssize_t i
    cdef uint32_t b
    cdef uint64_t v
    for i in range(start, n):
        v = 0
        for b in range(width):
            v |= (<uint64_t>planes[b * n + i]) << (8 * b)
        if deltas:
            tick = tick + v    # the running sum wraps modulo 2**64: exact for any ticks
            v = tick
        memcpy(rows + i * RECORD_SIZE + offset, &v, width)       # little-endian hosts only


cdef inline void _decode(const uint8_t* data, Py_ssize_t n, uint8_t* rows, uint32_t mask) noexcept nogil:
    # Every field: whole blocks of records by transposes (z6_shuffle.h), the few
    # left column by column. Some fields: column by column, each record's field
    # gathered from the column's w planes into one word and stored whole.
    cdef size_t plane[RECORD_SIZE]
    cdef Py_ssize_t at = 0, start = 0
    cdef uint32_t c
    cdef uint64_t tick = 0
    if mask == (1u << N_COLUMNS) - 1:
        _planes(n, plane)
        start = (n // Z6_SHUFFLE_BLOCK) * Z6_SHUFFLE_BLOCK
        z6_unshuffle_blocks(data, <size_t>(n // Z6_SHUFFLE_BLOCK), plane, rows, &tick)
        if start == n:
            return
    for c in range(N_COLUMNS):
        if mask & (1u << c):
            # Constant widths let the compiler unroll each gather.
            if _WIDTH[c] == 8:
                _decode_column(data + at, n, rows, _OFFSET[c], 8, c == 0, start, tick)
            elif _WIDTH[c] == 4:
                _decode_column(data + at, n, rows, _OFFSET[c], 4, False, start)
            else:
                _decode_column(data + at, n, rows, _OFFSET[c], 2, False, start)
        at += _WIDTH[c] * n


cdef uint32_t _field_mask(object only) except? 0:
    if only is None:
        return (1u << N_COLUMNS) - 1
    cdef uint32_t mask = 0
    for name in only:
        if name not in COLUMN_NAMES:
            raise ValueError(f"no event field {name!r}: fields are {', '.join(COLUMN_NAMES)}")
        mask |= 1u << COLUMN_NAMES.index(name)
    return mask


def encode_columns(records, out=None):
    """The decoded bytes of a format-2 chunk (32 * n bytes, before zstd) for ``records``,
    a contiguous array of EVENT_DTYPE; written into ``out`` (contiguous uint8 of exactly
    32 * n bytes, returned) when given, else into a new array."""
    if records.dtype != EVENT_DTYPE or not records.flags.c_contiguous or records.ndim != 1:
        raise ValueError("encode_columns needs a contiguous 1-d array of EVENT_DTYPE records")
    cdef Py_ssize_t n = records.shape[0]
    if out is None:
        out = np.empty(n * RECORD_SIZE, dtype=np.uint8)
    elif out.dtype != np.uint8 or out.ndim != 1 or out.shape[0] != n * RECORD_SIZE or not out.flags.c_contiguous:
        raise ValueError(f"encode_columns: out must be a contiguous uint8 array of {n * RECORD_SIZE} bytes")
    if n == 0:
        return out
    cdef const uint8_t[::1] rows = records.view(np.uint8)
    cdef uint8_t[::1] dst = out
    with nogil:
        _encode(&rows[0], n, &dst[0])
    return out


def decode_columns(data, out, only=None):
    """Fill ``out`` (n EVENT_DTYPE records, contiguous, writable) from the 32 * n decoded
    bytes ``data`` of a format-2 chunk; with ``only`` (field names), just those fields,
    the others left as they were."""
    if out.dtype != EVENT_DTYPE or not out.flags.c_contiguous or out.ndim != 1:
        raise ValueError("decode_columns needs a contiguous 1-d array of EVENT_DTYPE records to fill")
    cdef uint32_t mask = _field_mask(only)
    cdef Py_ssize_t n = out.shape[0]
    cdef const uint8_t[::1] src = memoryview(data).cast("B")
    if src.shape[0] < n * RECORD_SIZE:
        raise ValueError(f"decode_columns: {src.shape[0]} bytes hold fewer than {n} records ({n * RECORD_SIZE} bytes)")
    if n == 0:
        return
    cdef uint8_t[::1] rows = out.view(np.uint8)
    with nogil:
        _decode(&src[0], n, &rows[0], mask)


def _vector_path(avx2=None):
    """Which whole-block transposes the codec uses: "avx2" (chosen at run time where
    the CPU has it) or "baseline" (SSE2 on x86-64, 64-bit words elsewhere). For tests:
    ``avx2=False`` forces the baseline, ``avx2=True`` asks for AVX2 again (granted
    only where the CPU runs it). Both paths write and read the same bytes."""
    if avx2 is not None:
        z6_shuffle_set_avx2(1 if avx2 else 0)
    return "avx2" if z6_shuffle_use_avx2() else "baseline"


def add_kind_counts(records, counts):
    """Add each record's kind (contiguous EVENT_DTYPE ``records``) to ``counts`` (a
    contiguous int64 array, index = kind); returns the largest kind seen, or -1 for
    no records. When that is not below ``len(counts)`` nothing was added: the caller
    grows ``counts`` and calls again. One pass without the GIL (numpy's bincount
    holds it, and first widens the whole column)."""
    if records.dtype.itemsize != sizeof(event_t) or not records.flags.c_contiguous or records.ndim != 1:
        raise ValueError("add_kind_counts needs a contiguous 1-d array of event records")
    if counts.dtype != np.int64 or not counts.flags.c_contiguous or counts.ndim != 1:
        raise ValueError("add_kind_counts needs a contiguous 1-d int64 array of counts")
    cdef Py_ssize_t i, n = records.shape[0], slots = counts.shape[0]
    if n == 0:
        return -1
    cdef const uint8_t[::1] raw = records.view(np.uint8)
    cdef const event_t* ev = <const event_t*>&raw[0]
    cdef int64_t[::1] out = counts
    cdef uint16_t largest = 0, kind
    # One pass into four small tables on the stack, taken in turn: consecutive
    # records of one kind then add to different words instead of each waiting
    # for the last one's store. Kinds beyond the tables (none in a run today) are
    # counted in a second pass.
    cdef int64_t local[4][_LOCAL_KINDS]
    cdef int64_t beyond = 0
    cdef Py_ssize_t k
    memset(local, 0, sizeof(local))
    with nogil:
        for i in range(n):
            kind = ev[i].kind
            if kind > largest:
                largest = kind
            if kind < _LOCAL_KINDS:
                local[i & 3][kind] += 1
            else:
                beyond += 1
        if largest < slots:
            for k in range(min(<Py_ssize_t>_LOCAL_KINDS, slots)):
                out[k] += local[0][k] + local[1][k] + local[2][k] + local[3][k]
            if beyond:
                for i in range(n):
                    if ev[i].kind >= _LOCAL_KINDS:
                        out[ev[i].kind] += 1
    return largest


def add_encoded_kind_counts(data, Py_ssize_t n, counts):
    """`add_kind_counts` for a chunk already encoded: ``data`` holds `encode_columns`'
    bytes for ``n`` records, and the kinds are read from the kind column's two byte
    planes (n bytes each, contiguous) rather than from every 32-byte record, so
    the log's writer counts a chunk from 2 bytes a record it has just written
    instead of reading the whole chunk again. Same contract: returns the largest
    kind (-1 for none); nothing is added when it is not below ``len(counts)``."""
    if n < 0:
        raise ValueError(f"add_encoded_kind_counts: n must not be negative, got {n}")
    if counts.dtype != np.int64 or not counts.flags.c_contiguous or counts.ndim != 1:
        raise ValueError("add_encoded_kind_counts needs a contiguous 1-d int64 array of counts")
    cdef const uint8_t[::1] raw = memoryview(data).cast("B")
    if n > raw.shape[0] // RECORD_SIZE:     # not n * 32 > size: that product could wrap
        raise ValueError(f"add_encoded_kind_counts: {raw.shape[0]} bytes hold fewer than {n} encoded records")
    if n == 0:
        return -1
    cdef Py_ssize_t i, at = 0, slots = counts.shape[0]
    cdef int c
    for c in range(_KIND_COLUMN):
        at += _WIDTH[c] * n
    cdef const uint8_t* low = &raw[at]
    cdef const uint8_t* high = low + n
    cdef int64_t[::1] out = counts
    cdef int64_t local[4][256]
    cdef uint8_t any_high = 0
    cdef uint16_t kind, largest = 0
    with nogil:
        for i in range(n):          # vectorized by the compiler: a run's kinds are all below 256
            any_high |= high[i]
        if any_high == 0:
            # Four tables taken in turn, as add_kind_counts: a run of one kind adds
            # to different words instead of each waiting for the last one's store.
            memset(local, 0, sizeof(local))
            for i in range(0, n - 3, 4):
                local[0][low[i]] += 1
                local[1][low[i + 1]] += 1
                local[2][low[i + 2]] += 1
                local[3][low[i + 3]] += 1
            for i in range(n - n % 4, n):
                local[0][low[i]] += 1
            for i in range(256):
                if local[0][i] | local[1][i] | local[2][i] | local[3][i]:
                    largest = <uint16_t>i
            if largest < slots:
                for i in range(min(<Py_ssize_t>256, slots)):
                    out[i] += local[0][i] + local[1][i] + local[2][i] + local[3][i]
        else:
            for i in range(n):
                kind = low[i] | (<uint16_t>high[i] << 8)
                if kind > largest:
                    largest = kind
            if largest < slots:
                for i in range(n):
                    out[low[i] | (<uint16_t>high[i] << 8)] += 1
    return largest


def records_sound(records, previous_tick, int64_t n_names, int64_t first_vu, int64_t vu_step, int64_t n_vus,
                  int64_t n_kinds):
    """True when every record of ``records`` (contiguous EVENT_DTYPE) could have been
    written by the run a log's header describes: ticks never go back (nor below
    ``previous_tick``, the record before them, when not None), kinds below ``n_kinds``,
    request indices below ``n_names`` or 0xFFFF, VU ids 0 or ``first_vu + k * vu_step``
    for k below ``n_vus``. One pass without the GIL; the reader asks for the reason
    (a slower pass) only when this says False."""
    if records.dtype.itemsize != sizeof(event_t) or not records.flags.c_contiguous or records.ndim != 1:
        raise ValueError("records_sound needs a contiguous 1-d array of event records")
    if vu_step < 1:
        raise ValueError(f"records_sound: vu_step must be at least 1, got {vu_step}")
    cdef Py_ssize_t i, n = records.shape[0]
    if n == 0:
        return True
    cdef const uint8_t[::1] raw = records.view(np.uint8)
    cdef const event_t* ev = <const event_t*>&raw[0]
    cdef bint has_previous = previous_tick is not None
    cdef uint64_t last = previous_tick if has_previous else 0
    cdef int64_t k
    cdef bint sound = True
    with nogil:
        for i in range(n):
            if (has_previous or i > 0) and ev[i].tick < last:
                sound = False
                break
            last = ev[i].tick
            if ev[i].kind >= n_kinds or (ev[i].request >= n_names and ev[i].request != 0xFFFF):
                sound = False
                break
            if ev[i].vu_id != 0:
                k = <int64_t>ev[i].vu_id - first_vu
                if k < 0 or k % vu_step != 0 or k // vu_step >= n_vus:
                    sound = False
                    break
    return sound
