"""A plan's compiled templates as the core's flat tables (`z6core.TemplateTables`).

Each templated request becomes head segments (request line, Host, User-Agent,
the scenario's headers: everything before Content-Length) and body segments;
the core adds ``Content-Length`` from the rendered body and the blank line.
Non-templated requests get no segments: the driver sends their pre-serialised
bytes (`serialize_request`) as before. Every value segment carries its context
(path: percent-encoded; header: CR/LF/NUL refused; body: as is).
"""

from __future__ import annotations

from typing import Optional

import numpy as np
import z6core

from z6.live._request import _BODY_METHODS, request_target

__all__ = ["WireTemplates", "wire_templates"]

_KIND = z6core.SEGMENT_KINDS
_CTX = z6core.CONTEXTS
_PICK = z6core.PICKS
_U64 = 2**64


class WireTemplates:
    """What `z6core.TemplateTables` reads (its fields as numpy arrays and bytes)."""

    def __init__(self) -> None:
        self._part_start = 0
        self.segments: list[tuple[int, int, int, int]] = []
        self.requests: list[tuple[int, int, int, int, int, int, int]] = []
        self.literals = bytearray()
        self.choices: list[int] = []
        self.data: list = []
        self.total_vus = 1
        self.pass_len = 1
        self.var_max: list[int] = []  # per variable (issue 15's extraction): the most bytes it holds
        self.var_default: list[int] = []  # per variable: (offset, length) into the literals; VAR_UNSET: none
        self.authority = b""  # the Host and User-Agent values rendered into the heads
        self.user_agent = b""

    def _literal(self, value: bytes, context: str) -> None:
        # Adjacent literals merge into one segment.
        last = self.segments[-1] if self.segments else None
        if last is not None and last[0] == _KIND["literal"] and last[2] + last[3] == len(self.literals) \
                and len(self.segments) > self._part_start:
            self.segments[-1] = (last[0], last[1], last[2], last[3] + len(value))
        else:
            self.segments.append((_KIND["literal"], _CTX[context], len(self.literals), len(value)))
        self.literals += value

    def add(self, segments, context: str) -> None:
        for seg in segments:
            kind = seg[0]
            if kind == "literal":
                if seg[1]:
                    self._literal(seg[1], context)
            elif kind == "data":
                self.segments.append((_KIND["data"], _CTX[context], seg[1], seg[2]))
            elif kind == "random.int":
                self.segments.append((_KIND["random.int"], _CTX[context], seg[1] % _U64, seg[2] % _U64))
            elif kind == "random.choice":
                first = len(self.choices) // 2
                for item in seg[1]:
                    self.choices += [len(self.literals), len(item)]
                    self.literals += item
                self.segments.append((_KIND["random.choice"], _CTX[context], first, len(seg[1])))
            elif kind == "random.hex":
                self.segments.append((_KIND["random.hex"], _CTX[context], seg[1], 0))
            elif kind == "var":
                self.segments.append((_KIND["var"], _CTX[context], seg[1], 0))
            else:
                self.segments.append((_KIND[kind], _CTX[context], 0, 0))

    def begin_part(self) -> int:
        self._part_start = len(self.segments)
        return self._part_start


def wire_templates(plan_templates, requests, host_authority: bytes, user_agent: bytes,
                   path_prefix: str = "") -> Optional[WireTemplates]:
    """The core's tables for ``plan_templates`` (`z6.plan.RequestTemplates`), the
    scenario's ``requests`` beside them; None when no request is templated. The
    result pickles (a distributed run ships it to its workers); the driver loads
    it into a `z6core.TemplateTables`, which is built once here too, so a broken
    table fails before the run."""
    if plan_templates is None or not plan_templates.any_templated:
        return None
    w = WireTemplates()
    w.authority, w.user_agent = host_authority, user_agent
    for request, t in zip(requests, plan_templates.requests):
        if not t.templated:
            w.requests.append((0, 0, 0, 0, 0, 0, 0))
            continue
        head_first = w.begin_part()
        w.add((("literal", request.method.encode("ascii") + b" "
                + request_target(path_prefix, "").encode("ascii")),), "path")
        w.add(t.path, "path")
        w.add((("literal", b" HTTP/1.1\r\n"),), "path")
        names = {name.lower() for name, _ in request.headers}
        if "host" not in names:
            w.add((("literal", b"Host: " + host_authority + b"\r\n"),), "header")
        if "user-agent" not in names:
            w.add((("literal", b"User-Agent: " + user_agent + b"\r\n"),), "header")
        for name, segments in t.headers:
            w.add((("literal", name.encode("ascii") + b": "),), "header")
            w.add(segments, "header")
            w.add((("literal", b"\r\n"),), "header")
        head_count = len(w.segments) - head_first
        body_first = w.begin_part()
        if t.body is not None:
            w.add(t.body, "body")
        body_count = len(w.segments) - body_first
        content_length = 1 if (t.body is not None or request.method.upper() in _BODY_METHODS) else 0
        w.requests.append((head_first, head_count, body_first, body_count, content_length, 0, 0))
    w.total_vus = plan_templates.total_vus
    w.pass_len = plan_templates.pass_len
    w.data = [_CoreData(t) for t in plan_templates.data]
    for variable in plan_templates.variables:
        w.var_max.append(variable.max_bytes)
        if variable.default is None:
            w.var_default += [0, z6core.VAR_UNSET]
        else:
            w.var_default += [len(w.literals), len(variable.default)]
            w.literals += variable.default
    w.segments = np.array(w.segments, dtype=z6core.SEGMENT_DTYPE) if w.segments else np.zeros(0, z6core.SEGMENT_DTYPE)
    w.requests = np.array(w.requests, dtype=z6core.TEMPLATE_REQUEST_DTYPE)
    w.literals = bytes(w.literals)
    w.choices = np.array(w.choices, dtype=np.uint32)
    w.var_max = np.array(w.var_max, dtype=np.uint32)
    w.var_default = np.array(w.var_default, dtype=np.uint32)
    del w._part_start
    z6core.TemplateTables(w, len(requests))
    return w


class _CoreData:
    # A DataTable as the core reads it.
    def __init__(self, table) -> None:
        self.pick = _PICK[table.pick]
        self.n_cols = table.n_cols
        self.cells = table.cells
        self.arena = table.arena
