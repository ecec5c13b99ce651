"""Reading a scenario: file -> text -> TOML document -> ``Scenario``.

This module owns everything before validation: opening the file, decoding
UTF-8, hashing the exact bytes (the event log records the hash), and turning
a TOML syntax error into ``<file>: invalid TOML at line L, column C: <reason>``.
Validation and defaults are ``_resolve``'s job.
"""

from __future__ import annotations

import hashlib
import os
import re
from typing import Any

from z6.errors import ScenarioError
from z6.scenario._resolve import resolve_document
from z6.scenario._types import Scenario

try:  # Python >= 3.11
    import tomllib
except ModuleNotFoundError:  # pragma: no cover - Python 3.10
    import tomli as tomllib  # type: ignore[no-redef]

__all__ = ["load_scenario", "parse_scenario"]

# tomllib (and tomli) end their messages with "(at line L, column C)" or
# "(at end of document)"; Python 3.14 also exposes lineno/colno attributes.
_POSITION = re.compile(r"\s*\(at line (\d+), column (\d+)\)\s*$")
_AT_END = re.compile(r"\s*\(at end of document\)\s*$")


def _toml_problem(source: str, text: str, exc: Exception) -> str:
    message = str(exc)
    lineno = getattr(exc, "lineno", None)
    colno = getattr(exc, "colno", None)
    reason = getattr(exc, "msg", None)
    match = _POSITION.search(message)
    if match:
        lineno, colno = int(match.group(1)), int(match.group(2))
        reason = message[: match.start()]
    elif _AT_END.search(message):
        lines = text.split("\n")
        lineno, colno = len(lines), len(lines[-1]) + 1
        reason = _AT_END.sub("", message)
    if not isinstance(reason, str) or not reason:
        reason = message
    if lineno is None:
        return f"{source}: invalid TOML: {reason}"
    return f"{source}: invalid TOML at line {lineno}, column {colno}: {reason}"


def parse_toml(source: str, text: str) -> dict[str, Any]:
    # A UTF-8 byte order mark is harmless but tomllib rejects it.
    body = text[1:] if text.startswith("\ufeff") else text
    try:
        return tomllib.loads(body)
    except tomllib.TOMLDecodeError as exc:
        raise ScenarioError([_toml_problem(source, body, exc)]) from None


def default_name(source: str) -> str:
    if source.startswith("<"):  # "<string>", "<stdin>": no file to name it after
        return "scenario"
    stem = os.path.splitext(os.path.basename(source))[0]
    return stem or "scenario"


def _build(source: str, text: str, raw: bytes, base_dir: str) -> Scenario:
    data = parse_toml(source, text)
    return resolve_document(
        data,
        source=source,
        text=text,
        sha256=hashlib.sha256(raw).hexdigest(),
        default_name=default_name(source),
        base_dir=base_dir,
    )


def load_scenario(path: str | os.PathLike[str]) -> Scenario:
    """Read, parse and validate the scenario file at ``path``.

    ``body_file`` paths resolve against the file's directory. Raises
    ``ScenarioError`` (one line per problem, each naming ``path``) if the file
    cannot be read, is not UTF-8 TOML, or does not validate.
    """
    source = os.fsdecode(os.fspath(path))
    try:
        with open(source, "rb") as handle:
            raw = handle.read()
    except FileNotFoundError:
        raise ScenarioError([f"{source}: cannot read scenario: file not found"]) from None
    except IsADirectoryError:
        raise ScenarioError([f"{source}: cannot read scenario: is a directory"]) from None
    except OSError as exc:
        raise ScenarioError([f"{source}: cannot read scenario: {exc.strerror or exc}"]) from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ScenarioError([f"{source}: must be UTF-8 text, got an invalid byte at offset {exc.start}"]) from None
    return _build(source, text, raw, os.path.dirname(os.path.abspath(source)))


def parse_scenario(text: str, source: str = "<string>", base_dir: str | os.PathLike[str] | None = None) -> Scenario:
    """Parse and validate scenario ``text``; ``source`` names it in messages.

    ``body_file`` paths resolve against ``base_dir`` (default: the current
    directory). ``sha256`` is that of the UTF-8 encoding of ``text``.
    """
    try:
        raw = text.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise ScenarioError([f"{source}: must be valid Unicode text, got an unpaired surrogate at {exc.start}"]) from None
    directory = os.path.abspath(os.fsdecode(os.fspath(base_dir))) if base_dir is not None else os.getcwd()
    return _build(source, text, raw, directory)
