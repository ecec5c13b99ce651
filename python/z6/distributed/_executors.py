"""Where shards run: local processes or a Dask cluster, both behind the same
concurrent.futures-style ``submit``/``shutdown`` (Dask's client provides one),
plus the two facts the coordinator needs from each: which host the workers can
reach it on, and a reference clock for a live run's start instant.
"""

from __future__ import annotations

import ipaddress
import multiprocessing
import signal
import socket
import threading
import time
from concurrent.futures import Future
from typing import Any, Callable, Optional
from urllib.parse import urlsplit

from z6.errors import ConfigError, RunError

__all__ = ["Backend", "LocalProcesses", "DaskCluster"]


class Backend:
    """What the coordinator needs from a place to run shards."""

    name = ""
    address = ""  # the cluster's address, "" for local processes
    # The host shards connect back to, and a live start's lead time (long
    # enough for START to reach every worker before the instant it names).
    coordinator_host = "127.0.0.1"
    start_lead_s = 0.3

    def submit(self, fn: Callable[..., Any], *args: Any) -> Future:
        raise NotImplementedError

    def reference_time(self) -> float:
        """Now, on the clock start instants are expressed in."""
        return time.time()

    def default_shards(self) -> int:
        raise NotImplementedError

    def on_this_machine(self) -> bool:
        """Every worker runs on this machine (so it can reach 127.0.0.1 here)."""
        return True

    def slots(self) -> Optional[int]:
        """How many shards can run at once (None: as many as asked). Every
        shard waits for all the others to start, so more shards than slots
        would never start."""
        return None

    def shutdown(self) -> None:
        raise NotImplementedError

    def __enter__(self) -> "Backend":
        return self

    def __exit__(self, *exc: object) -> None:
        self.shutdown()


def _child_main(conn: Any, fn: Callable[..., Any], args: tuple[Any, ...]) -> None:
    # Ctrl-C, or a SIGTERM sent to the whole process group (timeout(1),
    # systemd), reaches the shards too; the coordinator alone decides what it
    # means and tells each shard over its connection.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    try:
        result = (True, fn(*args))
    except BaseException as exc:  # handed to the parent's future, as an executor does
        result = (False, exc)
    try:
        conn.send(result)
    except Exception as exc:  # the result or the exception would not pickle
        conn.send((False, RuntimeError(f"{type(result[1]).__name__}: {result[1]} ({exc})")))
    finally:
        conn.close()


class LocalProcesses(Backend):
    """One fresh process per shard (``--workers N``), so losing one leaves the
    others running (a ProcessPoolExecutor would tear the whole pool down)."""

    name = "processes"

    def __init__(self, workers: int) -> None:
        self._workers = workers
        self._context = multiprocessing.get_context("spawn")  # no fork of a threaded coordinator
        self._processes: list[Any] = []

    def default_shards(self) -> int:
        return self._workers

    @property
    def pids(self) -> list[int]:
        return [p.pid for p in self._processes]

    def submit(self, fn: Callable[..., Any], *args: Any) -> Future:
        future: Future = Future()
        future.set_running_or_notify_cancel()
        receive, send = self._context.Pipe(duplex=False)
        process = self._context.Process(target=_child_main, args=(send, fn, args), daemon=True,
                                        name="z6-shard")
        try:
            process.start()
        except BaseException:
            receive.close()
            raise
        finally:
            send.close()
        self._processes.append(process)

        def wait() -> None:
            try:
                ok, value = receive.recv()
            except (EOFError, OSError):
                process.join()
                future.set_exception(RunError(f"worker process {process.pid} exited with code {process.exitcode} "
                                              f"before returning"))
                return
            finally:
                receive.close()
            process.join()
            if ok:
                future.set_result(value)
            else:
                future.set_exception(value)

        threading.Thread(target=wait, name=f"z6-shard-{process.pid}", daemon=True).start()
        return future

    def shutdown(self) -> None:
        # Shards end when their connection closes; any still alive after a
        # grace period (a hung engine) are stopped, so no process outlives the run.
        deadline = time.monotonic() + 5.0
        for process in self._processes:
            process.join(max(0.0, deadline - time.monotonic()))
        for process in self._processes:
            if process.is_alive():
                process.kill()
                process.join()


def _route_to(host: str, port: int) -> str:
    """This machine's address on the route to ``host``: where workers beside
    the scheduler can reach the coordinator."""
    try:
        family = socket.getaddrinfo(host, port, type=socket.SOCK_DGRAM)[0]
        with socket.socket(family[0], socket.SOCK_DGRAM) as probe:
            probe.connect(family[4])  # a UDP connect sends nothing
            return probe.getsockname()[0]
    except OSError:
        return socket.gethostbyname(socket.gethostname())


def _refused(address: str) -> Optional[str]:
    """Why a tcp:// scheduler address refuses connections, if it does (nothing
    listens there); else None. The Dask client retries a refused connect until
    its timeout (30 s), so a mistyped port would look like a slow network."""
    parts = urlsplit(address)
    if parts.scheme not in ("tcp", "") or not parts.hostname or parts.port is None:
        return None
    try:
        with socket.create_connection((parts.hostname, parts.port), timeout=2.0):
            return None
    except ConnectionRefusedError as exc:
        return f"connection refused (nothing listens on port {parts.port}): {exc.strerror}"
    except (OSError, ValueError):
        return None    # unknown, unreachable or slow: the client's own attempts say


class DaskCluster(Backend):
    """Shards as tasks on a Dask cluster (``--cluster tcp://HOST:8786``), through
    the client's concurrent.futures executor."""

    name = "dask"
    start_lead_s = 1.0

    def __init__(self, address: Any, listen_host: Optional[str] = None, connect_timeout_s: float = 30.0) -> None:
        try:
            from distributed import Client
        except ImportError:
            raise ConfigError("--cluster needs Dask: pip install 'z6[dask]'") from None
        if isinstance(address, str):
            refused = _refused(address)
            if refused is not None:
                raise RunError(f"cannot reach the Dask scheduler at {address}: {refused}")
            try:
                self._client = Client(address, timeout=connect_timeout_s, set_as_default=False)
            except (OSError, TimeoutError) as exc:
                raise RunError(f"cannot reach the Dask scheduler at {address}: {exc}") from None
            self._owns_client = True
        else:  # an existing distributed.Client (or anything with its API)
            self._client = address
            self._owns_client = False
        self.address = str(self._client.scheduler.address)
        parts = urlsplit(self.address)
        if listen_host is not None and listen_host in ("0.0.0.0", "::", ""):
            raise ConfigError(f"--listen {listen_host!r}: name the address workers connect to, not a wildcard")
        self.coordinator_host = listen_host or _route_to(parts.hostname or "127.0.0.1", parts.port or 8786)
        # No retries of a failed shard. (A shard whose worker died may still be
        # re-run by Dask; the coordinator refuses its connection, so its events
        # never count twice.)
        self._executor = self._client.get_executor(pure=False, retries=0)
        self._futures: list[Future] = []

    def _workers(self) -> dict[str, Any]:
        workers = self._client.scheduler_info(n_workers=-1).get("workers", {})
        if not workers:
            raise RunError(f"the Dask cluster at {self.address} has no workers")
        return workers

    def default_shards(self) -> int:
        return len(self._workers())

    def slots(self) -> Optional[int]:
        return sum(int(w.get("nthreads", 1)) for w in self._workers().values())

    def on_this_machine(self) -> bool:
        for address in self._workers():
            host = urlsplit(address).hostname or ""
            try:
                if not ipaddress.ip_address(host).is_loopback:
                    return False
            except ValueError:
                if host != "localhost":
                    return False
        return True

    def reference_time(self) -> float:
        # The scheduler's clock: every worker's offset to it is what Dask
        # measures, so the start instant must be on it. No silent fallback on
        # this machine's clock: the instant would be off by the skew between
        # the two.
        try:
            return float(self._client.run_on_scheduler(time.time))
        except Exception as exc:
            raise RunError(f"cannot read the clock of the Dask scheduler at {self.address} ({exc}); a live run "
                           "starts every shard at one instant on it (distributed.scheduler.pickle must allow "
                           "run_on_scheduler)") from None

    def submit(self, fn: Callable[..., Any], *args: Any) -> Future:
        future = self._executor.submit(fn, *args)
        self._futures.append(future)
        return future

    def shutdown(self) -> None:
        # Shards end when their connection closes; one still queued or running
        # (its worker never reached us) is cancelled.
        try:
            for future in self._futures:
                if not future.done():
                    future.cancel()
        finally:
            if self._owns_client:
                self._client.close()
