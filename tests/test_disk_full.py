"""A full disk during `z6 run`: nothing claims a run that did not happen, and the
log is sealed whenever its footer fits (docs/output.md, "Order of writes").

The disks are small tmpfs mounts (skipped where mounting is not permitted),
filled with a filler file so that an exact number of blocks stays free.
"""

from __future__ import annotations

import shutil

import numpy as np
import pytest

import z6
from z6.cli import main
from z6.errors import RunError
from z6.log import EventLogWriter, make_header
from z6.report import document_from_log
from conftest import REPO, leave_free, scenario

pytestmark = pytest.mark.filterwarnings("ignore::z6.log.LogWarning")

SIMULATED = str(REPO / "examples" / "simulated.toml")
ARGS = ("run", SIMULATED, "--simulate", "--vus", "2", "--duration", "2", "--html", "--quiet")


def _pages(path, block: int) -> int:
    return -(-path.stat().st_size // block)


def _clear(disk) -> None:
    for entry in disk.iterdir():
        shutil.rmtree(entry) if entry.is_dir() else entry.unlink()


def test_every_free_space_leaves_a_consistent_run_directory(capsys, tmp_path, tiny_disk):
    # The run on a roomy disk, for the sizes of its files.
    reference = tmp_path / "reference"
    assert main([*ARGS, "--out", str(reference)]) == 0
    capsys.readouterr()
    disk = tiny_disk(512)
    block = leave_free(disk, 0)
    log_pages = _pages(reference / "events.z6log", block)
    total = sum(_pages(reference / name, block) for name in ("events.z6log", "scenario.toml", "summary.json",
                                                              "report.html"))
    assert total < 100, "the reference run is too large for the tiny disk"
    seen = set()
    # From one block (the header fits) up: a compressed log (format 2) is only a few blocks.
    for free in range(max(log_pages - 1, 1), total + 1):
        _clear(disk)
        leave_free(disk, free)
        out = disk / "run"
        code = main([*ARGS, "--out", str(out)])
        _, err = capsys.readouterr()
        assert "Traceback" not in err
        files = {p.name for p in out.iterdir()} if out.exists() else set()
        files.discard("filler")
        if code == 0:
            assert files == {"events.z6log", "scenario.toml", "summary.json", "report.html"}, free
            seen.add("complete")
            continue
        assert code == 3, (free, err)
        assert "No space left on device" in err, err
        # No file claims a run that exited 0: summary.json and report.html are
        # there only when the whole directory was written.
        assert "summary.json" not in files and "report.html" not in files, (free, files)
        if "events.z6log" in files:
            # Sealed: complete, its footer says completed, and the message says so.
            log = z6.read_log(out / "events.z6log")
            assert log.footer.status == "completed"
            assert "sealed and complete" in err
            seen.add("sealed, no summary")
        else:
            assert "events.z6log.partial" in files, (free, files)
            z6.read_log(out / "events.z6log.partial")  # its complete chunks read
            seen.add("partial")
    # The sweep met the failure the order of writes is about: the log fits, the
    # summary does not.
    assert "sealed, no summary" in seen and "complete" in seen, seen


def test_a_failed_html_write_leaves_the_log_sealed_and_no_summary(capsys, tmp_path, tiny_disk):
    reference = tmp_path / "reference"
    assert main([*ARGS, "--out", str(reference)]) == 0
    capsys.readouterr()
    disk = tiny_disk(512)
    block = leave_free(disk, 0)
    fits = sum(_pages(reference / name, block) for name in ("events.z6log", "scenario.toml", "summary.json"))
    _clear(disk)
    leave_free(disk, fits + _pages(reference / "report.html", block) - 1)
    out = disk / "run"
    code = main([*ARGS, "--out", str(out)])
    _, err = capsys.readouterr()
    assert code == 3 and "report.html" in err and "No space left on device" in err and "Traceback" not in err
    assert z6.read_log(out / "events.z6log").footer.status == "completed"
    assert not (out / "summary.json").exists() and not (out / "report.html").exists()
    assert not list(out.glob(".z6-*"))  # no temporary file left either


@pytest.mark.parametrize("version", [1, 2])
def test_a_log_that_fills_the_disk_mid_run_ends_on_a_chunk_boundary(tiny_disk, version):
    disk = tiny_disk(256)
    sc = scenario()
    plan = z6.compile_plan(sc)
    writer = EventLogWriter(disk, make_header(sc, plan, format_version=version))
    chunk = np.zeros(1000, dtype=z6.EVENT_DTYPE)
    chunk["kind"] = 0
    # Random values: a chunk that compresses (format 2) still takes its space.
    chunk["value_ns"] = np.random.default_rng(7).integers(0, 2**63, chunk.size, dtype=np.uint64)
    with pytest.raises(RunError, match="No space left on device"):
        for _ in range(1000):
            writer(chunk)
    written = writer.chunks
    assert written > 0
    # The torn tail of the failed write is cut off: the partial log reads whole.
    log = z6.read_log(disk / "events.z6log.partial")
    assert sum(c.size for c in log.iter_chunks()) == written * 1000
    try:
        path = writer.finish("failed")
    except RunError:
        assert not (disk / "events.z6log").exists()
        assert sum(c.size for c in z6.read_log(disk / "events.z6log.partial").iter_chunks()) == written * 1000
    else:
        sealed = z6.read_log(path)
        assert sealed.footer.status == "failed" and sealed.footer.records == written * 1000


def test_a_run_whose_log_fills_the_disk_mid_run_seals_it_failed_with_no_summary(capsys, tiny_disk):
    # Chunks of 2 MiB, stored compressed in a few hundred KB: the first fits the 3 MiB
    # disk, the 2 million events of the run (some 10 MB of log) do not.
    disk = tiny_disk(3 * 1024)
    out = disk / "run"
    code = main(["run", SIMULATED, "--simulate", "--vus", "200", "--duration", "600", "--quiet", "--out", str(out)])
    _, err = capsys.readouterr()
    assert code == 3 and "No space left on device" in err and "Traceback" not in err
    assert "sealed with status failed" in err, err
    assert {p.name for p in out.iterdir()} == {"events.z6log"}
    log = z6.read_log(out / "events.z6log")
    assert log.footer.status == "failed" and 0 < log.footer.records
    # `z6 report` rebuilds an honest summary from it: failed, exit code 3.
    doc = document_from_log(out / "events.z6log")
    assert doc["run"]["status"] == "failed" and doc["verdict"]["exit_code"] == 3
