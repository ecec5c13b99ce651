"""Summary memory benchmark: about 100 million simulated events streamed through `SummaryBuilder`.

    PYTHONPATH=src:python python benchmarks/summary_memory.py
    PYTHONPATH=src:python python benchmarks/summary_memory.py --vus 100000 --duration 60 --json

The workload is benchmarks/scenarios/scale.toml (1 s think, lognormal latency with
median 20 ms and p99 80 ms, 1 ms ticks) at 200,000 VUs for 254 simulated seconds:
about 1.97 events per VU-second, so 100 million events and 50 million responses.
Each case runs `z6.runner.run_plan` (as `z6 run` does: a fresh 65,536-record
chunk at a time) in a fresh child process, so its peak RSS is its own:

* ``engine``: no consumer: what the engine and the chunks cost by themselves;
* ``default``: `z6.SummaryBuilder` with its default ``exact_limit``
  (`z6.metrics.DEFAULT_EXACT_LIMIT`): exact until the limit, then HDR histograms;
* ``at-limit``: the default limit on a shorter run whose responses just fit under
  it (97% of the limit): the most an exact summary holds by default, so the
  highest peak the default reaches, `finish()` included;
* ``exact``: ``exact_limit=2**62``, every latency kept (the memory before the limit
  existed), for contrast. Skipped when the ``default`` case's responses would need
  more than ``--max-exact-gb`` (8 by default) at 36 bytes each (12 kept, up to 24
  more while the columns double and while `finish()` partitions and groups them).

For each: VmHWM (/proc/self/status, see benchmarks/scale.py for why not ru_maxrss)
after import, after the run (the streaming peak) and after ``finish()`` (the
peak), plus times. The ``default`` and ``exact`` cases' percentiles are compared:
every one must agree within 0.1% (a correctness fact, checked); no timing is
asserted.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time

from _z6bench import SCENARIOS, ensure_importable, rate
from scale import _rss_kib_self, peak_rss_kib

SCENARIO = SCENARIOS / "scale.toml"
VUS = 200_000
SIM_SECONDS = 254.0
HUGE_LIMIT = 1 << 62
# What an exact summary holds per response at its peak, at most: 12 bytes kept (8
# while every latency fits in 32 bits, as here), about 24 more while finish()
# partitions a copy and groups one by request, then by status. The wide case
# bounds the guard.
EXACT_PEAK_BYTES_PER_RESPONSE = 36
CASES = ("engine", "default", "at-limit", "exact")
LIMITS = {"engine": "none", "default": "default", "at-limit": "default", "exact": "huge"}
AT_LIMIT_SHARE = 0.97


def _rss_kib_now() -> int:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def run_case(case: str, vus: int, duration_s: float) -> dict:
    """One case in this process (the child's job); return its figures."""
    ensure_importable()
    import z6
    from z6.metrics import DEFAULT_EXACT_LIMIT, SummaryBuilder
    from z6.runner import run_plan

    baseline_kib = peak_rss_kib()
    plan = z6.compile_plan(z6.load_scenario(SCENARIO), vus=vus, duration_s=duration_s)
    limit = {"none": None, "default": DEFAULT_EXACT_LIMIT, "huge": HUGE_LIMIT}[LIMITS[case]]
    builder = None if limit is None else SummaryBuilder(plan.request_names, plan.tick_ns, exact_limit=limit)
    started = time.perf_counter()
    stats = run_plan(plan, [builder] if builder is not None else [])
    run_s = time.perf_counter() - started
    stream_peak_kib = peak_rss_kib()
    result = {
        "case": case,
        "exact_limit": limit,
        "vus": vus,
        "sim_seconds": duration_s,
        "events": int(stats.events),
        "run_s": run_s,
        "events_per_s": rate(stats.events, run_s),
        "baseline_rss_kib": baseline_kib,
        "stream_peak_rss_kib": stream_peak_kib,
        "rss_before_finish_kib": _rss_kib_now(),
    }
    if builder is not None:
        started = time.perf_counter()
        summary = builder.finish()
        result.update(
            finish_s=time.perf_counter() - started,
            responses=summary.overall.latency.count,
            percentile_method=summary.percentile_method,
            latency_ms=summary.overall.latency.to_dict(),
            per_request_latency_ms={name: r.latency.to_dict() for name, r in summary.per_request.items()},
            per_status_latency_ms={str(s): st.latency.to_dict() for s, st in summary.per_status.items()},
            lag_ms=summary.lag.to_dict(),
        )
    result["peak_rss_kib"] = peak_rss_kib()
    result["self_maxrss_kib"] = _rss_kib_self()
    return result


def measure_in_subprocess(case: str, vus: int, duration_s: float) -> dict:
    cmd = [sys.executable, os.path.abspath(__file__), "--child", case, "--vus", str(vus), "--duration", repr(duration_s)]
    proc = subprocess.run(cmd, stdout=subprocess.PIPE, check=False)
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} exited with {proc.returncode}")
    return json.loads(proc.stdout)


def worst_relative_gap(exact: dict, hdr: dict) -> float:
    """The largest (hdr - exact) / exact over every percentile of both summaries.

    Raises SystemExit when a count, min, mean or max differs, or a percentile is
    below the exact one or more than 0.1% above it.
    """
    pairs = [("overall", exact["latency_ms"], hdr["latency_ms"]), ("lag", exact["lag_ms"], hdr["lag_ms"])]
    pairs += [(f"request {k}", v, hdr["per_request_latency_ms"][k]) for k, v in exact["per_request_latency_ms"].items()]
    pairs += [(f"status {k}", v, hdr["per_status_latency_ms"][k]) for k, v in exact["per_status_latency_ms"].items()]
    worst = 0.0
    for where, e, h in pairs:
        for key in ("count", "min", "mean", "max"):
            if e[key] != h[key]:
                raise SystemExit(f"{where} {key}: exact {e[key]}, histogram {h[key]}")
        for key in ("p50", "p90", "p95", "p99", "p99.9"):
            if e[key] is None or e[key] == 0:
                if h[key] != e[key]:
                    raise SystemExit(f"{where} {key}: exact {e[key]}, histogram {h[key]}")
                continue
            gap = (h[key] - e[key]) / e[key]
            if not 0 <= gap <= 0.001:
                raise SystemExit(f"{where} {key}: exact {e[key]}, histogram {h[key]} ({gap:.3%})")
            worst = max(worst, gap)
    return worst


def _mib(kib: int) -> float:
    return kib / 1024.0


def format_row(r: dict) -> str:
    return (f"| {r['case']:>8} | {r['events']:>11,} | {r.get('responses', 0):>10,} | "
            f"{r.get('percentile_method', '-'):>6} | {_mib(r['baseline_rss_kib']):8.0f} | "
            f"{_mib(r['stream_peak_rss_kib']):11.0f} | {_mib(r['peak_rss_kib']):8.0f} | {r['run_s']:6.1f} | "
            f"{r.get('finish_s', 0.0):8.2f} |")


HEADER = ("|     case |      events |  responses | method | base MiB | stream peak | peak MiB |  run s | finish s |\n"
          "|---------:|------------:|-----------:|-------:|---------:|------------:|---------:|-------:|---------:|")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--vus", type=int, default=VUS, help=f"VUs (default {VUS:,})")
    ap.add_argument("--duration", type=float, default=SIM_SECONDS, help=f"simulated seconds (default {SIM_SECONDS:g})")
    ap.add_argument("--max-exact-gb", type=float, default=8.0,
                    help="skip the exact case when it would need more than this (default 8)")
    ap.add_argument("--json", action="store_true", help="print one JSON object per case")
    ap.add_argument("--child", choices=CASES, help=argparse.SUPPRESS)
    args = ap.parse_args(argv)

    if args.child:
        print(json.dumps(run_case(args.child, args.vus, args.duration)))
        return 0

    if not args.json:
        print(HEADER)
    ensure_importable()
    from z6.metrics import DEFAULT_EXACT_LIMIT

    results = {}
    for case in CASES:
        duration = args.duration
        if case == "at-limit":
            # Responses grow in proportion to the simulated time (constant VUs).
            per_second = results["default"]["responses"] / args.duration
            if per_second * args.duration <= DEFAULT_EXACT_LIMIT:
                print("at-limit case skipped: the default case already stayed under the limit", flush=True)
                continue
            duration = round(AT_LIMIT_SHARE * DEFAULT_EXACT_LIMIT / per_second, 3)
        if case == "exact":
            need = results["default"]["responses"] * EXACT_PEAK_BYTES_PER_RESPONSE
            if need > args.max_exact_gb * 1e9:
                print(f"exact case skipped: {results['default']['responses']:,} responses would need about "
                      f"{need / 1e9:.1f} GB (> --max-exact-gb {args.max_exact_gb:g})", flush=True)
                continue
        r = results[case] = measure_in_subprocess(case, args.vus, duration)
        print(json.dumps(r) if args.json else format_row(r), flush=True)
    if "exact" in results:
        gap = worst_relative_gap(results["exact"], results["default"])
        print(f"default vs exact: counts, min, mean, max identical; worst percentile gap {gap:.4%} (bound 0.1%)")
    if not args.json:
        print("\nstream peak: VmHWM after the run, before finish(); peak MiB: VmHWM after finish(); base: after "
              "importing z6. run s: the run with the consumer; finish s: SummaryBuilder.finish().")
    return 0


if __name__ == "__main__":
    sys.exit(main())
