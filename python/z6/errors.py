"""z6's exceptions, one hierarchy, each mapped to its exit code (docs/architecture.md).

    Z6Error                      base; ``exit_code`` says how the CLI exits
    +-- ConfigError              exit 2: bad scenario, bad option, usage
    |   +-- ScenarioError        a scenario file that does not parse or validate
    +-- RunError                 exit 3: the run could not complete
    +-- InternalError            exit 4: a bug in z6 itself

Exit code 1 (an assertion failed) is a verdict, not an exception.

An operating-system error on a file is classified once, by `io_error`:

* exit 2 (`ConfigError`), the path the user named is wrong: it does not exist, or a
  directory on it does not (ENOENT), a component is a file (ENOTDIR), it is a
  directory where a file is wanted (EISDIR), its name is too long or loops
  (ENAMETOOLONG, ELOOP); and, for an input only, it cannot be read (EACCES, EPERM);
* exit 3 (`RunError`), the system failed doing I/O on a usable path: the disk is
  full (ENOSPC, EDQUOT, EFBIG), the device failed (EIO), the file system is
  read-only (EROFS), permission is denied on an output (EACCES, EPERM), anything else.
"""

from __future__ import annotations

import errno
from typing import Optional, Sequence, Union

__all__ = [
    "Z6Error",
    "ConfigError",
    "ScenarioError",
    "Problem",
    "RunError",
    "InternalError",
    "EXIT_OK",
    "EXIT_ASSERTION_FAILED",
    "EXIT_CONFIG",
    "EXIT_RUNTIME",
    "EXIT_INTERNAL",
    "io_error",
    "printable",
]

EXIT_OK = 0
EXIT_ASSERTION_FAILED = 1
EXIT_CONFIG = 2
EXIT_RUNTIME = 3
EXIT_INTERNAL = 4


def printable(text: object) -> str:
    """``text`` safe to print on a terminal: every character that is not printable
    (CR, LF, tab, ESC and the other C0/C1 controls, DEL, line and paragraph
    separators) is shown as its Python escape (``\\n``, ``\\x1b``, ``\\u2028``), so
    user text (a request name, a path, a header value) can neither start a line of
    its own nor send escape sequences to the terminal."""
    text = str(text)
    if text.isprintable():
        return text
    return "".join(c if c.isprintable() else c.encode("unicode_escape").decode("ascii") for c in text)


class Z6Error(Exception):
    """Base of every error z6 raises on purpose."""

    exit_code: int = EXIT_INTERNAL
    # The operating system's error number behind it, for an I/O error (`io_error`).
    os_errno: Optional[int] = None


class ConfigError(Z6Error):
    """Configuration or usage error (exit 2)."""

    exit_code = EXIT_CONFIG


class Problem(str):
    """One problem with a scenario: ``Problem(path, rule, value, message)``.

    ``path`` is the key path (``requests[2].weight``; "" for the file as a whole),
    ``rule`` what the value must be, ``value`` the bad value as the file spells it
    (None when the problem has none, e.g. a missing key) and ``message`` the line
    z6 prints, naming the file too. The object *is* that line (a ``str``), so code
    that compares, prints or searches the lines keeps working.
    """

    path: str
    rule: str
    value: Optional[str]

    def __new__(cls, path: str, rule: str, value: Optional[str], message: str) -> "Problem":
        problem = super().__new__(cls, message)
        problem.path = path
        problem.rule = rule
        problem.value = value
        return problem

    @property
    def message(self) -> str:
        return str.__str__(self)

    def __str__(self) -> str:
        return str.__str__(self)

    def __repr__(self) -> str:
        return f"Problem(path={self.path!r}, rule={self.rule!r}, value={self.value!r}, message={self.message!r})"

    def __reduce__(self):  # type: ignore[no-untyped-def]
        return (Problem, (self.path, self.rule, self.value, self.message))

    @classmethod
    def at(cls, source: str, path: str, message: str) -> "Problem":
        """The problem ``message`` (``"<rule>, got <value>"`` or just a rule) at key
        ``path`` of file ``source``."""
        rule, got, value = message.rpartition(", got ")
        if not got:
            rule, value = message, ""
        where = f"{source}: {path}: " if path else f"{source}: "
        return cls(path, rule, value if got else None, where + message)


class ScenarioError(ConfigError):
    """A scenario that does not parse or validate.

    ``problems`` holds one `Problem` per problem, each naming the file, the key
    path, the rule and the bad value; ``str()`` joins their lines. A plain line
    given here is a problem with the file as a whole (path "").
    """

    def __init__(self, problems: Sequence[Union[Problem, str]]) -> None:
        self.problems: list[Problem] = [p if isinstance(p, Problem) else Problem("", str(p), None, str(p))
                                        for p in problems]
        super().__init__("\n".join(self.problems))


class RunError(Z6Error):
    """The run could not complete (exit 3)."""

    exit_code = EXIT_RUNTIME


class InternalError(Z6Error):
    """A bug in z6 (exit 4)."""

    exit_code = EXIT_INTERNAL


# The path names nothing usable: the user's mistake, whatever the command.
_BAD_PATH = frozenset({errno.ENOENT, errno.ENOTDIR, errno.EISDIR, errno.ENAMETOOLONG, errno.ELOOP})
# Also the user's, for a file they asked z6 to read.
_UNREADABLE = frozenset({errno.EACCES, errno.EPERM})


def io_error(where: str, exc: OSError, *, reading: bool = False) -> Z6Error:
    """The error to raise for ``exc`` met on a file: ``"<where>: <strerror>"``, exit 2 or 3 (see above).

    ``reading`` says the file is an input the user named (a scenario, a log) rather
    than an output z6 writes.
    """
    message = f"{where}: {exc.strerror or exc}"
    error: Z6Error = ConfigError(message) if exc.errno in _BAD_PATH or (reading and exc.errno in _UNREADABLE) \
        else RunError(message)
    error.os_errno = exc.errno
    return error
