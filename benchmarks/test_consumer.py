"""(c) "The hot path never touches Python per request or per VU."

100,000 VUs (scenarios/scale.toml: 1 s think, lognormal 20/80 ms, 60 s at 1 ms
ticks), the same run three ways, one reused 65,536-record chunk buffer:

* engine: the fill loop alone;
* engine+noop: a Python callable invoked on every chunk (the per-chunk Python cost);
* engine+summary: `z6.SummaryBuilder` on every chunk (vectorised numpy per chunk,
  then `finish()`), i.e. what `z6 run` does to build the summary.

Python runs once per 65,536 events, so engine vs engine+noop should show the same
time per event; engine+summary adds the summary's own numpy work.
"""

from __future__ import annotations

import numpy as np
import pytest

import z6
import z6core
from _z6bench import CHUNK_RECORDS, SCENARIOS, drain, rate

VUS = 100_000
ROUNDS = 5


class _Noop:
    def __init__(self) -> None:
        self.chunks = 0
        self.events = 0

    def __call__(self, chunk) -> None:
        self.chunks += 1
        self.events += len(chunk)


@pytest.fixture(scope="module")
def plan():
    return z6.compile_plan(z6.load_scenario(SCENARIOS / "scale.toml"), vus=VUS)


@pytest.mark.parametrize("consumer", ["engine", "engine+noop", "engine+summary"])
def test_consumer_overhead(benchmark, z6_figures, plan, consumer):
    buf = np.empty(CHUNK_RECORDS, dtype=z6core.EVENT_DTYPE)
    last = {}

    def setup():
        engine = z6core.Engine(plan)
        if consumer == "engine":
            consumers = ()
        elif consumer == "engine+noop":
            consumers = (_Noop(),)
        else:
            consumers = (z6.SummaryBuilder(plan.request_names, plan.tick_ns),)
        last.update(engine=engine, consumers=consumers)
        return (engine, buf, consumers), {}

    def run(engine, buf, consumers):
        n = drain(engine, buf, consumers)
        for c in consumers:
            if isinstance(c, z6.SummaryBuilder):
                c.finish()
        return n

    events = benchmark.pedantic(run, setup=setup, rounds=ROUNDS, iterations=1, warmup_rounds=1)

    engine = last["engine"]
    assert events > 0 and events == engine.events_emitted
    for c in last["consumers"]:
        if isinstance(c, _Noop):
            assert c.events == events
        elif isinstance(c, z6.SummaryBuilder):
            s = c.finish()
            assert s.to_dict()  # built from every chunk
    stats = benchmark.stats.stats if benchmark.stats else None
    t_min = stats.min if stats else float("nan")
    t_med = stats.median if stats else float("nan")
    z6_figures({
        "consumer": consumer,
        "vus": VUS,
        "events": int(events),
        "chunks": -(-int(events) // CHUNK_RECORDS),
        "min_s": t_min,
        "median_s": t_med,
        "ns_per_event_min": t_min / events * 1e9,
        "events_per_s_min": rate(events, t_min),
        "events_per_s_median": rate(events, t_med),
    })
