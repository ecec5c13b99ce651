"""Where live traffic goes: the resolved address and the serialised requests."""

from __future__ import annotations

import socket
from dataclasses import dataclass, replace

from z6._version import __version__
from z6.errors import RunError
from z6.live._request import host_header, serialize_request

__all__ = ["LiveTarget", "resolve_target", "check_reachable"]

# Requests a client may repeat without the user's say-so (as Go's net/http does).
_REPLAYABLE_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "TRACE"})


@dataclass(frozen=True)
class LiveTarget:
    """What `z6core.LiveEngine` needs to reach the server: one address, resolved
    once before the run (so DNS is never on the hot path), and one byte string
    per request definition."""

    base_url: str
    family: int  # socket.AF_INET or socket.AF_INET6
    address: bytes  # 4 or 16 raw bytes
    port: int
    requests: tuple[bytes, ...]
    head: tuple[bool, ...]  # the request is HEAD: its response has no body
    # safe to send again on a fresh connection when a reused one turns out closed
    replayable: tuple[bool, ...]
    connect_timeout_ns: int
    # every address the host resolved to, in resolver order; check_reachable
    # settles on the first that accepts a connection
    candidates: tuple[tuple[int, bytes], ...] = ()


def _resolve(host: str, port: int, source: str) -> tuple[tuple[int, bytes], ...]:
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, proto=socket.IPPROTO_TCP)
    except socket.gaierror as exc:
        raise RunError(f"{source}: target.base_url: cannot resolve host {host!r}: {exc.strerror}") from None
    found = tuple(dict.fromkeys((family, socket.inet_pton(family, sockaddr[0]))
                                for family, _, _, _, sockaddr in infos
                                if family in (socket.AF_INET, socket.AF_INET6)))
    if not found:
        raise RunError(f"{source}: target.base_url: host {host!r} has no IPv4 or IPv6 address")
    return found


def resolve_target(scenario, base_url: str | None = None) -> LiveTarget:
    """Resolve ``scenario``'s target (or ``base_url``, e.g. the built-in target's)
    and serialise its requests."""
    target = scenario.target
    host, port = target.host, target.port
    if base_url is not None:
        from urllib.parse import urlsplit

        parts = urlsplit(base_url)
        host, port = parts.hostname or host, parts.port or 80
    candidates = _resolve(host, port, scenario.source)
    family, address = candidates[0]
    agent = f"z6/{__version__}"
    authority = host_header(host, port)
    wire = tuple(
        serialize_request(r, authority, agent, f"{scenario.source}: requests[{i}] ({r.name})",
                          target.path_prefix)
        for i, r in enumerate(scenario.requests)
    )
    return LiveTarget(
        base_url=base_url or target.base_url,
        family=family,
        address=address,
        port=port,
        requests=wire,
        head=tuple(r.method.upper() == "HEAD" for r in scenario.requests),
        replayable=tuple(r.method.upper() in _REPLAYABLE_METHODS and r.body is None for r in scenario.requests),
        connect_timeout_ns=max(1, round(target.connection_timeout_ms * 1_000_000)),
        candidates=candidates,
    )


def check_reachable(target: LiveTarget, source: str, timeout_s: float = 5.0) -> LiveTarget:
    """Connect once before the run, so a target that is down is one clear error
    (exit 3) rather than a run made only of refused connections. Each resolved
    address is tried in turn (``localhost`` may resolve to ::1 first while the
    server listens on 127.0.0.1); the target is returned aimed at the first that
    answers."""
    timeout = min(timeout_s, target.connect_timeout_ns / 1e9)
    reasons = []
    for family, address in target.candidates or ((target.family, target.address),):
        host = socket.inet_ntop(family, address)
        try:
            with socket.create_connection((host, target.port), timeout=timeout):
                return replace(target, family=family, address=address)
        except OSError as exc:
            reason = f"no answer within {timeout:g} s" if isinstance(exc, TimeoutError) else (
                exc.strerror or type(exc).__name__)
            reasons.append(f"{host} port {target.port}: {reason}")
    raise RunError(f"{source}: target {target.base_url} is unreachable: {'; '.join(reasons)}")
