"""The progress view while a server answers nothing: the runner still calls it."""

from __future__ import annotations

import socket
import threading

import pytest

import z6
from z6.result import ProgressSnapshot

from .scenarios import request

pytestmark = pytest.mark.live


class SilentServer:
    """Accepts connections on 127.0.0.1 and never answers (nor closes) them."""

    def __init__(self) -> None:
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.held: list[socket.socket] = []
        self._thread = threading.Thread(target=self._accept, daemon=True)
        self._thread.start()

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self.listener.accept()
            except OSError:
                return   # closed
            self.held.append(conn)

    def close(self) -> None:
        self.listener.close()
        for conn in self.held:
            conn.close()


def test_progress_runs_while_every_vu_waits_on_a_silent_server():
    # Once the runner called progress only after a fill that returned events: a
    # run whose VUs all waited on a stalled server showed no progress line at all
    # until its end (30 s in the report that found it). A live fill returns at
    # least every 250 ms, and each return now reaches the progress callback.
    server = SilentServer()
    try:
        text = (f'[runtime]\nduration_seconds = 0.5\nvus = 1\n[target]\nbase_url = "http://127.0.0.1:{server.port}"\n'
                + request("r", "/", timeout_ms=2000) + "[assertions]\ndefault = false\n")
        snapshots: list[ProgressSnapshot] = []
        result = z6.run_scenario(z6.parse_scenario(text, source="silent.toml"), progress=snapshots.append)
    finally:
        server.close()
    overall = result.summary.overall
    assert overall.requests == 1 and overall.failed == 1 and sum(overall.errors.values()) == 1, overall
    # The request goes out at once; its timeout ends it 2 s later. In between no
    # event happens, and progress still ran several times a second.
    waiting = [s for s in snapshots if 0.3 <= s.wall_s <= 1.8]
    assert len(waiting) >= 4, [(round(s.wall_s, 3), s.events) for s in snapshots]
    assert len({s.events for s in waiting}) <= 2
