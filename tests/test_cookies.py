"""The per-VU cookie jar (z6_cookie.h), as the live driver keeps it: Set-Cookie
lines stored with their path, expiry, Domain and Secure rules, the Cookie line
built for a request path in RFC 6265's order, the bounds, and dates parsed
leniently; `[target] cookies` in the scenario."""

from __future__ import annotations

import calendar

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from z6core._httpparse import COOKIE_MAX_BYTES, JAR_MAX_COOKIES, CookieJar, cookie_date

import z6
from z6.errors import ScenarioError

S = 1_000_000_000


def head(*set_cookies: str, status: str = "200 OK") -> bytes:
    lines = "".join(f"Set-Cookie: {c}\r\n" for c in set_cookies)
    return f"HTTP/1.1 {status}\r\nContent-Length: 0\r\n{lines}\r\n".encode()


def test_a_cookie_is_sent_back_on_the_paths_it_covers():
    jar = CookieJar()
    assert jar.store(head("sid=abc; Path=/; HttpOnly", "pref=dark;Path=/app", "lang = en "), b"/login/form") == 3
    assert jar.header(b"/") == b"Cookie: sid=abc\r\n"
    # longer paths first; "lang" took the default path of /login/form: /login
    assert jar.header(b"/app/x") == b"Cookie: pref=dark; sid=abc\r\n"
    assert jar.header(b"/login") == b"Cookie: lang=en; sid=abc\r\n"
    assert jar.header(b"/login/x") == b"Cookie: lang=en; sid=abc\r\n"
    assert jar.header(b"/loginx") == b"Cookie: sid=abc\r\n"      # a path prefix only at a "/"
    assert jar.header(b"/application") == b"Cookie: sid=abc\r\n"


def test_the_same_name_and_path_replaces_and_keeps_its_place():
    jar = CookieJar()
    jar.store(head("a=1", "b=2"))
    jar.store(head("a=3"))
    assert len(jar) == 2 and jar.header(b"/") == b"Cookie: a=3; b=2\r\n"
    jar.store(head("a=4; Path=/x"))              # another path: another cookie
    assert jar.header(b"/x") == b"Cookie: a=4; a=3; b=2\r\n"


def test_max_age_and_expires_end_a_cookie_on_the_monotonic_clock():
    now_unix = 1_700_000_000
    later = calendar.timegm((2023, 11, 14, 22, 14, 20)) - now_unix     # 1,700,000,060: a minute on
    assert later == 60
    jar = CookieJar()
    jar.store(head("short=1; Max-Age=10", "dated=2; Expires=Tue, 14 Nov 2023 22:14:20 GMT",
                   "both=3; Max-Age=100; Expires=Thu, 01 Jan 1970 00:00:00 GMT"), now_ns=5 * S, now_unix=now_unix)
    assert jar.header(b"/", now_ns=14 * S) == b"Cookie: short=1; dated=2; both=3\r\n"
    assert jar.header(b"/", now_ns=15 * S) == b"Cookie: dated=2; both=3\r\n"      # Max-Age 10 s after arrival
    assert jar.header(b"/", now_ns=65 * S) == b"Cookie: both=3\r\n"               # Expires 60 s after
    assert len(jar) == 1
    jar.store(head("both=gone; Max-Age=0"), now_ns=66 * S)
    assert jar.header(b"/", now_ns=66 * S) == b"" and len(jar) == 0
    jar.store(head("old=1; Expires=Wed, 21 Oct 2015 07:28:00 GMT"), now_unix=now_unix)
    assert len(jar) == 0                                                          # already past: not stored


def test_domain_secure_and_malformed_lines():
    jar = CookieJar(b"api.example.test")
    stored = jar.store(head("a=1; Domain=example.test", "b=2; Domain=.API.example.test", "c=3; Domain=other.test",
                            "d=4; Domain=xample.test", "noequals", "=5", "s=6; Secure", "e=; Path=/"))
    assert stored == 4
    assert jar.header(b"/") == b"Cookie: a=1; b=2; e=\r\n"
    assert jar.header(b"/", tls=True) == b"Cookie: a=1; b=2; s=6; e=\r\n"


def test_the_jar_is_bounded():
    jar = CookieJar()
    jar.store(head(*(f"c{i}=v" for i in range(JAR_MAX_COOKIES + 5))))
    assert len(jar) == JAR_MAX_COOKIES
    sent = jar.header(b"/")
    assert b"c0=" not in sent and b"c4=v" not in sent and b"c5=v" in sent and b"c54=v" in sent   # oldest evicted
    jar.store(head("big=" + "x" * COOKIE_MAX_BYTES))
    assert b"big=" not in jar.header(b"/")


def test_only_the_final_heads_set_cookie_lines_count_and_other_headers_do_not():
    jar = CookieJar()
    assert jar.store(b"HTTP/1.1 200 OK\r\nX-Set-Cookie: no=1\r\nset-cookie:yes=2\r\nSet-Cookie2: old=3\r\n\r\n") == 1
    assert jar.header(b"/") == b"Cookie: yes=2\r\n"


@pytest.mark.parametrize("text, expected", [
    ("Sun, 06 Nov 1994 08:49:37 GMT", (1994, 11, 6, 8, 49, 37)),
    ("Sunday, 06-Nov-94 08:49:37 GMT", (1994, 11, 6, 8, 49, 37)),
    ("Sun Nov  6 08:49:37 1994", (1994, 11, 6, 8, 49, 37)),
    ("6 nov 2030 23:59:59", (2030, 11, 6, 23, 59, 59)),
    ("Thu, 01 Jan 1970 00:00:00 GMT", (1970, 1, 1, 0, 0, 0)),
    ("Mon, 29 Feb 2044 12:00:00 GMT", (2044, 2, 29, 12, 0, 0)),
])
def test_dates_parse_leniently(text, expected):
    assert cookie_date(text.encode()) == calendar.timegm(expected)


@pytest.mark.parametrize("text", ["", "tomorrow", "Sun, 06 Nov 1994 GMT", "06 Nov 1994 25:00:00", "32 Nov 1994 1:2:3",
                                  "06 Nov 1600 08:49:37"])
def test_what_is_not_a_date_is_none(text):
    assert cookie_date(text.encode()) is None


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=300))
def test_any_set_cookie_bytes_are_stored_or_ignored_never_misread(value):
    # whatever a server sends, the jar stays within bounds and every Cookie line
    # it makes is one line: no CR or LF inside
    jar = CookieJar()
    raw = b"HTTP/1.1 200 OK\r\nSet-Cookie: " + value.replace(b"\r", b"").replace(b"\n", b"") + b"\r\n\r\n"
    jar.store(raw, b"/a/b")
    line = jar.header(b"/a/b/c", tls=True)
    assert line == b"" or (line.startswith(b"Cookie: ") and line.endswith(b"\r\n") and b"\n" not in line[:-1])
    assert len(jar) <= 1


def test_cookies_can_be_turned_off_and_must_be_a_boolean():
    source = '[runtime]\nvus = 1\nduration_seconds = 1\n[target]\nbase_url = "http://127.0.0.1:8080"\n{}\n[[requests]]\nname = "a"\nmethod = "GET"\npath = "/"\n'
    assert z6.parse_scenario(source.format(""), source="c.toml").target.cookies is True
    assert z6.parse_scenario(source.format("cookies = false"), source="c.toml").target.cookies is False
    with pytest.raises(ScenarioError, match="target.cookies"):
        z6.parse_scenario(source.format('cookies = "no"'), source="c.toml")
