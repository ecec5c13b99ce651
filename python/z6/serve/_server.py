"""Run the built-in target in this process until SIGINT or SIGTERM.

uvloop's event loop is used when it is installed, asyncio's otherwise. The server
listens on the first address ``host`` resolves to (127.0.0.1 unless told
otherwise). On SIGINT or SIGTERM it stops accepting, drops open connections
(their unanswered requests are logged without a status), flushes the access log,
removes the ready file and returns.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import socket
import ssl
import tempfile
from typing import IO, Callable, Optional

from z6._destinations import open_in_place, shown, writes_in_place
from z6.errors import ConfigError, RunError, io_error
from z6.serve._access_log import AccessLog
from z6.serve._connection import DEFAULT_HEADER_TIMEOUT_S, Connection, Shared
from z6.serve._tls import make_certificate, server_context

__all__ = ["serve", "loop_name", "url_for"]

_BACKLOG = 1024
_SHUTDOWN_S = 2.0


def _new_loop() -> asyncio.AbstractEventLoop:
    try:
        import uvloop
    except ImportError:
        return asyncio.new_event_loop()
    return uvloop.new_event_loop()


def loop_name() -> str:
    """'uvloop' when installed (the server then uses it), else 'asyncio'."""
    try:
        import uvloop  # noqa: F401
    except ImportError:
        return "asyncio"
    return "uvloop"


def url_for(host: str, port: int, tls: bool = False) -> str:
    scheme = "https" if tls else "http"
    return f"{scheme}://[{host}]:{port}" if ":" in host else f"{scheme}://{host}:{port}"


def serve(*, host: str = "127.0.0.1", port: int = 8080, access_log: Optional[str] = None,
          ready_file: Optional[str] = None, on_listening: Callable[[str], None] = lambda url: None,
          header_timeout_s: Optional[float] = DEFAULT_HEADER_TIMEOUT_S, tls: bool = False,
          cert_file: Optional[str] = None) -> int:
    """Serve until SIGINT or SIGTERM (main thread only); return the number of requests read.

    ``access_log``: a file to (over)write, one line per request (`z6.serve._access_log`);
    ``-`` is standard output.
    ``ready_file``: once listening, the bound port and a newline are written to it,
    atomically (a reader never sees a partial number); it is removed on exit.
    ``on_listening(url)`` is called once listening. ``header_timeout_s``: how long
    a request head may take to arrive (408 and close after it; None: no limit).
    ``tls``: serve HTTPS with a self-signed certificate made now for 127.0.0.1,
    ::1 and localhost, written (PEM, the certificate only) to ``cert_file`` before
    the ready file, for clients to trust.
    Raises `ConfigError` for a host that does not resolve, `RunError` when the
    address cannot be bound, and for an access log or ready file that cannot be
    opened the error of `z6.errors.io_error` (a path that names nothing usable: 2;
    disk full, EIO, permission denied: 3). An access log that stops taking lines
    later warns once and the server keeps serving (`z6.serve._access_log`).
    """
    context: Optional[ssl.SSLContext] = None
    if tls:
        with tempfile.TemporaryDirectory(prefix="z6-serve-tls-") as keys:
            cert_path = os.path.join(keys, "cert.pem")
            key_path = os.path.join(keys, "key.pem")
            make_certificate(cert_path, key_path)
            context = server_context(cert_path, key_path)   # the key is loaded: its file can go
            if cert_file is not None:
                # Copied, not made there: the server loads it from the private directory,
                # so --cert-file may be a pipe or /dev/stdout as well as a file.
                try:
                    with open(cert_path, "rb") as made, open_in_place(cert_file, "wb") as out:
                        out.write(made.read())
                except OSError as exc:
                    raise io_error(f"certificate file {cert_file!r}: cannot write", exc) from None
    log_file: Optional[IO[str]] = None
    if access_log is not None:
        try:
            # '-' is standard output (as for gunicorn's --access-logfile), not a file named '-'.
            log_file = open_in_place(access_log, "w", encoding="ascii", errors="replace")
        except OSError as exc:
            raise io_error(f"access log {shown(access_log)!r}: cannot open", exc) from None
    loop = _new_loop()
    try:
        log = AccessLog(log_file, loop, shown(access_log) if access_log is not None else "")
        loop.run_until_complete(_serve(loop, log, host, port, ready_file, on_listening, header_timeout_s, context))
        return log.requests
    finally:
        loop.close()
        if log_file is not None:
            # Closing flushes what a failed write left in the buffer: that failure
            # was reported once already (AccessLog), so it is not raised again.
            with contextlib.suppress(OSError):
                log_file.close()


async def _serve(loop: asyncio.AbstractEventLoop, log: AccessLog, host: str, port: int,
                 ready_file: Optional[str], on_listening: Callable[[str], None],
                 header_timeout_s: Optional[float] = DEFAULT_HEADER_TIMEOUT_S,
                 context: Optional[ssl.SSLContext] = None) -> None:
    try:
        addresses = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except (socket.gaierror, UnicodeError) as exc:  # UnicodeError: not a valid host name (IDNA)
        raise ConfigError(f"host {host!r}: cannot resolve: {getattr(exc, 'strerror', None) or exc}") from None
    address = addresses[0][4][0]
    shared = Shared(loop, log, header_timeout_s)
    try:
        # One address only: with port 0, each of several sockets would get its own port.
        # A TLS handshake is part of the head's arrival: a client that stalls in it is
        # closed after the header timeout too (asyncio's own default is 60 s).
        handshake = {"ssl_handshake_timeout": header_timeout_s} if context is not None and header_timeout_s else {}
        server = await loop.create_server(lambda: Connection(shared), host=address, port=port,
                                          backlog=_BACKLOG, reuse_address=True, ssl=context, **handshake)
    except OSError as exc:
        # asyncio and uvloop word their messages differently; the errno says it the same.
        reason = os.strerror(exc.errno) if exc.errno else str(exc)
        raise RunError(f"cannot listen on {url_for(address, port, context is not None)}: {reason}") from None

    stop = asyncio.Event()
    signals = (signal.SIGINT, signal.SIGTERM)
    for signum in signals:
        loop.add_signal_handler(signum, stop.set)
    try:
        bound_port = server.sockets[0].getsockname()[1]
        if ready_file is not None:
            _write_ready_file(ready_file, bound_port)
        try:
            on_listening(url_for(address, bound_port, context is not None))
            await stop.wait()
        finally:
            if ready_file is not None and not writes_in_place(ready_file):
                with contextlib.suppress(OSError):
                    os.unlink(ready_file)
    finally:
        for signum in signals:
            loop.remove_signal_handler(signum)
        server.close()
        shared.abort_all()
        await _until_closed(shared)
        log.flush()


def _write_ready_file(path: str, port: int) -> None:
    if writes_in_place(path):
        # --ready-file /dev/stdout prints the port; renaming a file over it (and
        # removing it on exit) would replace, then delete, the link in /dev.
        try:
            with open_in_place(path, "w", encoding="ascii") as file:
                file.write(f"{port}\n")
        except OSError as exc:
            raise io_error(f"ready file {path!r}: cannot write", exc) from None
        return
    partial = f"{path}.{os.getpid()}.partial"
    try:
        with open(partial, "w", encoding="ascii") as file:
            file.write(f"{port}\n")
        os.replace(partial, path)
    except OSError as exc:
        with contextlib.suppress(OSError):
            os.unlink(partial)
        raise io_error(f"ready file {path!r}: cannot write", exc) from None


async def _until_closed(shared: Shared) -> None:
    """Until every aborted connection has run connection_lost (and logged), bounded."""
    deadline = asyncio.get_running_loop().time() + _SHUTDOWN_S
    while shared.connections and asyncio.get_running_loop().time() < deadline:
        await asyncio.sleep(0.001)
