"""Live runs split over workers: every shard starts at one instant, the merged
request count equals the server's log, and a lost worker fails the run naming
its VUs."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys

import numpy as np
import pytest

import z6
import z6.cli
from z6._child_env import child_environment
from z6.events import EventKind
from z6.serve import BuiltinTarget

from conftest import assert_tick_vu_order, process_alive, shard_processes, tcp_connections, wait_until
from .test_live_driver import request, scenario_text

pytestmark = pytest.mark.live

MIX = (request("home", "/", weight=3) + request("about", "/about", weight=1)
       + request("form", "/form", method="POST", weight=1, body="a=1"))


def _run(text: str, tmp_path, **kwargs):
    scenario = z6.parse_scenario(text, source=str(tmp_path / "live.toml"))
    chunks: list[np.ndarray] = []
    result = z6.run_scenario(scenario, consumers=[lambda c: chunks.append(c.copy())], out_dir=tmp_path / "run",
                             **kwargs)
    return result, np.concatenate(chunks)


def _check_merged_run(result, events, tmp_path, shards: int) -> np.ndarray:
    assert_tick_vu_order(events)
    issued = events[events["kind"] == EventKind.REQUEST_ISSUED]
    received = events[events["kind"] == EventKind.RESPONSE_RECEIVED]
    assert len(issued) > 100 and len(received) == len(issued) and np.all(received["status"] == 200)
    assert result.summary.overall.requests == len(issued)
    dist = result.scale_out
    assert len(dist.shards) == shards and not dist.lost
    assert sum(s.requests_issued for s in dist.shards) == len(issued)
    for report in dist.shards:
        # Each shard issued for exactly its own VUs.
        mine = np.isin(issued["vu_id"], np.array(report.shard.vu_ids))
        assert mine.sum() == report.requests_issued
        # ...and began at the coordinator's instant, by its own clock.
        # (a generous bound: a loaded 2-core CI machine may deschedule a shard for a while)
        assert report.start_late_ms is not None and 0 <= report.start_late_ms < 200
    # Every VU issued the request sequence its seed gives it.
    assert z6.cli.main(["replay", str(tmp_path / "run"), "--verify"]) == 0
    return issued


@pytest.mark.slow
def test_two_local_workers_against_nginx_issue_what_nginx_logged(nginx, tmp_path):
    text = scenario_text(nginx.base_url, MIX, vus=20, duration_s=2.0, think_ms=5)
    result, events = _run(text, tmp_path, workers=2)
    nginx.stop()
    issued = _check_merged_run(result, events, tmp_path, 2)
    assert nginx.requests_logged() == len(issued)
    assert len(np.unique(issued["vu_id"])) == 20
    assert all(s.clock_offset_ms == 0.0 for s in result.scale_out.shards)  # one machine, one clock


@pytest.mark.slow
def test_two_dask_workers_against_nginx_issue_what_nginx_logged(nginx, tmp_path):
    distributed = pytest.importorskip("distributed")
    text = scenario_text(nginx.base_url, MIX, vus=20, duration_s=2.0, think_ms=5)
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None,
                                  silence_logs=50) as cluster, distributed.Client(cluster) as client:
        result, events = _run(text, tmp_path, cluster=client)
    nginx.stop()
    issued = _check_merged_run(result, events, tmp_path, 2)
    assert nginx.requests_logged() == len(issued)
    assert result.scale_out.backend == "dask"


def _start_cli(args: list[str]) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "z6.cli", *args], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=child_environment())


def _wait_for_traffic(proc: subprocess.Popen, shards: list[int], nginx) -> None:
    """Until every shard holds a connection to nginx and nginx has answered 100 requests."""
    def flowing() -> bool:
        assert proc.poll() is None, proc.communicate()
        return all(tcp_connections(pid, nginx.port) for pid in shards) and nginx.requests_logged() >= 100

    wait_until(flowing, 60, what="both shards' traffic at nginx (a connection each, 100 requests logged)")


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="finds shard processes in /proc")
def test_killing_a_worker_mid_run_exits_3_and_names_the_lost_vus(nginx, tmp_path):
    sc = tmp_path / "long.toml"
    sc.write_text(scenario_text(nginx.base_url, MIX, vus=10, duration_s=60, think_ms=5))
    out = tmp_path / "run"
    proc = _start_cli(["run", str(sc), "--workers", "2", "--json", "--out", str(out)])
    shards = shard_processes(proc.pid, 2)
    _wait_for_traffic(proc, shards, nginx)
    victim = shards[1]
    os.kill(victim, signal.SIGKILL)
    stdout, stderr = proc.communicate(timeout=60)
    assert proc.returncode == 3, stderr
    doc = json.loads(stdout)
    (lost,) = [s for s in doc["distributed"]["shards"] if s["status"] == "lost"]
    assert lost["pid"] == victim and doc["distributed"]["lost"] == [lost["shard"]]
    k = lost["shard"]
    ids = f"{k}, {k + 2}, ..., {k + 8}"
    assert f"worker lost: shard {k} of 2 on {lost['worker']}, VUs {ids} (ids {k}-{k + 8} in steps of 2, 5 VUs)" \
        in stderr
    assert doc["run"]["status"] == "failed" and doc["verdict"]["exit_code"] == 3
    assert any("worker lost" in w for w in doc["warnings"])
    # The survivor was stopped and finished what it had in flight; all that was
    # received is in the log, sealed as failed, beside its summary.
    (kept,) = [s for s in doc["distributed"]["shards"] if s["status"] != "lost"]
    assert kept["status"] == "interrupted" and kept["requests_issued"] > 0  # stopped by the coordinator
    log = z6.read_log(out / "events.z6log")
    assert log.footer.status == "failed"
    assert json.loads((out / "summary.json").read_text())["distributed"]["lost"] == [k]
    nginx.stop()
    issued = int((log.events["kind"] == EventKind.REQUEST_ISSUED).sum())
    # Nothing received was dropped: the log holds at most what nginx saw (the
    # lost shard's last requests may have reached nginx after its final chunk).
    assert 0 < issued <= nginx.requests_logged()
    assert not process_alive(victim) and all(not process_alive(p) for p in shards)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="finds shard processes in /proc")
def test_ctrl_c_stops_every_live_shard_and_loses_nothing(nginx, tmp_path):
    sc = tmp_path / "long.toml"
    sc.write_text(scenario_text(nginx.base_url, MIX, vus=10, duration_s=60, think_ms=5))
    proc = _start_cli(["run", str(sc), "--workers", "2", "--json", "--out", str(tmp_path / "run")])
    shards = shard_processes(proc.pid, 2)
    _wait_for_traffic(proc, shards, nginx)
    proc.send_signal(signal.SIGINT)
    stdout, stderr = proc.communicate(timeout=60)
    assert proc.returncode == 3, stderr
    doc = json.loads(stdout)
    assert doc["run"]["status"] == "interrupted"
    assert [s["status"] for s in doc["distributed"]["shards"]] == ["interrupted", "interrupted"]
    nginx.stop()
    # Every request the shards issued before the stop was answered and counted.
    assert doc["summary"]["requests"] == nginx.requests_logged() > 0
    assert all(not process_alive(p) for p in shards)


def test_a_shard_without_enough_descriptors_is_refused_before_any_traffic(tmp_path):
    import resource

    with BuiltinTarget(access_log=tmp_path / "access.log") as server:
        sc = tmp_path / "many.toml"
        sc.write_text(scenario_text(server.base_url, request("r", "/"), vus=600, duration_s=1))

        def low_limit():
            resource.setrlimit(resource.RLIMIT_NOFILE, (256, 256))

        proc = subprocess.Popen([sys.executable, "-m", "z6.cli", "run", str(sc), "--workers", "2", "--quiet",
                                 "--out", str(tmp_path / "run")], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                text=True, env=child_environment(), preexec_fn=low_limit)
        _, err = proc.communicate(timeout=60)
    assert proc.returncode == 2, err
    assert "shard 1 of 2" in err or "shard 2 of 2" in err
    assert "300 VUs" in err and "256" in err
    assert not (tmp_path / "run").exists()
    # The probe connection of the reachability check is the only line, if any.
    assert len((tmp_path / "access.log").read_text().splitlines()) == 0
