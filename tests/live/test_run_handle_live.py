"""`z6.start` on live runs: stop from a thread and from a task, an event loop that
stays responsive while it awaits a run, a slow chunk reader that does not slow
the run, and live statistics that agree with the final summary (docs/api.md)."""

from __future__ import annotations

import asyncio
import threading
import time

import numpy as np
import pytest

import z6
from z6.events import EventKind, outcome_mask
from z6.log import read_log

from .scenarios import request
from .servers import NginxServer

pytestmark = pytest.mark.live

ISSUED = int(EventKind.REQUEST_ISSUED)
COMPLETE = int(EventKind.VU_COMPLETE)


def scenario(base_url: str, *, vus: int, duration_s: float, think_ms: float, path: str = "/",
             graceful_s: float = 5) -> z6.Scenario:
    return z6.parse_scenario(f"""
[metadata]
name = "handle-live"
[runtime]
duration_seconds = {duration_s}
vus = {vus}
prng_seed = 7
graceful_stop_seconds = {graceful_s}
[target]
base_url = "{base_url}"
{request("r", path)}
[think_time]
type = "constant"
duration_ms = {think_ms}
""", source="handle-live.toml")


def check_stopped(result, nginx: NginxServer, stopped_after_s: float, waited_s: float) -> None:
    assert result.status == "stopped"
    # The result came within the graceful stop (5 s; nginx answers in well under 1 ms),
    # long before the planned 60 s.
    assert waited_s < 5
    events = result.events
    issued = events[events["kind"] == ISSUED]
    completes = events[events["kind"] == COMPLETE]
    # Nothing issued after the stop: every VU completed (the schedule runs 60 s).
    # The stop is observed at a tick boundary, so a VU may have issued earlier in
    # the very tick in which the first VU completed, never in a later one; and
    # each VU completed after its own last request.
    assert completes.size == 50
    assert int(issued["tick"].max()) <= int(completes["tick"].min())
    for vu in np.unique(completes["vu_id"]):
        mine = events[events["vu_id"] == vu]
        positions = np.flatnonzero(mine["kind"] == ISSUED)
        complete_at = np.flatnonzero(mine["kind"] == COMPLETE)
        assert complete_at.size == 1
        assert positions.size == 0 or positions[-1] < complete_at[0]
    assert int(completes["tick"].min()) * result.plan.tick_ns / 1e9 < stopped_after_s + 1.0
    assert int(np.count_nonzero(outcome_mask(events["kind"]))) == issued.size
    # The server saw exactly the requests the run issued, none after it returned.
    nginx.stop()
    assert nginx.requests_logged() == result.summary.overall.requests == issued.size


def test_stop_from_another_thread(nginx, tmp_path):
    run = z6.start(scenario(nginx.base_url, vus=50, duration_s=60, think_ms=10), keep_events=True,
                   out_dir=tmp_path / "run")
    time.sleep(1.0)
    assert run.state == "running"
    stopper = threading.Thread(target=run.stop)
    t0 = time.monotonic()
    stopper.start()
    result = run.result(timeout=30)
    check_stopped(result, nginx, stopped_after_s=1.0 + 1.0, waited_s=time.monotonic() - t0)
    assert read_log(tmp_path / "run").status == "stopped"


def test_stop_from_an_asyncio_task(nginx):
    async def main():
        run = z6.start(scenario(nginx.base_url, vus=50, duration_s=60, think_ms=10), keep_events=True)
        await asyncio.sleep(1.0)

        async def stop_it():
            run.stop()
        t0 = time.monotonic()
        await asyncio.create_task(stop_it())
        result = await run
        return result, time.monotonic() - t0

    result, waited = asyncio.run(main())
    check_stopped(result, nginx, stopped_after_s=2.0, waited_s=waited)


def test_awaiting_a_run_leaves_the_event_loop_free(nginx):
    async def main():
        gaps: list[float] = []
        done = asyncio.Event()

        async def ticker():
            last = time.perf_counter()
            while not done.is_set():
                await asyncio.sleep(0.005)
                now = time.perf_counter()
                gaps.append(now - last)
                last = now

        tick_task = asyncio.create_task(ticker())
        result = await z6.start(scenario(nginx.base_url, vus=50, duration_s=2, think_ms=0), keep_events=False)
        done.set()
        await tick_task
        return result, gaps

    result, gaps = asyncio.run(main())
    assert result.status == "completed" and result.summary.overall.requests > 1000
    assert len(gaps) > 100
    assert max(gaps) < 0.050, f"worst ticker gap {max(gaps) * 1e3:.1f} ms"


# 0.2 s a chunk: the reader the issue measured in the engine's thread (requests sent
# 5,528 -> 3,246, lag p99 1.7 -> 204 ms). 0.5 s: slower than the 250 ms at which a
# live engine hands out chunks, so its one-chunk queue must drop some.
@pytest.mark.parametrize("reader_sleep_s", [0.2, 0.5])
def test_a_slow_chunk_reader_does_not_slow_the_run(nginx, reader_sleep_s):
    text = dict(vus=20, duration_s=3, think_ms=10)
    alone = z6.start(scenario(nginx.base_url, **text), keep_events=False).result(timeout=60)

    run = z6.start(scenario(nginx.base_url, **text), keep_events=False, chunk_queue=1)
    read = 0
    for _ in run.chunks():
        read += 1
        time.sleep(reader_sleep_s)
    watched = run.result(timeout=60)
    sent_alone, sent_watched = alone.summary.overall.requests, watched.summary.overall.requests
    assert abs(sent_watched - sent_alone) / sent_alone < 0.15, (sent_alone, sent_watched)
    assert watched.summary.lag.percentiles["p99"] < 50, watched.summary.lag
    assert read > 0
    if reader_sleep_s > 0.25:
        assert watched.chunks_missed > 0
    reported = [w for w in watched.summary.warnings if "chunk reader missed" in w]
    if watched.chunks_missed:
        assert reported and f"missed {watched.chunks_missed} of" in reported[0]
    else:
        assert not reported


def test_stats_agree_with_the_final_summary(builtin_target):
    # A steady run: a fixed server delay (20 ms, against the ~1 ms the server itself
    # may vary by on a busy machine) dominates the latency, think time bounds the rate.
    run = z6.start(scenario(builtin_target.base_url, vus=20, duration_s=4, think_ms=20, path="/delay/20ms"),
                   keep_events=False)
    time.sleep(3.0)
    live = run.stats()
    result = run.result(timeout=60)
    assert live.state == "running" and live.active_vus == 20
    summary = result.summary
    assert abs(live.rate - summary.rate) / summary.rate < 0.10, (live.rate, summary.rate)
    p95, final_p95 = live.latency_ms["p95"], summary.overall.latency.percentiles["p95"]
    assert abs(p95 - final_p95) / final_p95 < 0.10, (p95, final_p95)


def test_base_url_sends_the_run_elsewhere(nginx):
    # The scenario names a port nothing listens on; base_url points the run at nginx.
    elsewhere = scenario("http://127.0.0.1:9", vus=2, duration_s=0.5, think_ms=10)
    result = z6.start(elsewhere, base_url=nginx.base_url, keep_events=False).result(timeout=60)
    assert result.status == "completed" and result.summary.overall.failed == 0
    nginx.stop()
    assert nginx.requests_logged() == result.summary.overall.requests > 0
