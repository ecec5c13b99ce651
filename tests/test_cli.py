"""The command line: exit codes, messages on stderr, no tracebacks."""

from __future__ import annotations

import json
import os
import pathlib
import subprocess
import sys

import pytest

from z6.cli import main
from conftest import REPO

QUICKSTART = str(REPO / "examples" / "simulated.toml")


def run_cli(capsys, *args):
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def test_validate_ok(capsys):
    code, out, err = run_cli(capsys, "validate", QUICKSTART)
    assert code == 0 and "valid" in out and err == ""


def test_validate_bad_scenario_exits_2_with_key_path(capsys, tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text(open(QUICKSTART).read().replace("vus = 10", "vus = -3"))
    code, out, err = run_cli(capsys, "validate", str(bad))
    assert code == 2 and out == ""
    assert "bad.toml" in err and "runtime.vus" in err and "-3" in err
    assert "Traceback" not in err


def test_validate_missing_file_exits_2(capsys, tmp_path):
    code, _, err = run_cli(capsys, "validate", str(tmp_path / "nope.toml"))
    assert code == 2 and "nope.toml" in err


def test_run_prints_a_summary(capsys):
    code, out, err = run_cli(capsys, "run", QUICKSTART, "--duration", "3")
    assert code == 0, err
    for word in ("requests", "p50", "p90", "p95", "p99", "p99.9", "max", "list_items", "PASS"):
        assert word in out


def test_run_json(capsys):
    code, out, _ = run_cli(capsys, "run", QUICKSTART, "--json", "--seed", "9", "--vus", "4", "--duration", "2")
    assert code == 0
    doc = json.loads(out)
    assert doc["run"]["seed"] == 9 and doc["run"]["vus"] == 4 and doc["run"]["mode"] == "simulate"
    s = doc["summary"]
    assert s["requests"] == sum(r["requests"] for r in doc["requests"].values())
    assert set(s["latency_ms"]) >= {"min", "p50", "p90", "p95", "p99", "p99.9", "max"}
    assert doc["verdict"]["passed"] is True and all(a["passed"] for a in doc["assertions"])


def test_same_seed_same_summary(capsys):
    _, first, _ = run_cli(capsys, "run", QUICKSTART, "--json", "--duration", "2")
    _, second, _ = run_cli(capsys, "run", QUICKSTART, "--json", "--duration", "2")
    def strip(text: str) -> dict:
        doc = json.loads(text)
        del doc["run"]["wall_s"]  # the only figure that is not a function of the events
        return doc

    assert strip(first) == strip(second)


def test_failed_assertion_exits_1(capsys, tmp_path):
    sc = tmp_path / "strict.toml"
    sc.write_text(open(QUICKSTART).read().replace("p99_latency_ms = 500", "p99_latency_ms = 1"))
    code, out, _ = run_cli(capsys, "run", str(sc), "--duration", "2")
    assert code == 1
    assert "FAIL  p99_latency_ms <= 1" in out


@pytest.mark.parametrize("args, needle", [
    (["run", QUICKSTART, "--vus", "0"], "--vus"),
    (["run", QUICKSTART, "--seed", "-1"], "--seed"),
    (["run", QUICKSTART, "--duration", "abc"], "--duration"),
    # an empty --out once ran into ./z6-runs/ as if none were given
    (["run", QUICKSTART, "--out", ""], "argument --out: must be a directory path, not empty, got ''"),
    (["bogus"], "invalid choice"),
    ([], "required"),
])
def test_usage_errors_exit_2(capsys, args, needle):
    code, _, err = run_cli(capsys, *args)
    assert code == 2 and needle in err and "Traceback" not in err


def test_overrides_refused_for_shaped_schedules(capsys):
    code, _, err = run_cli(capsys, "run", str(REPO / "examples" / "ramp.toml"), "--vus", "3")
    assert code == 2 and "constant" in err


def _live_copy(tmp_path, base_url: str) -> str:
    # The simulated example without its [simulation] section, aimed at base_url.
    text = open(QUICKSTART).read()
    text = text[: text.index("\n[simulation]")] + text[text.index("\n[assertions]"):]
    sc = tmp_path / "live.toml"
    sc.write_text(text.replace('base_url = "http://127.0.0.1:8080"', f'base_url = "{base_url}"'))
    return str(sc)


def test_simulate_flag_without_a_simulation_section_is_a_clear_error(capsys, tmp_path):
    code, _, err = run_cli(capsys, "run", _live_copy(tmp_path, "http://127.0.0.1:8080"), "--simulate")
    assert code == 2 and "[simulation]" in err and "live.toml" in err


def test_an_https_target_validates(capsys, tmp_path):
    code, out, err = run_cli(capsys, "validate", _live_copy(tmp_path, "https://127.0.0.1:8443"))
    assert code == 0 and "valid" in out and err == ""


@pytest.mark.live
def test_unreachable_target_exits_3_naming_it(capsys, tmp_path):
    import socket

    with socket.socket() as s:  # a loopback port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    code, out, err = run_cli(capsys, "run", _live_copy(tmp_path, f"http://127.0.0.1:{port}"))
    assert code == 3 and f"127.0.0.1:{port}" in err and "unreachable" in err and out == ""
    # A run that never started leaves no run directory behind.
    runs = pathlib.Path(os.environ["Z6_RUNS_DIR"])
    assert list(runs.iterdir()) == []


def test_a_run_directory_that_cannot_be_completed_exits_3_with_the_log_sealed_first(capsys, tmp_path):
    out = tmp_path / "run"
    (out / "summary.json").mkdir(parents=True)  # summary.json cannot be written over a directory
    code, _, err = run_cli(capsys, "run", QUICKSTART, "--duration", "1", "--out", str(out))
    assert code == 3 and "summary.json" in err and "cannot write" in err and "Traceback" not in err
    # The log is sealed before the summary is written (docs/output.md, "Order of
    # writes"), and the message says so.
    assert (out / "events.z6log").exists() and not (out / "events.z6log.partial").exists()
    assert "sealed and complete" in err


@pytest.mark.live
def test_unresolvable_host_exits_3_naming_it(capsys, tmp_path):
    code, _, err = run_cli(capsys, "run", _live_copy(tmp_path, "http://no-such-host.invalid:80"))
    assert code == 3 and "no-such-host.invalid" in err and "resolve" in err


@pytest.mark.live
def test_console_entry_point_runs_as_a_process():
    proc = subprocess.run([sys.executable, "-m", "z6.cli", "validate", QUICKSTART],
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr


def _z6_with_stdin(stdin: bytes, *args: str):
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(REPO / "python"), os.environ.get("PYTHONPATH", "")]))
    return subprocess.run([sys.executable, "-m", "z6", *args], input=stdin, capture_output=True, env=env,
                          timeout=120)


def test_a_scenario_read_from_standard_input_runs_as_its_file_would(tmp_path):
    # `cat s.toml | z6 run -`, as `k6 run -`: the same events as the file's run, and a
    # run directory that replays (the log holds the text; its source is <stdin>).
    from z6.log import read_log

    text = pathlib.Path(QUICKSTART).read_bytes()
    validated = _z6_with_stdin(text, "validate", "-")
    assert validated.returncode == 0 and validated.stdout.startswith(b"<stdin>: valid (3 requests")
    from_stdin = _z6_with_stdin(text, "run", "-", "--quiet", "--json", "--out", str(tmp_path / "stdin"))
    from_file = _z6_with_stdin(b"", "run", QUICKSTART, "--quiet", "--json", "--out", str(tmp_path / "file"))
    assert from_stdin.returncode == from_file.returncode == 0, (from_stdin.stderr, from_file.stderr)
    a, b = read_log(tmp_path / "stdin" / "events.z6log"), read_log(tmp_path / "file" / "events.z6log")
    assert a.footer.digest == b.footer.digest and a.header.scenario_source == "<stdin>"
    assert json.loads(from_stdin.stdout)["summary"] == json.loads(from_file.stdout)["summary"]
    assert main(["replay", str(tmp_path / "stdin"), "--verify"]) == 0


@pytest.mark.parametrize("stdin, message", [
    (b"", b"<stdin>: target: required key is missing"),
    (b"\xff\xfe[runtime]", b"<stdin>: must be UTF-8 text, got an invalid byte at offset 0"),
    (b"#" * (16 * 1024 * 1024 + 1), b"<stdin>: cannot read scenario: it must be at most 16777216 bytes (16 MiB), got more"),
    (None, b"<stdin>: cannot read scenario: standard input is closed"),
])
def test_a_bad_scenario_on_standard_input_exits_2_naming_stdin(stdin, message):
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(REPO / "python"), os.environ.get("PYTHONPATH", "")]))
    command = [sys.executable, "-m", "z6", "validate", "-"]
    if stdin is None:  # the shell's `<&-`
        proc = subprocess.run(["sh", "-c", 'exec "$@" <&-', "sh", *command], capture_output=True, env=env,
                              timeout=60)
    else:
        proc = _z6_with_stdin(stdin, "validate", "-")
    assert proc.returncode == 2 and message in proc.stderr and b"Traceback" not in proc.stderr, proc.stderr


@pytest.mark.parametrize("preset", [None, "3"], ids=["default", "user's"])
def test_the_command_gives_numpys_blas_one_thread_unless_the_user_chose(preset):
    # OpenBLAS reads the variable when numpy is imported, which the entry point
    # does after setting it; a program importing z6 is left alone.
    env = {k: v for k, v in os.environ.items() if k != "OPENBLAS_NUM_THREADS"}
    if preset is not None:
        env["OPENBLAS_NUM_THREADS"] = preset
    script = ("import os, sys\n"
              "import z6\n"
              "before = os.environ.get('OPENBLAS_NUM_THREADS')\n"
              "from z6._entry import main\n"
              "code = main(['validate', sys.argv[1]])\n"
              "print(code, before, os.environ.get('OPENBLAS_NUM_THREADS'))\n")
    proc = subprocess.run([sys.executable, "-c", script, QUICKSTART], env=env, capture_output=True, text=True,
                          timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split()[-3:] == ["0", str(preset), preset or "1"]


@pytest.mark.parametrize("own_process", [True, False], ids=["the command's process", "a program's call"])
def test_the_commands_process_keeps_its_objects_from_the_collector_and_a_program_keeps_its_own(own_process):
    # The command's own process (no argv: sys.argv's) freezes what its imports made
    # and what is left at its end, so neither they nor the interpreter's exit walks
    # them; a program calling main with its own argv finds its collector as it was.
    call = "main()" if own_process else "main(['validate', path])"
    script = ("import gc, sys\n"
              "from z6._entry import main\n"
              "path = sys.argv[1]\n"
              "sys.argv = ['z6', 'validate', path]\n"
              f"code = {call}\n"
              "print(code, gc.get_freeze_count() > 0, gc.isenabled())\n")
    proc = subprocess.run([sys.executable, "-c", script, QUICKSTART], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split()[-3:] == ["0", str(own_process), "True"]


def test_bad_seed_text_names_the_problem_not_the_parser(capsys):
    code, _, err = run_cli(capsys, "run", QUICKSTART, "--seed", "abc")
    assert code == 2 and "--seed" in err and "'abc'" in err and "_seed" not in err


def test_duration_beyond_the_horizon_exits_2(capsys):
    code, _, err = run_cli(capsys, "run", QUICKSTART, "--duration", "1e300")
    # the flag's value, named as the flag's (not as the file's runtime.duration_seconds)
    assert code == 2 and err == "z6: --duration (duration_s=): must be below 4.61169e+09 (the simulated clock's horizon), got 1e+300\n"


@pytest.mark.parametrize("text", ["1m30s", "90s", "1.5m", "90000ms", "0.025h"])
def test_duration_takes_units_as_k6_does(capsys, tmp_path, text):
    # k6 users type --duration 5m; the run is the same run as with plain seconds.
    import z6

    digests = set()
    for index, given in enumerate((text, "90")):
        out = tmp_path / str(index)
        assert run_cli(capsys, "run", QUICKSTART, "--duration", given, "--quiet", "--out", str(out))[0] == 0
        log = z6.read_log(out / "events.z6log")
        assert log.header.duration_override_s == 90.0
        digests.add(log.footer.digest)
    assert len(digests) == 1


def test_k6s_short_flags_run_the_same_run(capsys, tmp_path):
    import z6

    digests = set()
    for index, flags in enumerate((["-u", "4", "-d", "2s", "-q"], ["--vus", "4", "--duration", "2", "--quiet"])):
        code, out, err = run_cli(capsys, "run", QUICKSTART, *flags, "--out", str(tmp_path / str(index)))
        assert code == 0 and "4 VUs" in out, err
        digests.add(z6.read_log(tmp_path / str(index) / "events.z6log").footer.digest)
    assert len(digests) == 1


@pytest.mark.parametrize("text", ["0s", "0", "-5s", "5x", "1m-1s", "s", "nan", "inf", "1e400", "", "5 m", "1" * 70 + "s"])
def test_a_duration_that_is_not_one_exits_2_naming_the_forms(capsys, text):
    code, out, err = run_cli(capsys, "run", QUICKSTART, f"--duration={text}")
    assert code == 2 and out == ""
    assert err == (f"z6 run: argument -d/--duration: must be a positive duration: seconds (90, 2.5) or with units "
                   f"(30s, 5m, 1h30m, 500ms), got {text!r}\n")


def test_version_names_z6_the_core_build_and_python(capsys):
    import platform

    import z6
    import z6core

    with pytest.raises(SystemExit) as exit_info:
        main(["--version"])
    assert exit_info.value.code == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == f"z6 {z6.__version__}"
    build = "debug" if z6core.DEBUG_BUILD else "release"
    assert lines[1].startswith(f"core: {build} build, poller {z6core.POLLER}, OpenSSL ")
    assert z6core.OPENSSL_VERSION in lines[1]
    assert lines[2].startswith(f"Python {platform.python_version()} ")
