"""Type stubs for z6core._template (request templates: the checked tables and their replays)."""

from typing import Any, Protocol, Sequence

import numpy as np
import numpy.typing as npt

from z6core._plan import EnginePlan

__all__ = ["TemplateTables", "SEGMENT_DTYPE", "TEMPLATE_REQUEST_DTYPE", "SEGMENT_KINDS", "CONTEXTS", "PICKS",
           "value_stream_seed", "rendered_requests", "expected_digests", "RENDER_PLAIN", "RENDER_OK",
           "RENDER_REFUSED", "RENDER_VARIABLES", "DIGEST_START", "MAX_HEX_DIGITS", "VAR_UNSET"]

SEGMENT_DTYPE: np.dtype  # read off z6_seg_t: kind u32, ctx u32, a u64, b u64
TEMPLATE_REQUEST_DTYPE: np.dtype  # read off z6_treq_t
SEGMENT_KINDS: dict[str, int]
CONTEXTS: dict[str, int]  # "body", "path", "header"
PICKS: dict[str, int]  # "per_vu", "sequential", "unique", "random"
RENDER_PLAIN: int
RENDER_OK: int
RENDER_REFUSED: int
RENDER_VARIABLES: int  # the request reads variables: its placeholder rendering (what the digest covers)
VAR_UNSET: int  # a variable's length, and a var_default entry's, when it has none
DIGEST_START: int  # FNV-1a 64's offset basis: the digest of a VU that rendered nothing
MAX_HEX_DIGITS: int

class DataTable(Protocol):
    pick: int
    n_cols: int
    cells: npt.NDArray[np.uint32]  # n_rows * n_cols + 1 offsets into arena
    arena: bytes

class WireTemplates(Protocol):
    segments: npt.NDArray[np.void]
    requests: npt.NDArray[np.void]
    literals: bytes
    choices: npt.NDArray[np.uint32]
    data: Sequence[DataTable]
    total_vus: int
    pass_len: int
    var_max: npt.NDArray[np.uint32]  # per variable: the most bytes it holds
    var_default: npt.NDArray[np.uint32]  # per variable: (offset, length) into literals; length VAR_UNSET: none

class TemplateTables:
    def __init__(self, wire: WireTemplates, n_requests: int) -> None: ...
    def templated(self, request: int) -> bool: ...
    def bound(self, request: int) -> int: ...
    def reads_variables(self, request: int) -> bool: ...

def value_stream_seed(seed: int, vu_id: int) -> int: ...
def rendered_requests(plan: EnginePlan, tables: TemplateTables, vu_id: int,
                      count: int, epilogue_at: int | None = None) -> list[tuple[int, int, bytes | None]]: ...
def expected_digests(plan: EnginePlan, tables: TemplateTables, vu_ids: npt.ArrayLike,
                     counts: npt.ArrayLike, epilogue_at: npt.ArrayLike | None = None) -> npt.NDArray[np.uint64]: ...
