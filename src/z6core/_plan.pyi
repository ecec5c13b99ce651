"""Type stubs for z6core._plan (the plan loader both engines use)."""

from typing import Protocol

import numpy as np
import numpy.typing as npt

__all__ = ["PlanArrays", "vu_id_stride", "unique_iterations", "posix_regex_groups", "EVENT_DTYPE", "VU_DTYPE", "ITER_UNLIMITED", "CLOCK_LIMIT_NS",
           "PROFILE_DEFAULT", "PROFILE_ORIGINAL", "DEBUG_BUILD"]

EVENT_DTYPE: np.dtype
VU_DTYPE: np.dtype
PROFILE_DEFAULT: int
PROFILE_ORIGINAL: int
ITER_UNLIMITED: int  # iter_left of a VU bounded by its schedule alone
CLOCK_LIMIT_NS: int  # the clock's horizon: stop_ns and graceful_ns stay at or below it
DEBUG_BUILD: bool

class EnginePlan(Protocol):
    """What the engines read from a plan (see z6.plan.Plan); the live driver
    reads the first group only, the simulated engine also the modelled target."""

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
    graceful_ns: int
    # the modelled target (simulated engine only)
    profile: int
    latency: tuple[int, float, float]
    error_rate: float
    status_codes: npt.NDArray[np.uint16]
    status_cum: npt.NDArray[np.uint64]
    capacity: int
    original_weights_f32: npt.NDArray[np.float32]
    original_think_ticks: int
    original_latency_ticks: int
    # optional (default 0): the fewest rows of a data file read with pick = "unique",
    # and the run's VU count; together they cap each VU's iterations
    # unique_rows: int; unique_vus: int
    # optional (default empty): [lifecycle] request indices, at most 64 each
    # on_start: npt.NDArray[np.uint16]; on_stop: npt.NDArray[np.uint16]

def unique_iterations(rows: int, vus: int, vu_id: int) -> int:
    """Iterations VU ``vu_id`` gets from a ``rows``-row "unique" data file in a ``vus``-VU run."""

def vu_id_stride(plan: EnginePlan) -> int:
    """The plan's VU id step (1 unless the plan is a strided shard)."""

class PlanArrays:
    """A checked plan held as C data (ValueError names the broken rule)."""

    def __init__(self, plan: EnginePlan, *, simulated: bool) -> None: ...

def posix_regex_groups(pattern: str | bytes) -> int:
    """How many groups a POSIX extended regex has; ValueError (the C library's message) when it does not compile."""
    ...
