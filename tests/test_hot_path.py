"""The hot path does not call into Python per request or per VU.

Counted, not timed: a profiler hook counts every Python-level function call made
while the engine runs. The count grows with the number of chunks, not with the
number of VUs or requests.
"""

from __future__ import annotations

import sys

import numpy as np
import pytest

import z6
import z6core
from conftest import scenario


def _python_calls_during(engine, chunk_records):
    calls = 0

    def profiler(frame, event, arg):
        nonlocal calls
        if event in ("call", "c_call"):
            calls += 1

    buf = np.empty(chunk_records, z6core.EVENT_DTYPE)
    chunks = 0
    sys.setprofile(profiler)
    try:
        while not engine.finished:
            engine.fill(buf)
            chunks += 1
    finally:
        sys.setprofile(None)
    return calls, chunks


@pytest.mark.skipif(z6core.DEBUG_BUILD, reason="the debug build traces Cython lines and calls for the profiler")
def test_python_calls_scale_with_chunks_not_requests():
    small = z6.compile_plan(scenario("duration_seconds = 5\nvus = 10"))
    large = z6.compile_plan(scenario("duration_seconds = 5\nvus = 2000"))
    chunk = 1 << 22  # one chunk holds either run
    small_calls, small_chunks = _python_calls_during(z6core.Engine(small), chunk)
    engine = z6core.Engine(large)
    large_calls, large_chunks = _python_calls_during(engine, chunk)
    assert engine.requests_issued > 100 * 10 * 2  # thousands of requests, 200x the VUs
    assert small_chunks == large_chunks == 1
    assert large_calls == small_calls
    assert large_calls <= 5 * large_chunks + 5


@pytest.mark.skipif(z6core.DEBUG_BUILD, reason="the debug build traces Cython lines and calls for the profiler")
def test_the_open_model_engine_calls_python_per_chunk_only():
    def plan(rate, max_vus):
        return z6.compile_plan(scenario("duration_seconds = 5", extra=f"""
[schedule]
type = "arrival_rate"
rate = {rate}
vus = 5
max_vus = {max_vus}
[simulation]
latency = {{ type = "exponential", mean_ms = 20 }}
"""))
    chunk = 1 << 22
    small_calls, small_chunks = _python_calls_during(z6core.OpenEngine(plan(10, 5)), chunk)
    engine = z6core.OpenEngine(plan(20_000, 2000))
    large_calls, large_chunks = _python_calls_during(engine, chunk)
    assert engine.requests_issued > 90_000          # 10,000x the arrivals, hundreds of VUs
    assert small_chunks == large_chunks == 1
    assert large_calls == small_calls <= 5 * large_chunks + 5
