"""The scenario a log's header records, parsed again, and its plan, compiled again.

The header holds the scenario's text and its source: since format version 1 logs
written by this z6, the scenario file's absolute path (older logs: the path as
typed). ``body_file`` paths in the text resolve against that file's directory
when the file still exists, else against the log's directory.

Request bodies never change a figure or a plan (the engine and the plan know
requests by index only). So a caller that needs no body (`z6 replay
--metrics-only`, ``--verify``, a report) passes ``require_bodies=False``: when the
scenario fails to parse and some ``body_file`` no longer exists, the text is
resolved again without those ``body_file`` keys (those requests get no body)
and the dropped files are returned, for the caller to mention.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import Any, Optional

from z6.errors import ConfigError, Problem, ScenarioError
from z6.log import LogHeader
from z6.plan import Plan, compile_plan
from z6.scenario import Scenario, parse_scenario
from z6.scenario._load import default_name, parse_toml
from z6.scenario._resolve import resolve_document

__all__ = ["scenario_from_header", "parse_header_scenario", "plan_from_header", "body_base_dir"]


def body_base_dir(header: LogHeader, log_path: Path) -> Path:
    """Where the recorded scenario's ``body_file`` paths resolve (module docstring)."""
    source = header.scenario_source
    if not source.startswith("<") and Path(source).is_file():
        return Path(source).parent
    return Path(log_path).parent


def _missing_body_files(data: dict[str, Any], base_dir: Path) -> list[tuple[int, str, str]]:
    """(request index, body_file as written, resolved path) of each body file that does not exist."""
    requests = data.get("requests")
    missing = []
    if isinstance(requests, list):
        for index, request in enumerate(requests):
            value = request.get("body_file") if isinstance(request, dict) else None
            if isinstance(value, str) and value:
                path = os.path.abspath(os.path.join(base_dir, value))
                if not os.path.isfile(path):
                    missing.append((index, value, path))
    return missing


def _without_missing_bodies(header: LogHeader, base_dir: Path) -> Optional[tuple[Scenario, tuple[str, ...]]]:
    """The scenario with its missing body files dropped, and what was dropped;
    None when no body file is missing or the scenario still does not validate."""
    # The scenario package's own steps, so that the result is the Scenario that
    # parse_scenario would give had the files been there (less their bodies).
    source, text = header.scenario_source, header.scenario_text
    try:
        data = parse_toml(source, text)
    except ScenarioError:
        return None
    missing = _missing_body_files(data, base_dir)
    # TLS files (certificates, keys) change no figure of the run either: a log
    # whose test certificates are gone still recomputes.
    target = data.get("target")
    gone_tls = [key for key in ("ca_file", "client_cert", "client_key")
                if isinstance(target, dict) and isinstance(target.get(key), str)
                and not (base_dir / target[key]).exists()]
    if not missing and not gone_tls:
        return None
    for index, _, _ in missing:
        del data["requests"][index]["body_file"]
    for key in gone_tls:
        del target[key]  # type: ignore[union-attr]
    try:
        scenario = resolve_document(data, source=source, text=text,
                                    sha256=hashlib.sha256(text.encode("utf-8")).hexdigest(),
                                    default_name=default_name(source), base_dir=str(base_dir))
    except ScenarioError:
        return None
    dropped = tuple(f"requests[{index}].body_file {value!r} (resolved to {path})" for index, value, path in missing)
    return scenario, dropped


def parse_header_scenario(header: LogHeader, log_path: Path, base_dir: Optional[str | os.PathLike[str]] = None, *,
                          require_bodies: bool = True) -> tuple[Scenario, tuple[str, ...]]:
    """The recorded scenario, and the body files left out of it (always empty when
    ``require_bodies``). Raises `ScenarioError` when it does not parse otherwise."""
    directory = Path(base_dir) if base_dir is not None else body_base_dir(header, log_path)
    try:
        return parse_scenario(header.scenario_text, source=header.scenario_source, base_dir=directory), ()
    except ScenarioError as exc:
        fallback = None if require_bodies else _without_missing_bodies(header, directory)
        if fallback is None:
            # Not (only) missing body files: every problem, each said to be the
            # header's (the file its source names may hold other text now, or be gone).
            raise ScenarioError([Problem(p.path, p.rule, p.value, f"{log_path}: the scenario in its header: {p}")
                                 for p in exc.problems]) from None
        return fallback


def scenario_from_header(header: LogHeader, log_path: Path, base_dir: Optional[str | os.PathLike[str]] = None, *,
                         require_bodies: bool = True) -> Scenario:
    """The scenario recorded in ``header``, parsed again.

    ``body_file`` paths resolve against ``base_dir``; by default against the
    original scenario file's directory when that file still exists, else the
    log's. With ``require_bodies=False`` body files that no longer exist are left
    out (their requests get no body) instead of failing the parse.
    """
    return parse_header_scenario(header, log_path, base_dir, require_bodies=require_bodies)[0]


def plan_from_header(header: LogHeader, scenario: Scenario, log_path: Optional[str | os.PathLike[str]] = None) -> Plan:
    """Compile ``scenario`` as the logged run did, cut to the log's VUs (ids
    ``first_vu_id + k * vu_id_step``, k below ``n_vus``). ``log_path`` names the
    log in the messages of a header this z6 cannot compile."""
    where = f"{log_path}: " if log_path is not None else ""
    try:
        plan = compile_plan(scenario, seed=header.seed, vus=header.vus_override,
                            duration_s=header.duration_override_s, mode=header.mode)
    except ConfigError as exc:
        if isinstance(exc, ScenarioError) or (header.vus_override is None and header.duration_override_s is None):
            raise
        # The run's --vus or --duration, as its header recorded them.
        given = [f"--{flag} {value}" for flag, value in (("vus", header.vus_override),
                                                         ("duration", header.duration_override_s))
                 if value is not None]
        raise ConfigError(f"{where}the header records the run's {' and '.join(given)}, which this z6 cannot "
                          f"compile: {exc}") from None
    step = header.vu_id_step
    first = header.first_vu_id - plan.first_vu_id
    stop = first + (header.n_vus - 1) * step + 1
    if (first, stop, step) == (0, plan.n_vus, 1):
        return plan
    if not 0 <= first < stop <= plan.n_vus:
        stride = f" in steps of {step}" if step > 1 else ""
        raise ConfigError(f"{where}the log covers VUs {header.first_vu_id}-{header.first_vu_id + (header.n_vus - 1) * step}"
                          f"{stride}, but the re-compiled plan has VUs {plan.first_vu_id}-"
                          f"{plan.first_vu_id + plan.n_vus - 1}")
    return plan.shard(first, stop, step)
