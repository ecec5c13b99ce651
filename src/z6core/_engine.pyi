"""Type stubs for z6core._engine (the compiled VU engine)."""

import numpy as np
import numpy.typing as npt

from z6core._plan import EnginePlan as EnginePlan
from z6core._plan import vu_id_stride as vu_id_stride

__all__ = ["Engine", "EVENT_DTYPE", "VU_DTYPE", "PROFILE_DEFAULT", "PROFILE_ORIGINAL", "ITER_UNLIMITED", "DEBUG_BUILD",
           "CLOCK_LIMIT_NS"]

EVENT_DTYPE: np.dtype
VU_DTYPE: np.dtype
PROFILE_DEFAULT: int
PROFILE_ORIGINAL: int
ITER_UNLIMITED: int
CLOCK_LIMIT_NS: int
DEBUG_BUILD: bool

class Engine:
    events_emitted: int
    requests_issued: int
    active_vus: int
    n_vus: int
    def __init__(self, plan: EnginePlan) -> None: ...
    def fill(self, out: npt.NDArray[np.void]) -> int: ...
    def stop(self, cancel_in_flight: bool = False) -> None: ...
    @property
    def stopping(self) -> bool: ...
    @property
    def finished(self) -> bool: ...
    @property
    def vus(self) -> npt.NDArray[np.void]: ...
    @property
    def tick(self) -> int: ...
