"""Tests of benchmarks/peers.py's readers: each tool's output, strace's table, the options.

No network and no child processes: the outputs below are trimmed copies of real
ones (wrk 4.1.0, hey 0.1.4, Locust 2.47.0, z6 0.1.0, strace 6.1). Run with
``python -m pytest benchmarks/peers -q``.
"""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path

import pytest

from _peers_measure import Measurement, rotated, strace_counts
from _peers_proc import BenchError, OutputError, fill_template
from _peers_tools import Hey, Job, Locust, ToolOutput, Wrk, Z6, locust_percentile

JOB = Job("throughput", "http://127.0.0.1:8080", "/", 50, 10)

WRK_OUTPUT = """Running 3s test @ http://127.0.0.1:45189/
  1 threads and 50 connections
  268011 requests in 3.03s, 38.34MB read
Requests/sec:  88572.91
Z6PEERS requests=268011 duration_us=3025880 p50_us=259 connect_errors=0 read_errors=2 write_errors=0 status_errors=1 timeouts=3
"""

HEY_OUTPUT = """
Summary:
  Total:\t3.0071 secs
  Requests/sec:\t30265.7174

Latency distribution:
  10% in 0.0003 secs
  50% in 0.0012 secs
  99% in 0.0078 secs

Status code distribution:
  [200]\t91012 responses
  [503]\t10 responses

Error distribution:
  [4]\tGet "http://127.0.0.1:1/": dial tcp 127.0.0.1:1: connect: connection refused
  [1]\tGet "http://127.0.0.1:1/": EOF
"""

STRACE_TABLE = """% time     seconds  usecs/call     calls    errors syscall
------ ----------- ----------- --------- --------- ------------------
 61.60    0.278143           7     35340           sendto
 20.05    0.090553           2     36379           read
  1.01    0.004581           1      3893       473 newfstatat
------ ----------- ----------- --------- --------- ------------------
100.00    0.451526           5     79612      2030 total
"""


def test_wrk_reads_its_done_hook_line():
    out = Wrk().parse(JOB, Path("."), WRK_OUTPUT)
    assert out == ToolOutput(requests=268011, errors=6, duration_s=3.02588, p50_ms=0.259)


@pytest.mark.parametrize("text", [
    "Running 3s test\n  268011 requests in 3.03s\n",                 # the hook did not run
    "Z6PEERS requests=12 duration_us=3025880\n",                        # fields missing
    "Z6PEERS requests=x duration_us=1 p50_us=1 connect_errors=0 read_errors=0 write_errors=0 "
    "status_errors=0 timeouts=0\n",                                      # not a number
])
def test_wrk_output_without_the_figures_is_an_output_error(text):
    with pytest.raises(OutputError):
        Wrk().parse(JOB, Path("."), text)


def test_hey_counts_responses_and_errors_apart():
    out = Hey().parse(JOB, Path("."), HEY_OUTPUT)
    assert out.requests == 91022
    assert out.errors == 5
    assert out.duration_s == pytest.approx(3.0071)
    assert out.p50_ms == pytest.approx(1.2)


@pytest.mark.parametrize("text", [
    "",
    "Status code distribution:\n  [200]\t5 responses\n",    # no Total line
    "Summary:\n  Total:\t1.0 secs\n",                      # neither responses nor errors
])
def test_hey_output_without_the_figures_is_an_output_error(text):
    with pytest.raises(OutputError):
        Hey().parse(JOB, Path("."), text)


def _locust_entry(**overrides):
    entry = {"name": "/", "method": "GET", "start_time": 100.0, "last_request_timestamp": 110.0,
             "num_requests": 10, "num_failures": 1, "response_times": {"2": 6, "3": 3, "40": 1}}
    entry.update(overrides)
    return entry


def test_locust_sums_entries_and_uses_its_own_percentile_rule(tmp_path):
    entries = [_locust_entry(), _locust_entry(name="/x", start_time=99.0, num_requests=6, num_failures=0,
                                              response_times={"2": 2, "5": 4})]
    (tmp_path / "locust.json").write_text(json.dumps(entries))
    out = Locust().parse(JOB, tmp_path, "")
    assert (out.requests, out.errors, out.duration_s) == (16, 1, 11.0)
    # 2 ms: 8, 3 ms: 3, 5 ms: 4, 40 ms: 1. Walking down from 40 ms, 8 remain below 3 ms,
    # which is int(16 * 0.5): Locust's median is 3 ms (nearest rank would say 2 ms).
    assert out.p50_ms == 3.0


@pytest.mark.parametrize("content", [None, "not json", "[]", '{"a": 1}', json.dumps([{"name": "/"}])])
def test_locust_stats_missing_or_malformed_is_an_output_error(tmp_path, content):
    if content is not None:
        (tmp_path / "locust.json").write_text(content)
    with pytest.raises(OutputError):
        Locust().parse(JOB, tmp_path, "")


def test_locust_percentile_matches_locust():
    buckets = {1.0: 1, 2.0: 1, 3.0: 1, 4.0: 1}
    assert locust_percentile(buckets, 4, 0.5) == 3.0   # what Locust prints for 1, 2, 3, 4
    assert locust_percentile(buckets, 4, 0.99) == 4.0
    assert locust_percentile(buckets, 4, 0.0) == 1.0
    assert locust_percentile({}, 0, 0.5) is None
    assert locust_percentile({5.0: 1}, 3, 0.5) is None  # requests without a response time


def test_z6_reads_its_json_summary_and_start_up(tmp_path):
    summary = {"summary": {"completed": 1000, "failed": 2, "duration_s": 10.0,
                           "latency_ms": {"p50": 0.276245}}}
    (tmp_path / "startup.json").write_text(json.dumps({"user_s": 0.18, "sys_s": 0.02}))
    out = Z6().parse(JOB, tmp_path, json.dumps(summary))
    assert (out.requests, out.errors, out.duration_s, out.p50_ms) == (1000, 2, 10.0, 0.276245)
    assert out.startup_cpu_s == pytest.approx(0.2)


@pytest.mark.parametrize("stdout, startup", [
    ("", '{"user_s": 0, "sys_s": 0}'),                     # z6 printed nothing
    ('{"summary": {}}', '{"user_s": 0, "sys_s": 0}'),      # no counts
    ('{"summary": {"completed": 1, "failed": 0, "duration_s": 1, "latency_ms": {"p50": 1}}}', None),
])
def test_z6_output_without_the_figures_is_an_output_error(tmp_path, stdout, startup):
    if startup is not None:
        (tmp_path / "startup.json").write_text(startup)
    with pytest.raises(OutputError):
        Z6().parse(JOB, tmp_path, stdout)


def test_strace_table_with_and_without_errors_column(tmp_path):
    (tmp_path / "t.txt").write_text(STRACE_TABLE)
    assert strace_counts(tmp_path / "t.txt") == {"sendto": 35340, "read": 36379, "newfstatat": 3893}


def test_fill_template_needs_every_placeholder_filled():
    with pytest.raises(BenchError, match="was not filled in"):
        fill_template("z6_scenario.toml.template", {"pass_name": "x"})
    with pytest.raises(BenchError, match="has no placeholder"):
        fill_template("z6_scenario.toml.template", {"no_such_key": 1})


def test_a_run_without_a_measuring_period_is_not_counted():
    run = Measurement("locust", "throughput", 0, cpu_s=1.0,
                      output=ToolOutput(requests=1, errors=0, duration_s=0.0, p50_ms=None))
    assert not run.ok


def test_rotation_moves_each_tool_to_the_front_in_turn():
    tools = [Wrk(), Hey(), Z6()]
    assert [t.name for t in rotated(tools, 1)] == ["hey", "z6", "wrk"]
    assert [t.name for t in rotated(tools, 3)] == ["wrk", "hey", "z6"]


@pytest.fixture(scope="module")
def script():
    """benchmarks/peers.py as a module (its name clashes with this directory's, so by path)."""
    path = Path(__file__).resolve().parent.parent / "peers.py"
    spec = importlib.util.spec_from_file_location("peers_script", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while the file runs
    try:
        spec.loader.exec_module(module)
        yield module
    finally:
        del sys.modules[spec.name]


@pytest.mark.parametrize("argv", [
    ["--repeat", "0"], ["--duration", "1.5"], ["--tools", "wrk,ab"], ["--tools", ","],
    ["--client-cpu", "1", "--server-cpu", "1"], ["--client-cpu", "4096"],
    ["--json-out", "/nonexistent-dir/peers.json"],
])
def test_bad_options_exit_2_with_a_message(script, argv, capsys):
    with pytest.raises(SystemExit) as exit_info:
        script.parse_args(argv)
    assert exit_info.value.code == 2
    assert "error:" in capsys.readouterr().err


def test_quick_sets_short_defaults_but_explicit_values_win(script):
    quick = script.parse_args(["--quick"])
    assert (quick.duration, quick.repeat) == (2, 1)
    explicit = script.parse_args(["--quick", "--repeat", "2"])
    assert (explicit.duration, explicit.repeat) == (2, 2)
    full = script.parse_args([])
    assert (full.duration, full.repeat) == (10, 3)
