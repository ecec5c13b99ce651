"""Regex extraction patterns as the C library compiles them.

A regex extraction runs the platform's POSIX extended regex engine (regcomp and
regexec from the C library: well kept, present on every platform z6 builds for,
and free of Python per response). People write the shorthands of other dialects,
so `to_posix` translates those into POSIX classes and refuses, with the column,
what POSIX cannot express rather than let it mean something else:

    \\d \\w \\s        [0-9] [[:alnum:]_] [[:space:]] (in [...]: the class's inside)
    \\D \\W \\S        [^0-9] [^[:alnum:]_] [^[:space:]] (not inside [...])
    \\n \\t \\r        the control character
    \\ + punctuation  that character, literally
    *? +? ??          refused: POSIX matching is leftmost-longest, with no lazy
                      quantifiers (write a negated class, [^"]*)
    \\b, \\1 and other \\letter or \\digit escapes: refused
"""

from __future__ import annotations

__all__ = ["to_posix"]

_CLASSES = {"d": "0-9", "w": "[:alnum:]_", "s": "[:space:]"}
_CONTROL = {"n": "\n", "t": "\t", "r": "\r"}
_QUANTIFIERS = "*+?}"


def _fail(column: int, message: str) -> None:
    raise ValueError(f"column {column}: {message}")


def to_posix(pattern: str) -> str:
    """``pattern`` in POSIX extended syntax; ValueError naming the column of
    anything POSIX cannot express."""
    out: list[str] = []
    i, n = 0, len(pattern)
    after_quantifier = False
    while i < n:
        c = pattern[i]
        if c == "\\":
            if i + 1 >= n:
                _fail(i + 1, "a backslash at the end escapes nothing")
            e = pattern[i + 1]
            if e.lower() in _CLASSES:
                out.append(("[^" if e.isupper() else "[") + _CLASSES[e.lower()] + "]")
            elif e in _CONTROL:
                out.append(_CONTROL[e])
            elif e.isalnum():
                _fail(i + 1, f"\\{e} is not POSIX extended regex syntax (known: \\d \\w \\s \\D \\W \\S \\n \\t \\r, "
                             "and \\ before a punctuation character)")
            else:
                out.append("\\" + e)
            i += 2
            after_quantifier = False
            continue
        if c == "[":
            i = _bracket(pattern, i, out)
            after_quantifier = False
            continue
        if c == "?" and after_quantifier:
            _fail(i + 1, "lazy quantifiers (*?, +?, ??, {m,n}?) are not POSIX: matching is leftmost-longest; "
                         "use a negated class instead, as [^\"]* for a quoted value")
        after_quantifier = c in _QUANTIFIERS
        out.append(c)
        i += 1
    return "".join(out)


def _bracket(pattern: str, start: int, out: list[str]) -> int:
    # A bracket expression from its "[" at `start`: copied, with \d \w \s
    # inside it turned into their classes' insides; the index after its "]".
    n = len(pattern)
    i = start + 1
    out.append("[")
    if i < n and pattern[i] == "^":
        out.append("^")
        i += 1
    if i < n and pattern[i] == "]":  # a "]" first is a member, not the end
        out.append("]")
        i += 1
    while i < n:
        c = pattern[i]
        if c == "]":
            out.append("]")
            return i + 1
        if c == "[" and i + 1 < n and pattern[i + 1] in ":.=":
            close = pattern.find(pattern[i + 1] + "]", i + 2)
            if close < 0:
                _fail(i + 1, f"[{pattern[i + 1]} is not closed by {pattern[i + 1]}]")
            out.append(pattern[i:close + 2])
            i = close + 2
            continue
        if c == "\\" and i + 1 < n:
            e = pattern[i + 1]
            if e in _CLASSES:
                out.append(_CLASSES[e])
            elif e.lower() in _CLASSES:
                _fail(i + 1, f"\\{e} cannot stand inside [...] in POSIX (use [^...] around the whole set)")
            elif e in _CONTROL:
                out.append(_CONTROL[e])
            elif e == "]":
                _fail(i + 1, "in POSIX a ] is a member of [...] only when it comes first, as []abc]")
            elif e == "-":
                _fail(i + 1, "in POSIX a - is a member of [...] only when it comes first or last, as [abc-]")
            elif e == "^" and out[-1] == "[":
                _fail(i + 1, "in POSIX a ^ is a member of [...] anywhere but first, as [a^]")
            elif e.isalnum():
                _fail(i + 1, f"\\{e} is not POSIX extended regex syntax inside [...]")
            else:
                out.append(e)  # inside [...] POSIX takes a backslash literally: drop it, keep what it escaped
            i += 2
            continue
        out.append(c)
        i += 1
    _fail(start + 1, "[ is not closed by ]")
    return n
