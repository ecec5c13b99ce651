"""Where live traffic goes: the resolved address and the serialised requests."""

from __future__ import annotations

import socket
import ssl
from dataclasses import dataclass, replace

from z6._version import __version__
from z6.errors import RunError
from z6.live._request import host_header, serialize_request
from z6.live._wire_templates import WireTemplates, wire_templates

__all__ = ["LiveTarget", "resolve_target", "check_reachable", "tls_warnings", "tls_context"]

INSECURE_WARNING = ("target.insecure = true: TLS certificates were not verified (any server could have "
                    "answered); the figures are not evidence about the real target")


def tls_warnings(scenario) -> tuple[str, ...]:
    """Warnings a scenario's TLS settings put in its summary (insecure = true)."""
    target = scenario.target
    return (INSECURE_WARNING,) if target.tls and target.insecure else ()

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
    # TLS (https://): the core's OpenSSL client, verified against the system
    # trust store (or ca_file) and server_name unless insecure
    tls: bool = False
    server_name: str = ""  # SNI and the name (or IP) the certificate must match
    ca_file: str | None = None
    client_cert: str | None = None
    client_key: str | None = None
    tls_min_version: str | None = None  # "1.2" / "1.3"; None: 1.2
    insecure: bool = False
    tls_resume: bool = True
    # templated requests (z6.live.wire_templates), None when there are none
    templates: WireTemplates | None = None
    # a cookie jar per VU (docs/scenario.md "Cookies"), for cookies of this host
    cookies: bool = False
    cookie_host: str = ""
    own_cookie: tuple[bool, ...] = ()  # the request sets its own Cookie header: the jar adds none to it
    # same-origin redirects followed per request (docs/scenario.md "Redirects"), 0: none;
    # a Location is the same origin when its scheme is this one's (tls), its host
    # origin_host (lower case, an IPv6 address without brackets) and its port this port
    follow_redirects: int = 0
    origin_host: str = ""


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


def resolve_target(scenario, base_url: str | None = None, ca_file: str | None = None,
                   templates=None) -> LiveTarget:
    """Resolve ``scenario``'s target (or ``base_url``, e.g. the built-in target's,
    with ``ca_file`` the certificate it serves) and serialise its requests;
    ``templates`` (a plan's `z6.plan.RequestTemplates`) become the core's tables."""
    target = scenario.target
    host, port = target.host, target.port
    tls = target.tls
    if base_url is not None:
        from urllib.parse import urlsplit

        parts = urlsplit(base_url)
        tls = parts.scheme == "https"
        host, port = parts.hostname or host, parts.port or (443 if tls else 80)
    candidates = _resolve(host, port, scenario.source)
    family, address = candidates[0]
    agent = f"z6/{__version__}"
    authority = host_header(host, port, 443 if tls else 80)
    wire = tuple(
        serialize_request(r, authority, agent, f"{scenario.source}: requests[{i}] ({r.name})",
                          target.path_prefix)
        for i, r in enumerate(scenario.requests)
    )
    wired = wire_templates(templates, scenario.requests, authority.encode("latin-1"), agent.encode("ascii"),
                           target.path_prefix)
    return LiveTarget(
        templates=wired,
        base_url=base_url or target.base_url,
        family=family,
        address=address,
        port=port,
        requests=wire,
        head=tuple(r.method.upper() == "HEAD" for r in scenario.requests),
        replayable=tuple(r.method.upper() in _REPLAYABLE_METHODS and r.body is None for r in scenario.requests),
        connect_timeout_ns=max(1, round(target.connection_timeout_ms * 1_000_000)),
        candidates=candidates,
        tls=tls,
        server_name=host,
        ca_file=ca_file if ca_file is not None else target.ca_file,
        client_cert=target.client_cert,
        client_key=target.client_key,
        tls_min_version=target.tls_min_version,
        insecure=target.insecure,
        tls_resume=target.tls_resume,
        cookies=target.cookies,
        cookie_host=host.lower(),
        follow_redirects=target.follow_redirects,
        origin_host=host.lower(),
        own_cookie=tuple(any(name.lower() == "cookie" for name, _ in r.headers) for r in scenario.requests),
    )


def tls_context(target: LiveTarget) -> ssl.SSLContext:
    """A Python `ssl` context with the core's settings: the same trust (system
    store or ca_file), hostname check, client certificate, minimum version and
    ALPN. Used for the one start-up probe."""
    context = ssl.create_default_context(cafile=target.ca_file)
    context.minimum_version = ssl.TLSVersion.TLSv1_3 if target.tls_min_version == "1.3" else ssl.TLSVersion.TLSv1_2
    context.set_alpn_protocols(["http/1.1"])
    if target.client_cert:
        context.load_cert_chain(target.client_cert, target.client_key)
    if target.insecure:
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    return context


# OpenSSL's reasons for the failures a user meets most, in words that say what to do.
_NO_COMMON_VERSION = "no TLS version both sides accept (see target.tls_min_version)"
_HANDSHAKE_HINTS = {
    "WRONG_VERSION_NUMBER": "the server answered with something other than TLS: is it plain HTTP on this port? "
                            "then use an http:// base_url",
    "UNEXPECTED_EOF_WHILE_READING": "the server closed the connection during the handshake",
    "TLSV1_ALERT_PROTOCOL_VERSION": _NO_COMMON_VERSION,
    "UNSUPPORTED_PROTOCOL": _NO_COMMON_VERSION,
}


def _verification_hint(exc: ssl.SSLCertVerificationError, target: LiveTarget) -> str:
    # Only what can help: a CA file cannot cure an expired certificate or one
    # for another name, nor help when the run already trusts one.
    code = exc.verify_code
    if code == 10:      # X509_V_ERR_CERT_HAS_EXPIRED
        return "(the certificate has expired: renew it, or set target.insecure = true to skip verification)"
    if code in (62, 64) or "mismatch" in (exc.verify_message or "").lower():   # X509_V_ERR_{HOSTNAME,IP_ADDRESS}_MISMATCH
        return (f"(the certificate is not for {target.server_name}: use the name it was issued for, or set "
                "target.insecure = true to skip verification)")
    if target.ca_file:
        return f"(target.ca_file {target.ca_file} does not vouch for it; or set target.insecure = true)"
    return "(trust it with target.ca_file, or set target.insecure = true to skip verification)"


def _tls_probe(target: LiveTarget, sock: socket.socket, source: str) -> None:
    # The handshake the run would make, once: a certificate that fails
    # verification (or a server that does not speak TLS) stops the run here.
    try:
        with tls_context(target).wrap_socket(sock, server_hostname=target.server_name):
            return
    except ssl.SSLCertVerificationError as exc:
        reason = exc.verify_message or exc.reason or str(exc)
        raise RunError(f"{source}: target {target.base_url}: TLS certificate verification failed: {reason} "
                       f"{_verification_hint(exc, target)}") from None
    except ssl.SSLError as exc:
        reason = exc.reason or str(exc)
        hint = _HANDSHAKE_HINTS.get(reason)
        raise RunError(f"{source}: target {target.base_url}: TLS handshake failed: {reason}"
                       + (f" ({hint})" if hint else "")) from None
    except (OSError, ValueError) as exc:
        reason = "no answer within the connection timeout" if isinstance(exc, TimeoutError) else (
            getattr(exc, "strerror", None) or str(exc) or type(exc).__name__)
        raise RunError(f"{source}: target {target.base_url}: TLS handshake failed: {reason}") from None


def check_reachable(target: LiveTarget, source: str, timeout_s: float = 5.0) -> LiveTarget:
    """Connect once before the run, so a target that is down is one clear error
    (exit 3) rather than a run made only of refused connections. Each resolved
    address is tried in turn (``localhost`` may resolve to ::1 first while the
    server listens on 127.0.0.1); the target is returned aimed at the first that
    answers. A TLS target must also complete a verified handshake (as the run's
    connections will), or the run stops here with the reason."""
    timeout = min(timeout_s, target.connect_timeout_ns / 1e9)
    reasons = []
    for family, address in target.candidates or ((target.family, target.address),):
        host = socket.inet_ntop(family, address)
        try:
            sock = socket.create_connection((host, target.port), timeout=timeout)
        except OSError as exc:
            reason = f"no answer within {timeout:g} s" if isinstance(exc, TimeoutError) else (
                exc.strerror or type(exc).__name__)
            reasons.append(f"{host} port {target.port}: {reason}")
            continue
        with sock:
            if target.tls:
                _tls_probe(target, sock, source)
        return replace(target, family=family, address=address)
    raise RunError(f"{source}: target {target.base_url} is unreachable: {'; '.join(reasons)}")
