"""Response checks compiled into the flat tables the core reads (`_plan.pxd`).

Request r's checks are ``[check_first[r], check_first[r + 1])``, numbered in the
request's order (status, body_contains, body_not_contains, headers, JSON paths).
Each has a kind (`z6.scenario.CHECK_KINDS` index) and three numbers into one byte
pool: a status check's statuses are ``b`` little-endian u16 at ``a``; a body
check's text is ``b`` bytes at ``a``; a header check's lower-cased name is ``b``
bytes at ``a`` and its value the ``c`` bytes after it; a JSON check's compiled
path is ``b`` bytes at ``a`` and its tagged expected value the ``c`` bytes after it
(`z6.scenario._json_path`). An extraction's argument (compiled JSON path,
lower-cased header name, or POSIX regex) is ``b`` bytes at ``a``, followed by its
variable's max_bytes and its regex group as two little-endian u32; ``c`` is its
variable's index in ``scenario.variables``. ``capture[r]`` says what a live response must keep:
0 nothing, 1 its head (header checks), 2 head and body, up to ``capture_max[r]``
body bytes.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

import numpy as np

from z6.scenario import CHECK_KINDS, Scenario
from z6.scenario._json_path import compile_json_path, encode_expected, parse_json_path

__all__ = ["CheckTables", "compile_checks", "CAPTURE_NONE", "CAPTURE_HEAD", "CAPTURE_BODY"]

CAPTURE_NONE, CAPTURE_HEAD, CAPTURE_BODY = 0, 1, 2
_KIND = {name: i for i, name in enumerate(CHECK_KINDS)}


@dataclass(frozen=True, eq=False)
class CheckTables:
    first: np.ndarray  # u32, n_requests + 1
    kind: np.ndarray  # u8
    a: np.ndarray  # u32
    b: np.ndarray  # u32
    c: np.ndarray  # u32
    pool: np.ndarray  # u8
    capture: np.ndarray  # u8, per request
    capture_max: np.ndarray  # u32, per request
    labels: tuple[tuple[str, ...], ...]  # per request, per check: as the summary shows it

    @property
    def count(self) -> int:
        return int(self.kind.shape[0])


def compile_checks(scenario: Scenario) -> CheckTables | None:
    """The tables of ``scenario``'s checks, or None when no request has any."""
    if not any(r.checks for r in scenario.requests):
        return None
    var_index = {v.name: i for i, v in enumerate(scenario.variables)}
    pool = bytearray()
    first, kinds, a_col, b_col, c_col, capture, capture_max, labels = [0], [], [], [], [], [], [], []
    for request in scenario.requests:
        need = CAPTURE_NONE
        for check in request.checks:
            a = len(pool)
            c = 0
            if check.kind == "status":
                raw = b"".join(struct.pack("<H", s) for s in check.statuses)
                pool += raw
                b = len(check.statuses)
            elif check.kind in ("body_contains", "body_not_contains"):
                raw = check.text.encode("utf-8")
                pool += raw
                b = len(raw)
                need = CAPTURE_BODY
            elif check.kind.startswith("extract_"):
                if check.kind == "extract_json":
                    raw = compile_json_path(parse_json_path(check.name))
                    need = CAPTURE_BODY
                elif check.kind == "extract_header":
                    raw = check.name.lower().encode("ascii")
                    need = max(need, CAPTURE_HEAD)
                else:
                    raw = check.posix.encode("utf-8")
                    need = CAPTURE_BODY
                pool += raw + struct.pack("<II", check.max_bytes, check.group)
                b, c = len(raw), var_index[check.var]
            elif check.kind == "header":
                name, value = check.name.lower().encode("ascii"), check.text.encode("latin-1")
                pool += name + value
                b, c = len(name), len(value)
                need = max(need, CAPTURE_HEAD)
            else:
                path, expected = compile_json_path(parse_json_path(check.name)), encode_expected(check.value)
                pool += path + expected
                b, c = len(path), len(expected)
                need = CAPTURE_BODY
            kinds.append(_KIND[check.kind])
            a_col.append(a)
            b_col.append(b)
            c_col.append(c)
        first.append(len(kinds))
        capture.append(need)
        capture_max.append(request.max_capture_bytes or scenario.target.max_capture_bytes)
        labels.append(tuple(check.label for check in request.checks))
    return CheckTables(
        first=np.array(first, dtype=np.uint32),
        kind=np.array(kinds, dtype=np.uint8),
        a=np.array(a_col, dtype=np.uint32),
        b=np.array(b_col, dtype=np.uint32),
        c=np.array(c_col, dtype=np.uint32),
        pool=np.frombuffer(bytes(pool) or b"\0", dtype=np.uint8).copy(),
        capture=np.array(capture, dtype=np.uint8),
        capture_max=np.array(capture_max, dtype=np.uint32),
        labels=tuple(labels),
    )
