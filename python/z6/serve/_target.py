"""`BuiltinTarget`: the built-in target (`z6 serve`) in a child process.

    with BuiltinTarget(access_log="access.log") as target:
        ...  # send requests to target.base_url
    # the child has exited here, and its access log is complete

The child is ``python -m z6 serve --port 0 --ready-file F`` with this interpreter;
it is ready when F holds the port it bound. It runs in its own session, so the
Ctrl-C that asks `z6 run` to stop gracefully does not also stop the server under
the requests still in flight: its owner stops it afterwards, with SIGTERM.
"""

from __future__ import annotations

import os
import pathlib
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import weakref
from types import TracebackType
from typing import Optional, Union

from z6._child_env import child_environment
from z6._signals import signals_deferred
from z6.errors import RunError
from z6.serve._server import url_for

__all__ = ["BuiltinTarget"]

_POLL_S = 0.01
_STDERR_TAIL = 4000


class BuiltinTarget:
    """Start, wait for and stop `z6 serve` in a child process.

    ``start()`` returns once the server accepts connections (at most
    ``start_timeout_s``), or raises `RunError` quoting the child's stderr.
    ``stop()`` sends SIGTERM and waits (at most ``stop_timeout_s``, then kills and
    raises `RunError`); once it returns, the access log holds every request.
    """

    def __init__(self, *, host: str = "127.0.0.1", access_log: Union[str, os.PathLike[str], None] = None,
                 start_timeout_s: float = 10.0, stop_timeout_s: float = 10.0,
                 header_timeout_s: Optional[float] = None, tls: bool = False) -> None:
        self._host = host
        self._header_timeout_s = header_timeout_s  # None: z6 serve's default
        self._tls = tls
        self._access_log = None if access_log is None else os.path.abspath(access_log)
        self._start_timeout_s = start_timeout_s
        self._stop_timeout_s = stop_timeout_s
        self._process: Optional[subprocess.Popen[bytes]] = None
        self._workdir: Optional[pathlib.Path] = None
        self._port: Optional[int] = None
        self._finalizer: Optional[weakref.finalize] = None

    # -- what a client needs ---------------------------------------------------------

    @property
    def host(self) -> str:
        return self._host

    @property
    def port(self) -> int:
        if self._port is None:
            raise RunError("the built-in target is not running (call start() first)")
        return self._port

    @property
    def base_url(self) -> str:
        return url_for(self._host, self.port, self._tls)

    @property
    def tls(self) -> bool:
        return self._tls

    @property
    def ca_file(self) -> Optional[str]:
        """With ``tls=True``: the PEM file of the certificate the server made at
        start, to trust (it exists while the server runs); else None."""
        if not self._tls:
            return None
        if self._workdir is None:
            raise RunError("the built-in target is not running (call start() first)")
        return str(self._workdir / "cert.pem")

    @property
    def pid(self) -> int:
        """The child's process id (to measure its CPU time, for instance)."""
        if self._process is None:
            raise RunError("the built-in target is not running (call start() first)")
        return self._process.pid

    @property
    def access_log(self) -> Optional[str]:
        return self._access_log

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    # -- lifecycle --------------------------------------------------------------------

    def start(self) -> "BuiltinTarget":
        if self._process is not None:
            raise RunError("the built-in target is already started")
        self._workdir = pathlib.Path(tempfile.mkdtemp(prefix="z6-serve-"))
        ready_file = self._workdir / "ready"
        command = [sys.executable, "-m", "z6", "serve", "--host", self._host, "--port", "0",
                   "--ready-file", str(ready_file)]
        if self._access_log is not None:
            command += ["--access-log", self._access_log]
        if self._header_timeout_s is not None:
            command += ["--header-timeout", repr(float(self._header_timeout_s))]
        if self._tls:
            command += ["--tls", "--cert-file", str(self._workdir / "cert.pem")]
        try:
            # The child is started and registered to be stopped in one step: a
            # Ctrl-C in between would leave it running (it is in its own session,
            # so the terminal's signal does not reach it). A signal that came
            # meanwhile is delivered after, where the except below stops the child.
            with signals_deferred():
                with open(self._workdir / "stderr", "wb") as stderr:
                    try:
                        self._process = subprocess.Popen(
                            command, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=stderr,
                            env=child_environment(), start_new_session=True)
                    except OSError as exc:
                        self._cleanup()
                        raise RunError(f"cannot start the built-in target ({command[0]}): {exc}") from None
                # If the owner forgets stop() (or dies with an exception, or the process
                # exits while a run holds it), never leave the child behind, nor its
                # directory (with --tls, it holds the server's private key).
                self._finalizer = weakref.finalize(self, _kill_and_remove, self._process, self._workdir)
            self._port = self._wait_ready(ready_file)
        except BaseException:
            self._kill_and_cleanup()
            raise
        return self

    def stop(self) -> None:
        """Stop the child (SIGTERM) and wait; afterwards its access log is complete."""
        process = self._process
        if process is None:
            return
        # Not cut short by a Ctrl-C: the child is always signalled and waited for
        # (at most stop_timeout_s); a signal that came meanwhile is delivered after.
        with signals_deferred():
            self._stop(process)

    def _stop(self, process: subprocess.Popen[bytes]) -> None:
        try:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
                try:
                    process.wait(self._stop_timeout_s)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait()
                    raise RunError(f"the built-in target did not stop within {self._stop_timeout_s:g} s "
                                   f"of SIGTERM and was killed; its access log may be incomplete") from None
            if process.returncode != 0:
                raise RunError(f"the built-in target exited with status {process.returncode}: "
                               f"{self._stderr_tail()}")
        finally:
            self._cleanup()

    def __enter__(self) -> "BuiltinTarget":
        return self.start()

    def __exit__(self, exc_type: Optional[type[BaseException]], exc: Optional[BaseException],
                 traceback: Optional[TracebackType]) -> None:
        if exc is None:
            self.stop()
        else:
            # Already failing: stop, but do not hide the first error behind a second.
            try:
                self.stop()
            except RunError:
                pass

    # -- internals ---------------------------------------------------------------------

    def _wait_ready(self, ready_file: pathlib.Path) -> int:
        assert self._process is not None
        deadline = time.monotonic() + self._start_timeout_s
        while True:
            try:
                # Written atomically by the child (rename), so any content is the whole port.
                return int(ready_file.read_text(encoding="ascii"))
            except FileNotFoundError:
                pass
            status = self._process.poll()
            if status is not None:
                raise RunError(f"the built-in target (z6 serve) exited with status {status} before "
                               f"it was listening: {self._stderr_tail()}")
            if time.monotonic() > deadline:
                raise RunError(f"the built-in target (z6 serve) was not listening after "
                               f"{self._start_timeout_s:g} s; stopped it. Its stderr: {self._stderr_tail()}")
            time.sleep(_POLL_S)

    def _stderr_tail(self) -> str:
        assert self._workdir is not None
        try:
            with open(self._workdir / "stderr", "rb") as file:
                file.seek(0, os.SEEK_END)
                file.seek(max(0, file.tell() - _STDERR_TAIL))
                text = file.read().decode("utf-8", "replace").strip()
        except OSError as exc:
            return f"(its stderr could not be read: {exc})"
        return text or "(nothing on stderr)"

    def _kill_and_cleanup(self) -> None:
        with signals_deferred():
            if self._process is not None:
                _kill(self._process)
            self._cleanup()

    def _cleanup(self) -> None:
        if self._finalizer is not None:
            self._finalizer.detach()
            self._finalizer = None
        if self._workdir is not None:
            shutil.rmtree(self._workdir, ignore_errors=True)
            self._workdir = None
        self._process = None
        self._port = None


def _kill(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.kill()
        process.wait()


def _kill_and_remove(process: subprocess.Popen[bytes], workdir: pathlib.Path) -> None:
    _kill(process)
    shutil.rmtree(workdir, ignore_errors=True)
