"""Redirects (docs/scenario.md "Redirects"), without a network: where a
Location sends the live driver (z6_redirect.h, through its test wrappers), the
request that goes there, `[target] follow_redirects` in the scenario, and every
reader of the events treating a hop (request_issued with its number in status)
as a request of its own that is neither an iteration, nor lag, nor a step of
the plan's sequence."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from z6core._httpparse import redirect_request, redirect_target

import z6
from z6.errors import ScenarioError
from z6.events import EVENT_DTYPE, EventKind
from z6.metrics import SummaryBuilder
from z6.metrics._lag import LagRecorder
from z6.metrics._open_model import OpenModelRecorder
from z6.metrics._redirects import RedirectRecorder

HOST = b"api.test"


def target(location: bytes, tls: bool = False, port: int = 8080, current: bytes = b"/a/b") -> tuple:
    return redirect_target(location, tls, HOST, port, current)


@pytest.mark.parametrize("location, expected", [
    (b"/next", b"/next"),
    (b"/next?x=1#frag", b"/next?x=1"),
    (b"http://api.test:8080/c", b"/c"),
    (b"HTTP://API.Test:8080/c", b"/c"),                   # scheme and host are case-blind
    (b"http://api.test.:8080/c", b"/c"),                  # a host's trailing dot names the same host
    (b"http://api.test:8080", b"/"),
    (b"http://api.test:8080?q", b"/?q"),
    (b"http://api.test:/c", None),                       # an empty port is the scheme's: 80, not 8080
    (b"//api.test:8080/d", b"/d"),                        # scheme-relative: this request's scheme
    (b"c", b"/a/c"),                                      # relative: against the current directory
    (b"../c", b"/a/../c"),                                # (dot segments are the server's)
    (b"?page=2", b"/a/b?page=2"),
])
def test_a_same_origin_location_gives_the_next_request_target(location, expected):
    got = target(location)
    assert got == (("same", expected) if expected is not None else ("offsite", None))


@pytest.mark.parametrize("location", [
    b"https://api.test:8080/", b"http://api.test/", b"http://api.test:8081/", b"http://other.test:8080/",
    b"http://user@api.test:8080/", b"ftp://api.test:8080/", b"mailto:someone@api.test", b"http://[::1]:8080/",
])
def test_another_scheme_host_port_or_user_info_is_another_origin(location):
    assert target(location) == ("offsite", None)


@pytest.mark.parametrize("location", [
    b"", b"#top", b"/a b", b"/a\tb", b"/a\x7fb", b"http://api.test:99999/", b"http://api.test:80x/", b"http:///x",
    b"http:/x", b"http://[::1/x",
])
def test_a_location_no_request_line_can_carry_is_bad(location):
    assert target(location) == ("bad", None)


def test_an_ipv6_origin_and_the_default_ports():
    assert redirect_target(b"http://[::1]:8080/x", False, b"::1", 8080) == ("same", b"/x")
    assert redirect_target(b"https://api.test/x", True, HOST, 443) == ("same", b"/x")
    assert redirect_target(b"http://api.test:80/x", False, HOST, 80) == ("same", b"/x")
    assert redirect_target(b"//api.test/x", True, HOST, 443) == ("same", b"/x")


def test_a_target_longer_than_the_buffer_is_bad_not_cut():
    assert redirect_target(b"/" + b"a" * 100, False, HOST, 80, cap=50) == ("bad", None)
    assert redirect_target(b"x" * 10, False, HOST, 80, current=b"/" + b"d/" * 30, cap=50) == ("bad", None)


@settings(max_examples=300, deadline=None)
@given(location=st.binary(max_size=80), current=st.binary(max_size=40), tls=st.booleans())
def test_any_location_is_one_of_the_three_answers_and_a_followed_one_is_a_clean_target(location, current, tls):
    kind, path = redirect_target(location, tls, HOST, 8080, current)
    assert kind in ("same", "offsite", "bad")
    if kind == "same":
        assert path.startswith(b"/") and not any(c <= 0x20 or c == 0x7F for c in path) and b"#" not in path


POST = (b"POST /login HTTP/1.1\r\nHost: api.test\r\nContent-Type: application/json\r\nContent-Length: 7\r\n"
        b"Transfer-Encoding: identity\r\nX-Trace: 1\r\n\r\n{\"a\":1}")


@pytest.mark.parametrize("status, method, body", [
    (301, b"GET", False), (302, b"GET", False), (303, b"GET", False), (307, b"POST", True), (308, b"POST", True),
])
def test_which_redirect_makes_a_post_a_get(status, method, body):
    out = redirect_request(POST, b"/home?x=1", status)
    assert out.startswith(method + b" /home?x=1 HTTP/1.1\r\nHost: api.test\r\n")
    assert b"X-Trace: 1\r\n" in out
    if body:
        assert out.endswith(b"\r\n\r\n{\"a\":1}") and b"Content-Length: 7" in out
    else:   # the body goes, and the headers that described it
        assert out.endswith(b"X-Trace: 1\r\n\r\n")
        assert b"Content-Type" not in out and b"Content-Length" not in out and b"Transfer-Encoding" not in out


def test_a_303_keeps_get_and_head_and_turns_anything_else_to_get():
    assert redirect_request(b"HEAD / HTTP/1.1\r\nHost: h\r\n\r\n", b"/x", 303) == b"HEAD /x HTTP/1.1\r\nHost: h\r\n\r\n"
    assert redirect_request(b"PUT / HTTP/1.1\r\nContent-Length: 1\r\n\r\nz", b"/x", 303) == b"GET /x HTTP/1.1\r\n\r\n"
    assert redirect_request(b"PUT / HTTP/1.1\r\nContent-Length: 1\r\n\r\nz", b"/x", 302) == (
        b"PUT /x HTTP/1.1\r\nContent-Length: 1\r\n\r\nz")
    assert redirect_request(b"no request line", b"/x", 302) is None


SCENARIO = """
[runtime]
prng_seed = 1
duration_seconds = 1
vus = 1
[target]
base_url = "http://127.0.0.1:8080"
{target}
[[requests]]
name = "a"
method = "GET"
path = "/"
"""


def test_follow_redirects_defaults_to_10_and_0_turns_it_off():
    assert z6.parse_scenario(SCENARIO.format(target=""), "s.toml").target.follow_redirects == 10
    assert z6.parse_scenario(SCENARIO.format(target="follow_redirects = 0"), "s.toml").target.follow_redirects == 0


@pytest.mark.parametrize("value", ["-1", "101", "true", '"10"', "2.5"])
def test_a_bad_follow_redirects_is_refused_naming_the_key(value):
    with pytest.raises(ScenarioError) as caught:
        z6.parse_scenario(SCENARIO.format(target=f"follow_redirects = {value}"), "s.toml")
    assert "target.follow_redirects" in str(caught.value)


# --- the readers: a hop is a request, not an iteration, not lag -------------------

def events(rows) -> np.ndarray:
    out = np.zeros(len(rows), dtype=EVENT_DTYPE)
    for i, (tick, kind, request, status, value_ns, seq) in enumerate(rows):
        out[i] = (tick, value_ns, 1, kind, request, status, 0, seq)
    return out


ISSUED, RECEIVED, CHAIN = EventKind.REQUEST_ISSUED, EventKind.RESPONSE_RECEIVED, EventKind.REDIRECT_CHAIN
# VU 1: a first request; then seq 1 goes through two hops; then seq 2 plainly.
STREAM = events([
    (0, ISSUED, 0, 0, 0, 0), (1, RECEIVED, 0, 200, 1_000_000, 0),
    (5, ISSUED, 0, 0, 7_000_000, 1), (6, RECEIVED, 0, 302, 1_000_000, 1),
    (6, ISSUED, 0, 1, 0, 1), (7, RECEIVED, 0, 301, 1_000_000, 1),
    (7, ISSUED, 0, 2, 0, 1), (8, RECEIVED, 0, 200, 1_000_000, 1), (8, CHAIN, 0, 200, 3_200_000, 1),
    (9, ISSUED, 0, 0, 0, 2), (10, RECEIVED, 0, 200, 1_000_000, 2),
])


def test_the_summary_counts_hops_as_requests_but_not_as_lag():
    builder = SummaryBuilder(("a",), 1_000_000, redirects=True)
    builder(STREAM)
    summary = builder.finish()
    assert summary.overall.requests == 5 and summary.overall.statuses == {200: 3, 301: 1, 302: 1}
    assert summary.lag.count == 2                     # seq 1 (7 ms late) and seq 2; not seq 0, not the hops
    assert summary.lag.max == 7.0
    r = summary.per_request["a"].redirects
    assert (r.hops, r.chains, r.chain_latency.count, r.chain_latency.max) == (2, 1, 1, 3.2)
    assert summary.to_dict()["redirects"]["hops"] == 2


def test_the_lag_recorder_and_the_open_model_skip_hops():
    lag = LagRecorder(100)
    lag(STREAM)
    lag.use_histogram()
    assert lag.histogram.total_count == 2
    model = OpenModelRecorder(100, 1)
    model(STREAM)
    assert model.iterations == 3                      # seq 0, 1 and 2: the hops repeat seq 1


def test_chain_latencies_switch_to_histograms_past_the_limit_with_the_same_counts():
    exact, bounded = RedirectRecorder(1, 10**6), RedirectRecorder(1, 0)
    for recorder in (exact, bounded):
        recorder(STREAM)
        recorder(STREAM)
    (overall_e, [a_e]), (overall_b, [a_b]) = exact.finish(), bounded.finish()
    assert (a_e.hops, a_e.chains) == (a_b.hops, a_b.chains) == (4, 2)
    assert a_e.chain_latency.max == a_b.chain_latency.max == 3.2
    assert overall_e.chains == overall_b.chains == 2


def test_a_chain_naming_a_request_the_run_lacks_is_refused():
    bad = STREAM.copy()
    bad["request"][bad["kind"] == CHAIN] = 5
    with pytest.raises(ValueError, match="redirect_chain event names request 5"):
        RedirectRecorder(1, 10)(bad)
