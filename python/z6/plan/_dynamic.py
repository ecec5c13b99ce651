"""Dynamic requests: the scenario's data files loaded and its templates compiled,
once, into what a plan carries (`RequestTemplates`) and what caps VUs
(``unique_rows``).

A request is templated when its path, a header value or its body (a
``body_file`` only with ``template = true``) holds an expression or ``$$``; the
others are sent pre-serialised as before. The live target turns these into the
core's flat tables (`z6.live.wire_templates`), adding the Host and User-Agent
lines it alone knows.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Mapping, Optional

import numpy as np

from z6.errors import ConfigError
from z6.plan._datafiles import DataTable, load_data
from z6.plan._templates import DataColumns, Segment, compile_template, has_template
from z6.scenario import MAX_BODY_BYTES

__all__ = ["RequestTemplate", "RequestTemplates", "compile_request_templates"]


@dataclass(frozen=True)
class RequestTemplate:
    """One request's parts as segments (None: that part is a plain literal)."""

    templated: bool
    path: tuple[Segment, ...]
    headers: tuple[tuple[str, tuple[Segment, ...]], ...]
    body: Optional[tuple[Segment, ...]]


@dataclass(frozen=True, eq=False)
class RequestTemplates:
    """The compiled templates of a plan's requests and the data files they read."""

    requests: tuple[RequestTemplate, ...]
    data: tuple[DataTable, ...]
    total_vus: int  # the whole run's VU count (a shard keeps it): the row formulas' VUs
    pass_len: int  # requests per iteration
    warnings: tuple[str, ...] = ()
    variables: tuple = ()  # the scenario's extracted variables (z6.scenario.Variable), indexed by ${var.NAME}

    @property
    def any_templated(self) -> bool:
        return any(r.templated for r in self.requests)


def _literal(text: str) -> tuple[Segment, ...]:
    return (("literal", text.encode("utf-8")),) if text else ()


def _body_text(request, where: str) -> str:
    try:
        return request.body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raw = request.body
        line = raw.count(b"\n", 0, exc.start) + 1
        column = exc.start - (raw.rfind(b"\n", 0, exc.start) + 1) + 1
        raise ConfigError(f"{where}: a template = true body_file must be UTF-8: {request.body_file}:{line}:{column}: "
                          f"byte 0x{raw[exc.start]:02x}") from None


def compile_request_templates(scenario, total_vus: int, pass_len: int,
                              env: Optional[Mapping[str, str]] = None) -> Optional[RequestTemplates]:
    """Load ``scenario``'s data files and compile its templates; None when the
    scenario has neither. ConfigError (exit 2) names the file or key, the line
    and column, and what is wrong."""
    src = scenario.source
    env = os.environ if env is None else env
    if not scenario.data and not any(
            has_template(r.path) or any(has_template(v) for _, v in r.headers)
            or (r.body is not None and (r.template or r.body_file is None) and b"$" in r.body)
            for r in scenario.requests):
        return None
    tables = tuple(load_data(source, f"{src}: data[{i}] ({source.name})") for i, source in enumerate(scenario.data))
    columns = {t.name: DataColumns(i, t.columns, t.path) for i, t in enumerate(tables)}
    variables = {v.name: i for i, v in enumerate(scenario.variables)}
    compiled = []
    for i, r in enumerate(scenario.requests):
        where = f"{src}: requests[{i}]"
        path = compile_template(r.path, f"{where}.path", "path", columns, env, variables)
        headers = tuple((name, compile_template(value, f"{where}.headers.{name}", "header", columns, env, variables))
                        for name, value in r.headers)
        templated = has_template(r.path) or any(has_template(v) for _, v in r.headers)
        body = None
        if r.body is not None:
            if r.body_file is None or r.template:
                text = _body_text(r, f"{where}.body_file")
                key = "body_file" if r.body_file is not None else "body"
                body = compile_template(text, f"{where}.{key}", "body", columns, env, variables)
                templated = templated or has_template(text)
            else:
                body = (("literal", r.body),) if r.body else ()
        compiled.append(RequestTemplate(templated=templated, path=path, headers=headers, body=body))
    warnings = tuple(w for t in tables for w in t.warnings)
    _defaults_fit_headers(scenario, compiled, src)
    _renders_fit(scenario, compiled, tables, src)
    return RequestTemplates(requests=tuple(compiled), data=tables, total_vus=total_vus, pass_len=pass_len,
                            warnings=warnings, variables=tuple(scenario.variables))


# The most bytes a value of each kind renders to (z6_tmpl.h): a signed 64-bit
# integer, an iteration (unsigned 64-bit), a VU id, a UUID.
_FIXED_WIDTH = {"random.int": 20, "iteration": 20, "vu": 10, "random.uuid": 36}


def _longest_cells(table: DataTable) -> np.ndarray:
    # The longest cell of each column, in bytes.
    lengths = np.diff(table.cells.astype(np.int64)).reshape(table.n_rows, table.n_cols)
    return lengths.max(axis=0)


def _most_bytes(segments, context: str, longest: list[np.ndarray], variables) -> int:
    """The most bytes ``segments`` can render to: a path's values are
    percent-encoded (up to three bytes each). The rule of the core's own bound
    (`z6core._template`'s ``_bound``, which sizes a live run's buffers from the
    wire layout), taken here from the plan's segments so that `z6 validate` and
    simulated runs refuse the same templates."""
    grow = 3 if context == "path" else 1
    total = 0
    for seg in segments:
        kind = seg[0]
        if kind == "literal":
            total += len(seg[1])
        elif kind == "random.hex":
            total += seg[1]
        elif kind == "random.choice":
            total += grow * max(len(item) for item in seg[1])
        elif kind == "data":
            total += grow * int(longest[seg[1]][seg[2]])
        elif kind == "var":
            total += grow * variables[seg[1]].max_bytes
        else:
            total += _FIXED_WIDTH[kind]
    return total


def _renders_fit(scenario, compiled, tables, src: str) -> None:
    # Each VU renders its requests into a buffer of its own: a template that can
    # render past MAX_BODY_BYTES (random.hex(4096) three thousand times, a data
    # column of long cells) is refused now, as a static body that large is,
    # rather than grow every VU's buffer to it.
    longest = [_longest_cells(t) for t in tables]
    for i, t in enumerate(compiled):
        if not t.templated:
            continue
        head = _most_bytes(t.path, "path", longest, scenario.variables) + sum(
            _most_bytes(segs, "header", longest, scenario.variables) for _, segs in t.headers)
        if head > MAX_BODY_BYTES:
            raise ConfigError(f"{src}: requests[{i}]: the path and headers can render to {head} bytes, at most "
                              f"{MAX_BODY_BYTES} (values at their longest: random.hex(N), data cells, variables' "
                              "max_bytes)")
        body = _most_bytes(t.body or (), "body", longest, scenario.variables)
        if body > MAX_BODY_BYTES:
            key = "body_file" if scenario.requests[i].body_file is not None else "body"
            raise ConfigError(f"{src}: requests[{i}].{key}: can render to {body} bytes, at most {MAX_BODY_BYTES} "
                              "(values at their longest: random.hex(N), data cells, variables' max_bytes)")


def _defaults_fit_headers(scenario, compiled, src: str) -> None:
    # A variable's default is known now: one a header reads must not hold CR, LF or NUL.
    for i, t in enumerate(compiled):
        for name, segments in t.headers:
            for seg in segments:
                if seg[0] != "var":
                    continue
                variable = scenario.variables[seg[1]]
                if variable.default is not None and any(c in variable.default for c in b"\r\n\0"):
                    raise ConfigError(f"{src}: requests[{i}].headers.{name}: the default of variable "
                                      f"{variable.name!r} holds CR, LF or NUL, which a header value must not")
