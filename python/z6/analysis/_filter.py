"""A small filter language over event records, parsed (never evaluated as Python).

    kind == response_received and status >= 500
    request == "login" and not (error == timeout or value_ms > 250)

Grammar (keywords in any case)::

    expr       := and_expr ("or" and_expr)*
    and_expr   := unary ("and" unary)*
    unary      := "not" unary | "(" expr ")" | comparison
    comparison := operand ("==" | "=" | "!=" | "<" | "<=" | ">" | ">=") operand
    operand    := field | number | name | "quoted name"

Fields are the record's (``tick value_ns vu_id kind request status error seq``)
plus ``value_ms`` (``value_ns`` in milliseconds, a float). A comparison needs a
field on at least one side. ``kind``, ``error`` and ``request`` also compare with
names: event kinds and error codes by their lowercase names (``response_received``,
``timeout``), requests by the scenario's request names, bare or quoted (quote a
name that is not a plain identifier, or one that is also a field name). Numbers
are integers or decimals; integer fields compare exactly against any number (no
rounding through floating point).

A bad expression raises `FilterError` naming the 1-based column of the problem.
'not' and parentheses nest at most `MAX_DEPTH` (100) levels deep.
"""

from __future__ import annotations

import contextlib
import difflib
import math
import operator
import re
from dataclasses import dataclass
from typing import Callable, Iterator, Optional, Sequence, Union

import numpy as np

from z6.errors import ConfigError
from z6.events import EVENT_DTYPE, ErrorCode, EventKind

__all__ = ["Filter", "FilterError", "compile_filter", "FIELDS", "MAX_DEPTH"]

FIELDS = (*EVENT_DTYPE.names, "value_ms")
# Levels of 'not' and parentheses an expression may nest: far beyond any real
# filter, far below Python's recursion limit.
MAX_DEPTH = 100

_KIND_NAMES = {k.name.lower(): int(k) for k in EventKind}
_ERROR_NAMES = {e.name.lower(): int(e) for e in ErrorCode}

_OPS: dict[str, Callable[[np.ndarray, object], np.ndarray]] = {
    "==": operator.eq, "!=": operator.ne, "<": operator.lt, "<=": operator.le, ">": operator.gt, ">=": operator.ge,
}
# The operator seen from the other side: 500 <= status is status >= 500.
_MIRROR = {"==": "==", "!=": "!=", "<": ">", "<=": ">=", ">": "<", ">=": "<="}
_KEYWORDS = ("and", "or", "not")

_TOKEN = re.compile(r"""
    (?P<space>\s+)
  | (?P<number>-?\d(?:_?\d)*(?:\.\d(?:_?\d)*)?(?:[eE][+-]?\d+)?)
  | (?P<ident>[A-Za-z_][A-Za-z0-9_]*)
  | (?P<string>"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*')
  | (?P<op>==|!=|<=|>=|<|>|=)
  | (?P<paren>[()])
""", re.VERBOSE)


class FilterError(ConfigError):
    """A filter expression that does not parse or names something unknown (exit 2)."""

    def __init__(self, text: str, column: int, reason: str) -> None:
        self.text = text
        self.column = column
        self.reason = reason
        caret = " " * (column - 1) + "^"
        super().__init__(f"filter, column {column}: {reason}\n  {text}\n  {caret}")


@dataclass(frozen=True)
class _Token:
    kind: str      # number, ident, string, op, paren, keyword, end
    text: str
    column: int    # 1-based


def _tokens(text: str) -> list[_Token]:
    out: list[_Token] = []
    pos = 0
    while pos < len(text):
        match = _TOKEN.match(text, pos)
        if match is None:
            if text[pos] in "\"'":
                raise FilterError(text, pos + 1, "unterminated string")
            raise FilterError(text, pos + 1, f"unexpected character {text[pos]!r}")
        kind = match.lastgroup
        value = match.group()
        if kind == "ident" and value.lower() in _KEYWORDS:
            kind, value = "keyword", value.lower()
        if kind != "space":
            out.append(_Token(kind, value, pos + 1))
        pos = match.end()
    out.append(_Token("end", "", len(text) + 1))
    return out


# --- the tree ---------------------------------------------------------------

@dataclass(frozen=True)
class _Field:
    name: str


@dataclass(frozen=True)
class _Value:
    value: Union[int, float]


@dataclass(frozen=True)
class _Compare:
    left: _Field
    op: str
    right: Union[_Field, _Value]


@dataclass(frozen=True)
class _Not:
    operand: "_Node"


@dataclass(frozen=True)
class _BoolOp:
    op: str  # "and" / "or"
    operands: tuple["_Node", ...]


_Node = Union[_Compare, _Not, _BoolOp]


def _describe(token: _Token) -> str:
    return "the end of the expression" if token.kind == "end" else repr(token.text)


def _suggest(word: str, choices: Sequence[str]) -> str:
    close = difflib.get_close_matches(word, list(choices), n=1)
    return f" (did you mean {close[0]}?)" if close else ""


class _Parser:
    def __init__(self, text: str, request_names: Sequence[str]) -> None:
        self.text = text
        self.tokens = _tokens(text)
        self.at = 0
        self.depth = 0  # 'not' and '(' levels open around the current token
        self.names = {"kind": _KIND_NAMES, "error": _ERROR_NAMES,
                      "request": {name: i for i, name in enumerate(request_names)}}

    def peek(self) -> _Token:
        return self.tokens[self.at]

    def take(self) -> _Token:
        token = self.tokens[self.at]
        self.at += 1
        return token

    def fail(self, token: _Token, reason: str) -> FilterError:
        return FilterError(self.text, token.column, reason)

    def parse(self) -> _Node:
        if self.peek().kind == "end":
            raise self.fail(self.peek(), "empty expression: expected a comparison such as 'status >= 500'")
        node = self.expr()
        if self.peek().kind != "end":
            raise self.fail(self.peek(), f"expected 'and', 'or' or the end of the expression, got "
                                         f"{_describe(self.peek())}")
        return node

    def expr(self) -> _Node:
        operands = [self.and_expr()]
        while self.peek().kind == "keyword" and self.peek().text == "or":
            self.take()
            operands.append(self.and_expr())
        return operands[0] if len(operands) == 1 else _BoolOp("or", tuple(operands))

    def and_expr(self) -> _Node:
        operands = [self.unary()]
        while self.peek().kind == "keyword" and self.peek().text == "and":
            self.take()
            operands.append(self.unary())
        return operands[0] if len(operands) == 1 else _BoolOp("and", tuple(operands))

    def unary(self) -> _Node:
        token = self.peek()
        if token.kind == "keyword" and token.text == "not":
            self.take()
            with self.nested(token):
                return _Not(self.unary())
        if token.kind == "paren" and token.text == "(":
            self.take()
            with self.nested(token):
                node = self.expr()
            close = self.peek()
            if not (close.kind == "paren" and close.text == ")"):
                raise self.fail(close, f"expected ')' to close the '(' at column {token.column}, "
                                       f"got {_describe(close)}")
            self.take()
            return node
        return self.comparison()

    @contextlib.contextmanager
    def nested(self, token: _Token) -> Iterator[None]:
        """One level of 'not' or parentheses; refused beyond MAX_DEPTH (the parser and the
        evaluation recurse once per level and would exhaust Python's stack)."""
        if self.depth >= MAX_DEPTH:
            raise self.fail(token, f"the expression nests 'not' and parentheses more than {MAX_DEPTH} levels deep")
        self.depth += 1
        try:
            yield
        finally:
            self.depth -= 1

    def operand(self) -> _Token:
        token = self.take()
        if token.kind not in ("number", "ident", "string"):
            raise self.fail(token, f"expected a field, a number or a name, got {_describe(token)}")
        return token

    def comparison(self) -> _Compare:
        left = self.operand()
        op = self.peek()
        if op.kind != "op":
            if left.kind == "ident" and not self._is_field(left):
                raise self._unknown_field(left)
            raise self.fail(op, f"expected a comparison (==, !=, <, <=, >, >=) after {left.text!r}, "
                                f"got {_describe(op)}")
        self.take()
        right = self.operand()
        symbol = "==" if op.text == "=" else op.text
        if self._is_field(left):
            return _Compare(_Field(left.text), symbol, self._resolve(right, left.text))
        if self._is_field(right):
            return _Compare(_Field(right.text), _MIRROR[symbol], self._resolve(left, right.text))
        for token in (left, right):
            if token.kind == "ident":
                raise self._unknown_field(token)
        raise self.fail(left, "a comparison needs a field on one side, e.g. 'status >= 500'")

    def _unknown_field(self, token: _Token) -> FilterError:
        return self.fail(token, f"unknown field {token.text!r}{_suggest(token.text, FIELDS)}; "
                                f"fields: {', '.join(FIELDS)}")

    @staticmethod
    def _is_field(token: _Token) -> bool:
        return token.kind == "ident" and token.text in FIELDS

    def _resolve(self, token: _Token, field: str) -> Union[_Field, _Value]:
        """The other side of a comparison with ``field``: a field, a number or a name's code."""
        if self._is_field(token):
            return _Field(token.text)
        if token.kind == "number":
            try:
                value = float(token.text) if any(c in token.text for c in ".eE") else int(token.text)
            except ValueError:
                # Python refuses to convert integers of more than 4300 digits.
                raise self.fail(token, "the number has too many digits") from None
            if isinstance(value, float) and not math.isfinite(value):
                raise self.fail(token, f"{token.text!r} is not a finite number")
            return _Value(value)
        name = _unquote(token.text) if token.kind == "string" else token.text
        table = self.names.get(field)
        if table is None:
            raise self.fail(token, f"{field} compares with numbers, got the name {name!r}")
        key = name.lower() if field in ("kind", "error") else name
        if key not in table:
            what = {"kind": "event kind", "error": "error code", "request": "request"}[field]
            hint = _suggest(key, table) or (f"; {what}s: {', '.join(table)}" if table else "")
            raise self.fail(token, f"unknown {what} {name!r}{hint}")
        return _Value(table[key])


def _unquote(text: str) -> str:
    return re.sub(r"\\(.)", r"\1", text[1:-1])


# --- evaluation -------------------------------------------------------------

def _column(chunk: np.ndarray, name: str) -> np.ndarray:
    if name == "value_ms":
        return chunk["value_ns"] / 1e6
    return chunk[name]


def _compare_integer(values: np.ndarray, op: str, number: int) -> np.ndarray:
    """``values op number`` for an unsigned integer column, exact for any integer."""
    info = np.iinfo(values.dtype)
    if number < info.min or number > info.max:
        # Outside the column's range every element is on the same side of it.
        below = number < info.min
        outcome = {"==": False, "!=": True, "<": not below, "<=": not below, ">": below, ">=": below}[op]
        return np.full(values.shape, outcome)
    return _OPS[op](values, values.dtype.type(number))


def _compare_value(values: np.ndarray, op: str, number: Union[int, float]) -> np.ndarray:
    if values.dtype.kind == "f":
        return _OPS[op](values, float(number))
    if isinstance(number, float):
        if number.is_integer():
            number = int(number)
        else:
            # x < 2.5 is x <= 2, x > 2.5 is x >= 3; an integer never equals 2.5.
            if op == "==":
                return np.zeros(values.shape, dtype=bool)
            if op == "!=":
                return np.ones(values.shape, dtype=bool)
            if op in ("<", "<="):
                return _compare_integer(values, "<=", math.floor(number))
            return _compare_integer(values, ">=", math.ceil(number))
    return _compare_integer(values, op, number)


def _evaluate(node: _Node, chunk: np.ndarray) -> np.ndarray:
    if isinstance(node, _Compare):
        left = _column(chunk, node.left.name)
        if isinstance(node.right, _Field):
            return _OPS[node.op](left, _column(chunk, node.right.name))
        return _compare_value(left, node.op, node.right.value)
    if isinstance(node, _Not):
        return ~_evaluate(node.operand, chunk)
    combine = np.logical_and if node.op == "and" else np.logical_or
    result = _evaluate(node.operands[0], chunk)
    for operand in node.operands[1:]:
        result = combine(result, _evaluate(operand, chunk))
    return result


class Filter:
    """A compiled filter: ``mask(chunk)`` is the boolean array of records it keeps."""

    def __init__(self, text: str, tree: _Node) -> None:
        self.text = text
        self._tree = tree

    def __repr__(self) -> str:
        return f"Filter({self.text!r})"

    def mask(self, chunk: np.ndarray) -> np.ndarray:
        return np.asarray(_evaluate(self._tree, chunk), dtype=bool).reshape(chunk.shape)

    def __call__(self, chunk: np.ndarray) -> np.ndarray:
        """The records of ``chunk`` the filter keeps."""
        return chunk[self.mask(chunk)]


def compile_filter(text: str, request_names: Sequence[str] = ()) -> Filter:
    """Parse ``text`` into a `Filter`; ``request_names`` resolve request names to indices."""
    return Filter(text, _Parser(text, request_names).parse())


def optional_filter(text: Optional[str], request_names: Sequence[str]) -> Optional[Filter]:
    """`compile_filter`, or None when there is no expression."""
    return None if text is None else compile_filter(text, request_names)
