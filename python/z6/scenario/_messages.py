"""Turning validation failures into one-line messages: key paths, values, hints.

Every problem z6 reports about a scenario reads
``<file>: <key path>: <rule>, got <bad value>``. This module owns the three
pieces that make that uniform: how a key path is spelled
(``requests[2].weight``), how a TOML value is shown (``"abc"``, ``-1.5``,
``true``), and the "did you mean" hint. It also translates pydantic's error
records into that form, so no pydantic wording ever reaches a user.
"""

from __future__ import annotations

import datetime
import difflib
import json
import math
import re
import types
import typing
from collections.abc import Iterable, Sequence
from typing import Any, Union

from pydantic import BaseModel, ValidationError

from z6.errors import printable

__all__ = [
    "Loc",
    "Problem",
    "Violations",
    "render_path",
    "render_value",
    "render_number",
    "did_you_mean",
    "problems_from_validation_error",
]

# A key path: table keys (str) and array indices (int), outermost first.
Loc = tuple[Union[str, int], ...]
# One problem before the file name is put in front of it.
Problem = tuple[Loc, str]

_BARE_KEY = re.compile(r"[A-Za-z0-9_-]+")
# The two required sections get a word on how to write them.
_MISSING_HINTS: dict[Loc, str] = {
    ("target",): " (add a [target] section with base_url)",
    ("requests",): " (add at least one [[requests]] table)",
}
_MAX_SHOWN_CHARS = 60


class Violations(ValueError):
    """Raised by model validators for rules that span several keys of one table.

    pydantic can only attach a validator's error to the table itself; carrying
    ``(relative key path, message)`` pairs lets each problem name the exact key
    it is about, and lets one validator report several problems at once.
    """

    def __init__(self, items: Sequence[Problem]) -> None:
        self.items: list[Problem] = list(items)
        super().__init__("; ".join(message for _, message in self.items))


def render_path(loc: Loc) -> str:
    """``("requests", 2, "weight")`` -> ``requests[2].weight``; odd keys are quoted as TOML would."""
    out: list[str] = []
    for part in loc:
        if isinstance(part, int):
            out.append(f"[{part}]")
            continue
        # printable: json.dumps escapes C0 controls, not DEL, C1 controls or line separators.
        key = part if _BARE_KEY.fullmatch(part) else printable(json.dumps(part, ensure_ascii=False))
        out.append(f".{key}" if out else key)
    return "".join(out) or "(top level)"


def render_number(value: float | int) -> str:
    """A bound in a rule: ``0`` rather than ``0.0``, ``1000000000`` rather than ``1e9``."""
    if isinstance(value, float) and math.isfinite(value) and value.is_integer():
        return str(int(value))
    return str(value)


def render_value(value: Any) -> str:
    """Show a TOML value the way it would be written in the file (briefly)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if math.isnan(value):
            return "nan"
        if math.isinf(value):
            return "inf" if value > 0 else "-inf"
        return repr(value)
    if isinstance(value, str):
        shown = printable(json.dumps(value, ensure_ascii=False))
        if len(shown) > _MAX_SHOWN_CHARS:
            shown = shown[: _MAX_SHOWN_CHARS - 4] + '..."'
        return shown
    if isinstance(value, dict):
        return "a table"
    if isinstance(value, list):
        return "an array"
    if isinstance(value, (datetime.datetime, datetime.date, datetime.time)):
        return f"a date/time ({value.isoformat()})"
    return repr(value)


def did_you_mean(word: object, candidates: Iterable[str]) -> str:
    """`` (did you mean 'x'?)`` for the closest candidate, or ``""``.

    Case-insensitive, so ``get`` suggests ``GET``.
    """
    if not isinstance(word, str):
        return ""
    pool = list(candidates)
    by_lower = {candidate.lower(): candidate for candidate in pool}
    matches = difflib.get_close_matches(word.lower(), list(by_lower), n=1, cutoff=0.6)
    return f" (did you mean {by_lower[matches[0]]!r}?)" if matches else ""


def _unwrap(annotation: Any) -> Any:
    """Strip ``Annotated[...]`` and ``X | None`` so the walk sees the real type."""
    while True:
        origin = typing.get_origin(annotation)
        if origin is typing.Annotated:
            annotation = typing.get_args(annotation)[0]
        elif origin is Union or origin is types.UnionType:
            args = [arg for arg in typing.get_args(annotation) if arg is not type(None)]
            if len(args) != 1:
                return annotation
            annotation = args[0]
        else:
            return annotation


def _model_at(model: type[BaseModel], loc: Loc) -> type[BaseModel] | None:
    """The model class describing the table at ``loc`` inside ``model``, if any."""
    current: Any = model
    for part in loc:
        current = _unwrap(current)
        origin = typing.get_origin(current)
        if isinstance(current, type) and issubclass(current, BaseModel):
            keys = _keys(current)
            if not isinstance(part, str) or part not in keys:
                return None
            current = keys[part].annotation
        elif origin in (list, tuple) and isinstance(part, int):
            current = typing.get_args(current)[0]
        elif origin is dict and isinstance(part, str):
            current = typing.get_args(current)[1]
        else:
            return None
    current = _unwrap(current)
    if isinstance(current, type) and issubclass(current, BaseModel):
        return current
    return None


def _keys(model: type[BaseModel]) -> dict[str, Any]:
    # The keys a table takes, as the scenario spells them: a field's alias where
    # it has one (the field json_ is the key "json").
    return {field.alias or name: field for name, field in model.model_fields.items()}


def _unknown_key_message(model: type[BaseModel], loc: Loc) -> str:
    table = _model_at(model, loc[:-1])
    allowed = list(_keys(table)) if table is not None else []
    hint = did_you_mean(loc[-1], allowed)
    if hint:
        return f"unknown key{hint}"
    if allowed:
        return f"unknown key (allowed: {', '.join(allowed)})"
    return "unknown key"


def _expected_literals(ctx: dict[str, Any]) -> list[str]:
    # pydantic renders the choices as "'a', 'b' or 'c'"; the choices are plain words.
    return re.findall(r"'([^']*)'", str(ctx.get("expected", "")))


def _message(model: type[BaseModel], error: Any) -> list[Problem]:
    kind: str = error["type"]
    loc: Loc = tuple(error["loc"])
    ctx: dict[str, Any] = error.get("ctx") or {}
    got = render_value(error.get("input"))

    if kind == "value_error":
        cause = ctx.get("error")
        if isinstance(cause, Violations):
            return [(loc + sub, message) for sub, message in cause.items]
        return [(loc, str(cause))]
    if kind == "extra_forbidden":
        return [(loc, _unknown_key_message(model, loc))]
    if kind == "missing":
        return [(loc, "required key is missing" + _MISSING_HINTS.get(loc, ""))]
    if kind == "literal_error":
        choices = _expected_literals(ctx)
        hint = did_you_mean(error.get("input"), choices)
        listed = ", ".join(json.dumps(choice) for choice in choices)
        return [(loc, f"must be one of {listed}, got {got}{hint}")]

    simple = {
        "int_type": "must be an integer",
        "float_type": "must be a number",
        "string_type": "must be a string",
        "bool_type": "must be a boolean (true or false)",
        "dict_type": "must be a table",
        "model_type": "must be a table",
        "list_type": "must be an array",
        "finite_number": "must be a finite number",
        "string_too_short": "must not be empty",
    }
    if kind in simple:
        return [(loc, f"{simple[kind]}, got {got}")]

    bounds = {
        "greater_than": (">", "gt"),
        "greater_than_equal": (">=", "ge"),
        "less_than": ("<", "lt"),
        "less_than_equal": ("<=", "le"),
    }
    if kind in bounds:
        op, key = bounds[kind]
        return [(loc, f"must be {op} {render_number(ctx[key])}, got {got}")]
    if kind == "too_short":
        n = ctx.get("min_length")
        return [(loc, f"must have at least {n} item{'s' if n != 1 else ''}, got {ctx.get('actual_length')}")]
    if kind == "too_long":
        return [(loc, f"must have at most {ctx.get('max_length')} items, got {ctx.get('actual_length')}")]
    # A pydantic check z6 has no wording for: keep its text, still with path and value.
    return [(loc, f"{error['msg']}, got {got}")]


def problems_from_validation_error(exc: ValidationError, model: type[BaseModel]) -> list[Problem]:
    """Translate every error pydantic found while validating ``model``; locs are relative to it."""
    problems: list[Problem] = []
    for error in exc.errors(include_url=False):
        problems.extend(_message(model, error))
    return problems
