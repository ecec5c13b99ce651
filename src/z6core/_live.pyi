"""Type stubs for z6core._live (the live HTTP/1.1 driver)."""

from typing import Protocol, Sequence

import numpy as np
import numpy.typing as npt

from z6core._plan import EnginePlan

__all__ = ["LiveEngine", "expected_requests", "POLLER", "OPENSSL_VERSION", "PROGRESS_INTERVAL_NS"]

POLLER: str  # "epoll" on Linux, "poll" elsewhere
OPENSSL_VERSION: str  # the OpenSSL library the live driver runs with, e.g. "OpenSSL 3.0.17 1 Jul 2025"
PROGRESS_INTERVAL_NS: int  # fill() returns at least this often

class LiveTargetLike(Protocol):
    """What the driver reads from a target (see z6.live.LiveTarget)."""

    family: int
    address: bytes
    port: int
    requests: Sequence[bytes]
    head: Sequence[bool]
    replayable: Sequence[bool]
    connect_timeout_ns: int
    # TLS (read with getattr: a target without them is plain HTTP)
    # tls: bool; server_name: str; ca_file, client_cert, client_key: str | None;
    # tls_min_version: str | None ("1.2" / "1.3"); insecure: bool; tls_resume: bool
    # templates: a z6core._template.WireTemplates (z6.live.wire_templates) or None (read with
    # getattr: None sends every request pre-serialised)
    # cookies: bool; cookie_host: str; own_cookie: Sequence[bool] (read with getattr: no jar without them)
    # follow_redirects: int (0: none); origin_host: str, lower case (read with getattr: 0 without it)

class LiveEngine:
    """Run a compiled plan's VUs against a real HTTP/1.1 server."""

    n_vus: int
    events_emitted: int
    requests_issued: int
    responses: int
    failures: int
    connections_opened: int
    bytes_received: int  # every byte read (HTTP bytes: headers and bodies, after TLS)
    bytes_sent: int  # every byte written, resends included
    active_vus: int
    open_model: bool  # an arrival-rate plan (plan.arrivals): arrivals served by a pool
    dropped_iterations: int  # open model: arrivals dropped with the pool busy at max_vus
    tls_enabled: bool  # the target is reached over TLS
    tls_resumed: int  # TLS connections made by resuming a session
    redirects_followed: int  # hops sent after a same-origin redirect
    redirects_offsite: int  # redirects to another origin, not followed
    def __init__(self, plan: EnginePlan, target: LiveTargetLike) -> None: ...
    def fill(self, out: npt.NDArray[np.void]) -> int: ...
    def stop(self) -> None: ...
    def close(self) -> None: ...
    @property
    def finished(self) -> bool: ...
    @property
    def stopping(self) -> bool: ...
    @property
    def timers_pending(self) -> int: ...
    @property
    def tick(self) -> int: ...
    @property
    def elapsed_ns(self) -> int: ...
    @property
    def vus(self) -> npt.NDArray[np.void]: ...
    def transfer(self) -> tuple[npt.NDArray[np.uint64], npt.NDArray[np.uint64]]:
        """Bytes (sent, received) so far by request definition, copied."""
    @property
    def offsite_location(self) -> str | None:
        """The first Location to another origin a redirect named (up to 512 bytes); None when none."""
    @property
    def request_digests(self) -> npt.NDArray[np.uint64] | None:
        """Each VU's digest of its rendered requests (VU table order); None without templates."""

def expected_requests(plan: EnginePlan, vu_ids: npt.ArrayLike, counts: npt.ArrayLike) -> npt.NDArray[np.uint16]: ...
