"""The summary's fold on a thread of its own (z6.run._consumer_thread): every chunk
consumed, in order, off the caller's thread; the queue bounded; a chunk the
caller could change copied; the consumer's error raised on the caller's thread
and nothing after it consumed; a failed run leaves no thread behind."""

from __future__ import annotations

import threading

import numpy as np
import pytest

import z6
from z6.events import EVENT_DTYPE
from z6.metrics import SummaryBuilder
from z6.run._consumer_thread import ConsumerThread

from conftest import REPO


def _chunk(first: int, n: int = 4, writeable: bool = False) -> np.ndarray:
    chunk = np.zeros(n, dtype=EVENT_DTYPE)
    chunk["tick"] = np.arange(first, first + n)
    chunk.flags.writeable = writeable
    return chunk


def _threads(name: str) -> int:
    return sum(t.name == name for t in threading.enumerate())


def test_every_chunk_is_consumed_in_order_on_the_worker():
    seen, where = [], set()

    def consume(chunk):
        seen.append(int(chunk["tick"][0]))
        where.add(threading.current_thread().name)

    with ConsumerThread(consume, name="z6 test fold") as fold:
        for first in range(0, 400, 4):
            fold(_chunk(first))
    assert seen == list(range(0, 400, 4))
    assert where == {"z6 test fold"} and _threads("z6 test fold") == 0


def test_a_chunk_the_caller_can_change_is_copied_and_a_frozen_one_is_not():
    gate, kept = threading.Event(), []

    def consume(chunk):
        gate.wait(10)
        kept.append(chunk)

    writable, frozen = _chunk(0, writeable=True), _chunk(10)
    fold = ConsumerThread(consume, name="z6 test fold")
    fold(writable)
    fold(frozen)
    writable["tick"] = 99            # changed while queued: the consumer still sees what was given
    gate.set()
    fold.close()
    assert kept[0]["tick"].tolist() == [0, 1, 2, 3] and not np.shares_memory(kept[0], writable)
    assert kept[1] is frozen


def test_the_queue_is_bounded_and_the_caller_waits_for_room():
    gate, entered = threading.Event(), threading.Event()

    def consume(chunk):
        entered.set()
        gate.wait(10)

    fold = ConsumerThread(consume, name="z6 test fold", depth=2)
    fold(_chunk(0))
    assert entered.wait(10)          # taken by the worker, which waits at the gate
    fold(_chunk(4))
    fold(_chunk(8))                  # the queue holds two
    blocked = threading.Thread(target=fold, args=(_chunk(12),))
    blocked.start()
    blocked.join(0.2)
    assert blocked.is_alive()        # no room: the caller waits, nothing is dropped
    gate.set()
    blocked.join(10)
    fold.close()
    assert not blocked.is_alive()


def test_the_consumers_error_reaches_the_caller_and_nothing_after_it_is_consumed():
    seen = []

    def consume(chunk):
        seen.append(int(chunk["tick"][0]))
        if chunk["tick"][0] == 4:
            raise ValueError("a chunk the consumer refuses")

    fold = ConsumerThread(consume, name="z6 test fold error")
    fold(_chunk(0))
    fold(_chunk(4))
    raised = []
    # The worker may fail before a later chunk is given (that call raises) or
    # after (close raises): the caller is told exactly once either way.
    for first in (8, 12):
        try:
            fold(_chunk(first))
        except ValueError as exc:
            raised.append(exc)
            break
    try:
        fold.close()
    except ValueError as exc:
        raised.append(exc)
    assert [str(e) for e in raised] == ["a chunk the consumer refuses"]
    assert seen == [0, 4] and _threads("z6 test fold error") == 0
    with pytest.raises(ValueError, match="closed"):
        fold(_chunk(16))


def test_the_error_is_raised_at_a_later_chunk_too():
    consumed = []

    def consume(chunk):
        consumed.append(chunk)
        raise MemoryError("no room")

    fold = ConsumerThread(consume, name="z6 test fold")
    fold(_chunk(0))
    raised = None
    for attempt in range(500):       # the worker fails soon after taking the first chunk
        try:
            fold(_chunk(4 * attempt + 4))
        except MemoryError as exc:
            raised = exc
            break
        threading.Event().wait(0.01)
    assert raised is not None and str(raised) == "no room"
    fold.close()                     # told once: closing does not raise it again
    assert len(consumed) == 1        # nothing after the failed chunk


def test_leaving_on_an_exception_stops_the_worker_without_consuming_the_rest():
    gate, seen = threading.Event(), []

    def consume(chunk):
        gate.wait(10)
        seen.append(int(chunk["tick"][0]))

    with pytest.raises(KeyboardInterrupt):
        with ConsumerThread(consume, name="z6 test fold abandon") as fold:
            for first in range(0, 16, 4):
                fold(_chunk(first))
            threading.Timer(0.1, gate.set).start()
            raise KeyboardInterrupt
    assert len(seen) <= 1 and _threads("z6 test fold abandon") == 0


def test_a_simulated_run_folds_off_its_thread_and_its_summary_is_unchanged(monkeypatch):
    scenario = z6.load_scenario(REPO / "examples" / "simulated.toml")
    plan = z6.compile_plan(scenario)
    reference = SummaryBuilder(plan.request_names, plan.tick_ns, think_ms=z6.metrics.mean_think_ms(scenario.think_time))
    z6.run_plan(plan, [reference])
    where = set()
    call = SummaryBuilder.__call__

    def recorded(self, chunk):
        where.add(threading.current_thread().name)
        call(self, chunk)

    monkeypatch.setattr(SummaryBuilder, "__call__", recorded)
    result = z6.run_scenario(scenario)
    assert where == {"z6 summary"}
    assert result.summary.to_dict() == reference.finish().to_dict()
    assert _threads("z6 summary") == 0
