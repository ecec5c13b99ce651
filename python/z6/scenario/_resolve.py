"""From a parsed TOML document to a ``Scenario``: validate every table, apply
the rules that span tables, fill in every default.

Each section is validated on its own, so one bad table does not hide the
problems in the others; a rule that needs another table runs only when that
table validated, so a single mistake is reported once rather than echoed as
a cascade. Every problem is collected and raised together at the end.
"""

from __future__ import annotations

import math
import os
import ssl
import stat
from collections.abc import Mapping
from typing import Any, TypeVar
from urllib.parse import urlsplit

from pydantic import BaseModel, ValidationError

from z6.errors import Problem as ScenarioProblem
from z6.errors import ScenarioError
from z6.scenario._files import FileProblem, kind_of, read_regular
from z6.scenario._regex import to_posix
from z6.scenario._messages import (
    Loc,
    Problem,
    did_you_mean,
    problems_from_validation_error,
    render_number,
    render_path,
    render_value,
)
from z6.scenario._model import (
    LATENCY_MODELS,
    SCHEDULE_MODELS,
    THINK_TIME_MODELS,
    AssertionLimitsModel,
    AssertionsModel,
    ArrivalRateScheduleModel,
    ConstantLatencyModel,
    ConstantScheduleModel,
    ConstantThinkModel,
    DataModel,
    DocumentModel,
    ExponentialLatencyModel,
    ExponentialThinkModel,
    LognormalLatencyModel,
    MetadataModel,
    RampScheduleModel,
    RampingArrivalRateScheduleModel,
    RequestModel,
    RuntimeModel,
    SequenceModel,
    LifecycleModel,
    ChecksModel,
    SimulationModel,
    SpikeScheduleModel,
    StepsScheduleModel,
    TargetModel,
    UniformLatencyModel,
    UniformThinkModel,
)
from z6.scenario._types import (
    ARRIVAL_SCHEDULES,
    MAX_BODY_BYTES,
    MAX_REQUESTS,
    ArrivalRateSchedule,
    Assertions,
    ConstantSchedule,
    DataSource,
    LatencyModel,
    Metadata,
    RampSchedule,
    RampingArrivalRateSchedule,
    RateStage,
    Request,
    Runtime,
    Scenario,
    Schedule,
    RequestSequence,
    Lifecycle,
    Check,
    DEFAULT_VAR_BYTES,
    Variable,
    SequenceStep,
    Simulation,
    SpikeSchedule,
    Step,
    StepsSchedule,
    Target,
    ThinkTime,
)

__all__ = ["resolve_document"]

M = TypeVar("M", bound=BaseModel)


def _same_duration(a: float, b: float) -> bool:
    # Durations add up from decimal TOML floats (0.1 + 0.2); compare with a tolerance
    # far below a tick so that only real mismatches are errors.
    return math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-9)


class _Problems:
    """Collects problems with their key paths; validates tables into models."""

    def __init__(self) -> None:
        self.items: list[Problem] = []

    def add(self, loc: Loc, message: str) -> None:
        self.items.append((loc, message))

    def validate(self, model: type[M], raw: Any, loc: Loc) -> M | None:
        try:
            return model.model_validate(raw)
        except ValidationError as exc:
            for sub, message in problems_from_validation_error(exc, model):
                self.add(loc + sub, message)
            return None

    def dispatch(self, models: Mapping[str, type[BaseModel]], raw: dict[str, Any], loc: Loc, default: str | None) -> Any:
        """Validate a table whose keys depend on its ``type`` with the model of that type."""
        kinds = list(dict.fromkeys(models))
        listed = ", ".join(f'"{kind}"' for kind in kinds)
        kind = raw.get("type", default)
        if kind is None:
            self.add(loc + ("type",), f"required key is missing (one of {listed})")
            return None
        if not isinstance(kind, str) or kind not in models:
            self.add(loc + ("type",), f"must be one of {listed}, got {render_value(kind)}{did_you_mean(kind, kinds)}")
            return None
        return self.validate(models[kind], raw, loc)


def _table(data: Mapping[str, Any], key: str) -> dict[str, Any] | None:
    """The section ``key`` if it is a table; a non-table was already reported by DocumentModel."""
    value = data.get(key, {})
    return value if isinstance(value, dict) else None


# --- sections -----------------------------------------------------------------


def _target(problems: _Problems, model: TargetModel, base_dir: str) -> Target | None:
    shared_keys = {"tls_min_version": model.tls_min_version, "insecure": model.insecure, "tls_resume": model.tls_resume,
                "max_capture_bytes": model.max_capture_bytes, "cookies": model.cookies,
                   "follow_redirects": model.follow_redirects}
    files = _tls_files(problems, model, base_dir)
    if files is None:
        return None
    if model.builtin:
        # The port is chosen when `z6 run` starts the built-in target (and, with
        # tls = true, its certificate, which the run then trusts as its ca_file).
        scheme = "https" if model.tls else "http"
        return Target(base_url=f"{scheme}://127.0.0.1", scheme=scheme, host="127.0.0.1", port=0,
                      tls=bool(model.tls), builtin=True, connection_timeout_ms=model.connection_timeout_ms,
                      **shared_keys)
    assert model.base_url is not None
    parts = urlsplit(model.base_url)
    scheme = "https" if parts.scheme == "https" else "http"
    port = parts.port or (443 if scheme == "https" else 80)
    prefix = parts.path.rstrip("/")
    return Target(
        base_url=f"{scheme}://{parts.netloc}{prefix}",
        scheme=scheme,
        host=parts.hostname or "",
        port=port,
        tls=scheme == "https",
        connection_timeout_ms=model.connection_timeout_ms,
        path_prefix=prefix,
        **files,
        **shared_keys,
    )


# The largest ca_file, client_cert or client_key read (docs/scenario.md).
MAX_PEM_BYTES = 16 * 1024 * 1024


def _pem_file(problems: _Problems, loc: Loc, value: str, base_dir: str, marker: str, what: str) -> str | None:
    """The absolute path of a PEM file that exists, reads and holds a ``marker`` block."""
    path = os.path.abspath(os.path.join(base_dir, value))
    where = f"{render_value(value)} (resolved to {path})"
    try:
        # A regular file of at most MAX_PEM_BYTES (a FIFO or a device is refused before
        # it is opened); a system CA bundle is a few hundred KiB.
        data = read_regular(path, MAX_PEM_BYTES)
    except FileProblem as exc:
        problems.add(loc, f"{exc}: {where}")
        return None
    if b"-----BEGIN " not in data or marker.encode() not in data:
        problems.add(loc, f"must be a PEM file holding {what} (a '-----BEGIN ...{marker}-----' block), got {where}")
        return None
    return path


def _tls_files(problems: _Problems, model: TargetModel, base_dir: str) -> dict[str, str | None] | None:
    """ca_file, client_cert and client_key checked as OpenSSL will load them: PEM,
    parseable, and the key matching the certificate (Python's ssl is OpenSSL)."""
    found: dict[str, str | None] = {"ca_file": None, "client_cert": None, "client_key": None}
    ok = True
    if model.ca_file is not None:
        loc = ("target", "ca_file")
        path = _pem_file(problems, loc, model.ca_file, base_dir, "CERTIFICATE", "CA certificates")
        if path is not None:
            try:
                ssl.create_default_context(cafile=path)
                found["ca_file"] = path
            except (ssl.SSLError, ValueError) as exc:
                problems.add(loc, f"must hold PEM certificates OpenSSL can load ({exc}), got {render_value(path)}")
        ok = ok and found["ca_file"] is not None
    if model.client_cert is not None:
        cert = _pem_file(problems, ("target", "client_cert"), model.client_cert, base_dir, "CERTIFICATE",
                         "a certificate")
        key_value = model.client_key if model.client_key is not None else model.client_cert
        key_loc = ("target", "client_key" if model.client_key is not None else "client_cert")
        key = _pem_file(problems, key_loc, key_value, base_dir, "PRIVATE KEY", "a private key")
        if cert is not None and key is not None:
            try:
                ssl.create_default_context().load_cert_chain(cert, key)
                found["client_cert"], found["client_key"] = cert, key
            except ssl.SSLError as exc:
                mismatch = "KEY_VALUES_MISMATCH" in str(exc) or "key values mismatch" in str(exc)
                problems.add(key_loc, f"does not match client_cert {render_value(cert)}" if mismatch else
                             f"OpenSSL cannot load the certificate and key ({exc.reason or exc}), got "
                             f"{render_value(cert)} and {render_value(key)}")
        ok = ok and found["client_cert"] is not None
    return found if ok else None


def _read_body_file(problems: _Problems, loc: Loc, value: str, base_dir: str) -> tuple[str, bytes] | None:
    path = os.path.abspath(os.path.join(base_dir, value))
    try:
        data = read_regular(path, MAX_BODY_BYTES)
    except FileProblem as exc:
        problems.add(loc, f"{exc}: {render_value(value)} (resolved to {path})")
        return None
    return path, data


def _render_expected(value: object) -> str:
    # A JSON check's value as the summary shows it: TOML-like, strings quoted.
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return render_value(value)
    return repr(value)


def _checks(model: ChecksModel) -> tuple[Check, ...]:
    """A request's checks in their numbered order (docs/scenario.md "Checks")."""
    out: list[Check] = []
    if model.status is not None:
        out.append(Check(kind="status", label=f"status in [{', '.join(str(s) for s in model.status)}]",
                         statuses=tuple(model.status)))
    if model.body_contains is not None:
        out.append(Check(kind="body_contains", label=f"body contains {render_value(model.body_contains)}",
                         text=model.body_contains))
    if model.body_not_contains is not None:
        out.append(Check(kind="body_not_contains",
                         label=f"body does not contain {render_value(model.body_not_contains)}",
                         text=model.body_not_contains))
    for name, value in model.header.items():
        out.append(Check(kind="header", label=f"header {name} == {render_value(value)}", name=name, text=value))
    for path, value in model.json_.items():
        out.append(Check(kind="json", label=f"json {path} == {_render_expected(value)}", name=path, value=value))
    return tuple(out)


def _extractions(model: RequestModel) -> tuple[Check, ...]:
    """A request's extractions, numbered after its checks (docs/scenario.md "Extraction")."""
    out: list[Check] = []
    for var, e in model.extract.items():
        if e.json_ is not None:
            out.append(Check(kind="extract_json", label=f"extract {var} from json {e.json_}", name=e.json_, var=var,
                             max_bytes=e.max_bytes))
        elif e.header is not None:
            out.append(Check(kind="extract_header", label=f"extract {var} from header {e.header}", name=e.header,
                             var=var, max_bytes=e.max_bytes))
        else:
            assert e.regex is not None
            group = e.regex_group
            out.append(Check(kind="extract_regex", label=f"extract {var} from regex {render_value(e.regex)}"
                             + (f" group {group}" if group != 1 else ""), name=e.regex, posix=to_posix(e.regex),
                             group=group, var=var, max_bytes=e.max_bytes))
    return tuple(out)


def _variables(problems: _Problems, raw: list[Any], requests: list[Request]) -> tuple[Variable, ...]:
    """The scenario's variables, in order of first extraction. A variable
    several requests extract holds the largest max_bytes among them; its
    default, when more than one gives it, must be the same."""
    found: dict[str, tuple[int, str | None, int]] = {}  # name -> (max_bytes, default, request index giving it)
    for index, item in enumerate(raw):
        extract = item.get("extract") if isinstance(item, dict) else None
        if not isinstance(extract, dict):
            continue
        for name, spec in extract.items():
            default = spec.get("default") if isinstance(spec, dict) else None
            size = max((c.max_bytes for r in requests for c in r.checks if c.var == name), default=DEFAULT_VAR_BYTES)
            if name in found:
                _, earlier, at = found[name]
                if default is not None and earlier is not None and default != earlier:
                    problems.add(("requests", index, "extract", name, "default"),
                                 f"differs from the default requests[{at}] gives the same variable "
                                 f"({render_value(earlier)})")
                if earlier is None and default is not None:
                    found[name] = (size, default, index)
            else:
                found[name] = (size, default, index)
    return tuple(Variable(name=name, max_bytes=size, default=None if default is None else default.encode("utf-8"))
                 for name, (size, default, _) in found.items())


def _requests(problems: _Problems, raw: list[Any], base_dir: str) -> tuple[list[Request] | None, dict[str, int]]:
    """Validate every request; returns them (None if any failed) and name -> first index.

    The name map is built from the raw tables, so a request with a bad weight
    still counts as a name a sequence may use (no echo errors).
    """
    names: dict[str, int] = {}
    for index, item in enumerate(raw):
        name = item.get("name") if isinstance(item, dict) else None
        if not isinstance(name, str) or not name:
            continue
        if name in names:
            problems.add(
                ("requests", index, "name"),
                f"must be unique, got {render_value(name)} (also the name of requests[{names[name]}])",
            )
        else:
            names[name] = index

    resolved: list[Request] = []
    ok = True
    for index, item in enumerate(raw):
        if not isinstance(item, dict):
            ok = False  # reported by DocumentModel
            continue
        model = problems.validate(RequestModel, item, ("requests", index))
        if model is None:
            ok = False
            continue
        body: bytes | None = model.body.encode("utf-8") if model.body is not None else None
        body_file: str | None = None
        if model.body_file is not None:
            loaded = _read_body_file(problems, ("requests", index, "body_file"), model.body_file, base_dir)
            if loaded is None:
                ok = False
                continue
            body_file, body = loaded
        resolved.append(
            Request(
                name=model.name,
                method=model.method,
                path=model.path,
                headers=tuple(model.headers.items()),
                body=body,
                body_file=body_file,
                template=model.template,
                timeout_ms=model.timeout_ms,
                weight=model.weight,
                checks=(_checks(model.checks) if model.checks is not None else ()) + _extractions(model),
                max_capture_bytes=model.max_capture_bytes,
            )
        )
    if not ok:
        return None, names
    total = math.fsum(request.weight for request in resolved)
    if not total > 0:
        problems.add(("requests",), f"the sum of the weights must be > 0, got {render_number(total)}")
        return None, names
    return resolved, names


_DATA_FORMATS = {".csv": "csv", ".tsv": "csv", ".jsonl": "jsonl", ".ndjson": "jsonl"}


def _data(problems: _Problems, raw: list[Any], base_dir: str) -> tuple[DataSource, ...] | None:
    """The [[data]] tables: names unique, the file a regular file, its format known."""
    found: list[DataSource] = []
    seen: dict[str, int] = {}
    ok = True
    for index, item in enumerate(raw):
        loc = ("data", index)
        if not isinstance(item, dict):
            problems.add(loc, f"must be a table, got {render_value(item)}")
            ok = False
            continue
        model = problems.validate(DataModel, item, loc)
        if model is None:
            ok = False
            continue
        if model.name in seen:
            problems.add(loc + ("name",), f"must be unique, got {render_value(model.name)} (also the name of "
                                          f"data[{seen[model.name]}])")
            ok = False
            continue
        seen[model.name] = index
        path = os.path.abspath(os.path.join(base_dir, model.file))
        try:
            mode: int | None = os.stat(path).st_mode
        except OSError:
            mode = None
        if mode is None or not stat.S_ISREG(mode):
            what = "no such file" if mode is None else f"must be a regular file, got {kind_of(mode)}"
            problems.add(loc + ("file",), f"{what}: {render_value(model.file)} (resolved to {path})")
            ok = False
            continue
        fmt = model.format or _DATA_FORMATS.get(os.path.splitext(path)[1].lower())
        if fmt is None:
            problems.add(loc + ("format",), "required key is missing: the file's extension is none of .csv, .tsv, "
                                            f".jsonl, .ndjson (set format = \"csv\" or \"jsonl\"), got {render_value(model.file)}")
            ok = False
            continue
        if fmt == "jsonl" and model.delimiter is not None:
            problems.add(loc + ("delimiter",), f"applies to CSV files only, got {render_value(model.delimiter)}")
            ok = False
            continue
        default_delimiter = "\t" if path.lower().endswith(".tsv") else ","
        found.append(DataSource(name=model.name, path=path, format=fmt,
                                delimiter=model.delimiter or default_delimiter, pick=model.pick))
    return tuple(found) if ok else None


def _schedule(problems: _Problems, model: BaseModel, runtime: RuntimeModel) -> Schedule | None:
    duration = runtime.duration_s
    shown_duration = render_number(duration) if duration is not None else ""

    if runtime.iterations is not None and not isinstance(model, ConstantScheduleModel):
        kind = getattr(model, "type", "?")
        problems.add(
            ("runtime", "iterations"),
            f'needs a constant schedule (iterations are counted per VU), got schedule.type = "{kind}"',
        )
        return None

    if isinstance(model, ConstantScheduleModel):
        vus = model.vus if model.vus is not None else runtime.vus
        if vus is None:
            problems.add(("runtime", "vus"), "required key is missing (or set schedule.vus)")
            return None
        if duration is None and runtime.iterations is None:
            problems.add(
                ("runtime", "duration_seconds"),
                "required key is missing (a constant schedule needs duration_seconds, duration_ms or iterations)",
            )
            return None
        return ConstantSchedule(vus=vus, duration_s=duration)

    if isinstance(model, RampScheduleModel):
        end_vus = model.end_vus if model.end_vus is not None else model.vus
        if end_vus is None:
            end_vus = runtime.vus
        if end_vus is None:
            problems.add(("schedule", "end_vus"), "required key is missing (and there is no runtime.vus to default to)")
            return None
        start_vus = model.start_vus if model.start_vus is not None else 0
        if start_vus == 0 and end_vus == 0:
            problems.add(("schedule", "end_vus"), "start_vus and end_vus must not both be 0, got 0 and 0")
            return None
        ramp_s = model.ramp_duration_seconds if model.ramp_duration_seconds is not None else duration
        if ramp_s is None:
            problems.add(
                ("schedule", "ramp_duration_seconds"),
                "required key is missing (and there is no runtime duration to default to)",
            )
            return None
        if model.hold_duration_seconds is not None:
            hold_s = model.hold_duration_seconds
        elif duration is not None and duration > ramp_s:
            hold_s = duration - ramp_s
        else:
            hold_s = 0.0
        if duration is not None and not _same_duration(ramp_s + hold_s, duration):
            problems.add(
                ("schedule",),
                f"ramp_duration_seconds + hold_duration_seconds must equal the runtime duration ({shown_duration} s), "
                f"got {render_number(ramp_s)} + {render_number(hold_s)} = {render_number(ramp_s + hold_s)}",
            )
            return None
        return RampSchedule(start_vus=start_vus, end_vus=end_vus, ramp_s=ramp_s, hold_s=hold_s)

    if isinstance(model, SpikeScheduleModel):
        if duration is None:
            problems.add(
                ("runtime", "duration_seconds"),
                "required key is missing (a spike schedule runs for the runtime duration)",
            )
            return None
        end = model.spike_start_seconds + model.spike_duration_seconds
        if end > duration and not _same_duration(end, duration):
            problems.add(
                ("schedule",),
                f"spike_start_seconds + spike_duration_seconds must be <= the runtime duration ({shown_duration} s), "
                f"got {render_number(model.spike_start_seconds)} + {render_number(model.spike_duration_seconds)}"
                f" = {render_number(end)}",
            )
            return None
        return SpikeSchedule(
            baseline_vus=model.baseline_vus,
            spike_vus=model.spike_vus,
            spike_start_s=model.spike_start_seconds,
            spike_duration_s=model.spike_duration_seconds,
            duration_s=duration,
        )

    if isinstance(model, (ArrivalRateScheduleModel, RampingArrivalRateScheduleModel)):
        return _arrival_schedule(problems, model, runtime)

    assert isinstance(model, StepsScheduleModel)
    steps = tuple(Step(vus=step.vus, duration_s=step.duration_seconds) for step in model.steps)
    total = math.fsum(step.duration_s for step in steps)
    if duration is not None and not _same_duration(total, duration):
        problems.add(
            ("schedule", "steps"),
            f"the step durations must add up to the runtime duration ({shown_duration} s), got {render_number(total)}",
        )
        return None
    return StepsSchedule(steps=steps)


def _arrival_schedule(problems: _Problems, model: ArrivalRateScheduleModel | RampingArrivalRateScheduleModel,
                      runtime: RuntimeModel) -> Schedule | None:
    # The pool: `vus` (or runtime.vus), growing to `max_vus` (default: no growth).
    vus = model.vus if model.vus is not None else runtime.vus
    if vus is None:
        problems.add(("schedule", "vus"), "required key is missing (the pool of VUs that serve arrivals; "
                                          "or set runtime.vus)")
        return None
    max_vus = model.max_vus if model.max_vus is not None else vus
    if max_vus < vus:
        problems.add(("schedule", "max_vus"), f"must be >= vus ({vus}, from runtime.vus), got {max_vus}")
        return None
    duration = runtime.duration_s
    if isinstance(model, ArrivalRateScheduleModel):
        own = model.duration_seconds
        if own is None and duration is None:
            problems.add(("schedule", "duration_seconds"),
                         "required key is missing (or set runtime.duration_seconds)")
            return None
        if own is not None and duration is not None and not _same_duration(own, duration):
            problems.add(("schedule", "duration_seconds"),
                         f"must equal the runtime duration ({render_number(duration)} s) when both are given, "
                         f"got {render_number(own)}")
            return None
        return ArrivalRateSchedule(rate=model.rate, duration_s=own if own is not None else duration,
                                   arrivals=model.arrivals, vus=vus, max_vus=max_vus)
    stages = tuple(RateStage(target=stage.target, duration_s=stage.duration_seconds) for stage in model.stages)
    total = math.fsum(stage.duration_s for stage in stages)
    if duration is not None and not _same_duration(total, duration):
        problems.add(("schedule", "stages"),
                     f"the stage durations must add up to the runtime duration ({render_number(duration)} s), "
                     f"got {render_number(total)}")
        return None
    return RampingArrivalRateSchedule(start_rate=model.start_rate, stages=stages, arrivals=model.arrivals,
                                      vus=vus, max_vus=max_vus)


def _think_time(model: BaseModel) -> ThinkTime:
    if isinstance(model, ConstantThinkModel):
        return ThinkTime(type="constant", duration_ms=model.duration_ms)
    if isinstance(model, UniformThinkModel):
        return ThinkTime(type="uniform", min_ms=model.min_ms, max_ms=model.max_ms)
    assert isinstance(model, ExponentialThinkModel)
    return ThinkTime(type="exponential", mean_ms=model.mean_ms)


def _sequence(problems: _Problems, model: SequenceModel, names: dict[str, int]) -> RequestSequence | None:
    steps: list[SequenceStep] = []
    for index, step in enumerate(model.steps):
        if step.request not in names:
            problems.add(
                ("sequence", "steps", index, "request"),
                f"must name a request, got {render_value(step.request)}{did_you_mean(step.request, names)}",
            )
            continue
        steps.append(SequenceStep(request=step.request, request_index=names[step.request], repeat=step.repeat))
    if len(steps) != len(model.steps):
        return None
    return RequestSequence(type=model.type, steps=tuple(steps))


def _lifecycle(problems: _Problems, model: LifecycleModel, names: dict[str, int],
               schedule: Schedule | None) -> Lifecycle | None:
    ok = True
    for key in ("on_start", "on_stop"):
        for index, name in enumerate(getattr(model, key)):
            if name not in names:
                problems.add(("lifecycle", key, index),
                             f"must name a request, got {render_value(name)}{did_you_mean(name, names)}")
                ok = False
    if schedule is not None and schedule.type in ARRIVAL_SCHEDULES and (model.on_start or model.on_stop):
        # A pool VU serves whichever arrival finds it free: it has no run of its own
        # to log in for (k6's arrival-rate executors have no per-VU setup either).
        problems.add(("lifecycle",), f'does not apply to a schedule.type = "{schedule.type}" schedule (a pool VU '
                                     "serves whichever arrival finds it free); use a closed-model schedule "
                                     "(constant, ramp, steps, spike) for per-VU on_start and on_stop requests")
        ok = False
    if not ok:
        return None
    return Lifecycle(on_start=tuple(model.on_start), on_stop=tuple(model.on_stop),
                     on_start_index=tuple(names[n] for n in model.on_start),
                     on_stop_index=tuple(names[n] for n in model.on_stop))


def _limits(model: AssertionLimitsModel, per_request: tuple[tuple[str, Assertions], ...] = (),
            default: bool = True) -> Assertions:
    return Assertions(
        p50_latency_ms=model.p50_latency_ms,
        p90_latency_ms=model.p90_latency_ms,
        p95_latency_ms=model.p95_latency_ms,
        p99_latency_ms=model.p99_latency_ms,
        p999_latency_ms=model.p999_latency_ms,
        error_rate_max=model.error_rate_max,
        success_rate_min=model.success_rate_min,
        rps_min=model.rps_min,
        status_5xx_max_rate=model.status_5xx_max_rate,
        checks_rate_min=model.checks_rate_min,
        dropped_max=getattr(model, "dropped_max", None),
        dropped_rate_max=getattr(model, "dropped_rate_max", None),
        p99_response_time_ms=getattr(model, "p99_response_time_ms", None),
        per_request=per_request,
        default=default,
    )


def _assertions(problems: _Problems, model: AssertionsModel, names: dict[str, int]) -> Assertions | None:
    ok = True
    for name in model.requests:
        if name not in names:
            problems.add(("assertions", "requests", name), f"not a request name{did_you_mean(name, names)}")
            ok = False
    if not ok:
        return None
    # In request order, so reports list them the way the file lists the requests.
    ordered = sorted(model.requests.items(), key=lambda item: names[item[0]])
    return _limits(model, tuple((name, _limits(limits)) for name, limits in ordered), default=model.default)


def _latency(model: BaseModel) -> LatencyModel:
    if isinstance(model, ConstantLatencyModel):
        return LatencyModel(type="constant", ms=model.ms)
    if isinstance(model, UniformLatencyModel):
        return LatencyModel(type="uniform", min_ms=model.min_ms, max_ms=model.max_ms)
    if isinstance(model, LognormalLatencyModel):
        return LatencyModel(type="lognormal", median_ms=model.median_ms, p99_ms=model.p99_ms)
    assert isinstance(model, ExponentialLatencyModel)
    return LatencyModel(type="exponential", mean_ms=model.mean_ms)


def _simulation(problems: _Problems, raw: dict[str, Any]) -> Simulation | None:
    model = problems.validate(SimulationModel, raw, ("simulation",))
    latency_raw = raw.get("latency")
    latency_model = None
    if isinstance(latency_raw, dict):  # otherwise SimulationModel reported it
        latency_model = problems.dispatch(LATENCY_MODELS, latency_raw, ("simulation", "latency"), default=None)
    if model is None or latency_model is None:
        return None
    return Simulation(
        latency=_latency(latency_model),
        error_rate=model.error_rate,
        status_codes=tuple(sorted((int(code), weight) for code, weight in model.status_codes.items())),
        capacity=model.capacity,
        check_fail_rate=model.check_fail_rate,
    )


def _open_model_rules(problems: _Problems, schedule: Schedule | None, think_raw: dict[str, Any] | None,
                      assertions_raw: dict[str, Any] | None) -> None:
    # Think time paces a closed-model VU; under an arrival rate the arrivals set
    # the pace, so a [think_time] would be silently meaningless: refused. The
    # open model's assertions need an open-model schedule to mean anything.
    if schedule is None:
        return
    if schedule.type in ARRIVAL_SCHEDULES:
        if think_raw:
            problems.add(("think_time",), f'does not apply to a schedule.type = "{schedule.type}" schedule (the '
                                          "arrival rate sets the pace, and a sequence's steps run back to back); "
                                          "remove [think_time]")
    elif assertions_raw:
        for key in ("dropped_max", "dropped_rate_max", "p99_response_time_ms"):
            if key in assertions_raw:
                problems.add(("assertions", key), "applies to an arrival-rate schedule (schedule.type = "
                                                  f'"arrival_rate" or "ramping_arrival_rate"), not to '
                                                  f'schedule.type = "{schedule.type}", got '
                                                  f"{render_value(assertions_raw[key])}")


def _checks_rate_rules(problems: _Problems, requests: list[Request], assertions: Assertions) -> None:
    # A limit on the checks' pass rate judges checks: without any it could only fail.
    with_checks = {r.name for r in requests if r.checks}
    if assertions.checks_rate_min is not None and not with_checks:
        problems.add(("assertions", "checks_rate_min"), "needs response checks, but no request has `checks`")
    for name, limits in assertions.per_request:
        if limits.checks_rate_min is not None and name not in with_checks:
            problems.add(("assertions", "requests", name, "checks_rate_min"),
                         f"needs response checks, but request {render_value(name)} has no `checks`")


# --- the document -------------------------------------------------------------


def resolve_document(
    data: dict[str, Any], *, source: str, text: str, sha256: str, default_name: str, base_dir: str
) -> Scenario:
    """Validate ``data`` (the parsed TOML) and build the Scenario; raise ScenarioError listing every problem."""
    problems = _Problems()
    problems.validate(DocumentModel, data, ())

    metadata_raw = _table(data, "metadata")
    metadata = problems.validate(MetadataModel, metadata_raw, ("metadata",)) if metadata_raw is not None else None

    runtime_raw = _table(data, "runtime")
    runtime = problems.validate(RuntimeModel, runtime_raw, ("runtime",)) if runtime_raw is not None else None

    target_raw = data.get("target")
    target = problems.validate(TargetModel, target_raw, ("target",)) if isinstance(target_raw, dict) else None

    requests_raw = data.get("requests")
    requests: list[Request] | None = None
    names: dict[str, int] = {}
    # An over-long list is reported once by DocumentModel, not once per item.
    if isinstance(requests_raw, list) and 0 < len(requests_raw) <= MAX_REQUESTS:
        requests, names = _requests(problems, requests_raw, base_dir)

    schedule: Schedule | None = None
    schedule_raw = _table(data, "schedule")
    if schedule_raw is not None:
        schedule_model = problems.dispatch(SCHEDULE_MODELS, schedule_raw, ("schedule",), default="constant")
        if schedule_model is not None and runtime is not None:
            schedule = _schedule(problems, schedule_model, runtime)

    think_time: ThinkTime | None = None
    think_raw = _table(data, "think_time")
    if think_raw is not None:
        if think_raw:
            think_model = problems.dispatch(THINK_TIME_MODELS, think_raw, ("think_time",), default="constant")
            think_time = _think_time(think_model) if think_model is not None else None
        else:
            think_time = ThinkTime()

    sequence: RequestSequence | None = None
    sequence_raw = data.get("sequence")
    if isinstance(sequence_raw, dict):
        sequence_model = problems.validate(SequenceModel, sequence_raw, ("sequence",))
        if sequence_model is not None:
            sequence = _sequence(problems, sequence_model, names)

    lifecycle: Lifecycle | None = Lifecycle()
    lifecycle_raw = _table(data, "lifecycle")
    if lifecycle_raw is not None:
        lifecycle_model = problems.validate(LifecycleModel, lifecycle_raw, ("lifecycle",))
        lifecycle = _lifecycle(problems, lifecycle_model, names, schedule) if lifecycle_model is not None else None

    assertions: Assertions | None = None
    assertions_raw = _table(data, "assertions")
    if assertions_raw is not None:
        assertions_model = problems.validate(AssertionsModel, assertions_raw, ("assertions",))
        if assertions_model is not None:
            assertions = _assertions(problems, assertions_model, names)

    simulation: Simulation | None = None
    simulation_raw = data.get("simulation")
    if isinstance(simulation_raw, dict):
        simulation = _simulation(problems, simulation_raw)

    target_resolved = _target(problems, target, base_dir) if target is not None else None
    _open_model_rules(problems, schedule, think_raw, assertions_raw)
    if requests is not None and assertions is not None:
        _checks_rate_rules(problems, requests, assertions)

    data_sources: tuple[DataSource, ...] | None = ()
    data_raw = data.get("data")
    if isinstance(data_raw, list):
        data_sources = _data(problems, data_raw, base_dir)

    variables: tuple[Variable, ...] = ()
    if requests is not None and isinstance(data.get("requests"), list):
        variables = _variables(problems, data["requests"], requests)

    if problems.items:
        raise ScenarioError([ScenarioProblem.at(source, render_path(loc), message) for loc, message in problems.items])

    # No problems means every section that is present validated; the asserts say so to the type checker.
    assert metadata is not None and runtime is not None and target_resolved is not None and requests is not None
    assert schedule is not None and think_time is not None and assertions is not None and lifecycle is not None
    scenario = Scenario(
        source=source,
        text=text,
        sha256=sha256,
        metadata=Metadata(
            name=metadata.name if metadata.name is not None else default_name,
            description=metadata.description,
            version=metadata.version,
            author=metadata.author,
            tags=tuple(metadata.tags),
        ),
        runtime=Runtime(
            duration_s=runtime.duration_s,
            vus=runtime.vus,
            iterations=runtime.iterations,
            prng_seed=runtime.prng_seed,
            tick_ms=runtime.tick_ms,
            graceful_stop_s=runtime.graceful_stop_seconds,
        ),
        target=target_resolved,
        requests=tuple(requests),
        schedule=schedule,
        think_time=think_time,
        sequence=sequence,
        assertions=assertions,
        simulation=simulation,
        data=data_sources or (),
        lifecycle=lifecycle,
        variables=variables,
    )
    object.__setattr__(scenario, "from_text", True)   # frozen: set once, here (Scenario.from_text)
    return scenario
