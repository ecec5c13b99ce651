"""Templated requests on the wire, recorded by the tests' own capture server:
row assignment by pick (per_vu, sequential, unique) against its formula for every
(VU, iteration), random values against an independent model of the seeded value
stream, the same bytes per VU for --workers 1 and 3, and no CR/LF ever injected
into a header from a data file or the environment."""

from __future__ import annotations

import collections
import re

import numpy as np
import pytest

import z6
import z6.cli
import z6core
from z6.errors import ConfigError
from z6.events import ErrorCode, EventKind
from z6.live import wire_templates
from z6.log import read_log
from z6.plan import compile_plan

from value_stream import ValueStream

from .capture import CaptureServer

pytestmark = pytest.mark.live

ROWS = [f"user{i}" for i in range(5)]
VUS = 3
ITERATIONS = 3


def _scenario(tmp_path, base_url: str, seed: int = 11, path: str | None = None, headers: str = "",
              data_rows: list[str] | None = None, extra_data: str = "") -> z6.Scenario:
    rows = data_rows if data_rows is not None else ROWS
    (tmp_path / "users.csv").write_text("name,token\n" + "".join(f'"{r}",tok-{i}\n' for i, r in enumerate(rows)))
    path = path or "/r/${data.per.name}/${data.seq.name}/${data.uniq.name}?x=${random.int(10,99)}"
    text = f"""
[runtime]
vus = {VUS}
iterations = {ITERATIONS}
prng_seed = {seed}
[target]
base_url = "{base_url}"
[think_time]
type = "constant"
duration_ms = 0
[[data]]
name = "per"
file = "users.csv"
pick = "per_vu"
[[data]]
name = "seq"
file = "users.csv"
pick = "sequential"
[[data]]
name = "uniq"
file = "users.csv"
pick = "unique"
{extra_data}
[[requests]]
name = "r"
method = "GET"
path = '{path}'
headers = {{ X-VU = "${{vu}}", X-It = "${{iteration}}"{headers} }}
"""
    (tmp_path / "s.toml").write_text(text)
    return z6.load_scenario(str(tmp_path / "s.toml"))


def _capture(tmp_path, seed: int = 11, **kwargs):
    with CaptureServer() as server:
        scenario = _scenario(tmp_path, server.base_url, seed=seed)
        chunks: list[np.ndarray] = []
        result = z6.run_scenario(scenario, consumers=[lambda c: chunks.append(c.copy())], **kwargs)
        return scenario, result, np.concatenate(chunks), list(server.requests)


def _header(request: bytes, name: bytes) -> bytes:
    m = re.search(rb"\r\n" + name + rb": ([^\r]*)\r\n", request)
    assert m, request
    return m.group(1)


def _per_vu(requests: list[bytes]) -> dict[int, list[bytes]]:
    out: dict[int, list[bytes]] = collections.defaultdict(list)
    for r in requests:
        out[int(_header(r, b"X-VU"))].append(r)
    return out


def test_rows_follow_their_formulas_and_random_ints_the_seeded_stream(tmp_path):
    scenario, result, events, requests = _capture(tmp_path)
    assert not result.failed
    # rendered sizes vary per request: no bytes-sent figure rather than a wrong one
    assert result.summary.time_series.bytes_sent is None
    by_vu = _per_vu(requests)
    n = len(ROWS)
    for vu in range(1, VUS + 1):
        # unique: VU i takes rows (i-1) + k*VUs while below n, then completes
        expected_iterations = min(ITERATIONS, len(range(vu - 1, n, VUS)))
        got = by_vu[vu]
        assert len(got) == expected_iterations == z6core.unique_iterations(n, VUS, vu)
        stream = ValueStream(11, vu)
        for k, request in enumerate(got):
            line = request.split(b"\r\n", 1)[0].decode()
            m = re.fullmatch(r"GET /r/(\w+)/(\w+)/(\w+)\?x=(\d+) HTTP/1.1", line)
            assert m, line
            assert int(_header(request, b"X-It")) == k
            assert m.group(1) == ROWS[(vu - 1) % n]
            assert m.group(2) == ROWS[((vu - 1) + k * VUS) % n]
            assert m.group(3) == ROWS[(vu - 1) + k * VUS]
            assert int(m.group(4)) == 10 + stream.below(90)
    # the run completed VUs early, identically in the events
    complete = events[events["kind"] == EventKind.VU_COMPLETE]
    assert sorted(complete["vu_id"].tolist()) == [1, 2, 3]


def test_the_wire_bytes_are_what_the_core_replays(tmp_path):
    scenario, result, events, requests = _capture(tmp_path)
    plan = compile_plan(scenario)
    tables = z6core.TemplateTables(wire_templates(plan.templates, scenario.requests,
                                                  requests[0].split(b"Host: ")[1].split(b"\r\n")[0],
                                                  _header(requests[0], b"User-Agent")), 1)
    for vu, got in _per_vu(requests).items():
        replay = z6core.rendered_requests(plan, tables, vu, len(got))
        assert [r[2] for r in replay] == got


def test_same_seed_same_bytes_other_seed_other_bytes(tmp_path):
    for name in "abc":
        (tmp_path / name).mkdir()
    first = _capture(tmp_path / "a", seed=11)[3]
    second = _capture(tmp_path / "b", seed=11)[3]
    third = _capture(tmp_path / "c", seed=12)[3]
    strip = lambda reqs: {vu: [r.split(b"\r\nHost")[0] for r in rs] for vu, rs in _per_vu(reqs).items()}
    assert strip(first) == strip(second)
    assert strip(first) != strip(third)


def test_workers_1_and_3_send_the_same_bytes_per_vu(tmp_path):
    (tmp_path / "one").mkdir()
    (tmp_path / "three").mkdir()
    one = _capture(tmp_path / "one", workers=1)[3]
    three = _capture(tmp_path / "three", workers=3)[3]
    strip = lambda reqs: {vu: sorted(r.split(b"\r\nHost")[0] for r in rs) for vu, rs in _per_vu(reqs).items()}
    assert strip(one) == strip(three)
    assert sum(len(v) for v in strip(one).values()) == len(one) > 0


def test_a_data_value_with_crlf_fails_its_request_and_never_reaches_the_wire(tmp_path):
    rows = ["plain", "evil\r\nX-Injected: 1", "also\nbad", "nul\0x", "fine"]
    with CaptureServer() as server:
        scenario = _scenario(tmp_path, server.base_url, path="/p/${data.per.name}",
                             headers=', X-Name = "${data.per.name}"', data_rows=rows)
        plan = compile_plan(scenario)
        assert any("holds CR, LF or NUL" in w for w in plan.templates.warnings)
        chunks: list[np.ndarray] = []
        z6.run_scenario(scenario, consumers=[lambda c: chunks.append(c.copy())])
        events = np.concatenate(chunks)
        wire = b"".join(server.raw)
    assert b"X-Injected" not in wire.replace(b"X-Injected%3A", b"")
    for r in server.requests:
        for line in r.split(b"\r\n\r\n")[0].split(b"\r\n")[1:]:
            assert re.fullmatch(rb"[A-Za-z-]+: [^\r\n\0]*", line), line
    refused = events[events["error"] == ErrorCode.HEADER_VALUE]
    # VU 1 reads row 0 (plain), VU 2 row 1 and VU 3 row 2 (per_vu): VUs 2 and 3 fail every request
    # with their own error, and go on to their next iteration
    assert sorted(set(refused["vu_id"].tolist())) == [2, 3]
    assert np.all(refused["kind"] == EventKind.ERROR_HTTP)
    issued = events[events["kind"] == EventKind.REQUEST_ISSUED]
    assert collections.Counter(issued["vu_id"].tolist())[2] == min(ITERATIONS, z6core.unique_iterations(5, VUS, 2))
    assert _per_vu(server.requests).keys() == {1}


def test_an_env_value_with_crlf_in_a_header_is_refused_before_the_run(tmp_path, monkeypatch):
    monkeypatch.setenv("Z6_TEST_EVIL", "x\r\nX-Injected: 1")
    with CaptureServer() as server:
        scenario = _scenario(tmp_path, server.base_url, headers=', X-Env = "${env.Z6_TEST_EVIL}"')
        with pytest.raises(ConfigError, match=r"requests\[0\]\.headers\.X-Env: column 1: .*CR, LF or NUL"):
            z6.run_scenario(scenario)
        assert server.requests == [] and b"".join(server.raw) == b""
    # in a path the same value is percent-encoded
    monkeypatch.setenv("Z6_TEST_EVIL", "a b\r\n")
    with CaptureServer() as server:
        scenario = _scenario(tmp_path, server.base_url, path="/e/${env.Z6_TEST_EVIL}")
        z6.run_scenario(scenario)
        assert {r.split(b" ")[1] for r in server.requests} == {b"/e/a%20b%0D%0A"}


@pytest.mark.parametrize("workers", [None, 3])
def test_replay_verify_checks_the_rendered_bytes_of_every_vu(tmp_path, workers):
    with CaptureServer() as server:
        scenario = _scenario(tmp_path, server.base_url)
        kwargs = {"workers": workers} if workers else {}
        z6.run_scenario(scenario, out_dir=tmp_path / "run", **kwargs)
    recorded = read_log(tmp_path / "run" / "events.z6log").footer.request_digests
    assert sorted(recorded["digests"], key=int) == ["1", "2", "3"]
    assert recorded["authority"] == f"127.0.0.1:{server.port}"
    assert z6.cli.main(["replay", str(tmp_path / "run"), "--verify"]) == 0
    # the same run, had user3 been another name: VU 1 (row 3 in its 2nd iteration, sequential) differs
    (tmp_path / "users.csv").write_text((tmp_path / "users.csv").read_text().replace("user3", "someone"))
    assert z6.cli.main(["replay", str(tmp_path / "run"), "--verify"]) == 1
