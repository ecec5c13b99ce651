"""Type stubs for z6core._open (the open-model engine: arrival-rate plans against the modelled target)."""

import numpy as np
import numpy.typing as npt

from z6core._plan import EnginePlan as EnginePlan

__all__ = ["OpenEngine", "ARRIVALS_CONSTANT", "ARRIVALS_POISSON"]

ARRIVALS_CONSTANT: int  # evenly spaced arrivals
ARRIVALS_POISSON: int  # exponential gaps from the run-wide arrival stream

class OpenEngine:
    """``OpenEngine(plan)``: ``plan.arrivals`` (z6.plan.ArrivalPlan) served by a VU pool."""

    events_emitted: int
    requests_issued: int
    active_vus: int
    dropped_iterations: int
    arrivals_total: int
    n_vus: int  # max_vus: the table's size
    pool_vus: int  # spawned at the start
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
    @property
    def spawned_vus(self) -> int: ...
