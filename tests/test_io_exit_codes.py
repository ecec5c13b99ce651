"""I/O failures exit by one rule, whatever the command (z6.errors.io_error, README "Exit codes").

* 3: the system failed doing I/O on a usable path: the disk is full (ENOSPC; a
  full device stands in for it, its writes fail with ENOSPC), permission denied on
  an output, EIO.
* 2: the path named is wrong: missing directory, a component that is a file
  (ENOTDIR), a directory where a file is wanted.

And a device named as an output is written, never replaced: renaming a temporary
file over it (the atomic write of a regular file) would swap the device for a file.
"""

from __future__ import annotations

import os
from pathlib import Path
import stat
import sys

import pytest

from z6.cli import main

from conftest import REPO
from test_log_helpers import mixed_scenario, write_log

QUICKSTART = str(REPO / "examples" / "simulated.toml")
ENOSPC = "No space left on device"


@pytest.fixture
def full(tmp_path):
    """A path whose writes fail with ENOSPC: a private copy of /dev/full when root (so that
    a command that wrongly renames over it cannot replace the system's), else /dev/full."""
    if os.geteuid() != 0:
        return "/dev/full"  # not root: nothing can rename over /dev/full
    path = tmp_path / "full"
    try:
        os.mknod(path, 0o666 | stat.S_IFCHR, os.makedev(1, 7))
    except OSError as exc:
        pytest.skip(f"cannot make a full device here: {exc}")
    return str(path)


def _still_a_device(path: str) -> bool:
    return stat.S_ISCHR(os.stat(path).st_mode)


@pytest.fixture(scope="module")
def log(tmp_path_factory):
    return str(write_log(tmp_path_factory.mktemp("log"), mixed_scenario()))


def cli(capsys, *args):
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


# --- disk full on an output the user named: exit 3, the device left as it was ---------------


@pytest.mark.parametrize("option,what", [("-o", "HTML report"), ("--json", "summary document")])
def test_report_to_a_full_disk_exits_3(capsys, log, full, option, what):
    code, _, err = cli(capsys, "report", log, option, full)
    assert code == 3, err
    assert err == f"z6: {full}: cannot write the {what}: {ENOSPC}\n"
    assert _still_a_device(full)


@pytest.mark.parametrize("fmt", ["csv", "jsonl", "npy"])
def test_export_to_a_full_disk_exits_3(capsys, log, full, fmt):
    code, _, err = cli(capsys, "export", log, "--to", fmt, "-o", full)
    assert code == 3 and err == f"z6: {full}: cannot write: {ENOSPC}\n", err
    assert _still_a_device(full)


@pytest.mark.parametrize("argv", [
    ("analyze", "{log}"),
    ("analyze", "{log}", "--format", "json"),
    ("replay", "{log}", "--metrics-only", "--json"),
    ("run", QUICKSTART, "--duration", "1", "--json", "--out", "{tmp}/run"),
], ids=["analyze", "analyze json", "replay metrics-only", "run json"])
def test_standard_output_on_a_full_disk_exits_3(capsys, monkeypatch, log, full, tmp_path, argv):
    with open(full, "w") as stdout:
        monkeypatch.setattr(sys, "stdout", stdout)
        code = main([a.format(log=log, tmp=tmp_path) for a in argv])
    monkeypatch.undo()
    err = capsys.readouterr().err
    assert code == 3, err
    assert err.startswith("z6: cannot write") and err.endswith(f": {ENOSPC}\n") and "Traceback" not in err


# --- a path under a file (ENOTDIR), a missing directory: exit 2 -------------------------------


def test_outputs_under_a_file_exit_2(capsys, log, tmp_path):
    afile = tmp_path / "plain"
    afile.write_text("x")
    cases = [
        (("report", log, "-o", f"{afile}/r.html"), f"{afile}/r.html: cannot write the HTML report: Not a directory"),
        (("report", log, "--json", f"{afile}/s.json"), f"{afile}/s.json: cannot write the summary document"),
        (("export", log, "--to", "csv", "-o", f"{afile}/e.csv"), f"{afile}/e.csv: cannot write: {afile} is not a directory"),
        (("run", QUICKSTART, "--duration", "1", "--quiet", "--out", f"{afile}/run"),
         f"run directory {afile}/run: cannot create it: Not a directory"),
        (("serve", "--port", "0", "--access-log", f"{afile}/access.log"),
         f"access log '{afile}/access.log': cannot open: Not a directory"),
        (("report", log, "-o", str(tmp_path / "missing" / "r.html")), "No such file or directory"),
    ]
    for argv, fragment in cases:
        code, _, err = cli(capsys, *argv)
        assert code == 2 and fragment in err and err.count("\n") == 1, (argv, err)
    assert afile.read_text() == "x"


# --- permission denied on an output: exit 3 ---------------------------------------------------


@pytest.mark.skipif(os.geteuid() == 0, reason="root is not stopped by permission bits")
def test_permission_denied_on_an_output_exits_3(capsys, log, tmp_path):
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o555)
    try:
        for argv in (("report", log, "-o", f"{locked}/r.html"),
                     ("export", log, "--to", "csv", "-o", f"{locked}/e.csv"),
                     ("run", QUICKSTART, "--duration", "1", "--quiet", "--out", f"{locked}/run")):
            code, _, err = cli(capsys, *argv)
            assert code == 3 and "Permission denied" in err, (argv, err)
        assert os.listdir(locked) == []
    finally:
        locked.chmod(0o755)


@pytest.mark.parametrize("argv", [("export", "--to", "csv", "-o", "/dev/stdout"), ("report", "-o", "/dev/stdout")])
def test_an_output_path_that_is_a_closed_pipe_ends_quietly(tmp_path, argv):
    # `z6 export LOG -o /dev/stdout | head -1`: the reader leaves early, as for
    # standard output itself: no message, the command's own exit code.
    import subprocess

    run = tmp_path / "run"
    assert main(["run", str(REPO / "examples" / "simulated.toml"), "--quiet", "--out", str(run)]) in (0, 1)
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(REPO / "python"), os.environ.get("PYTHONPATH", "")]))
    command = [sys.executable, "-m", "z6", argv[0], str(run), *argv[1:]]
    # A reader that closes its end at once: every write into the pipe fails with EPIPE.
    # (exec: killing the shell must end the sleep too, or communicate() waits it out.)
    reader = subprocess.Popen(["sh", "-c", "exec 0<&-; echo closed; exec sleep 30"], stdin=subprocess.PIPE,
                              stdout=subprocess.PIPE)
    try:
        assert reader.stdout.readline() == b"closed\n"
        z6 = subprocess.run(command, stdout=reader.stdin, stderr=subprocess.PIPE, text=True, env=env, timeout=60)
    finally:
        reader.kill()
        reader.communicate()
    assert z6.returncode == 0, z6.stderr
    assert z6.stderr == ""


@pytest.mark.parametrize("target", ["-", "/dev/stdout"])
@pytest.mark.parametrize("argv, to_file", [
    (("export", "--to", "csv", "-o"), ("export", "--to", "csv", "-o")),
    (("report", "--json"), ("report", "--json")),
    (("report", "-o"), ("report", "-o")),
])
def test_standard_output_redirected_to_a_file_gets_the_output(tmp_path, target, argv, to_file):
    # `z6 export LOG --to csv -o - > events.csv`: the records go where the shell
    # pointed stdout, the note to stderr. /dev/stdout then stats as a regular file,
    # and writing it through a temporary file renamed over it replaced the link in
    # /dev with the export, leaving the redirected file empty.
    import subprocess

    run = tmp_path / "run"
    assert main(["run", str(REPO / "examples" / "simulated.toml"), "--quiet", "--out", str(run)]) in (0, 1)
    expected = tmp_path / "expected"
    assert main([to_file[0], str(run), *to_file[1:], str(expected)]) == 0
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(REPO / "python"), os.environ.get("PYTHONPATH", "")]))
    redirected = tmp_path / "stdout"
    # "-" writes to the descriptor the shell opened: `>> FILE` appends. (Reopening
    # /dev/stdout truncates, as it does for any program: the shell's rule, not ours.)
    redirected.write_bytes(b"kept\n" if target == "-" else b"")
    with open(redirected, "ab") as stdout:
        z6 = subprocess.run([sys.executable, "-m", "z6", argv[0], str(run), *argv[1:], target], stdout=stdout,
                            stderr=subprocess.PIPE, text=True, env=env, timeout=60)
    assert z6.returncode == 0, z6.stderr
    named = "standard output" if target == "-" else "/dev/stdout"
    assert named in z6.stderr and "wrote" in z6.stderr  # the note, on stderr
    assert os.path.islink("/dev/stdout") and not [n for n in os.listdir("/dev") if n.startswith(".")]
    assert not (tmp_path / "-").exists() and not (Path.cwd() / "-").exists()
    assert redirected.read_bytes() == (b"kept\n" if target == "-" else b"") + expected.read_bytes()
