"""Shared fixtures: the original engine's known-answer files and small scenario helpers."""

from __future__ import annotations

import json
import os
import pathlib
import time
import textwrap
from typing import Callable

import numpy as np
import pytest

import z6

# z6's own pytest plugin (the z6_run fixture). An installed z6 registers it through
# its pytest11 entry point under this same name, so it is never loaded twice; a
# checkout run from its source tree needs it named here.
pytest_plugins = ["z6.pytest_plugin"]

REPO = pathlib.Path(__file__).resolve().parent.parent
# The known answers live in ../shared/reference beside the repository; a byte copy
# sits in tests/data/reference so a lone clone tests too (test_reference_copy
# checks the copy equals the original whenever both are present).
SHARED_REFERENCE = REPO.parent / "shared" / "reference"
LOCAL_REFERENCE = REPO / "tests" / "data" / "reference"


def reference_dir() -> pathlib.Path:
    return SHARED_REFERENCE if SHARED_REFERENCE.is_dir() else LOCAL_REFERENCE


@pytest.fixture(scope="session")
def seed_vectors() -> dict:
    return json.loads((reference_dir() / "z6-seed-vectors.json").read_text())


@pytest.fixture(scope="session")
def seed_trace_text() -> str:
    return (reference_dir() / "z6-seed-trace-3vu.txt").read_text()


def merge_shards(parts: list[np.ndarray]) -> np.ndarray:
    """Shard streams merged by (tick, vu_id), each VU's own order kept (stable)."""
    merged = np.concatenate(parts)
    return merged[np.lexsort((np.arange(merged.size), merged["vu_id"], merged["tick"]))]


def assert_tick_vu_order(events: np.ndarray) -> None:
    """Events are ordered by tick, then vu_id within a tick."""
    tick = events["tick"].astype(np.int64)
    assert np.all(np.diff(tick) >= 0)
    same_tick = np.diff(tick) == 0
    assert np.all(np.diff(events["vu_id"].astype(np.int64))[same_tick] >= 0)


BASE = """
[runtime]
{runtime}

[target]
base_url = "http://127.0.0.1:8080"

{requests}

{extra}
"""

ONE_REQUEST = """
[[requests]]
name = "get"
method = "GET"
path = "/"
"""


def scenario(runtime: str = "duration_seconds = 10\nvus = 10", requests: str = ONE_REQUEST,
             extra: str = '[simulation]\nlatency = { type = "constant", ms = 10 }') -> z6.Scenario:
    """A scenario from TOML fragments (dedented), for tests."""
    text = BASE.format(runtime=textwrap.dedent(runtime), requests=textwrap.dedent(requests),
                       extra=textwrap.dedent(extra))
    return z6.parse_scenario(text, source="test.toml")


@pytest.fixture(autouse=True)
def _runs_go_to_a_temporary_directory(tmp_path_factory, monkeypatch):
    # `z6 run` without --out writes a run directory; in tests it must not land in
    # the checkout.
    monkeypatch.setenv("Z6_RUNS_DIR", str(tmp_path_factory.mktemp("z6-runs")))


# Waiting: tests wait for the condition they need, never for a fixed time.


def wait_until(condition: Callable[[], object], timeout_s: float, interval_s: float = 0.01,
               what: str = "the condition") -> object:
    """Poll ``condition()`` until it returns something true, and return that.

    Raises AssertionError naming ``what`` and how long it waited once ``timeout_s``
    has passed (the condition is tried once more at the deadline). ``timeout_s`` is
    a bound for a hung test, not a timing the test relies on: make it generous.
    """
    started = time.monotonic()
    deadline = started + timeout_s
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() >= deadline:
            value = condition()
            if value:
                return value
            raise AssertionError(f"waited {time.monotonic() - started:.1f} s "
                                 f"(timeout {timeout_s:g} s) for {what}")
        time.sleep(interval_s)


# Processes of a distributed run (Linux /proc), for tests that signal or kill them.


def _children(pid: int) -> list[int]:
    try:
        text = " ".join(open(f"/proc/{pid}/task/{t}/children").read() for t in _tasks(pid))
    except OSError:
        return []
    return [int(c) for c in text.split()]


def _tasks(pid: int) -> list[str]:
    return os.listdir(f"/proc/{pid}/task")


def process_alive(pid: int) -> bool:
    """The process exists and is not a zombie."""
    try:
        state = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def shard_processes(pid: int, n: int, timeout_s: float = 30.0) -> list[int]:
    """The coordinator's shard processes (multiprocessing spawn children)."""
    def shards() -> list[int]:
        found = []
        for child in _children(pid):
            try:
                if b"spawn_main" in open(f"/proc/{child}/cmdline", "rb").read():
                    found.append(child)
            except OSError:
                pass
        return found if len(found) >= n else []

    return wait_until(shards, timeout_s, interval_s=0.05, what=f"{n} shard processes to start")


def tcp_connections(pid: int, port: int) -> int:
    """How many established TCP connections process ``pid`` holds to 127.0.0.1:``port``."""
    inodes = set()
    try:
        for fd in os.listdir(f"/proc/{pid}/fd"):
            try:
                link = os.readlink(f"/proc/{pid}/fd/{fd}")
            except OSError:
                continue
            if link.startswith("socket:["):
                inodes.add(link[8:-1])
        lines = open(f"/proc/{pid}/net/tcp").read().splitlines()[1:]
    except OSError:
        return 0
    peer = f"0100007F:{port:04X}"
    # Columns: sl local_address rem_address st ... inode (the 10th); st 01 is ESTABLISHED.
    return sum(1 for line in lines
               if (cols := line.split())[2] == peer and cols[3] == "01" and cols[9] in inodes)


@pytest.fixture
def tiny_disk(tmp_path):
    """A function ``make(kib)`` mounting a tmpfs of that size under ``tmp_path`` and
    returning its path (unmounted after the test). Skips, with the reason, where
    mounting is not permitted (not root, no CAP_SYS_ADMIN, no tmpfs)."""
    import subprocess

    mounted: list[pathlib.Path] = []

    def make(kib: int) -> pathlib.Path:
        point = tmp_path / f"disk{len(mounted)}"
        point.mkdir()
        done = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={kib}k", "tmpfs", str(point)],
                              capture_output=True, text=True)
        if done.returncode != 0:
            pytest.skip(f"cannot mount a tmpfs here: {done.stderr.strip() or done.returncode}")
        mounted.append(point)
        return point

    try:
        yield make
    finally:
        for point in mounted:
            subprocess.run(["umount", "-l", str(point)], capture_output=True)


def leave_free(disk: pathlib.Path, pages: int) -> int:
    """Fill ``disk`` (a tmpfs) with a file so that ``pages`` blocks stay free; returns the block size."""
    st = os.statvfs(disk)
    filler = (st.f_bavail - pages) * st.f_bsize
    assert filler >= 0, f"{disk} has only {st.f_bavail} blocks free"
    with open(disk / "filler", "wb") as f:
        f.write(b"\0" * filler)
    assert os.statvfs(disk).f_bavail == pages
    return st.f_bsize
