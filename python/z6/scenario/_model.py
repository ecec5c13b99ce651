"""pydantic models of the raw TOML: which keys exist, their types and ranges.

One model per TOML table. They check what can be checked inside a single
table: key names (``extra="forbid"``), types (``strict=True``: no "5" -> 5,
no 1.0 -> 1, and a boolean is never a number), ranges, and rules between keys
of the same table (``body`` vs ``body_file``). Rules that need another table
(a schedule's default VUs come from ``[runtime]``; a sequence names requests)
live in ``_resolve``.

Tables whose keys depend on their ``type`` (``schedule``, ``think_time``,
``simulation.latency``) have one model per type; ``_resolve`` picks the model
from ``type`` itself rather than through a pydantic union, so an error's key
path never contains a union tag and the "did you mean" hint is drawn from the
keys of the right type.

Defaults here are only the ones that need no other table; every other default
is filled in by ``_resolve``.
"""

from __future__ import annotations

import re
import unicodedata
from typing import Annotated, Any, ClassVar, Literal, Optional
from urllib.parse import urlsplit

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    ModelWrapValidatorHandler,
    ValidationError,
    field_validator,
    model_validator,
)

import z6core

from z6.scenario._json_path import encode_expected, parse_json_path
from z6.scenario._regex import to_posix
from z6.scenario._messages import Problem, Violations, problems_from_validation_error, render_number, render_value
from z6.scenario._types import (
    MAX_DATA_FILES,
    MAX_ARRIVAL_RATE,
    MAX_REQUESTS,
    MAX_LIFECYCLE_REQUESTS,
    MAX_CHECKS,
    MAX_CAPTURE_BYTES,
    DEFAULT_CAPTURE_BYTES,
    DEFAULT_FOLLOW_REDIRECTS,
    MAX_FOLLOW_REDIRECTS,
    DEFAULT_VAR_BYTES,
    MAX_VAR_BYTES,
    MAX_REGEX_GROUP,
    MAX_SCHEDULE_STEPS,
    MAX_SEQUENCE_STEPS,
    MAX_VUS,
    MIN_POSITIVE_WEIGHT,
)

__all__ = [
    "DocumentModel",
    "MetadataModel",
    "RuntimeModel",
    "TargetModel",
    "RequestModel",
    "DataModel",
    "ConstantScheduleModel",
    "RampScheduleModel",
    "SpikeScheduleModel",
    "StepModel",
    "StepsScheduleModel",
    "ArrivalRateScheduleModel",
    "RateStageModel",
    "RampingArrivalRateScheduleModel",
    "SCHEDULE_MODELS",
    "ConstantThinkModel",
    "UniformThinkModel",
    "ExponentialThinkModel",
    "THINK_TIME_MODELS",
    "SequenceStepModel",
    "SequenceModel",
    "LifecycleModel",
    "ChecksModel",
    "AssertionLimitsModel",
    "AssertionsModel",
    "SimulationModel",
    "ConstantLatencyModel",
    "UniformLatencyModel",
    "LognormalLatencyModel",
    "ExponentialLatencyModel",
    "LATENCY_MODELS",
    "HTTP_METHODS",
]

HTTP_METHODS = ("GET", "POST", "PUT", "DELETE", "PATCH", "HEAD", "OPTIONS")
MAX_TIMEOUT_MS = 3_600_000
MAX_WEIGHT = 1e9

# Number types. TOML integers are accepted wherever a number is (strict mode
# still lets int into float), booleans never are; NaN and inf are rejected.
PositiveNumber = Annotated[float, Field(gt=0, allow_inf_nan=False)]
NonNegativeNumber = Annotated[float, Field(ge=0, allow_inf_nan=False)]
# The least typical latency a modelled server may have, in ms (1 us). Below it a
# VU without think time would make a billion requests a simulated second (a
# latency of 1e-7 ms rounds to 0 ns, counted as 1 ns): hours for a second.
MIN_LATENCY_MS = 0.001
LatencyMs = Annotated[float, Field(ge=MIN_LATENCY_MS, allow_inf_nan=False)]
Fraction = Annotated[float, Field(ge=0, le=1, allow_inf_nan=False)]
VuCount = Annotated[int, Field(ge=0, le=MAX_VUS)]
PositiveVuCount = Annotated[int, Field(ge=1, le=MAX_VUS)]


class _Table(BaseModel):
    """A TOML table: unknown keys are errors, types are not coerced, values are frozen.

    ``_exclusive`` lists pairs of keys that must not both be given. Those rules
    need only the keys' presence, so they are checked on the raw table around
    pydantic's validation and reported together with its errors (an "after"
    validator would be skipped whenever any field of the table is invalid).
    """

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)
    _exclusive: ClassVar[tuple[tuple[str, str, str], ...]] = ()  # (first, second, why)

    @model_validator(mode="wrap")
    @classmethod
    def _check_exclusive(cls, data: Any, handler: ModelWrapValidatorHandler[Any]) -> Any:
        clashes: list[Problem] = []
        if isinstance(data, dict):
            for first, second, why in cls._exclusive:
                if first in data and second in data:
                    clashes.append(
                        (
                            (second,),
                            f"must not be set together with {first} ({why}), got {first} = "
                            f"{render_value(data[first])} and {second} = {render_value(data[second])}",
                        )
                    )
        if not clashes:
            return handler(data)
        try:
            handler(data)
        except ValidationError as exc:
            raise Violations(clashes + problems_from_validation_error(exc, cls)) from None
        raise Violations(clashes)


def _raise_if(problems: list[Problem]) -> None:
    if problems:
        raise Violations(problems)


# --- document ---------------------------------------------------------------


class DocumentModel(_Table):
    """The top level: only which sections exist and that each is a table.

    Sections are validated one by one afterwards so that an error in one does
    not hide the errors in the others.
    """

    metadata: Optional[dict[str, Any]] = None
    runtime: Optional[dict[str, Any]] = None
    target: dict[str, Any]
    requests: Annotated[list[dict[str, Any]], Field(min_length=1, max_length=MAX_REQUESTS)]
    schedule: Optional[dict[str, Any]] = None
    think_time: Optional[dict[str, Any]] = None
    sequence: Optional[dict[str, Any]] = None
    lifecycle: Optional[dict[str, Any]] = None
    assertions: Optional[dict[str, Any]] = None
    simulation: Optional[dict[str, Any]] = None
    data: Optional[Annotated[list[dict[str, Any]], Field(max_length=MAX_DATA_FILES)]] = None


# --- [metadata] -------------------------------------------------------------


class MetadataModel(_Table):
    name: Optional[str] = None
    description: str = ""
    version: str = ""
    author: str = ""
    tags: list[str] = Field(default_factory=list)


# --- [runtime] --------------------------------------------------------------


class RuntimeModel(_Table):
    duration_seconds: Optional[PositiveNumber] = None
    duration_ms: Optional[PositiveNumber] = None
    vus: Optional[PositiveVuCount] = None
    iterations: Optional[Annotated[int, Field(ge=1)]] = None
    prng_seed: Annotated[int, Field(ge=0, le=2**64 - 1)] = 42
    tick_ms: Annotated[float, Field(ge=0.001, le=1000, allow_inf_nan=False)] = 1.0
    graceful_stop_seconds: NonNegativeNumber = 30.0

    _exclusive = (("duration_seconds", "duration_ms", "give one"),)

    @property
    def duration_s(self) -> float | None:
        if self.duration_seconds is not None:
            return self.duration_seconds
        if self.duration_ms is not None:
            return self.duration_ms / 1000.0
        return None


# --- [target] ---------------------------------------------------------------

_HTTP2_SPELLINGS = frozenset({"http2", "2", "2.0", "h2", "h2c", "http/2", "http/2.0"})


def _check_base_url(url: str) -> str:
    shown = render_value(url)
    if any(ch.isspace() or ord(ch) < 0x20 or ord(ch) == 0x7F for ch in url):
        raise ValueError(f"must not contain whitespace or control characters, got {shown}")
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https"):
        raise ValueError(f'must be an absolute URL starting with "http://" or "https://", got {shown}')
    if not parts.hostname:
        raise ValueError(f"must name a host, got {shown}")
    if not url.isascii():  # resolved and sent in the Host header as ASCII
        raise ValueError(f"must be ASCII (write an internationalised host name in its xn-- form), got {shown}")
    if parts.username is not None or parts.password is not None:
        raise ValueError(f"must not contain credentials (use an Authorization header), got {shown}")
    try:
        port = parts.port
    except ValueError:
        raise ValueError(f"must have a port between 1 and 65535, got {shown}") from None
    if port == 0:
        raise ValueError(f"must have a port between 1 and 65535, got {shown}")
    # A path is a prefix for every request path (docs/scenario.md: the prefix, less a
    # trailing "/", then the request path). It goes on the wire as it is written.
    if not parts.path.isascii():
        raise ValueError(f"must be ASCII in its path (percent-encode other characters), got {shown}")
    if parts.query or url.rstrip("/").endswith("?"):
        raise ValueError(f"must not have a query string (put it in the request paths), got {shown}")
    if parts.fragment or "#" in url:
        raise ValueError(f"must not have a fragment, got {shown}")
    return url


def _check_http_version(version: str) -> str:
    if version in ("http1.1", "1.1"):
        return version
    if version.lower() in _HTTP2_SPELLINGS:
        raise ValueError(f'http2 is not supported; use "http1.1", got {render_value(version)}')
    raise ValueError(f'must be "http1.1" or "1.1", got {render_value(version)}')


def _check_tls_version(version: str) -> str:
    if version in ("1.2", "1.3"):
        return version
    raise ValueError(f'must be "1.2" or "1.3", got {render_value(version)}')


NonEmptyPath = Annotated[str, Field(min_length=1)]

# Keys that only mean something for a TLS target (https://, or builtin with tls = true).
_TLS_KEYS = ("ca_file", "client_cert", "client_key", "tls_min_version", "insecure", "tls_resume")


class TargetModel(_Table):
    base_url: Optional[Annotated[str, AfterValidator(_check_base_url)]] = None
    # z6's own loopback server (`z6 serve`), started and stopped by `z6 run`.
    builtin: bool = False
    # https:// (must agree with base_url's scheme); with builtin = true, the
    # built-in target serves HTTPS with a certificate made for the run.
    tls: Optional[bool] = None
    http_version: Optional[Annotated[str, AfterValidator(_check_http_version)]] = None
    connection_timeout_ms: Annotated[float, Field(gt=0, le=MAX_TIMEOUT_MS, allow_inf_nan=False)] = 10_000.0
    # TLS (docs/live.md "TLS"); the files are checked by _resolve.
    ca_file: Optional[NonEmptyPath] = None
    client_cert: Optional[NonEmptyPath] = None
    client_key: Optional[NonEmptyPath] = None
    tls_min_version: Optional[Annotated[str, AfterValidator(_check_tls_version)]] = None
    insecure: bool = False
    tls_resume: bool = True
    max_capture_bytes: Annotated[int, Field(ge=1, le=MAX_CAPTURE_BYTES)] = DEFAULT_CAPTURE_BYTES
    cookies: bool = True
    # Redirects followed per request (docs/scenario.md "Redirects"); 0: none.
    follow_redirects: Annotated[int, Field(ge=0, le=MAX_FOLLOW_REDIRECTS)] = DEFAULT_FOLLOW_REDIRECTS

    @model_validator(mode="after")
    def _one_target(self) -> TargetModel:
        if self.builtin and self.base_url is not None:
            raise Violations([(("base_url",), "must be absent when builtin = true (z6 picks the built-in "
                                              f"target's address), got {render_value(self.base_url)}")])
        if not self.builtin and self.base_url is None:
            raise Violations([(("base_url",), 'is required (or set builtin = true to use z6\'s built-in target)')])
        return self

    @model_validator(mode="after")
    def _tls_matches_scheme(self) -> TargetModel:
        if self.base_url is not None:
            scheme = urlsplit(self.base_url).scheme
            if self.tls is not None and self.tls != (scheme == "https"):
                raise Violations(
                    [(("tls",), f"must agree with the scheme of base_url ({scheme}://), got {render_value(self.tls)}")]
                )
        return self

    @property
    def uses_tls(self) -> bool:
        if self.base_url is None:
            return bool(self.tls)
        return urlsplit(self.base_url).scheme == "https"

    @model_validator(mode="after")
    def _tls_keys_need_tls(self) -> TargetModel:
        problems: list[Problem] = []
        if not self.uses_tls:
            what = "builtin = true without tls = true" if self.base_url is None else "an http:// base_url"
            for key in _TLS_KEYS:
                if key in self.model_fields_set:
                    problems.append(((key,), f"applies to TLS targets only (https://), not to {what}, got "
                                             f"{render_value(getattr(self, key))}"))
        elif self.builtin:
            for key in ("ca_file", "client_cert", "client_key"):
                if getattr(self, key) is not None:
                    problems.append(((key,), "must be absent with builtin = true (z6 makes and trusts the built-in "
                                             f"target's certificate itself), got {render_value(getattr(self, key))}"))
        if self.insecure and self.ca_file is not None:
            problems.append((("ca_file",), "must not be set together with insecure = true (which trusts any "
                                           f"certificate), got {render_value(self.ca_file)}"))
        if self.client_key is not None and self.client_cert is None:
            problems.append((("client_key",), "needs client_cert (the certificate the key belongs to)"))
        _raise_if(problems)
        return self


# --- [[requests]] -----------------------------------------------------------

# RFC 9110 token characters: what a header name may consist of.
_TOKEN = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")
# Control characters a header value may not hold (tab is allowed; CR, LF and NUL
# have their own message).
_CONTROL = re.compile(r"[\x01-\x08\x0b\x0c\x0e-\x1f\x7f]")
# Headers z6 writes itself from the request definition; a user value could
# contradict the body it frames.
_RESERVED_HEADERS = frozenset({"content-length", "transfer-encoding"})


def _check_path(path: str) -> str:
    if not path.startswith("/"):
        raise ValueError(f'must start with "/", got {render_value(path)}')
    if any(ch.isspace() or ord(ch) < 0x20 or ord(ch) == 0x7F for ch in path):
        raise ValueError(f"must not contain whitespace or control characters, got {render_value(path)}")
    if not path.isascii():  # the request line is sent as ASCII
        raise ValueError(f"must be ASCII (percent-encode other characters), got {render_value(path)}")
    return path


def _is_latin1(text: str) -> bool:
    return all(ord(ch) < 0x100 for ch in text)


def _check_weight(weight: float) -> float:
    if 0 < weight < MIN_POSITIVE_WEIGHT:
        raise ValueError(
            "must be 0 or >= 0.0000005 (weights are exact to six decimal places; "
            f"this one would round to 0), got {render_value(weight)}"
        )
    return weight


# A weight as requests and status codes take it: finite, bounded (the integer
# weights' sum must fit 63 bits), and never one that rounds to 0.
Weight = Annotated[float, Field(ge=0, le=MAX_WEIGHT, allow_inf_nan=False), AfterValidator(_check_weight)]


def _check_name(name: str) -> str:
    # A request name is printed in the summary, analyses and messages: a control
    # character (Unicode category Cc: C0 such as CR, LF, ESC; DEL; C1 such as CSI)
    # could forge lines or rewrite the terminal. Other unprintable characters (line
    # separators, bidi overrides) are allowed and escaped wherever a name is printed.
    if any(unicodedata.category(ch) == "Cc" for ch in name):
        raise ValueError(f"must not contain control characters, got {render_value(name)}")
    return name


class ChecksModel(_Table):
    """A request's response checks (docs/scenario.md "Checks")."""

    status: Optional[Annotated[list[Annotated[int, Field(ge=100, le=599)]], Field(min_length=1, max_length=64)]] = None
    body_contains: Optional[Annotated[str, Field(min_length=1, max_length=4096)]] = None
    body_not_contains: Optional[Annotated[str, Field(min_length=1, max_length=4096)]] = None
    header: dict[str, Annotated[str, Field(max_length=4096)]] = Field(default_factory=dict)
    # "json" would shadow a BaseModel method: the field is json_, the key "json".
    json_: dict[str, Any] = Field(default_factory=dict, alias="json")

    @field_validator("header")
    @classmethod
    def _check_header_names(cls, headers: dict[str, str]) -> dict[str, str]:
        problems: list[Problem] = []
        seen: dict[str, str] = {}
        for name, value in headers.items():
            if not _TOKEN.fullmatch(name):
                problems.append(((name,), f"header name must be an HTTP token, got {render_value(name)}"))
            elif name.lower() in seen:
                problems.append(((name,), f"names the same header as {render_value(seen[name.lower()])} "
                                          "(header names are case-insensitive)"))
            else:
                seen[name.lower()] = name
            if any(ch in value for ch in "\r\n\0") or not _is_latin1(value):
                problems.append(((name,), f"must be a header value (Latin-1, no CR, LF or NUL), got {render_value(value)}"))
        _raise_if(problems)
        return headers

    @field_validator("json_")
    @classmethod
    def _check_json(cls, paths: dict[str, Any]) -> dict[str, Any]:
        problems: list[Problem] = []
        for path, value in paths.items():
            try:
                parse_json_path(path)
            except ValueError as exc:
                problems.append(((path,), f"path {render_value(path)}: {exc}"))
                continue
            try:
                encode_expected(value)
            except ValueError as exc:
                problems.append(((path,), str(exc)))
        _raise_if(problems)
        return paths

    @model_validator(mode="after")
    def _bounded(self) -> ChecksModel:
        count = ((self.status is not None) + (self.body_contains is not None) + (self.body_not_contains is not None)
                 + len(self.header) + len(self.json_))
        if count == 0:
            raise Violations([((), "must hold at least one check (status, body_contains, body_not_contains, header, "
                                   "json)")])
        if count > MAX_CHECKS:
            raise Violations([((), f"at most {MAX_CHECKS} checks per request, got {count}")])
        return self


_VAR_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def _regex_groups(pattern: str) -> int:
    # The pattern as the C library compiles it: its group count, or a ValueError
    # naming what is wrong (a column of the pattern as written, or the library's word).
    posix = to_posix(pattern)
    try:
        return z6core.posix_regex_groups(posix)
    except ValueError as exc:
        raise ValueError(f"does not compile as a POSIX extended regex: {exc}") from None


class ExtractModel(_Table):
    """One extracted variable (docs/scenario.md "Extraction"): where its value is
    found in the response, and the variable's bounds."""

    json_: Optional[Annotated[str, Field(min_length=1)]] = Field(default=None, alias="json")
    header: Optional[str] = None
    regex: Optional[Annotated[str, Field(min_length=1, max_length=4096)]] = None
    group: Optional[Annotated[int, Field(ge=0, le=MAX_REGEX_GROUP)]] = None
    max_bytes: Annotated[int, Field(ge=1, le=MAX_VAR_BYTES)] = DEFAULT_VAR_BYTES
    default: Optional[str] = None

    @field_validator("json_")
    @classmethod
    def _check_json_path(cls, path: Optional[str]) -> Optional[str]:
        if path is not None:
            parse_json_path(path)
        return path

    @field_validator("header")
    @classmethod
    def _check_header_name(cls, name: Optional[str]) -> Optional[str]:
        if name is not None and not _TOKEN.fullmatch(name):
            raise ValueError(f"must be a header name (an HTTP token), got {render_value(name)}")
        return name

    @field_validator("regex")
    @classmethod
    def _check_regex(cls, pattern: Optional[str]) -> Optional[str]:
        if pattern is not None:
            _regex_groups(pattern)
        return pattern

    @model_validator(mode="after")
    def _one_source(self) -> ExtractModel:
        given = [key for key, value in (("json", self.json_), ("header", self.header), ("regex", self.regex))
                 if value is not None]
        if len(given) != 1:
            raise Violations([((), "needs exactly one of json, header or regex (where the value is found), got "
                                   + (", ".join(given) if given else "none"))])
        if self.group is not None and self.regex is None:
            raise Violations([(("group",), "applies to a regex extraction only")])
        groups = _regex_groups(self.regex) if self.regex is not None else 0
        if self.group is not None and self.group > groups:
            raise Violations([(("group",), f"the regex has {groups} group(s), so group {self.group} does not exist")])
        if self.default is not None and len(self.default.encode("utf-8")) > self.max_bytes:
            raise Violations([(("default",), f"is longer than max_bytes ({self.max_bytes} bytes)")])
        return self

    @property
    def regex_group(self) -> int:
        """The group whose text is the value: as given, else 1 when the regex has a group, else 0."""
        if self.group is not None:
            return self.group
        return 1 if self.regex is not None and _regex_groups(self.regex) >= 1 else 0


class RequestModel(_Table):
    name: Annotated[str, Field(min_length=1), AfterValidator(_check_name)]
    method: Literal["GET", "POST", "PUT", "DELETE", "PATCH", "HEAD", "OPTIONS"]
    path: Annotated[str, AfterValidator(_check_path)]
    headers: dict[str, str] = Field(default_factory=dict)
    body: Optional[str] = None
    body_file: Optional[Annotated[str, Field(min_length=1)]] = None
    timeout_ms: Annotated[float, Field(gt=0, le=MAX_TIMEOUT_MS, allow_inf_nan=False)] = 30_000.0
    weight: Weight = 1.0
    # body_file's contents are a template only when asked (a file may hold "${" as data)
    template: bool = False
    checks: Optional[ChecksModel] = None
    extract: dict[str, ExtractModel] = Field(default_factory=dict)
    max_capture_bytes: Optional[Annotated[int, Field(ge=1, le=MAX_CAPTURE_BYTES)]] = None

    _exclusive = (("body", "body_file", "they are mutually exclusive"),)

    @field_validator("extract")
    @classmethod
    def _check_variable_names(cls, extract: dict[str, ExtractModel]) -> dict[str, ExtractModel]:
        bad = [((name,), f"a variable name is letters, digits and _ (not starting with a digit), got "
                         f"{render_value(name)}") for name in extract if not _VAR_NAME.fullmatch(name)]
        _raise_if(bad)
        return extract

    @model_validator(mode="after")
    def _checks_and_extractions_bounded(self) -> RequestModel:
        checks = self.checks
        count = len(self.extract) + (0 if checks is None else (
            (checks.status is not None) + (checks.body_contains is not None) + (checks.body_not_contains is not None)
            + len(checks.header) + len(checks.json_)))
        if count > MAX_CHECKS:
            raise Violations([(("extract",), f"checks and extractions together: at most {MAX_CHECKS} a request, "
                                             f"got {count}")])
        if self.method == "HEAD":
            body_based = [name for name, e in self.extract.items() if e.header is None]
            if body_based:
                raise Violations([(("extract", body_based[0]), "a HEAD response has no body to extract from")])
        return self

    @model_validator(mode="after")
    def _head_has_no_body_to_check(self) -> RequestModel:
        checks = self.checks
        if self.method == "HEAD" and checks is not None and (
                checks.body_contains is not None or checks.body_not_contains is not None or checks.json_):
            raise Violations([(("checks",), "a HEAD response has no body: body_contains, body_not_contains "
                                            "and json checks cannot pass")])
        return self

    @model_validator(mode="after")
    def _template_needs_body_file(self) -> RequestModel:
        if "template" in self.model_fields_set and self.body_file is None:
            raise Violations([(("template",), "applies to body_file only (path, headers and body are always "
                                              f"templates), got {render_value(self.template)} without body_file")])
        return self

    @field_validator("headers")
    @classmethod
    def _check_headers(cls, headers: dict[str, str]) -> dict[str, str]:
        problems: list[Problem] = []
        seen: dict[str, str] = {}
        for name, value in headers.items():
            if not _TOKEN.fullmatch(name):
                problems.append(((name,), f"header name must be an HTTP token, got {render_value(name)}"))
            elif name.lower() in _RESERVED_HEADERS:
                problems.append(((name,), "is set by z6 from the body and cannot be given"))
            elif name.lower() in seen:
                # TOML keys are case-sensitive, header names are not: both would be
                # sent, and two Host lines make a server answer 400 (RFC 9112 3.2).
                problems.append(((name,), f"names the same header as {render_value(seen[name.lower()])} "
                                          "(header names are case-insensitive)"))
            else:
                seen[name.lower()] = name
            if any(ch in value for ch in "\r\n\0"):
                problems.append(((name,), f"header value must not contain CR, LF or NUL, got {render_value(value)}"))
            elif _CONTROL.search(value):
                problems.append(((name,), "header value must not contain control characters other than tab "
                                          f"(RFC 9110 5.5), got {render_value(value)}"))
            elif not _is_latin1(value):  # header values are sent as Latin-1 bytes
                problems.append(((name,), "header value must be ASCII or Latin-1 (percent-encode other characters), "
                                          f"got {render_value(value)}"))
        _raise_if(problems)
        return headers


# --- [[data]] ---------------------------------------------------------------

_DATA_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def _check_data_name(name: str) -> str:
    if not _DATA_NAME.fullmatch(name):
        raise ValueError(f"must be a name of letters, digits and _ (not starting with a digit), got {render_value(name)}")
    return name


def _check_delimiter(delimiter: str) -> str:
    if len(delimiter) != 1 or delimiter in "\r\n\"" or not delimiter.isprintable() and delimiter != "\t":
        raise ValueError(f"must be one character other than a quote, CR or LF, got {render_value(delimiter)}")
    return delimiter


class DataModel(_Table):
    name: Annotated[str, AfterValidator(_check_data_name)]
    file: Annotated[str, Field(min_length=1)]
    format: Optional[Literal["csv", "jsonl"]] = None  # default: from the file's extension
    delimiter: Optional[Annotated[str, AfterValidator(_check_delimiter)]] = None
    pick: Literal["per_vu", "sequential", "unique", "random"] = "per_vu"


# --- [schedule] -------------------------------------------------------------


class ConstantScheduleModel(_Table):
    type: Literal["constant"] = "constant"
    vus: Optional[PositiveVuCount] = None


class RampScheduleModel(_Table):
    type: Literal["ramp"]
    start_vus: Optional[VuCount] = None
    end_vus: Optional[VuCount] = None
    # The original format's partial form: `type = "ramp"` with only `vus`, meaning end_vus.
    vus: Optional[VuCount] = None
    ramp_duration_seconds: Optional[PositiveNumber] = None
    hold_duration_seconds: Optional[NonNegativeNumber] = None

    _exclusive = (("end_vus", "vus", "vus is the original name of end_vus"),)


class SpikeScheduleModel(_Table):
    type: Literal["spike"]
    baseline_vus: VuCount = 0
    spike_vus: PositiveVuCount
    spike_start_seconds: NonNegativeNumber
    spike_duration_seconds: PositiveNumber

    @model_validator(mode="after")
    def _spike_above_baseline(self) -> SpikeScheduleModel:
        if self.spike_vus < self.baseline_vus:
            raise Violations(
                [(("spike_vus",), f"must be >= baseline_vus ({self.baseline_vus}), got {self.spike_vus}")]
            )
        return self


class StepModel(_Table):
    vus: VuCount
    duration_seconds: PositiveNumber


class StepsScheduleModel(_Table):
    type: Literal["steps"]
    steps: Annotated[list[StepModel], Field(min_length=1, max_length=MAX_SCHEDULE_STEPS)]

    @model_validator(mode="after")
    def _someone_runs(self) -> StepsScheduleModel:
        if all(step.vus == 0 for step in self.steps):
            raise Violations([(("steps",), "at least one step must have vus >= 1, got 0 in every step")])
        return self


# The open model: arrivals at a rate the target does not control, served by a
# pool of `vus` VUs that may grow to `max_vus` (docs/scenario.md, "Arrival rates").
ArrivalRate = Annotated[float, Field(gt=0, le=MAX_ARRIVAL_RATE, allow_inf_nan=False)]
StageRate = Annotated[float, Field(ge=0, le=MAX_ARRIVAL_RATE, allow_inf_nan=False)]


class _ArrivalPoolModel(_Table):
    arrivals: Literal["constant", "poisson"] = "constant"
    vus: Optional[PositiveVuCount] = None
    max_vus: Optional[PositiveVuCount] = None

    @model_validator(mode="after")
    def _pool_fits(self) -> _ArrivalPoolModel:
        if self.vus is not None and self.max_vus is not None and self.max_vus < self.vus:
            raise Violations([(("max_vus",), f"must be >= vus ({self.vus}), got {self.max_vus}")])
        return self


class ArrivalRateScheduleModel(_ArrivalPoolModel):
    type: Literal["arrival_rate"]
    rate: ArrivalRate
    duration_seconds: Optional[PositiveNumber] = None


class RateStageModel(_Table):
    target: StageRate
    duration_seconds: PositiveNumber


class RampingArrivalRateScheduleModel(_ArrivalPoolModel):
    type: Literal["ramping_arrival_rate"]
    start_rate: StageRate = 0.0
    stages: Annotated[list[RateStageModel], Field(min_length=1, max_length=MAX_SCHEDULE_STEPS)]

    @model_validator(mode="after")
    def _someone_arrives(self) -> RampingArrivalRateScheduleModel:
        if self.start_rate == 0 and all(stage.target == 0 for stage in self.stages):
            raise Violations([(("stages",), "at least one stage must have target > 0 (or start_rate > 0), "
                                            "got 0 everywhere")])
        return self


SCHEDULE_MODELS: dict[str, type[_Table]] = {
    "constant": ConstantScheduleModel,
    "ramp": RampScheduleModel,
    "spike": SpikeScheduleModel,
    "steps": StepsScheduleModel,
    "arrival_rate": ArrivalRateScheduleModel,
    "ramping_arrival_rate": RampingArrivalRateScheduleModel,
}


# --- [think_time] -----------------------------------------------------------


class ConstantThinkModel(_Table):
    type: Literal["constant"] = "constant"
    duration_ms: NonNegativeNumber


class UniformThinkModel(_Table):
    type: Literal["uniform", "random"]  # "random" is the original format's name
    min_ms: NonNegativeNumber
    max_ms: NonNegativeNumber

    @model_validator(mode="after")
    def _ordered(self) -> UniformThinkModel:
        if self.max_ms < self.min_ms:
            raise Violations(
                [(("max_ms",), f"must be >= min_ms ({render_number(self.min_ms)}), got {render_number(self.max_ms)}")]
            )
        return self


class ExponentialThinkModel(_Table):
    type: Literal["exponential"]
    mean_ms: PositiveNumber


THINK_TIME_MODELS: dict[str, type[_Table]] = {
    "constant": ConstantThinkModel,
    "uniform": UniformThinkModel,
    "random": UniformThinkModel,
    "exponential": ExponentialThinkModel,
}


# --- [sequence] -------------------------------------------------------------


class SequenceStepModel(_Table):
    request: Annotated[str, Field(min_length=1)]
    repeat: Annotated[int, Field(ge=1, le=2**32 - 1)] = 1


class SequenceModel(_Table):
    type: Literal["ordered"] = "ordered"
    steps: Annotated[list[SequenceStepModel], Field(min_length=1, max_length=MAX_SEQUENCE_STEPS)]


# --- [lifecycle] ------------------------------------------------------------


class LifecycleModel(_Table):
    on_start: Annotated[list[Annotated[str, Field(min_length=1)]], Field(max_length=MAX_LIFECYCLE_REQUESTS)] = []
    on_stop: Annotated[list[Annotated[str, Field(min_length=1)]], Field(max_length=MAX_LIFECYCLE_REQUESTS)] = []


# --- [assertions] -----------------------------------------------------------


class AssertionLimitsModel(_Table):
    p50_latency_ms: Optional[PositiveNumber] = None
    p90_latency_ms: Optional[PositiveNumber] = None
    p95_latency_ms: Optional[PositiveNumber] = None
    p99_latency_ms: Optional[PositiveNumber] = None
    p999_latency_ms: Optional[PositiveNumber] = None
    error_rate_max: Optional[Fraction] = None
    success_rate_min: Optional[Fraction] = None
    status_5xx_max_rate: Optional[Fraction] = None
    rps_min: Optional[NonNegativeNumber] = None
    checks_rate_min: Optional[Fraction] = None


class AssertionsModel(AssertionLimitsModel):
    requests: dict[str, AssertionLimitsModel] = Field(default_factory=dict)
    # The open model, for the run as a whole (a dropped arrival never picked a
    # request; response time is judged overall).
    dropped_max: Optional[Annotated[int, Field(ge=0)]] = None
    dropped_rate_max: Optional[Fraction] = None
    p99_response_time_ms: Optional[PositiveNumber] = None
    # false turns off the default verdict (z6.assertions.DEFAULT_ERROR_RATE_MAX).
    default: bool = True


# --- [simulation] -----------------------------------------------------------

_STATUS_KEY = re.compile(r"[1-5][0-9][0-9]")


class SimulationModel(_Table):
    # Validated by _resolve with the model its `type` selects.
    latency: dict[str, Any]
    error_rate: Fraction = 0.0
    status_codes: dict[str, Weight] = Field(default_factory=lambda: {"200": 1.0})
    capacity: Optional[PositiveVuCount] = None
    check_fail_rate: Fraction = 0.0

    @field_validator("status_codes")
    @classmethod
    def _check_status_codes(cls, codes: dict[str, float]) -> dict[str, float]:
        problems: list[Problem] = []
        for key in codes:
            if not _STATUS_KEY.fullmatch(key):
                problems.append(((key,), f'must be a status code "100" to "599", got {render_value(key)}'))
        total = sum(codes.values())
        if not problems and not total > 0:
            problems.append(((), f"the sum of the weights must be > 0, got {render_value(total)}"))
        _raise_if(problems)
        return codes


class ConstantLatencyModel(_Table):
    type: Literal["constant"]
    ms: LatencyMs


class UniformLatencyModel(_Table):
    type: Literal["uniform"]
    min_ms: NonNegativeNumber
    max_ms: LatencyMs

    @model_validator(mode="after")
    def _ordered(self) -> UniformLatencyModel:
        if not self.max_ms > self.min_ms:
            raise Violations(
                [(("max_ms",), f"must be > min_ms ({render_number(self.min_ms)}), got {render_number(self.max_ms)}")]
            )
        return self


class LognormalLatencyModel(_Table):
    type: Literal["lognormal"]
    median_ms: LatencyMs
    p99_ms: PositiveNumber

    @model_validator(mode="after")
    def _ordered(self) -> LognormalLatencyModel:
        if not self.p99_ms > self.median_ms:
            raise Violations(
                [(("p99_ms",), f"must be > median_ms ({render_number(self.median_ms)}), got {render_number(self.p99_ms)}")]
            )
        return self


class ExponentialLatencyModel(_Table):
    type: Literal["exponential"]
    mean_ms: LatencyMs


LATENCY_MODELS: dict[str, type[_Table]] = {
    "constant": ConstantLatencyModel,
    "uniform": UniformLatencyModel,
    "lognormal": LognormalLatencyModel,
    "exponential": ExponentialLatencyModel,
}
