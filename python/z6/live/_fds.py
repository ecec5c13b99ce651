"""File descriptors: every live VU may hold one socket open at a time."""

from __future__ import annotations

from z6.errors import ConfigError

__all__ = ["ensure_descriptors", "DESCRIPTOR_HEADROOM"]

# Descriptors the process needs besides the VUs' sockets: stdio, the event
# log, the poller, Python's own files.
DESCRIPTOR_HEADROOM = 64


def ensure_descriptors(n_vus: int, source: str) -> int:
    """Raise the open-file soft limit to the hard limit; fail before any traffic
    when ``n_vus`` sockets would not fit. Returns the soft limit now in force."""
    try:
        import resource
    except ImportError:  # not POSIX: nothing to raise, nothing to check
        return -1
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    # An unlimited hard limit (macOS reports one) cannot be the soft limit:
    # ask for what the run needs instead.
    wanted = hard if hard != resource.RLIM_INFINITY else max(soft, n_vus + DESCRIPTOR_HEADROOM)
    if soft != resource.RLIM_INFINITY and soft < wanted:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (wanted, hard))
            soft = wanted
        except (ValueError, OSError):
            pass
    if soft != resource.RLIM_INFINITY and n_vus + DESCRIPTOR_HEADROOM > soft:
        raise ConfigError(
            f"{source}: {n_vus} VUs need {n_vus + DESCRIPTOR_HEADROOM} open files (one socket per VU plus "
            f"{DESCRIPTOR_HEADROOM}), but the limit is {soft} (hard limit {hard}); raise it with "
            f"`ulimit -n` or run fewer VUs"
        )
    return soft
