"""Shared fixtures: the seed's known-answer files and small scenario helpers."""

from __future__ import annotations

import json
import os
import pathlib
import time
import textwrap

import numpy as np
import pytest

import z6

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
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        shards = []
        for child in _children(pid):
            try:
                if b"spawn_main" in open(f"/proc/{child}/cmdline", "rb").read():
                    shards.append(child)
            except OSError:
                pass
        if len(shards) >= n:
            return shards
        time.sleep(0.05)
    raise AssertionError(f"{n} shard processes did not start")
