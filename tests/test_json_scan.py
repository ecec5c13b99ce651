"""The JSON checks' scanner (src/z6core/z6_json.h) against Python's json, on
hypothesis-drawn documents: nested objects and arrays, escaped strings and
unicode (keys too), numbers in every form, whitespace anywhere, and every
prefix of a document; plus the JSON path syntax and its errors."""

from __future__ import annotations

import json
import math
import random
import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from z6.scenario._json_path import compile_json_path, encode_expected, parse_json_path
from z6core._httpparse import JSON_FOUND, JSON_MALFORMED, JSON_MISSING, json_equals, json_find

text = st.text(st.characters(blacklist_categories=("Cs",)), max_size=12)
scalars = st.one_of(
    st.none(), st.booleans(), text,
    st.integers(-(2**70), 2**70),
    st.floats(allow_nan=False, allow_infinity=False),
)
documents = st.recursive(
    scalars,
    lambda inner: st.one_of(st.lists(inner, max_size=5), st.dictionaries(text, inner, max_size=5)),
    max_leaves=30,
)


def paths_of(value, prefix=()):
    """Every path in ``value``, with the value found there."""
    yield prefix, value
    if isinstance(value, dict):
        for k, v in value.items():
            yield from paths_of(v, prefix + (k,))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            yield from paths_of(v, prefix + (str(i),))


# A canonical array index, as the scanner reads one: ASCII digits, no leading zero.
_INDEX = re.compile(r"0|[1-9][0-9]*")


def lookup(value, path):
    for key in path:
        if isinstance(value, dict) and key in value:
            value = value[key]
        elif isinstance(value, list) and _INDEX.fullmatch(key) and int(key) < len(value):
            value = value[int(key)]
        else:
            raise KeyError(key)
    return value


def serialise(value, seed: int, ensure_ascii: bool) -> bytes:
    # json.dumps, then extra whitespace wherever JSON allows it (outside strings).
    out = json.dumps(value, ensure_ascii=ensure_ascii)
    rng = random.Random(seed)
    pieces, in_string, escaped = [], False, False
    for ch in out:
        pieces.append(ch)
        if in_string:
            if escaped:
                escaped = False
            elif ch == "\\":
                escaped = True
            elif ch == '"':
                in_string = False
        elif ch == '"':
            in_string = True
        elif ch in ",:[]{}" and rng.random() < 0.3:
            pieces.append(rng.choice([" ", "\n", "\t", "\r\n  "]))
    return (" " if seed % 3 == 0 else "").encode() + "".join(pieces).encode("utf-8")


def same_value(raw_type: int, raw: bytes, value) -> bool:
    # What the scanner returned, read back by Python's json.
    if isinstance(value, (dict, list)):
        return json.loads(raw) == value
    if isinstance(value, str):
        return json.loads(b'"' + raw + b'"') == value
    return json.loads(raw) == value or (isinstance(value, float) and math.isclose(json.loads(raw), value))


@settings(max_examples=300, deadline=None)
@given(documents, st.integers(0, 2**32), st.booleans(), st.data())
def test_every_path_of_a_document_is_found_with_its_value(value, seed, ensure_ascii, data):
    doc = serialise(value, seed, ensure_ascii)
    entries = [(p, v) for p, v in paths_of(value) if p]
    if not entries:
        return
    path, expected = data.draw(st.sampled_from(entries))
    try:
        # A duplicate key (json keeps the last, the scanner the first) or an index-like
        # key in an object would make the two lookups differ: only unambiguous paths.
        assert lookup(value, path) is expected or lookup(value, path) == expected
    except KeyError:
        return
    code, kind, raw = json_find(doc, compile_json_path(path))
    assert code == JSON_FOUND, (doc, path)
    assert same_value(kind, raw, expected), (doc, path, raw)
    if isinstance(expected, (bool, int, float, str)) and not (isinstance(expected, float) and expected != expected):
        if isinstance(expected, int) and not isinstance(expected, bool) and not -(2**63) <= expected < 2**63:
            return
        assert json_equals(doc, compile_json_path(path), encode_expected(expected)), (doc, path, expected)


@settings(max_examples=200, deadline=None)
@given(documents, st.integers(0, 2**32), st.lists(text, min_size=1, max_size=4))
def test_a_path_that_is_not_there_is_missing(value, seed, path):
    doc = serialise(value, seed, False)
    try:
        lookup(value, tuple(path))
        return
    except (KeyError, TypeError):
        pass
    code, _, _ = json_find(doc, compile_json_path(tuple(path)))
    assert code == JSON_MISSING


@settings(max_examples=150, deadline=None)
@given(documents, st.integers(0, 2**32), st.data())
def test_every_prefix_is_malformed_or_gives_the_whole_documents_answer(value, seed, data):
    doc = serialise(value, seed, bool(seed % 2))
    entries = [p for p, _ in paths_of(value) if p]
    if not entries:
        return
    path = compile_json_path(data.draw(st.sampled_from(entries)))
    whole = json_find(doc, path)
    for cut in range(len(doc)):
        # complete=False: the body was cut at a capture limit; complete=True: a server
        # sent a document that ends early. Either way, never a wrong value.
        for complete in (False, True):
            code, kind, raw = json_find(doc[:cut], path, complete=complete)
            if code == JSON_FOUND:
                assert (code, kind, raw) == whole, (doc, cut, complete)
            else:
                assert code in (JSON_MALFORMED, whole[0]), (doc, cut, code)


NUMBERS = ["0", "-0", "1", "-1", "1.0", "1e0", "10e-1", "0.1e1", "1E+0", "100e-2", "12345678901234567890",
           "-9223372036854775808", "9223372036854775807", "9223372036854775808", "3.25", "-2.5e-3"]


@pytest.mark.parametrize("number", NUMBERS)
def test_numbers_compare_by_value(number):
    doc = b'{"n": ' + number.encode() + b"}"
    path = compile_json_path(("n",))
    parsed = json.loads(number)
    as_float = float(parsed)
    assert json_equals(doc, path, encode_expected(as_float))
    if as_float.is_integer() and -(2**63) <= parsed < 2**63 if isinstance(parsed, int) else as_float.is_integer():
        exact = int(parsed) if isinstance(parsed, int) else int(as_float)
        if -(2**63) <= exact < 2**63:
            assert json_equals(doc, path, encode_expected(exact))
            other = exact - 1 if exact > 0 else exact + 1
            assert not json_equals(doc, path, encode_expected(other))
    # A number is not its string, and a string not its number.
    assert not json_equals(doc, path, encode_expected(number))
    assert not json_equals(b'{"n": "1"}', path, encode_expected(1))


MALFORMED = [b'{"a": tru}', b'{"a": 01}', b'{"a": 1.}', b'{"a": .5}', b'{"a": +1}', b'{"a": "\x01"}',
             b'{"a": "\\x"}', b'{"b": 1,, "a": 1}', b'{"b": [1,], "a": 1}', b'{"b": "open, "a": 1}',
             b'{"b" 1, "a": 1}', b"[" * 600 + b"]" * 600, b'{"b": ' + b"[" * 600 + b"]" * 600 + b', "a": 1}',
             b'{"b": nul, "a": 1}', b"", b"   "]


@pytest.mark.parametrize("doc", MALFORMED, ids=range(len(MALFORMED)))
def test_malformed_documents_are_malformed(doc):
    code, _, _ = json_find(doc, compile_json_path(("a",)))
    assert code == JSON_MALFORMED


def test_strings_decode_escapes_and_surrogate_pairs():
    doc = b'{"k\\u00e9y": "a\\"b\\\\c\\/d\\n\\u00e9\\ud83d\\ude00", "lone": "\\ud800x"}'
    assert json_equals(doc, compile_json_path(("k\u00e9y",)), encode_expected('a"b\\c/d\n\u00e9\U0001F600'))
    assert json_equals(doc, compile_json_path(("lone",)), encode_expected("\ufffdx"))


def test_the_first_of_duplicate_keys_wins_and_indices_are_canonical():
    doc = b'{"a": 1, "a": 2, "l": [10, 11, 12], "o": {"01": "x", "1": "y"}}'
    assert json_equals(doc, compile_json_path(("a",)), encode_expected(1))
    assert json_equals(doc, compile_json_path(("l", "2")), encode_expected(12))
    assert json_find(doc, compile_json_path(("l", "3")))[0] == JSON_MISSING
    assert json_find(doc, compile_json_path(("l", "01")))[0] == JSON_MISSING
    assert json_equals(doc, compile_json_path(("o", "01")), encode_expected("x"))
    assert json_find(doc, compile_json_path(("a", "b")))[0] == JSON_MISSING     # a scalar has no members


@pytest.mark.parametrize("text, segments", [("a", ("a",)), ("items.0.id", ("items", "0", "id")),
                                            ("a\\.b.c", ("a.b", "c")), ("a\\\\.b", ("a\\", "b"))])
def test_paths_parse(text, segments):
    assert parse_json_path(text) == segments


@pytest.mark.parametrize("text, message", [("", "non-empty"), ("a..b", "character 3: empty key"),
                                           (".a", "character 1: empty key"), ("a.", "character 2: empty key"),
                                           ("a\\b", "character 2: a backslash escapes only"),
                                           (".".join("k" * 65), "at most 64 keys")])
def test_bad_paths_say_what_and_where(text, message):
    with pytest.raises(ValueError, match=message.replace("\\", "\\\\").replace(".", "\\.")):
        parse_json_path(text)


@pytest.mark.parametrize("value, message", [([1], "only a string, number or boolean"), ({"a": 1}, "only a string"),
                                            (2**64, "fit in 64 bits"), (float("nan"), "nan equals nothing")])
def test_only_scalars_can_be_compared(value, message):
    with pytest.raises(ValueError, match=message):
        encode_expected(value)


def test_a_number_at_the_end_of_a_cut_document_is_not_taken_whole():
    path = compile_json_path(("a",))
    # {"a":0.5} cut after its 0: even a caller that says "complete" gets no 0.
    assert json_find(b'{"a":0', path, complete=True)[0] == JSON_MALFORMED
    assert json_find(b'{"a":0', path, complete=False)[0] == JSON_MALFORMED
    assert json_find(b'[12', compile_json_path(("0",)))[0] == JSON_MALFORMED
    # A whole document that is one number has no members.
    assert json_find(b"5", path)[0] == JSON_MISSING
    assert json_find(b'{"a":0}', path)[:2] == (JSON_FOUND, 2)
