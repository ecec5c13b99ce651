"""The seed-compatibility profile: a plan that reproduces the original Zig
engine's behaviour event for event (docs/architecture.md, "Determinism").

"Original" here means that engine; "seed" elsewhere means the PRNG seed.
"""

from __future__ import annotations

import numpy as np

import z6core
from z6.plan._compile import U64_MAX, WEIGHT_SCALE, Plan

__all__ = ["original_profile_plan", "seed_profile_plan", "ORIGINAL_RUN_BUFFER_TICKS"]

# The original engine's run() loops `while (!isComplete() and tick_count < duration_ticks + 1000)`
# ("Buffer for completion"): it processes ticks 1 .. duration + 1000 and stops there.
ORIGINAL_RUN_BUFFER_TICKS = 1000


def original_profile_plan(
    *,
    vus: int,
    duration_ticks: int,
    think_ticks: int,
    seed: int,
    weights_f32: list[float],
    tick_ns: int = 10_000_000,
    latency_ticks: int = 2,
) -> Plan:
    """The seed-compatibility profile (docs/architecture.md, "Determinism").

    One stream shared by all VUs in id order, the original engine's f32 weighted pick, think
    time counted from the issue, a ``latency_ticks`` simulated request, and the
    seed's completion rule (a VU completes at its first response on or after
    ``duration_ticks``), and its stop: the run ends after tick ``duration_ticks +
    1000`` even with VUs thinking or mid-request, which get no further event (no
    outcome, no ``vu_complete``: the one place the profile breaks the outcome rule,
    as the original does). The default tick is the original engine's: 100 ticks a second.
    """
    weights = np.asarray(weights_f32, dtype=np.float32)
    return Plan(
        profile=z6core.PROFILE_ORIGINAL,
        seed=seed,
        tick_ns=tick_ns,
        first_vu_id=1,
        spawn_tick=np.zeros(vus, np.uint64),
        stop_ns=np.full(vus, duration_ticks * tick_ns, np.uint64),
        iterations=0,
        request_names=tuple(f"request{i}" for i in range(len(weights))),
        # Integer weights for validation only; the seed profile picks with f32.
        cum_weights=np.cumsum(np.maximum(1, np.round(weights * WEIGHT_SCALE)).astype(np.uint64)),
        timeout_ns=np.full(len(weights), U64_MAX, np.uint64),
        step_request=np.zeros(0, np.uint16),
        step_repeat=np.zeros(0, np.uint32),
        think=(z6core.DIST_CONSTANT, 0.0, 0.0),
        latency=(z6core.DIST_CONSTANT, float(latency_ticks * tick_ns), 0.0),
        error_rate=0.0,
        status_codes=np.array([200], np.uint16),
        status_cum=np.array([1], np.uint64),
        capacity=0,
        graceful_ns=0,
        end_tick=duration_ticks,
        original_weights_f32=weights,
        original_think_ticks=think_ticks,
        original_latency_ticks=latency_ticks,
        original_last_tick=duration_ticks + ORIGINAL_RUN_BUFFER_TICKS,
    )


# The name before "seed" was kept for the PRNG seed alone.
seed_profile_plan = original_profile_plan
