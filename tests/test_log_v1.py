"""Format-1 logs keep reading (tests/data/logs_v1, written by the format-1 writer):
records, digest and summary exactly as that z6 read them, through every command,
and a format-2 log of the same run holds the same events."""

from __future__ import annotations

import json
import math
import shutil
import warnings

import numpy as np
import pytest

import z6
from z6.analysis import verify_log
from z6.cli import main
from z6.events import event_digest
from z6.log import EventLogWriter, LogWarning, read_log
from z6.report import document_from_log

from conftest import REPO
from test_log_helpers import read_quietly

DATA = REPO / "tests" / "data" / "logs_v1"
EXPECTED = json.loads((DATA / "expected.json").read_text())
NAMES = sorted(EXPECTED)


def _without_wall(document):
    # The copy's footer has its own elapsed_s (the document's run.wall_s); all else is the events'.
    return {**document, "run": {k: v for k, v in document["run"].items() if k != "wall_s"}}


def _as_recorded(document, recorded):
    # The summary document may gain optional fields within its schema version (a
    # field added after these logs were written, such as "connections"): compare the
    # fields the recorded document had, and no more.
    # The same within the run section ("writer_stalled_s").
    kept = {key: document[key] for key in recorded}
    if isinstance(recorded.get("run"), dict):
        kept["run"] = {key: document["run"][key] for key in recorded["run"] if key in document["run"]}
    # The distribution's inner edges were computed by numpy's geomspace when these
    # logs were made, whose last bits depend on the machine's SIMD (AVX-512 or not);
    # today's edges are computed in decimal, the same everywhere. Within 1e-12 of
    # the recorded ones they are the same edges; the counts must match exactly.
    ours, theirs = kept.get("latency_distribution"), recorded.get("latency_distribution")
    if ours and theirs and len(ours["edges_ms"]) == len(theirs["edges_ms"]) and all(
            math.isclose(a, b, rel_tol=1e-12) for a, b in zip(ours["edges_ms"], theirs["edges_ms"])):
        kept["latency_distribution"] = {**ours, "edges_ms": theirs["edges_ms"]}
    return kept


def _read(name: str):
    log, warned = read_quietly(DATA / name)
    assert bool(warned) == (EXPECTED[name]["status"] == "partial")
    return log


@pytest.mark.parametrize("name", NAMES)
def test_a_format_1_log_reads_as_it_did(name):
    expected = EXPECTED[name]
    log = _read(name)
    assert log.header.format_version == 1 and not any(c.compressed for c in log.chunks)
    assert (len(log), len(log.chunks), log.status) == (expected["records"], expected["chunks"], expected["status"])
    assert event_digest(log.iter_chunks()) == event_digest([log.events]) == expected["digest"]
    if log.complete:
        assert log.footer.digest == expected["footer_digest"] == expected["digest"]
        assert dict(log.footer.kind_counts) == expected["kind_counts"]
        assert _as_recorded(document_from_log(log), expected["summary"]) == expected["summary"]
    lazy, _ = read_quietly(DATA / name, verify=False)
    assert np.array_equal(np.concatenate(list(lazy.iter_chunks())), log.events)


def test_the_simulated_format_1_log_is_the_run_and_replays():
    log = _read("simulated")
    assert verify_log(log).matched
    plan = z6.compile_plan(z6.load_scenario(REPO / "examples" / "simulated.toml"))
    engine = np.concatenate(list(z6.iter_chunks(plan)))
    assert np.array_equal(log.events[:engine.size], engine)
    partial = _read("partial")
    rerun = np.concatenate(list(z6.iter_chunks(z6.compile_plan(
        z6.load_scenario(REPO / "examples" / "simulated.toml"), vus=5, duration_s=3.0))))
    assert np.array_equal(partial.events, rerun[:len(partial)])


@pytest.mark.parametrize("name", NAMES)
def test_a_format_2_copy_holds_the_same_events(name, tmp_path):
    # Rewritten chunk for chunk by today's writer (format 2): the same records, digest and summary.
    log = _read(name)
    header = log.header.__class__(**{**log.header.__dict__, "format_version": 2})
    writer = EventLogWriter(tmp_path, header)
    for chunk in log.iter_chunks():
        writer(chunk)
    if log.complete:
        copy = read_log(writer.finish(log.footer.status))
        assert copy.footer.digest == log.footer.digest and copy.footer.kind_counts == log.footer.kind_counts
        recorded = EXPECTED[name]["summary"]
        assert _without_wall(_as_recorded(document_from_log(copy), recorded)) == _without_wall(recorded)
    else:
        writer.abort()
        copy, _ = read_quietly(tmp_path)
    assert copy.header.format_version == 2 and all(c.compressed for c in copy.chunks)
    assert [c.records for c in copy.chunks] == [c.records for c in log.chunks]
    assert np.array_equal(copy.events, log.events)
    assert event_digest(copy.iter_chunks()) == EXPECTED[name]["digest"]
    assert copy.path.stat().st_size < log.path.stat().st_size


def test_z6_run_today_writes_format_2_with_the_format_1_digest(tmp_path, capsys):
    assert main(["run", str(REPO / "examples" / "simulated.toml"), "--simulate", "--quiet",
                 "--out", str(tmp_path / "run")]) == 0
    capsys.readouterr()
    log = read_log(tmp_path / "run")
    assert log.header.format_version == 2 and all(c.compressed for c in log.chunks)
    assert log.footer.digest == EXPECTED["simulated"]["digest"]
    assert np.array_equal(log.events, _read("simulated").events)
    # And the commands agree across the formats.
    assert main(["diff", str(DATA / "simulated"), str(tmp_path / "run"), "--fail-on", "p99=+0%"]) == 0
    capsys.readouterr()


@pytest.mark.parametrize("name", NAMES)
def test_every_command_reads_a_format_1_log(name, tmp_path, capsys):
    source = tmp_path / "log"
    shutil.copytree(DATA / name, source)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", LogWarning)
        assert main(["analyze", str(source), "--format", "json"]) == 0
        analysis = json.loads(capsys.readouterr().out)
        kinds = _read(name).events["kind"]
        assert analysis["overall"]["events"] == int(((kinds != 12) & (kinds != 13)).sum())  # assertions not counted
        assert main(["export", str(source), "--to", "npy", "-o", str(tmp_path / "e.npy")]) == 0
        capsys.readouterr()
        assert np.array_equal(np.load(tmp_path / "e.npy"), _read(name).events)
        code = main(["replay", str(source), "--metrics-only", "--json"])
        assert code == (3 if name == "partial" else 0)
        if name != "partial":
            recorded = EXPECTED[name]["summary"]
            assert _as_recorded(json.loads(capsys.readouterr().out), recorded) == recorded
        assert main(["replay", str(source), "--verify"]) == 0  # live: each VU's requests against the plan
    capsys.readouterr()
