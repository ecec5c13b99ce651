"""`z6 export`: the records in other formats, written atomically."""

from __future__ import annotations

import csv
import json
import sys

import numpy as np
import pytest

from z6.cli import main
from z6.events import EVENT_DTYPE, ErrorCode, EventKind
from z6.analysis import compile_filter, export_log
from z6.log import LogError, read_log

from test_log_helpers import mixed_scenario, write_log


@pytest.fixture
def log_path(tmp_path):
    return write_log(tmp_path / "run", mixed_scenario(runtime="duration_seconds = 0.5\nvus = 3"), chunk_records=16)


def _cli(capsys, *args):
    code = main([str(a) for a in args])
    out, err = capsys.readouterr()
    return code, out, err


def _names(events: np.ndarray, request_names) -> list[tuple[str, str, str]]:
    return [(EventKind(k).name.lower(), "" if r == 0xFFFF else request_names[r], ErrorCode(e).name.lower())
            for k, r, e in zip(events["kind"].tolist(), events["request"].tolist(), events["error"].tolist())]


def test_csv(log_path, capsys):
    code, out, _ = _cli(capsys, "export", log_path, "--to", "csv")
    dest = log_path.parent / "events.csv"
    assert code == 0 and f"wrote {len(read_log(log_path))} records to {dest}" in out
    log = read_log(log_path)
    with open(dest, newline="") as f:
        rows = list(csv.DictReader(f))
    assert list(rows[0]) == [*EVENT_DTYPE.names, "kind_name", "request_name", "error_name"]
    for name in EVENT_DTYPE.names:
        assert [int(r[name]) for r in rows] == log.events[name].tolist()
    assert [(r["kind_name"], r["request_name"], r["error_name"]) for r in rows] == _names(
        log.events, log.header.request_names)


def test_jsonl_with_a_filter(log_path, tmp_path, capsys):
    dest = tmp_path / "out.jsonl"
    code, _, _ = _cli(capsys, "export", log_path.parent, "--to", "jsonl", "-o", dest, "--filter", "status == 503")
    assert code == 0
    log = read_log(log_path)
    kept = log.events[log.events["status"] == 503]
    rows = [json.loads(line) for line in dest.read_text().splitlines()]
    assert len(rows) == kept.size > 0
    for name in EVENT_DTYPE.names:
        assert [r[name] for r in rows] == kept[name].tolist()
    assert {r["kind_name"] for r in rows} == {"response_received"}
    assert [r["request_name"] for r in rows] == [log.header.request_names[i] for i in kept["request"].tolist()]


def test_npy_round_trip(log_path, tmp_path):
    log = read_log(log_path)
    path, count = export_log(log, "npy", tmp_path / "all.npy")
    loaded = np.load(path)
    assert count == len(log) and loaded.dtype == EVENT_DTYPE and np.array_equal(loaded, log.events)
    path, count = export_log(log, "npy", tmp_path, where=compile_filter("kind == request_issued"))
    assert path == tmp_path / "events.npy"
    assert np.array_equal(np.load(path), log.events[log.events["kind"] == EventKind.REQUEST_ISSUED])


def test_parquet(log_path, tmp_path):
    pq = pytest.importorskip("pyarrow.parquet")
    log = read_log(log_path)
    path, count = export_log(log, "parquet", tmp_path / "events.parquet")
    table = pq.read_table(path)
    assert count == table.num_rows == len(log)
    for name in EVENT_DTYPE.names:
        assert table.column(name).to_pylist() == log.events[name].tolist()
    assert table.column("request_name").to_pylist()[:2] == [None, None]  # vu_spawned events: no request
    header = json.loads(table.schema.metadata[b"z6.header"])
    assert header["scenario_sha256"] == log.header.scenario_sha256


def test_parquet_without_pyarrow_says_how_to_get_it(log_path, capsys, monkeypatch):
    monkeypatch.setitem(sys.modules, "pyarrow", None)
    code, out, err = _cli(capsys, "export", log_path, "--to", "parquet")
    assert code == 2 and out == "" and "pip install z6[parquet]" in err
    assert sorted(p.name for p in log_path.parent.iterdir()) == ["events.z6log"]


def test_a_failed_export_leaves_nothing_that_looks_complete(log_path, tmp_path):
    data = bytearray(log_path.read_bytes())
    log = read_log(log_path)
    data[log.chunks[3].data_offset] ^= 0x40  # found only when chunk 3 is read
    damaged = tmp_path / "damaged" / "events.z6log"
    damaged.parent.mkdir()
    damaged.write_bytes(data)
    lazy = read_log(damaged, verify=False)
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    (out_dir / "events.csv").write_text("an older export\n")
    for fmt in ("csv", "jsonl", "npy"):
        with pytest.raises(LogError, match="chunk 3"):
            export_log(lazy, fmt, out_dir / f"events.{fmt}")
    assert sorted(p.name for p in out_dir.iterdir()) == ["events.csv"]  # no temporary file left behind
    assert (out_dir / "events.csv").read_text() == "an older export\n"


def test_bad_destinations_exit_2(log_path, tmp_path, capsys):
    code, out, err = _cli(capsys, "export", log_path, "--to", "csv", "-o", tmp_path / "no" / "such" / "dir.csv")
    assert code == 2 and "does not exist" in err
    code, out, err = _cli(capsys, "export", log_path, "--to", "npy", "-o", log_path)
    assert code == 2 and "refusing to overwrite the event log" in err and read_log(log_path).complete
    code, out, err = _cli(capsys, "export", log_path, "--to", "xlsx")
    assert code == 2 and "invalid choice: 'xlsx'" in err
    code, out, err = _cli(capsys, "export", log_path, "--to", "csv", "--filter", "status >> 2")
    assert code == 2 and "column 9" in err


@pytest.mark.parametrize("fmt", ["csv", "jsonl", "npy"])
def test_an_export_gets_the_mode_a_plain_open_would_give(log_path, tmp_path, fmt):
    import os
    import stat

    old = os.umask(0o027)
    try:
        dest, _ = export_log(read_log(log_path), fmt, tmp_path / f"out.{fmt}")
    finally:
        os.umask(old)
    assert stat.S_IMODE(dest.stat().st_mode) == 0o640  # 0666 less the umask, not mkstemp's 0600
