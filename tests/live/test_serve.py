"""The built-in target (`z6 serve`, `z6.serve`) and the nginx helper, checked on the wire.

Every check reads raw bytes from a socket (no HTTP library between the test and the
server), on 127.0.0.1, with a timeout on every socket and a bounded number of requests.
"""

from __future__ import annotations

import json

import os
import pathlib
import re
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from typing import Iterator, Optional

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import z6.cli
import z6.serve
from z6.errors import RunError
from z6.serve import FIXED_BODY, BuiltinTarget
from z6.serve._http import CONTINUE, MAX_HEAD_BYTES, HttpError, Request, RequestReader
from z6.serve._routes import HTTP10_BODY, MALFORMED_RESPONSE, TRICKLE_BODY, filler

from . import servers
from .servers import NginxServer, free_port, require_nginx, start_nginx, stop_z6, z6_child
from conftest import wait_until

pytestmark = pytest.mark.live

TIMEOUT_S = 5.0


# -- a raw client ------------------------------------------------------------------------


class Wire:
    """One client connection: bytes out, bytes in, counting recv calls."""

    def __init__(self, host: str, port: int) -> None:
        self.sock = socket.create_connection((host, port), timeout=TIMEOUT_S)
        self.pending = bytearray()
        self.recv_calls = 0

    def __enter__(self) -> "Wire":
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.sock.close()

    def send(self, data: bytes) -> None:
        self.sock.sendall(data)

    def _fill(self) -> bool:
        data = self.sock.recv(65536)
        self.recv_calls += 1
        self.pending += data
        return bool(data)

    def until(self, marker: bytes) -> bytes:
        """Everything up to and including ``marker``."""
        while (index := self.pending.find(marker)) < 0:
            if not self._fill():
                raise EOFError(f"connection closed before {marker!r}; got {bytes(self.pending)[:200]!r}")
        data = bytes(self.pending[:index + len(marker)])
        del self.pending[:index + len(marker)]
        return data

    def exactly(self, size: int) -> bytes:
        while len(self.pending) < size:
            if not self._fill():
                raise EOFError(f"connection closed after {len(self.pending)} of {size} bytes")
        data = bytes(self.pending[:size])
        del self.pending[:size]
        return data

    def rest(self) -> bytes:
        """Everything until the server closes the connection."""
        while self._fill():
            pass
        data = bytes(self.pending)
        self.pending.clear()
        return data

    def closed_by_peer(self) -> bool:
        """True when nothing more is pending and the server has closed (FIN)."""
        return not self.pending and not self._fill()


@dataclass
class Response:
    version: str
    status: int
    headers: dict[str, str]
    head: bytes
    body: bytes = b""               # decoded (chunks joined)
    raw_body: bytes = b""           # as on the wire
    trailers: dict[str, str] = field(default_factory=dict)


def _fields(block: bytes) -> dict[str, str]:
    values = {}
    for line in block.decode("latin-1").split("\r\n"):
        if line:
            name, _, value = line.partition(":")
            values[name.strip().lower()] = value.strip()
    return values


def read_response(wire: Wire, *, head_request: bool = False) -> Response:
    """One response, framed as RFC 9112 6.3 says (interim 1xx responses are returned too)."""
    head = wire.until(b"\r\n\r\n")
    status_line, _, rest = head.partition(b"\r\n")
    match = re.fullmatch(rb"(HTTP/1\.[01]) (\d{3}) [^\r\n]*", status_line)
    assert match, f"bad status line {status_line!r}"
    response = Response(match[1].decode(), int(match[2]), _fields(rest[:-4]), head)
    if head_request or response.status < 200 or response.status in (204, 304):
        return response
    if response.headers.get("transfer-encoding") == "chunked":
        raw, body = bytearray(), bytearray()
        while True:
            size_line = wire.until(b"\r\n")
            raw += size_line
            size = int(size_line.split(b";")[0], 16)
            if size == 0:
                break
            data = wire.exactly(size + 2)
            assert data.endswith(b"\r\n")
            raw += data
            body += data[:-2]
        trailers = wire.until(b"\r\n") if wire.pending.startswith(b"\r\n") else wire.until(b"\r\n\r\n")
        raw += trailers
        response.trailers = _fields(trailers)
        response.body, response.raw_body = bytes(body), bytes(raw)
    elif "content-length" in response.headers:
        response.body = response.raw_body = wire.exactly(int(response.headers["content-length"]))
    else:
        response.body = response.raw_body = wire.rest()
    return response


def get(path: str, method: str = "GET", headers: str = "", body: bytes = b"", version: str = "1.1") -> bytes:
    return f"{method} {path} HTTP/{version}\r\nHost: test\r\n{headers}".encode() + (
        b"Content-Length: %d\r\n\r\n" % len(body) + body if body else b"\r\n")


def exchange(target: BuiltinTarget, request: bytes, **kwargs: bool) -> Response:
    with Wire(target.host, target.port) as wire:
        wire.send(request)
        return read_response(wire, **kwargs)


def count_lines(path: Optional[str]) -> int:
    assert path is not None
    return len(pathlib.Path(path).read_text().splitlines())


def test_public_api() -> None:
    assert sorted(z6.serve.__all__) == ["BuiltinTarget", "DEFAULT_HEADER_TIMEOUT_S", "FIXED_BODY", "loop_name",
                                        "serve"]
    assert z6.serve.DEFAULT_HEADER_TIMEOUT_S == 10.0
    assert all(hasattr(z6.serve, name) for name in z6.serve.__all__)
    assert z6.serve.loop_name() in ("uvloop", "asyncio")


# -- the request reader, in process --------------------------------------------------------

PIPELINE = (
    b"GET /a HTTP/1.1\r\nHost: x\r\n\r\n"
    b"\r\n"  # a stray empty line between requests is ignored (RFC 9112 2.2)
    b"POST /b HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello"
    b"POST /c HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nExpect: 100-continue\r\n\r\n"
    b"3;ext=1\r\nabc\r\n10\r\n0123456789abcdef\r\n0\r\nX-Trailer: t\r\n\r\n"
    b"GET /d HTTP/1.0\r\nConnection: keep-alive\r\n\r\n"
    b"GET /e HTTP/1.1\r\nConnection: close\r\n\r\n"
)


def _describe(items: list) -> list:
    return [item if item is CONTINUE else (item.method, item.target, item.minor, item.keep_alive, item.body_length)
            for item in items]


def test_reader_reads_a_pipeline_in_order() -> None:
    assert _describe(RequestReader().feed(PIPELINE)) == [
        ("GET", "/a", 1, True, 0),
        ("POST", "/b", 1, True, 5),
        CONTINUE,
        ("POST", "/c", 1, True, 19),
        ("GET", "/d", 0, True, 0),
        ("GET", "/e", 1, False, 0),
    ]


def test_reader_gives_the_same_requests_however_the_bytes_are_split() -> None:
    whole = _describe(RequestReader().feed(PIPELINE))
    for split in range(1, len(PIPELINE)):
        reader = RequestReader()
        items = reader.feed(PIPELINE[:split]) + reader.feed(PIPELINE[split:])
        assert _describe(items) == whole, f"split at {split}"
        assert reader.idle
    reader = RequestReader()
    one_by_one = [item for index in range(len(PIPELINE)) for item in reader.feed(PIPELINE[index:index + 1])]
    assert _describe(one_by_one) == whole


@pytest.mark.parametrize("request_bytes, status, fragment", [
    (b"GET /\r\n\r\n", 400, "malformed request line"),
    (b"GET  / HTTP/1.1\r\n\r\n", 400, "malformed request line"),
    (b"G(T / HTTP/1.1\r\n\r\n", 400, "malformed request line"),
    (b"GET / HTTP/2.0\r\n\r\n", 505, "HTTP version 2.0 not supported"),
    (b"GET / http/1.1\r\n\r\n", 400, "malformed request line"),
    (b"GET nopath HTTP/1.1\r\n\r\n", 400, "request target must be a path"),
    (b"GET /\xff HTTP/1.1\r\n\r\n", 400, "outside visible ASCII"),
    (b"GET / HTTP/1.1\r\nNoColon\r\n\r\n", 400, "malformed header line"),
    (b"GET / HTTP/1.1\r\nHost: x\r\n folded\r\n\r\n", 400, "malformed header line"),
    (b"GET / HTTP/1.1\r\nHost : x\r\n\r\n", 400, "malformed header line"),
    (b"GET / HTTP/1.1\r\nA: b\rc\r\n\r\n", 400, "malformed header line"),
    (b"GET / HTTP/1.1\r\nHost: a\x00b\r\n\r\n", 400, "NUL byte in header b'Host'"),
    (b"GET / HTTP/1.1\r\nHost: x\r\nX-Nul: \x00\r\n\r\n", 400, "NUL byte in header b'X-Nul'"),
    (b"GET / HTTP/1.1\r\nX\x00Y: v\r\n\r\n", 400, "malformed header line"),
    (b"POST / HTTP/1.1\r\nContent-Length: -1\r\n\r\n", 400, "malformed Content-Length"),
    (b"POST / HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n", 400, "conflicting Content-Length"),
    (b"POST / HTTP/1.1\r\nTransfer-Encoding: gzip\r\n\r\n", 400, "must end with chunked"),
    (b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n", 400,
     "both Transfer-Encoding and Content-Length"),
    (b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", 400, "malformed chunk size"),
    (b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabcXY", 400, "not followed by CRLF"),
    (b"POST / HTTP/1.1\r\nExpect: magic\r\nContent-Length: 1\r\n\r\n", 417, "unsupported Expect"),
])
def test_reader_refuses_bad_requests_with_a_status_and_a_reason(request_bytes: bytes, status: int,
                                                                   fragment: str) -> None:
    reader = RequestReader()
    items = reader.feed(request_bytes)
    assert len(items) == 1 and isinstance(items[0], HttpError), items
    assert (items[0].status, fragment in items[0].message) == (status, True), items[0].message
    assert reader.failed and reader.feed(b"GET / HTTP/1.1\r\n\r\n") == []


_PIECES = st.sampled_from([b"GET / HTTP/1.1\r\n", b"POST /x HTTP/1.0\r\n", b"Content-Length: 3\r\n",
                           b"Transfer-Encoding: chunked\r\n", b"Connection: close\r\n", b"Expect: 100-continue\r\n",
                           b"\r\n", b"abc", b"3;x=1\r\n", b"0\r\n", b"\r", b"\n", b":", b" ", b"\x00\xff"])


@settings(max_examples=300, deadline=None)
@given(st.lists(st.one_of(_PIECES, st.binary(max_size=20)), max_size=30), st.data())
def test_reader_never_raises_and_always_reads_or_refuses(pieces: list[bytes], data: st.DataObject) -> None:
    stream = b"".join(pieces)
    cuts = sorted(data.draw(st.lists(st.integers(0, len(stream)), max_size=5)))
    reader = RequestReader()
    items = []
    for start, end in zip([0] + cuts, cuts + [len(stream)]):
        items += reader.feed(stream[start:end])
    assert all(type(item) in (Request, HttpError) or item is CONTINUE for item in items)
    errors = [index for index, item in enumerate(items) if isinstance(item, HttpError)]
    assert errors in ([], [len(items) - 1])  # an error is the last thing read
    assert reader.failed == bool(errors)
    # However the stream was cut, the same items.
    assert _describe_all(items) == _describe_all(RequestReader().feed(stream))


def _describe_all(items: list) -> list:
    return [(item.status, item.message) if isinstance(item, HttpError) else _describe([item])[0] for item in items]


def test_reader_names_the_request_whose_headers_are_bad() -> None:
    [error] = RequestReader().feed(b"PUT /x HTTP/1.1\r\nContent-Length: z\r\n\r\n")
    assert isinstance(error, HttpError) and (error.method, error.target) == ("PUT", "/x")


def test_reader_limits_the_head_and_the_trailers() -> None:
    [error] = RequestReader().feed(b"GET / HTTP/1.1\r\nX: " + b"a" * MAX_HEAD_BYTES)
    assert isinstance(error, HttpError) and error.status == 431
    [error] = RequestReader().feed(b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n"
                                   + (b"T: " + b"t" * 1000 + b"\r\n") * 70)
    assert isinstance(error, HttpError) and error.status == 431
    # Just under the limit is fine.
    head = b"GET / HTTP/1.1\r\nX: " + b"a" * (MAX_HEAD_BYTES - 40) + b"\r\n\r\n"
    [request] = RequestReader().feed(head)
    assert isinstance(request, Request)


def test_reader_reads_absolute_form_and_asterisk_targets() -> None:
    items = RequestReader().feed(b"GET http://example.test/p?q=1 HTTP/1.1\r\n\r\n"
                                 b"OPTIONS * HTTP/1.1\r\n\r\nGET http://example.test HTTP/1.1\r\n\r\n")
    assert [item.target for item in items] == ["/p?q=1", "*", "/"]


# -- routes, on the wire --------------------------------------------------------------------


def test_unknown_paths_and_any_method_get_the_fixed_body(builtin_target: BuiltinTarget) -> None:
    with Wire(builtin_target.host, builtin_target.port) as wire:
        for request in (get("/"), get("/api/items"), get("/api/items/7", "DELETE"),
                        get("/api/items", "POST", body=b'{"name": "x"}'), get("/status"), get("/bytes"),
                        get("/close/"), get("/api/items?page=2", "PUT", body=b"x" * 10_000)):
            wire.send(request)
            response = read_response(wire)
            assert (response.status, response.body) == (200, FIXED_BODY)
            assert response.headers["content-length"] == "3" and "connection" not in response.headers


def _filler(size: int, start: int = 0) -> bytes:
    return b"".join(filler(size, start))


def test_filler_is_one_continuous_pattern() -> None:
    whole = _filler(200_000)
    assert whole[:32] == b"z6-filler-bytes\n" * 2
    assert _filler(150_000, 50_000) == whole[50_000:]
    assert [len(piece) for piece in filler(150_000)] == [65536, 65536, 18928]


@pytest.mark.parametrize("size", [0, 1, 10, 65536, 65537, 300_000])
def test_bytes_gives_n_bytes(builtin_target: BuiltinTarget, size: int) -> None:
    response = exchange(builtin_target, get(f"/bytes/{size}"))
    assert response.status == 200 and response.headers["content-length"] == str(size)
    assert response.body == _filler(size)


@pytest.mark.parametrize("path, message", [
    ("/bytes/abc", "/bytes/N: N must be an integer from 0 to 1073741824, got 'abc'"),
    ("/bytes/1073741825", "/bytes/N: N must be an integer from 0 to 1073741824, got '1073741825'"),
    ("/bytes/-1", "got '-1'"),
    ("/bytes/" + "9" * 5000, "/bytes/N: N must be an integer from 0 to 1073741824, got '999"),
    ("/delay/" + "9" * 5000 + "ms", "/delay/D: D must be a duration"),
    ("/delay/10", "/delay/D: D must be a duration such as 10ms, 1.5s or 250us, got '10'"),
    ("/delay/61s", "/delay/D: D must be at most 60s, got '61s'"),
    ("/status/99", "/status/N: N must be an integer from 100 to 599, got '99'"),
    ("/status/600", "got '600'"),
    ("/status/101", "a server switches protocols only on a client's Upgrade request"),
    ("/chunked/x", "/chunked/N: N must be an integer"),
    ("/chunked/3?size=0", "/chunked/N?size=M: M must be an integer from 1 to 1048576, got '0'"),
    ("/chunked/3?trailer=yes", "/chunked/N?trailer= must be 0 or 1, got 'yes'"),
    ("/chunked/1000000?size=1048576", "N*M must be at most 1073741824"),
    ("/slow-body/10?delay=fast", "/slow-body/N?delay= must be a duration"),
    ("/slow-body/10?pieces=0", "/slow-body/N?pieces= must be an integer from 1 to 10000, got '0'"),
    ("/slow-body/100?pieces=100&delay=1s", "pieces x delay must be at most 60s, got 100 x 1s"),
    ("/trickle?delay=1s", "bytes x delay must be at most 60s"),
    ("/huge-headers?kib=0", "/huge-headers?kib= must be an integer from 1 to 1024, got '0'"),
])
def test_a_bad_route_argument_is_a_400_naming_it_and_the_connection_stays(
        builtin_target: BuiltinTarget, path: str, message: str) -> None:
    with Wire(builtin_target.host, builtin_target.port) as wire:
        wire.send(get(path))
        response = read_response(wire)
        assert response.status == 400 and message in response.body.decode(), response.body
        wire.send(get("/"))
        assert read_response(wire).status == 200


@pytest.mark.parametrize("path", ["/delay/50ms", "/delay/0.05s", "/delay/50000us"])
def test_delay_answers_200_after_the_delay(builtin_target: BuiltinTarget, path: str) -> None:
    started = time.monotonic()
    response = exchange(builtin_target, get(path))
    # A lower bound only: the server may be late on a busy machine, never early.
    assert time.monotonic() - started >= 0.045
    assert (response.status, response.body) == (200, FIXED_BODY)


@pytest.mark.parametrize("status", [200, 201, 302, 404, 418, 500, 503, 599])
def test_status_route_answers_that_status(builtin_target: BuiltinTarget, status: int) -> None:
    response = exchange(builtin_target, get(f"/status/{status}"))
    assert response.status == status
    assert response.body.startswith(f"{status} ".encode())
    assert response.headers["content-length"] == str(len(response.body))


@pytest.mark.parametrize("status", [204, 304])
def test_204_and_304_have_no_body_and_no_length(builtin_target: BuiltinTarget, status: int) -> None:
    with Wire(builtin_target.host, builtin_target.port) as wire:
        wire.send(get(f"/status/{status}") + get("/"))
        head = wire.until(b"\r\n\r\n")
        assert head.startswith(f"HTTP/1.1 {status} ".encode()) and b"Content-Length" not in head
        # The next response starts right after the empty line: no body bytes between.
        assert wire.exactly(15) == b"HTTP/1.1 200 OK"


def test_205_has_an_empty_body(builtin_target: BuiltinTarget) -> None:
    response = exchange(builtin_target, get("/status/205"))
    assert (response.status, response.headers["content-length"], response.body) == (205, "0", b"")


def test_1xx_is_an_interim_response_before_a_200(builtin_target: BuiltinTarget) -> None:
    with Wire(builtin_target.host, builtin_target.port) as wire:
        wire.send(get("/status/103"))
        assert wire.until(b"\r\n\r\n") == b"HTTP/1.1 103 Early Hints\r\n\r\n"
        response = read_response(wire)
        assert (response.status, response.body) == (200, FIXED_BODY)
    # Never an interim response to an HTTP/1.0 client (RFC 9110 15.2).
    response = exchange(builtin_target, get("/status/100", version="1.0"))
    assert (response.status, response.body) == (200, FIXED_BODY)


def test_chunked_bytes_on_the_wire(builtin_target: BuiltinTarget) -> None:
    response = exchange(builtin_target, get("/chunked/3?size=4"))
    assert response.headers["transfer-encoding"] == "chunked" and "content-length" not in response.headers
    assert response.headers["trailer"] == "X-Z6-Chunks"
    assert response.raw_body == (b'4\r\nz6-f\r\n'
                                 b'4;z6-chunk=1;note="odd;chunk"\r\nille\r\n'
                                 b'4\r\nr-by\r\n'
                                 b'0\r\nX-Z6-Chunks: 3\r\n\r\n')
    assert response.trailers == {"x-z6-chunks": "3"}


def test_chunked_without_trailer_and_with_no_chunks(builtin_target: BuiltinTarget) -> None:
    response = exchange(builtin_target, get("/chunked/2?size=1&trailer=0"))
    assert "trailer" not in response.headers
    assert response.raw_body == b'1\r\nz\r\n1;z6-chunk=1;note="odd;chunk"\r\n6\r\n0\r\n\r\n'
    assert exchange(builtin_target, get("/chunked/0")).raw_body == b"0\r\nX-Z6-Chunks: 0\r\n\r\n"


def test_a_large_chunked_body_is_streamed_whole(builtin_target: BuiltinTarget) -> None:
    with Wire(builtin_target.host, builtin_target.port) as wire:
        wire.send(get("/chunked/300?size=1000") + get("/"))
        response = read_response(wire)
        assert response.body == _filler(300_000) and response.trailers == {"x-z6-chunks": "300"}
        assert read_response(wire).body == FIXED_BODY  # framing intact after it


def test_chunked_to_an_http10_client_is_length_delimited(builtin_target: BuiltinTarget) -> None:
    response = exchange(builtin_target, get("/chunked/3?size=4", version="1.0"))
    assert "transfer-encoding" not in response.headers
    assert (response.headers["content-length"], response.body) == ("12", _filler(12))


def test_close_sends_connection_close_then_closes(builtin_target: BuiltinTarget) -> None:
    with Wire(builtin_target.host, builtin_target.port) as wire:
        wire.send(get("/close"))
        response = read_response(wire)
        assert (response.status, response.headers["connection"], response.body) == (200, "close", FIXED_BODY)
        assert wire.closed_by_peer()


def test_http10_response_is_delimited_by_close(builtin_target: BuiltinTarget) -> None:
    with Wire(builtin_target.host, builtin_target.port) as wire:
        wire.send(get("/http10"))
        head = wire.until(b"\r\n\r\n")
        assert head.startswith(b"HTTP/1.0 200 OK\r\n")
        assert b"Content-Length" not in head and b"Connection" not in head
        assert wire.rest() == HTTP10_BODY


def test_reset_is_a_tcp_rst_without_a_response(builtin_target: BuiltinTarget) -> None:
    with Wire(builtin_target.host, builtin_target.port) as wire:
        wire.send(get("/reset"))
        with pytest.raises(ConnectionResetError):
            wire.rest()
        assert not wire.pending


def test_reset_after_pipelined_responses_delivers_them_first(builtin_target: BuiltinTarget) -> None:
    with Wire(builtin_target.host, builtin_target.port) as wire:
        wire.send(get("/") + get("/bytes/5") + get("/reset"))
        assert read_response(wire).body == FIXED_BODY
        assert read_response(wire).body == _filler(5)
        with pytest.raises(ConnectionResetError):
            wire.rest()


def test_malformed_writes_a_garbage_status_line_and_closes(builtin_target: BuiltinTarget) -> None:
    with Wire(builtin_target.host, builtin_target.port) as wire:
        wire.send(get("/malformed"))
        assert wire.rest() == MALFORMED_RESPONSE


def test_truncated_promises_100_bytes_and_sends_10(builtin_target: BuiltinTarget) -> None:
    with Wire(builtin_target.host, builtin_target.port) as wire:
        wire.send(get("/truncated"))
        head = wire.until(b"\r\n\r\n")
        assert b"\r\nContent-Length: 100\r\n" in head
        assert wire.rest() == _filler(10)


def test_slow_body_arrives_in_pieces_with_pauses(builtin_target: BuiltinTarget) -> None:
    with Wire(builtin_target.host, builtin_target.port) as wire:
        started = time.monotonic()
        wire.send(get("/slow-body/1000?delay=20ms&pieces=4"))
        head = wire.until(b"\r\n\r\n")
        calls_before_body = wire.recv_calls
        body = wire.exactly(1000)
        assert b"\r\nContent-Length: 1000\r\n" in head and body == _filler(1000)
        # Four pieces, 20 ms apart: at least two reads even on a busy machine.
        assert wire.recv_calls - calls_before_body >= 2
        assert time.monotonic() - started >= 0.9 * 4 * 0.020
        wire.send(get("/"))
        assert read_response(wire).body == FIXED_BODY


def test_slow_body_with_more_pieces_than_bytes(builtin_target: BuiltinTarget) -> None:
    assert exchange(builtin_target, get("/slow-body/3?pieces=10&delay=1ms")).body == _filler(3)
    assert exchange(builtin_target, get("/slow-body/0")).body == b""


def test_trickle_writes_the_response_one_byte_at_a_time(builtin_target: BuiltinTarget) -> None:
    with Wire(builtin_target.host, builtin_target.port) as wire:
        wire.send(get("/trickle?delay=2ms"))
        response = read_response(wire)
        assert (response.status, response.body) == (200, TRICKLE_BODY)
        size = len(response.head) + len(response.body)
        # ~150 bytes, 2 ms apart: a reader keeping up sees one byte per read; allow a
        # busy machine to batch many of them.
        assert wire.recv_calls > 10, (wire.recv_calls, size)
        wire.send(get("/"))
        assert read_response(wire).body == FIXED_BODY


def test_echo_returns_the_request_body_length(builtin_target: BuiltinTarget) -> None:
    with Wire(builtin_target.host, builtin_target.port) as wire:
        wire.send(get("/echo"))
        assert read_response(wire).body == b"0\n"
        wire.send(get("/echo", "POST", body=b"hello world"))
        assert read_response(wire).body == b"11\n"
        wire.send(b"POST /echo HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n"
                  b"5;name=value\r\nhello\r\n1A\r\n" + b"a" * 26 + b"\r\n0\r\nX-T: 1\r\n\r\n")
        assert read_response(wire).body == b"31\n"
        wire.send(get("/echo", "PUT", body=b"x" * 1_000_000))
        assert read_response(wire).body == b"1000000\n"


def test_token_issues_a_token_that_auth_accepts(builtin_target: BuiltinTarget) -> None:
    with Wire(builtin_target.host, builtin_target.port) as wire:
        wire.send(get("/token/u-7", "POST"))
        response = read_response(wire)
        assert response.status == 200 and b"X-Token: t-u-7\r\n" in response.head
        assert json.loads(response.body) == {"access_token": "t-u-7", "token_type": "Bearer", "user": {"name": "u-7"}}
        wire.send(get("/auth/t-u-7"))
        assert (read_response(wire).status) == 200
        for bad in ("/auth/u-7", "/auth/t-", "/auth/t-a%20b"):
            wire.send(get(bad))
            assert read_response(wire).status == 403, bad
        wire.send(get("/token/" + "x" * 65))
        assert read_response(wire).status == 400


def test_expect_100_continue_gets_an_interim_response_before_the_body(builtin_target: BuiltinTarget) -> None:
    with Wire(builtin_target.host, builtin_target.port) as wire:
        wire.send(b"POST /echo HTTP/1.1\r\nHost: t\r\nExpect: 100-continue\r\nContent-Length: 4\r\n\r\n")
        assert wire.until(b"\r\n\r\n") == b"HTTP/1.1 100 Continue\r\n\r\n"
        wire.send(b"body")
        assert read_response(wire).body == b"4\n"


def test_huge_headers_exceed_64_kib(builtin_target: BuiltinTarget) -> None:
    response = exchange(builtin_target, get("/huge-headers"))
    assert len(response.head) > 65536 and len(response.head) > 80 * 1024
    assert response.body == FIXED_BODY
    assert len(exchange(builtin_target, get("/huge-headers?kib=2")).head) in range(2048, 2048 + 200)


@pytest.mark.parametrize("path", ["/", "/api/items", "/bytes/100000", "/status/503", "/status/204",
                                  "/chunked/3", "/echo", "/huge-headers?kib=1", "/delay/1ms",
                                  "/slow-body/100?delay=1ms", "/trickle?delay=0us", "/status/103"])
def test_head_gets_headers_without_a_body(builtin_target: BuiltinTarget, path: str) -> None:
    with Wire(builtin_target.host, builtin_target.port) as wire:
        wire.send(get(path, "HEAD"))
        response = read_response(wire, head_request=True)
        if response.status == 103:  # the interim response; the final one follows
            response = read_response(wire, head_request=True)
        with Wire(builtin_target.host, builtin_target.port) as other:
            other.send(get(path))
            while (get_response := read_response(other)).status < 200:
                pass
        # The headers GET gets, framing included (Date aside).
        for name in ("content-length", "transfer-encoding", "content-type"):
            assert response.headers.get(name) == get_response.headers.get(name), name
        # No body: the next response follows the empty line at once.
        wire.send(get("/"))
        assert wire.exactly(15) == b"HTTP/1.1 200 OK"


@pytest.mark.parametrize("path, first_line", [("/close", b"HTTP/1.1 200 OK"), ("/http10", b"HTTP/1.0 200 OK"),
                                               ("/truncated", b"HTTP/1.1 200 OK")])
def test_head_on_closing_routes_gets_headers_then_close(builtin_target: BuiltinTarget, path: str,
                                                        first_line: bytes) -> None:
    with Wire(builtin_target.host, builtin_target.port) as wire:
        wire.send(get(path, "HEAD"))
        everything = wire.rest()
        assert everything.startswith(first_line + b"\r\n") and everything.endswith(b"\r\n\r\n")
        assert everything.count(b"\r\n\r\n") == 1


def test_keep_alive_across_many_requests(builtin_target: BuiltinTarget) -> None:
    with Wire(builtin_target.host, builtin_target.port) as wire:
        for index in range(200):
            wire.send(get(f"/bytes/{index}"))
            response = read_response(wire)  # all on this one socket: the server kept it open
            assert response.body == _filler(index)


def test_pipelined_requests_are_answered_in_order(builtin_target: BuiltinTarget) -> None:
    with Wire(builtin_target.host, builtin_target.port) as wire:
        # The slow replies first, so that the quick ones behind them must wait their turn.
        wire.send(get("/delay/30ms") + get("/slow-body/20?delay=5ms") + get("/status/404")
                  + get("/echo", "POST", body=b"12345") + get("/chunked/2?size=3") + get("/trickle?delay=0us")
                  + get("/bytes/7") + get("/status/204") + get("/"))
        expected = [(200, FIXED_BODY), (200, _filler(20)), (404, b"404 Not Found\n"), (200, b"5\n"),
                    (200, _filler(6)), (200, TRICKLE_BODY), (200, _filler(7)), (204, b""), (200, FIXED_BODY)]
        assert [(r.status, r.body) for r in (read_response(wire) for _ in expected)] == expected


def test_many_pipelined_requests_beyond_the_queue_limit(builtin_target: BuiltinTarget) -> None:
    with Wire(builtin_target.host, builtin_target.port) as wire:
        wire.send(get("/delay/20ms") + b"".join(get(f"/bytes/{n % 50}") for n in range(500)))
        assert read_response(wire).body == FIXED_BODY
        for n in range(500):
            assert read_response(wire).body == _filler(n % 50)


def _resident_bytes(pid: int) -> int:
    for line in pathlib.Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise AssertionError("no VmRSS")


@pytest.mark.skipif(not os.path.exists("/proc/self/status"), reason="reads memory use from /proc")
def test_a_client_that_does_not_read_does_not_make_the_server_buffer_its_responses() -> None:
    with BuiltinTarget() as target:
        before = _resident_bytes(target.pid)
        with Wire(target.host, target.port) as wire:
            # 2,000 pipelined requests for 64 KiB each: 131 MB if the server answered them all at once.
            wire.send(get("/bytes/65536") * 2000)
            time.sleep(0.5)  # time enough to answer them all, were it not held back
            grown = _resident_bytes(target.pid) - before
            assert read_response(wire).body == _filler(65536)  # and it still answers
        assert grown < 32 * 2**20, f"the server grew by {grown / 2**20:.0f} MiB"


def test_http10_client_gets_close_unless_it_asks_keep_alive(builtin_target: BuiltinTarget) -> None:
    with Wire(builtin_target.host, builtin_target.port) as wire:
        wire.send(get("/", version="1.0"))
        response = read_response(wire)
        assert (response.body, response.headers["connection"]) == (FIXED_BODY, "close")
        assert wire.closed_by_peer()
    with Wire(builtin_target.host, builtin_target.port) as wire:
        for _ in range(3):
            wire.send(get("/", version="1.0", headers="Connection: keep-alive\r\n"))
            response = read_response(wire)
            assert (response.body, response.headers["connection"]) == (FIXED_BODY, "keep-alive")


def test_http11_client_asking_close_gets_close(builtin_target: BuiltinTarget) -> None:
    with Wire(builtin_target.host, builtin_target.port) as wire:
        wire.send(get("/bytes/5", headers="Connection: close\r\n") + get("/"))
        response = read_response(wire)
        assert (response.body, response.headers["connection"]) == (_filler(5), "close")
        assert wire.closed_by_peer()  # the request after it is not answered


def test_a_client_half_close_still_gets_its_answers(builtin_target: BuiltinTarget) -> None:
    with Wire(builtin_target.host, builtin_target.port) as wire:
        wire.send(get("/delay/10ms") + get("/bytes/3"))
        wire.sock.shutdown(socket.SHUT_WR)
        assert read_response(wire).body == FIXED_BODY
        assert read_response(wire).body == _filler(3)
        assert wire.closed_by_peer()


@pytest.mark.parametrize("request_bytes, status", [
    (b"GARBAGE\r\n\r\n", 400),
    (b"GET / HTTP/2.0\r\n\r\n", 505),
    (b"GET / HTTP/1.1\r\nX: " + b"a" * 70_000 + b"\r\n\r\n", 431),
    (b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\nabc", 400),
])
def test_an_unreadable_request_gets_an_error_and_close(builtin_target: BuiltinTarget, request_bytes: bytes,
                                                       status: int) -> None:
    with Wire(builtin_target.host, builtin_target.port) as wire:
        wire.send(get("/") + request_bytes)
        assert read_response(wire).body == FIXED_BODY  # the request before it is answered
        response = read_response(wire)
        assert (response.status, response.headers["connection"]) == (status, "close")
        assert wire.closed_by_peer()


def test_a_nul_in_a_header_gets_400_and_close(builtin_target: BuiltinTarget) -> None:
    with Wire(builtin_target.host, builtin_target.port) as wire:
        wire.send(b"GET / HTTP/1.1\r\nHost: x\r\nUser-Agent: a\x00b\r\n\r\n")
        response = read_response(wire)
        assert (response.status, response.headers["connection"]) == (400, "close")
        assert b"NUL byte" in response.body
        assert wire.closed_by_peer()


# -- the header timeout (slowloris) ------------------------------------------------------------

HEADER_TIMEOUT_S = 0.5


@pytest.fixture(scope="module")
def impatient_target() -> Iterator[BuiltinTarget]:
    with BuiltinTarget(header_timeout_s=HEADER_TIMEOUT_S) as target:
        yield target


def test_a_head_that_never_ends_gets_408_and_close(impatient_target: BuiltinTarget) -> None:
    started = time.monotonic()
    with Wire(impatient_target.host, impatient_target.port) as wire:
        wire.send(b"GET / HTTP/1.1\r\nHost: x\r\n")
        # A header line every 0.1 s does not extend the deadline: it runs from the head's first byte.
        for _ in range(4):
            time.sleep(0.1)
            wire.send(b"X-Slow: 1\r\n")
        response = read_response(wire)
        elapsed = time.monotonic() - started
        assert (response.status, response.headers["connection"]) == (408, "close")
        assert b"not received within 0.5 s" in response.body
        assert wire.closed_by_peer()
    # (the event loop may run a timer up to a clock tick early)
    assert HEADER_TIMEOUT_S - 0.05 <= elapsed < HEADER_TIMEOUT_S + 2.0


def test_slowloris_connections_are_all_closed_after_the_header_timeout(impatient_target: BuiltinTarget) -> None:
    wires = [Wire(impatient_target.host, impatient_target.port) for _ in range(300)]
    try:
        for index, wire in enumerate(wires):
            # Half send part of a head, half connect and send nothing.
            if index % 2 == 0:
                wire.send(b"GET / HTTP/1.1\r\nHost: x\r\n")
        deadline = time.monotonic() + HEADER_TIMEOUT_S + 4.0
        for index, wire in enumerate(wires):
            wire.sock.settimeout(max(0.1, deadline - time.monotonic()))
            data = wire.rest()
            if index % 2 == 0:
                assert data.startswith(b"HTTP/1.1 408 Request Timeout\r\n"), data[:80]
            else:
                assert data == b""  # nothing was asked: closed without an answer
    finally:
        for wire in wires:
            wire.sock.close()
    # The server still serves.
    assert exchange(impatient_target, get("/")).body == FIXED_BODY


def test_an_idle_keep_alive_connection_is_not_timed(impatient_target: BuiltinTarget) -> None:
    with Wire(impatient_target.host, impatient_target.port) as wire:
        wire.send(get("/"))
        assert read_response(wire).body == FIXED_BODY
        time.sleep(HEADER_TIMEOUT_S * 3)  # idle between requests, nothing partial sent
        wire.send(get("/bytes/4"))
        assert read_response(wire).body == _filler(4)
        # A slow request body is not timed either: only the head is.
        wire.send(b"POST /echo HTTP/1.1\r\nContent-Length: 2\r\n\r\na")
        time.sleep(HEADER_TIMEOUT_S * 2)
        wire.send(b"b")
        assert read_response(wire).status == 200


def test_header_timeout_option(tmp_path: pathlib.Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert z6.cli.main(["serve", "--port", "0", "--header-timeout", "-1"]) == 2
    assert "--header-timeout: must be a number of seconds, 0 or more (0: no limit), got '-1'" in capsys.readouterr().err


# -- the access log and BuiltinTarget ---------------------------------------------------------


def test_access_log_has_one_line_per_request(tmp_path: pathlib.Path) -> None:
    log = tmp_path / "access.log"
    with BuiltinTarget(access_log=log) as target:
        with Wire(target.host, target.port) as wire:
            for index in range(30):
                wire.send(get(f"/items/{index}") if index % 3 else get("/items", "POST", body=b"x" * index))
                read_response(wire)
        with Wire(target.host, target.port) as wire:  # pipelined, some unanswered after /close
            wire.send(get("/bytes/10") + get("/status/503") + get("/close") + get("/after-close"))
            wire.rest()
        with Wire(target.host, target.port) as wire:
            wire.send(get("/reset"))
            with pytest.raises(ConnectionResetError):
                wire.rest()
        for unreadable in (b"GARBAGE\r\n\r\n", b"PUT /bad HTTP/1.1\r\nContent-Length: x\r\n\r\n"):
            with Wire(target.host, target.port) as wire:
                wire.send(unreadable)
                wire.rest()
        with Wire(target.host, target.port) as wire:  # an interim 100 is not a line of its own
            wire.send(b"POST /upload HTTP/1.1\r\nExpect: 100-continue\r\nContent-Length: 2\r\n\r\n")
            wire.until(b"100 Continue\r\n\r\n")
            wire.send(b"ab")
            read_response(wire)
    garbage_body = len("400 Bad Request: malformed request line b'GARBAGE'\n")
    bad_length_body = len("400 Bad Request: malformed Content-Length b'x'\n")
    lines = log.read_text().splitlines()
    assert len(lines) == 30 + 4 + 1 + 2 + 1
    assert lines[0] == "POST /items 200 3" and lines[1] == "GET /items/1 200 3"
    assert lines[30:] == ["GET /bytes/10 200 10", "GET /status/503 503 24", "GET /close 200 3",
                          "GET /after-close - 0", "GET /reset - 0",
                          f"- - 400 {garbage_body}", f"PUT /bad 400 {bad_length_body}", "POST /upload 200 3"]


def test_stop_logs_requests_still_in_flight(tmp_path: pathlib.Path) -> None:
    log = tmp_path / "access.log"
    target = BuiltinTarget(access_log=log).start()
    try:
        busy = Wire(target.host, target.port)
        idle = Wire(target.host, target.port)
        busy.send(get("/delay/30s"))
        idle.send(get("/"))
        assert read_response(idle).body == FIXED_BODY
    finally:
        target.stop()  # SIGTERM ends the 30 s delay: the connections are dropped
    assert busy.closed_by_peer() and idle.closed_by_peer()
    busy.sock.close()
    idle.sock.close()
    assert sorted(log.read_text().splitlines()) == ["GET / 200 3", "GET /delay/30s - 0"]


def test_builtin_target_exposes_its_address_and_stops(tmp_path: pathlib.Path) -> None:
    target = BuiltinTarget()
    with pytest.raises(RunError, match="not running"):
        target.port
    with target:
        assert target.running and target.host == "127.0.0.1" and target.port > 0
        assert target.base_url == f"http://127.0.0.1:{target.port}"
        assert exchange(target, get("/")).body == FIXED_BODY
        with pytest.raises(RunError, match="already started"):
            target.start()
        port = target.port
    assert not target.running
    target.stop()  # stopping twice is harmless
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT_S).close()


@pytest.mark.parametrize("tls", [False, True])
def test_a_builtin_target_never_stopped_leaves_no_server_nor_directory(tmp_path: pathlib.Path, tls: bool) -> None:
    # A process that exits while its target runs (a script that forgets stop(),
    # or ends while a z6.start handle is live): the child is killed and its
    # directory (with --tls, the server's private key) is removed.
    code = ("import os, sys; from z6.serve import BuiltinTarget; "
            f"t = BuiltinTarget(tls={tls}).start(); print(t.pid, flush=True)")
    env = {**os.environ, "TMPDIR": str(tmp_path)}
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=60)
    assert done.returncode == 0, done.stderr
    pid = int(done.stdout)
    wait_until(lambda: not _alive(pid), timeout_s=10)
    assert list(tmp_path.iterdir()) == []


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def test_builtin_target_that_cannot_start_says_why(tmp_path: pathlib.Path) -> None:
    target = BuiltinTarget(access_log=tmp_path / "missing-directory" / "access.log")
    with pytest.raises(RunError) as error:
        target.start()
    message = str(error.value)
    assert "exited with status 2 before it was listening" in message
    assert "access log" in message and "cannot open: No such file or directory" in message
    assert not target.running


def test_builtin_target_that_died_is_reported_by_stop() -> None:
    target = BuiltinTarget().start()
    os.kill(target.pid, signal.SIGKILL)
    with pytest.raises(RunError, match=r"the built-in target exited with status -9: \(nothing on stderr\)"):
        target.stop()
    assert not target.running


def test_builtin_target_that_ignores_sigterm_is_killed() -> None:
    target = BuiltinTarget(stop_timeout_s=0.2).start()
    pid = target.pid
    os.kill(pid, signal.SIGSTOP)  # a stopped process cannot act on SIGTERM
    with pytest.raises(RunError, match=r"did not stop within 0.2 s of SIGTERM and was killed; "
                                       r"its access log may be incomplete"):
        target.stop()
    assert not target.running
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)


def test_builtin_target_not_ready_in_time_is_stopped(tmp_path: pathlib.Path) -> None:
    # A child cannot import z6 and bind within a zero timeout.
    target = BuiltinTarget(start_timeout_s=0.0)
    with pytest.raises(RunError, match=r"was not listening after 0 s; stopped it"):
        target.start()
    assert not target.running


# -- `z6 serve` on the command line -------------------------------------------------------------


def _wait_for_file(path: pathlib.Path, process: subprocess.Popen[str]) -> str:
    def written() -> bool:
        assert process.poll() is None, process.communicate()
        return path.exists()

    wait_until(written, 10.0, what=f"the child to write {path.name}")
    return path.read_text()


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_z6_serve_prints_its_url_and_stops_cleanly(tmp_path: pathlib.Path, signum: int) -> None:
    ready = tmp_path / "ready"
    with z6_child("serve", "--port", "0", "--ready-file", str(ready)) as process:
        port = int(_wait_for_file(ready, process))
        assert process.stdout is not None
        first_line = process.stdout.readline()
        assert first_line.startswith(f"z6 serve: listening on http://127.0.0.1:{port} (")
        with Wire("127.0.0.1", port) as wire:
            wire.send(get("/"))
            assert read_response(wire).body == FIXED_BODY
        out, err = stop_z6(process, signum)
    assert (process.returncode, err) == (0, "")
    assert out == "z6 serve: stopped after 1 request\n"
    assert not ready.exists()


@pytest.mark.parametrize("ready", ["-", "/dev/stdout"])
def test_z6_serve_prints_its_port_to_standard_output_and_leaves_dev_alone(ready: str) -> None:
    # The ready file written in place: renamed into /dev and removed on exit, it
    # replaced /dev/stdout, then deleted it.
    with z6_child("serve", "--port", "0", "--ready-file", ready) as process:
        assert process.stdout is not None
        port = int(process.stdout.readline())
        assert process.stdout.readline().startswith(f"z6 serve: listening on http://127.0.0.1:{port} (")
        with Wire("127.0.0.1", port) as wire:
            wire.send(get("/"))
            assert read_response(wire).body == FIXED_BODY
        out, err = stop_z6(process)
    assert (process.returncode, err, out) == (0, "", "z6 serve: stopped after 1 request\n")
    assert os.path.islink("/dev/stdout") and not [n for n in os.listdir("/dev") if n.startswith(".")]
    assert not os.path.exists("-")


def test_z6_serve_access_log_dash_is_standard_output(tmp_path: pathlib.Path) -> None:
    # '-' as for gunicorn's --access-logfile: it made a file named '-' in the working directory.
    ready = tmp_path / "ready"
    with z6_child("serve", "--port", "0", "--ready-file", str(ready), "--access-log", "-", cwd=tmp_path) as process:
        port = int(_wait_for_file(ready, process))
        with Wire("127.0.0.1", port) as wire:
            wire.send(get("/"))
            assert read_response(wire).body == FIXED_BODY
            wire.send(get("/status/404"))
            assert read_response(wire).status == 404
        out, err = stop_z6(process)
    assert (process.returncode, err) == (0, "")
    lines = out.splitlines()
    assert lines[0].startswith(f"z6 serve: listening on http://127.0.0.1:{port} (")
    assert lines[1:] == [f"GET / 200 {len(FIXED_BODY)}", "GET /status/404 404 14", "z6 serve: stopped after 2 requests"]
    assert sorted(os.listdir(tmp_path)) == []   # no file named '-', and the ready file removed


@pytest.mark.skipif(not os.path.exists("/dev/full"), reason="no /dev/full on this system")
def test_z6_serve_with_an_access_log_on_a_full_disk_warns_once_and_keeps_serving(tmp_path: pathlib.Path) -> None:
    # Every write to /dev/full fails with ENOSPC, as on a full disk.
    ready = tmp_path / "ready"
    with z6_child("serve", "--port", "0", "--ready-file", str(ready), "--access-log", "/dev/full") as process:
        port = int(_wait_for_file(ready, process))
        for _ in range(3):
            with Wire("127.0.0.1", port) as wire:
                for index in range(100):
                    wire.send(get(f"/items/{index}"))
                    assert read_response(wire).body == FIXED_BODY
        out, err = stop_z6(process)
    assert process.returncode == 0, err
    assert err == ("z6 serve: warning: access log '/dev/full': cannot write: No space left on device; "
                   "no more requests are logged (the server keeps serving)\n")
    assert out.splitlines()[-1] == "z6 serve: stopped after 300 requests"


def test_z6_serve_refuses_bad_options(tmp_path: pathlib.Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert z6.cli.main(["serve", "--port", "70000"]) == 2
    assert "--port: must be a TCP port from 0 to 65535 (0: any free port), got '70000'" in capsys.readouterr().err
    assert z6.cli.main(["serve", "--port", "0", "--access-log", str(tmp_path / "no" / "log")]) == 2
    assert capsys.readouterr().err == f"z6: access log '{tmp_path / 'no' / 'log'}': cannot open: No such file or directory\n"
    assert z6.cli.main(["serve", "--port", "0", "--ready-file", str(tmp_path / "no" / "ready")]) == 2
    assert capsys.readouterr().err.startswith(f"z6: ready file '{tmp_path / 'no' / 'ready'}': cannot write: ")
    long_label = "x" * 64 + ".invalid"
    assert z6.cli.main(["serve", "--port", "0", "--host", long_label]) == 2
    assert capsys.readouterr().err.startswith(f"z6: host '{long_label}': cannot resolve: ")


def test_z6_serve_on_a_port_in_use_is_a_runtime_error(capsys: pytest.CaptureFixture[str]) -> None:
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        port = holder.getsockname()[1]
        assert z6.cli.main(["serve", "--port", str(port)]) == 3
    assert capsys.readouterr().err == f"z6: cannot listen on http://127.0.0.1:{port}: Address already in use\n"


# -- nginx ---------------------------------------------------------------------------------------


def _requests_for_nginx() -> Iterator[tuple[bytes, str]]:
    for index in range(6):
        if index % 2:
            yield get(f"/api/items/{index}", "POST", body=b"p" * (100 * index)), f"POST /api/items/{index} 200 3"
        else:
            yield get(f"/api/items?page={index}"), "GET /api/items 200 3"
    chunked = b"POST /upload HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n"
    yield chunked, "POST /upload 200 3"


def test_without_nginx_tests_skip_but_fail_where_system_tools_are_required(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(servers, "find_nginx", lambda: None)
    monkeypatch.delenv("Z6_REQUIRE_SYSTEM_TOOLS", raising=False)
    with pytest.raises(pytest.skip.Exception, match=r"nginx is not installed \(apt-get install nginx\)"):
        require_nginx()
    monkeypatch.setenv("Z6_REQUIRE_SYSTEM_TOOLS", "1")
    with pytest.raises(pytest.fail.Exception, match="add `apt-get install -y nginx` to .ci/run"):
        require_nginx()


def test_nginx_logs_each_keep_alive_request(nginx: NginxServer) -> None:
    expected = []
    with Wire(nginx.host, nginx.port) as first, Wire(nginx.host, nginx.port) as second:
        for index, (request, line) in enumerate(_requests_for_nginx()):
            wire = first if index % 2 else second
            wire.send(request)
            response = read_response(wire)
            assert (response.status, response.body) == (200, b"ok\n")
            expected.append(line)
    nginx.stop()
    assert nginx.requests_logged() == len(expected) == 7
    assert sorted(nginx.access_log.read_text().splitlines()) == sorted(expected)


def test_nginx_with_its_own_body_pinned_and_without_a_log(tmp_path: pathlib.Path) -> None:
    require_nginx()
    with start_nginx(tmp_path, worker_cpu=0, access_log=False, body=b'say "hi"\n') as server:
        assert "worker_cpu_affinity 1;" in (server.prefix / "nginx.conf").read_text()
        with Wire(server.host, server.port) as wire:
            wire.send(get("/"))
            assert read_response(wire).body == b'say "hi"\n'
        with pytest.raises(RuntimeError, match="access_log=False"):
            server.requests_logged()


@pytest.mark.slow
def test_nginx_on_a_port_in_use_fails_with_its_error_log(tmp_path: pathlib.Path) -> None:
    require_nginx()
    port = free_port()
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", port))
        holder.listen()
        try:
            server = start_nginx(tmp_path, port=port)
        except RuntimeError as error:
            message = str(error)
        else:
            server.stop()
            pytest.fail(f"nginx started on port {port}, which another socket holds")
    assert message.startswith("nginx did not start: it exited with status 1\n")
    assert f"bind() to 127.0.0.1:{port} failed (98: Address already in use)" in message
