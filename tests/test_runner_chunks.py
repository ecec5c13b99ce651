"""The runner's chunk arrays: one nobody refers to any more is filled again (no
fresh pages a fill); one that a consumer keeps, or keeps a view of, never is; what
consumers get is read-only and the same events either way."""

from __future__ import annotations

import numpy as np

import z6
from z6.events import concat_chunks
from z6 import runner
from z6.runner import iter_chunks

from conftest import REPO


def _plan():
    return z6.compile_plan(z6.load_scenario(REPO / "examples" / "simulated.toml"))


def _owner(chunk: np.ndarray) -> int:
    return id(chunk.base if chunk.base is not None else chunk)


def test_a_chunk_nobody_holds_is_filled_again_and_the_events_are_the_same():
    plan = _plan()
    owners, digests = set(), []
    for chunk in iter_chunks(plan, chunk_records=64):
        owners.add(_owner(chunk))
        digests.append(z6.event_digest(chunk))
    assert len(digests) > 10
    if runner._UNHELD is not None:   # CPython with the GIL: arrays are reused
        assert len(owners) <= 3
    kept = list(iter_chunks(plan, chunk_records=64))       # every chunk held: each its own array
    assert len({_owner(c) for c in kept}) == len(kept) == len(digests)
    assert [z6.event_digest(c) for c in kept] == digests
    assert z6.event_digest(concat_chunks(kept)) == z6.event_digest(concat_chunks(iter_chunks(plan)))


def test_a_kept_chunk_or_a_kept_view_of_one_is_never_refilled():
    plan = _plan()
    views, memoryviews, copies = [], [], []
    for i, chunk in enumerate(iter_chunks(plan, chunk_records=64)):
        assert not chunk.flags.writeable
        copies.append(chunk.copy())
        if i % 2:
            views.append((i, chunk["tick"][5:]))               # a view of a field keeps the array
        else:
            memoryviews.append((i, memoryview(chunk)))         # so does an exported buffer
    for i, view in views:
        assert np.array_equal(view, copies[i]["tick"][5:])
    for i, buffer in memoryviews:
        assert np.array_equal(np.asarray(buffer), copies[i])
