"""Tests of z6.scenario: the TOML format, every validation rule, defaults, examples.

Each invalid case checks the whole shape of the message: the file name, the
key path, the rule and (where there is one) the bad value.
"""

from __future__ import annotations

import dataclasses
import hashlib
import os
from pathlib import Path

import pytest

import z6.scenario as scenario_pkg
from z6.errors import ConfigError, ScenarioError
from z6.scenario import (
    MAX_BODY_BYTES,
    MAX_REQUESTS,
    MAX_VUS,
    ConstantSchedule,
    RampSchedule,
    Scenario,
    SpikeSchedule,
    StepsSchedule,
    load_scenario,
    parse_scenario,
)

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"

RUNTIME = "[runtime]\nduration_seconds = 10\nvus = 5\n"
TARGET = '[target]\nbase_url = "http://127.0.0.1:8080"\n'
REQUEST = '[[requests]]\nname = "home"\nmethod = "GET"\npath = "/"\n'
SIMULATION = '[simulation]\nlatency = { type = "constant", ms = 5 }\n'


def doc(*, runtime: str = RUNTIME, target: str = TARGET, requests: str = REQUEST, extra: str = "") -> str:
    return "\n".join([runtime, target, requests, extra])


def request(name: str = "r", **keys: str) -> str:
    lines = ["[[requests]]", f'name = "{name}"', 'method = "GET"', 'path = "/"']
    lines += [f"{key} = {value}" for key, value in keys.items()]
    return "\n".join(lines) + "\n"


def problems_of(text: str, source: str = "scenario.toml", **kwargs: object) -> list[str]:
    with pytest.raises(ScenarioError) as info:
        parse_scenario(text, source=source, **kwargs)  # type: ignore[arg-type]
    return info.value.problems


def only_problem(text: str, **kwargs: object) -> str:
    problems = problems_of(text, **kwargs)
    assert len(problems) == 1, problems
    return problems[0]


def assert_problem(message: str, path: str, *fragments: str) -> None:
    assert message.startswith(f"scenario.toml: {path}: "), message
    for fragment in fragments:
        assert fragment in message, (fragment, message)


# --- the happy path and defaults ----------------------------------------------------


def test_minimal_scenario_resolves_every_default() -> None:
    sc = parse_scenario(doc())
    assert isinstance(sc, Scenario)
    assert sc.source == "<string>"
    assert sc.metadata.name == "scenario"
    assert sc.metadata.tags == ()
    assert sc.runtime.duration_s == 10.0
    assert sc.runtime.vus == 5
    assert sc.runtime.iterations is None
    assert sc.runtime.prng_seed == 42
    assert sc.runtime.tick_ms == 1.0
    assert sc.runtime.graceful_stop_s == 30.0
    assert sc.target.base_url == "http://127.0.0.1:8080"
    assert (sc.target.scheme, sc.target.host, sc.target.port, sc.target.tls) == ("http", "127.0.0.1", 8080, False)
    assert sc.target.connection_timeout_ms == 10_000.0
    (req,) = sc.requests
    assert (req.name, req.method, req.path, req.headers) == ("home", "GET", "/", ())
    assert req.body is None and req.body_file is None
    assert req.timeout_ms == 30_000.0 and req.weight == 1.0
    assert sc.schedule == ConstantSchedule(vus=5, duration_s=10.0)
    assert sc.schedule.type == "constant"
    assert sc.schedule.total_s == 10.0 and sc.schedule.max_vus == 5
    assert sc.think_time.type == "constant" and sc.think_time.duration_ms == 0.0
    assert sc.sequence is None
    assert sc.assertions.p99_latency_ms is None and sc.assertions.per_request == ()
    assert sc.simulation is None and not sc.simulated


def test_values_are_frozen() -> None:
    sc = parse_scenario(doc())
    with pytest.raises(dataclasses.FrozenInstanceError):
        sc.runtime.vus = 3  # type: ignore[misc]
    assert isinstance(sc.requests, tuple)
    hash(sc)


def test_sha256_and_text() -> None:
    text = doc()
    sc = parse_scenario(text)
    assert sc.text == text
    assert sc.sha256 == hashlib.sha256(text.encode("utf-8")).hexdigest()


def test_load_scenario_names_and_hashes_the_file(tmp_path: Path) -> None:
    path = tmp_path / "checkout.toml"
    path.write_bytes(doc().encode("utf-8"))
    sc = load_scenario(path)
    assert sc.source == str(path)
    assert sc.metadata.name == "checkout"
    assert sc.sha256 == hashlib.sha256(path.read_bytes()).hexdigest()
    assert load_scenario(str(path)) == sc


def test_metadata_and_full_request() -> None:
    text = doc(
        runtime=RUNTIME + "prng_seed = 18446744073709551615\ntick_ms = 0.5\ngraceful_stop_seconds = 0\n",
        requests=(
            '[[requests]]\nname = "create"\nmethod = "POST"\npath = "/items?x=1"\n'
            'headers = { Content-Type = "application/json", X-Trace = "1" }\n'
            'body = "{}"\ntimeout_ms = 500\nweight = 2.5\n'
        ),
        extra='[metadata]\nname = "n"\ndescription = "d"\nversion = "1"\nauthor = "a"\ntags = ["x", "y"]\n',
    )
    sc = parse_scenario(text)
    assert (sc.metadata.name, sc.metadata.description, sc.metadata.version, sc.metadata.author) == ("n", "d", "1", "a")
    assert sc.metadata.tags == ("x", "y")
    assert sc.runtime.prng_seed == 2**64 - 1
    assert sc.runtime.tick_ms == 0.5 and sc.runtime.graceful_stop_s == 0.0
    (req,) = sc.requests
    assert req.headers == (("Content-Type", "application/json"), ("X-Trace", "1"))
    assert req.body == b"{}" and req.timeout_ms == 500.0 and req.weight == 2.5


def test_duration_ms_becomes_seconds() -> None:
    sc = parse_scenario(doc(runtime="[runtime]\nduration_ms = 2500\nvus = 1\n"))
    assert sc.runtime.duration_s == 2.5
    assert sc.schedule == ConstantSchedule(vus=1, duration_s=2.5)


def test_constant_schedule_vus_defaults_to_runtime_vus() -> None:
    sc = parse_scenario(doc(extra='[schedule]\ntype = "constant"\n'))
    assert sc.schedule == ConstantSchedule(vus=5, duration_s=10.0)
    sc = parse_scenario(doc(extra="[schedule]\nvus = 7\n"))  # type defaults to constant
    assert sc.schedule == ConstantSchedule(vus=7, duration_s=10.0)


def test_ramp_defaults() -> None:
    sc = parse_scenario(doc(extra='[schedule]\ntype = "ramp"\n'))
    assert sc.schedule == RampSchedule(start_vus=0, end_vus=5, ramp_s=10.0, hold_s=0.0)
    sc = parse_scenario(doc(extra='[schedule]\ntype = "ramp"\nramp_duration_seconds = 4\n'))
    assert sc.schedule == RampSchedule(start_vus=0, end_vus=5, ramp_s=4.0, hold_s=6.0)
    assert sc.schedule.total_s == 10.0 and sc.schedule.max_vus == 5


def test_ramp_original_partial_form_vus_means_end_vus() -> None:
    sc = parse_scenario(doc(extra='[schedule]\ntype = "ramp"\nvus = 50\n'))
    assert sc.schedule == RampSchedule(start_vus=0, end_vus=50, ramp_s=10.0, hold_s=0.0)


def test_ramp_without_runtime_duration() -> None:
    sc = parse_scenario(
        doc(
            runtime="[runtime]\nvus = 3\n",
            extra='[schedule]\ntype = "ramp"\nstart_vus = 8\nend_vus = 2\nramp_duration_seconds = 3\n',
        )
    )
    assert sc.schedule == RampSchedule(start_vus=8, end_vus=2, ramp_s=3.0, hold_s=0.0)
    assert sc.schedule.max_vus == 8 and sc.schedule.total_s == 3.0
    assert sc.runtime.duration_s is None


def test_spike_and_steps() -> None:
    sc = parse_scenario(
        doc(
            extra='[schedule]\ntype = "spike"\nspike_vus = 9\nspike_start_seconds = 2\nspike_duration_seconds = 8\n'
        )
    )
    assert sc.schedule == SpikeSchedule(baseline_vus=0, spike_vus=9, spike_start_s=2.0, spike_duration_s=8.0, duration_s=10.0)
    assert sc.schedule.total_s == 10.0 and sc.schedule.max_vus == 9
    sc = parse_scenario(
        doc(
            runtime="[runtime]\n",
            extra='[schedule]\ntype = "steps"\nsteps = [{vus = 0, duration_seconds = 1}, {vus = 4, duration_seconds = 2.5}]\n',
        )
    )
    assert isinstance(sc.schedule, StepsSchedule)
    assert [(s.vus, s.duration_s) for s in sc.schedule.steps] == [(0, 1.0), (4, 2.5)]
    assert sc.schedule.total_s == 3.5 and sc.schedule.max_vus == 4


def test_iterations_with_and_without_duration() -> None:
    sc = parse_scenario(doc(runtime="[runtime]\nvus = 2\niterations = 3\n"))
    assert sc.runtime.iterations == 3
    assert sc.schedule == ConstantSchedule(vus=2, duration_s=None)
    assert sc.schedule.total_s is None
    sc = parse_scenario(doc(runtime="[runtime]\nvus = 2\niterations = 3\nduration_seconds = 4\n"))
    assert sc.schedule == ConstantSchedule(vus=2, duration_s=4.0)


def test_think_time_types() -> None:
    sc = parse_scenario(doc(extra='[think_time]\ntype = "random"\nmin_ms = 1\nmax_ms = 1\n'))
    assert (sc.think_time.type, sc.think_time.min_ms, sc.think_time.max_ms) == ("uniform", 1.0, 1.0)
    sc = parse_scenario(doc(extra='[think_time]\ntype = "exponential"\nmean_ms = 3\n'))
    assert (sc.think_time.type, sc.think_time.mean_ms, sc.think_time.duration_ms) == ("exponential", 3.0, 0.0)
    sc = parse_scenario(doc(extra="[think_time]\nduration_ms = 7\n"))
    assert (sc.think_time.type, sc.think_time.duration_ms) == ("constant", 7.0)


def test_sequence_resolves_request_indices() -> None:
    text = doc(
        requests=request("a") + request("b"),
        extra='[sequence]\nsteps = [{request = "b", repeat = 2}, {request = "a"}]\n',
    )
    sc = parse_scenario(text)
    assert sc.sequence is not None and sc.sequence.type == "ordered"
    assert [(s.request, s.request_index, s.repeat) for s in sc.sequence.steps] == [("b", 1, 2), ("a", 0, 1)]


def test_assertions_and_per_request_in_request_order() -> None:
    text = doc(
        requests=request("a") + request("b"),
        extra=(
            "[assertions]\np99_latency_ms = 100\nerror_rate_max = 0.01\nrps_min = 0\n"
            "[assertions.requests.b]\np50_latency_ms = 5\n[assertions.requests.a]\nsuccess_rate_min = 1\n"
        ),
    )
    sc = parse_scenario(text)
    assert sc.assertions.p99_latency_ms == 100.0 and sc.assertions.error_rate_max == 0.01
    assert sc.assertions.rps_min == 0.0
    assert [name for name, _ in sc.assertions.per_request] == ["a", "b"]
    limits = dict(sc.assertions.per_request)
    assert limits["a"].success_rate_min == 1.0 and limits["b"].p50_latency_ms == 5.0
    assert limits["a"].per_request == ()


def test_simulation_resolved() -> None:
    sc = parse_scenario(
        doc(
            extra=(
                '[simulation]\nlatency = { type = "lognormal", median_ms = 10, p99_ms = 50 }\n'
                'error_rate = 0.5\nstatus_codes = { "503" = 1, "200" = 9.5 }\ncapacity = 4\n'
            )
        )
    )
    assert sc.simulated and sc.simulation is not None
    assert (sc.simulation.latency.type, sc.simulation.latency.median_ms, sc.simulation.latency.p99_ms) == (
        "lognormal",
        10.0,
        50.0,
    )
    assert sc.simulation.latency.ms == 0.0
    assert sc.simulation.status_codes == ((200, 9.5), (503, 1.0))
    assert sc.simulation.error_rate == 0.5 and sc.simulation.capacity == 4
    sc = parse_scenario(doc(extra=SIMULATION))
    assert sc.simulation is not None and sc.simulation.status_codes == ((200, 1.0),)
    assert sc.simulation.error_rate == 0.0 and sc.simulation.capacity is None


@pytest.mark.parametrize(
    "latency,expected",
    [
        ('{ type = "constant", ms = 3 }', {"ms": 3.0}),
        ('{ type = "uniform", min_ms = 0, max_ms = 4 }', {"min_ms": 0.0, "max_ms": 4.0}),
        ('{ type = "exponential", mean_ms = 2 }', {"mean_ms": 2.0}),
    ],
)
def test_latency_types(latency: str, expected: dict[str, float]) -> None:
    sc = parse_scenario(doc(extra=f"[simulation]\nlatency = {latency}\n"))
    assert sc.simulation is not None
    for key, value in expected.items():
        assert getattr(sc.simulation.latency, key) == value


def test_https_target_and_tls() -> None:
    sc = parse_scenario(doc(target='[target]\nbase_url = "https://example.com/"\ntls = true\nhttp_version = "1.1"\n'))
    assert sc.target.base_url == "https://example.com"
    assert (sc.target.port, sc.target.tls) == (443, True)
    sc = parse_scenario(doc(target='[target]\nbase_url = "http://[::1]:9000"\nhttp_version = "http1.1"\n'))
    assert (sc.target.host, sc.target.port) == ("::1", 9000)


def test_weights_zero_allowed_if_sum_positive() -> None:
    sc = parse_scenario(doc(requests=request("a", weight="0") + request("b", weight="0.0000005")))
    assert [r.weight for r in sc.requests] == [0.0, 5e-7]


# --- validation rules: one problem each, with path, rule and value ------------------

INVALID = [
    # runtime
    (doc(runtime="[runtime]\nduration_seconds = 0\nvus = 1\n"), "runtime.duration_seconds", ["must be > 0", "got 0"]),
    (doc(runtime="[runtime]\nduration_ms = -5\nvus = 1\n"), "runtime.duration_ms", ["must be > 0", "got -5"]),
    (doc(runtime="[runtime]\nduration_seconds = nan\nvus = 1\n"), "runtime.duration_seconds", ["finite", "got nan"]),
    (doc(runtime="[runtime]\nduration_seconds = inf\nvus = 1\n"), "runtime.duration_seconds", ["finite", "got inf"]),
    (doc(runtime='[runtime]\nduration_seconds = "10"\nvus = 1\n'), "runtime.duration_seconds", ["number", 'got "10"']),
    (doc(runtime="[runtime]\nduration_seconds = true\nvus = 1\n"), "runtime.duration_seconds", ["number", "got true"]),
    (
        doc(runtime="[runtime]\nduration_seconds = 1\nduration_ms = 1000\nvus = 1\n"),
        "runtime.duration_ms",
        ["duration_seconds", "got duration_seconds = 1 and duration_ms = 1000"],
    ),
    (doc(runtime="[runtime]\nduration_seconds = 1\nvus = 0\n"), "runtime.vus", ["must be >= 1", "got 0"]),
    (doc(runtime="[runtime]\nduration_seconds = 1\nvus = 10000001\n"), "runtime.vus", ["<= 10000000", "got 10000001"]),
    (doc(runtime="[runtime]\nduration_seconds = 1\nvus = 2.0\n"), "runtime.vus", ["integer", "got 2.0"]),
    (doc(runtime='[runtime]\nduration_seconds = 1\nvus = "2"\n'), "runtime.vus", ["integer", 'got "2"']),
    (doc(runtime="[runtime]\nduration_seconds = 1\nvus = true\n"), "runtime.vus", ["integer", "got true"]),
    (doc(runtime="[runtime]\nvus = 1\niterations = 0\n"), "runtime.iterations", [">= 1", "got 0"]),
    (doc(runtime=RUNTIME + "prng_seed = -1\n"), "runtime.prng_seed", [">= 0", "got -1"]),
    (doc(runtime=RUNTIME + "prng_seed = 18446744073709551616\n"), "runtime.prng_seed", ["<= 18446744073709551615"]),
    (doc(runtime=RUNTIME + "tick_ms = 0.0001\n"), "runtime.tick_ms", [">= 0.001", "got 0.0001"]),
    (doc(runtime=RUNTIME + "tick_ms = 1001\n"), "runtime.tick_ms", ["<= 1000", "got 1001"]),
    (doc(runtime=RUNTIME + "graceful_stop_seconds = -1\n"), "runtime.graceful_stop_seconds", [">= 0", "got -1"]),
    (doc(runtime="[runtime]\nvus = 1\n"), "runtime.duration_seconds", ["required", "iterations"]),
    (doc(runtime="[runtime]\nduration_seconds = 1\n"), "runtime.vus", ["required"]),
    (doc(runtime="runtime = 5\n"), "runtime", ["must be a table", "got 5"]),
    # target
    (doc(target="[target]\n"), "target.base_url", ["required"]),
    (doc(target=""), "target", ["required"]),
    (doc(target='[target]\nbase_url = "ftp://x"\n'), "target.base_url", ["http://", 'got "ftp://x"']),
    (doc(target='[target]\nbase_url = "127.0.0.1:8080"\n'), "target.base_url", ["http://", 'got "127.0.0.1:8080"']),
    (doc(target='[target]\nbase_url = "http://"\n'), "target.base_url", ["host", 'got "http://"']),
    (doc(target='[target]\nbase_url = "http://h/äpi"\n'), "target.base_url",
     ["must be ASCII", 'got "http://h/äpi"']),
    (doc(target='[target]\nbase_url = "http://h/?a=1"\n'), "target.base_url", ["query", 'got "http://h/?a=1"']),
    (doc(target='[target]\nbase_url = "http://h:99999"\n'), "target.base_url", ["port", 'got "http://h:99999"']),
    (doc(target='[target]\nbase_url = "http://h"\ntls = true\n'), "target.tls", ["scheme", "got true"]),
    (doc(target='[target]\nbase_url = "https://h"\ntls = false\n'), "target.tls", ["scheme", "got false"]),
    (
        doc(target='[target]\nbase_url = "http://h"\nhttp_version = "http2"\n'),
        "target.http_version",
        ['http2 is not supported; use "http1.1"', 'got "http2"'],
    ),
    (doc(target='[target]\nbase_url = "http://h"\nhttp_version = "1.0"\n'), "target.http_version", ['got "1.0"']),
    (
        doc(target='[target]\nbase_url = "http://h"\nconnection_timeout_ms = 0\n'),
        "target.connection_timeout_ms",
        ["> 0", "got 0"],
    ),
    # requests
    (doc(requests=""), "requests", ["required"]),
    ("requests = []\n" + doc(requests=""), "requests", ["at least 1", "got 0"]),
    (doc(requests='[requests]\nname = "x"\n'), "requests", ["must be an array", "got a table"]),
    (doc(requests='[[requests]]\nname = ""\nmethod = "GET"\npath = "/"\n'), "requests[0].name", ["empty", 'got ""']),
    (doc(requests='[[requests]]\nmethod = "GET"\npath = "/"\n'), "requests[0].name", ["required"]),
    (doc(requests='[[requests]]\nname = "a"\nmethod = "get"\npath = "/"\n'), "requests[0].method", ['"GET"', 'got "get"', "did you mean 'GET'?"]),
    (doc(requests='[[requests]]\nname = "a"\nmethod = "FETCH"\npath = "/"\n'), "requests[0].method", ['got "FETCH"']),
    (doc(requests='[[requests]]\nname = "a"\nmethod = "GET"\npath = "x"\n'), "requests[0].path", ['start with "/"', 'got "x"']),
    (doc(requests='[[requests]]\nname = "a"\nmethod = "GET"\npath = "/a b"\n'), "requests[0].path", ["whitespace", 'got "/a b"']),
    (doc(requests='[[requests]]\nname = "a"\nmethod = "GET"\npath = "/a\\u0001"\n'), "requests[0].path", ["control"]),
    (doc(requests=request("a", headers='{ "Bad Name" = "v" }')), 'requests[0].headers."Bad Name"', ["HTTP token", 'got "Bad Name"']),
    (doc(requests=request("a", headers='{ X = "a\\r\\nb" }')), "requests[0].headers.X", ["CR, LF or NUL", 'got "a\\r\\nb"']),
    (doc(requests=request("a", headers="{ X = 1 }")), "requests[0].headers.X", ["must be a string", "got 1"]),
    (doc(requests=request("a", headers='{ Content-Length = "5" }')), "requests[0].headers.Content-Length", ["set by z6"]),
    # Both lines would be sent: two Host headers make a server answer 400 (RFC 9112 3.2).
    (doc(requests=request("a", headers='{ Host = "a", host = "b" }')), "requests[0].headers.host", ['the same header as "Host"', "case-insensitive"]),
    (doc(requests=request("a", headers='{ X = "a\\u007fb" }')), "requests[0].headers.X", ["control characters other than tab", 'got "a\\x7fb"']),
    (doc(requests=request("a", headers='{ X = "a\\u001bb" }')), "requests[0].headers.X", ["control characters"]),
    (doc(requests=request("a", timeout_ms="0")), "requests[0].timeout_ms", ["> 0", "got 0"]),
    (doc(requests=request("a", timeout_ms="3600001")), "requests[0].timeout_ms", ["<= 3600000", "got 3600001"]),
    (
        doc(requests=request("a", body='"x"', body_file='"b.bin"')),
        "requests[0].body_file",
        ["mutually exclusive", 'got body = "x" and body_file = "b.bin"'],
    ),
    (doc(requests=request("a", body="1")), "requests[0].body", ["must be a string", "got 1"]),
    # weights
    (doc(requests=request("a") + request("b") + request("c", weight="-1.5")), "requests[2].weight", ["must be >= 0", "got -1.5"]),
    (doc(requests=request("a", weight="nan")), "requests[0].weight", ["finite", "got nan"]),
    (doc(requests=request("a", weight="inf")), "requests[0].weight", ["finite", "got inf"]),
    (doc(requests=request("a", weight="1e10")), "requests[0].weight", ["<= 1000000000", "got 10000000000.0"]),
    (doc(requests=request("a", weight="true")), "requests[0].weight", ["number", "got true"]),
    (doc(requests=request("a", weight="0.0000004")), "requests[0].weight", ["0.0000005", "round to 0", "got 4e-07"]),
    (doc(requests=request("a", weight="0") + request("b", weight="0")), "requests", ["sum of the weights", "> 0", "got 0"]),
    (doc(requests=request("a") + request("b") + request("a")), "requests[2].name", ["unique", 'got "a"', "requests[0]"]),
    # schedule
    (doc(extra='[schedule]\ntype = "rampp"\n'), "schedule.type", ['"ramp"', 'got "rampp"', "did you mean 'ramp'?"]),
    (doc(extra="[schedule]\ntype = 1\n"), "schedule.type", ["got 1"]),
    (doc(extra="[schedule]\nvus = 0\n"), "schedule.vus", [">= 1", "got 0"]),
    (doc(extra='[schedule]\ntype = "ramp"\nstart_vus = -1\n'), "schedule.start_vus", [">= 0", "got -1"]),
    (doc(extra='[schedule]\ntype = "ramp"\nend_vus = 10000001\n'), "schedule.end_vus", ["<= 10000000"]),
    (doc(extra='[schedule]\ntype = "ramp"\nend_vus = 0\n'), "schedule.end_vus", ["not both be 0"]),
    (doc(extra='[schedule]\ntype = "ramp"\nvus = 3\nend_vus = 4\n'), "schedule.vus", ["end_vus", "got end_vus = 4 and vus = 3"]),
    (doc(extra='[schedule]\ntype = "ramp"\nramp_duration_seconds = 0\n'), "schedule.ramp_duration_seconds", ["> 0", "got 0"]),
    (doc(extra='[schedule]\ntype = "ramp"\nhold_duration_seconds = -1\n'), "schedule.hold_duration_seconds", [">= 0", "got -1"]),
    (
        doc(extra='[schedule]\ntype = "ramp"\nramp_duration_seconds = 4\nhold_duration_seconds = 3\n'),
        "schedule",
        ["must equal the runtime duration (10 s)", "got 4 + 3 = 7"],
    ),
    (
        doc(extra='[schedule]\ntype = "ramp"\nramp_duration_seconds = 12\n'),
        "schedule",
        ["must equal the runtime duration (10 s)", "got 12 + 0 = 12"],
    ),
    (
        doc(runtime="[runtime]\nvus = 2\n", extra='[schedule]\ntype = "ramp"\n'),
        "schedule.ramp_duration_seconds",
        ["required"],
    ),
    (
        doc(runtime="[runtime]\nduration_seconds = 5\n", extra='[schedule]\ntype = "ramp"\n'),
        "schedule.end_vus",
        ["required"],
    ),
    (
        doc(extra='[schedule]\ntype = "spike"\nbaseline_vus = 5\nspike_vus = 4\nspike_start_seconds = 1\nspike_duration_seconds = 1\n'),
        "schedule.spike_vus",
        [">= baseline_vus (5)", "got 4"],
    ),
    (
        doc(extra='[schedule]\ntype = "spike"\nspike_vus = 0\nspike_start_seconds = 1\nspike_duration_seconds = 1\n'),
        "schedule.spike_vus",
        [">= 1", "got 0"],
    ),
    (
        doc(extra='[schedule]\ntype = "spike"\nspike_vus = 3\nspike_start_seconds = -1\nspike_duration_seconds = 1\n'),
        "schedule.spike_start_seconds",
        [">= 0", "got -1"],
    ),
    (
        doc(extra='[schedule]\ntype = "spike"\nspike_vus = 3\nspike_start_seconds = 1\nspike_duration_seconds = 0\n'),
        "schedule.spike_duration_seconds",
        ["> 0", "got 0"],
    ),
    (
        doc(extra='[schedule]\ntype = "spike"\nspike_vus = 3\nspike_start_seconds = 8\nspike_duration_seconds = 3\n'),
        "schedule",
        ["<= the runtime duration (10 s)", "got 8 + 3 = 11"],
    ),
    (
        doc(runtime="[runtime]\n", extra='[schedule]\ntype = "spike"\nspike_vus = 3\nspike_start_seconds = 1\nspike_duration_seconds = 3\n'),
        "runtime.duration_seconds",
        ["required", "spike"],
    ),
    (
        doc(extra='[schedule]\ntype = "spike"\nspike_vus = 3\nspike_duration_seconds = 1\n'),
        "schedule.spike_start_seconds",
        ["required"],
    ),
    (doc(extra='[schedule]\ntype = "steps"\n'), "schedule.steps", ["required"]),
    (doc(extra='[schedule]\ntype = "steps"\nsteps = []\n'), "schedule.steps", ["at least 1", "got 0"]),
    (
        doc(extra='[schedule]\ntype = "steps"\nsteps = [{vus = 1, duration_seconds = 10}, {vus = -1, duration_seconds = 1}]\n'),
        "schedule.steps[1].vus",
        [">= 0", "got -1"],
    ),
    (
        doc(extra='[schedule]\ntype = "steps"\nsteps = [{vus = 1, duration_seconds = 0}]\n'),
        "schedule.steps[0].duration_seconds",
        ["> 0", "got 0"],
    ),
    (
        doc(extra='[schedule]\ntype = "steps"\nsteps = [{vus = 0, duration_seconds = 10}]\n'),
        "schedule.steps",
        ["at least one step", "vus >= 1"],
    ),
    (
        doc(extra='[schedule]\ntype = "steps"\nsteps = [{vus = 1, duration_seconds = 4}, {vus = 2, duration_seconds = 5}]\n'),
        "schedule.steps",
        ["add up to the runtime duration (10 s)", "got 9"],
    ),
    (
        doc(runtime="[runtime]\nvus = 1\niterations = 2\n", extra='[schedule]\ntype = "ramp"\nramp_duration_seconds = 1\n'),
        "runtime.iterations",
        ["constant schedule", 'got schedule.type = "ramp"'],
    ),
    # think time
    (doc(extra='[think_time]\ntype = "constant"\nduration_ms = -1\n'), "think_time.duration_ms", [">= 0", "got -1"]),
    (doc(extra='[think_time]\ntype = "uniform"\nmin_ms = -1\nmax_ms = 1\n'), "think_time.min_ms", [">= 0", "got -1"]),
    (doc(extra='[think_time]\ntype = "uniform"\nmin_ms = 5\nmax_ms = 2\n'), "think_time.max_ms", [">= min_ms (5)", "got 2"]),
    (doc(extra='[think_time]\ntype = "exponential"\nmean_ms = 0\n'), "think_time.mean_ms", ["> 0", "got 0"]),
    (doc(extra='[think_time]\ntype = "gaussian"\n'), "think_time.type", ['"exponential"', 'got "gaussian"']),
    (doc(extra='[think_time]\ntype = "uniform"\nmin_ms = 1\n'), "think_time.max_ms", ["required"]),
    # sequence
    (doc(extra='[sequence]\ntype = "random"\nsteps = [{request = "home"}]\n'), "sequence.type", ['"ordered"', 'got "random"']),
    (doc(extra="[sequence]\nsteps = []\n"), "sequence.steps", ["at least 1", "got 0"]),
    (doc(extra='[sequence]\nsteps = [{request = "home", repeat = 0}]\n'), "sequence.steps[0].repeat", [">= 1", "got 0"]),
    (
        doc(extra='[sequence]\nsteps = [{request = "home"}, {request = "hom"}]\n'),
        "sequence.steps[1].request",
        ["must name a request", 'got "hom"', "did you mean 'home'?"],
    ),
    # assertions
    (doc(extra="[assertions]\np50_latency_ms = 0\n"), "assertions.p50_latency_ms", ["> 0", "got 0"]),
    (doc(extra="[assertions]\np999_latency_ms = -1\n"), "assertions.p999_latency_ms", ["> 0", "got -1"]),
    (doc(extra="[assertions]\nerror_rate_max = 1.5\n"), "assertions.error_rate_max", ["<= 1", "got 1.5"]),
    (doc(extra="[assertions]\nsuccess_rate_min = -0.1\n"), "assertions.success_rate_min", [">= 0", "got -0.1"]),
    (doc(extra="[assertions]\nstatus_5xx_max_rate = 2\n"), "assertions.status_5xx_max_rate", ["<= 1", "got 2"]),
    (doc(extra="[assertions]\nrps_min = -1\n"), "assertions.rps_min", [">= 0", "got -1"]),
    (doc(extra='[assertions]\nrps_min = "10"\n'), "assertions.rps_min", ["number", 'got "10"']),
    (doc(extra="[assertions.requests.hom]\nrps_min = 1\n"), "assertions.requests.hom", ["not a request name", "did you mean 'home'?"]),
    (doc(extra="[assertions.requests.home]\np90_latency_ms = 0\n"), "assertions.requests.home.p90_latency_ms", ["> 0", "got 0"]),
    # simulation
    (doc(extra="[simulation]\nerror_rate = 0\n"), "simulation.latency", ["required"]),
    (doc(extra="[simulation]\nlatency = 5\n"), "simulation.latency", ["must be a table", "got 5"]),
    (doc(extra="[simulation]\nlatency = { ms = 5 }\n"), "simulation.latency.type", ["required", '"lognormal"']),
    (doc(extra='[simulation]\nlatency = { type = "normal", ms = 5 }\n'), "simulation.latency.type", ['got "normal"']),
    (doc(extra='[simulation]\nlatency = { type = "constant", ms = 0 }\n'), "simulation.latency.ms", [">= 0.001", "got 0"]),
    # Below 1 us a VU without think time makes a billion requests a simulated second:
    # 1e-7 ms (0 ns) once ran without end.
    (doc(extra='[simulation]\nlatency = { type = "constant", ms = 1e-7 }\n'), "simulation.latency.ms", [">= 0.001", "got 1e-07"]),
    (doc(extra='[simulation]\nlatency = { type = "uniform", min_ms = 0, max_ms = 1e-7 }\n'), "simulation.latency.max_ms", [">= 0.001"]),
    (doc(extra='[simulation]\nlatency = { type = "uniform", min_ms = 5, max_ms = 5 }\n'), "simulation.latency.max_ms", ["> min_ms (5)", "got 5"]),
    (doc(extra='[simulation]\nlatency = { type = "uniform", min_ms = -1, max_ms = 5 }\n'), "simulation.latency.min_ms", [">= 0", "got -1"]),
    (doc(extra='[simulation]\nlatency = { type = "lognormal", median_ms = 0, p99_ms = 5 }\n'), "simulation.latency.median_ms", [">= 0.001", "got 0"]),
    (doc(extra='[simulation]\nlatency = { type = "lognormal", median_ms = 10, p99_ms = 10 }\n'), "simulation.latency.p99_ms", ["> median_ms (10)", "got 10"]),
    (doc(extra='[simulation]\nlatency = { type = "exponential", mean_ms = 0 }\n'), "simulation.latency.mean_ms", [">= 0.001", "got 0"]),
    (doc(extra='[simulation]\nlatency = { type = "exponential", mean_ms = 1e-300 }\n'), "simulation.latency.mean_ms", [">= 0.001", "got 1e-300"]),
    (doc(extra='[simulation]\nlatency = { type = "lognormal", median_ms = 1, p99_ms = 9, p95_ms = 4 }\n'), "simulation.latency.p95_ms", ["unknown key", "did you mean 'p99_ms'?"]),
    (doc(extra=SIMULATION + "error_rate = 1.01\n"), "simulation.error_rate", ["<= 1", "got 1.01"]),
    (doc(extra=SIMULATION + "error_rate = -0.5\n"), "simulation.error_rate", [">= 0", "got -0.5"]),
    (doc(extra=SIMULATION + 'status_codes = { "600" = 1 }\n'), 'simulation.status_codes.600', ['"100" to "599"', 'got "600"']),
    (doc(extra=SIMULATION + 'status_codes = { "099" = 1, "200" = 1 }\n'), 'simulation.status_codes.099', ['got "099"']),
    (doc(extra=SIMULATION + 'status_codes = { "ok" = 1 }\n'), "simulation.status_codes.ok", ['got "ok"']),
    (doc(extra=SIMULATION + 'status_codes = { "200" = -1 }\n'), "simulation.status_codes.200", [">= 0", "got -1"]),
    (doc(extra=SIMULATION + 'status_codes = { "200" = 0, "500" = 0 }\n'), "simulation.status_codes", ["sum of the weights", "got 0"]),
    # Weights as a request's: an infinite one once ended the compile with an internal error.
    (doc(extra=SIMULATION + 'status_codes = { "200" = 1e308, "500" = 1 }\n'), "simulation.status_codes.200", ["<= 1000000000", "got 1e+308"]),
    (doc(extra=SIMULATION + 'status_codes = { "200" = inf }\n'), "simulation.status_codes.200", ["finite"]),
    (doc(extra=SIMULATION + 'status_codes = { "200" = 1, "500" = 1e-9 }\n'), "simulation.status_codes.500", ["would round to 0"]),
    (doc(extra=SIMULATION + "capacity = 0\n"), "simulation.capacity", [">= 1", "got 0"]),
    (doc(extra=SIMULATION + "capacity = 1.5\n"), "simulation.capacity", ["integer", "got 1.5"]),
    # metadata
    (doc(extra="[metadata]\nname = 5\n"), "metadata.name", ["must be a string", "got 5"]),
    (doc(extra='[metadata]\ntags = "a"\n'), "metadata.tags", ["must be an array", 'got "a"']),
    (doc(extra="[metadata]\ntags = [1]\n"), "metadata.tags[0]", ["must be a string", "got 1"]),
]


@pytest.mark.parametrize("text,path,fragments", INVALID, ids=[f"{i}:{case[1]}" for i, case in enumerate(INVALID)])
def test_invalid(text: str, path: str, fragments: list[str]) -> None:
    assert_problem(only_problem(text), path, *fragments)


# --- unknown keys --------------------------------------------------------------------


@pytest.mark.parametrize(
    "text,path,hint",
    [
        (doc(extra="[runtim]\nvus = 1\n"), "runtim", "did you mean 'runtime'?"),
        (doc(extra="[think-time]\nduration_ms = 1\n"), "think-time", "did you mean 'think_time'?"),
        (doc(runtime=RUNTIME + "vuss = 5\n"), "runtime.vuss", "did you mean 'vus'?"),
        (doc(requests=request("a", wieght="1")), "requests[0].wieght", "did you mean 'weight'?"),
        (doc(requests=request("a", header="{}")), "requests[0].header", "did you mean 'headers'?"),
        (doc(extra='[schedule]\ntype = "ramp"\nend_vu = 3\n'), "schedule.end_vu", "did you mean 'end_vus'?"),
        (
            doc(extra='[schedule]\ntype = "steps"\nsteps = [{vus = 1, duraton_seconds = 10}]\n'),
            "schedule.steps[0].duraton_seconds",
            "did you mean 'duration_seconds'?",
        ),
        (doc(extra="[assertions]\np99_latency = 5\n"), "assertions.p99_latency", "did you mean 'p99_latency_ms'?"),
        (doc(extra="[assertions.requests.home]\nerror_rate = 0.1\n"), "assertions.requests.home.error_rate", "did you mean 'error_rate_max'?"),
        (doc(extra=SIMULATION + "capacty = 4\n"), "simulation.capacty", "did you mean 'capacity'?"),
    ],
)
def test_unknown_key_did_you_mean(text: str, path: str, hint: str) -> None:
    # A misspelt required key is also reported missing; the unknown key must be among the problems.
    assert f"scenario.toml: {path}: unknown key ({hint})" in problems_of(text)


def test_unknown_key_without_close_match_lists_allowed_keys() -> None:
    message = only_problem(doc(runtime=RUNTIME + "zzz = 1\n"))
    assert message.startswith("scenario.toml: runtime.zzz: unknown key (allowed: duration_seconds, duration_ms, vus")


def test_allowed_keys_are_listed_as_the_scenario_spells_them() -> None:
    # The field json_ is the key "json": the list once showed the field's name.
    message = only_problem(doc(requests=request("a", checks="{ zzz = 1 }")))
    assert message == ("scenario.toml: requests[0].checks.zzz: unknown key "
                       "(allowed: status, body_contains, body_not_contains, header, json)")


@pytest.mark.parametrize("key", ["event_log_path", "flush_interval"])
def test_seed_runtime_keys_are_unknown(key: str) -> None:
    message = only_problem(doc(runtime=RUNTIME + f'{key} = "x"\n'))
    assert message.startswith(f"scenario.toml: runtime.{key}: unknown key")


def test_unknown_key_hint_uses_the_schedule_type() -> None:
    # start_vus belongs to ramp; on a spike schedule the hint comes from spike's keys.
    message = only_problem(
        doc(extra='[schedule]\ntype = "spike"\nspike_vus = 3\nspike_start_seconds = 1\nspike_duration_seconds = 1\nbaseline_vu = 1\n')
    )
    assert message == "scenario.toml: schedule.baseline_vu: unknown key (did you mean 'baseline_vus'?)"


# --- invalid TOML and unreadable files ------------------------------------------------


def test_invalid_toml_names_line_and_column() -> None:
    text = doc() + "\n[extra\n"
    line = text.split("\n").index("[extra") + 1
    message = only_problem(text)
    assert message.startswith(f"scenario.toml: invalid TOML at line {line}, column "), message
    assert "(at line" not in message


def test_invalid_toml_line_7_column_3() -> None:
    text = "\n".join(["[runtime]", "vus = 1", "", "", "", "[target]", "x y = 1"])
    message = only_problem(text)
    assert message.startswith("scenario.toml: invalid TOML at line 7, column 3: "), message


def test_invalid_toml_at_end_of_document() -> None:
    message = only_problem('[target]\nbase_url = "http://h')
    assert message.startswith("scenario.toml: invalid TOML at line 2, column "), message


def test_duplicate_toml_key_is_invalid_toml() -> None:
    message = only_problem(doc(runtime=RUNTIME + "vus = 6\n"))
    assert message.startswith("scenario.toml: invalid TOML at line 4, column "), message


@pytest.mark.parametrize("digits", ["9" * 5000, "1_" * 4400 + "1"])
def test_an_integer_python_cannot_convert_is_a_scenario_error(digits: str) -> None:
    # tomllib hands such an integer to int(), which refuses more than 4300 digits
    # with a ValueError that used to end the run as an internal error (exit 4).
    text = doc(runtime="[runtime]\nduration_seconds = 1\nvus = " + digits + "\n")
    line = text.split("\n").index("vus = " + digits) + 1
    assert only_problem(text) == (f"scenario.toml: an integer of more than 4300 digits at line {line}; "
                                  "TOML integers are 64-bit (at most 19 digits)")


def test_missing_file(tmp_path: Path) -> None:
    path = tmp_path / "nope.toml"
    with pytest.raises(ScenarioError) as info:
        load_scenario(path)
    assert info.value.problems == [f"{path}: cannot read scenario: file not found"]


def test_directory_is_not_a_scenario(tmp_path: Path) -> None:
    with pytest.raises(ScenarioError) as info:
        load_scenario(tmp_path)
    assert str(tmp_path) in str(info.value)


def test_non_utf8_file(tmp_path: Path) -> None:
    path = tmp_path / "scenario.toml"
    path.write_bytes(b"[runtime]\nvus = 1 # \xff\n")
    with pytest.raises(ScenarioError) as info:
        load_scenario(path)
    assert info.value.problems[0].startswith(f"{path}: must be UTF-8")


def test_utf8_bom_is_accepted(tmp_path: Path) -> None:
    path = tmp_path / "scenario.toml"
    path.write_bytes(b"\xef\xbb\xbf" + doc().encode())
    sc = load_scenario(path)
    assert sc.sha256 == hashlib.sha256(path.read_bytes()).hexdigest()


def test_error_is_a_config_error_with_exit_code_2() -> None:
    with pytest.raises(ConfigError) as info:
        parse_scenario("[runtime\n")
    assert info.value.exit_code == 2


def test_messages_use_the_source_as_given(tmp_path: Path) -> None:
    path = tmp_path / "scenario.toml"
    path.write_text(doc(runtime="[runtime]\nduration_seconds = 10\nvus = -3\n"))
    with pytest.raises(ScenarioError) as info:
        load_scenario(path)
    assert info.value.problems == [f"{path}: runtime.vus: must be >= 1, got -3"]


# --- all problems at once ---------------------------------------------------------------


def test_all_problems_are_reported_at_once() -> None:
    text = doc(
        runtime="[runtime]\nduration_seconds = 1\nduration_ms = 1\nvus = 0\nvuss = 1\n",
        target='[target]\nbase_url = "http://h"\nhttp_version = "http2"\n',
        requests=request("a", weight="-1") + request("a", method_="1"),
        extra='[simulation]\nlatency = { type = "constant", ms = -1 }\n',
    )
    problems = problems_of(text)
    paths = [p.split(": ")[1] for p in problems]
    assert set(paths) >= {
        "runtime.duration_ms",
        "runtime.vus",
        "runtime.vuss",
        "target.http_version",
        "requests[0].weight",
        "requests[1].name",
        "requests[1].method_",
        "simulation.latency.ms",
    }, problems
    assert all(p.startswith("scenario.toml: ") for p in problems)
    assert str(ScenarioError(problems)) == "\n".join(problems)


def test_sequence_names_are_checked_even_if_a_request_is_invalid() -> None:
    # A bad weight must not also make "b" an unknown name in the sequence.
    text = doc(requests=request("a") + request("b", weight="-1"), extra='[sequence]\nsteps = [{request = "b"}]\n')
    problems = problems_of(text)
    assert problems == ["scenario.toml: requests[1].weight: must be >= 0, got -1"]


# --- body_file ---------------------------------------------------------------------------


def test_body_file_resolves_relative_to_the_scenario_file(tmp_path: Path) -> None:
    (tmp_path / "bodies").mkdir()
    (tmp_path / "bodies" / "item.json").write_bytes(b'{"a": 1}\n')
    path = tmp_path / "scenario.toml"
    path.write_text(doc(requests=request("a", body_file='"bodies/item.json"')))
    cwd = os.getcwd()
    try:
        os.chdir("/")  # the working directory must not matter
        sc = load_scenario(path)
    finally:
        os.chdir(cwd)
    (req,) = sc.requests
    assert req.body == b'{"a": 1}\n'
    assert req.body_file == str(tmp_path / "bodies" / "item.json")
    assert os.path.isabs(req.body_file)


def test_body_file_with_parse_scenario_base_dir(tmp_path: Path) -> None:
    (tmp_path / "b.bin").write_bytes(b"\x00\x01")
    sc = parse_scenario(doc(requests=request("a", body_file='"b.bin"')), base_dir=tmp_path)
    assert sc.requests[0].body == b"\x00\x01"


def test_body_is_utf8_bytes() -> None:
    sc = parse_scenario(doc(requests=request("a", body='"héllo"')))
    assert sc.requests[0].body == "héllo".encode()
    assert sc.requests[0].body_file is None


def test_body_file_missing(tmp_path: Path) -> None:
    message = only_problem(doc(requests=request("a", body_file='"missing.json"')), base_dir=tmp_path)
    assert_problem(message, "requests[0].body_file", "must exist", '"missing.json"', str(tmp_path / "missing.json"))


def test_body_file_is_a_directory(tmp_path: Path) -> None:
    (tmp_path / "d").mkdir()
    message = only_problem(doc(requests=request("a", body_file='"d"')), base_dir=tmp_path)
    assert_problem(message, "requests[0].body_file", "regular file", '"d"')


def test_body_file_too_large(tmp_path: Path) -> None:
    big = tmp_path / "big.bin"
    with open(big, "wb") as handle:  # sparse: costs no disk
        handle.truncate(MAX_BODY_BYTES + 1)
    message = only_problem(doc(requests=request("a", body_file='"big.bin"')), base_dir=tmp_path)
    assert_problem(message, "requests[0].body_file", f"at most {MAX_BODY_BYTES} bytes", f"got {MAX_BODY_BYTES + 1} bytes")


def test_body_file_at_the_limit_is_accepted(tmp_path: Path) -> None:
    exact = tmp_path / "exact.bin"
    with open(exact, "wb") as handle:
        handle.truncate(MAX_BODY_BYTES)
    sc = parse_scenario(doc(requests=request("a", body_file='"exact.bin"')), base_dir=tmp_path)
    assert len(sc.requests[0].body or b"") == MAX_BODY_BYTES


# --- limits ----------------------------------------------------------------------------


def test_limits() -> None:
    assert MAX_VUS == 10_000_000
    assert MAX_BODY_BYTES == 10 * 1024 * 1024
    assert MAX_REQUESTS == 65_534


def test_max_vus_is_accepted() -> None:
    sc = parse_scenario(doc(runtime=f"[runtime]\nduration_seconds = 1\nvus = {MAX_VUS}\n"))
    assert sc.schedule.max_vus == MAX_VUS


def test_too_many_requests() -> None:
    # A top-level key must come before the first [table] header.
    text = "requests = [" + ", ".join(["{}"] * (MAX_REQUESTS + 1)) + "]\n" + doc(requests="")
    message = only_problem(text)
    assert_problem(message, "requests", f"at most {MAX_REQUESTS} items", f"got {MAX_REQUESTS + 1}")


# --- examples and the public API ----------------------------------------------------------


def example_files() -> list[Path]:
    return sorted(EXAMPLES.glob("*.toml"))


def test_the_expected_examples_exist() -> None:
    names = {p.name for p in example_files()}
    assert {
        "quickstart.toml",
        "simulated.toml",
        "constant.toml",
        "ramp.toml",
        "spike.toml",
        "steps.toml",
        "iterations.toml",
        "sequence.toml",
    } <= names


@pytest.mark.parametrize("path", example_files(), ids=lambda p: p.name)
def test_example_loads(path: Path) -> None:
    sc = load_scenario(path)
    # Every example runs anywhere: simulated, or live against the built-in target.
    assert sc.simulation is not None or sc.target.builtin
    assert 1 <= sc.schedule.max_vus <= 200
    total = sc.schedule.total_s
    assert total is not None and total <= 30


def test_examples_cover_every_schedule_type() -> None:
    by_name = {p.stem: load_scenario(p) for p in example_files()}
    assert isinstance(by_name["constant"].schedule, ConstantSchedule)
    assert isinstance(by_name["ramp"].schedule, RampSchedule)
    assert isinstance(by_name["spike"].schedule, SpikeSchedule)
    assert isinstance(by_name["steps"].schedule, StepsSchedule)
    assert by_name["iterations"].runtime.iterations is not None
    assert by_name["sequence"].sequence is not None
    assert by_name["simulated"].simulation is not None
    assert by_name["simulated"].simulation.latency.type == "lognormal"


def test_public_api() -> None:
    for name in scenario_pkg.__all__:
        assert hasattr(scenario_pkg, name), name
    assert {"load_scenario", "parse_scenario", "Scenario", "MAX_VUS", "MAX_BODY_BYTES", "MAX_REQUESTS"} <= set(
        scenario_pkg.__all__
    )
    assert scenario_pkg.ScenarioError is ScenarioError


@pytest.mark.parametrize("url, base_url, prefix", [
    ("http://h/api/v1", "http://h/api/v1", "/api/v1"),
    ("http://h:8080/api/v1/", "http://h:8080/api/v1", "/api/v1"),
    ("http://h/", "http://h", ""),
    ("http://h", "http://h", ""),
])
def test_a_base_url_may_carry_a_path_prefix(url, base_url, prefix):
    from z6.live import serialize_request

    sc = parse_scenario(doc(target=f'[target]\nbase_url = "{url}"\n'))
    assert (sc.target.base_url, sc.target.path_prefix) == (base_url, prefix)
    request = dataclasses.replace(sc.requests[0], path="/items?page=2")
    wire = serialize_request(request, "h", "z6", "requests[0]", sc.target.path_prefix)
    assert wire.startswith(f"{request.method} {prefix}/items?page=2 HTTP/1.1\r\n".encode())
