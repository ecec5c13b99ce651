"""The resolved scenario: frozen value objects with every default filled in.

These are what the rest of z6 (the plan compiler, the reports) consumes. They
are built only by ``z6.scenario._resolve`` after validation, so they carry no
validation of their own: a ``Scenario`` that exists is a valid one. Nothing
here refers back to the raw TOML, so no consumer ever needs to know which
spelling (``duration_ms`` or ``duration_seconds``, ``random`` or ``uniform``)
the file used.

All classes are keyword-only, frozen and slotted. Collections are tuples so a
``Scenario`` is hashable and safe to share between threads and processes.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal, Union

__all__ = [
    "MAX_VUS",
    "MAX_REQUESTS",
    "MAX_BODY_BYTES",
    "MAX_SCENARIO_BYTES",
    "MAX_NESTING",
    "MAX_SCHEDULE_STEPS",
    "MAX_SEQUENCE_STEPS",
    "MIN_POSITIVE_WEIGHT",
    "MAX_DATA_FILES",
    "DataSource",
    "Metadata",
    "Runtime",
    "Target",
    "Request",
    "ConstantSchedule",
    "RampSchedule",
    "SpikeSchedule",
    "Step",
    "StepsSchedule",
    "ArrivalRateSchedule",
    "RateStage",
    "RampingArrivalRateSchedule",
    "ARRIVAL_SCHEDULES",
    "MAX_ARRIVAL_RATE",
    "Schedule",
    "ThinkTime",
    "SequenceStep",
    "RequestSequence",
    "Sequence",
    "Lifecycle",
    "MAX_LIFECYCLE_REQUESTS",
    "Check",
    "CHECK_KINDS",
    "MAX_CHECKS",
    "MAX_CAPTURE_BYTES",
    "DEFAULT_CAPTURE_BYTES",
    "DEFAULT_FOLLOW_REDIRECTS",
    "MAX_FOLLOW_REDIRECTS",
    "DEFAULT_VAR_BYTES",
    "MAX_VAR_BYTES",
    "MAX_REGEX_GROUP",
    "Variable",
    "Assertions",
    "LatencyModel",
    "Simulation",
    "Scenario",
]

# The most VUs any schedule may reach. VU ids are u32 in the event record; ten
# million keeps the VU table (a few tens of bytes per VU) within a few GiB.
MAX_VUS = 10_000_000
# Request indices are u16 in the event record and 0xFFFF means "no request".
MAX_REQUESTS = 65_534
# A body is pre-serialised once per request definition and held in memory.
MAX_BODY_BYTES = 10 * 1024 * 1024
# A scenario file is read whole and parsed in memory; checked before it is read.
MAX_SCENARIO_BYTES = 16 * 1024 * 1024
# Arrays and inline tables nested deeper than this are refused before parsing
# (the TOML parser recurses once per level).
MAX_NESTING = 64
# [[data]] tables a scenario may declare (each is one row slot per VU in the core).
MAX_DATA_FILES = 64
MAX_SCHEDULE_STEPS = 10_000
# Arrivals per second an arrival-rate schedule may ask for (a nanosecond clock
# still spaces them 100 ns apart).
MAX_ARRIVAL_RATE = 10_000_000.0
MAX_SEQUENCE_STEPS = 65_534
# [lifecycle] on_start and on_stop: a VU's own log-in and log-out, not a workload.
MAX_LIFECYCLE_REQUESTS = 64
# Response checks of one request (a VU's step emits one event per failed check).
MAX_CHECKS = 32
# Bodies kept for body and JSON checks, per VU: the default and the most a request may ask.
DEFAULT_CAPTURE_BYTES = 1 << 20
MAX_CAPTURE_BYTES = 64 << 20
# Same-origin redirects followed per request (k6's and browsers' default is 10;
# the core counts hops in a byte).
DEFAULT_FOLLOW_REDIRECTS = 10
MAX_FOLLOW_REDIRECTS = 100
# Check kinds, in the order a request's checks are numbered, as the core numbers them.
# Extractions (`extract`) are judged as checks of the last three kinds.
CHECK_KINDS = ("status", "body_contains", "body_not_contains", "header", "json", "extract_json", "extract_header",
               "extract_regex")
# Extracted variables: the bytes one holds by default and at most (docs/scenario.md "Extraction").
DEFAULT_VAR_BYTES = 4096
MAX_VAR_BYTES = 1 << 20
# The highest group a regex extraction may take (0: the whole match).
MAX_REGEX_GROUP = 9
# Weights are scaled by 1e6 and rounded when the plan is compiled; a positive
# weight below this would round to 0 and silently never be chosen.
MIN_POSITIVE_WEIGHT = 5e-7


@dataclass(frozen=True, slots=True, kw_only=True)
class Metadata:
    name: str
    description: str = ""
    version: str = ""
    author: str = ""
    tags: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True, kw_only=True)
class Runtime:
    duration_s: float | None  # None when the run is bounded by iterations or by the schedule
    vus: int | None
    iterations: int | None  # per-VU iterations; then the schedule is constant
    prng_seed: int = 42
    tick_ms: float = 1.0
    graceful_stop_s: float = 30.0


@dataclass(frozen=True, slots=True, kw_only=True)
class Target:
    base_url: str  # "scheme://host[:port][/prefix]", no trailing slash: base_url + request.path is the URL
    scheme: Literal["http", "https"]
    host: str
    port: int  # explicit or the scheme's default (80 / 443)
    tls: bool  # == (scheme == "https")
    builtin: bool = False  # z6's own server (host 127.0.0.1, port 0 until `z6 run` starts it)
    connection_timeout_ms: float = 10_000.0
    # The base_url's path less its trailing "/" ("" for none): every request path is
    # sent under it, "/api/v1" + "/items" -> "/api/v1/items".
    path_prefix: str = ""
    # TLS (https:// or builtin with tls = true); files as absolute paths, checked on load
    ca_file: str | None = None  # PEM bundle to trust instead of the system store
    client_cert: str | None = None  # PEM certificate (chain) for mutual TLS
    client_key: str | None = None  # its PEM private key (None: in client_cert's file)
    tls_min_version: str | None = None  # "1.2" or "1.3"; None: 1.2
    insecure: bool = False  # no certificate verification (warned in the summary)
    tls_resume: bool = True  # resume TLS sessions on reconnect
    max_capture_bytes: int = DEFAULT_CAPTURE_BYTES  # body kept per VU for body and JSON checks
    cookies: bool = True  # a cookie jar per VU (docs/scenario.md "Cookies")
    follow_redirects: int = DEFAULT_FOLLOW_REDIRECTS  # same-origin redirects followed per request; 0: none


@dataclass(frozen=True, slots=True, kw_only=True)
class Check:
    """One response check: its kind (`CHECK_KINDS`), what it compares, and its
    label as the summary shows it (``status in [200, 201]``)."""

    kind: str
    label: str
    statuses: tuple[int, ...] = ()  # status
    text: str = ""  # body_contains / body_not_contains: the text; header: the value
    name: str = ""  # header: the name; json: the path as written; extract_*: the path, header name or regex
    value: object = None  # json: the expected value (bool, int, float or str)
    var: str = ""  # extract_*: the variable it sets
    group: int = 0  # extract_regex: the group whose text is the value
    posix: str = ""  # extract_regex: the pattern in POSIX extended syntax (z6.scenario._regex)
    max_bytes: int = 0  # extract_*: the variable's max_bytes


@dataclass(frozen=True, slots=True, kw_only=True)
class Variable:
    """A per-VU variable that responses set (`extract`) and templates read
    (``${var.NAME}``): its most bytes and its value before any is extracted."""

    name: str
    max_bytes: int = DEFAULT_VAR_BYTES
    default: bytes | None = None  # None: a template reading it unset fails its request (var_unset)


@dataclass(frozen=True, slots=True, kw_only=True)
class Request:
    name: str
    method: str
    path: str
    headers: tuple[tuple[str, str], ...] = ()  # in file order
    body: bytes | None = None  # `body` (UTF-8) or the contents of `body_file`
    body_file: str | None = None  # absolute path when the body came from a file
    template: bool = False  # body_file's contents are a template (docs/scenario.md, "Templates")
    timeout_ms: float = 30_000.0
    weight: float = 1.0
    checks: tuple[Check, ...] = ()  # in order: status, body_contains, body_not_contains, headers, json paths
    max_capture_bytes: int | None = None  # None: the target's


@dataclass(frozen=True, slots=True, kw_only=True)
class DataSource:
    """One ``[[data]]`` table: a CSV (header row) or JSON Lines file of rows that
    templates read as ``${data.NAME.COLUMN}``. The file is read by `z6.plan`."""

    name: str
    path: str  # absolute
    format: str  # "csv" or "jsonl"
    delimiter: str  # CSV only
    pick: str  # "per_vu", "sequential", "unique", "random"


@dataclass(frozen=True, slots=True, kw_only=True)
class ConstantSchedule:
    type: Literal["constant"] = field(default="constant", init=False)
    vus: int
    duration_s: float | None  # None only when runtime.iterations bounds the run

    @property
    def total_s(self) -> float | None:
        return self.duration_s

    @property
    def max_vus(self) -> int:
        return self.vus


@dataclass(frozen=True, slots=True, kw_only=True)
class RampSchedule:
    """Linear ramp from ``start_vus`` to ``end_vus`` over ``ramp_s``, then ``end_vus`` for ``hold_s``."""

    type: Literal["ramp"] = field(default="ramp", init=False)
    start_vus: int
    end_vus: int
    ramp_s: float
    hold_s: float

    @property
    def total_s(self) -> float | None:
        return self.ramp_s + self.hold_s

    @property
    def max_vus(self) -> int:
        return max(self.start_vus, self.end_vus)


@dataclass(frozen=True, slots=True, kw_only=True)
class SpikeSchedule:
    """``baseline_vus`` throughout, ``spike_vus`` during [spike_start_s, spike_start_s + spike_duration_s)."""

    type: Literal["spike"] = field(default="spike", init=False)
    baseline_vus: int
    spike_vus: int
    spike_start_s: float
    spike_duration_s: float
    duration_s: float

    @property
    def total_s(self) -> float | None:
        return self.duration_s

    @property
    def max_vus(self) -> int:
        return max(self.baseline_vus, self.spike_vus)


@dataclass(frozen=True, slots=True, kw_only=True)
class Step:
    vus: int
    duration_s: float


@dataclass(frozen=True, slots=True, kw_only=True)
class StepsSchedule:
    type: Literal["steps"] = field(default="steps", init=False)
    steps: tuple[Step, ...]

    @property
    def total_s(self) -> float | None:
        return sum(step.duration_s for step in self.steps)

    @property
    def max_vus(self) -> int:
        return max(step.vus for step in self.steps)


@dataclass(frozen=True, slots=True, kw_only=True)
class ArrivalRateSchedule:
    """The open model: ``rate`` arrivals per second for ``duration_s``, each one
    iteration served by a free VU of a pool of ``vus`` that may grow to ``max_vus``;
    an arrival that finds the pool busy at ``max_vus`` is dropped."""

    type: Literal["arrival_rate"] = field(default="arrival_rate", init=False)
    rate: float
    duration_s: float
    arrivals: Literal["constant", "poisson"]
    vus: int
    max_vus: int

    @property
    def total_s(self) -> float | None:
        return self.duration_s


@dataclass(frozen=True, slots=True, kw_only=True)
class RateStage:
    target: float  # arrivals per second at the stage's end (linear from the previous rate)
    duration_s: float


@dataclass(frozen=True, slots=True, kw_only=True)
class RampingArrivalRateSchedule:
    """The open model with a rate that ramps linearly from ``start_rate`` through
    each stage's ``target`` (as k6's ramping-arrival-rate)."""

    type: Literal["ramping_arrival_rate"] = field(default="ramping_arrival_rate", init=False)
    start_rate: float
    stages: tuple[RateStage, ...]
    arrivals: Literal["constant", "poisson"]
    vus: int
    max_vus: int

    @property
    def total_s(self) -> float | None:
        return sum(stage.duration_s for stage in self.stages)


ARRIVAL_SCHEDULES = ("arrival_rate", "ramping_arrival_rate")

Schedule = Union[ConstantSchedule, RampSchedule, SpikeSchedule, StepsSchedule, ArrivalRateSchedule,
                 RampingArrivalRateSchedule]


@dataclass(frozen=True, slots=True, kw_only=True)
class ThinkTime:
    """Pause before each request. Fields the type does not use are 0."""

    type: Literal["constant", "uniform", "exponential"] = "constant"
    duration_ms: float = 0.0
    min_ms: float = 0.0
    max_ms: float = 0.0
    mean_ms: float = 0.0


@dataclass(frozen=True, slots=True, kw_only=True)
class SequenceStep:
    request: str
    request_index: int  # index into Scenario.requests
    repeat: int = 1


@dataclass(frozen=True, slots=True, kw_only=True)
class RequestSequence:
    """Each VU issues the steps in order (each ``repeat`` times), then starts over."""

    type: Literal["ordered"] = "ordered"
    steps: tuple[SequenceStep, ...]


@dataclass(frozen=True, slots=True, kw_only=True)
class Lifecycle:
    """Requests each VU issues once: ``on_start`` before its first iteration,
    ``on_stop`` when its schedule or its iterations end (docs/scenario.md)."""

    on_start: tuple[str, ...] = ()
    on_stop: tuple[str, ...] = ()
    on_start_index: tuple[int, ...] = ()  # indices into Scenario.requests
    on_stop_index: tuple[int, ...] = ()

    def __bool__(self) -> bool:
        return bool(self.on_start or self.on_stop)


# The name before it was `RequestSequence` (it shadowed typing.Sequence in any
# module that imported both); kept so that scripts using it keep working.
Sequence = RequestSequence


@dataclass(frozen=True, slots=True, kw_only=True)
class Assertions:
    p50_latency_ms: float | None = None
    p90_latency_ms: float | None = None
    p95_latency_ms: float | None = None
    p99_latency_ms: float | None = None
    p999_latency_ms: float | None = None
    error_rate_max: float | None = None
    success_rate_min: float | None = None
    rps_min: float | None = None
    status_5xx_max_rate: float | None = None
    checks_rate_min: float | None = None  # response checks passed over judged (docs/scenario.md "Checks")
    # The open model (top level only): dropped arrivals, response time from the intended start.
    dropped_max: int | None = None
    dropped_rate_max: float | None = None
    p99_response_time_ms: float | None = None
    # (request name, its limits) in request order; always () on the nested Assertions.
    per_request: tuple[tuple[str, Assertions], ...] = ()
    # The default verdict (`[assertions] default`): when true and the overall limits
    # set neither error_rate_max nor success_rate_min, the run is judged on an
    # implicit error_rate_max (z6.assertions.DEFAULT_ERROR_RATE_MAX). Meaningful on
    # the top-level Assertions only.
    default: bool = True


@dataclass(frozen=True, slots=True, kw_only=True)
class LatencyModel:
    """The modelled server's response time. Fields the type does not use are 0."""

    type: Literal["constant", "uniform", "lognormal", "exponential"]
    ms: float = 0.0
    min_ms: float = 0.0
    max_ms: float = 0.0
    median_ms: float = 0.0
    p99_ms: float = 0.0
    mean_ms: float = 0.0


@dataclass(frozen=True, slots=True, kw_only=True)
class Simulation:
    latency: LatencyModel
    error_rate: float = 0.0
    status_codes: tuple[tuple[int, float], ...] = ((200, 1.0),)  # sorted by code
    capacity: int | None = None  # modelled server concurrency; None = unlimited
    check_fail_rate: float = 0.0  # share of body, header and JSON checks that fail (status checks use the status)


@dataclass(frozen=True, slots=True, kw_only=True)
class Scenario:
    source: str  # the path as given, used in messages
    text: str  # the raw file text
    sha256: str  # hex SHA-256 of the raw bytes
    metadata: Metadata
    runtime: Runtime
    target: Target
    requests: tuple[Request, ...]
    schedule: Schedule
    think_time: ThinkTime
    sequence: RequestSequence | None
    assertions: Assertions
    simulation: Simulation | None
    data: tuple[DataSource, ...] = ()  # [[data]] files, in file order (read by z6.plan)
    lifecycle: Lifecycle = Lifecycle()  # [lifecycle]; empty when the scenario has none
    variables: tuple[Variable, ...] = ()  # extracted per-VU variables, in order of first extraction
    # True only on a Scenario `parse_scenario` built from ``text`` (or that z6
    # derived on purpose, `z6.start(base_url=...)`): `dataclasses.replace` makes a
    # new one with False, whose ``text`` may no longer describe it. A run directory
    # records the text, so such a scenario cannot write one (z6.run).
    from_text: bool = field(default=False, init=False, compare=False, repr=False)

    @property
    def simulated(self) -> bool:
        """A ``[simulation]`` section makes the run simulated."""
        return self.simulation is not None

    def request_index(self, name: str) -> int:
        """Index of the request called ``name``; raises KeyError if there is none."""
        for index, request in enumerate(self.requests):
            if request.name == name:
                return index
        raise KeyError(name)
