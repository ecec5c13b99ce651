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
import sys
from typing import Any

from z6.errors import RunError, ScenarioError, io_error
from z6.scenario._files import FileMissing, FileProblem, read_regular
from z6.scenario._resolve import resolve_document
from z6.scenario._types import MAX_NESTING, MAX_SCENARIO_BYTES, Scenario

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


# One lexical token of TOML, as far as nesting is concerned: strings and comments
# are taken whole (brackets and dots inside them do not count), brackets are counted.
_NESTING_TOKENS = re.compile(
    r'(?P<string>"""(?:[^"\\]|\\[\s\S]|"(?!""))*""""{0,2}'  # multi-line basic string
    r"|'''(?:[^']|'(?!''))*''''{0,2}"  # multi-line literal string
    r'|"(?:[^"\\\n]|\\.)*"'  # basic string
    r"|'[^'\n]*')"  # literal string
    r"|(?P<comment>#[^\n]*)"
    r"""|(?P<text>[^"'#\[\]{}]+|["'])"""  # anything else; a quote that opens no complete string
    r"|(?P<open>[\[{])|(?P<close>[\]}])"
)
_HEADER = re.compile(r"^[ \t]*\[\[?[ \t]*([^\]\n]*?)[ \t]*\]", re.MULTILINE)
_KEY_BEFORE = re.compile(r"""([A-Za-z0-9_\-."' \t]+?)[ \t]*=[ \t]*$""")
# A dotted key of more than MAX_NESTING parts (tables nested by a key: `[a.b.c...]`, `a.b.c... = 1`),
# looked for in the text with every string replaced by one bare part.
_DOTTED = re.compile(r"[A-Za-z0-9_-]+(?:[ \t]*\.[ \t]*[A-Za-z0-9_-]+){%d}" % MAX_NESTING)


def _nesting_problem(source: str, text: str) -> str | None:
    """A problem if arrays, inline tables or dotted keys nest deeper than MAX_NESTING, else None.

    Checked on the text before it is parsed: the TOML parser recurses once per
    level of arrays and inline tables (a file 100,000 levels deep would exhaust
    Python's stack), and takes time quadratic in the length of a dotted key.
    """
    brackets = text.count("[") + text.count("{") > MAX_NESTING
    dots = text.count(".") >= MAX_NESTING
    if not brackets and not dots:  # the common case, at C speed
        return None
    opened: list[int] = []
    skeleton: list[str] = []  # the text with each string as "x" (its newlines kept) and no comments
    for match in _NESTING_TOKENS.finditer(text):
        kind = match.lastgroup
        if kind == "open":
            opened.append(match.start())
            if len(opened) > MAX_NESTING:
                return _too_deep(source, text, opened[0], match.start())
        elif kind == "close" and opened:
            opened.pop()
        if dots:
            token = match.group()
            if kind == "string":
                token = "x" + "\n" * token.count("\n")
            elif kind == "comment":
                token = ""
            skeleton.append(token)
    if dots:
        plain = "".join(skeleton)
        key = _DOTTED.search(plain)
        if key is not None:
            line = plain.count("\n", 0, key.start()) + 1
            first = ".".join(part.strip() for part in key.group().split(".")[:3])
            return (f"{source}: {first}...: a dotted key may have at most {MAX_NESTING} parts (tables nest at most "
                    f"{MAX_NESTING} levels deep), got more at line {line}")
    return None


def _too_deep(source: str, text: str, outer: int, at: int) -> str:
    """The message: the key path of the outermost value (as far as the text says), the limit, where."""
    line = text.count("\n", 0, at) + 1
    column = at - (text.rfind("\n", 0, at) + 1) + 1
    path: list[str] = []
    header = None
    for header in _HEADER.finditer(text, 0, outer):
        pass
    if header is not None:
        path.append(header.group(1).replace(" ", "").replace("\t", ""))
    key = _KEY_BEFORE.search(text, text.rfind("\n", 0, outer) + 1, outer)
    if key is not None:
        path.append(key.group(1).strip())
    shown = ".".join(part for part in path if part)
    where = f"{shown}: " if shown else ""
    return (f"{source}: {where}arrays and inline tables must nest at most {MAX_NESTING} levels deep, "
            f"got level {MAX_NESTING + 1} at line {line}, column {column}")


def parse_toml(source: str, text: str) -> dict[str, Any]:
    # A UTF-8 byte order mark is harmless but tomllib rejects it.
    body = text[1:] if text.startswith("\ufeff") else text
    problem = _nesting_problem(source, body)
    if problem is not None:
        raise ScenarioError([problem])
    try:
        return tomllib.loads(body)
    except tomllib.TOMLDecodeError as exc:
        raise ScenarioError([_toml_problem(source, body, exc)]) from None
    except RecursionError:  # a nesting the scan above did not see: still one message, never a traceback
        raise ScenarioError([f"{source}: nests too deeply to parse (limit {MAX_NESTING} levels)"]) from None
    except ValueError as exc:  # Python's own limit on int(), hit inside tomllib
        if "digits" not in str(exc):
            raise
        raise ScenarioError([_long_integer_problem(source, body)]) from None


def _long_integer_problem(source: str, text: str) -> str:
    """The message for an integer tomllib could not convert: where it is, and why no
    scenario needs one (TOML's integers are 64-bit; Python converts at most 4300 digits)."""
    limit = sys.get_int_max_str_digits()
    found = re.search(r"\d(?:_?\d){%d,}" % limit, text)
    where = f" at line {text.count(chr(10), 0, found.start()) + 1}" if found else ""
    return (f"{source}: an integer of more than {limit} digits{where}; "
            f"TOML integers are 64-bit (at most 19 digits)")


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
        raw = read_regular(source, MAX_SCENARIO_BYTES)
    except FileMissing:
        raise ScenarioError([f"{source}: cannot read scenario: file not found"]) from None
    except FileProblem as exc:
        # Unreadable because the system failed (EIO and the like), not because of the path: exit 3.
        if exc.os_error is not None and isinstance(io_error(source, exc.os_error, reading=True), RunError):
            raise RunError(f"{source}: cannot read scenario: {exc.os_error.strerror or exc.os_error}") from None
        raise ScenarioError([f"{source}: cannot read scenario: {exc}"]) from None
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
