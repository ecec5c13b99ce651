"""Property tests of the C HTTP/1.1 response parser (z6_http.h).

- Any bytes, split anywhere: the parser returns one of its codes, the result does not
  depend on the splits, and an error's offset is the first byte refused.
- Generated valid responses (interim heads, random header case, Content-Length,
  chunked with extensions and trailers, or close-delimited; CRLF or LF; HEAD, 204,
  304) parse to exactly the response the generator built, even with bytes after it.
- Mutated valid responses and corpus files are parsed or classified, never crash.

Out-of-bounds reads are the sanitizer build's job: the wrapper hands every piece to
the parser in a buffer of its own size (see _httpparse.pyx).
"""

from __future__ import annotations

import pathlib
from dataclasses import dataclass

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from z6core._httpparse import (
    DONE,
    ERR_CLOSED,
    ERR_LIMIT,
    ERR_PROTOCOL,
    MORE,
    ParseResult,
    parse_response,
)

CODES = {MORE, DONE, ERR_PROTOCOL, ERR_LIMIT, ERR_CLOSED}
CORPUS = pathlib.Path(__file__).resolve().parent / "data" / "http_corpus"
SETTINGS = settings(max_examples=300, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])

TCHARS = b"!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
TEXT = bytes([9] + list(range(0x20, 0x7F)) + list(range(0x80, 0x100)))   # field-value bytes
KNOWN_NAMES = {b"content-length", b"transfer-encoding", b"connection"}


@st.composite
def splits_of(draw, size: int) -> list[int]:
    return sorted(draw(st.lists(st.integers(0, size), max_size=12)))


def check_consistent(data: bytes, head: bool, eof: bool, cuts: list[int]) -> ParseResult:
    """Parse whole and cut at ``cuts``; check the invariants every result must keep."""
    whole = parse_response(data, head=head, eof=eof)
    assert whole.code in CODES
    assert parse_response(data, head=head, splits=cuts, eof=eof) == whole
    assert whole.consumed == whole.wire_bytes <= len(data)
    if whole.code == MORE:
        assert whole.consumed == len(data) and not eof
    elif whole.code == DONE:
        # Complete at its last byte: the same response without what follows.
        assert parse_response(data[:whole.consumed], head=head, eof=eof) == whole
    elif whole.code == ERR_CLOSED:
        # Only the close itself can give this: every byte was accepted before it.
        assert whole.consumed == len(data) and eof
    else:
        # Everything before the refused byte was acceptable.
        assert parse_response(data[:whole.consumed], head=head).code == MORE
    return whole


@SETTINGS
@given(st.data(), st.binary(max_size=400), st.booleans(), st.booleans())
def test_arbitrary_bytes(data, raw, head, eof):
    check_consistent(raw, head, eof, data.draw(splits_of(len(raw))))


# Pieces that reach deep into the state machine far more often than random bytes do.
TOKENS = [b"HTTP/1.1 200 OK\r\n", b"HTTP/1.0 204 \n", b"HTTP/1.1 100 Continue\r\n", b"HTTP/1.1 304 X\r\n",
          b"\r\n", b"\n", b"\r", b":", b" ", b"\t", b",", b";", b"=", b"\x00", b"\x7f", b"\xff",
          b"Content-Length", b"content-length: ", b"Transfer-Encoding: ", b"chunked", b"gzip",
          b"Connection: ", b"close", b"keep-alive", b"X-A: b", b"0", b"5", b"a", b"F", b"hello",
          b"18446744073709551616", b"10000000000"]


@SETTINGS
@given(st.data(), st.lists(st.sampled_from(TOKENS), max_size=40).map(b"".join), st.booleans(), st.booleans())
def test_token_soup(data, raw, head, eof):
    check_consistent(raw, head, eof, data.draw(splits_of(len(raw))))


@dataclass(frozen=True)
class Built:
    wire: bytes
    head: bool
    eof: bool
    status: int
    keep_alive: bool
    minor: int
    body_bytes: int


def random_case(draw, word: bytes) -> bytes:
    flips = draw(st.lists(st.booleans(), min_size=len(word), max_size=len(word)))
    return bytes(c ^ 0x20 if flip and chr(c).isalpha() else c for c, flip in zip(word, flips))


@st.composite
def other_headers(draw) -> list[bytes]:
    names = st.binary(min_size=1, max_size=12).map(lambda b: bytes(TCHARS[x % len(TCHARS)] for x in b))
    values = st.binary(max_size=30).map(lambda b: bytes(TEXT[x % len(TEXT)] for x in b))
    pairs = draw(st.lists(st.tuples(names, values), max_size=4))
    return [n + b":" + v for n, v in pairs if n.lower() not in KNOWN_NAMES]


@st.composite
def valid_responses(draw) -> Built:
    eol = st.sampled_from([b"\r\n", b"\n"])

    def lines(first: bytes, headers: list[bytes]) -> bytes:
        return first + draw(eol) + b"".join(h + draw(eol) for h in headers) + draw(eol)

    reason = st.sampled_from([b"", b" ", b" OK", b" Not Found", b" caf\xe9 \tok"])
    wire = b""
    for _ in range(draw(st.integers(0, 2))):
        interim = draw(st.sampled_from([100, 102, 103, 199]))
        wire += lines(b"HTTP/1.%d %d" % (draw(st.integers(0, 1)), interim) + draw(reason), draw(other_headers()))

    minor = draw(st.integers(0, 1))
    status = draw(st.sampled_from([200, 201, 204, 206, 301, 304, 404, 500, 503, 599, 999]))
    head = draw(st.booleans())
    body = draw(st.binary(max_size=300))
    framing = draw(st.sampled_from(["length", "chunked", "close"]))
    no_body = head or status in (204, 304)

    headers = draw(other_headers())
    options = draw(st.lists(st.sampled_from([b"close", b"keep-alive", b"upgrade", b"te", b"x-close"]), max_size=3))
    for group in (options[:1], options[1:]):
        if group:
            sep = draw(st.sampled_from([b",", b", ", b" , ", b",\t"]))
            headers.append(random_case(draw, b"connection") + b":" + draw(st.sampled_from([b"", b" "]))
                           + sep.join(random_case(draw, o) for o in group))
    if framing == "length":
        value = draw(st.sampled_from([b"", b"0", b"00"])) + b"%d" % len(body)
        for _ in range(draw(st.integers(1, 2))):
            headers.append(random_case(draw, b"content-length") + b":" + draw(st.sampled_from([b"", b" ", b"\t"]))
                           + value + draw(st.sampled_from([b"", b" "])))
    elif framing == "chunked":
        coding = draw(st.sampled_from([b"chunked", b"gzip, chunked", b"gzip;q=1,chunked"]))
        headers.append(random_case(draw, b"transfer-encoding") + b": " + random_case(draw, coding))
        if draw(st.booleans()):
            headers.append(b"Content-Length: %d" % draw(st.integers(0, 10**6)))   # overridden
    headers = draw(st.permutations(headers))
    wire += lines(b"HTTP/1.%d %d" % (minor, status) + draw(reason), headers)

    if not no_body:
        if framing == "chunked":
            cuts = sorted(draw(st.lists(st.integers(0, len(body)), max_size=5)))
            pieces = [body[a:b] for a, b in zip([0] + cuts, cuts + [len(body)]) if b > a]
            ext = st.sampled_from([b"", b";a", b";a=b", b';n="q v"', b" ;x=1", b"\t;y", b" "])
            for piece in pieces:
                size = draw(st.sampled_from([b"%x", b"%X", b"00%x"])) % len(piece)
                wire += size + draw(ext) + draw(eol) + piece + draw(eol)
            wire += b"0" + draw(ext) + draw(eol)
            wire += b"".join(t + draw(eol) for t in draw(other_headers())) + draw(eol)
        else:
            wire += body

    lowered = [o.lower() for o in options]
    if minor >= 1:
        keep_alive = b"close" not in lowered
    else:
        keep_alive = b"keep-alive" in lowered and b"close" not in lowered
    if framing == "chunked" and minor == 0:
        keep_alive = False                      # Transfer-Encoding in HTTP/1.0
    eof = framing == "close" and not no_body
    if eof:
        keep_alive = False                      # the close delimits the body
    return Built(wire, head, eof, status, keep_alive, minor, 0 if no_body else len(body))


@SETTINGS
@given(st.data(), valid_responses(), st.binary(max_size=60))
def test_valid_responses_parse_exactly(data, built, extra):
    # A close-delimited body takes every byte, so nothing may follow it.
    raw = built.wire if built.eof else built.wire + extra
    got = check_consistent(raw, built.head, built.eof, data.draw(splits_of(len(raw))))
    assert got == ParseResult(DONE, "done", built.status, built.keep_alive, built.minor, built.body_bytes,
                              len(built.wire), len(built.wire))


@st.composite
def mutated(draw, source: bytes) -> bytes:
    raw = bytearray(source)
    for _ in range(draw(st.integers(1, 4))):
        op = draw(st.sampled_from(["flip", "set", "insert", "delete", "duplicate", "truncate"]))
        at = draw(st.integers(0, len(raw)))
        if op == "insert" or not raw:
            raw[at:at] = draw(st.binary(min_size=1, max_size=8))
        elif op == "truncate":
            del raw[at:]
        else:
            at = min(at, len(raw) - 1)
            if op == "flip":
                raw[at] ^= 1 << draw(st.integers(0, 7))
            elif op == "set":
                raw[at] = draw(st.sampled_from(b"\r\n :;,0\x00\x7f\xff\t"))
            elif op == "delete":
                del raw[at:at + draw(st.integers(1, 4))]
            else:
                end = min(len(raw), at + draw(st.integers(1, 16)))
                raw[at:at] = raw[at:end]
    return bytes(raw)


@SETTINGS
@given(st.data(), valid_responses(), st.booleans())
def test_mutated_valid_responses_are_classified(data, built, eof):
    raw = data.draw(mutated(built.wire))
    check_consistent(raw, built.head, eof, data.draw(splits_of(len(raw))))


# The small corpus files (the limit cases are 64 KiB; mutating them adds nothing).
CORPUS_FILES = sorted(p.read_bytes() for p in CORPUS.glob("*.http") if p.stat().st_size < 4096)


@SETTINGS
@given(st.data(), st.sampled_from(CORPUS_FILES), st.booleans(), st.booleans())
def test_mutated_corpus_is_classified(data, source, head, eof):
    raw = data.draw(mutated(source))
    check_consistent(raw, head, eof, data.draw(splits_of(len(raw))))
