"""`z6 replay`: re-run the scenario a log records and check the log against it.

Simulated runs (docs/architecture.md, determinism 1) must match event for event: the header's
scenario text is parsed again, compiled with the header's seed and overrides,
cut to the header's VU range, run, and compared record by record with the log,
streaming (memory: a chunk of each stream).

Live runs (determinism 3) must match each VU's request sequence: the request
index of every ``request_issued`` event, per VU in ``seq`` order, against
``z6core.expected_requests`` (memory: 18 bytes a request).

A log ends with the run's assertion results (kinds ``assertion_passed`` = 12,
``assertion_failed`` = 13) after the engine's events. The comparison covers the
engine's events; the assertion events are checked separately: the summary of the
engine's events is rebuilt, the scenario's assertions evaluated on it
(`z6.assertions.evaluate_assertions`), and the log must hold one assertion event
per result, in that order, passed or failed alike. Only their kinds are compared.
A run that completed always appends them, so a completed log without them is a
mismatch; a log that did not complete is checked on those it holds.

A log that did not complete (partial, or a run interrupted or failed) matches
when its events are a prefix of the re-run's. A complete log's footer (record
count, counts per kind, digest) must also agree with its records.

Request bodies play no part in either comparison: when a ``body_file`` of the
recorded scenario no longer exists, the scenario is re-run without that body and
the result's ``remarks`` say so (`z6.analysis._header_scenario`).
"""

from __future__ import annotations

import dataclasses
import hashlib
import os
from dataclasses import dataclass, field
from typing import Any, Callable, Iterator, Optional

import numpy as np

import z6core
from z6.errors import printable
from z6.analysis._header_scenario import parse_header_scenario, plan_from_header
from z6.analysis._recompute import LogSource
from z6.assertions import applies_default, assertion_count, evaluate_assertions
from z6.distributed import iter_split_chunks, split_plan
from z6.events import ErrorCode, EventKind
from z6.log import EventLog, LogHeader, read_log
from z6.live import wire_templates
from z6.log._format import kind_label
from z6.metrics import SummaryBuilder, iteration_requests
from z6.runner import DEFAULT_CHUNK_RECORDS, iter_chunks

__all__ = ["VerifyResult", "verify_log", "describe_record"]

_ASSERTION_KINDS = np.array([EventKind.ASSERTION_PASSED, EventKind.ASSERTION_FAILED], dtype=np.uint16)
_ISSUED = int(EventKind.REQUEST_ISSUED)
_NO_REQUEST = 0xFFFF


@dataclass(frozen=True)
class VerifyResult:
    """What `verify_log` found. When ``matched`` is False and the difference is an
    event, ``index`` (its record number in the log; for a live log, its VU's request
    number), ``tick``, ``vu_id`` and the ``expected`` / ``got`` records (dicts of
    fields, None where a stream had ended) locate it; ``message`` says it all.
    ``notes`` are problems beside the events (each makes it a mismatch);
    ``remarks`` are said beside the verdict without changing it."""

    matched: bool
    mode: str
    records: int
    message: str
    index: Optional[int] = None
    tick: Optional[int] = None
    vu_id: Optional[int] = None
    expected: Optional[dict[str, Any]] = None
    got: Optional[dict[str, Any]] = None
    notes: tuple[str, ...] = field(default_factory=tuple)
    remarks: tuple[str, ...] = field(default_factory=tuple)

    def to_dict(self) -> dict[str, Any]:
        return {
            "matched": self.matched,
            "mode": self.mode,
            "records": self.records,
            "message": self.message,
            "index": self.index,
            "tick": self.tick,
            "vu_id": self.vu_id,
            "expected": self.expected,
            "got": self.got,
            "notes": list(self.notes),
            "remarks": list(self.remarks),
        }


def _as_log(source: LogSource) -> EventLog:
    return source if isinstance(source, EventLog) else read_log(source)


def describe_record(record: Optional[np.void], request_names: tuple[str, ...]) -> str:
    """One line naming every field of a record (names for kind, request and error)."""
    if record is None:
        return "(nothing)"
    request = int(record["request"])
    if request == _NO_REQUEST:
        request_text = "-"
    else:
        request_text = printable(request_names[request]) if request < len(request_names) else str(request)
    try:
        error = ErrorCode(int(record["error"])).name.lower()
    except ValueError:
        error = str(int(record["error"]))
    return (f"tick {int(record['tick'])}, VU {int(record['vu_id'])}: {kind_label(int(record['kind']))} "
            f"request={request_text} status={int(record['status'])} error={error} "
            f"value_ns={int(record['value_ns'])} seq={int(record['seq'])}")


def _record_dict(record: Optional[np.void]) -> Optional[dict[str, Any]]:
    if record is None:
        return None
    return {name: int(record[name]) for name in record.dtype.names}


class _LoggedRecords:
    """The log's records split into the engine's events and the trailing assertion
    events, hashing and counting all of them for the footer check on the way."""

    def __init__(self, log: EventLog) -> None:
        self.log = log
        self.sha = hashlib.sha256()
        self.kind_counts = np.zeros(0, np.int64)
        self.records = 0
        self.engine_records = 0
        self.assertion_kinds: list[int] = []
        self.misplaced: Optional[int] = None  # record number of an engine event after assertion events
        self.exhausted = False

    def _count(self, chunk: np.ndarray) -> None:
        self.sha.update(chunk)
        counts = np.bincount(chunk["kind"])
        if counts.size > self.kind_counts.size:
            counts[: self.kind_counts.size] += self.kind_counts
            self.kind_counts = counts.astype(np.int64)
        else:
            self.kind_counts[: counts.size] += counts

    def engine_chunks(self) -> Iterator[np.ndarray]:
        """Yield the engine's events; collect the assertion events that follow them."""
        in_assertions = False
        for chunk in self.log.iter_chunks():
            self._count(chunk)
            base = self.records
            self.records += chunk.size
            if not in_assertions:
                is_assertion = np.isin(chunk["kind"], _ASSERTION_KINDS)
                if not is_assertion.any():
                    self.engine_records += chunk.size
                    yield chunk
                    continue
                start = int(np.argmax(is_assertion))
                if start:
                    self.engine_records += start
                    yield chunk[:start]
                in_assertions = True
                tail, tail_base = chunk[start:], base + start
            else:
                tail, tail_base = chunk, base
            tail_is_assertion = np.isin(tail["kind"], _ASSERTION_KINDS)
            if self.misplaced is None and not tail_is_assertion.all():
                self.misplaced = tail_base + int(np.argmin(tail_is_assertion))
            self.assertion_kinds.extend(tail["kind"][tail_is_assertion].tolist())
        self.exhausted = True

    def footer_problem(self) -> Optional[str]:
        footer = self.log.footer
        if footer is None or not self.exhausted:
            return None
        if self.sha.hexdigest() != footer.digest:
            return "the footer's digest does not match the records (the footer or the records were altered)"
        counts = {kind_label(k): int(n) for k, n in enumerate(self.kind_counts.tolist()) if n}
        if counts != dict(footer.kind_counts):
            return f"the footer's counts per kind {dict(footer.kind_counts)} do not match the records' {counts}"
        return None


def _rows(records: np.ndarray) -> np.ndarray:
    # 32-byte records as four u64 words: one vectorised comparison per row.
    return records.view(np.uint64).reshape(-1, 4)


def _first_difference(
    expected: Iterator[np.ndarray],
    got: Iterator[np.ndarray],
    on_match: Callable[[np.ndarray], None],
) -> tuple[int, Optional[np.void], Optional[np.void]]:
    """Walk two record streams in step; return ``(index, expected, got)`` at the first
    difference (None for a stream that ended there), or ``(count, None, None)``."""
    exp_buf: Optional[np.ndarray] = None
    got_buf: Optional[np.ndarray] = None
    index = 0
    while True:
        while exp_buf is None or exp_buf.size == 0:
            exp_buf = next(expected, None)
            if exp_buf is None:
                break
        while got_buf is None or got_buf.size == 0:
            got_buf = next(got, None)
            if got_buf is None:
                break
        if exp_buf is None or got_buf is None:
            return (index, None if exp_buf is None else exp_buf[0], None if got_buf is None else got_buf[0])
        n = min(exp_buf.size, got_buf.size)
        a, b = np.ascontiguousarray(exp_buf[:n]), np.ascontiguousarray(got_buf[:n])
        differs = np.flatnonzero((_rows(a) != _rows(b)).any(axis=1))
        if differs.size:
            k = int(differs[0])
            on_match(b[:k])
            return index + k, a[k], b[k]
        on_match(b)
        index += n
        exp_buf, got_buf = exp_buf[n:], got_buf[n:]


def _scenario_note(header: LogHeader) -> tuple[str, ...]:
    digest = hashlib.sha256(header.scenario_text.encode("utf-8")).hexdigest()
    if digest != header.scenario_sha256:
        return (f"the header's scenario text hashes to {digest[:16]}..., not to its scenario_sha256 "
                f"{header.scenario_sha256[:16]}...: the scenario was altered after the run",)
    return ()


def _header_problems(header: LogHeader, plan) -> list[str]:
    problems = []
    if tuple(plan.request_names) != header.request_names:
        problems.append(f"the scenario's requests are {list(plan.request_names)}, the header's "
                        f"{list(header.request_names)}")
    if int(plan.tick_ns) != header.tick_ns:
        problems.append(f"the scenario's tick is {plan.tick_ns} ns, the header's {header.tick_ns} ns")
    return problems


def _without_default(assertions):
    return dataclasses.replace(assertions, default=False)


def _predates_default(assertions, logged: list[int]) -> bool:
    """A log written before the default verdict existed: it holds exactly the
    scenario's own results, one fewer than the default adds today."""
    return applies_default(assertions) and len(logged) == assertion_count(assertions) - 1


def _assertion_problem(scenario, summary, logged: list[int]) -> Optional[str]:
    assertions = scenario.assertions
    if _predates_default(assertions, logged):
        # Judged as the run that wrote the log judged it: without the default.
        assertions = _without_default(assertions)
    results = evaluate_assertions(assertions, summary)
    expected = [int(EventKind.ASSERTION_PASSED if r.passed else EventKind.ASSERTION_FAILED) for r in results]
    if len(expected) != len(logged):
        return (f"the log holds {len(logged)} assertion events, the scenario's assertions give {len(expected)} "
                "results")
    for n, (want, have, result) in enumerate(zip(expected, logged, results)):
        if want != have:
            scope = "" if result.scope == "overall" else f"[{result.scope}] "
            return (f"assertion {n} ({scope}{result.name}): the log says {kind_label(have)}, the re-run "
                    f"says {kind_label(want)} (measured {result.measured})")
    return None


def _must_hold_assertions(log: EventLog, scenario) -> bool:
    # A run that completed appends one assertion event per result before it seals
    # its log: a completed log without them lost them (or had them removed). The
    # default verdict is left out: a log written before it existed holds none for it.
    return log.status == "completed" and assertion_count(_without_default(scenario.assertions)) > 0


def _summary_builder(plan, needed: bool):
    if not needed:
        return None, (lambda records: None)
    builder = SummaryBuilder(tuple(plan.request_names), int(plan.tick_ns), open_model=iteration_requests(plan),
                             on_start=len(plan.on_start) > 0,
                             checks=plan.checks.labels if plan.checks is not None else None)
    return builder, builder


def _rerun(plan, header) -> Iterator[np.ndarray]:
    # A split arrival-rate run's events depend on the split (shard k serves the
    # arrivals k mod N): re-run it split the same way, in this process.
    shards = header.arrival_shards
    if shards == 1 or plan.arrivals is None or plan.arrivals.shard_count != 1:
        return iter_chunks(plan)
    return iter_split_chunks([part for _, part in split_plan(plan, shards)], DEFAULT_CHUNK_RECORDS)


def _verify_simulated(log: EventLog, scenario, plan, notes: tuple[str, ...]) -> VerifyResult:
    footer = log.footer
    # Assertion events are checked against a rebuilt summary: only build one when
    # the log must hold some (a completed run of a scenario with assertions) or
    # may (its footer counts some, or it has no footer).
    needs_summary = (_must_hold_assertions(log, scenario) or footer is None
                     or footer.count(EventKind.ASSERTION_PASSED) + footer.count(EventKind.ASSERTION_FAILED) > 0)
    builder, feed = _summary_builder(plan, needs_summary)
    logged = _LoggedRecords(log)
    index, expected, got = _first_difference(_rerun(plan, log.header), logged.engine_chunks(), feed)
    names = log.header.request_names
    if expected is not None or got is not None:
        # The re-run and the log part here; a log that stopped early may stop anywhere.
        if got is None and log.status != "completed" and logged.misplaced is None:
            message = (f"the log ends early ({log.status}): its {index} engine events match the re-run's first "
                       f"{index}")
            return _finish_simulated(log, scenario, builder, logged, notes, message, index)
        record = got if got is not None else expected
        message = (f"first divergence at record {index}: tick {int(record['tick'])}, VU {int(record['vu_id'])}\n"
                   f"  expected: {describe_record(expected, names) if expected is not None else '(nothing: the re-run has ended)'}\n"
                   f"  got:      {describe_record(got, names) if got is not None else '(nothing: the log ends here)'}")
        return VerifyResult(False, "simulate", index, message, index=index, tick=int(record["tick"]),
                            vu_id=int(record["vu_id"]), expected=_record_dict(expected), got=_record_dict(got),
                            notes=notes)
    message = f"all {index} engine events match the re-run"
    return _finish_simulated(log, scenario, builder, logged, notes, message, index)


def _finish_simulated(log: EventLog, scenario, builder, logged: _LoggedRecords, notes: tuple[str, ...],
                      message: str, compared: int) -> VerifyResult:
    problems = list(notes)
    if logged.misplaced is not None:
        problems.append(f"record {logged.misplaced} is an engine event after the assertion events")
    checked = logged.assertion_kinds or _must_hold_assertions(log, scenario)
    if checked and builder is not None and logged.misplaced is None:
        problem = _assertion_problem(scenario, builder.finish(), logged.assertion_kinds)
        if problem:
            problems.append(problem)
        else:
            message += f", and so do its {len(logged.assertion_kinds)} assertion results"
            if _predates_default(scenario.assertions, logged.assertion_kinds):
                message += " (the log predates the default verdict: checked without it)"
    footer_problem = logged.footer_problem()
    if footer_problem:
        problems.append(footer_problem)
    if problems:
        return VerifyResult(False, "simulate", compared, _with_problems(problems, message), notes=notes)
    return VerifyResult(True, "simulate", compared, message, notes=notes)


def _with_problems(problems: list[str], message: str) -> str:
    # The problems decide the verdict; what did match follows them.
    return "\n".join([*problems, f"(otherwise: {message})"])


def _verify_live(log: EventLog, scenario, plan, notes: tuple[str, ...]) -> VerifyResult:
    logged = _LoggedRecords(log)
    parts: dict[str, list[np.ndarray]] = {"vu_id": [], "seq": [], "request": [], "tick": []}
    for chunk in logged.engine_chunks():
        # a redirect's hop (status: its number) repeats its request: the server's doing, not the plan's
        issued = chunk[(chunk["kind"] == _ISSUED) & (chunk["status"] == 0)]
        for name, values in parts.items():
            values.append(issued[name])
    vu, seq, request, tick = (np.concatenate(parts[n]) if parts[n] else np.zeros(0, np.uint32)
                              for n in ("vu_id", "seq", "request", "tick"))
    order = np.lexsort((seq, vu))
    vu, seq, request, tick = vu[order], seq[order], request[order], tick[order]
    names = log.header.request_names
    first, stop = int(plan.first_vu_id), int(plan.first_vu_id) + int(plan.n_vus)
    outside = np.flatnonzero((vu < first) | (vu >= stop))
    if outside.size:
        i = int(outside[np.argmin(tick[outside])])
        message = (f"VU {int(vu[i])} issued a request at tick {int(tick[i])}, but the run's VUs are "
                   f"{first}-{stop - 1}")
        return VerifyResult(False, "live", int(vu.size), message, tick=int(tick[i]), vu_id=int(vu[i]), notes=notes)
    ids, starts, counts = np.unique(vu, return_index=True, return_counts=True)
    position = np.arange(vu.size) - np.repeat(starts, counts)
    expected = np.asarray(z6core.expected_requests(plan, ids.astype(np.uint32), counts.astype(np.uint32)))
    wrong = np.flatnonzero((seq != position) | (expected != request))
    # [lifecycle] on_stop requests follow whenever a VU's schedule ended: not
    # predictable from the plan, so a VU's requests may end with them instead.
    epilogues = _Epilogues(plan.on_stop, request, starts, counts)
    if wrong.size and epilogues.on_stop.size:
        wrong = epilogues.accept(wrong, position, seq)
    problems = list(notes)
    if wrong.size:
        # Report the earliest difference in time (then the lowest VU).
        i = int(wrong[np.lexsort((vu[wrong], tick[wrong]))[0]])
        n, v, t = int(position[i]), int(vu[i]), int(tick[i])

        def name(index: int) -> str:
            return names[index] if index < len(names) else f"request {index}"

        if int(seq[i]) != n:
            message = (f"first divergence: tick {t}, VU {v}: its request number {n} in the log has seq {int(seq[i])}"
                       ": a request is missing or repeated")
            exp_rec = {"request": int(expected[i]), "seq": n}
        else:
            message = (f"first divergence: tick {t}, VU {v}, request number {n}: expected {name(int(expected[i]))!r}"
                       f", got {name(int(request[i]))!r}")
            exp_rec = {"request": int(expected[i]), "seq": n}
        got_rec = {"request": int(request[i]), "seq": int(seq[i]), "tick": t}
        return VerifyResult(False, "live", int(vu.size), "\n".join([message, *problems]), index=n, tick=t, vu_id=v,
                            expected=exp_rec, got=got_rec, notes=notes)
    message = f"the request sequences of all {ids.size} VUs ({vu.size} requests) match the plan"
    digest_problem = _rendered_problem(log, scenario, plan, ids, counts, epilogues)
    if digest_problem:
        problems.append(digest_problem)
    elif log.footer is not None and log.footer.request_digests is not None:
        message += "; so do the bytes each VU rendered from its templates"
    footer_problem = logged.footer_problem()
    if footer_problem:
        problems.append(footer_problem)
    if logged.misplaced is not None:
        problems.append(f"record {logged.misplaced} is an engine event after the assertion events")
    if problems:
        return VerifyResult(False, "live", int(vu.size), _with_problems(problems, message), notes=notes)
    return VerifyResult(True, "live", int(vu.size), message, notes=notes)


class _Epilogues:
    """Where each VU's `[lifecycle]` on_stop requests began in a live log.

    A VU issues them when its schedule ends, which the plan cannot predict: a
    VU's requests are accepted when they are its plan's up to some point ``e``
    and ``on_stop[:count - e]`` from there. ``at[k]`` is that point for VU k
    (-1: none seen). When the on_stop requests also fit the plan's own picks
    the point is ambiguous; `candidates` lists every point that fits.
    """

    def __init__(self, on_stop: np.ndarray, request: np.ndarray, starts: np.ndarray, counts: np.ndarray) -> None:
        self.on_stop = np.asarray(on_stop, dtype=np.int64)
        self._request = request
        self._starts = starts
        self._counts = counts
        self.at = np.full(starts.size, -1, dtype=np.int64)

    def _fits(self, k: int, e: int) -> bool:
        c = int(self._counts[k])
        tail = self._request[int(self._starts[k]) + e:int(self._starts[k]) + c].astype(np.int64)
        return c - e <= self.on_stop.size and np.array_equal(tail, self.on_stop[:c - e])

    def candidates(self, k: int) -> list[int]:
        c = int(self._counts[k])
        return [e for e in range(c, max(0, c - self.on_stop.size) - 1, -1) if e < c and self._fits(k, e)]

    def accept(self, wrong: np.ndarray, position: np.ndarray, seq: np.ndarray) -> np.ndarray:
        """``wrong`` (indices into the VU-ordered requests) without those an
        on_stop epilogue explains."""
        vu_of = np.searchsorted(self._starts, wrong, side="right") - 1
        keep = np.ones(wrong.size, dtype=bool)
        for k in np.unique(vu_of).tolist():
            mine = np.flatnonzero(vu_of == k)
            first = int(position[wrong[mine[0]]])
            if np.any(seq[wrong[mine]] != position[wrong[mine]]):
                continue        # a missing or repeated request: no epilogue explains that
            fit = next((e for e in self.candidates(k) if e <= first), None)
            if fit is not None:
                self.at[k] = fit
                keep[mine] = False
        return wrong[keep]


def _rendered_problem(log: EventLog, scenario, plan, ids: np.ndarray, counts: np.ndarray,
                      epilogues: _Epilogues) -> Optional[str]:
    """The first VU whose digest of rendered requests (the footer's) differs from
    the plan's replay, or None (also when the run rendered no templates). A VU
    whose on_stop requests could have begun at several points is checked at each."""
    recorded = log.footer.request_digests if log.footer is not None else None
    if recorded is None:
        return None
    wire = wire_templates(plan.templates, scenario.requests, recorded["authority"].encode("latin-1"),
                          recorded["user_agent"].encode("ascii"), scenario.target.path_prefix)
    if wire is None:
        return "the log records rendered-request digests, but the scenario compiles to no templated request"
    tables = z6core.TemplateTables(wire, len(plan.request_names))
    expected = z6core.expected_digests(plan, tables, ids.astype(np.uint32), counts.astype(np.uint64), epilogues.at)
    logged = recorded["digests"]
    for k, (vu_id, want) in enumerate(zip(ids.tolist(), expected.tolist())):
        got = logged.get(str(vu_id))
        if got != f"{want:016x}" and epilogues.on_stop.size:
            others = [e for e in epilogues.candidates(k) if e != epilogues.at[k]]
            if any(got == f"{int(z6core.expected_digests(plan, tables, [vu_id], [counts[k]], [e])[0]):016x}"
                   for e in others):
                continue
        if got != f"{want:016x}":
            return (f"VU {vu_id}: the digest of its rendered requests is {got}, the plan renders {want:016x} "
                    "(a data file, a body_file or an environment variable differs from the run's)")
    return None


def verify_log(source: LogSource, *, base_dir: Optional[str | os.PathLike[str]] = None) -> VerifyResult:
    """Re-run the scenario ``source``'s header records and compare (module docstring).

    Raises `LogError` for an unreadable log and `ConfigError` (or `ScenarioError`)
    when the recorded scenario cannot be compiled again.
    """
    log = _as_log(source)
    header = log.header
    notes = _scenario_note(header)
    # The plan knows requests by index only, never their bodies: a body file that
    # is gone changes nothing compared here, so it is left out and said so.
    scenario, dropped = parse_header_scenario(header, log.path, base_dir, require_bodies=False)
    remarks = (_bodies_remark(dropped),) if dropped else ()
    plan = plan_from_header(header, scenario, log.path)
    problems = _header_problems(header, plan)
    if problems:
        result = VerifyResult(False, header.mode, 0, "\n".join([*problems, *notes]), notes=notes)
    elif header.mode == "simulate":
        result = _verify_simulated(log, scenario, plan, notes)
    else:
        result = _verify_live(log, scenario, plan, notes)
    return dataclasses.replace(result, remarks=remarks)


def _bodies_remark(dropped: tuple[str, ...]) -> str:
    return (f"body files unavailable, re-run without their bodies (bodies change neither the events nor the "
            f"requests compared): {'; '.join(dropped)}")
