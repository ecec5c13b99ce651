"""Inputs that must get exit 2 and one message, never more (issue 12).

A scenario path that names a device, a FIFO, a directory or a huge file; TOML
nested deeper than the parser can recurse; a scenario `validate` accepts but
`run` refuses. Each case: exit 2, one line on stderr naming the file, the key
path or position, the rule and the bad value, no traceback.
"""

from __future__ import annotations

import os
import resource
import subprocess
import sys
from pathlib import Path

import pytest

from z6.cli import main
from z6.scenario import MAX_NESTING, MAX_SCENARIO_BYTES, ScenarioError, parse_scenario

from conftest import REPO

SIMULATED = (REPO / "examples" / "simulated.toml").read_text()
MINIMAL = (
    '[runtime]\nduration_seconds = 1\nvus = 1\n[target]\nbase_url = "http://127.0.0.1:8080"\n'
    '[[requests]]\nname = "home"\nmethod = "GET"\npath = "/"\n'
)


def cli(capsys, *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def _limit_memory() -> None:  # in the child: 1 GiB of address space, so "grows without bound" fails fast
    resource.setrlimit(resource.RLIMIT_AS, (1 << 30, 1 << 30))


def z6_subprocess(*args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(REPO / "python"), os.environ.get("PYTHONPATH", "")]))
    return subprocess.run([sys.executable, "-m", "z6", *args], capture_output=True, text=True, timeout=timeout,
                          env=env, preexec_fn=_limit_memory)


# --- 1. the scenario path: regular files only, size checked before reading ------------


def test_validate_dev_zero_is_refused_before_reading() -> None:
    proc = z6_subprocess("validate", "/dev/zero")
    assert proc.returncode == 2, proc.stderr
    assert proc.stderr.strip() == "z6: /dev/zero: cannot read scenario: must be a regular file, got a character device"


def test_validate_fifo_is_refused_without_waiting_for_a_writer(tmp_path: Path) -> None:
    fifo = tmp_path / "scenario.toml"
    os.mkfifo(fifo)
    proc = z6_subprocess("validate", str(fifo), timeout=30)
    assert proc.returncode == 2 and "must be a regular file, got a FIFO" in proc.stderr and str(fifo) in proc.stderr


def test_validate_directory_is_refused(capsys, tmp_path: Path) -> None:
    code, out, err = cli(capsys, "validate", str(tmp_path))
    assert code == 2 and out == ""
    assert err.strip() == f"z6: {tmp_path}: cannot read scenario: must be a regular file, got a directory"


def test_scenario_over_the_size_limit_is_refused_before_reading(capsys, tmp_path: Path) -> None:
    big = tmp_path / "big.toml"
    with open(big, "wb") as handle:  # sparse: no disk used, and it is never read
        handle.truncate(MAX_SCENARIO_BYTES + 1)
    code, _, err = cli(capsys, "validate", str(big))
    assert code == 2 and "Traceback" not in err
    assert err.strip() == (f"z6: {big}: cannot read scenario: file must be at most {MAX_SCENARIO_BYTES} bytes "
                           f"(16 MiB), got {MAX_SCENARIO_BYTES + 1} bytes")


def test_body_file_fifo_is_refused(tmp_path: Path) -> None:
    os.mkfifo(tmp_path / "body.bin")
    text = MINIMAL.replace('path = "/"', 'path = "/"\nbody_file = "body.bin"')
    with pytest.raises(ScenarioError) as info:
        parse_scenario(text, source="s.toml", base_dir=tmp_path)
    assert info.value.problems == [
        f's.toml: requests[0].body_file: must be a regular file, got a FIFO: "body.bin" (resolved to {tmp_path}/body.bin)'
    ]


# --- 2. nesting: refused before the TOML parser recurses ------------------------------


@pytest.mark.parametrize("depth", [MAX_NESTING + 1, 20_000, 100_000])
def test_deep_arrays_exit_2_with_key_path_and_limit(capsys, tmp_path: Path, depth: int) -> None:
    path = tmp_path / "deep.toml"
    path.write_text(SIMULATED + "\n[metadata2]\nx = " + "[" * depth + "]" * depth + "\n")
    code, _, err = cli(capsys, "validate", str(path))
    assert code == 2, err
    assert err.startswith(f"z6: {path}: metadata2.x: arrays and inline tables must nest at most {MAX_NESTING} "
                          f"levels deep, got level {MAX_NESTING + 1} at line ")
    assert err.count("\n") == 1 and "Traceback" not in err


@pytest.mark.parametrize("depth", [MAX_NESTING + 1, 20_000, 100_000])
def test_deep_inline_tables_exit_2(capsys, tmp_path: Path, depth: int) -> None:
    path = tmp_path / "deep.toml"
    path.write_text("[runtime]\nfoo = " + "{a=" * depth + "1" + "}" * depth + "\n")
    code, _, err = cli(capsys, "validate", str(path))
    assert code == 2, err
    assert err.startswith(f"z6: {path}: runtime.foo: arrays and inline tables must nest at most {MAX_NESTING} ")
    assert "line 2, column" in err


def test_nesting_at_the_limit_parses() -> None:
    text = MINIMAL.replace("[target]", "[metadata]\ntags = [\"a\"]\n[target]") + "\n"
    nested = "[" * (MAX_NESTING - 1) + "]" * (MAX_NESTING - 1)
    # 64 levels: the array itself is level 1; the rule that follows (unknown key) is validation's, not nesting's.
    with pytest.raises(ScenarioError) as info:
        parse_scenario("x = [" + nested + "]\n" + text, source="s.toml")
    assert "nest" not in str(info.value) and "x: unknown key" in str(info.value)


def test_brackets_inside_strings_and_comments_do_not_count() -> None:
    many = "[" * 1000 + "{" * 1000
    text = MINIMAL.replace("[runtime]", f"# {many}\n[runtime]").replace(
        '[target]',
        f'[metadata]\ndescription = "{many}\\"{many}"\nauthor = \'{many}\'\n'
        f'version = """\n{many}\\"""{many}\n"""\nname = \'\'\'{many}\n{many}\'\'\'\n[target]',
    )
    scenario = parse_scenario(text, source="s.toml")
    assert scenario.metadata.author == many and scenario.metadata.description == f'{many}"{many}'


# --- 3. one set of rules: validate refuses exactly what run refuses -------------------

LIVE = (
    '[runtime]\nduration_seconds = 1\nvus = 1\n[target]\nbase_url = "http://127.0.0.1:9"\n'
    '[[requests]]\nname = "home"\nmethod = "GET"\npath = "/"\n'
)
SIM = LIVE + '[simulation]\nlatency = { type = "constant", ms = 5 }\n'

# (name, scenario text, extra run/validate flags, what the message must contain)
DISAGREEMENTS = [
    ("emoji header value", LIVE.replace('path = "/"', 'path = "/"\nheaders = { X-Face = "😀" }'), (),
     "requests[0].headers.X-Face: header value must be ASCII or Latin-1"),
    ("emoji header value, simulated", SIM.replace('path = "/"', 'path = "/"\nheaders = { X-Face = "😀" }'), (),
     "requests[0].headers.X-Face: header value must be ASCII or Latin-1"),
    ("non-ASCII path", LIVE.replace('path = "/"', 'path = "/café"'), (), "requests[0].path: must be ASCII"),
    ("non-ASCII host", LIVE.replace("127.0.0.1:9", "bücher.example"), (), "target.base_url: must be ASCII"),
    ("https, ca_file missing", LIVE.replace('"http://127.0.0.1:9"', '"https://127.0.0.1:9"\nca_file = "nope.pem"'), (),
     "target.ca_file: file must exist"),
    ("TLS key on http", LIVE.replace('"http://127.0.0.1:9"', '"http://127.0.0.1:9"\ninsecure = true'), (),
     "target.insecure: applies to TLS targets only"),
    ("content-length header", LIVE.replace('path = "/"', 'path = "/"\nheaders = { Content-Length = "3" }'), (),
     "requests[0].headers.Content-Length: is set by z6"),
    ("header name not a token", LIVE.replace('path = "/"', 'path = "/"\nheaders = { "X Y" = "1" }'), (),
     "header name must be an HTTP token"),
    ("iterations past the core's counter", LIVE.replace("duration_seconds = 1\n", "iterations = 4294967295\n"), (),
     "runtime.iterations: must be below 4294967295"),
    ("duration past the clock's horizon", SIM.replace("duration_seconds = 1", "duration_seconds = 1e12"), (),
     "runtime.duration_seconds: must be below"),
    ("think time past one draw's cap", SIM + '[think_time]\nduration_ms = 1e15\n', (),
     "think_time.duration_ms: must be below"),
    ("--simulate without a [simulation]", LIVE, ("--simulate",), "a simulated run (--simulate, mode='simulate') needs a [simulation] section"),
]


@pytest.mark.parametrize("name,text,flags,fragment", DISAGREEMENTS, ids=[d[0] for d in DISAGREEMENTS])
def test_validate_and_run_agree(capsys, tmp_path: Path, name: str, text: str, flags: tuple[str, ...],
                                fragment: str) -> None:
    path = tmp_path / "s.toml"
    path.write_text(text)
    v_code, v_out, v_err = cli(capsys, "validate", str(path), *flags)
    r_code, r_out, r_err = cli(capsys, "run", str(path), "--quiet", "--out", str(tmp_path / "run"), *flags)
    assert (v_code, r_code) == (2, 2), (v_err, r_err)
    assert v_err == r_err, (v_err, r_err)
    assert v_err.startswith(f"z6: {path}: ") and fragment in v_err and v_err.count("\n") == 1, v_err
    assert v_out == "" and r_out == "" and not (tmp_path / "run").exists()


def test_validate_simulate_accepts_what_run_simulate_runs(capsys, tmp_path: Path) -> None:
    path = tmp_path / "s.toml"
    path.write_text(SIM.replace("http://", "https://"))  # https is fine for a modelled target
    assert cli(capsys, "validate", str(path))[0] == 0
    assert cli(capsys, "validate", str(path), "--simulate")[0] == 0
    assert cli(capsys, "run", str(path), "--quiet", "--out", str(tmp_path / "run"))[0] == 0


@pytest.mark.parametrize("text", [
    "[" + "a." * 100_000 + "x]\ny = 1\n",
    "[runtime]\n" + "a." * 100_000 + "x = 1\n",
    "x = {" + "a." * 100_000 + "x = 1}\n",
    "a" + ".b" * MAX_NESTING + " = 1\n",
], ids=["table header", "key", "inline table key", "one part over"])
def test_long_dotted_keys_are_refused_before_parsing(text: str) -> None:
    # tomllib takes time quadratic in a dotted key's length (100,000 parts: ~25 s).
    with pytest.raises(ScenarioError) as info:
        parse_scenario(text, source="s.toml")
    assert len(info.value.problems) == 1
    assert f"a dotted key may have at most {MAX_NESTING} parts" in info.value.problems[0]


def test_dots_in_strings_comments_and_numbers_do_not_count() -> None:
    dotted = "a." * 200
    text = MINIMAL.replace("[runtime]", f"# {dotted}\n[runtime]").replace(
        "[target]", f'[metadata]\ndescription = "{dotted}"\nauthor = \'{dotted}\'\n[target]')
    text = text.replace('path = "/"', 'path = "/"\nweight = 1.5') + "".join(
        f'[[requests]]\nname = "r{i}"\nmethod = "GET"\npath = "/{dotted}"\nweight = 0.5\n' for i in range(70))
    scenario = parse_scenario(text, source="s.toml")
    assert scenario.metadata.description == dotted and len(scenario.requests) == 71
    nested_ok = "a" + ".b" * (MAX_NESTING - 1) + " = 1\n"  # 64 parts: the limit; the key itself is unknown
    with pytest.raises(ScenarioError) as info:
        parse_scenario(nested_ok, source="s.toml")
    assert "dotted key" not in str(info.value)


def test_validate_and_run_agree_on_the_open_file_limit(capsys, tmp_path: Path) -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard == resource.RLIM_INFINITY or hard - 63 > 10_000_000:
        pytest.skip(f"the open-file hard limit ({hard}) fits any VU count")
    path = tmp_path / "s.toml"
    path.write_text(LIVE.replace("vus = 1", f"vus = {hard - 63}"))  # one socket more than the limit allows
    v_code, _, v_err = cli(capsys, "validate", str(path))
    r_code, _, r_err = cli(capsys, "run", str(path), "--quiet", "--out", str(tmp_path / "run"))
    assert (v_code, r_code) == (2, 2) and v_err == r_err and "open files" in v_err, (v_err, r_err)
