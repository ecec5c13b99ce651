"""The bytes-on-the-wire record (`z6.result.Transfer`) and its place in the event
log's footer: validated on the way in, kept through a write and a read, refused
when it does not fit the log's requests."""

from __future__ import annotations

import pytest

import z6
from z6.analysis import recompute_run
from z6.log import EventLogWriter, LogError, make_header, read_log
from z6.log._format import LogFooter
from z6.result import Transfer
from z6.runner import run_plan

from test_log_helpers import mixed_scenario


def test_totals_and_the_sum_of_two_shards():
    a = Transfer((10, 20), (100, 200))
    b = Transfer((1, 2), (3, 4))
    assert (a.total_sent, a.total_received) == (30, 300)
    assert a.plus(b) == Transfer((11, 22), (103, 204))
    assert Transfer.from_json_dict(a.to_json_dict()) == a


@pytest.mark.parametrize("sent, received, words", [
    ((1, 2), (3,), "2 sent counts but 1 received"),
    ((-1,), (3,), "sent must be non-negative integers"),
    ((1,), (True,), "received must be non-negative integers"),
])
def test_bad_counts_are_refused_naming_them(sent, received, words):
    with pytest.raises(ValueError, match=words):
        Transfer(sent, received)


def test_shards_with_different_requests_do_not_add():
    with pytest.raises(ValueError, match="cannot add 1 requests' bytes to 2"):
        Transfer((1, 2), (3, 4)).plus(Transfer((1,), (1,)))


@pytest.mark.parametrize("doc", [None, [], {"sent": [1]}, {"sent": [1], "received": "2"}])
def test_a_document_that_is_not_a_transfer_is_refused(doc):
    with pytest.raises(ValueError, match="transfer must be an object with lists sent and received"):
        Transfer.from_json_dict(doc)


@pytest.mark.parametrize("transfer", [
    {"sent": [1, 2], "received": [1]},
    {"sent": [1], "received": [-1]},
    {"sent": [1], "received": [1], "other": []},
    {"sent": "1", "received": [1]},
])
def test_a_footer_with_a_bad_transfer_is_refused(transfer):
    with pytest.raises(ValueError, match="transfer must hold sent and received"):
        LogFooter(records=0, chunks=0, digest="0" * 64, transfer=transfer)


def _log(tmp_path, transfer):
    scn = mixed_scenario()
    plan = z6.compile_plan(scn)
    writer = EventLogWriter(tmp_path, make_header(scn, plan))
    run_plan(plan, [writer])
    return writer.finish("completed", transfer=transfer)


def test_the_footer_keeps_the_transfer_and_a_rebuilt_run_reads_it(tmp_path):
    path = _log(tmp_path, {"sent": [5, 6], "received": [70, 80]})
    log = read_log(path)
    assert log.footer.transfer == {"sent": [5, 6], "received": [70, 80]}
    assert recompute_run(log).stats.transfer == Transfer((5, 6), (70, 80))


def test_a_log_without_a_transfer_rebuilds_a_run_without_one(tmp_path):
    assert recompute_run(read_log(_log(tmp_path, None))).stats.transfer is None


def test_a_transfer_for_other_requests_than_the_header_names_is_a_log_error(tmp_path):
    path = _log(tmp_path, {"sent": [5], "received": [70]})
    with pytest.raises(LogError, match="the footer's transfer counts 1 requests, the header names 2"):
        recompute_run(read_log(path))
