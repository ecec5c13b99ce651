"""Type stubs for z6core._engine (the compiled VU engine)."""

from typing import Protocol

import numpy as np
import numpy.typing as npt

__all__ = ["Engine", "EVENT_DTYPE", "VU_DTYPE", "PROFILE_DEFAULT", "PROFILE_SEED", "ITER_UNLIMITED", "DEBUG_BUILD",
           "CLOCK_LIMIT_NS"]

EVENT_DTYPE: np.dtype
VU_DTYPE: np.dtype
PROFILE_DEFAULT: int
PROFILE_SEED: int
ITER_UNLIMITED: int
CLOCK_LIMIT_NS: int
DEBUG_BUILD: bool

class EnginePlan(Protocol):
    """What the engine reads from a plan (see z6.plan.Plan)."""

    profile: int
    seed: int
    tick_ns: int
    first_vu_id: int
    vu_id_step: int  # optional on a plan (default 1): a shard's VU ids are first_vu_id + i * vu_id_step
    spawn_tick: npt.NDArray[np.uint64]
    stop_ns: npt.NDArray[np.uint64]
    iterations: int
    cum_weights: npt.NDArray[np.uint64]
    timeout_ns: npt.NDArray[np.uint64]
    step_request: npt.NDArray[np.uint16]
    step_repeat: npt.NDArray[np.uint32]
    think: tuple[int, float, float]
    latency: tuple[int, float, float]
    error_rate: float
    status_codes: npt.NDArray[np.uint16]
    status_cum: npt.NDArray[np.uint64]
    capacity: int
    graceful_ns: int
    seed_weights_f32: npt.NDArray[np.float32]
    seed_think_ticks: int
    seed_latency_ticks: int

def vu_id_stride(plan: EnginePlan) -> int:
    """The plan's VU id step (1 unless the plan is a strided shard)."""

class Engine:
    events_emitted: int
    requests_issued: int
    active_vus: int
    n_vus: int
    def __init__(self, plan: EnginePlan) -> None: ...
    def fill(self, out: npt.NDArray[np.void]) -> int: ...
    @property
    def finished(self) -> bool: ...
    @property
    def vus(self) -> npt.NDArray[np.void]: ...
    @property
    def tick(self) -> int: ...
