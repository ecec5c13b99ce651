"""The keyword arguments of `z6.start` / `z6.run_scenario`, checked before anything runs.

Each refusal names the keyword as the caller wrote it and the bad value,
``vus=0: must be between 1 and 10,000,000`` (the command line, which reaches the
same rules through `z6.plan.compile_plan`, names its flags instead). A scenario
given as a path is loaded here; ``base_url`` points a copy of the scenario at
another server without touching its text.
"""

from __future__ import annotations

import dataclasses
import math
import numbers
import os
from collections.abc import Sequence
from typing import Any, Literal, Optional, Union
from urllib.parse import urlsplit

from z6.errors import ConfigError
from z6.scenario import MAX_VUS, Scenario, load_scenario

__all__ = ["Mode", "ScenarioLike", "as_scenario", "check_options", "check_outputs", "with_base_url"]

Mode = Literal["live", "simulate"]
ScenarioLike = Union[Scenario, str, "os.PathLike[str]"]


def as_scenario(scenario: Any) -> Scenario:
    """A `Scenario` as is; a path (``str`` or ``os.PathLike``) loaded (ScenarioError
    if it does not load); anything else a ConfigError naming its type."""
    if isinstance(scenario, Scenario):
        return scenario
    if isinstance(scenario, (str, os.PathLike)):
        return load_scenario(scenario)
    raise ConfigError(f"scenario={scenario!r}: must be a z6.Scenario or the path of a scenario file, "
                      f"got a {type(scenario).__name__}")


def _is_int(value: object) -> bool:
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def _is_number(value: object) -> bool:
    return isinstance(value, numbers.Real) and not isinstance(value, bool)


def check_options(*, seed: Optional[int], vus: Optional[int], duration_s: Optional[float], mode: Optional[str],
                  workers: Optional[int] = None, stats_interval_s: float = 0.25, chunk_queue: int = 0) -> None:
    """Refuse a bad keyword with a ConfigError naming it (module docstring)."""
    if seed is not None and not (_is_int(seed) and 0 <= seed < 2**64):
        raise ConfigError(f"seed={seed!r}: must be an integer between 0 and 2**64-1")
    if vus is not None and not (_is_int(vus) and 1 <= vus <= MAX_VUS):
        raise ConfigError(f"vus={vus!r}: must be between 1 and {MAX_VUS:,}")
    if duration_s is not None and not (_is_number(duration_s) and duration_s > 0 and math.isfinite(duration_s)):
        raise ConfigError(f"duration_s={duration_s!r}: must be a positive, finite number of seconds")
    if mode is not None and mode not in ("live", "simulate"):
        raise ConfigError(f"mode={mode!r}: must be 'live' or 'simulate'")
    if workers is not None and not (_is_int(workers) and workers >= 1):
        raise ConfigError(f"workers={workers!r}: must be a positive integer")
    if not (_is_number(stats_interval_s) and 0 < stats_interval_s <= 3600):
        raise ConfigError(f"stats_interval_s={stats_interval_s!r}: must be a number of seconds in (0, 3600]")
    if not (_is_int(chunk_queue) and 0 <= chunk_queue <= 1_000_000):
        raise ConfigError(f"chunk_queue={chunk_queue!r}: must be an integer between 0 and 1,000,000")


def check_outputs(*, consumers: Any, progress: Any, out_dir: Any, html: Any) -> None:
    """Refuse what a run would only trip on later, once traffic had started: a
    consumer or progress callback that cannot be called, an ``out_dir`` that is
    not a path."""
    if isinstance(consumers, (str, bytes)) or not isinstance(consumers, Sequence):
        raise ConfigError(f"consumers={consumers!r}: must be a sequence (list, tuple) of callables taking a chunk")
    for i, consumer in enumerate(consumers):
        if not callable(consumer):
            raise ConfigError(f"consumers[{i}]={consumer!r}: must be callable (it is called with each chunk)")
    if progress is not None and not callable(progress):
        raise ConfigError(f"progress={progress!r}: must be None or callable (it is called with a ProgressSnapshot)")
    if out_dir is not None:
        if not isinstance(out_dir, (str, os.PathLike)) or isinstance(os.fspath(out_dir), bytes):
            raise ConfigError(f"out_dir={out_dir!r}: must be a path (str or os.PathLike), got "
                              f"{type(out_dir).__name__}")
        if os.fspath(out_dir) == "":
            raise ConfigError("out_dir='': must name a directory (None writes no run directory)")
    if not isinstance(html, bool):
        raise ConfigError(f"html={html!r}: must be True or False")
    if html and out_dir is None:
        raise ConfigError("html=True: report.html is written into the run directory; give out_dir too")


def with_base_url(scenario: Scenario, base_url: str) -> Scenario:
    """``scenario`` aimed at ``base_url`` instead of its ``target.base_url`` (or its
    built-in target); the rest of its target (timeouts, TLS files and options) is
    kept. The scenario's text, and so its log header, is unchanged."""
    shown = repr(base_url)
    if not isinstance(base_url, str):
        raise ConfigError(f"base_url={shown}: must be a string such as 'http://127.0.0.1:8080'")
    if any(ch.isspace() or ord(ch) < 0x20 or ord(ch) == 0x7F for ch in base_url) or not base_url.isascii():
        raise ConfigError(f"base_url={shown}: must be ASCII without whitespace or control characters")
    try:
        parts = urlsplit(base_url)
        port = parts.port
    except ValueError:
        # urlsplit's own refusals: an unclosed IPv6 bracket, a port out of range
        raise ConfigError(f"base_url={shown}: is not a URL with a host and a port between 1 and 65535") from None
    if port == 0:
        raise ConfigError(f"base_url={shown}: port 0 is not a port a server listens on")
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ConfigError(f"base_url={shown}: must be an absolute http:// or https:// URL naming a host")
    if parts.username is not None or parts.password is not None or parts.query or parts.fragment:
        raise ConfigError(f"base_url={shown}: must not carry credentials, a query or a fragment")
    scheme: Literal["http", "https"] = "https" if parts.scheme == "https" else "http"
    prefix = parts.path.rstrip("/")
    target = dataclasses.replace(
        scenario.target,
        base_url=f"{scheme}://{parts.netloc}{prefix}",
        scheme=scheme,
        host=parts.hostname,
        port=port or (443 if scheme == "https" else 80),
        tls=scheme == "https",
        builtin=False,
        path_prefix=prefix,
    )
    aimed = dataclasses.replace(scenario, target=target)
    # Derived on purpose: the run records base_url as an override of the text's target.
    object.__setattr__(aimed, "from_text", scenario.from_text)
    return aimed
