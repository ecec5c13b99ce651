"""Requests on the wire: each request definition serialised once, before the run.

The core writes these bytes as they are for every request of that definition, so
nothing is formatted per request. The ``Host`` header is the target's authority;
``Content-Length`` is always computed by z6 (a header of that name in the
scenario is refused at serialisation, as is ``Transfer-Encoding``: the body is
sent whole).
"""

from __future__ import annotations

from z6.errors import ConfigError

__all__ = ["serialize_request", "host_header", "request_target"]

# Methods whose requests carry a Content-Length even with no body, as curl and
# browsers send them; servers may answer 411 otherwise.
_BODY_METHODS = frozenset({"POST", "PUT", "PATCH"})
_Z6_CONTROLLED = frozenset({"content-length", "transfer-encoding"})


def host_header(host: str, port: int, default_port: int = 80) -> str:
    """The Host header value: the port only when it is not the scheme's default
    (80, or 443 for https), IPv6 in brackets."""
    shown = f"[{host}]" if ":" in host else host
    return shown if port == default_port else f"{shown}:{port}"


def _latin1(text: str, what: str) -> bytes:
    try:
        return text.encode("latin-1")
    except UnicodeEncodeError:
        raise ConfigError(f"{what}: must be ASCII or Latin-1 (percent-encode other characters), got {text!r}") from None


def request_target(path_prefix: str, path: str) -> str:
    """The request line's target: the base_url's path prefix, less a trailing "/",
    then the request path, query string and all: ("/api/v1", "/items?page=2") ->
    "/api/v1/items?page=2"; ("/api/v1/", "/") -> "/api/v1/"; ("", "/x") -> "/x".
    Nothing else is changed (no dot segments removed, no slashes merged)."""
    return path_prefix.rstrip("/") + path


def serialize_request(request, host: str, user_agent: str, where: str, path_prefix: str = "") -> bytes:
    """The exact bytes of one HTTP/1.1 request for ``request`` (a scenario Request),
    its path under ``path_prefix`` (`request_target`)."""
    path = request_target(path_prefix, request.path)
    try:
        path_bytes = path.encode("ascii")
    except UnicodeEncodeError:
        raise ConfigError(f"{where}.path: must be ASCII (percent-encode other characters), got {path!r}") from None
    lines = [request.method.encode("ascii") + b" " + path_bytes + b" HTTP/1.1"]
    names = {name.lower() for name, _ in request.headers}
    if "host" not in names:
        lines.append(b"Host: " + _latin1(host, "target host"))
    if "user-agent" not in names:
        lines.append(b"User-Agent: " + user_agent.encode("ascii"))
    for name, value in request.headers:
        if name.lower() in _Z6_CONTROLLED:
            raise ConfigError(f"{where}.headers.{name}: z6 sets this header itself from the body; remove it")
        lines.append(name.encode("ascii") + b": " + _latin1(value, f"{where}.headers.{name}"))
    body = request.body
    if body is not None or request.method.upper() in _BODY_METHODS:
        lines.append(b"Content-Length: " + str(len(body or b"")).encode("ascii"))
    return b"\r\n".join(lines) + b"\r\n\r\n" + (body or b"")
