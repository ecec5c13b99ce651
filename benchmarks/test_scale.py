"""(b) Scale: 100,000 and 1,000,000 VUs, 1 s constant think, 1 ms ticks, 60 simulated
seconds, lognormal latency (median 20 ms, p99 80 ms): wall time and peak RSS.

Each round is a fresh child process (scale.py --child), so peak RSS is that case's
alone: the child's VmHWM (see scale.py for why not ru_maxrss, which Linux inherits
from this pytest process across fork+exec). The timed quantity is the
whole child process; the child's own compile+run wall time is in the figures.
The 1M case takes several seconds a round, so rounds are few; for a single run
use the script: `python benchmarks/scale.py --vus 1000000`.
"""

from __future__ import annotations

import pytest

from scale import TARGET_RSS_BYTES, TARGET_WALL_S, measure_in_subprocess


@pytest.mark.parametrize("vus,rounds", [(100_000, 3), (1_000_000, 2)], ids=["100k", "1M"])
def test_scale(benchmark, z6_figures, vus, rounds):
    results = []

    def one():
        r = measure_in_subprocess(vus)
        results.append(r)
        return r

    benchmark.pedantic(one, rounds=rounds, iterations=1)

    assert all(r["events"] > 0 and r["vus"] == vus for r in results)
    assert len({r["events"] for r in results}) == 1  # deterministic: same count every process
    r0 = results[0]
    walls = sorted(r["wall_s"] for r in results)
    z6_figures({
        "vus": vus,
        "rounds": len(results),
        "events": r0["events"],
        "requests": r0["requests"],
        "run_s_min": min(r["run_s"] for r in results),
        "wall_s_min": walls[0],
        "wall_s_max": walls[-1],
        "process_s_min": min(r["process_s"] for r in results),
        "events_per_s_max": max(r["events_per_s"] for r in results),
        "peak_rss_mib_max": max(r["peak_rss_kib"] for r in results) / 1024,
        "baseline_rss_mib": r0["baseline_rss_kib"] / 1024,
        "target_wall_s": TARGET_WALL_S,
        "target_rss_mib": TARGET_RSS_BYTES / (1 << 20),
    })
