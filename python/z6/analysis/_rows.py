"""What the summary says of dynamic requests: VUs that ran out of rows, and the
data files' warnings (values holding CR, LF or NUL, found at load).

A data file read with ``pick = "unique"`` gives VU i the rows (i - 1) + k * VUs
and completes the VU when the next one would be past the end
(`z6core.unique_iterations`). `RowsRunOut` counts, from the events alone, the
VUs that completed for that reason: a ``vu_complete`` whose VU had done all the
iterations its rows allow, fewer than the run's own limit. The run and its
rebuild from the log fold the same events, so both say the same
(`with_rows_note` puts it among the summary's warnings, after the data files'
warnings, which the plan carries).
"""

from __future__ import annotations

import dataclasses

import numpy as np
import z6core

from z6.events import EventKind

__all__ = ["RowsRunOut", "with_rows_note"]


class RowsRunOut:
    """A chunk consumer: how many VUs ran out of rows of a "unique" data file."""

    def __init__(self, plan) -> None:
        self.rows = int(plan.unique_rows)
        self.vus = int(plan.unique_vus)
        self.limit = int(plan.iterations) or z6core.ITER_UNLIMITED
        templates = plan.templates
        self.pass_len = int(templates.pass_len) if templates is not None else 1
        self.names = tuple(t.name for t in templates.data if t.pick == "unique") if templates is not None else ()
        self.data_warnings = tuple(templates.warnings) if templates is not None else ()
        self.count = 0

    def __call__(self, chunk: np.ndarray) -> None:
        if not self.rows:
            return
        done = chunk[chunk["kind"] == EventKind.VU_COMPLETE]
        if done.size == 0:
            return
        first = done["vu_id"].astype(np.int64) - 1
        caps = np.where(first >= self.rows, 0, (self.rows - first + self.vus - 1) // self.vus)
        iterations = done["seq"].astype(np.int64) // self.pass_len
        self.count += int(np.count_nonzero((caps < self.limit) & (iterations >= caps)))


def with_rows_note(summary, counter: RowsRunOut):
    """``summary`` with the data files' warnings and a line saying how many VUs ran
    out of rows (when any did)."""
    notes = list(counter.data_warnings)
    if counter.count:
        files = ", ".join(counter.names)
        notes.append(f"{counter.count} VU{'s' if counter.count != 1 else ''} ran out of rows of {files} "
                     f"(pick = \"unique\", {counter.rows} rows) and completed early")
    return dataclasses.replace(summary, warnings=(*summary.warnings, *notes)) if notes else summary
