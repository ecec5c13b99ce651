"""The summary folded in the core equals the numpy reference, field for field.

`z6.metrics.SummaryBuilder` folds chunks with `z6core.SummaryAccumulator` (C,
without the GIL); `z6.metrics._reference.ReferenceSummaryBuilder` is the numpy
builder it replaced. Fed the same chunks they must give equal `Summary` objects
(every dataclass field) and equal `to_dict()` documents: on every example, with
the exact limit never reached, crossed mid-run and 0; on simulated runs drawn by
hypothesis (seeds, schedules, latency models, statuses, errors, timeouts); and
on synthetic streams holding what a simulated run never makes (connections, TLS,
transport errors, cancellations, statuses beyond the dense table, unknown kinds).
Also: a bad chunk refused with the reference's message and nothing counted;
`snapshot()` read from another thread while a run is folded.
"""

from __future__ import annotations

import threading
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import z6
from z6.events import EVENT_DTYPE, NO_REQUEST, EventKind
from z6.metrics import RunningSummary, SummaryBuilder
from z6.metrics._reference import ReferenceSummaryBuilder
from z6.runner import iter_chunks
from z6core import KIND_SLOTS, SummaryAccumulator

EXAMPLES = sorted((Path(__file__).resolve().parent.parent / "examples").glob("*.toml"))


def _both(plan_or_names, tick_ns: int, chunks, **kwargs):
    """Fold ``chunks`` through the core builder and the reference; return both summaries."""
    core = SummaryBuilder(plan_or_names, tick_ns, **kwargs)
    reference = ReferenceSummaryBuilder(plan_or_names, tick_ns, **kwargs)
    for chunk in chunks:
        core(chunk)
        reference(chunk)
    assert core.percentile_method == reference.percentile_method
    assert core.exact_values_kept == reference.exact_values_kept
    return core.finish(), reference.finish()


def _assert_same(core, reference) -> None:
    # Field by field first, for a readable failure; then the whole objects and documents.
    for name in core.__dataclass_fields__:
        assert getattr(core, name) == getattr(reference, name), name
    assert core == reference
    assert core.to_dict() == reference.to_dict()


def _chunks(plan, size: int) -> list[np.ndarray]:
    return list(iter_chunks(plan, size))


@pytest.mark.parametrize("path", EXAMPLES, ids=[p.stem for p in EXAMPLES])
@pytest.mark.parametrize("exact_limit", [8_000_000, 50, 0], ids=["exact", "switch", "hdr"])
def test_every_example_gives_the_reference_summary(path, exact_limit):
    scenario = z6.load_scenario(path)
    plan = z6.compile_plan(scenario)
    chunks = _chunks(plan, 997)   # chunks that cut seconds and VU cycles anywhere
    sizes = [10 + 7 * i for i in range(len(plan.request_names))]
    think = z6.metrics.mean_think_ms(scenario.think_time)
    core, reference = _both(plan.request_names, plan.tick_ns, chunks, exact_limit=exact_limit,
                            request_bytes=sizes, think_ms=think)
    _assert_same(core, reference)
    # A run with fewer responses than the limit never has to switch to histograms.
    switches = core.overall.latency.count > exact_limit
    assert core.percentile_method == ("hdr" if switches else "exact")


def test_examples_fold_to_the_same_summary_whatever_the_chunking():
    plan = z6.compile_plan(z6.load_scenario(EXAMPLES[0]))
    one = SummaryBuilder(plan.request_names, plan.tick_ns)
    for chunk in _chunks(plan, 65_536):
        one(chunk)
    events = np.concatenate(_chunks(plan, 4_096))
    many = SummaryBuilder(plan.request_names, plan.tick_ns)
    for i in range(events.size):   # one event a chunk
        many(events[i:i + 1])
    assert one.finish() == many.finish()


_SCHEDULES = st.one_of(
    st.builds(lambda vus: f'type = "constant"\nvus = {vus}', st.integers(1, 40)),
    st.builds(lambda a, b: f'type = "ramp"\nstart_vus = {a}\nend_vus = {b}\nramp_duration_seconds = 2\n'
                           "hold_duration_seconds = 1",
              st.integers(0, 10), st.integers(1, 40)),
    st.builds(lambda base, spike: f'type = "spike"\nbaseline_vus = {base}\nspike_vus = {base + spike}\n'
                                  "spike_start_seconds = 1\nspike_duration_seconds = 1",
              st.integers(0, 10), st.integers(1, 30)),
)
_LATENCIES = st.sampled_from([
    '{ type = "constant", ms = 3 }',
    '{ type = "uniform", min_ms = 1, max_ms = 90 }',
    '{ type = "lognormal", median_ms = 20, p99_ms = 400 }',
    '{ type = "exponential", mean_ms = 15 }',
])


@st.composite
def _scenarios(draw) -> str:
    statuses = draw(st.dictionaries(st.sampled_from(["200", "201", "302", "404", "429", "500", "503"]),
                                    st.integers(1, 50), min_size=1, max_size=4))
    status_table = ", ".join(f'"{code}" = {weight}' for code, weight in sorted(statuses.items()))
    think = draw(st.integers(0, 300))
    timeout = draw(st.sampled_from([30_000, 60, 25]))
    error_rate = draw(st.sampled_from([0, 0.02, 0.3]))
    capacity = draw(st.sampled_from(["", "capacity = 5"]))
    seed = draw(st.integers(0, 2**32))
    return f"""
[runtime]
duration_seconds = 3
prng_seed = {seed}

[target]
base_url = "http://127.0.0.1:8080"

[[requests]]
name = "a"
method = "GET"
path = "/a"
weight = 3
timeout_ms = {timeout}

[[requests]]
name = "b"
method = "GET"
path = "/b"
weight = 1

[schedule]
{draw(_SCHEDULES)}

[think_time]
type = "uniform"
min_ms = 0
max_ms = {think + 1}

[simulation]
latency = {draw(_LATENCIES)}
error_rate = {error_rate}
status_codes = {{ {status_table} }}
{capacity}
"""


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(text=_scenarios(), chunk=st.sampled_from([64, 1_000, 65_536]),
       exact_limit=st.sampled_from([8_000_000, 500, 0]))
def test_randomized_simulated_runs_give_the_reference_summary(tmp_path, text, chunk, exact_limit):
    path = tmp_path / "s.toml"
    path.write_text(text)
    plan = z6.compile_plan(z6.load_scenario(path))
    core, reference = _both(plan.request_names, plan.tick_ns, _chunks(plan, chunk), exact_limit=exact_limit,
                            request_bytes=[100, 7])
    _assert_same(core, reference)


# --- synthetic streams: what only a live run (or a corrupt one) makes -------------

_KINDS = [int(k) for k in EventKind] + [21, 40, KIND_SLOTS - 1, KIND_SLOTS, 300]


@st.composite
def _streams(draw):
    n = draw(st.integers(1, 400))
    events = np.zeros(n, dtype=EVENT_DTYPE)
    events["tick"] = np.cumsum(draw(st.lists(st.integers(0, 700), min_size=n, max_size=n)))
    events["kind"] = draw(st.lists(st.sampled_from(_KINDS), min_size=n, max_size=n))
    events["value_ns"] = draw(st.lists(st.sampled_from([0, 1, 999, 2_000_000, 123_456_789, 2**45]),
                                       min_size=n, max_size=n))
    events["status"] = draw(st.lists(st.sampled_from([0, 1, 2, 200, 404, 503, 1023, 1024, 4000]),
                                     min_size=n, max_size=n))
    events["error"] = draw(st.lists(st.sampled_from([0, 2, 4, 9, 11, 34, 200]), min_size=n, max_size=n))
    events["seq"] = draw(st.lists(st.integers(0, 2), min_size=n, max_size=n))
    events["vu_id"] = draw(st.lists(st.integers(1, 5), min_size=n, max_size=n))
    requests = np.array(draw(st.lists(st.integers(0, 2), min_size=n, max_size=n)), dtype=np.uint16)
    # Events that end or start no request may name none, or any index.
    counted = np.isin(events["kind"], [3, 4, 5, 6, 7, *range(14, 21)])
    loose = draw(st.lists(st.sampled_from([0, 7, NO_REQUEST]), min_size=n, max_size=n))
    events["request"] = np.where(counted, requests, np.array(loose, dtype=np.uint16))
    return events


@settings(max_examples=150, deadline=None)
@given(events=_streams(), chunk=st.integers(1, 120), exact_limit=st.sampled_from([10**9, 40, 0]),
       tick_ms=st.sampled_from([1, 7, 1000]))
def test_synthetic_streams_give_the_reference_summary(events, chunk, exact_limit, tick_ms):
    chunks = [events[i:i + chunk] for i in range(0, events.size, chunk)]
    core, reference = _both(("a", "b", "c"), tick_ms * 1_000_000, chunks, exact_limit=exact_limit,
                            request_bytes=[10, 20, 30], think_ms=5.0)
    _assert_same(core, reference)


@settings(max_examples=80, deadline=None)
@given(data=st.data(), n=st.integers(1, 300), exact_limit=st.integers(0, 300))
def test_the_switch_to_histograms_gives_each_status_its_values(data, n, exact_limit):
    # The switch hands a request whose responses share one status its whole
    # histogram, and records the others' values one by one: some requests here have
    # one status (a listed one, or one beyond the dense table, among them), some several.
    shares = [data.draw(st.lists(st.sampled_from([(200, 0), (404, 0), (503, 0), (404, 34), (1024, 0), (4000, 0)]),
                                 min_size=1, max_size=2, unique=True)) for _ in range(3)]
    events = np.zeros(n, dtype=EVENT_DTYPE)
    events["tick"] = np.arange(n) * 3
    events["kind"] = int(EventKind.RESPONSE_RECEIVED)
    events["request"] = data.draw(st.lists(st.integers(0, 2), min_size=n, max_size=n))
    for i in range(n):
        events[i]["status"], events[i]["error"] = data.draw(st.sampled_from(shares[int(events[i]["request"])]))
    events["value_ns"] = data.draw(st.lists(st.integers(1, 2**40), min_size=n, max_size=n))
    chunk = data.draw(st.integers(1, 64))
    core, reference = _both(("a", "b", "c"), 1_000_000, [events[i:i + chunk] for i in range(0, n, chunk)],
                            exact_limit=exact_limit)
    _assert_same(core, reference)


@pytest.mark.parametrize("exact_limit", [10**9, 250])
@pytest.mark.parametrize("big", [2**32, 2**32 + 7, 2**63 + 5])
def test_latencies_kept_narrow_are_widened_in_place_by_the_first_that_needs_64_bits(big, exact_limit):
    # The exact column holds uint32 until a response of 2**32 ns or more; that
    # chunk widens every value kept before it, which must read back unchanged (the
    # summary equals the reference's), and the switch to histograms (exact_limit
    # 250, crossed after the widening) reads the widened values of mixed requests.
    rng = np.random.default_rng(7)
    n = 300
    events = np.zeros(n, dtype=EVENT_DTYPE)
    events["tick"] = np.arange(n)
    events["kind"] = int(EventKind.RESPONSE_RECEIVED)
    events["request"] = rng.integers(0, 3, n)
    events["status"] = rng.choice([200, 404], n)
    events["value_ns"] = rng.integers(2**32 - 3, 2**32, n)      # the largest narrow values
    events["value_ns"][:5] = [0, 1, 2**31, 2**32 - 1, 2**32 - 2]
    events["value_ns"][170] = big
    chunks = [events[i:i + 40] for i in range(0, n, 40)]      # the big one in the fifth
    builder = SummaryBuilder(("a", "b", "c"), 1_000_000, exact_limit=exact_limit)
    for chunk in chunks[:4]:
        builder(chunk)
    values, _, _ = builder._core.exact_latencies()
    assert values.dtype == np.uint32 and np.array_equal(values, events["value_ns"][:160])
    builder(chunks[4])
    values, requests, statuses = builder._core.exact_latencies()
    assert values.dtype == np.uint64 and np.array_equal(values, events["value_ns"][:200])
    assert np.array_equal(requests, events["request"][:200]) and np.array_equal(statuses, events["status"][:200])
    core, reference = _both(("a", "b", "c"), 1_000_000, chunks, exact_limit=exact_limit)
    _assert_same(core, reference)
    assert core.percentile_method == ("exact" if exact_limit > n else "hdr")


@pytest.mark.parametrize("kept_before, chunk", [(0, 50), (70_000, 35_000)])
def test_the_widening_of_an_empty_column_or_one_that_also_grows_keeps_every_value(kept_before, chunk):
    # A wide latency in the first chunk widens a column with no capacity yet; after
    # 70,000 narrow values (capacity 131,072), a chunk of 100,000 with one wide
    # latency widens the column and grows it in the same step.
    rng = np.random.default_rng(11)
    n = kept_before + 100_000
    events = np.zeros(n, dtype=EVENT_DTYPE)
    events["tick"] = np.arange(n) // 50
    events["kind"] = int(EventKind.RESPONSE_RECEIVED)
    events["request"] = rng.integers(0, 2, n)
    events["status"] = 200
    events["value_ns"] = rng.integers(0, 2**32, n)
    events["value_ns"][kept_before + 99_999] = 2**40 + 3
    chunks = [events[i:i + chunk] for i in range(0, kept_before, chunk)] + [events[kept_before:]]
    builder = SummaryBuilder(("a", "b"), 1_000_000)
    for part in chunks:
        builder(part)
    values, requests, _ = builder._core.exact_latencies()
    assert values.dtype == np.uint64 and np.array_equal(values, events["value_ns"])
    assert np.array_equal(requests, events["request"])
    core, reference = _both(("a", "b"), 1_000_000, chunks)
    _assert_same(core, reference)


def test_connections_tls_and_transport_failures_are_counted_as_the_reference_counts_them():
    rows = [  # (tick, kind, request, status, error, value_ns, seq)
        (0, EventKind.CONN_ESTABLISHED, NO_REQUEST, 0, 0, 500_000, 0),
        (1, EventKind.CONN_ESTABLISHED, NO_REQUEST, 1, 0, 9_000_000, 0),
        (2, EventKind.CONN_ESTABLISHED, NO_REQUEST, 2, 0, 1_000_000, 0),
        (3, EventKind.REQUEST_ISSUED, 0, 0, 0, 0, 0),
        (4, EventKind.ERROR_TCP, 0, 0, 4, 0, 0),
        (5, EventKind.REQUEST_ISSUED, 0, 0, 0, 3_000_000, 1),
        (6, EventKind.REQUEST_CANCELLED, 0, 0, 10, 0, 1),
        (7, EventKind.REQUEST_ISSUED, 0, 0, 0, 0, 2),
        (8, EventKind.RESPONSE_RECEIVED, 0, 2000, 0, 4_000_000, 2),
    ]
    events = np.zeros(len(rows), dtype=EVENT_DTYPE)
    for i, (tick, kind, request, status, error, value, seq) in enumerate(rows):
        events[i] = (tick, value, 1, int(kind), request, status, error, seq)
    core, reference = _both(("only",), 1_000_000, [events])
    _assert_same(core, reference)
    assert core.connections.to_dict() == {"opened": 3, "tls_full": 1, "tls_resumed": 1,
                                          "connect_ms": {"mean": 3.5, "max": 9.0}}
    assert core.overall.errors == {"error:conn_reset": 1, "cancelled": 1, "http_20xx": 1}
    assert core.overall.statuses == {2000: 1} and core.overall.failed == 3   # 2000 >= 400 fails


@pytest.mark.parametrize("exact_limit", [8_000_000, 0], ids=["exact", "hdr"])
def test_requests_without_responses_take_no_histogram_of_their_own(exact_limit):
    # A histogram is 270 KiB: one for each of 65,534 requests made z6 run take
    # 9.3 GB and 35 s for 8,000 events. A request gets its own at its first response.
    names = tuple(f"r{i}" for i in range(5000))
    rows = [(0, EventKind.REQUEST_ISSUED, 7, 0, 0, 0, 0), (3, EventKind.RESPONSE_RECEIVED, 7, 200, 0, 3_000_000, 0),
            (4, EventKind.REQUEST_ISSUED, 4999, 0, 0, 0, 0), (9, EventKind.RESPONSE_RECEIVED, 4999, 503, 0, 5_000_000, 0),
            (9, EventKind.REQUEST_ISSUED, 11, 0, 0, 0, 0)]
    events = np.zeros(len(rows), dtype=EVENT_DTYPE)
    for i, (tick, kind, request, status, error, value, seq) in enumerate(rows):
        events[i] = (tick, value, 1, int(kind), request, status, error, seq)
    core, reference = _both(names, 1_000_000, [events], exact_limit=exact_limit)
    _assert_same(core, reference)
    assert core.per_request["r7"].latency.count == 1 and core.per_request["r11"].latency.count == 0
    accumulator = SummaryAccumulator(len(names), 1_000_000)
    accumulator.fold(events)
    histograms = accumulator.request_histograms()
    assert histograms[7].total_count == 1 and histograms[4999].total_count == 1
    empty = {id(h) for i, h in enumerate(histograms) if i not in (7, 4999)}
    assert len(empty) == 1 and histograms[0].total_count == 0          # one shared empty histogram
    assert accumulator.overall_histogram().total_count == 2
    snapshot = accumulator.snapshot()
    assert snapshot["per_request"][7][:2] == (1, 1) and snapshot["per_request"][11][:2] == (1, 0)


# --- kinds counted generically ----------------------------------------------------

def test_a_kind_appended_later_is_counted_per_kind_and_request_without_new_code():
    events = np.zeros(5, dtype=EVENT_DTYPE)
    events["tick"] = [0, 1, 2, 3, 4]
    events["kind"] = [21, 21, 3, 21, KIND_SLOTS + 5]   # 21: the open model's iteration_dropped
    events["request"] = [1, NO_REQUEST, 1, 1, 0]
    accumulator = SummaryAccumulator(2, 1_000_000)
    accumulator.fold(events)
    by_request = accumulator.request_kind_counts()
    assert by_request.shape == (3, KIND_SLOTS)
    assert by_request[1, 21] == 2 and by_request[2, 21] == 1 and by_request[1, 3] == 1
    assert accumulator.kind_counts()[21] == 3 and accumulator.other_kinds == 1
    builder = SummaryBuilder(("a", "b"), 1_000_000)
    builder(events)
    assert builder.snapshot().events_by_kind == {3: 1, 21: 3}


# --- bad chunks -------------------------------------------------------------------

def _run_chunks():
    plan = z6.compile_plan(z6.load_scenario(EXAMPLES[0]))
    return plan, _chunks(plan, 500)


def _error(builder, chunk) -> str:
    with pytest.raises(ValueError) as raised:
        builder(chunk)
    return str(raised.value)


@pytest.mark.parametrize("damage", ["request", "tick_within", "tick_before"])
def test_a_bad_chunk_is_refused_as_the_reference_refuses_it_and_nothing_of_it_is_counted(damage):
    plan, chunks = _run_chunks()
    names = plan.request_names
    core, reference, clean = (SummaryBuilder(names, plan.tick_ns), ReferenceSummaryBuilder(names, plan.tick_ns),
                              SummaryBuilder(names, plan.tick_ns))
    for chunk in chunks[:2]:
        core(chunk)
        reference(chunk)
        clean(chunk)
    bad = chunks[2].copy()
    if damage == "request":
        at = int(np.flatnonzero(bad["kind"] == int(EventKind.RESPONSE_RECEIVED))[3])
        bad["request"][at] = len(names)
    elif damage == "tick_within":
        bad["tick"][100:] = bad["tick"][99] - 1 if bad["tick"][99] else 0
        bad["tick"][:100] = bad["tick"][99] + 1
    else:
        bad["tick"][:] = 0
    message = _error(core, bad)
    assert message == _error(reference, bad)
    assert ("names request" in message) if damage == "request" else ("out of tick order" in message)
    for chunk in chunks[2:]:
        core(chunk)
        clean(chunk)
    assert core.finish() == clean.finish()


@pytest.mark.parametrize("count", [True, False], ids=["counting", "bound"])
@pytest.mark.parametrize("damage", ["request", "tick_within", "tick_before"])
def test_the_check_refuses_the_same_chunks_whether_it_counts_or_not(damage, count):
    plan, chunks = _run_chunks()
    core = SummaryAccumulator(len(plan.request_names), plan.tick_ns)
    core.check(chunks[0], count)
    core.fold(chunks[0])
    clean = chunks[1]
    kinds = clean["kind"]
    kept = int(np.count_nonzero(kinds == int(EventKind.RESPONSE_RECEIVED))) + int(np.count_nonzero(
        (kinds == int(EventKind.REQUEST_ISSUED)) & (clean["value_ns"] != 0) & (clean["seq"] != 0)
        & (clean["status"] == 0)))
    assert core.check(clean, count) == (kept if count else clean.size)
    bad = clean.copy()
    if damage == "request":
        bad["request"][int(np.flatnonzero(kinds == int(EventKind.REQUEST_ISSUED))[0])] = len(plan.request_names)
    elif damage == "tick_within":
        bad["tick"][50] = bad["tick"][49] - 1
        bad["tick"][:50] = bad["tick"][49]
    else:
        bad["tick"][:] = 0
    with pytest.raises(ValueError, match="names request" if damage == "request" else "out of tick order"):
        core.check(bad, count)


def test_the_accumulator_refuses_what_is_not_an_event_chunk():
    accumulator = SummaryAccumulator(1, 1_000_000)
    with pytest.raises(TypeError, match="EVENT_DTYPE"):
        accumulator.fold(np.zeros(3, dtype=np.uint64))
    with pytest.raises(ValueError, match="C-contiguous"):
        accumulator.fold(np.zeros(6, dtype=EVENT_DTYPE)[::2])
    with pytest.raises(ValueError, match="n_requests"):
        SummaryAccumulator(0xFFFF, 1_000_000)
    with pytest.raises(ValueError, match="tick_ns"):
        SummaryAccumulator(1, 0)
    # The builder takes a strided chunk (it makes it contiguous first).
    builder = SummaryBuilder(("a",), 1_000_000)
    events = np.zeros(6, dtype=EVENT_DTYPE)
    builder(events[::2])
    assert builder.finish().events == 3


# --- snapshot(): the figures so far, from another thread -------------------------

def test_snapshot_reads_the_figures_so_far_while_another_thread_folds():
    scenario = z6.load_scenario(EXAMPLES[-1])
    plan = z6.compile_plan(scenario)
    chunks = _chunks(plan, 200)
    builder = SummaryBuilder(plan.request_names, plan.tick_ns)
    assert builder.snapshot().latency_ms == {"p50": None, "p95": None, "p99": None}
    seen: list[RunningSummary] = []
    folding = threading.Thread(target=lambda: [builder(chunk) for chunk in chunks])
    folding.start()
    while folding.is_alive():
        seen.append(builder.snapshot())
    folding.join()
    last = builder.snapshot()
    summary = builder.finish()
    # Each snapshot is one consistent moment: counts never go back, and add up.
    for before, after in zip(seen, seen[1:]):
        assert before.events <= after.events and before.completed <= after.completed
    for snap in seen:
        assert snap.requests == sum(r.requests for r in snap.per_request.values())
        assert snap.events == sum(snap.events_by_kind.values())
    assert last.events == summary.events and last.requests == summary.overall.requests
    assert last.completed == summary.overall.completed and last.failed == summary.overall.failed
    assert last.errors == dict(sorted(summary.overall.errors.items()))
    assert {n: (r.requests, r.completed, r.failed) for n, r in last.per_request.items()} == \
        {n: (r.requests, r.completed, r.failed) for n, r in summary.per_request.items()}
    assert last.elapsed_s == pytest.approx(summary.duration_s)
    # HDR: at or above the exact nearest-rank value, by less than 1/1,024 of it.
    for label in ("p50", "p95", "p99"):
        exact = summary.overall.latency.percentiles[label]
        assert exact <= last.latency_ms[label] < exact * (1 + 1 / 1024) + 1e-6, label


def test_snapshot_counts_failures_with_the_summary_labels():
    events = np.zeros(4, dtype=EVENT_DTYPE)
    events["tick"] = [0, 1, 2, 3]
    events["kind"] = [int(EventKind.REQUEST_TIMEOUT), int(EventKind.ERROR_TCP), int(EventKind.RESPONSE_RECEIVED),
                      int(EventKind.RESPONSE_RECEIVED)]
    events["error"] = [6, 2, 0, 0]
    events["status"] = [0, 0, 503, 200]
    events["value_ns"] = [0, 0, 1_000_000, 3_000_000]
    builder = SummaryBuilder(("a",), 1_000_000)
    builder(events)
    snap = builder.snapshot()
    assert snap.errors == {"error:connect_refused": 1, "http_5xx": 1, "timeout": 1}
    assert (snap.completed, snap.failed, snap.error_rate) == (4, 3, 0.75)
    assert snap.latency_ms["p50"] == pytest.approx(1.0, rel=1 / 1024)
    assert builder.finish().overall.errors == snap.errors
