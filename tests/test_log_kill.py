"""A simulated run killed with SIGKILL mid-way leaves a partial log whose complete chunks read."""

from __future__ import annotations

import signal
import subprocess
import sys
import textwrap
import time

import numpy as np
import pytest

import z6
from z6._child_env import child_environment
from z6.analysis import verify_log

from test_log_helpers import read_quietly

# Long enough (hours of simulated time, hundreds of millions of events) that the
# child is always still running when it is killed.
LONG_SCENARIO = """
[runtime]
duration_seconds = 36000
vus = 500
prng_seed = 3

[target]
base_url = "http://127.0.0.1:8080"

[[requests]]
name = "get"
method = "GET"
path = "/"

[think_time]
type = "exponential"
mean_ms = 10

[simulation]
latency = { type = "lognormal", median_ms = 5, p99_ms = 40 }
error_rate = 0.01
"""

CHILD = textwrap.dedent("""
    import sys
    import z6
    from z6.log import EventLogWriter, make_header
    from z6.runner import run_plan

    scenario = z6.parse_scenario(sys.stdin.read(), source="long.toml")
    plan = z6.compile_plan(scenario)
    writer = EventLogWriter(sys.argv[1], make_header(scenario, plan))
    run_plan(plan, [writer], chunk_records=512)   # small chunks: many of them before the kill
    writer.finish()
""")


@pytest.mark.live
@pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="needs SIGKILL")
def test_sigkill_mid_run_leaves_a_readable_partial_log(tmp_path):
    run_dir = tmp_path / "run"
    partial = run_dir / "events.z6log.partial"
    child = subprocess.Popen([sys.executable, "-c", CHILD, str(run_dir)], stdin=subprocess.PIPE,
                             stderr=subprocess.PIPE, env=child_environment())
    try:
        child.stdin.write(LONG_SCENARIO.encode())
        child.stdin.close()
        deadline = time.monotonic() + 60
        while not (partial.exists() and partial.stat().st_size > 512 * 1024):
            assert child.poll() is None, f"the child ended early: {child.stderr.read().decode()}"
            assert time.monotonic() < deadline, "the partial log did not grow within 60 s"
            time.sleep(0.01)
        child.send_signal(signal.SIGKILL)
        assert child.wait(timeout=30) == -signal.SIGKILL
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
        child.stderr.close()

    assert not (run_dir / "events.z6log").exists()
    log, warned = read_quietly(run_dir)
    assert log.path == partial and log.status == "partial" and len(log) > 512 * 1024 // 32 - 512
    assert len(warned) == 1 and "partial log" in warned[0]

    # The complete chunks are exactly the first events of the same run.
    plan = z6.compile_plan(z6.parse_scenario(LONG_SCENARIO, source="long.toml"))
    expected = np.empty(len(log), dtype=z6.EVENT_DTYPE)
    at = 0
    for chunk in z6.iter_chunks(plan, chunk_records=4096):
        take = min(chunk.size, len(log) - at)
        expected[at:at + take] = chunk[:take]
        at += take
        if at == len(log):
            break
    assert np.array_equal(log.events, expected)

    # And replay agrees: a prefix of the re-run.
    result = verify_log(log)
    assert result.matched and "ends early (partial)" in result.message
