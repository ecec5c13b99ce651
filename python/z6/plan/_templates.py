"""The template language of request paths, header values and bodies, compiled
once (in Python) into segments: literal bytes or a value reference.

    ${vu}                      the 1-based VU id
    ${iteration}               the VU's iteration, from 0
    ${data.NAME.COLUMN}        a column of the VU's current row of [[data]] NAME
    ${random.int(A,B)}         an integer in [A, B] (64-bit signed)
    ${random.choice(a|b|c)}    one of the listed values
    ${random.uuid}             a version 4 UUID
    ${random.hex(N)}           N hex digits, 1 <= N <= 4096
    ${env.NAME}                an environment variable, read once at start
    ${var.NAME}                the VU's variable NAME, extracted from a response (`extract`)
    $$                         a literal "$" (a "$" before anything but "{" or "$" is literal too)

A problem is a `TemplateProblem`: the column (and line, in a multi-line body) of
the expression and what is wrong. Value kinds are a closed table (`_VALUE_KINDS`
and `_parse_expression`); a new kind is one more entry there and in `z6_tmpl.h`.

`${env...}` is resolved here, so the core only ever sees it as a literal: in a
path it is percent-encoded now, in a header value a CR, LF or NUL is refused now.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Mapping

from z6.errors import ConfigError

__all__ = ["Segment", "TemplateProblem", "compile_template", "percent_encode", "has_template", "MAX_HEX_DIGITS",
           "INT64_MIN", "INT64_MAX"]

MAX_HEX_DIGITS = 4096
INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1
_NAME = r"[A-Za-z_][A-Za-z0-9_]*"
_INT = re.compile(r"\s*(-?[0-9]+)\s*")
_ENV = re.compile(rf"env\.({_NAME})")
_DATA = re.compile(rf"data\.({_NAME})\.(.+)")
_VAR = re.compile(rf"var\.({_NAME})")
_CALL = re.compile(r"(random\.[a-z]+)\((.*)\)", re.S)
_KNOWN = ("vu", "iteration", "data.NAME.COLUMN", "random.int(A,B)", "random.choice(a|b)", "random.uuid",
          "random.hex(N)", "env.NAME", "var.NAME")
# RFC 3986 unreserved and sub-delims: what a path value keeps as it is (z6_tmpl.h's z6_path_safe).
_PATH_SAFE = frozenset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~!$&'()*+,;=")

# A segment: ("literal", bytes) | ("vu",) | ("iteration",) | ("data", file index, column index)
# | ("random.int", low, high) | ("random.choice", (bytes, ...)) | ("random.uuid",) | ("random.hex", digits)
# | ("var", variable index)
Segment = tuple


class TemplateProblem(ConfigError):
    """A template that does not compile: where (key path), the column, what is wrong."""

    def __init__(self, where: str, text: str, offset: int, message: str) -> None:
        line = text.count("\n", 0, offset) + 1
        column = offset - (text.rfind("\n", 0, offset) + 1) + 1
        place = f"line {line}, column {column}" if "\n" in text else f"column {column}"
        self.column = column
        self.line = line
        super().__init__(f"{where}: {place}: {message}")


def percent_encode(value: bytes) -> bytes:
    """``value`` for a path: bytes outside RFC 3986's unreserved and sub-delims as %XX."""
    return b"".join(bytes((c,)) if c in _PATH_SAFE else b"%%%02X" % c for c in value)


def has_template(text: str) -> bool:
    """True when ``text`` holds an expression or a ``$$`` (it renders to other than itself)."""
    return "${" in text or "$$" in text


@dataclass(frozen=True)
class DataColumns:
    """What the compiler needs of a data file: its index and columns."""

    index: int
    columns: tuple[str, ...]
    path: str


def _parse_expression(expr: str, fail, data: Mapping[str, DataColumns], env: Mapping[str, str],
                      context: str, variables: Mapping[str, int]) -> Segment:
    if expr == "vu":
        return ("vu",)
    if expr == "iteration":
        return ("iteration",)
    if expr == "random.uuid":
        return ("random.uuid",)
    m = _ENV.fullmatch(expr)
    if m:
        if m.group(1) not in env:
            fail(f"environment variable {m.group(1)} is not set")
        value = env[m.group(1)].encode("utf-8")
        if context == "header" and any(c in value for c in b"\r\n\0"):
            fail(f"environment variable {m.group(1)} holds CR, LF or NUL, which a header value must not")
        return ("literal", percent_encode(value) if context == "path" else value)
    m = _VAR.fullmatch(expr)
    if m:
        if m.group(1) not in variables:
            fail(f"no request extracts a variable {m.group(1)!r} (a request's extract = {{ {m.group(1)} = ... }} "
                 "sets it)" + (f"; extracted: {sorted(variables)}" if variables else ""))
        return ("var", variables[m.group(1)])
    m = _DATA.fullmatch(expr)
    if m:
        name, column = m.group(1), m.group(2)
        if name not in data:
            fail(f"no [[data]] table is named {name!r}" + (f" (there are {sorted(data)})" if data else ""))
        table = data[name]
        if column not in table.columns:
            fail(f"data file {table.path} has no column {column!r} (its header has {list(table.columns)})")
        return ("data", table.index, table.columns.index(column))
    m = _CALL.fullmatch(expr)
    if m:
        func, args = m.group(1), m.group(2)
        if func == "random.int":
            parts = args.split(",")
            bounds = [_INT.fullmatch(p) for p in parts]
            if len(parts) != 2 or not all(bounds):
                fail(f"random.int takes two integers, random.int(A,B), got {_brief(args)!r}")
            # Length first: int() refuses more than 4300 digits, and no 64-bit bound has 20.
            if any(len(b.group(1).lstrip("-")) > 19 for b in bounds):
                fail(f"random.int's bounds must be 64-bit signed integers, got {_brief(args)!r}")
            low, high = (int(b.group(1)) for b in bounds)
            if not (INT64_MIN <= low <= INT64_MAX and INT64_MIN <= high <= INT64_MAX):
                fail(f"random.int's bounds must be 64-bit signed integers, got {low} and {high}")
            if low > high:
                fail(f"random.int(A,B) needs A <= B, got {low} > {high}")
            return ("random.int", low, high)
        if func == "random.choice":
            items = tuple(item.encode("utf-8") for item in args.split("|"))
            if args == "":
                fail("random.choice needs at least one value, random.choice(a|b|c)")
            if context == "header" and any(c in item for item in items for c in b"\r\n\0"):
                fail("a random.choice value in a header must not hold CR, LF or NUL")
            return ("random.choice", items)
        if func == "random.hex":
            n = _INT.fullmatch(args)
            if not n or len(n.group(1)) > 19 or not 1 <= int(n.group(1)) <= MAX_HEX_DIGITS:
                fail(f"random.hex(N) takes a number of digits from 1 to {MAX_HEX_DIGITS}, got {_brief(args)!r}")
            return ("random.hex", int(n.group(1)))
    fail(f"unknown value {_brief(expr)!r} (known: {', '.join(_KNOWN)})")
    raise AssertionError("unreachable")


def _brief(text: str, limit: int = 60) -> str:
    """``text`` cut to ``limit`` characters: a message quotes an expression, not pages of it."""
    return text if len(text) <= limit else text[:limit - 3] + "..."


def compile_template(text: str, where: str, context: str, data: Mapping[str, DataColumns],
                     env: Mapping[str, str], variables: Mapping[str, int] | None = None) -> tuple[Segment, ...]:
    """``text`` as segments (adjacent literals merged); TemplateProblem at the first
    expression that does not compile. ``context`` is "path", "header" or "body";
    ``variables``: the extracted variables' indices by name."""
    out: list[Segment] = []
    literal = bytearray()
    i, n = 0, len(text)
    while i < n:
        j = text.find("$", i)
        if j < 0 or j + 1 >= n:
            literal += text[i:].encode("utf-8")
            break
        literal += text[i:j].encode("utf-8")
        nxt = text[j + 1]
        if nxt == "$":
            literal += b"$"
            i = j + 2
            continue
        if nxt != "{":
            literal += b"$"
            i = j + 1
            continue
        close = text.find("}", j + 2)
        if close < 0:
            raise TemplateProblem(where, text, j, "unclosed ${ (no } after it)")
        expr = text[j + 2:close]

        def fail(message: str, _at: int = j) -> None:
            raise TemplateProblem(where, text, _at, f"${{{_brief(expr)}}}: {message}")

        segment = _parse_expression(expr, fail, data, env, context, variables or {})
        if segment[0] == "literal":
            literal += segment[1]
        else:
            if literal:
                out.append(("literal", bytes(literal)))
                literal = bytearray()
            out.append(segment)
        i = close + 1
    if literal:
        out.append(("literal", bytes(literal)))
    return tuple(out)
