"""Ctrl-C at any instant of `z6 run`: exit 3, "z6: interrupted" (or the run's
interrupted summary once it started), no traceback, no child left, no half-made run
directory (docs/architecture.md, "Interrupts").

Each case starts `python -m z6 run` on the quickstart scenario (a live run against
the built-in target, which `z6 run` starts as a child process), sends real SIGINTs
at an instant measured from when the command's own handler is in place (the
interpreter's start before it, a few tens of milliseconds, is outside any Python
code's reach), and is bounded in time.
"""

from __future__ import annotations

import json
import os
import pathlib
import signal
import subprocess
import sys
import time
import uuid

import pytest

try:
    import tomllib
except ImportError:  # Python 3.10
    import tomli as tomllib

from z6._child_env import child_environment
from conftest import REPO, wait_until

pytestmark = pytest.mark.live

QUICKSTART = REPO / "examples" / "quickstart.toml"
BOUND_S = 30.0
COMPLETE_RUN = {"events.z6log", "summary.json", "scenario.toml"}


def _signals_caught(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/status") as status:
            for line in status:
                if line.startswith("SigCgt:"):
                    return int(line.split()[1], 16)
    except OSError:
        pass
    return 0


def _marked_processes(marker: str) -> list[int]:
    """Processes whose environment holds ``marker`` (the command and its children)."""
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/environ", "rb") as environ:
                    if marker.encode() in environ.read():
                        found.append(int(entry))
            except OSError:
                pass
    return found


def _start(tmp_path: pathlib.Path, marker: str) -> subprocess.Popen[str]:
    environment = child_environment()
    environment["Z6_RUNS_DIR"] = str(tmp_path / "runs")
    environment["Z6_INTERRUPT_TEST"] = marker
    return subprocess.Popen([sys.executable, "-m", "z6", "run", str(QUICKSTART), "--duration", "3", "--quiet"],
                            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env=environment)


def _handler_in_place(process: subprocess.Popen[str]) -> None:
    # z6._entry catches SIGTERM (the interpreter alone does not): its first statement ran.
    def ready() -> bool:
        assert process.poll() is None, process.communicate()
        return bool(_signals_caught(process.pid) & (1 << (signal.SIGTERM - 1)))

    wait_until(ready, 10.0, interval_s=0.0005, what="z6's interrupt handler")


def _check_ended_cleanly(process: subprocess.Popen[str], marker: str, tmp_path: pathlib.Path) -> str:
    try:
        _, err = process.communicate(timeout=BOUND_S)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()
    assert "Traceback" not in err, err
    assert process.returncode == 3, (process.returncode, err)
    assert "z6: interrupted" in err or "z6: run interrupted" in err, err
    # No child left behind (the built-in target runs in a session of its own).
    wait_until(lambda: not _marked_processes(marker), 10.0, what="no process of the run left")
    # No half-made run directory: none, or a complete one.
    runs = tmp_path / "runs"
    for run in (runs.iterdir() if runs.exists() else ()):
        names = {p.name for p in run.iterdir()}
        assert names == COMPLETE_RUN, (run, names, err)
        doc = json.loads((run / "summary.json").read_text())
        assert doc["run"]["status"] == "interrupted" and doc["verdict"]["exit_code"] == 3
    return err


@pytest.mark.parametrize("delay_ms", [0, 50, 100, 200, 300, 500])
def test_one_interrupt_while_starting(tmp_path: pathlib.Path, delay_ms: int) -> None:
    marker = uuid.uuid4().hex
    process = _start(tmp_path, marker)
    _handler_in_place(process)
    time.sleep(delay_ms / 1000)
    process.send_signal(signal.SIGINT)
    _check_ended_cleanly(process, marker, tmp_path)


@pytest.mark.parametrize("first_ms, second_ms", [(0, 60), (50, 130), (100, 170), (200, 290), (300, 380),
                                                 (500, 560)])
def test_two_interrupts_50_to_100_ms_apart_while_starting(tmp_path: pathlib.Path, first_ms: int,
                                                          second_ms: int) -> None:
    marker = uuid.uuid4().hex
    process = _start(tmp_path, marker)
    _handler_in_place(process)
    started = time.monotonic()
    time.sleep(first_ms / 1000)
    process.send_signal(signal.SIGINT)
    time.sleep(max(0.0, started + second_ms / 1000 - time.monotonic()))
    process.send_signal(signal.SIGINT)
    _check_ended_cleanly(process, marker, tmp_path)


@pytest.mark.parametrize("signals", [1, 2])
def test_interrupts_once_the_run_started_give_its_interrupted_summary(tmp_path: pathlib.Path, signals: int) -> None:
    marker = uuid.uuid4().hex
    process = _start(tmp_path, marker)

    sizes: set[int] = set()

    def running() -> bool:
        # The log's header is written before the run starts; events follow in
        # chunks (every 250 ms): a second size means the run is under way.
        assert process.poll() is None, process.communicate()
        for partial in (tmp_path / "runs").glob("*/events.z6log.partial"):
            sizes.add(partial.stat().st_size)
        return len(sizes) > 1

    wait_until(running, BOUND_S, interval_s=0.002, what="the run's first events in its log")
    for _ in range(signals):
        process.send_signal(signal.SIGINT)
        time.sleep(0.07)
    err = _check_ended_cleanly(process, marker, tmp_path)
    assert "z6: run interrupted" in err
    assert len(list((tmp_path / "runs").iterdir())) == 1


def test_the_console_script_is_the_entry_that_handles_interrupts_first() -> None:
    with open(REPO / "pyproject.toml", "rb") as file:
        scripts = tomllib.load(file)["project"]["scripts"]
    assert scripts == {"z6": "z6._entry:main"}


_PROBE = """
import runpy, signal, sys

class Probe:
    # Notes which SIGINT handler is in place when the package's heavy imports begin.
    def find_spec(self, name, path=None, target=None):
        if name in ("numpy", "z6core"):
            print("handler at", name, type(signal.getsignal(signal.SIGINT)).__name__, flush=True)
            sys.meta_path.remove(self)
        return None

sys.meta_path.insert(0, Probe())
sys.argv = ["z6", "--version"]
runpy.run_module("z6", run_name="__main__", alter_sys=True)
"""


def test_the_handler_is_in_place_before_the_package_is_imported() -> None:
    done = subprocess.run([sys.executable, "-c", _PROBE], capture_output=True, text=True,
                          env=child_environment(), timeout=BOUND_S)
    assert done.returncode == 0, done.stderr
    first = done.stdout.splitlines()[0]
    assert first.startswith("handler at ") and first.endswith(" EntryInterrupts"), done.stdout
