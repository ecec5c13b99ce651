"""The event record and the VU table: C structs and numpy dtypes agree."""

from __future__ import annotations

import numpy as np
import pytest

import z6
import z6core
from conftest import scenario


def test_event_dtype_layout():
    dt = z6core.EVENT_DTYPE
    assert dt.itemsize == 32
    expected = [("tick", "<u8", 0), ("value_ns", "<u8", 8), ("vu_id", "<u4", 16), ("kind", "<u2", 20),
                ("request", "<u2", 22), ("status", "<u2", 24), ("error", "<u2", 26), ("seq", "<u4", 28)]
    assert list(dt.names) == [name for name, _, _ in expected]
    for name, typ, offset in expected:
        field_dtype, field_offset = dt.fields[name]
        assert field_dtype == np.dtype(typ), name
        assert field_offset == offset, name
    assert z6.EVENT_DTYPE is dt


def test_vu_record_is_at_most_64_bytes():
    assert z6core.VU_DTYPE.itemsize <= 64
    assert {"vu_id", "state", "rng", "due_ns", "seq"} <= set(z6core.VU_DTYPE.names)


def test_event_kind_numbers_follow_design():
    names = ["vu_spawned", "vu_ready", "vu_complete", "request_issued", "request_timeout",
             "request_cancelled", "response_received", "response_error", "conn_established",
             "conn_closed", "conn_error", "scheduler_tick", "assertion_passed", "assertion_failed",
             "error_dns", "error_tcp", "error_tls", "error_http", "error_timeout",
             "error_protocol_violation", "error_resource_exhausted",
             "iteration_dropped",  # appended by the open model
             "check_failed",  # appended by response checks
             "redirect_chain"]  # appended by redirects
    assert [k.name.lower() for k in z6.EventKind] == names
    assert [int(k) for k in z6.EventKind] == list(range(len(names)))


def test_vu_table_is_a_read_only_view_of_one_block():
    plan = z6.compile_plan(scenario())
    engine = z6core.Engine(plan)
    vus = engine.vus
    assert vus.dtype == z6core.VU_DTYPE and vus.shape == (10,)
    assert vus["vu_id"].tolist() == list(range(1, 11))
    assert not vus.flags.writeable
    with pytest.raises(ValueError):
        vus["state"][0] = 3
    # The view shows the live table: states move as the engine runs.
    assert set(vus["state"].tolist()) == {255}          # not yet spawned
    buf = np.empty(64, z6core.EVENT_DTYPE)
    engine.fill(buf)
    assert set(vus["state"].tolist()) != {255}
    del engine
    assert vus["vu_id"][9] == 10                         # the view keeps the table alive
