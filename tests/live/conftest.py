"""Fixtures for live tests: the built-in target and nginx, each started and stopped here."""

from __future__ import annotations

import pathlib
from typing import Iterator

import pytest

from z6.serve import BuiltinTarget

from .servers import NginxServer, require_nginx, start_nginx


@pytest.fixture(scope="module")
def builtin_target(tmp_path_factory: pytest.TempPathFactory) -> Iterator[BuiltinTarget]:
    """`z6 serve` in a child process, shared by a module's tests; its access log in
    ``builtin_target.access_log`` (complete only once stopped: count deltas, or start
    a BuiltinTarget of your own for exact counts)."""
    log = tmp_path_factory.mktemp("builtin-target") / "access.log"
    with BuiltinTarget(access_log=log) as target:
        yield target


@pytest.fixture
def nginx(tmp_path: pathlib.Path) -> Iterator[NginxServer]:
    """nginx on 127.0.0.1:<free port>, its access log in tmp_path, stopped after the test."""
    require_nginx()
    server = start_nginx(tmp_path)
    try:
        yield server
    finally:
        server.stop()
