"""Type stubs for z6core._httpparse (the C HTTP/1.1 response parser, for tests)."""

from collections.abc import Sequence
from typing import NamedTuple

__all__ = ["MORE", "DONE", "ERR_PROTOCOL", "ERR_LIMIT", "ERR_CLOSED", "RESULT_NAMES",
           "MAX_HEADER_BYTES", "MAX_LINE_BYTES", "MAX_BODY_BYTES", "STATE_SIZE",
           "ParseResult", "ResponseParser", "parse_response",
           "JSON_FOUND", "JSON_MISSING", "JSON_MALFORMED", "json_find", "json_equals", "check_response",
           "extract_value", "CookieJar", "cookie_date", "JAR_MAX_COOKIES", "COOKIE_MAX_BYTES",
           "redirect_target", "redirect_request"]

MORE: int
DONE: int
ERR_PROTOCOL: int
ERR_LIMIT: int
ERR_CLOSED: int
RESULT_NAMES: dict[int, str]
MAX_HEADER_BYTES: int
MAX_LINE_BYTES: int
MAX_BODY_BYTES: int
STATE_SIZE: int

class ParseResult(NamedTuple):
    code: int
    name: str
    status: int
    keep_alive: bool
    http_minor: int
    body_bytes: int
    wire_bytes: int
    consumed: int

class ResponseParser:
    def __init__(self, head: bool = False) -> None: ...
    def reset(self, head: bool = False) -> None: ...
    def feed(self, data: bytes) -> tuple[int, int]: ...
    def feed_repeated(self, data: bytes, times: int) -> tuple[int, int]: ...
    def eof(self) -> int: ...
    @property
    def status(self) -> int: ...
    @property
    def keep_alive(self) -> bool: ...
    @property
    def http_minor(self) -> int: ...
    @property
    def body_bytes(self) -> int: ...
    @property
    def wire_bytes(self) -> int: ...

def parse_response(data: bytes, head: bool = False, splits: Sequence[int] = (),
                   eof: bool = False) -> ParseResult: ...

JSON_FOUND: int
JSON_MISSING: int
JSON_MALFORMED: int

def json_find(doc: bytes, path: bytes, complete: bool = True) -> tuple[int, int, bytes | None]: ...
def json_equals(doc: bytes, path: bytes, expected: bytes, complete: bool = True) -> bool: ...
def check_response(raw: bytes, chunked: bool = False) -> tuple[bytes, bytes] | None: ...
def extract_value(raw: bytes, kind: int, arg: bytes, max_bytes: int = 4096, group: int = 0, chunked: bool = False,
                  cut: bool = False, status: int = 200) -> tuple[int, bytes | None]: ...

JAR_MAX_COOKIES: int
COOKIE_MAX_BYTES: int

def cookie_date(text: bytes) -> int | None: ...

class CookieJar:
    def __init__(self, host: bytes = b"example.test") -> None: ...
    def __len__(self) -> int: ...
    def store(self, head: bytes, request_path: bytes = b"/", now_ns: int = 0, now_unix: int = 1_700_000_000) -> int: ...
    def header(self, path: bytes = b"/", tls: bool = False, now_ns: int = 0) -> bytes: ...

def redirect_target(location: bytes, tls: bool, host: bytes, port: int, current: bytes = b"/",
                    cap: int = 8192) -> tuple[str, bytes | None]: ...
def redirect_request(request: bytes, target: bytes, status: int) -> bytes | None: ...
