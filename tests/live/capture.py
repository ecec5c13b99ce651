"""A capture server of the tests' own: raw sockets, every request's exact bytes
recorded, each answered on a keep-alive connection (200 with an empty body
unless ``response`` gives the whole reply), every byte in and out counted;
``close_after_each`` closes each connection, without a word, after one answer."""

from __future__ import annotations

import socket
import threading


EMPTY_200 = b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"


class CaptureServer:
    def __init__(self, response: bytes = EMPTY_200, close_after_each: bool = False) -> None:
        self.response = response
        self.close_after_each = close_after_each
        self.bytes_in = 0   # every byte received, on every connection
        self.bytes_out = 0  # every byte sent
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(256)
        self.port = self.sock.getsockname()[1]
        self.requests: list[bytes] = []
        self.raw: list[bytes] = []  # every connection's whole input, for "no CR/LF injected" checks
        self._lock = threading.Lock()
        self._stop = False
        self._thread = threading.Thread(target=self._accept, daemon=True)
        self._thread.start()

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def _accept(self) -> None:
        while not self._stop:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _serve(self, conn: socket.socket) -> None:
        buf = b""
        seen = bytearray()
        with conn:
            while True:
                try:
                    data = conn.recv(65536)
                except OSError:
                    break
                if not data:
                    break
                seen += data
                buf += data
                with self._lock:
                    self.bytes_in += len(data)
                while b"\r\n\r\n" in buf:
                    head, rest = buf.split(b"\r\n\r\n", 1)
                    length = 0
                    for line in head.split(b"\r\n")[1:]:
                        name, _, value = line.partition(b":")
                        if name.strip().lower() == b"content-length":
                            length = int(value.strip())
                    if len(rest) < length:
                        break
                    request, buf = head + b"\r\n\r\n" + rest[:length], rest[length:]
                    with self._lock:
                        self.requests.append(request)
                        self.bytes_out += len(self.response)
                    conn.sendall(self.response)
                    if self.close_after_each:
                        break
                else:
                    continue
                break   # close_after_each: one answer, then the connection is closed
        with self._lock:
            self.raw.append(bytes(seen))

    def close(self) -> None:
        self._stop = True
        self.sock.close()

    def __enter__(self) -> "CaptureServer":
        return self

    def __exit__(self, *exc) -> None:
        self.close()
