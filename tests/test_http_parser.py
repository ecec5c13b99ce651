"""The C HTTP/1.1 response parser (z6_http.h): one test per rule, exact results.

Every case is parsed whole, one byte at a time and split once at every position
(`parse_every_way`); all of them must give the same result, including the bytes
consumed. Errors are checked at the exact offset of the byte refused. The seed
corpus under tests/data/http_corpus is read by the last tests here; the property
tests are in test_http_parser_props.py.
"""

from __future__ import annotations

import json
import pathlib

import pytest

from z6core._httpparse import (
    DONE,
    ERR_CLOSED,
    ERR_LIMIT,
    ERR_PROTOCOL,
    MAX_BODY_BYTES,
    MAX_HEADER_BYTES,
    MAX_LINE_BYTES,
    MORE,
    RESULT_NAMES,
    STATE_SIZE,
    ParseResult,
    ResponseParser,
    parse_response,
)

CORPUS = pathlib.Path(__file__).resolve().parent / "data" / "http_corpus"
NEXT = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"   # a pipelined response after the one tested
MIB = 1 << 20


def split_points(size: int, around: tuple[int, ...] = ()) -> list[int]:
    """Every position of a small input; for a large one, a stride plus the edges and
    the neighbourhood of the offsets in ``around`` (all positions would be O(n^2))."""
    if size <= 2048:
        return list(range(size + 1))
    points = set(range(0, size + 1, 251)) | set(range(64)) | set(range(size - 64, size + 1))
    for a in around:
        points |= {p for p in range(a - 64, a + 65) if 0 <= p <= size}
    return sorted(points)


def parse_every_way(raw: bytes, *, head: bool = False, eof: bool = False,
                    around: tuple[int, ...] = ()) -> ParseResult:
    """The result of ``raw`` fed whole, after checking that feeding it one byte at a
    time and in two pieces cut at each position gives exactly the same result."""
    whole = parse_response(raw, head=head, eof=eof)
    assert whole.consumed == whole.wire_bytes
    assert whole.name == RESULT_NAMES[whole.code]
    assert parse_response(raw, head=head, splits=range(1, len(raw)), eof=eof) == whole
    for k in split_points(len(raw), around):
        assert parse_response(raw, head=head, splits=(k,), eof=eof) == whole, f"split at {k}"
    return whole


def response(status_line: bytes, *headers: bytes, body: bytes = b"", eol: bytes = b"\r\n") -> bytes:
    return status_line + eol + b"".join(h + eol for h in headers) + eol + body


def expect_done(raw: bytes, *, status: int, body: int, keep_alive: bool, minor: int = 1,
                head: bool = False, eof: bool = False, extra: bytes = b"") -> None:
    """``raw`` is one complete response; ``extra`` follows it and must be left alone."""
    got = parse_every_way(raw + extra, head=head, eof=eof)
    assert got == ParseResult(DONE, "done", status, keep_alive, minor, body, len(raw), len(raw))


def expect_error(raw: bytes, code: int, at: int, *, head: bool = False, eof: bool = False,
                 around: tuple[int, ...] = ()) -> None:
    """``raw`` is refused with ``code`` at byte offset ``at`` (the bytes before it accepted)."""
    got = parse_every_way(raw, head=head, eof=eof, around=around)
    assert (got.name, got.consumed) == (RESULT_NAMES[code], at)


def chunked(*chunks: bytes, trailers: tuple[bytes, ...] = (), eol: bytes = b"\r\n") -> bytes:
    wire = b"".join(b"%x" % len(c) + eol + c + eol for c in chunks)
    return wire + b"0" + eol + b"".join(t + eol for t in trailers) + eol


# -- the API's constants and the state's size ------------------------------------------

def test_result_codes_and_limits_are_as_documented():
    assert (MORE, DONE, ERR_PROTOCOL, ERR_LIMIT, ERR_CLOSED) == (0, 1, -1, -2, -3)
    assert MAX_HEADER_BYTES == 64 * 1024
    assert MAX_LINE_BYTES == 8 * 1024
    assert MAX_BODY_BYTES == 1 << 40


def test_state_is_small():
    # One per VU, 100k VUs: the parser keeps counters, never a copy of the data.
    assert STATE_SIZE <= 64


def test_splits_must_be_offsets_in_order():
    with pytest.raises(ValueError, match="non-decreasing offsets"):
        parse_response(b"HTTP/1.1", splits=(5, 3))
    with pytest.raises(ValueError, match="non-decreasing offsets"):
        parse_response(b"HTTP/1.1", splits=(9,))
    with pytest.raises(ValueError, match="non-decreasing offsets"):
        parse_response(b"HTTP/1.1", splits=(-1,))


# -- status line -------------------------------------------------------------------------

def test_content_length_body_leaves_the_next_response():
    raw = response(b"HTTP/1.1 200 OK", b"Content-Length: 5", body=b"hello")
    expect_done(raw, status=200, body=5, keep_alive=True, extra=NEXT)


@pytest.mark.parametrize("line", [b"HTTP/1.1 200", b"HTTP/1.1 200 ", b"HTTP/1.1 200 OK",
                                  b"HTTP/1.1 200 All \tfine, really", b"HTTP/1.1 200 \xe9t\xe9 \xff"])
def test_reason_phrase_is_optional_and_free_text(line):
    expect_done(response(line, b"Content-Length: 0"), status=200, body=0, keep_alive=True, extra=NEXT)


@pytest.mark.parametrize("status", [200, 201, 299, 302, 404, 500, 503, 599, 600, 999])
def test_any_three_digit_final_status(status):
    raw = response(b"HTTP/1.1 %d X" % status, b"Content-Length: 0")
    expect_done(raw, status=status, body=0, keep_alive=True, extra=NEXT)


@pytest.mark.parametrize("minor, keep_alive", [(0, False), (1, True), (9, True)])
def test_version_minor_is_recorded(minor, keep_alive):
    raw = response(b"HTTP/1.%d 200 OK" % minor, b"Content-Length: 2", body=b"hi")
    expect_done(raw, status=200, body=2, keep_alive=keep_alive, minor=minor, extra=NEXT)


def test_bare_lf_line_endings_are_accepted():
    raw = response(b"HTTP/1.1 200 OK", b"Content-Length: 2", b"X: y", body=b"hi", eol=b"\n")
    expect_done(raw, status=200, body=2, keep_alive=True, extra=NEXT)
    mixed = b"HTTP/1.1 200 OK\nContent-Length: 2\r\nX: y\n\r\nhi"
    expect_done(mixed, status=200, body=2, keep_alive=True, extra=NEXT)


@pytest.mark.parametrize("raw, at", [
    (b"HTTP/2 200 OK\r\n\r\n", 5),                 # not HTTP/1.x
    (b"HTTP/2.0 200 OK\r\n\r\n", 5),
    (b"http/1.1 200 OK\r\n\r\n", 0),               # the protocol name is case-sensitive
    (b"HTTP/1.x 200 OK\r\n\r\n", 7),
    (b"HTTP/1.10 200 OK\r\n\r\n", 8),
    (b"HTTP/1.1  200 OK\r\n\r\n", 9),
    (b"HTTP/1.1 2x0 OK\r\n\r\n", 10),              # non-digit status
    (b"HTTP/1.1 20\r\n\r\n", 11),
    (b"HTTP/1.1 2000 OK\r\n\r\n", 12),
    (b"HTTP/1.1 099 Low\r\n\r\n", 9),              # no status class 0
    (b"HTTP/1.1 200OK\r\n\r\n", 12),
    (b"200 OK\r\n\r\n", 0),                        # missing version
    (b"\r\nHTTP/1.1 200 OK\r\n\r\n", 0),           # empty line first
    (b" HTTP/1.1 200 OK\r\n\r\n", 0),
    (b"HTTP/1.1 200 O\x00K\r\n\r\n", 14),          # NUL
    (b"HTTP/1.1 200 O\x01K\r\n\r\n", 14),          # control character
    (b"HTTP/1.1 200 O\x7fK\r\n\r\n", 14),          # DEL
    (b"HTTP/1.1 200 OK\rX\r\n\r\n", 16),           # bare CR
    (b"HTTP/1.1 200 OK\r\r\n\r\n", 16),
    (b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: h2c\r\n\r\n", 11),   # never asked for
    (b"SSH-2.0-OpenSSH_9.2\r\n", 0),
    (b"\x15\x03\x01\x00\x02\x02\x50", 0),         # a TLS alert: the server speaks TLS
])
def test_malformed_status_line(raw, at):
    expect_error(raw, ERR_PROTOCOL, at)


def test_status_line_length_limit():
    def line(size):
        return b"HTTP/1.1 200 " + b"x" * (size - 15) + b"\r\n"
    ok = line(MAX_LINE_BYTES)
    assert len(ok) == MAX_LINE_BYTES
    raw = ok + b"Content-Length: 0\r\n\r\n"
    expect_done(raw, status=200, body=0, keep_alive=True, extra=NEXT)
    # One byte longer: refused at the byte past the limit (here the line's LF).
    expect_error(line(MAX_LINE_BYTES + 1) + b"Content-Length: 0\r\n\r\n", ERR_PROTOCOL, MAX_LINE_BYTES)


# -- headers -------------------------------------------------------------------------------

@pytest.mark.parametrize("name", [b"content-length", b"CONTENT-LENGTH", b"Content-Length", b"cOnTeNt-LeNgTh"])
def test_header_names_are_case_insensitive(name):
    raw = response(b"HTTP/1.1 200 OK", name + b": 5", body=b"hello")
    expect_done(raw, status=200, body=5, keep_alive=True, extra=NEXT)


@pytest.mark.parametrize("header", [b"Content-Lengthy: 5", b"Content-Lengt: 5", b"X-Content-Length: 5",
                                    b"Content_Length: 5", b"Transfer-Encodings: chunked",
                                    b"Connections: close"])
def test_names_close_to_known_ones_are_other_headers(header):
    # Not Content-Length: the body runs to the close, and the connection is not kept.
    raw = response(b"HTTP/1.1 200 OK", header, body=b"hello")
    expect_done(raw, status=200, body=5, keep_alive=False, eof=True)


@pytest.mark.parametrize("value", [b"5", b" 5", b"5 ", b"\t5\t", b"  5  ", b"005", b"0000000005"])
def test_content_length_value_with_whitespace_and_leading_zeros(value):
    raw = response(b"HTTP/1.1 200 OK", b"Content-Length:" + value, body=b"hello")
    expect_done(raw, status=200, body=5, keep_alive=True, extra=NEXT)


@pytest.mark.parametrize("value, offset", [
    (b"", 1),          # empty: refused at the line's LF (the CR before it is accepted)
    (b"  ", 3),
    (b"5a", 1), (b"-5", 0), (b"+5", 0), (b"0x5", 1), (b"5 5", 2), (b"5,5", 1), (b"5, 5", 1),
    (b"5.0", 1), ("５".encode(), 0),
    (b"18446744073709551616", 19),   # 2**64: overflows at its last digit
    (b"99999999999999999999", 19),
])
def test_content_length_must_be_digits_that_fit(value, offset):
    head = b"HTTP/1.1 200 OK\r\nContent-Length:"
    expect_error(head + value + b"\r\n\r\nhello", ERR_PROTOCOL, len(head) + offset)


@pytest.mark.parametrize("value", [b"18446744073709551615", b"%d" % (MAX_BODY_BYTES + 1)])
def test_content_length_above_the_body_limit(value):
    head = response(b"HTTP/1.1 200 OK", b"Content-Length: " + value)
    expect_error(head + b"hello", ERR_LIMIT, len(head) - 1)   # decided at the head's last LF


def test_content_length_at_the_body_limit_is_read():
    head = response(b"HTTP/1.1 200 OK", b"Content-Length: %d" % MAX_BODY_BYTES)
    parser = ResponseParser()
    assert parser.feed(head) == (MORE, len(head))
    # 2**20 feeds of 1 MiB: exactly the limit, the last feed completing the response.
    assert parser.feed_repeated(bytes(MIB), MAX_BODY_BYTES // MIB) == (DONE, MAX_BODY_BYTES)
    assert (parser.body_bytes, parser.wire_bytes) == (MAX_BODY_BYTES, len(head) + MAX_BODY_BYTES)
    assert parser.feed(NEXT) == (DONE, 0)


@pytest.mark.parametrize("status_line, head", [(b"HTTP/1.1 200 OK", True), (b"HTTP/1.1 304 Not Modified", False),
                                               (b"HTTP/1.1 204 No Content", False)])
def test_content_length_limit_does_not_apply_without_a_body(status_line, head):
    raw = response(status_line, b"Content-Length: %d" % (1 << 50))
    expect_done(raw, status=int(status_line[9:12]), body=0, keep_alive=True, head=head, extra=b"hello")


def test_identical_duplicate_content_lengths_are_accepted():
    raw = response(b"HTTP/1.1 200 OK", b"Content-Length: 5", b"X: y", b"content-length: 005", body=b"hello")
    expect_done(raw, status=200, body=5, keep_alive=True, extra=NEXT)


def test_differing_duplicate_content_lengths_are_refused():
    raw = response(b"HTTP/1.1 200 OK", b"Content-Length: 5", b"Content-Length: 6", body=b"hello!")
    expect_error(raw, ERR_PROTOCOL, raw.index(b"6\r\n") + 2)   # at the second value's LF


CHUNKED_BODY = chunked(b"hello")


@pytest.mark.parametrize("value, is_chunked", [
    (b"chunked", True), (b"Chunked", True), (b"CHUNKED", True), (b"  chunked  ", True),
    (b"gzip, chunked", True), (b"gzip,chunked", True), (b"gzip , chunked", True),
    (b"gzip;q=1, chunked", True), (b"chunked;x=1", True), (b"gzip, , chunked,", True),
    (b"chunked, gzip", False), (b"gzip", False), (b"chunkedx", False), (b"xchunked", False),
    (b"chunk", False), (b"identity", False), (b"", False), (b"gzip;p=chunked", False),
])
def test_transfer_encoding_chunked_only_as_the_final_coding(value, is_chunked):
    raw = response(b"HTTP/1.1 200 OK", b"Transfer-Encoding: " + value, body=CHUNKED_BODY)
    if is_chunked:
        expect_done(raw, status=200, body=5, keep_alive=True, extra=NEXT)
    else:
        # Another final coding: the body is delimited by the close (RFC 9112 6.3).
        expect_done(raw, status=200, body=len(CHUNKED_BODY), keep_alive=False, eof=True)


def test_transfer_encoding_over_several_fields():
    raw = response(b"HTTP/1.1 200 OK", b"Transfer-Encoding: gzip", b"Transfer-Encoding: chunked",
                   body=CHUNKED_BODY)
    expect_done(raw, status=200, body=5, keep_alive=True, extra=NEXT)
    raw = response(b"HTTP/1.1 200 OK", b"Transfer-Encoding: chunked", b"Transfer-Encoding: gzip",
                   body=CHUNKED_BODY)
    expect_done(raw, status=200, body=len(CHUNKED_BODY), keep_alive=False, eof=True)


def test_transfer_encoding_overrides_content_length():
    raw = response(b"HTTP/1.1 200 OK", b"Content-Length: 100", b"Transfer-Encoding: chunked",
                   body=CHUNKED_BODY)
    expect_done(raw, status=200, body=5, keep_alive=True, extra=NEXT)
    over_limit = response(b"HTTP/1.1 200 OK", b"Content-Length: %d" % (1 << 50),
                          b"Transfer-Encoding: chunked", body=CHUNKED_BODY)
    expect_done(over_limit, status=200, body=5, keep_alive=True, extra=NEXT)


def test_transfer_encoding_in_http10_closes_the_connection():
    raw = response(b"HTTP/1.0 200 OK", b"Connection: keep-alive", b"Transfer-Encoding: chunked",
                   body=CHUNKED_BODY)
    expect_done(raw, status=200, body=5, keep_alive=False, minor=0, extra=NEXT)


@pytest.mark.parametrize("minor, values, keep_alive", [
    (1, [], True), (1, [b"close"], False), (1, [b"Close"], False), (1, [b"CLOSE"], False),
    (1, [b"  close  "], False), (1, [b"keep-alive, close"], False), (1, [b"upgrade,close"], False),
    (1, [b"te,\tclose"], False), (1, [b"keep-alive", b"close"], False),
    (1, [b"closed"], True), (1, [b"clos"], True), (1, [b"x-close"], True), (1, [b"keep-alive"], True),
    (1, [b"TE, Upgrade"], True), (1, [b""], True),
    (0, [], False), (0, [b"keep-alive"], True), (0, [b"Keep-Alive"], True), (0, [b" keep-alive\t"], True),
    (0, [b"te, keep-alive"], True), (0, [b"keep-alive, close"], False), (0, [b"keep-alive", b"close"], False),
    (0, [b"close"], False), (0, [b"keep-alives"], False), (0, [b"keep-aliv"], False),
])
def test_connection_tokens_and_version_defaults(minor, values, keep_alive):
    headers = [b"Connection: " + v for v in values] + [b"Content-Length: 2"]
    raw = response(b"HTTP/1.%d 200 OK" % minor, *headers, body=b"hi")
    expect_done(raw, status=200, body=2, keep_alive=keep_alive, minor=minor, extra=NEXT)


@pytest.mark.parametrize("line, offset", [
    (b"X-No-Colon", 10),            # the line ends before a colon
    (b"Name : v", 4),               # whitespace before the colon (RFC 9112 5.1)
    (b"Name\t: v", 4),
    (b": v", 0),                    # empty name
    (b"X(y): v", 1),                # not a token character
    (b"X: a\x00b", 4), (b"X: a\x01b", 4), (b"X: a\x7fb", 4),
    (b"X: a\rb", 5),                # bare CR inside a value
])
def test_malformed_header_line(line, offset):
    head = b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n"
    expect_error(head + line + b"\r\n\r\n", ERR_PROTOCOL, len(head) + offset)


@pytest.mark.parametrize("fold", [b" folded", b"\tfolded"])
def test_obsolete_line_folding_is_refused(fold):
    head = b"HTTP/1.1 200 OK\r\nX-Long: first\r\n"
    expect_error(head + fold + b"\r\nContent-Length: 0\r\n\r\n", ERR_PROTOCOL, len(head))


def test_header_values_may_be_empty_or_obs_text():
    raw = response(b"HTTP/1.1 200 OK", b"X-Empty:", b"X-Spaces:   ", b"X-Latin: caf\xe9 \xff", b"X~!#$%&'*+.^_`|: 1",
                   b"Content-Length: 0")
    expect_done(raw, status=200, body=0, keep_alive=True, extra=NEXT)


def _head_of_size(size: int, status: bytes = b"200 OK") -> bytes:
    """A head of exactly ``size`` bytes, padded with one long header."""
    start = b"HTTP/1.1 " + status + b"\r\nContent-Length: 0\r\nX-Fill: "
    head = start + b"a" * (size - len(start) - 4) + b"\r\n\r\n"
    assert len(head) == size
    return head


def test_header_section_limit():
    ok = _head_of_size(MAX_HEADER_BYTES)
    got = parse_every_way(ok + NEXT, around=(MAX_HEADER_BYTES,))
    assert got == ParseResult(DONE, "done", 200, True, 1, 0, MAX_HEADER_BYTES, MAX_HEADER_BYTES)
    # One byte more: refused at the byte past the limit (the head's last LF).
    expect_error(_head_of_size(MAX_HEADER_BYTES + 1), ERR_LIMIT, MAX_HEADER_BYTES, around=(MAX_HEADER_BYTES,))


def test_header_section_limit_counts_interim_heads():
    interim = _head_of_size(MAX_HEADER_BYTES // 2, b"103 Early Hints")
    final = _head_of_size(MAX_HEADER_BYTES // 2)
    got = parse_every_way(interim + final, around=(MAX_HEADER_BYTES,))
    assert (got.name, got.status, got.consumed) == ("done", 200, MAX_HEADER_BYTES)
    expect_error(interim + _head_of_size(MAX_HEADER_BYTES // 2 + 1), ERR_LIMIT, MAX_HEADER_BYTES,
                 around=(MAX_HEADER_BYTES,))


@pytest.mark.parametrize("line", [b"X-Big: " + b"v" * MAX_HEADER_BYTES, b"X-Big" + b"n" * MAX_HEADER_BYTES + b": v"])
def test_header_section_limit_inside_a_long_value_or_name(line):
    # Long runs are skipped in bulk; the limit still falls on the exact byte.
    expect_error(b"HTTP/1.1 200 OK\r\n" + line + b"\r\n\r\n", ERR_LIMIT, MAX_HEADER_BYTES, around=(MAX_HEADER_BYTES,))


# -- bodies ---------------------------------------------------------------------------------

@pytest.mark.parametrize("headers", [[b"Content-Length: 10"], [b"Transfer-Encoding: chunked"], []])
def test_head_response_has_no_body(headers):
    raw = response(b"HTTP/1.1 200 OK", *headers)
    expect_done(raw, status=200, body=0, keep_alive=True, head=True, extra=b"0123456789")


@pytest.mark.parametrize("status", [204, 304])
@pytest.mark.parametrize("headers", [[b"Content-Length: 5"], [b"Transfer-Encoding: chunked"], []])
def test_204_and_304_have_no_body(status, headers):
    raw = response(b"HTTP/1.1 %d X" % status, *headers)
    expect_done(raw, status=status, body=0, keep_alive=True, extra=b"hello" + NEXT)


def test_content_length_zero_ends_at_the_head():
    raw = response(b"HTTP/1.1 200 OK", b"Content-Length: 0")
    expect_done(raw, status=200, body=0, keep_alive=True, extra=NEXT)


@pytest.mark.parametrize("headers", [[], [b"Connection: keep-alive"]])
def test_close_delimited_body(headers):
    raw = response(b"HTTP/1.1 200 OK", *headers, body=b"x" * 300)
    # Until the close the response is incomplete, whatever arrives.
    got = parse_every_way(raw)
    assert (got.name, got.body_bytes, got.consumed) == ("more", 300, len(raw))
    expect_done(raw, status=200, body=300, keep_alive=False, eof=True)
    expect_done(response(b"HTTP/1.1 200 OK", *headers), status=200, body=0, keep_alive=False, eof=True)


def test_close_delimited_body_limit():
    head = response(b"HTTP/1.1 200 OK")
    parser = ResponseParser()
    assert parser.feed(head) == (MORE, len(head))
    assert parser.feed_repeated(bytes(MIB), MAX_BODY_BYTES // MIB - 1) == (MORE, MAX_BODY_BYTES - MIB)
    # Of this last piece exactly the bytes up to the limit are taken.
    assert parser.feed(bytes(MIB + 1)) == (ERR_LIMIT, MIB)
    assert parser.body_bytes == MAX_BODY_BYTES
    assert parser.wire_bytes == len(head) + MAX_BODY_BYTES
    assert parser.eof() == ERR_LIMIT


# -- interim responses ------------------------------------------------------------------------

def test_100_continue_is_skipped():
    raw = b"HTTP/1.1 100 Continue\r\n\r\n" + response(b"HTTP/1.1 201 Created", b"Content-Length: 2", body=b"ok")
    expect_done(raw, status=201, body=2, keep_alive=True, extra=NEXT)


def test_several_interim_responses_are_skipped():
    raw = (b"HTTP/1.1 100 Continue\r\n\r\n"
           b"HTTP/1.1 102 Processing\n\n"
           b"HTTP/1.1 103 Early Hints\r\nLink: </style.css>; rel=preload; as=style\r\n"
           b"Link: </script.js>; rel=preload; as=script\r\n\r\n"
           + response(b"HTTP/1.1 200 OK", b"Transfer-Encoding: chunked", body=CHUNKED_BODY))
    expect_done(raw, status=200, body=5, keep_alive=True, extra=NEXT)


def test_interim_headers_do_not_apply_to_the_final_response():
    raw = (b"HTTP/1.0 103 Early Hints\r\nConnection: close\r\nContent-Length: 5\r\n"
           b"Transfer-Encoding: chunked\r\n\r\n"
           + response(b"HTTP/1.1 200 OK", b"Content-Length: 2", body=b"ok"))
    expect_done(raw, status=200, body=2, keep_alive=True, minor=1, extra=NEXT)


def test_interim_header_values_are_not_interpreted():
    # Only their syntax is checked: these values would be errors in a final response.
    raw = (b"HTTP/1.1 103 Early Hints\r\nContent-Length: abc\r\nContent-Length: 1\r\n"
           b"Content-Length: %d\r\n\r\n" % (MAX_BODY_BYTES + 1)
           + response(b"HTTP/1.1 200 OK", b"Content-Length: 2", body=b"ok"))
    expect_done(raw, status=200, body=2, keep_alive=True, extra=NEXT)
    bad_line = b"HTTP/1.1 103 Early Hints\r\nLink : </a.css>\r\n\r\n"
    expect_error(bad_line, ERR_PROTOCOL, bad_line.index(b" :"))


def test_interim_response_then_head_request():
    raw = b"HTTP/1.1 100 Continue\r\n\r\n" + response(b"HTTP/1.1 200 OK", b"Content-Length: 5")
    expect_done(raw, status=200, body=0, keep_alive=True, head=True, extra=b"hello")


def test_101_switching_protocols_is_refused():
    raw = b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 101 Switching Protocols\r\n\r\n"
    expect_error(raw, ERR_PROTOCOL, raw.index(b"101") + 2)


# -- chunked bodies -----------------------------------------------------------------------------

def _chunked_response(wire: bytes) -> bytes:
    return response(b"HTTP/1.1 200 OK", b"Transfer-Encoding: chunked", body=wire)


@pytest.mark.parametrize("wire, body", [
    (b"5\r\nhello\r\n0\r\n\r\n", 5),
    (b"a\r\n0123456789\r\nA\r\n0123456789\r\n0\r\n\r\n", 20),
    (b"1F\r\n" + b"x" * 31 + b"\r\n1f\r\n" + b"y" * 31 + b"\r\n0\r\n\r\n", 62),
    (b"0005\r\nhello\r\n000\r\n\r\n", 5),
    (b"5;name=value\r\nhello\r\n0;last\r\n\r\n", 5),
    (b'5;a=";,q";b\r\nhello\r\n0\r\n\r\n', 5),
    (b"5 ;x\r\nhello\r\n0\t;y=1\r\n\r\n", 5),
    (b"5 \r\nhello\r\n0\r\n\r\n", 5),
    (b"5\nhello\n0\n\n", 5),
    (b"5\r\nhello\n0\r\n\r\n", 5),
    (b"1\r\n\x00\r\n2\r\n\r\n\r\n0\r\n\r\n", 3),   # data bytes are never interpreted
    (b"0\r\n\r\n", 0),
])
def test_chunked_bodies(wire, body):
    expect_done(_chunked_response(wire), status=200, body=body, keep_alive=True, extra=NEXT)


@pytest.mark.parametrize("trailers", [[b"X-Checksum: abc"], [b"A: 1", b"B:", b"Content-Length: not-a-number"],
                                      [b"Server-Timing: total;dur=12.5"]])
def test_chunked_trailers_are_parsed_and_ignored(trailers):
    expect_done(_chunked_response(chunked(b"hello", trailers=tuple(trailers))), status=200, body=5,
                keep_alive=True, extra=NEXT)


@pytest.mark.parametrize("wire, offset", [
    (b"5\r\nhelloX\r\n0\r\n\r\n", 8),       # no CRLF after the data
    (b"5\r\nhello\rX\r\n0\r\n\r\n", 9),
    (b"\r\nhello\r\n0\r\n\r\n", 0),          # empty size line
    (b"x\r\n", 0), (b"-5\r\n", 0), (b" 5\r\n", 0),
    (b"5x\r\nhello\r\n", 1), (b"5 5\r\nhello\r\n", 2), (b"5;\x00\r\nhello\r\n", 2),
    (b"10000000000000000\r\n", 16),         # 2**64: overflows at its 17th digit
    (b"0\r\nNo-Colon\r\n\r\n", 11),         # trailer lines follow the header rules
    (b"0\r\nA: 1\r\n folded\r\n\r\n", 9),
    (b"0\r\nA : 1\r\n\r\n", 4),
    (b"0\r\n\rX", 4),
])
def test_malformed_chunked_body(wire, offset):
    raw = _chunked_response(wire)
    head_size = len(raw) - len(wire)
    expect_error(raw, ERR_PROTOCOL, head_size + offset)


def test_many_leading_zeros_do_not_overflow_a_chunk_size():
    expect_done(_chunked_response(b"0" * 40 + b"5\r\nhello\r\n0\r\n\r\n"), status=200, body=5, keep_alive=True)


@pytest.mark.parametrize("size", [b"FFFFFFFFFFFFFFFF", b"%x" % (MAX_BODY_BYTES + 1)])
def test_chunk_size_above_the_body_limit(size):
    raw = _chunked_response(size + b"\r\nxx")
    expect_error(raw, ERR_LIMIT, raw.index(size) + len(size) + 1)   # at the size line's LF


def test_chunked_body_accumulated_past_the_limit():
    head = _chunked_response(b"%x\r\n" % MAX_BODY_BYTES)
    parser = ResponseParser()
    assert parser.feed(head) == (MORE, len(head))
    assert parser.feed_repeated(bytes(MIB), MAX_BODY_BYTES // MIB) == (MORE, MAX_BODY_BYTES)
    assert parser.feed(b"\r\n1\r\nx\r\n0\r\n\r\n") == (ERR_LIMIT, 4)   # at the second size line's LF
    assert parser.body_bytes == MAX_BODY_BYTES


def test_chunk_size_line_length_limit():
    def line(size):
        return b"5;" + b"e" * (size - 4) + b"\r\n"
    assert len(line(MAX_LINE_BYTES)) == MAX_LINE_BYTES
    expect_done(_chunked_response(line(MAX_LINE_BYTES) + b"hello\r\n0\r\n\r\n"), status=200, body=5,
                keep_alive=True)
    raw = _chunked_response(line(MAX_LINE_BYTES + 1) + b"hello\r\n0\r\n\r\n")
    head_size = len(_chunked_response(b""))
    expect_error(raw, ERR_PROTOCOL, head_size + MAX_LINE_BYTES, around=(head_size + MAX_LINE_BYTES,))


def test_trailer_section_limit():
    head = _chunked_response(b"5\r\nhello\r\n0\r\n")
    start = len(head)
    fill = b"X-Fill: " + b"t" * (MAX_HEADER_BYTES - 12) + b"\r\n\r\n"
    assert len(fill) == MAX_HEADER_BYTES
    got = parse_every_way(head + fill, around=(start + MAX_HEADER_BYTES,))
    assert (got.name, got.body_bytes, got.consumed) == ("done", 5, start + MAX_HEADER_BYTES)
    fill = b"X-Fill: " + b"t" * (MAX_HEADER_BYTES - 11) + b"\r\n\r\n"
    expect_error(head + fill, ERR_LIMIT, start + MAX_HEADER_BYTES, around=(start + MAX_HEADER_BYTES,))


# -- the peer closing, and results that stick -------------------------------------------------------

@pytest.mark.parametrize("raw", [
    b"",                                                        # closed before any byte
    b"H",
    b"HTTP/1.1 200 OK\r\n",
    b"HTTP/1.1 200 OK\r\nContent-Len",
    b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r",
    b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhel",
    b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhel",
    b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n",
    b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\nX: 1\r\n",
    b"HTTP/1.1 100 Continue\r\n\r\n",
])
def test_close_mid_response(raw):
    got = parse_every_way(raw, eof=True)
    assert (got.name, got.consumed) == ("closed", len(raw))


def test_done_is_sticky():
    parser = ResponseParser()
    raw = response(b"HTTP/1.1 200 OK", b"Content-Length: 2", body=b"ok")
    assert parser.feed(raw + b"tail") == (DONE, len(raw))
    assert parser.feed(b"more") == (DONE, 0)
    assert parser.eof() == DONE
    assert parser.wire_bytes == len(raw)


def test_errors_are_sticky():
    parser = ResponseParser()
    assert parser.feed(b"HTTP/9") == (ERR_PROTOCOL, 5)
    assert parser.feed(b"HTTP/1.1 200 OK\r\n\r\n") == (ERR_PROTOCOL, 0)
    assert parser.eof() == ERR_PROTOCOL
    parser.reset()
    assert parser.eof() == ERR_CLOSED
    assert parser.feed(b"HTTP/1.1 200 OK\r\n\r\n") == (ERR_CLOSED, 0)


def test_close_delimited_done_after_eof_is_sticky():
    parser = ResponseParser()
    assert parser.feed(b"HTTP/1.0 200 OK\r\n\r\nbody") == (MORE, 23)
    assert parser.eof() == DONE
    assert parser.feed(b"late") == (DONE, 0)
    assert (parser.status, parser.keep_alive, parser.http_minor, parser.body_bytes) == (200, False, 0, 4)


def test_pipelined_responses_through_one_state():
    first = response(b"HTTP/1.1 200 OK", b"Transfer-Encoding: chunked", body=CHUNKED_BODY)
    second = response(b"HTTP/1.1 404 Not Found", b"Content-Length: 3", body=b"nope")[:-1]
    parser = ResponseParser()
    code, used = parser.feed(first + second)
    assert (code, used, parser.status, parser.body_bytes) == (DONE, len(first), 200, 5)
    parser.reset()
    assert parser.feed((first + second)[used:]) == (DONE, len(second))
    assert (parser.status, parser.body_bytes, parser.wire_bytes) == (404, 3, len(second))


def test_empty_feeds_change_nothing():
    parser = ResponseParser()
    assert parser.feed(b"") == (MORE, 0)
    assert parser.feed(b"HTTP/1.1 204 No Content\r\n") == (MORE, 25)
    assert parser.feed(b"") == (MORE, 0)
    assert parser.feed(b"\r\n") == (DONE, 2)


# -- the seed corpus ---------------------------------------------------------------------------------

def _corpus_cases() -> list:
    manifest = json.loads((CORPUS / "manifest.json").read_text())
    return [pytest.param(case, id=case["file"]) for case in manifest["cases"]]


def test_corpus_manifest_lists_every_file():
    listed = [case.values[0]["file"] for case in _corpus_cases()]
    assert len(listed) == len(set(listed))
    assert sorted(listed) == sorted(p.name for p in CORPUS.glob("*.http"))


@pytest.mark.parametrize("case", _corpus_cases())
def test_corpus(case):
    raw = (CORPUS / case["file"]).read_bytes()
    got = parse_every_way(raw, head=case["head"], eof=case["eof"], around=(case["consumed"],))
    assert (got.name, got.consumed) == (case["result"], case["consumed"])
    if case["result"] == "done":
        assert (got.status, got.keep_alive, got.http_minor, got.body_bytes) == (
            case["status"], case["keep_alive"], case["http_minor"], case["body_bytes"])
