"""Templates and data files without a network: the compiler (hypothesis: any
string compiles or is refused with its column; rendering equals a Python
reference renderer), data-file messages with file, line and column, the unique
pick completing VUs identically in simulated runs, and a template leaving the
simulated event stream byte-identical."""

from __future__ import annotations

import collections
import re
import string

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

import z6
import z6.cli
import z6core
from z6.errors import ConfigError
from z6.events import EventKind, event_digest
from z6.live import wire_templates
from z6.plan import DataTable, TemplateProblem, compile_plan, compile_template, percent_encode
from z6.plan._dynamic import RequestTemplate, RequestTemplates
from z6.plan._templates import DataColumns
from z6.plan import load_data
from z6.scenario import DataSource
from z6.analysis import recompute_run
from value_stream import ValueStream

from conftest import REPO

REPO_EXAMPLES = REPO / "examples"
from z6.runner import iter_chunks

DATA = {"users": DataColumns(0, ("name", "token"), "/data/users.csv")}
CELLS = [[b"alice", b"t-1"], [b"bob b", b"t\r\n2"], [b"c/d?", b"t-3"]]


def _table() -> DataTable:
    arena = b"".join(c for row in CELLS for c in row)
    ends = np.cumsum([0] + [len(c) for row in CELLS for c in row]).astype(np.uint32)
    return DataTable(name="users", path="/data/users.csv", pick="random", columns=("name", "token"),
                     n_rows=len(CELLS), cells=ends, arena=arena)


# --- the compiler ---------------------------------------------------------------

PIECES = st.one_of(
    st.text(alphabet=string.ascii_letters + "/-_.?=& ", max_size=8),
    st.sampled_from(["$", "$$", "${", "}", "${vu}", "${iteration}", "${data.users.name}", "${data.users.token}",
                     "${data.users.nope}", "${data.other.x}", "${random.int(1,6)}", "${random.int(-5, 5)}",
                     "${random.int(9,1)}", "${random.int(a,b)}", "${random.choice(x|y|zz)}", "${random.choice()}",
                     "${random.uuid}", "${random.hex(7)}", "${random.hex(0)}", "${env.Z6_T_SET}",
                     "${env.Z6_T_UNSET}", "${nope}", "\n"]),
)


@settings(max_examples=300, deadline=None)
@given(st.lists(PIECES, max_size=8).map("".join))
def test_any_string_compiles_or_is_refused_with_its_column(text):
    try:
        segments = compile_template(text, "s.toml: requests[0].body", "body", DATA, {"Z6_T_SET": "v"})
    except TemplateProblem as exc:
        m = re.search(r"(?:line (\d+), )?column (\d+): ", str(exc))
        assert m and str(exc).startswith("s.toml: requests[0].body: ")
        line, column = int(m.group(1) or 1), int(m.group(2))
        # the column points at the "${" that starts the bad expression
        assert text.split("\n")[line - 1][column - 1:column + 1] == "${"
        return
    # a compiled template's literals are the text less its expressions
    assert all(seg[0] != "literal" or seg[1] for seg in segments)


def _reference_render(segments, context, vu, k, stream, row):
    # A plain Python renderer of the language (docs/templates.md), drawing from
    # the value stream as the core does: random segments in order.
    out = b""
    for seg in segments:
        kind = seg[0]
        if kind == "literal":
            value, is_value = seg[1], False
        elif kind == "vu":
            value, is_value = str(vu).encode(), False
        elif kind == "iteration":
            value, is_value = str(k).encode(), False
        elif kind == "data":
            value, is_value = CELLS[row][seg[2]], True
        elif kind == "random.int":
            value, is_value = str(seg[1] + stream.below(seg[2] - seg[1] + 1)).encode(), False
        elif kind == "random.choice":
            value, is_value = seg[1][stream.below(len(seg[1]))], True
        elif kind == "random.uuid":
            hi, lo = stream.rng.next_u64(), stream.rng.next_u64()
            hi = (hi & 0xFFFFFFFFFFFF0FFF) | 0x4000
            lo = (lo & 0x3FFFFFFFFFFFFFFF) | 0x8000000000000000
            h = f"{hi:016x}{lo:016x}"
            value, is_value = f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}".encode(), False
        else:
            digits = ""
            while len(digits) < seg[1]:
                digits += f"{stream.rng.next_u64():016x}"
            value, is_value = digits[:seg[1]].encode(), False
        if is_value and context == "path":
            value = percent_encode(value)
        out += value
    return out


_ONE = """
[runtime]
vus = 4
iterations = 2
prng_seed = {seed}
[target]
base_url = "http://127.0.0.1:9"
[[requests]]
name = "r"
method = "POST"
path = "/x"
"""


@settings(max_examples=150, deadline=None)
@given(st.lists(PIECES, max_size=8).map("".join), st.integers(1, 4), st.integers(0, 2**32))
def test_rendering_equals_the_reference_renderer(text, vu, seed):
    try:
        body = compile_template(text, "b", "body", DATA, {"Z6_T_SET": "v"})
    except TemplateProblem:
        return
    templates = RequestTemplates(requests=(RequestTemplate(templated=True, path=(("literal", b"/x"),),
                                                          headers=(), body=body),),
                                 data=(_table(),), total_vus=4, pass_len=1)
    request = z6.scenario.Request(name="r", method="POST", path="/x")
    tables = z6core.TemplateTables(wire_templates(templates, [request], b"h", b"ua"), 1)
    plan = compile_plan(z6.parse_scenario(_ONE.format(seed=seed), source="t.toml"), mode="live")
    got = z6core.rendered_requests(plan, tables, vu, 2)
    stream = ValueStream(seed, vu)
    for k, (req, status, data) in enumerate(got):
        row = stream.below(len(CELLS)) if templates.data[0].pick == "random" else 0
        expected_body = _reference_render(body, "body", vu, k, stream, row)
        assert status == z6core.RENDER_OK
        head = b"POST /x HTTP/1.1\r\nHost: h\r\nUser-Agent: ua\r\nContent-Length: %d\r\n\r\n" % len(expected_body)
        assert data == head + expected_body


def test_path_values_are_percent_encoded_and_header_values_refused():
    segments = compile_template("/u/${data.users.name}/${data.users.token}", "p", "path", DATA, {})
    table = _table()
    object.__setattr__(table, "pick", "per_vu")
    header = compile_template("${data.users.token}", "h", "header", DATA, {})
    templates = RequestTemplates(requests=(RequestTemplate(templated=True, path=segments,
                                                          headers=(("X-T", header),), body=None),),
                                 data=(table,), total_vus=3, pass_len=1)
    request = z6.scenario.Request(name="r", method="GET", path="/x", headers=(("X-T", "v"),))
    tables = z6core.TemplateTables(wire_templates(templates, [request], b"h", b"ua"), 1)
    plan = compile_plan(z6.parse_scenario(_ONE.format(seed=1), source="t.toml"), mode="live")
    ok = z6core.rendered_requests(plan, tables, 1, 1)[0]
    assert ok[2].startswith(b"GET /u/alice/t-1 HTTP/1.1\r\n") and b"X-T: t-1\r\n" in ok[2]
    # VU 2's row holds "t\r\n2": its header would carry CRLF, so the request is refused
    assert z6core.rendered_requests(plan, tables, 2, 1)[0][1] == z6core.RENDER_REFUSED
    # VU 3's name "c/d?" stays inside one path segment
    assert z6core.rendered_requests(plan, tables, 3, 1)[0][2].startswith(b"GET /u/c%2Fd%3F/t-3 HTTP/1.1")


# --- scenarios ----------------------------------------------------------------

_SIM = """
[runtime]
vus = 4
iterations = 6
prng_seed = {seed}
[target]
base_url = "http://127.0.0.1:9"
[think_time]
type = "uniform"
min_ms = 1
max_ms = 20
[simulation]
latency = {{ type = "uniform", min_ms = 1, max_ms = 30 }}
{data}
[[requests]]
name = "a"
method = "GET"
path = "/a{path}"
weight = 2
[[requests]]
name = "b"
method = "POST"
path = "/b"
{body}
"""


def _sim(tmp_path, data: str = "", path: str = "", body: str = "", seed: int = 5):
    (tmp_path / "users.csv").write_text("name\n" + "".join(f"u{i}\n" for i in range(10)))
    text = _SIM.format(seed=seed, data=data, path=path, body=body)
    (tmp_path / "s.toml").write_text(text)
    scenario = z6.load_scenario(str(tmp_path / "s.toml"))
    return compile_plan(scenario)


def _events(plan) -> np.ndarray:
    return np.concatenate([c.copy() for c in iter_chunks(plan)])


_PER_VU = '[[data]]\nname = "users"\nfile = "users.csv"\npick = "random"'


def test_templates_leave_the_simulated_event_stream_byte_identical(tmp_path):
    plain = _sim(tmp_path)
    templated = _sim(tmp_path, data=_PER_VU, path="/${data.users.name}/${random.int(1,100)}",
                     body='body = "id=${random.uuid}&n=${random.hex(8)}"')
    assert templated.templates is not None and templated.templates.any_templated
    assert event_digest([_events(plain)]) == event_digest([_events(templated)])


@pytest.mark.parametrize("rows,vus,expected", [(10, 4, [3, 3, 2, 2]), (3, 4, [1, 1, 1, 0]), (100, 4, [6, 6, 6, 6])])
def test_unique_completes_vus_after_their_rows(tmp_path, rows, vus, expected):
    (tmp_path / "ids.csv").write_text("id\n" + "".join(f"{i}\n" for i in range(rows)))
    data = '[[data]]\nname = "ids"\nfile = "ids.csv"\npick = "unique"'
    plan = _sim(tmp_path, data=data, path="/${data.ids.id}")
    events = _events(plan)
    issued = collections.Counter(events[events["kind"] == EventKind.REQUEST_ISSUED]["vu_id"].tolist())
    assert [issued[v] for v in range(1, vus + 1)] == expected
    assert [min(6, z6core.unique_iterations(rows, vus, v)) for v in range(1, vus + 1)] == expected
    # every VU still completes, and a split run (2 shards) gives the same events
    assert (events["kind"] == EventKind.VU_COMPLETE).sum() == vus
    shards = [_events(plan.shard(k, plan.n_vus, 2)) for k in range(2)]
    merged = np.concatenate(shards)
    merged = merged[np.lexsort((merged["seq"], merged["vu_id"], merged["tick"]))]
    ordered = events[np.lexsort((events["seq"], events["vu_id"], events["tick"]))]
    assert merged.tobytes() == ordered.tobytes()


# --- messages -----------------------------------------------------------------

def _plan_error(tmp_path, csv_bytes: bytes, path: str = "/${data.users.name}", name: str = "users.csv") -> str:
    (tmp_path / name).write_bytes(csv_bytes)
    data = f'[[data]]\nname = "users"\nfile = "{name}"'
    (tmp_path / "s.toml").write_text(_SIM.format(seed=1, data=data, path=path, body=""))
    with pytest.raises(ConfigError) as info:
        compile_plan(z6.load_scenario(str(tmp_path / "s.toml")))
    assert info.value.exit_code == 2
    return str(info.value)


@pytest.mark.parametrize("content,expected", [
    (b"", r"users\.csv: the file is empty"),
    (b"name,token\n", r"users\.csv: no rows after the header"),
    (b"name,token\na,b\nc\n", r"users\.csv:3: ragged row: 1 fields, the header has 2"),
    (b"name,token\na,b\n\xff\xfe,c\n", r"users\.csv:3:1: not UTF-8 \(byte 0xff\)"),
    (b"name,name\na,b\n", r"users\.csv:1: column 'name' appears twice"),
    (b'name\n"unclosed\n', r"users\.csv:\d+: not valid CSV"),
])
def test_bad_csv_files_are_named_with_line_and_column(tmp_path, content, expected):
    assert re.search(expected, _plan_error(tmp_path, content))


@pytest.mark.parametrize("content,expected", [
    (b'{"name": "a"}\n{"name": 1\n', r"users\.jsonl:2:\d+: not JSON"),
    (b'{"name": "a"}\n[1]\n', r"users\.jsonl:2:1: each line must be a JSON object"),
    (b'{"name": "a"}\n{"nom": "b"}\n', r"users\.jsonl:2:1: the object lacks \['name'\]"),
    (b"\n\n", r"users\.jsonl: the file is empty"),
    # Python's own limits and json's extensions, named as the file's, never an internal error:
    (b'{"name": "a"}\n{"name": ' + b"9" * 5000 + b"}\n", r"users\.jsonl:2: a number has more digits than z6 reads"),
    (b'{"name": ' + b"[" * 100_000 + b"]" * 100_000 + b"}\n", r"users\.jsonl:1: the object is nested too deeply"),
    (b'{"name": NaN}\n', r"users\.jsonl:1: not JSON: NaN is not JSON"),
    (b'{"name": -Infinity}\n', r"users\.jsonl:1: not JSON: -Infinity is not JSON"),
])
def test_bad_jsonl_files_are_named_with_line_and_column(tmp_path, content, expected):
    assert re.search(expected, _plan_error(tmp_path, content, name="users.jsonl"))


def test_a_header_of_100000_columns_is_read_in_linear_time_and_a_repeat_found(tmp_path):
    # The duplicate check was quadratic: this header kept z6 validate busy past 60 s.
    names = [f"c{i}" for i in range(100_000)]
    header = ",".join(names + ["c99999"]).encode()
    assert re.search(r"users\.csv:1: column 'c99999' appears twice", _plan_error(tmp_path, header + b"\n"))


def test_a_column_the_header_lacks_is_named_with_the_key_and_column(tmp_path):
    message = _plan_error(tmp_path, b"name\nx\n", path="/a/${data.users.email}")
    assert re.search(r"s\.toml: requests\[0\]\.path: column 6: \$\{data\.users\.email\}: data file .*users\.csv "
                     r"has no column 'email' \(its header has \['name'\]\)", message)


@pytest.mark.parametrize("path,expected", [
    # the scenario's path is "/a" + this
    ("/x/${vu", r"requests\[0\]\.path: column 6: unclosed \$\{"),
    ("/x${random.int(5,1)}", r"column 5: .*needs A <= B, got 5 > 1"),
    ("/${random.hex(99999)}", r"column 4: .*random\.hex\(N\) takes a number of digits from 1 to 4096"),
    ("/${env.Z6_SURELY_UNSET_VAR}", r"column 4: .*environment variable Z6_SURELY_UNSET_VAR is not set"),
    ("/${rnd.int}", r"column 4: .*unknown value 'rnd\.int'"),
    # int() refuses over 4300 digits: these were a ValueError (exit 4), and the message
    # quotes at most 60 characters of the expression, not the 4500 digits twice.
    ("/${random.int(1," + "9" * 4500 + ")}", r"column 4: \$\{random\.int\(1,9{44}\.\.\.\}: random\.int's bounds "
                                         r"must be 64-bit signed integers, got '1,9{55}\.\.\.'$"),
    ("/${random.hex(" + "9" * 4500 + ")}", r"column 4: .*random\.hex\(N\) takes a number of digits from 1 to 4096, "
                                         r"got '9{57}\.\.\.'$"),
])
def test_bad_templates_exit_2_with_key_path_and_column(tmp_path, path, expected):
    (tmp_path / "s.toml").write_text(_SIM.format(seed=1, data="", path=path, body=""))
    proc = z6.cli.main(["validate", str(tmp_path / "s.toml")])
    assert proc == 2
    with pytest.raises(ConfigError, match=expected):
        compile_plan(z6.load_scenario(str(tmp_path / "s.toml")))


def test_data_table_keys_are_checked(tmp_path):
    (tmp_path / "u.txt").write_text("a\n1\n")
    for data, expected in [
        ('[[data]]\nname = "u"\nfile = "missing.csv"', r"data\[0\]\.file: no such file"),
        # a file that exists but is none to read: named for what it is
        ('[[data]]\nname = "u"\nfile = "/dev/zero"\nformat = "csv"',
         r"data\[0\]\.file: must be a regular file, got a character device"),
        ('[[data]]\nname = "u"\nfile = "."\nformat = "csv"', r"data\[0\]\.file: must be a regular file, got a directory"),
        ('[[data]]\nname = "u"\nfile = "u.txt"', r"data\[0\]\.format: required key is missing"),
        ('[[data]]\nname = "u"\nfile = "u.txt"\nformat = "csv"\npick = "each"', r"data\[0\]\.pick"),
        ('[[data]]\nname = "1u"\nfile = "u.txt"\nformat = "csv"', r"data\[0\]\.name: must be a name"),
        ('[[data]]\nname = "u"\nfile = "u.txt"\nformat = "csv"\ndelimiter = ";;"', r"data\[0\]\.delimiter"),
    ]:
        (tmp_path / "s.toml").write_text(_SIM.format(seed=1, data=data, path="", body=""))
        with pytest.raises(ConfigError, match=expected):
            z6.load_scenario(str(tmp_path / "s.toml"))


def test_a_million_row_file_loads_into_a_compact_arena(tmp_path):
    # figures are in benchmarks/; this only checks the arena's layout at size
    path = tmp_path / "big.csv"
    with open(path, "w") as f:
        f.write("id,name\n")
        f.writelines(f"{i},user{i}\n" for i in range(1_000_000))
    table = load_data(DataSource(name="big", path=str(path), format="csv", delimiter=",", pick="per_vu"), "t")
    assert table.n_rows == 1_000_000 and table.cell(999_999, 1) == b"user999999"
    assert len(table.arena) + table.cells.nbytes <= 2 * path.stat().st_size


def test_the_summary_says_how_many_vus_ran_out_of_rows_and_the_log_agrees(tmp_path):
    (tmp_path / "ids.csv").write_text("id\n" + "".join(f"{i}\n" for i in range(10)))
    data = '[[data]]\nname = "ids"\nfile = "ids.csv"\npick = "unique"'
    (tmp_path / "s.toml").write_text(_SIM.format(seed=3, data=data, path="/${data.ids.id}", body=""))
    result = z6.run_scenario(z6.load_scenario(str(tmp_path / "s.toml")), out_dir=tmp_path / "run")
    # 4 VUs, 6 iterations each, 10 rows: every VU runs out (3, 3, 2, 2 iterations)
    note = [w for w in result.summary.warnings if "ran out of rows" in w]
    assert note == ['4 VUs ran out of rows of ids (pick = "unique", 10 rows) and completed early']
    assert recompute_run(tmp_path / "run" / "events.z6log").summary.warnings == result.summary.warnings
    (tmp_path / "ids.csv").write_text("id\n" + "".join(f"{i}\n" for i in range(100)))
    (tmp_path / "s2.toml").write_text((tmp_path / "s.toml").read_text())
    plenty = z6.run_scenario(z6.load_scenario(str(tmp_path / "s2.toml")))
    assert not [w for w in plenty.summary.warnings if "ran out" in w]


def test_values_with_crlf_are_warned_about_at_load_by_row_and_column(tmp_path, capsys):
    (tmp_path / "users.csv").write_bytes(b'name,token\nok,t1\n"two\r\nlines",t2\nfine,"t\x003"\n')
    data = '[[data]]\nname = "users"\nfile = "users.csv"'
    (tmp_path / "s.toml").write_text(_SIM.format(seed=1, data=data, path="/${data.users.name}", body=""))
    assert z6.cli.main(["validate", str(tmp_path / "s.toml")]) == 0
    err = capsys.readouterr().err
    assert re.search(r"users\.csv:4: row 2, column 'name' holds CR, LF or NUL", err)
    assert re.search(r"users\.csv:5: row 3, column 'token' holds CR, LF or NUL", err)
    result = z6.run_scenario(z6.load_scenario(str(tmp_path / "s.toml")))
    assert sum("holds CR, LF or NUL" in w for w in result.summary.warnings) == 2


def test_a_body_file_is_a_template_only_with_template_true(tmp_path):
    (tmp_path / "body.json").write_text('{"vu": ${vu}, "n": ${iteration}, "cost": "$5"}')
    base = _ONE.format(seed=1) + 'body_file = "body.json"\n'
    for flag, expected in [("", b'{"vu": ${vu}, "n": ${iteration}, "cost": "$5"}'),
                           ("template = true\n", b'{"vu": 2, "n": 0, "cost": "$5"}')]:
        (tmp_path / "s.toml").write_text(base + flag)
        scenario = z6.load_scenario(str(tmp_path / "s.toml"))
        plan = compile_plan(scenario, mode="live")
        wire = wire_templates(plan.templates, scenario.requests, b"h", b"ua")
        if not flag:
            assert wire is None  # sent pre-serialised, "${" and all
            assert scenario.requests[0].body == expected
            continue
        req, status, data = z6core.rendered_requests(plan, z6core.TemplateTables(wire, 1), 2, 1)[0]
        assert status == z6core.RENDER_OK and data.endswith(b"\r\n\r\n" + expected)
        assert b"Content-Length: %d\r\n" % len(expected) in data
    (tmp_path / "s.toml").write_text(_ONE.format(seed=1) + 'body = "x"\ntemplate = true\n')
    with pytest.raises(ConfigError, match=r"requests\[0\]\.template: applies to body_file only"):
        z6.load_scenario(str(tmp_path / "s.toml"))
    (tmp_path / "body.bin").write_bytes(b'ok\n\xff${vu}')
    (tmp_path / "s.toml").write_text(_ONE.format(seed=1) + 'body_file = "body.bin"\ntemplate = true\n')
    with pytest.raises(ConfigError, match=r"requests\[0\]\.body_file: a template = true body_file must be UTF-8: "
                                          r".*body\.bin:2:1: byte 0xff"):
        compile_plan(z6.load_scenario(str(tmp_path / "s.toml")), mode="live")


def test_an_arrival_rate_schedule_refuses_dynamic_requests(tmp_path):
    # Rows and iterations belong to a closed model's VUs; an arrival takes whichever
    # VU is free. Refused at validation, naming the schedule, with exit 2.
    text = (REPO_EXAMPLES / "arrival_rate.toml").read_text().replace('path = "/api/items"\nweight = 9',
                                                                     'path = "/api/items/${random.int(1,9)}"\nweight = 9')
    path = tmp_path / "open.toml"
    path.write_text(text)
    with pytest.raises(ConfigError, match=r"schedule\.type: an arrival_rate schedule cannot run requests with templates"):
        compile_plan(z6.load_scenario(path), mode="simulate")
    assert z6.cli.main(["validate", str(path)]) == 2
    # A body that merely holds a dollar sign is no template: still accepted.
    plain = tmp_path / "dollar.toml"
    plain.write_text((REPO_EXAMPLES / "arrival_rate.toml").read_text().replace('"qty": 1', '"qty": 1, "price": "$5"'))
    compile_plan(z6.load_scenario(plain), mode="simulate")


def test_a_template_that_can_render_past_the_body_limit_is_refused(tmp_path):
    # Each VU renders into a buffer of its own: 3,000 random.hex(4096) once sent a
    # 12 MB body and a 12 MB header, past MAX_BODY_BYTES, from every VU.
    big = "${random.hex(4096)}" * 2561                      # 10,489,856 bytes: just past 10 MiB
    with pytest.raises(ConfigError, match=r"requests\[1\]\.body: can render to 10489856 bytes, at most 10485760"):
        _sim(tmp_path, body=f"body = '{big}'")
    (tmp_path / "long.csv").write_text("cell\n" + "x" * 100_000 + "\nshort\n")
    data = '[[data]]\nname = "long"\nfile = "long.csv"'
    # the longest cell counts, and a path's values are percent-encoded (three bytes each at most)
    with pytest.raises(ConfigError, match=r"requests\[0\]: the path and headers can render to 12000002 bytes"):
        _sim(tmp_path, data=data, path="${data.long.cell}" * 40)
    fits = "${random.hex(4096)}" * 2560                     # exactly 10 MiB
    assert _sim(tmp_path, body=f"body = '{fits}'").templates is not None
