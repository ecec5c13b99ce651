"""Live runs: the target's address and wire requests, and descriptor limits.

The traffic itself is `z6core.LiveEngine`'s; this package prepares what it reads.
"""

from z6.live._fds import DESCRIPTOR_HEADROOM, ensure_descriptors
from z6.live._target import LiveTarget, check_reachable, resolve_target, tls_context, tls_warnings
from z6.live._request import host_header, request_target, serialize_request
from z6.live._wire_templates import WireTemplates, wire_templates

__all__ = ["WireTemplates", "wire_templates", "LiveTarget", "resolve_target", "check_reachable", "tls_warnings", "tls_context", "serialize_request",
           "host_header", "request_target", "ensure_descriptors", "DESCRIPTOR_HEADROOM"]
