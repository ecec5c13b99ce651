"""Extracted variables, without a network: the scenario's `extract` tables and
their messages, regex patterns translated to POSIX, the core's extraction of a
captured response (the same code the live driver runs), `${var.NAME}` compiled
and rendered (placeholders in replays and digests), and simulated runs judging
extractions as checks."""

from __future__ import annotations

import json
import re

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
import pytest
import z6core
from z6core._httpparse import extract_value

import z6
from z6.errors import ConfigError, ScenarioError
from z6.events import ErrorCode
from z6.live import wire_templates
from z6.plan._checks import CAPTURE_BODY, CAPTURE_HEAD, compile_checks
from z6.scenario import CHECK_KINDS
from z6.scenario._json_path import compile_json_path, parse_json_path
from z6.scenario._regex import to_posix

E = ErrorCode
EXTRACT_JSON, EXTRACT_HEADER, EXTRACT_REGEX = (CHECK_KINDS.index(k) for k in
                                               ("extract_json", "extract_header", "extract_regex"))


def scenario(login_extract: str = 'token = { json = "access_token" }',
             api_headers: str = 'Authorization = "Bearer ${var.token}"', api_path: str = "/api",
             extra_request: str = "", simulation: str = "") -> str:
    return f"""
[runtime]
prng_seed = 5
duration_seconds = 5
vus = 4
[target]
base_url = "http://127.0.0.1:8080"
[lifecycle]
on_start = ["login"]
[[requests]]
name = "login"
method = "POST"
path = "/login"
body = '{{"user": "u${{vu}}"}}'
weight = 0
extract = {{ {login_extract} }}
[[requests]]
name = "api"
method = "GET"
path = "{api_path}"
headers = {{ {api_headers} }}
{extra_request}
[think_time]
type = "constant"
duration_ms = 100
{simulation}
"""


def parse(source: str):
    return z6.parse_scenario(source, source="extract.toml")


# --- regex patterns -----------------------------------------------------------


@pytest.mark.parametrize("pattern, posix", [
    (r"id=(\d+)", "id=([0-9]+)"),
    (r"\w+\s\S", "[[:alnum:]_]+[[:space:]][^[:space:]]"),
    (r"[\d.]+", "[0-9.]+"),
    (r"[^\s,]+", "[^[:space:],]+"),
    (r"a\.b\(c\)", r"a\.b\(c\)"),
    (r"x\ty", "x\ty"),
    (r"[]a]", "[]a]"),
    (r"[[:upper:]\d]", "[[:upper:]0-9]"),
    (r'"token":"([^"]*)"', '"token":"([^"]*)"'),
])
def test_shorthands_become_posix_classes(pattern, posix):
    assert to_posix(pattern) == posix
    z6core.posix_regex_groups(posix)    # and the C library compiles it


@pytest.mark.parametrize("pattern, message", [
    (r'"(.*?)"', "column 5: lazy quantifiers"),
    (r"a+?", "column 3: lazy quantifiers"),
    (r"\bword", "column 1: \\b is not POSIX"),
    (r"(a)\1", "column 4: \\1 is not POSIX"),
    (r"[\D]", "column 2: \\D cannot stand inside"),
    (r"[a\-z]", "column 3: in POSIX a - is a member"),
    ("[abc", "column 1: [ is not closed"),
    ("abc\\", "column 4: a backslash at the end"),
])
def test_what_posix_cannot_say_is_refused_with_its_column(pattern, message):
    with pytest.raises(ValueError, match=message.replace("\\", "\\\\").replace("[", "\\[")):
        to_posix(pattern)


@pytest.mark.parametrize("pattern, message", [
    ("[a-z]{1,32767}", "column 6: a repetition count is at most 1000, got 32767"),
    ("a{1001,}", "column 2: a repetition count is at most 1000, got 1001"),
    ("((a{0,255}){0,255}){0,255}", "column 12: nested repetitions multiply to 65025 copies, at most 1000"),
    ("(x{10}){1,101}", "column 8: nested repetitions multiply to 1010 copies"),
    ("((x{1,1000})+)+", "leave 3996 optional copies, at most 2000"),
    ("[a-z]{1,1000}" * 3, "leave 2997 optional copies, at most 2000"),
    ("(([a-z]{1,10}){1,10}){1,10}", "leave 2700 optional copies"),
])
def test_repetitions_too_large_to_compile_are_refused_before_the_c_library_sees_them(pattern, message):
    # glibc expands {m,n} into copies, its optional ones quadratically: the first
    # of these took regcomp past 14 GB and a segfault, the second 16 GB and 30 s.
    with pytest.raises(ValueError, match=re.escape(message)):
        to_posix(pattern)


@pytest.mark.parametrize("pattern", [
    "[a-z]{1,1000}[a-z]{1,1000}", "(ab){0,1000}", "(x{10}){1,100}", "(a|b{1,1000})+c", "a{3}{2}",
    "[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", "(a{2,})*",
])
def test_repetitions_within_the_bounds_reach_the_c_library_as_written(pattern):
    assert to_posix(pattern) == pattern
    z6core.posix_regex_groups(pattern)


def test_the_c_library_judges_what_translation_lets_through():
    assert z6core.posix_regex_groups("(a)(b(c))") == 3
    with pytest.raises(ValueError):
        z6core.posix_regex_groups("a(b")


# --- the scenario -------------------------------------------------------------


def test_extractions_become_checks_and_variables_after_the_checks():
    s = parse(scenario(login_extract='token = { json = "data.token", max_bytes = 64 }, '
                                     'sid = { header = "X-Session", default = "none" }, '
                                     'n = { regex = "n=(\\\\d+)-(\\\\d+)", group = 2 }',
                       extra_request="checks = { status = [200] }"))
    login = s.requests[0]
    assert [c.kind for c in login.checks] == ["extract_json", "extract_header", "extract_regex"]
    assert [c.label for c in login.checks] == ['extract token from json data.token', "extract sid from header X-Session",
                                               'extract n from regex "n=(\\\\d+)-(\\\\d+)" group 2']
    assert login.checks[2].posix == "n=([0-9]+)-([0-9]+)" and login.checks[2].group == 2
    assert [(v.name, v.max_bytes, v.default) for v in s.variables] == [("token", 64, None), ("sid", 4096, b"none"),
                                                                       ("n", 4096, None)]
    tables = compile_checks(s)
    assert tables.capture.tolist() == [CAPTURE_BODY, 0]     # the api request's status check needs no bytes
    first = int(tables.first[0])
    assert tables.kind[first:first + 3].tolist() == [EXTRACT_JSON, EXTRACT_HEADER, EXTRACT_REGEX]
    assert tables.c[first:first + 3].tolist() == [0, 1, 2]      # the variables' indices
    a, b = int(tables.a[first + 1]), int(tables.b[first + 1])
    pool = tables.pool.tobytes()
    assert pool[a:a + b] == b"x-session" and pool[a + b:a + b + 8] == (4096).to_bytes(4, "little") + bytes(4)


def test_a_header_extraction_alone_keeps_only_the_head():
    s = parse(scenario(login_extract='sid = { header = "X-Session" }', api_headers='X-S = "${var.sid}"'))
    assert compile_checks(s).capture.tolist() == [CAPTURE_HEAD, 0]


BAD = [
    ('token = { }', 'requests[0].extract.token: needs exactly one of json, header or regex'),
    ('token = { json = "a", header = "B" }', "needs exactly one of json, header or regex (where the value is found), "
                                             "got json, header"),
    ('token = { json = "a", group = 1 }', "requests[0].extract.token.group: applies to a regex extraction only"),
    ('token = { regex = "a(b)", group = 2 }', "the regex has 1 group(s), so group 2 does not exist"),
    ('token = { regex = "a(b" }', "requests[0].extract.token.regex: does not compile as a POSIX extended regex"),
    ('token = { regex = "(.*?)" }', "requests[0].extract.token.regex: column 4: lazy quantifiers"),
    ("token = { regex = '((a{0,255}){0,255}){0,255}' }",
     "requests[0].extract.token.regex: column 12: nested repetitions multiply to 65025 copies"),
    ('token = { json = "a..b" }', "requests[0].extract.token.json"),
    ('token = { header = "Bad Name" }', "must be a header name"),
    ('token = { json = "a", max_bytes = 0 }', "requests[0].extract.token.max_bytes"),
    ('token = { json = "a", max_bytes = 4, default = "12345" }', "default: is longer than max_bytes (4 bytes)"),
    ('"9lives" = { json = "a" }', "a variable name is letters, digits and _"),
    ('token = { json = "a", jsn = 1 }', "requests[0].extract.token.jsn"),
]


@pytest.mark.parametrize("extract, message", BAD, ids=[b[1][:40] for b in BAD])
def test_bad_extractions_are_refused_naming_the_request_and_key(extract, message):
    with pytest.raises(ScenarioError) as caught:
        parse(scenario(login_extract=extract))
    assert message in str(caught.value)


def test_a_template_naming_a_variable_nobody_extracts_is_refused_with_its_column():
    s = parse(scenario(api_headers='Authorization = "Bearer ${var.tokn}"'))
    with pytest.raises(ConfigError) as caught:
        z6.compile_plan(s, mode="live")
    message = str(caught.value)
    assert "requests[1].headers.Authorization: column 8: ${var.tokn}: no request extracts a variable 'tokn'" in message
    assert "extracted: ['token']" in message


def test_defaults_must_agree_and_a_header_default_must_be_a_header_value():
    two = scenario(login_extract='token = { json = "a", default = "x" }',
                   extra_request='extract = { token = { json = "b", default = "y" } }')
    with pytest.raises(ScenarioError, match=r"requests\[1\]\.extract\.token\.default: differs from the default "
                                            r"requests\[0\] gives"):
        parse(two)
    crlf = parse(scenario(login_extract='token = { json = "a", default = "x\\r\\nX-Evil: 1" }'))
    with pytest.raises(ConfigError, match="the default of variable 'token' holds CR, LF or NUL"):
        z6.compile_plan(crlf, mode="live")


def test_head_requests_extract_from_headers_only_and_the_check_limit_counts_extractions():
    head = scenario(extra_request='extract = { x = { json = "a" } }').replace('method = "GET"', 'method = "HEAD"')
    with pytest.raises(ScenarioError, match=r"requests\[1\]\.extract\.x: a HEAD response has no body"):
        parse(head)
    many = ", ".join(f'v{i} = {{ header = "H{i}" }}' for i in range(30))
    with pytest.raises(ScenarioError, match="checks and extractions together: at most 32 a request, got 33"):
        parse(scenario(extra_request=f'checks = {{ status = [200], body_contains = "a", body_not_contains = "b" }}\n'
                                     f"extract = {{ {many} }}"))


# --- the core's extraction of a captured response ------------------------------


def response(body: bytes, head: str = "Content-Type: application/json\r\n") -> bytes:
    return f"HTTP/1.1 200 OK\r\n{head}Content-Length: {len(body)}\r\n\r\n".encode() + body


def jpath(path: str) -> bytes:
    return compile_json_path(parse_json_path(path))


def test_json_extraction_decodes_strings_and_keeps_other_values_as_text():
    doc = {"a": {"t": "x\u00e9\n\"q\" \U0001F600"}, "n": [1, 2.5e3], "o": {"k": None}, "b": True}
    raw = response(json.dumps(doc).encode())
    assert extract_value(raw, EXTRACT_JSON, jpath("a.t")) == (0, "x\u00e9\n\"q\" \U0001F600".encode())
    assert extract_value(raw, EXTRACT_JSON, jpath("n.1")) == (0, b"2500.0")
    assert extract_value(raw, EXTRACT_JSON, jpath("o")) == (0, b'{"k": null}')
    assert extract_value(raw, EXTRACT_JSON, jpath("b")) == (0, b"true")
    assert extract_value(raw, EXTRACT_JSON, jpath("n.2")) == (int(E.EXTRACT_JSON), None)
    assert extract_value(response(b"<html>"), EXTRACT_JSON, jpath("a")) == (int(E.EXTRACT_JSON), None)
    assert extract_value(response(b'{"t": ""}'), EXTRACT_JSON, jpath("t")) == (0, b"")


def test_a_cut_body_that_lacks_the_value_says_so_and_a_long_value_is_refused():
    raw = response(b'{"pad": "' + b"x" * 50 + b'", "t": "v"}')
    cut = raw[:len(raw) - 6]       # the body ends after "t", before its value
    assert extract_value(cut, EXTRACT_JSON, jpath("t"), cut=True) == (int(E.CHECK_TRUNCATED), None)
    assert extract_value(cut, EXTRACT_JSON, jpath("pad"), cut=True) == (0, b"x" * 50)
    assert extract_value(raw, EXTRACT_JSON, jpath("pad"), max_bytes=49) == (int(E.VAR_TOO_LONG), None)
    assert extract_value(raw, EXTRACT_JSON, jpath("pad"), max_bytes=50) == (0, b"x" * 50)


def test_header_extraction_takes_the_first_such_header_trimmed_whatever_its_case():
    raw = response(b"", head="x-token:   abc def \t\r\nX-Token: second\r\n")
    assert extract_value(raw, EXTRACT_HEADER, b"x-token") == (0, b"abc def")
    assert extract_value(raw, EXTRACT_HEADER, b"x-other") == (int(E.EXTRACT_HEADER), None)
    assert extract_value(raw, EXTRACT_HEADER, b"x-token", max_bytes=3) == (int(E.VAR_TOO_LONG), None)
    interim = b"HTTP/1.1 100 Continue\r\nX-Token: early\r\n\r\n" + raw
    assert extract_value(interim, EXTRACT_HEADER, b"x-token") == (0, b"abc def")


def test_regex_extraction_runs_on_the_decoded_body():
    body = b"a\r\nid=42;id=77\r\n0\r\n\r\n"
    chunked = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n" + body
    pattern = to_posix(r"id=(\d+)").encode()
    assert extract_value(chunked, EXTRACT_REGEX, pattern, group=1, chunked=True) == (0, b"42")
    assert extract_value(chunked, EXTRACT_REGEX, pattern, group=0, chunked=True) == (0, b"id=42")
    assert extract_value(response(b"none here"), EXTRACT_REGEX, pattern, group=1) == (int(E.EXTRACT_REGEX), None)
    optional = to_posix(r"x(y)?z").encode()
    assert extract_value(response(b"xz"), EXTRACT_REGEX, optional, group=1) == (int(E.EXTRACT_REGEX), None)
    assert extract_value(response(b"xyz"), EXTRACT_REGEX, optional, group=1) == (0, b"y")
    # the body's end is the match's end, even with bytes that are no text
    assert extract_value(response(b"\x00id=5"), EXTRACT_REGEX, pattern, group=1)[0] in (0, int(E.EXTRACT_REGEX))


# --- templates reading variables ---------------------------------------------


def test_replays_show_variables_as_placeholders_and_their_digests_match_them():
    s = parse(scenario(api_path="/api/${var.token}/${random.int(1,9)}"))
    engine_plan = z6.compile_plan(s, mode="live")
    tables = z6core.TemplateTables(wire_templates(engine_plan.templates, s.requests, b"h", b"ua"), 2)
    assert tables.reads_variables(1) and not tables.reads_variables(0)
    out = z6core.rendered_requests(engine_plan, tables, 1, 4)
    assert out[0][1] == z6core.RENDER_OK and out[0][2].startswith(b"POST /login HTTP/1.1\r\n")
    assert b'{"user": "u1"}' in out[0][2]
    for req, status, raw in out[1:]:
        assert req == 1 and status == z6core.RENDER_VARIABLES
        assert raw.startswith(b"GET /api/${var.0}/") and b"Authorization: Bearer ${var.0}\r\n" in raw
    # the random values still follow the VU's value stream: two replays agree
    assert z6core.rendered_requests(engine_plan, tables, 1, 4) == out
    digests = z6core.expected_digests(engine_plan, tables, [1, 2], [4, 4])
    assert digests[0] != digests[1] and digests[0] == z6core.expected_digests(engine_plan, tables, [1], [4])[0]


def test_a_simulated_run_needs_defaults_and_judges_extractions_as_checks_at_the_fail_rate():
    without = scenario(simulation="[simulation]\nlatency = { type = \"constant\", ms = 5 }\ncheck_fail_rate = 0.25")
    with pytest.raises(ConfigError, match=r"requests\[0\]\.extract\.token: a simulated run needs a default for "
                                          "every extracted variable"):
        z6.compile_plan(parse(without), mode="simulate")
    z6.compile_plan(parse(without), mode="live")     # a live run takes values from the responses
    source = without.replace('token = { json = "access_token" }', 'token = { json = "access_token", default = "t" }')
    result = z6.run_scenario(parse(source), mode="simulate", keep_events=True)
    checks = result.summary.per_request["login"].checks
    assert [c.label for c in checks] == ["extract token from json access_token"]
    assert checks[0].total == 4 and 0 <= checks[0].passed <= 4
    assert result.summary.per_request["api"].checks == ()
    # a variable in a simulated run moves nothing: the api request as plain text gives the same events
    plain = source.replace('Authorization = "Bearer ${var.token}"', 'Authorization = "Bearer t"')
    assert np.array_equal(result.events, z6.run_scenario(parse(plain), mode="simulate", keep_events=True).events)


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=200), st.booleans(), st.one_of(st.integers(), st.floats(allow_nan=False, allow_infinity=False),
                                                      st.booleans(), st.none()))
def test_extracted_json_values_are_what_pythons_json_reads(text, ensure_ascii, other):
    raw = response(json.dumps({"s": text, "o": other, "l": [text]}, ensure_ascii=ensure_ascii).encode())
    assert extract_value(raw, EXTRACT_JSON, jpath("s"), max_bytes=1 << 20) == (0, text.encode("utf-8"))
    assert extract_value(raw, EXTRACT_JSON, jpath("l.0"), max_bytes=1 << 20) == (0, text.encode("utf-8"))
    code, value = extract_value(raw, EXTRACT_JSON, jpath("o"))
    assert code == 0 and json.loads(value) == other
