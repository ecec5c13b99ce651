"""The coordinator <-> shard protocol: length-framed messages on one TCP
connection per shard.

A frame is a 9-byte header (``<BQ``: message type, payload length) and the
payload. Control messages carry JSON; a chunk carries a fixed ``<QQQQQ``
progress header and then the raw 32-byte event records, so events cross the
wire as their own bytes, never pickled. TCP flow control is the back-pressure:
a shard whose events the coordinator is not ready to merge blocks in send().
"""

from __future__ import annotations

import json
import socket
import struct
from typing import Any, NamedTuple, Optional

import numpy as np

from z6core import EVENT_DTYPE

__all__ = [
    "HELLO", "START", "CHUNK", "DONE", "FAIL", "STOP", "CANCEL",
    "send_json", "send_chunk", "send_signal", "recv_frame", "parse_introduction", "ChunkHeader", "WireError",
    "FINISHED", "MAX_INTRODUCTION",
]

HELLO, START, CHUNK, DONE, FAIL, STOP, CANCEL = range(1, 8)
_FRAME = struct.Struct("<BQ")
# watermark (every event with a smaller tick has been sent), the engine's tick,
# active VUs, requests issued, events emitted (the last three: totals so far)
_CHUNK = struct.Struct("<QQQQQ")
_MAX_JSON = 1 << 20
# A connection's first frame (HELLO, or FAIL before it) is small; anything
# bigger is not a shard of this run.
MAX_INTRODUCTION = 4096
_MAX_CHUNK = 1 << 31
FINISHED = 2**64 - 1  # a watermark meaning: this shard has sent every event


class WireError(ConnectionError):
    """The peer sent something that is not a frame of this protocol."""


class ChunkHeader(NamedTuple):
    watermark: int
    tick: int
    active_vus: int
    requests_issued: int
    events_emitted: int


def send_json(sock: socket.socket, kind: int, body: dict[str, Any]) -> None:
    data = json.dumps(body, separators=(",", ":")).encode()
    sock.sendall(_FRAME.pack(kind, len(data)) + data)


def send_signal(sock: socket.socket, kind: int) -> None:
    sock.sendall(_FRAME.pack(kind, 0))


def send_chunk(sock: socket.socket, records: np.ndarray, watermark: int, tick: int, active_vus: int,
               requests_issued: int, events_emitted: int) -> None:
    head = _CHUNK.pack(watermark, tick, active_vus, requests_issued, events_emitted)
    sock.sendall(_FRAME.pack(CHUNK, len(head) + records.nbytes) + head)
    if records.nbytes:
        sock.sendall(memoryview(records.view(np.uint8)))


def _recv_into(sock: socket.socket, view: memoryview) -> None:
    got = 0
    while got < len(view):
        n = sock.recv_into(view[got:])
        if n == 0:
            raise ConnectionResetError("the connection closed mid-message" if got else "the connection closed")
        got += n


def recv_frame(sock: socket.socket) -> tuple[int, Any]:
    """One message: ``(kind, payload)`` with JSON decoded and a chunk as
    ``(ChunkHeader, records)``. Raises ConnectionError when the peer is gone."""
    head = bytearray(_FRAME.size)
    _recv_into(sock, memoryview(head))
    kind, length = _FRAME.unpack(head)
    if kind == CHUNK:
        if length < _CHUNK.size or (length - _CHUNK.size) % EVENT_DTYPE.itemsize or length > _MAX_CHUNK:
            raise WireError(f"a chunk frame of {length} bytes is not a whole number of events")
        meta = bytearray(_CHUNK.size)
        _recv_into(sock, memoryview(meta))
        records = np.empty((length - _CHUNK.size) // EVENT_DTYPE.itemsize, dtype=EVENT_DTYPE)
        if records.size:
            _recv_into(sock, memoryview(records.view(np.uint8)))
        return kind, (ChunkHeader._make(_CHUNK.unpack(meta)), records)
    if kind in (STOP, CANCEL):
        if length:
            raise WireError(f"a control frame carries {length} bytes")
        return kind, None
    if kind not in (HELLO, START, DONE, FAIL) or length > _MAX_JSON:
        raise WireError(f"unknown frame type {kind} ({length} bytes)")
    data = bytearray(length)
    _recv_into(sock, memoryview(data))
    try:
        body = json.loads(data)
    except ValueError as exc:
        raise WireError(f"a frame of type {kind} does not hold JSON: {exc}") from None
    if not isinstance(body, dict):
        raise WireError(f"a frame of type {kind} does not hold a JSON object")
    return kind, body


def parse_introduction(data: bytes) -> Optional[tuple[int, dict[str, Any]]]:
    """A connection's first frame from the bytes read so far: None while
    incomplete; WireError when it cannot be a HELLO or FAIL of this protocol
    (checked from the header on, before anything is allocated)."""
    if len(data) < _FRAME.size:
        return None
    kind, length = _FRAME.unpack_from(data)
    if kind not in (HELLO, FAIL) or length > MAX_INTRODUCTION:
        raise WireError(f"a first frame of type {kind} and {length} bytes is not an introduction")
    if len(data) < _FRAME.size + length:
        return None
    if len(data) > _FRAME.size + length:
        raise WireError("bytes after the introduction, before START")
    try:
        body = json.loads(data[_FRAME.size:])
    except ValueError as exc:
        raise WireError(f"the introduction does not hold JSON: {exc}") from None
    if not isinstance(body, dict):
        raise WireError("the introduction does not hold a JSON object")
    return kind, body
