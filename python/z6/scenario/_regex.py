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

The C library compiles a bounded repetition {m,n} into n copies of what it
repeats, and the n - m optional copies into chains whose states grow with the
square of their length: `((a{0,255}){0,255}){0,255}` takes glibc's regcomp past
14 GB and a segfault, `[a-z]{1,32767}` 16 GB and 30 s. So the sizes are bounded
before the library sees them, as RE2 bounds them: a count at most 1,000, the
counts of nested repetitions multiplied at most 1,000, and at most 2,000
optional copies in the whole pattern (`[a-z]{0,1000}` twice compiles in some
30 MB). A pattern within these compiles in milliseconds.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

__all__ = ["to_posix", "MAX_REPEAT", "MAX_OPTIONAL_COPIES"]

# A repetition count, and nested counts multiplied (RE2's limit).
MAX_REPEAT = 1000
# Optional copies ({m,n}: n - m each, times what they repeat) in a whole pattern.
MAX_OPTIONAL_COPIES = 2000
_INTERVAL = re.compile(r"\{([0-9]+)(,([0-9]*))?\}")

_CLASSES = {"d": "0-9", "w": "[:alnum:]_", "s": "[:space:]"}
_CONTROL = {"n": "\n", "t": "\t", "r": "\r"}
_QUANTIFIERS = "*+?}"


def _fail(column: int, message: str) -> None:
    raise ValueError(f"column {column}: {message}")


@dataclass
class _Piece:
    """What a piece of the pattern compiles to, counted as regcomp expands it:
    ``size`` atoms after every repetition's copies, ``optional`` of them in
    optional copies, ``nesting`` the product of the repetition counts within."""

    size: int = 0
    optional: int = 0
    nesting: int = 1

    def add(self, other: "_Piece") -> None:
        self.size += other.size
        self.optional += other.optional
        self.nesting = max(self.nesting, other.nesting)


class _Sizes:
    """The running expansion of a pattern read left to right: one frame per
    open group, each with its sequence so far and its last piece (the one a
    quantifier applies to)."""

    def __init__(self) -> None:
        self.frames: list[tuple[_Piece, _Piece | None]] = [(_Piece(), None)]

    def atom(self) -> None:
        self.push(_Piece(size=1))

    def push(self, piece: _Piece) -> None:
        total, _ = self.frames[-1]
        total.add(piece)
        self.frames[-1] = (total, piece)

    def open_group(self) -> None:
        self.frames.append((_Piece(), None))

    def close_group(self) -> None:
        if len(self.frames) > 1:    # an unmatched ")" is regcomp's to judge
            total, _ = self.frames.pop()
            self.push(total)

    def alternative(self) -> None:
        # "|": the next branch adds to the group's total; nothing to repeat yet.
        total, _ = self.frames[-1]
        self.frames[-1] = (total, None)

    def repeat(self, column: int, low: int, high: int | None) -> None:
        """{low,high} (high None: no upper bound) applied to the last piece."""
        total, last = self.frames[-1]
        if last is None:            # nothing before it: regcomp's to judge
            return
        count = low if high is None else high
        if count > MAX_REPEAT:
            _fail(column, f"a repetition count is at most {MAX_REPEAT}, got {count}")
        nesting = last.nesting * max(count, 1)
        if nesting > MAX_REPEAT:
            _fail(column, f"nested repetitions multiply to {nesting} copies, at most {MAX_REPEAT}: the C "
                          "library compiles every copy")
        copies = max(low + 1 if high is None else high, 1)
        optional = 0 if high is None else high - low
        grown = _Piece(size=last.size * copies, optional=last.optional * copies + last.size * optional,
                       nesting=nesting)
        total.size += grown.size - last.size
        total.optional += grown.optional - last.optional
        total.nesting = max(total.nesting, grown.nesting)
        self.frames[-1] = (total, grown)

    def check_total(self) -> None:
        optional = sum(total.optional for total, _ in self.frames)
        if optional > MAX_OPTIONAL_COPIES:
            raise ValueError(f"its {{m,n}} repetitions leave {optional} optional copies, at most "
                             f"{MAX_OPTIONAL_COPIES}: the C library's states grow with their square "
                             "(use + or * where any length will do)")


def to_posix(pattern: str) -> str:
    """``pattern`` in POSIX extended syntax; ValueError naming the column of
    anything POSIX cannot express, or of a repetition too large to compile."""
    out: list[str] = []
    sizes = _Sizes()
    i, n = 0, len(pattern)
    after_quantifier = False
    while i < n:
        c = pattern[i]
        if c == "{":
            interval = _INTERVAL.match(pattern, i)
            if interval is not None:
                low = int(interval.group(1))
                high = None if interval.group(2) is not None and not interval.group(3) else \
                    int(interval.group(3) or interval.group(1))
                sizes.repeat(i + 1, low, high)
                out.append(interval.group(0))
                i = interval.end()
                after_quantifier = True
                continue
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
            sizes.atom()
            i += 2
            after_quantifier = False
            continue
        if c == "[":
            i = _bracket(pattern, i, out)
            sizes.atom()
            after_quantifier = False
            continue
        if c == "?" and after_quantifier:
            _fail(i + 1, "lazy quantifiers (*?, +?, ??, {m,n}?) are not POSIX: matching is leftmost-longest; "
                         "use a negated class instead, as [^\"]* for a quoted value")
        _count(sizes, c)
        after_quantifier = c in _QUANTIFIERS
        out.append(c)
        i += 1
    sizes.check_total()
    return "".join(out)


def _count(sizes: _Sizes, c: str) -> None:
    # One character outside [...] and escapes, as regcomp's expansion counts it.
    if c == "(":
        sizes.open_group()
    elif c == ")":
        sizes.close_group()
    elif c == "|":
        sizes.alternative()
    elif c == "+":
        sizes.repeat(0, 1, None)     # x+ is x then x*: two copies
    elif c not in "*?":               # * and ? keep one copy
        sizes.atom()


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
