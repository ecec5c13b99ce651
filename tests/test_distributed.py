"""Scale-out: a run split into shards gives the events of one process.

Simulated runs of every schedule type as 1, 2 and 3 shards, in local processes
and on a Dask LocalCluster, against the one-process digest; the merge, the
wire format and the coordinator's handling of shards that misbehave.
"""

from __future__ import annotations

import hashlib
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from concurrent.futures import Future, ThreadPoolExecutor

import numpy as np
import pytest

import z6
import z6.cli
from z6._child_env import child_environment
from z6.errors import ConfigError, RunError
from z6.distributed import (Backend, DaskCluster, LocalProcesses, ShardRange, merge_sorted, run_distributed,
                            run_shard, split_plan)
from z6.distributed import _coordinator, _protocol as wire
from z6.distributed._merge import Rechunker, ShardMerger
from z6.runner import run_plan
from conftest import REPO, process_alive, shard_processes, wait_until

EXAMPLES = REPO / "examples"


def _schedule_files(tmp_path_factory) -> dict[str, object]:
    # ramp.toml models a shared server queue (capacity), which cannot be split:
    # the same ramp without it.
    ramp = tmp_path_factory.mktemp("ramp") / "ramp.toml"
    ramp.write_text((EXAMPLES / "ramp.toml").read_text().replace("capacity = 64", ""))
    return {
        "constant": EXAMPLES / "constant.toml",
        "ramp": ramp,
        "spike": EXAMPLES / "spike.toml",
        "steps": EXAMPLES / "steps.toml",
        "iterations": EXAMPLES / "iterations.toml",
        "sequence": EXAMPLES / "sequence.toml",
    }


@pytest.fixture(scope="module")
def schedules(tmp_path_factory):
    files = _schedule_files(tmp_path_factory)
    out = {}
    for name, path in files.items():
        plan = z6.compile_plan(z6.load_scenario(path))
        assert plan.mode == "simulate" and not plan.capacity
        out[name] = (path, plan, z6.event_digest(z6.iter_chunks(plan)))
    # Every schedule type is covered.
    assert {z6.load_scenario(p).schedule.type for p, _, _ in out.values()} == {"constant", "ramp", "spike", "steps"}
    return out


class _Digest:
    def __init__(self) -> None:
        self.sha = hashlib.sha256()
        self.chunks: list[int] = []

    def __call__(self, chunk: np.ndarray) -> None:
        self.sha.update(chunk.tobytes())
        self.chunks.append(chunk.size)


# ---------------------------------------------------------------- the split


@pytest.mark.parametrize("name", ["ramp", "spike", "steps"])
@pytest.mark.parametrize("n", [2, 3, 7])
def test_each_shard_keeps_the_schedules_shape(schedules, name, n):
    _, plan, _ = schedules[name]
    ticks = np.arange(0, plan.end_tick + 1, max(1, plan.end_tick // 500), dtype=np.uint64)

    def active(p):
        stop_tick = p.stop_ns // np.uint64(p.tick_ns)
        return ((p.spawn_tick[None, :] <= ticks[:, None]) & (ticks[:, None] < stop_tick[None, :])).sum(axis=1)

    whole = active(plan)
    parts = split_plan(plan, n)
    assert sum(part.n_vus for _, part in parts) == plan.n_vus
    for shard, part in parts:
        # At every instant each shard runs its 1/n of the active VUs, to within one VU.
        assert np.all(np.abs(active(part) - whole / n) <= 1), (name, shard)
    assert sorted(v for shard, _ in parts for v in shard.vu_ids) == list(range(1, plan.n_vus + 1))


def test_shard_ranges_name_their_vus():
    assert ShardRange(1, 2, range(2, 101, 2)).describe() == "VUs 2, 4, ..., 100 (ids 2-100 in steps of 2, 50 VUs)"
    assert ShardRange(0, 1, range(1, 11)).describe() == "VUs 1-10 (10 VUs)"
    assert ShardRange(2, 3, range(3, 4, 3)).describe() == "VU 3"
    assert ShardRange(0, 3, range(1, 5, 3)).describe() == "VUs 1, 4 (ids 1-4 in steps of 3, 2 VUs)"
    assert ShardRange(1, 2, range(2, 101, 2)).to_dict() == {"first": 2, "last": 100, "step": 2, "count": 50}


def test_more_workers_than_vus_and_unsplittable_plans_are_refused(schedules):
    _, plan, _ = schedules["constant"]
    with pytest.raises(ConfigError, match=f"need at least {plan.n_vus + 1} VUs"):
        split_plan(plan, plan.n_vus + 1)
    with pytest.raises(ConfigError, match="capacity cannot be split"):
        split_plan(z6.compile_plan(z6.load_scenario(EXAMPLES / "ramp.toml")), 2)


def test_a_strided_shard_of_a_shard_is_a_shard_of_the_whole(schedules):
    _, plan, _ = schedules["spike"]
    nested = plan.shard(1, plan.n_vus, 2).shard(2, plan.n_vus // 2, 3)
    direct = list(plan.vu_ids)[1::2][2::3]
    assert list(nested.vu_ids) == direct
    assert np.array_equal(nested.spawn_tick, plan.spawn_tick[1::2][2::3])


# ---------------------------------------------------------------- the merge


def _random_shard_streams(rng, n_shards, n_events):
    ticks = np.sort(rng.integers(0, 200, n_events)).astype(np.uint64)
    events = np.zeros(n_events, dtype=z6.EVENT_DTYPE)
    events["tick"] = ticks
    events["vu_id"] = rng.integers(1, 40, n_events)
    events = events[np.lexsort((events["vu_id"], events["tick"]))]
    events["seq"] = np.arange(n_events)  # tells equal keys apart: their order must survive
    shard_of = (events["vu_id"] - 1) % n_shards
    return events, [events[shard_of == k] for k in range(n_shards)]


@pytest.mark.parametrize("n_shards", [1, 2, 3, 5])
def test_merge_sorted_equals_the_one_stream_order(n_shards):
    rng = np.random.default_rng(n_shards)
    whole, parts = _random_shard_streams(rng, n_shards, 5000)
    assert merge_sorted(parts).tobytes() == whole.tobytes()
    # Ticks beyond 32 bits take the two-key path.
    big = [p.copy() for p in parts]
    for p in big:
        p["tick"] += np.uint64(2**40)
    expect = whole.copy()
    expect["tick"] += np.uint64(2**40)
    assert merge_sorted(big).tobytes() == expect.tobytes()


def test_the_merger_releases_events_only_below_every_shards_watermark():
    rng = np.random.default_rng(7)
    whole, parts = _random_shard_streams(rng, 2, 2000)
    merger = ShardMerger(2, z6.EVENT_DTYPE)
    released = []
    a, b = parts
    merger.add(0, a[a["tick"] < 150], 150)
    assert merger.take_ready().size == 0  # shard 2 has said nothing yet
    merger.add(1, b[b["tick"] < 60], 60)
    got = merger.take_ready()
    assert np.all(got["tick"] < 60) and got.size == (whole["tick"] < 60).sum()
    released.append(got)
    merger.add(1, b[b["tick"] >= 60], _wire_finished())
    merger.close(1)
    released.append(merger.take_ready())
    assert np.all(released[-1]["tick"] < 150)
    merger.add(0, a[a["tick"] >= 150], 0)
    merger.close(0)
    released.append(merger.take_ready())
    assert np.concatenate(released).tobytes() == whole.tobytes()
    assert merger.held == 0


def _wire_finished():
    return wire.FINISHED


def test_the_rechunker_hands_out_fixed_chunks_and_the_rest():
    sizes, chunks = [], []
    out = Rechunker([lambda c: sizes.append(c.size), chunks.append], 100, z6.EVENT_DTYPE)
    for n in (30, 150, 0, 95):
        out(np.arange(n * 4, dtype=np.uint64).view(z6.EVENT_DTYPE))
    out.flush()
    assert sizes == [100, 100, 75] and out.delivered == 275
    # handed over read-only, as the runner's chunks are, and none shares another's memory
    assert not any(c.flags.writeable for c in chunks)
    assert not any(np.shares_memory(a, b) for i, a in enumerate(chunks) for b in chunks[i + 1:])


# ---------------------------------------------------------------- the wire


def test_frames_round_trip_and_malformed_frames_are_refused():
    a, b = socket.socketpair()
    with a, b:
        records = np.zeros(3, z6.EVENT_DTYPE)
        records["vu_id"] = [1, 2, 3]
        wire.send_chunk(a, records, 5, 6, 7, 8, 9)
        wire.send_json(a, wire.DONE, {"events": 3})
        wire.send_signal(a, wire.STOP)
        kind, (head, got) = wire.recv_frame(b)
        assert kind == wire.CHUNK and tuple(head) == (5, 6, 7, 8, 9) and got.tobytes() == records.tobytes()
        assert wire.recv_frame(b) == (wire.DONE, {"events": 3})
        assert wire.recv_frame(b) == (wire.STOP, None)
        a.sendall(b"\x63" + (0).to_bytes(8, "little"))
        with pytest.raises(wire.WireError, match="unknown frame type 99"):
            wire.recv_frame(b)
        a.sendall(bytes([wire.CHUNK]) + (41).to_bytes(8, "little"))
        with pytest.raises(wire.WireError, match="not a whole number of events"):
            wire.recv_frame(b)
        a.sendall(bytes([wire.DONE]) + (4).to_bytes(8, "little") + b"[1]\n")
        with pytest.raises(wire.WireError, match="JSON object"):
            wire.recv_frame(b)
        a.sendall(bytes([wire.DONE]) + (100).to_bytes(8, "little") + b"{")
        a.close()
        with pytest.raises(ConnectionResetError, match="mid-message"):
            wire.recv_frame(b)


# ---------------------------------------------------------------- identical digests


@pytest.mark.live
@pytest.mark.parametrize("n", [1, 2, 3])
@pytest.mark.parametrize("name", ["constant", "ramp", "spike", "steps", "iterations", "sequence"])
def test_local_processes_give_the_one_process_digest(schedules, name, n):
    path, plan, want = schedules[name]
    digest = _Digest()
    with LocalProcesses(n) as backend:
        stats, dist = run_distributed(plan, [digest], backend)
    assert digest.sha.hexdigest() == want
    assert [s.status for s in dist.shards] == ["completed"] * n and not dist.lost
    one = run_plan(plan, [])
    assert (stats.events, stats.requests_issued, stats.final_tick) == (one.events, one.requests_issued, one.final_tick)
    # Framed as one process frames it: full chunks, then the rest.
    assert all(size == 65_536 for size in digest.chunks[:-1])


@pytest.fixture(scope="module")
def dask_client():
    distributed = pytest.importorskip("distributed")
    with distributed.LocalCluster(n_workers=3, threads_per_worker=1, processes=True, dashboard_address=None,
                                  silence_logs=50) as cluster, distributed.Client(cluster) as client:
        yield client


@pytest.mark.live
@pytest.mark.parametrize("n", [1, 2, 3])
@pytest.mark.parametrize("name", ["constant", "ramp", "spike", "steps", "iterations", "sequence"])
def test_a_dask_local_cluster_gives_the_one_process_digest(schedules, dask_client, name, n):
    path, plan, want = schedules[name]
    digest = _Digest()
    with DaskCluster(dask_client) as backend:
        stats, dist = run_distributed(plan, [digest], backend, shards=n)
    assert digest.sha.hexdigest() == want
    assert dist.backend == "dask" and dist.address.startswith("tcp://")
    assert [s.status for s in dist.shards] == ["completed"] * n
    workers = {w for w in dask_client.scheduler_info(n_workers=-1)["workers"]}
    assert {s.worker for s in dist.shards} <= workers
    # Offsets as Dask measured them: same machine, so small.
    assert all(abs(s.clock_offset_ms) < 1000 for s in dist.shards)


@pytest.mark.live
@pytest.mark.parametrize("n", [2, 3])
def test_the_coordinator_holds_a_bounded_number_of_events(n):
    # Hundreds of small chunks: what the merger holds back does not grow with
    # the run's length (it is a few chunks per shard, or one tick's events when
    # a tick holds more: every VU spawns at tick 0 here).
    text = (REPO / "benchmarks" / "scenarios" / "scale.toml").read_text()
    scenario = z6.parse_scenario(text, source="scale.toml")
    chunk = 1024
    peaks = {}
    for seconds in (15, 60):
        plan = z6.compile_plan(scenario, vus=5000, duration_s=seconds)
        with LocalProcesses(n) as backend:
            stats, dist = run_distributed(plan, [], backend, chunk_records=chunk)
        peaks[seconds] = dist.merge_peak_events
    assert stats.events > 400 * chunk
    assert 0 < peaks[60] <= peaks[15] + n * (_coordinator.CAP_CHUNKS + 2) * chunk
    assert peaks[60] < stats.events / 20


@pytest.mark.live
def test_cluster_runs_one_shard_per_dask_worker_by_default(schedules, dask_client):
    _, plan, want = schedules["spike"]
    digest = _Digest()
    with DaskCluster(dask_client) as backend:
        _, dist = run_distributed(plan, [digest], backend)
    assert len(dist.shards) == 3 and digest.sha.hexdigest() == want


@pytest.mark.live
def test_more_shards_than_the_cluster_can_run_at_once_are_refused(schedules, dask_client):
    _, plan, _ = schedules["spike"]
    with DaskCluster(dask_client) as backend:
        with pytest.raises(ConfigError, match="4 shards need 4 worker threads at once, but the cluster at tcp://"
                                              ".* has 3: .* use --workers 3"):
            run_distributed(plan, [], backend, shards=4)


@pytest.mark.live
def test_listen_must_name_an_address_workers_can_reach(dask_client):
    for wildcard in ("0.0.0.0", "::"):
        with pytest.raises(ConfigError, match="not a wildcard"):
            DaskCluster(dask_client, listen_host=wildcard)


@pytest.mark.live
def test_the_builtin_target_is_refused_for_workers_on_other_machines(dask_client, monkeypatch, tmp_path, capsys):
    assert DaskCluster(dask_client).on_this_machine()  # a LocalCluster's workers are on 127.0.0.1
    monkeypatch.setattr(DaskCluster, "on_this_machine", lambda self: False)
    code = z6.cli.main(["run", str(EXAMPLES / "quickstart.toml"), "--cluster", dask_client.scheduler.address,
                        "--quiet", "--out", str(tmp_path / "run")])
    assert code == 2
    assert "the built-in target listens on 127.0.0.1 of this machine" in capsys.readouterr().err
    assert not (tmp_path / "run").exists()


@pytest.mark.live
def test_z6_run_cluster_writes_a_log_that_verifies(schedules, dask_client, tmp_path):
    path, _, _ = schedules["steps"]
    one, out = tmp_path / "one", tmp_path / "run"
    assert z6.cli.main(["run", str(path), "--quiet", "--out", str(one)]) == 0
    code = z6.cli.main(["run", str(path), "--cluster", dask_client.scheduler.address, "--workers", "2",
                        "--quiet", "--out", str(out)])
    assert code == 0
    assert z6.read_log(out / "events.z6log").footer.digest == z6.read_log(one / "events.z6log").footer.digest
    assert z6.cli.main(["replay", str(out), "--verify"]) == 0


@pytest.mark.live
def test_an_unreachable_cluster_is_a_runtime_error():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    # Nothing listens: said at once (the client alone retried for its whole 30 s timeout).
    with pytest.raises(RunError, match=f"cannot reach the Dask scheduler at tcp://127.0.0.1:{port}: "
                                       f"connection refused \\(nothing listens on port {port}\\)"):
        DaskCluster(f"tcp://127.0.0.1:{port}")


# ---------------------------------------------------------------- z6 run --workers


@pytest.mark.live
def test_z6_run_workers_writes_the_one_process_log_and_summary(schedules, tmp_path):
    path, _, want = schedules["spike"]
    one, two = tmp_path / "one", tmp_path / "two"
    assert z6.cli.main(["run", str(path), "--quiet", "--out", str(one)]) == 0
    assert z6.cli.main(["run", str(path), "--quiet", "--workers", "2", "--out", str(two)]) == 0
    a, b = z6.read_log(one / "events.z6log"), z6.read_log(two / "events.z6log")
    assert a.footer.digest == b.footer.digest
    assert z6.event_digest(c[c["kind"] < 12] for c in b.iter_chunks()) == want  # engine events, then verdicts
    # Byte for byte, every chunk (the footer differs only in its wall time).
    assert [c.tobytes() for c in a.iter_chunks()] == [c.tobytes() for c in b.iter_chunks()]
    sa, sb = (json.loads((d / "summary.json").read_text()) for d in (one, two))
    assert sb["distributed"]["workers"] == 2 and sb["distributed"]["lost"] == []
    assert [s["vus"]["step"] for s in sb["distributed"]["shards"]] == [2, 2]
    for key in ("summary", "requests", "statuses", "errors", "time_series", "latency_distribution", "assertions"):
        assert sa[key] == sb[key], key
    jsonschema = pytest.importorskip("jsonschema")
    schema = json.loads((REPO / "python" / "z6" / "report" / "summary.schema.json").read_text())
    jsonschema.validate(sb, schema)


@pytest.mark.live
def test_the_terminal_summary_lists_the_workers_and_progress_covers_the_whole_run(schedules, capsys, tmp_path):
    path, plan, _ = schedules["steps"]
    assert z6.cli.main(["run", str(path), "--quiet", "--workers", "3", "--out", str(tmp_path / "run")]) == 0
    out = capsys.readouterr().out
    assert "workers      3 (processes)" in out
    for k in (1, 2, 3):
        assert f"shard {k} of 3" in out and f"VUs {k}, {k + 3}, ..., " in out
    snapshots = []
    with LocalProcesses(2) as backend:
        stats, _ = run_distributed(plan, [], backend, chunk_records=1024, progress=snapshots.append)
    last = snapshots[-1]
    assert last.requests_issued == stats.requests_issued and last.events == stats.events
    assert last.total_s == plan.end_tick * plan.tick_ns / 1e9
    assert max(s.active_vus for s in snapshots) <= plan.n_vus
    assert [s.events for s in snapshots] == sorted(s.events for s in snapshots)


def test_z6_run_workers_refuses_what_cannot_be_split(tmp_path, capsys):
    assert z6.cli.main(["run", str(EXAMPLES / "ramp.toml"), "--workers", "2", "--quiet",
                        "--out", str(tmp_path / "a")]) == 2
    assert "capacity cannot be split" in capsys.readouterr().err
    assert z6.cli.main(["run", str(EXAMPLES / "iterations.toml"), "--workers", "999", "--quiet",
                        "--out", str(tmp_path / "b")]) == 2
    assert "999 workers need at least 999 VUs" in capsys.readouterr().err
    assert z6.cli.main(["run", str(EXAMPLES / "constant.toml"), "--listen", "127.0.0.1", "--quiet"]) == 2
    assert "--listen applies only with --cluster" in capsys.readouterr().err
    assert not (tmp_path / "a").exists() and not (tmp_path / "b").exists()


@pytest.mark.live
@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="finds shard processes in /proc")
@pytest.mark.parametrize("how", ["sigint", "sigterm-to-the-group"])
def test_sigint_stops_every_shard_of_a_simulated_run(tmp_path, how):
    sc = tmp_path / "long.toml"
    text = (EXAMPLES / "constant.toml").read_text()
    text = text.replace("duration_seconds = 5\n", "duration_seconds = 100000\n")
    sc.write_text(text)
    assert z6.load_scenario(sc).schedule.duration_s == 100000  # hours of work: only a signal ends it
    proc = subprocess.Popen([sys.executable, "-m", "z6.cli", "run", str(sc), "--workers", "2", "--json",
                             "--out", str(tmp_path / "run")], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, env=child_environment(), start_new_session=True)
    shards = shard_processes(proc.pid, 2)
    partial = tmp_path / "run" / "events.z6log.partial"

    def under_way() -> bool:
        assert proc.poll() is None, proc.communicate()
        return partial.exists() and partial.stat().st_size > 64 * 1024

    # Signalled once merged events are in the log: both shards are streaming.
    wait_until(under_way, 60, what="64 KiB of merged events in events.z6log.partial")
    if how == "sigint":
        proc.send_signal(signal.SIGINT)
    else:
        # As timeout(1) or systemd do: the whole group, shards included. The
        # shards leave it to the coordinator, so the run is interrupted, not lost.
        os.killpg(proc.pid, signal.SIGTERM)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 3, err
    doc = json.loads(out)
    assert doc["run"]["status"] == "interrupted"
    assert [s["status"] for s in doc["distributed"]["shards"]] == ["interrupted", "interrupted"]
    assert doc["summary"]["requests"] > 0
    for pid in shards:
        assert not process_alive(pid), f"shard process {pid} outlived the run"
    assert z6.read_log(tmp_path / "run" / "events.z6log").footer.status == "interrupted"


# ---------------------------------------------------------------- misbehaving shards


class _Threads(Backend):
    """Shards in threads of this process, so a test can make one misbehave."""

    name = "threads"

    def __init__(self, shard_fn):
        self._pool = ThreadPoolExecutor(max_workers=8)
        self._shard_fn = shard_fn

    def default_shards(self) -> int:
        return 2

    def submit(self, fn, *args) -> Future:
        return self._pool.submit(self._shard_fn, *args)

    def shutdown(self) -> None:
        self._pool.shutdown(wait=True)


def _hello(task, sock, **extra):
    body = {"token": task.token, "index": task.shard.index, "z6_version": z6.__version__, "worker": "fake",
            "host": "fake", "pid": 0, "clock_offset_s": 0.0}
    body.update(extra)
    wire.send_json(sock, wire.HELLO, body)


def _misbehave_on_shard_2(behaviour):
    def shard_fn(task):
        if task.shard.index == 0:
            return run_shard(task)
        return behaviour(task)
    return shard_fn


@pytest.fixture
def plan(schedules):
    return schedules["constant"][1]


@pytest.mark.live
def test_a_shard_that_drops_its_connection_is_lost_and_named(plan):
    def drop(task):
        sock = socket.create_connection(task.coordinator)
        _hello(task, sock)
        wire.recv_frame(sock)  # START
        records = np.zeros(2, z6.EVENT_DTYPE)
        records["vu_id"] = task.shard.vu_ids[0]
        wire.send_chunk(sock, records, 0, 0, 1, 0, 2)
        sock.close()

    with _Threads(_misbehave_on_shard_2(drop)) as backend:
        stats, dist = run_distributed(plan, [], backend)
    # The healthy shard finished, or was stopped when the loss was seen first.
    assert dist.shards[0].status in ("completed", "interrupted") and dist.shards[1].status == "lost"
    lost = dist.lost[0]
    assert lost.shard.vu_ids == range(2, plan.n_vus + 1, 2) and lost.events == 2
    assert "its connection closed" in lost.detail
    msg = dist.lost_message()
    assert "shard 2 of 2" in msg and "VUs 2, 4, ..., 20" in msg and "incomplete" in msg


@pytest.mark.live
def test_a_silent_shard_is_lost_after_the_silence_timeout(plan, monkeypatch):
    monkeypatch.setattr(_coordinator, "SILENCE_TIMEOUT_S", 0.5)
    release = threading.Event()

    def hang(task):
        sock = socket.create_connection(task.coordinator)
        _hello(task, sock)
        release.wait(30)
        sock.close()

    try:
        with _Threads(_misbehave_on_shard_2(hang)) as backend:
            _, dist = run_distributed(plan, [], backend)
            release.set()
    finally:
        release.set()
    assert dist.shards[1].status == "lost" and "sent nothing for" in dist.shards[1].detail


@pytest.mark.live
def test_a_shard_that_fails_fails_the_run_naming_it(plan):
    def fail(task):
        sock = socket.create_connection(task.coordinator)
        _hello(task, sock)
        wire.recv_frame(sock)
        wire.send_json(sock, wire.FAIL, {"kind": "run", "message": "OSError: disk on fire"})
        sock.close()

    with pytest.raises(RunError, match=r"shard 2 of 2 on fake \(VUs 2, 4, .*\) failed: OSError: disk on fire"):
        with _Threads(_misbehave_on_shard_2(fail)) as backend:
            run_distributed(plan, [], backend)


@pytest.mark.live
def test_a_shard_that_cannot_start_fails_the_run(plan):
    def explode(task):
        raise ImportError("no module named z6core on this worker")

    with pytest.raises(RunError, match="shard 2 of 2 .* failed to start: ImportError: no module named z6core"):
        with _Threads(_misbehave_on_shard_2(explode)) as backend:
            run_distributed(plan, [], backend)


@pytest.mark.live
def test_strangers_and_second_runs_of_a_shard_are_turned_away(plan, schedules):
    want = schedules["constant"][2]
    silent = []

    def with_strangers(task):
        for token, index in (("not-the-token", task.shard.index), (task.token, 99)):
            stranger = socket.create_connection(task.coordinator)
            _hello(task, stranger, token=token, index=index)
            stranger.close()
        # A FAIL without the token does not end the run...
        stranger = socket.create_connection(task.coordinator)
        wire.send_json(stranger, wire.FAIL, {"kind": "config", "message": "stop everything"})
        stranger.close()
        # ...a huge first frame is dropped from its header, nothing allocated...
        stranger = socket.create_connection(task.coordinator)
        stranger.sendall(bytes([wire.CHUNK]) + (2**31 - 8).to_bytes(8, "little"))
        stranger.close()
        # ...and a connection that says one byte and then nothing stalls nothing.
        quiet = socket.create_connection(task.coordinator)
        quiet.sendall(b"\x01")
        silent.append(quiet)
        junk = socket.create_connection(task.coordinator)
        junk.sendall(b"GET / HTTP/1.1\r\n\r\n")
        junk.close()
        return run_shard(task)

    digest = _Digest()
    started = time.monotonic()
    try:
        with _Threads(with_strangers) as backend:
            _, dist = run_distributed(plan, [digest], backend)
    finally:
        for sock in silent:
            sock.close()
    assert digest.sha.hexdigest() == want and not dist.lost
    assert time.monotonic() - started < _coordinator.INTRODUCTION_S / 2


@pytest.mark.live
def test_a_shard_lost_at_the_start_does_not_take_the_healthy_one_with_it(plan):
    def vanish_after_hello(task):
        sock = socket.create_connection(task.coordinator)
        _hello(task, sock)
        sock.close()

    def shard_fn(task):
        return vanish_after_hello(task) if task.shard.index == 0 else run_shard(task)

    with _Threads(shard_fn) as backend:
        _, dist = run_distributed(plan, [], backend)
    assert dist.shards[0].status == "lost"
    assert dist.shards[1].status in ("completed", "interrupted")


@pytest.mark.live
def test_a_worker_with_another_z6_version_is_refused(plan):
    def old(task):
        sock = socket.create_connection(task.coordinator)
        _hello(task, sock, z6_version="0.0.1")
        try:
            wire.recv_frame(sock)
        except OSError:
            pass
        sock.close()

    with pytest.raises(ConfigError, match="with z6 0.0.1, but this coordinator is z6"):
        with _Threads(_misbehave_on_shard_2(old)) as backend:
            run_distributed(plan, [], backend)
