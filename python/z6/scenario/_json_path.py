"""JSON paths of response checks, and the values they are compared with, in the
byte forms the core's scanner reads (`src/z6core/z6_json.h`, docs/scenario.md
"Checks").

A path is dotted keys: ``items.0.id`` is the member ``items``, then (in an
array) element 0 or (in an object) the member ``"0"``, then ``id``. ``\\.``
is a literal dot inside a key and ``\\\\`` a backslash. The empty path is not
allowed (a check needs a value to look at).

Compiled, a path is its segments, each a 4-byte little-endian length then the
key's UTF-8 bytes; an expected value is one tag byte then its payload: ``s`` +
UTF-8, ``i`` + int64 LE, ``f`` + float64 LE, ``b`` + one byte 0/1, ``z`` (null
is not a TOML value, so ``z`` is never produced here).
"""

from __future__ import annotations

import struct

__all__ = ["parse_json_path", "compile_json_path", "encode_expected", "MAX_PATH_SEGMENTS"]

# The scanner tracks depth with a fixed counter; a deeper path could never match.
MAX_PATH_SEGMENTS = 64


def parse_json_path(text: str) -> tuple[str, ...]:
    """The keys of ``text``; ValueError saying what is wrong and at which character."""
    if not text:
        raise ValueError("must be a non-empty path such as \"items.0.id\"")
    segments: list[str] = []
    key: list[str] = []
    i = 0
    while i < len(text):
        ch = text[i]
        if ch == "\\":
            if i + 1 >= len(text) or text[i + 1] not in ".\\":
                raise ValueError(f"character {i + 1}: a backslash escapes only \".\" or \"\\\\\"")
            key.append(text[i + 1])
            i += 2
            continue
        if ch == ".":
            if not key:
                raise ValueError(f"character {i + 1}: empty key (two dots, or a dot at the start)")
            segments.append("".join(key))
            key = []
        else:
            key.append(ch)
        i += 1
    if not key:
        raise ValueError(f"character {len(text)}: empty key (a dot at the end)")
    segments.append("".join(key))
    if len(segments) > MAX_PATH_SEGMENTS:
        raise ValueError(f"at most {MAX_PATH_SEGMENTS} keys, got {len(segments)}")
    return tuple(segments)


def compile_json_path(segments: tuple[str, ...]) -> bytes:
    out = bytearray()
    for key in segments:
        raw = key.encode("utf-8")
        out += struct.pack("<I", len(raw)) + raw
    return bytes(out)


def encode_expected(value: object) -> bytes:
    """The tagged bytes of a TOML scalar; ValueError for anything else."""
    if isinstance(value, bool):
        return b"b" + (b"\x01" if value else b"\x00")
    if isinstance(value, int):
        if not -(2**63) <= value < 2**63:
            raise ValueError(f"an integer to compare must fit in 64 bits, got {value}")
        return b"i" + struct.pack("<q", value)
    if isinstance(value, float):
        if value != value:
            raise ValueError("nan equals nothing: compare with a number")
        return b"f" + struct.pack("<d", value)
    if isinstance(value, str):
        return b"s" + value.encode("utf-8")
    raise ValueError(f"only a string, number or boolean can be compared, got {type(value).__name__}")
