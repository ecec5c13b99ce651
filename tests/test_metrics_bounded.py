"""Bounded summary memory: past its exact limit `SummaryBuilder` switches to HDR histograms.

The same events go through a builder that never switches (a huge ``exact_limit``)
and one with a tiny limit: percentiles overall, per request, per status and of the
lag agree within 0.1% (never below the exact ones), counts, min, max and mean are
identical, the switch happens once, at the chunk that would cross the limit, and the
method is reported in the summary, summary.json, the terminal and the HTML header.
"""

from __future__ import annotations

import dataclasses
import json
import math
import mmap
import os
import tracemalloc
from fractions import Fraction

import jsonschema
import numpy as np
import pytest

import z6
from z6.events import EVENT_DTYPE, EventKind, concat_chunks
from z6.metrics import DEFAULT_EXACT_LIMIT, LatencyStats, Summary, SummaryBuilder
from z6.metrics._growable import GrowableArray
from z6.metrics._pages import ordinary_pages_array
from z6.metrics._percentile import exact_sum
from z6.metrics._summary import SummaryBuilder as _Builder
from z6.report import load_schema, render_html, summary_document
from z6core import DEFAULT_HIGHEST_NS, HdrHistogram
from conftest import scenario

K = EventKind
HUGE = 1 << 62
CHUNK = 4096
# The bound a histogram percentile keeps to: the top of its bucket, under 1/1,024 above.
HDR_BOUND = 1 / 1024


@pytest.fixture(scope="module")
def run() -> tuple[z6.Plan, np.ndarray]:
    """A 200-VU simulated run with three requests, three statuses, failures, and a real lag.

    A simulated run issues every request on time; a live one does not. Lags (0 for
    about two requests in three, lognormal otherwise) are written into the
    ``request_issued`` events so the lag histogram has something to resolve.
    """
    requests = "".join(f'\n[[requests]]\nname = "r{i}"\nmethod = "GET"\npath = "/{i}"\nweight = {w}\n'
                       f"timeout_ms = {t}\n" for i, (w, t) in enumerate([(5, 400), (3, 90), (2, 400)]))
    sc = scenario("duration_seconds = 12\nvus = 200", requests=requests,
                  extra='[think_time]\ntype = "exponential"\nmean_ms = 60\n\n[simulation]\n'
                        'latency = { type = "lognormal", median_ms = 20, p99_ms = 150 }\nerror_rate = 0.02\n'
                        'status_codes = { "200" = 85, "404" = 10, "503" = 5 }')
    plan = z6.compile_plan(sc)
    events = concat_chunks(z6.iter_chunks(plan))
    issued = np.flatnonzero(events["kind"] == K.REQUEST_ISSUED)
    rng = np.random.default_rng(5)
    late = issued[rng.random(issued.size) < 0.35]
    events["value_ns"][late] = rng.lognormal(math.log(3e5), 1.2, late.size).astype(np.uint64) + 1
    return plan, events


def _summarise(plan: z6.Plan, events: np.ndarray, chunk: int = CHUNK, **kwargs) -> tuple[SummaryBuilder, Summary]:
    builder = SummaryBuilder(plan.request_names, plan.tick_ns, **kwargs)
    for start in range(0, events.size, chunk):
        builder(events[start:start + chunk])
    return builder, builder.finish()


def _stored_after_each_chunk(events: np.ndarray, chunk: int = CHUNK) -> np.ndarray:
    """Responses plus late lags an exact builder holds after each chunk (worked out from the events;
    a VU's first request, seq 0, is not in the lag)."""
    kept = (events["kind"] == K.RESPONSE_RECEIVED) | ((events["kind"] == K.REQUEST_ISSUED) & (events["value_ns"] != 0)
                                                     & (events["seq"] != 0))
    per_chunk = np.add.reduceat(kept.astype(np.int64), np.arange(0, events.size, chunk))
    return np.cumsum(per_chunk)


def _assert_close(exact: LatencyStats, hdr: LatencyStats, where: str) -> None:
    assert (hdr.count, hdr.min, hdr.mean, hdr.max) == (exact.count, exact.min, exact.mean, exact.max), where
    for label, value in exact.percentiles.items():
        got = hdr.percentiles[label]
        assert value is not None and got is not None, (where, label)
        assert value <= got <= value * (1 + HDR_BOUND), (where, label, value, got)
        assert got <= value * 1.001, (where, label)   # the issue's bound: within 0.1%


def test_every_percentile_agrees_within_a_tenth_of_a_percent(run):
    plan, events = run
    _, exact = _summarise(plan, events, exact_limit=HUGE)
    builder, hdr = _summarise(plan, events, exact_limit=2_000)
    assert (exact.percentile_method, hdr.percentile_method, builder.percentile_method) == ("exact", "hdr", "hdr")
    assert exact.overall.latency.count > 20_000 and exact.lag.count > 20_000

    _assert_close(exact.overall.latency, hdr.overall.latency, "overall")
    assert set(hdr.per_request) == set(exact.per_request) == {"r0", "r1", "r2"}
    for name, r in exact.per_request.items():
        _assert_close(r.latency, hdr.per_request[name].latency, name)
    assert sorted(hdr.per_status) == sorted(exact.per_status) == [200, 404, 503]
    for status, st in exact.per_status.items():
        assert hdr.per_status[status].count == st.count
        _assert_close(st.latency, hdr.per_status[status].latency, f"status {status}")
    _assert_close(exact.lag, hdr.lag, "lag")
    assert exact.lag.min == 0.0 and exact.lag.percentiles["p99"] > 1.0

    # The histograms were used: some percentile is a bucket top, not the measured value.
    assert hdr.overall.latency.percentiles != exact.overall.latency.percentiles
    # Everything but the percentiles and the distribution's bins is identical.
    a, b = exact.to_dict(), hdr.to_dict()
    # (The lag warning quotes its threshold, 10% of the p50 latency.)
    for key in ("requests_by_name", "by_status", "lag_ms", "latency_ms", "latency_distribution",
                "percentile_method", "warnings"):
        del a[key], b[key]
    assert a == b
    assert exact.time_series == hdr.time_series and len(exact.warnings) == len(hdr.warnings) == 1


def test_the_switch_happens_once_at_the_chunk_that_would_cross_the_limit(run, monkeypatch):
    plan, events = run
    limit = 5_000
    stored = _stored_after_each_chunk(events)
    crossing = int(np.argmax(stored > limit))
    assert 0 < crossing < stored.size - 1
    switches = []
    original = _Builder._switch_to_histograms

    def counting(self):
        switches.append(self._events)
        original(self)

    monkeypatch.setattr(_Builder, "_switch_to_histograms", counting)
    builder = SummaryBuilder(plan.request_names, plan.tick_ns, exact_limit=limit)
    for i, start in enumerate(range(0, events.size, CHUNK)):
        builder(events[start:start + CHUNK])
        assert builder.percentile_method == ("hdr" if i >= crossing else "exact"), i
        assert builder.exact_values_kept == (0 if i >= crossing else stored[i]) <= limit, i
    # Before the crossing chunk is kept: the builder never holds more than the limit.
    assert switches == [crossing * CHUNK]
    hdr = builder.finish()
    # Counted once: had the kept values been fed twice (or dropped), the counts would differ.
    _, exact = _summarise(plan, events, exact_limit=HUGE)
    assert hdr.overall.latency.count == exact.overall.latency.count == exact.overall.statuses[200] + \
        exact.overall.statuses[404] + exact.overall.statuses[503]
    assert hdr.lag.count == exact.lag.count == exact.overall.requests - plan.n_vus  # all but each VU's first


def test_the_limit_is_inclusive(run):
    plan, events = run
    total = int(_stored_after_each_chunk(events)[-1])
    at, _ = _summarise(plan, events, exact_limit=total)
    below, _ = _summarise(plan, events, exact_limit=total - 1)
    assert (at.percentile_method, below.percentile_method) == ("exact", "hdr")


def test_the_result_does_not_depend_on_where_the_switch_happened(run):
    plan, events = run
    total = int(_stored_after_each_chunk(events)[-1])
    _, first = _summarise(plan, events, chunk=CHUNK, exact_limit=0)
    _, late = _summarise(plan, events, chunk=65_536, exact_limit=total - 1)
    _, middle = _summarise(plan, events, chunk=1_000, exact_limit=total // 2)
    assert first.percentile_method == late.percentile_method == middle.percentile_method == "hdr"
    assert first.to_dict() == late.to_dict() == middle.to_dict()


def test_a_run_below_the_limit_is_exactly_as_before(run):
    plan, events = run
    _, default = _summarise(plan, events)
    _, huge = _summarise(plan, events, exact_limit=HUGE)
    assert default.percentile_method == "exact"
    assert json.dumps(default.to_dict()) == json.dumps(huge.to_dict())
    received = events[events["kind"] == K.RESPONSE_RECEIVED]
    ms = np.sort(received["value_ns"]) / 1e6
    assert default.overall.latency.percentiles["p99"] == ms[math.ceil(0.99 * ms.size) - 1]
    # The mean is the exact mean of the integer nanoseconds, rounded once to milliseconds.
    assert default.overall.latency.mean == float(Fraction(sum(received["value_ns"].tolist()), ms.size * 10**6))


def test_the_distribution_keeps_its_edges_and_moves_only_responses_at_an_edge(run):
    plan, events = run
    _, exact = _summarise(plan, events, exact_limit=HUGE)
    _, hdr = _summarise(plan, events, exact_limit=0)
    assert hdr.distribution.edges_ms == exact.distribution.edges_ms
    assert sum(hdr.distribution.counts) == sum(exact.distribution.counts) == exact.overall.latency.count
    assert hdr.distribution.counts != exact.distribution.counts   # bucketed, not the same computation
    ns = np.sort(events["value_ns"][events["kind"] == K.RESPONSE_RECEIVED]).astype(np.float64)
    edges = np.array(hdr.distribution.edges_ms) * 1e6
    for i, count in enumerate(hdr.distribution.counts):
        lo, hi = edges[i], edges[i + 1]
        # Surely inside: further than a bucket's width from both edges; possibly: within one of them.
        inside = np.count_nonzero((ns >= lo * (1 + HDR_BOUND)) & (ns < hi * (1 - HDR_BOUND)))
        near = np.count_nonzero((ns >= lo * (1 - HDR_BOUND)) & (ns <= hi * (1 + HDR_BOUND)))
        assert inside <= count <= near, i


def test_memory_stops_growing_once_switched(run):
    """Fed the run again and again (ticks shifted on), an exact builder grows by its
    12 bytes a response; a switched one only by the time series' rows."""
    plan, events = run
    span = int(events["tick"][-1]) + 1
    received = int(np.count_nonzero(events["kind"] == K.RESPONSE_RECEIVED))

    def growth(exact_limit: int) -> int:
        builder = SummaryBuilder(plan.request_names, plan.tick_ns, exact_limit=exact_limit)
        copy = events.copy()
        tracemalloc.start()
        try:
            for rep in range(4):
                copy["tick"] = events["tick"] + np.uint64(rep * span)
                for start in range(0, copy.size, 65_536):
                    builder(copy[start:start + 65_536].copy())
                if rep == 1:
                    before = tracemalloc.get_traced_memory()[0]
            return tracemalloc.get_traced_memory()[0] - before
        finally:
            tracemalloc.stop()

    exact_growth, hdr_growth = growth(HUGE), growth(0)
    assert exact_growth >= 2 * 12 * received
    assert hdr_growth < exact_growth / 50


def test_values_beyond_the_histogram_range_warn():
    events = np.zeros(4, dtype=EVENT_DTYPE)
    events["kind"] = K.RESPONSE_RECEIVED
    events["status"] = 200
    events["tick"] = [1, 2, 3, 4]
    events["value_ns"] = [10**6, 2 * 10**6, 3 * 10**6, DEFAULT_HIGHEST_NS * 4]
    exact = SummaryBuilder(("only",), 1_000_000, exact_limit=HUGE)
    hdr = SummaryBuilder(("only",), 1_000_000, exact_limit=0)
    exact(events)
    hdr(events)
    e, h = exact.finish(), hdr.finish()
    assert e.warnings == () and h.percentile_method == "hdr"
    assert len(h.warnings) == 1 and "1 latencies or lags exceeded the histograms' range (73 min)" in h.warnings[0]
    assert h.overall.latency.max == e.overall.latency.max == DEFAULT_HIGHEST_NS * 4 / 1e6


def test_the_exact_mean_survives_sums_beyond_64_bits():
    values = np.array([2**63, 2**63 + 7, 5], dtype=np.uint64)
    assert exact_sum(values) == 2**64 + 12
    # Narrower unsigned values are summed in one uint64 pass, exactly (beyond 2**32 too).
    narrow = np.full(3 * 2**20 + 5, 2**32 - 1, dtype=np.uint32)
    assert exact_sum(narrow) == (3 * 2**20 + 5) * (2**32 - 1)
    assert exact_sum(narrow[:0]) == 0
    histogram = HdrHistogram()
    histogram.record_values(values)
    expected = float(Fraction(2**64 + 12, 3 * 10**6))
    assert LatencyStats.from_ns(values).mean == LatencyStats.from_histogram(histogram).mean == expected


def test_a_growable_column_holds_what_was_appended_in_one_array():
    column = GrowableArray(np.uint16, ceiling=100_000)
    pieces = [np.arange(n, dtype=np.uint16) for n in (0, 5, 70_000, 29_995, 40_000)]
    sizes = []
    for piece in pieces:
        column.append(piece)
        sizes.append(column._data.size)
    assert np.array_equal(column.view(), np.concatenate(pieces)) and len(column) == 140_000
    # Doubling from 65,536, capped at the ceiling, then exactly what an append beyond it needs.
    assert sizes == [0, 65_536, 100_000, 100_000, 140_000]
    column.clear()
    assert len(column) == 0 and column.view().size == 0


def _advised_huge(array: np.ndarray) -> bool:
    # The VmFlags of the mapping that holds the array's middle byte: "hg" is
    # MADV_HUGEPAGE (numpy advises from the first 2 MiB boundary on, not the head).
    address = array.__array_interface__["data"][0] + array.nbytes // 2
    with open("/proc/self/smaps") as smaps:
        inside = False
        for line in smaps:
            head = line.split()[0]
            if "-" in head and not head.endswith(":"):
                start, end = (int(x, 16) for x in head.split("-"))
                inside = start <= address < end
            elif inside and head == "VmFlags:":
                return "hg" in line.split()[1:]
    raise AssertionError("no mapping holds the array")


def test_an_ordinary_pages_array_holds_what_is_written_and_is_not_advised_huge_pages():
    big = ordinary_pages_array(3_000_000, np.uint32)
    assert big.dtype == np.uint32 and big.shape == (3_000_000,) and big.flags.writeable and big.flags.c_contiguous
    big[:] = np.arange(3_000_000, dtype=np.uint32)
    big[:10].partition(5)
    assert int(big[-1]) == 2_999_999 and int(big[10:].sum(dtype=np.uint64)) == sum(range(10, 3_000_000))
    if hasattr(mmap, "MADV_HUGEPAGE") and os.path.exists("/proc/self/smaps"):
        # The flag is seen where it is asked for (so its absence below means something).
        advised = mmap.mmap(-1, 4 << 20)
        advised.madvise(mmap.MADV_HUGEPAGE)
        assert _advised_huge(np.frombuffer(advised, np.uint8))
        assert not _advised_huge(big)
    assert ordinary_pages_array(0, np.uint64).shape == (0,)
    with pytest.raises(ValueError, match="-1 values"):
        ordinary_pages_array(-1, np.uint32)


@pytest.mark.parametrize("bad", [-1, 1.5, True, "8", None])
def test_a_bad_exact_limit_is_refused(bad):
    with pytest.raises(ValueError, match=f"exact_limit must be a non-negative integer, got {bad!r}"):
        SummaryBuilder(("only",), 1_000_000, exact_limit=bad)


def test_the_default_limit():
    assert SummaryBuilder(("only",), 1_000_000).exact_limit == DEFAULT_EXACT_LIMIT == 8_000_000


# --- where the method is shown ----------------------------------------------

@pytest.fixture(scope="module")
def results() -> tuple[z6.RunResult, z6.RunResult]:
    """One small run, and the same run with its summary recomputed through histograms."""
    result = z6.run_scenario(scenario("duration_seconds = 2\nvus = 20"))
    plan = result.plan
    events = concat_chunks(z6.iter_chunks(plan))
    _, hdr = _summarise(plan, events, exact_limit=0)
    return result, dataclasses.replace(result, summary=hdr)


def test_summary_json_carries_the_method(results):
    exact, hdr = results
    schema = jsonschema.Draft202012Validator(load_schema())
    for result, method in ((exact, "exact"), (hdr, "hdr")):
        document = summary_document(result)
        schema.validate(document)
        assert document["summary"]["percentile_method"] == method
        assert result.summary.to_dict()["percentile_method"] == method
    document = summary_document(exact)
    del document["summary"]["percentile_method"]   # optional: documents from before it existed stay valid
    schema.validate(document)
    document["summary"]["percentile_method"] = "approximate"
    with pytest.raises(jsonschema.ValidationError, match="approximate"):
        schema.validate(document)


def test_the_terminal_says_so_only_for_histograms(results):
    exact, hdr = results
    assert "HDR" not in z6.render_run(exact)
    line = [ln for ln in z6.render_run(hdr).splitlines() if ln.startswith("  percentiles")]
    assert line == ["  percentiles  from HDR histograms (the run outgrew the exact limit): each at most 0.1% "
                    "above the exact value; counts, min, mean and max exact"]


def test_the_html_header_names_the_method(results):
    exact, hdr = results
    assert "<dt>percentiles</dt><dd>exact (nearest rank)</dd>" in render_html(summary_document(exact))
    assert ("<dt>percentiles</dt><dd>HDR histograms: each at most 0.1% above the exact value</dd>"
            in render_html(summary_document(hdr)))
