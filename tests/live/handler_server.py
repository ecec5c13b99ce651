"""A test's own HTTP handler on loopback: a ThreadingHTTPServer in a daemon
thread, started and stopped as a context manager.

    class MyServer(HandlerServer):
        def __init__(self):
            class Handler(BaseHTTPRequestHandler): ...
            super().__init__(Handler)

    with MyServer() as server:
        ...                                 # requests to server.base_url
"""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

__all__ = ["HandlerServer"]


class HandlerServer:
    def __init__(self, handler: type[BaseHTTPRequestHandler], queue_size: int = 128) -> None:
        class Server(ThreadingHTTPServer):
            request_queue_size = queue_size     # every VU may connect at once: no SYN left waiting for a retry
            daemon_threads = True

        self.server = Server(("127.0.0.1", 0), handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def port(self) -> int:
        return self.server.server_address[1]

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.server.server_close()
