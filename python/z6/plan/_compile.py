"""Compile a validated scenario into the flat arrays the core reads.

This is the one place where durations become ticks and nanoseconds, float weights
become integers, and a schedule becomes per-VU activation windows. The engine
(`z6core.Engine`) takes a `Plan` and nothing else.

Weights: each weight is multiplied by 1,000,000, rounded to the nearest integer,
and all are divided by their greatest common divisor; selection then draws an
integer uniformly below the sum and binary-searches the cumulative sums, so the
proportions are exact (to six decimal places of the TOML value) and a weight of 0
is never chosen.
"""

from __future__ import annotations

import dataclasses
import math
import numbers
from dataclasses import dataclass, field
from functools import reduce
from typing import Optional

import numpy as np

import z6core
from z6.plan._activations import constant_activations, ramp_activations, stepped_activations
from z6.plan._checks import CheckTables, compile_checks
from z6.plan._dynamic import RequestTemplates, compile_request_templates
from z6.plan._arrivals import ArrivalPlan, arrival_plan
from z6.errors import ConfigError
from z6.scenario import ARRIVAL_SCHEDULES, Scenario


__all__ = ["Plan", "ArrivalPlan", "compile_plan", "integer_weights", "WEIGHT_SCALE", "U64_MAX"]

WEIGHT_SCALE = 1_000_000
NS_PER_MS = 1_000_000
NS_PER_S = 1_000_000_000
U64_MAX = 2**64 - 1
CLOCK_LIMIT_NS = z6core.CLOCK_LIMIT_NS
DRAW_MAX_NS = 2**53  # the core's cap on one think-time or latency draw
# z-score of the 99th percentile of the standard normal: p99 = median * exp(sigma * Z99).
Z99 = 2.3263478740408408

_DIST = {
    "constant": z6core.DIST_CONSTANT,
    "uniform": z6core.DIST_UNIFORM,
    "exponential": z6core.DIST_EXPONENTIAL,
    "lognormal": z6core.DIST_LOGNORMAL,
}


@dataclass(frozen=True, eq=False)
class Plan:
    """Everything the engine needs, as numbers and uint arrays (one row per VU id).

    ``spawn_tick[i]`` and ``stop_ns[i]`` describe VU ``first_vu_id + i * vu_id_step``
    (the step is 1 except in a shard that holds every N-th VU, see `shard`).
    """

    profile: int
    seed: int
    tick_ns: int
    first_vu_id: int
    spawn_tick: np.ndarray
    stop_ns: np.ndarray
    iterations: int  # per VU; 0 = run until the schedule ends
    request_names: tuple[str, ...]
    cum_weights: np.ndarray
    timeout_ns: np.ndarray
    step_request: np.ndarray
    step_repeat: np.ndarray
    think: tuple[int, float, float]
    latency: tuple[int, float, float]
    error_rate: float
    status_codes: np.ndarray
    status_cum: np.ndarray
    capacity: int  # 0 = unlimited
    graceful_ns: int
    end_tick: int  # last schedule end (the clock's horizon when iterations alone bound the run)
    mode: str = "simulate"  # "simulate" (the modelled target) or "live" (real HTTP)
    original_weights_f32: np.ndarray = field(default_factory=lambda: np.zeros(0, np.float32))
    original_think_ticks: int = 0
    original_latency_ticks: int = 0
    vu_id_step: int = 1
    original_last_tick: int = 0  # the seed profile: the original's run() stops after it (0: no limit)
    # dynamic requests (docs/templates.md): the compiled templates and data files, and
    # the fewest rows of a pick = "unique" file with the run's VU count (a VU's
    # iterations stop where its next row would be past the end; 0: no such file)
    templates: Optional[RequestTemplates] = None
    unique_rows: int = 0
    unique_vus: int = 0
    # An arrival-rate schedule (the open model, run by z6core.OpenEngine): the rate
    # curve and the pool; the VU table above (all spawn 0, stop at the end) is max_vus.
    arrivals: Optional[ArrivalPlan] = None
    # [lifecycle]: the requests (indices) each VU issues once before its first
    # iteration, and once when its schedule or iterations end (_lifecycle.pxd)
    on_start: np.ndarray = field(default_factory=lambda: np.zeros(0, np.uint16))
    on_stop: np.ndarray = field(default_factory=lambda: np.zeros(0, np.uint16))
    # Response checks (docs/scenario.md "Checks"): the core's tables, None without
    # any; a simulated run fails body, header and JSON checks at check_fail_rate.
    checks: Optional[CheckTables] = None
    check_fail_rate: float = 0.0

    @property
    def n_vus(self) -> int:
        return int(self.spawn_tick.shape[0])

    def shard(self, first: int, stop: int, step: int = 1) -> "Plan":
        """The sub-plan of this plan's VUs at indices ``range(first, stop, step)``.

        Every VU owns its PRNG stream, so shards' events merged by (tick, vu_id)
        equal the whole plan's. ``z6.distributed`` gives shard k of N the indices
        ``range(k, n_vus, N)``: every N-th VU, so each shard's load has the
        schedule's shape (a ramp stays a ramp) at 1/N of its height. Not with a
        modelled ``capacity``: the shared server queue couples all VUs, so it
        cannot be split.

        An arrival-rate plan splits only that way (``stop`` = all VUs): shard k
        serves arrival n when n mod N = k, its pool every N-th VU of the pool
        (`ArrivalPlan.shard`).
        """
        if self.capacity:
            raise ConfigError("a plan with simulation.capacity cannot be split: the modelled server queue is shared by all VUs")
        if self.profile == z6core.PROFILE_ORIGINAL:
            raise ConfigError("the seed-compatibility profile shares one stream across VUs and cannot be split")
        if not (0 <= first < stop <= self.n_vus and step >= 1):
            raise ValueError(f"shard range({first}, {stop}, {step}) is outside [0, {self.n_vus})")
        arrivals = self.arrivals
        if arrivals is not None:
            if range(first, stop, step) != range(first, self.n_vus, step) or first >= step:
                raise ValueError(f"an arrival-rate plan splits as range(k, n_vus, N) with k < N only, "
                                 f"got range({first}, {stop}, {step})")
            arrivals = arrivals.shard(first, step)
        return dataclasses.replace(
            self,
            arrivals=arrivals,
            first_vu_id=self.first_vu_id + first * self.vu_id_step,
            vu_id_step=self.vu_id_step * step,
            spawn_tick=np.ascontiguousarray(self.spawn_tick[first:stop:step]),
            stop_ns=np.ascontiguousarray(self.stop_ns[first:stop:step]),
        )

    @property
    def vu_ids(self) -> range:
        """The 1-based VU ids this plan runs, in order."""
        return range(self.first_vu_id, self.first_vu_id + self.n_vus * self.vu_id_step, self.vu_id_step)


def _with(value, **changes):
    # Scenario value objects are frozen; copy one with some fields changed.
    if dataclasses.is_dataclass(value):
        return dataclasses.replace(value, **changes)
    return value.model_copy(update=changes)


def integer_weights(weights: list[float] | tuple[float, ...], what: str = "weights") -> np.ndarray:
    """Float weights -> exact integers: x 1e6, round half up, / gcd."""
    scaled = [math.floor(w * WEIGHT_SCALE + 0.5) for w in weights]
    if any(s < 0 for s in scaled) or sum(scaled) <= 0:
        raise ConfigError(f"{what}: need weights >= 0 with a positive sum, got {list(weights)}")
    for w, s in zip(weights, scaled):
        if w > 0 and s == 0:
            raise ConfigError(f"{what}: a positive weight must be at least 0.0000005 (it would round to 0), got {w}")
    divisor = reduce(math.gcd, (s for s in scaled if s), 0)
    reduced = [s // divisor for s in scaled]
    if sum(reduced) >= 2**63:
        raise ConfigError(f"{what}: the weights' integer sum {sum(reduced)} is too large (limit 2**63)")
    return np.array(reduced, dtype=np.uint64)


def _checked_ns(value: float, scale: int, what: str, limit: int) -> int:
    # Every time the engine adds up must stay below its horizon, so it never wraps.
    if not math.isfinite(value) or value * scale >= limit:
        raise ConfigError(f"{what}: must be below {limit / scale:.6g} (the simulated clock's horizon), got {value}")
    return math.floor(value * scale + 0.5)


def _tick_at(seconds: float, tick_ns: int, what: str) -> int:
    """The tick nearest to ``seconds`` from the start (half up).

    Schedules round each boundary measured from the start, not each segment, so
    the segments always add up to the whole.
    """
    return (_checked_ns(seconds, NS_PER_S, what, CLOCK_LIMIT_NS) + tick_ns // 2) // tick_ns


def _activations(schedule, tick_ns: int, has_iterations: bool, src: str):
    kind = schedule.type
    if kind == "constant":
        if schedule.duration_s is None:
            if not has_iterations:
                raise ConfigError(f"{src}: a constant schedule needs a duration or runtime.iterations")
            # Iterations alone end the run: the schedule never stops a VU.
            return np.zeros(schedule.vus, np.uint64), None
        return constant_activations(schedule.vus, max(1, _tick_at(schedule.duration_s, tick_ns,
                                                                   f"{src}: runtime.duration_seconds")))
    if kind == "ramp":
        ramp = max(1, _tick_at(schedule.ramp_s, tick_ns, f"{src}: schedule.ramp_duration_seconds"))
        end = max(ramp, _tick_at(schedule.ramp_s + schedule.hold_s, tick_ns, f"{src}: schedule.hold_duration_seconds"))
        return ramp_activations(schedule.start_vus, schedule.end_vus, ramp, end - ramp)
    if kind == "spike":
        start = _tick_at(schedule.spike_start_s, tick_ns, f"{src}: schedule.spike_start_seconds")
        end = max(start + 1, _tick_at(schedule.spike_start_s + schedule.spike_duration_s, tick_ns,
                                      f"{src}: schedule.spike_duration_seconds"))
        total = max(end, _tick_at(schedule.duration_s, tick_ns, f"{src}: runtime.duration_seconds"))
        levels = [(0, schedule.baseline_vus), (start, schedule.spike_vus), (end, schedule.baseline_vus)]
        return stepped_activations(levels, total)
    if kind == "steps":
        levels, elapsed_s = [], 0.0
        for step in schedule.steps:
            levels.append((_tick_at(elapsed_s, tick_ns, f"{src}: schedule.steps"), step.vus))
            elapsed_s += step.duration_s
        return stepped_activations(levels, max(1, _tick_at(elapsed_s, tick_ns, f"{src}: schedule.steps")))
    raise ConfigError(f"{src}: schedule.type: unknown schedule {kind!r}")


def _distribution(kind: str, what: str, a_ms: float, b_ms: float = 0.0) -> tuple[int, float, float]:
    # A single draw is capped at 2**53 ns (about 104 days); a parameter beyond
    # that would be silently clamped, so it is refused.
    for value in (a_ms, b_ms):
        _checked_ns(value, NS_PER_MS, what, DRAW_MAX_NS)
    return (_DIST[kind], a_ms * NS_PER_MS, b_ms * NS_PER_MS)


def _think(think, src: str) -> tuple[int, float, float]:
    if think.type == "constant":
        return _distribution("constant", f"{src}: think_time.duration_ms", think.duration_ms)
    if think.type == "uniform":
        return _distribution("uniform", f"{src}: think_time.max_ms", think.min_ms, think.max_ms)
    return _distribution("exponential", f"{src}: think_time.mean_ms", think.mean_ms)


def _latency(latency, src: str) -> tuple[int, float, float]:
    if latency.type == "constant":
        return _distribution("constant", f"{src}: simulation.latency.ms", latency.ms)
    if latency.type == "uniform":
        return _distribution("uniform", f"{src}: simulation.latency.max_ms", latency.min_ms, latency.max_ms)
    if latency.type == "exponential":
        return _distribution("exponential", f"{src}: simulation.latency.mean_ms", latency.mean_ms)
    _distribution("constant", f"{src}: simulation.latency.p99_ms", latency.p99_ms)
    # lognormal from its median and p99: mu = ln(median), sigma = ln(p99/median) / z99.
    mu = math.log(latency.median_ms * NS_PER_MS)
    sigma = math.log(latency.p99_ms / latency.median_ms) / Z99
    return (z6core.DIST_LOGNORMAL, mu, sigma)


def _request_arrays(scenario: Scenario, src: str) -> dict:
    # The request table and the sequence, as every plan has them.
    requests = scenario.requests
    index = {r.name: i for i, r in enumerate(requests)}
    steps = scenario.sequence.steps if scenario.sequence else ()
    return dict(
        request_names=tuple(r.name for r in requests),
        cum_weights=np.cumsum(integer_weights([r.weight for r in requests], f"{src}: requests"), dtype=np.uint64),
        timeout_ns=np.array([max(1, round(r.timeout_ms * NS_PER_MS)) for r in requests], dtype=np.uint64),
        step_request=np.array([index[s.request] for s in steps], dtype=np.uint16),
        step_repeat=np.array([s.repeat for s in steps], dtype=np.uint32),
        on_start=np.array(scenario.lifecycle.on_start_index, dtype=np.uint16),
        on_stop=np.array(scenario.lifecycle.on_stop_index, dtype=np.uint16),
        checks=compile_checks(scenario),
    )


def _model_arrays(sim, src: str) -> dict:
    # The modelled server of a simulated plan; a live plan has none (the real one answers).
    return dict(
        latency=_latency(sim.latency, src) if sim else (z6core.DIST_CONSTANT, 0.0, 0.0),
        error_rate=sim.error_rate if sim else 0.0,
        status_codes=np.array([code for code, _ in sim.status_codes] if sim else [200], dtype=np.uint16),
        status_cum=np.cumsum(integer_weights([w for _, w in sim.status_codes], f"{src}: simulation.status_codes")
                             if sim else np.ones(1, np.uint64), dtype=np.uint64),
        capacity=(sim.capacity or 0) if sim else 0,
        check_fail_rate=sim.check_fail_rate if sim else 0.0,
    )


def _compile_open(scenario: Scenario, schedule, mode: str, seed: Optional[int]) -> Plan:
    # An arrival-rate schedule: the pool is the VU table (max_vus entries, all
    # from tick 0 to the schedule's end); the arrivals are the rate curve.
    src = scenario.source
    runtime = scenario.runtime
    sim = scenario.simulation if mode == "simulate" else None
    tick_ns = max(1, round(runtime.tick_ms * NS_PER_MS))
    arrivals = arrival_plan(schedule, src)
    end_ns = arrivals.end_ns
    if end_ns < tick_ns:
        raise ConfigError(f"{src}: schedule: the schedule must last at least one tick ({runtime.tick_ms} ms)")
    graceful_ns = _checked_ns(runtime.graceful_stop_s, NS_PER_S, f"{src}: runtime.graceful_stop_seconds",
                              CLOCK_LIMIT_NS)
    # Rows and iterations of dynamic requests are defined per VU of a closed model;
    # an arrival's VU is whichever is free, so the two are not combined (yet).
    templates = compile_request_templates(scenario, total_vus=schedule.max_vus, pass_len=1)
    if scenario.data or (templates is not None and templates.any_templated):
        raise ConfigError(f"{src}: schedule.type: an {schedule.type} schedule cannot run requests with templates "
                          "or [[data]] files (each arrival takes whichever VU is free, so rows and iterations "
                          "have no fixed owner); use a closed-model schedule (constant, ramp, steps, spike) "
                          "for dynamic requests")
    return Plan(
        profile=z6core.PROFILE_DEFAULT,
        seed=runtime.prng_seed if seed is None else seed,
        tick_ns=tick_ns,
        first_vu_id=1,
        spawn_tick=np.zeros(schedule.max_vus, dtype=np.uint64),
        stop_ns=np.full(schedule.max_vus, end_ns, dtype=np.uint64),
        iterations=0,
        **_request_arrays(scenario, src),
        think=(z6core.DIST_CONSTANT, 0.0, 0.0),  # arrivals set the pace (think_time is refused)
        **_model_arrays(sim, src),
        graceful_ns=graceful_ns,
        end_tick=-(-end_ns // tick_ns),
        mode=mode,
        arrivals=arrivals,
    )


def _variables_have_defaults(scenario: Scenario) -> None:
    # A simulated run gets no responses to extract from: its variables hold their
    # defaults, so each needs one (docs/scenario.md "Extraction").
    for i, request in enumerate(scenario.requests):
        for check in request.checks:
            if check.var and next(v for v in scenario.variables if v.name == check.var).default is None:
                raise ConfigError(f"{scenario.source}: requests[{i}].extract.{check.var}: a simulated run needs a "
                                  "default for every extracted variable (it gets no responses to extract from): "
                                  f"add default = \"...\"")


def _is_int(value: object) -> bool:
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def _check_overrides(seed: object, vus: object, duration_s: object) -> None:
    # The types first: a float seed would run as its integer part, a string
    # would fail deep inside with a TypeError. (The ranges are checked below.)
    if seed is not None and not _is_int(seed):
        raise ConfigError(f"--seed (seed=): must be an integer, got {seed!r}")
    if vus is not None and not _is_int(vus):
        raise ConfigError(f"--vus (vus=): must be an integer, got {vus!r}")
    if duration_s is not None and not (isinstance(duration_s, numbers.Real) and not isinstance(duration_s, bool)):
        raise ConfigError(f"--duration (duration_s=): must be a number of seconds, got {duration_s!r}")


def compile_plan(
    scenario: Scenario,
    *,
    seed: Optional[int] = None,
    vus: Optional[int] = None,
    duration_s: Optional[float] = None,
    mode: Optional[str] = None,
) -> Plan:
    """Compile ``scenario`` (with command-line overrides) into a `Plan`.

    ``mode`` is "simulate" (needs a ``[simulation]`` section) or "live"; by
    default a scenario with ``[simulation]`` is simulated and any other is live.
    ``vus`` and ``duration_s`` override a constant schedule only; for ramp, spike
    and steps the shape is the scenario's to declare, so they are a ConfigError.
    """
    if not isinstance(scenario, Scenario):
        raise ConfigError(f"scenario={scenario!r}: compile_plan takes a z6.Scenario (z6.load_scenario(path) "
                          f"reads one from a file), got {type(scenario).__name__}")
    _check_overrides(seed, vus, duration_s)
    src = scenario.source
    if mode is None:
        mode = "simulate" if scenario.simulation is not None else "live"
    if mode not in ("simulate", "live"):
        raise ConfigError(f"mode must be 'simulate' or 'live', got {mode!r}")
    if mode == "simulate" and scenario.simulation is None:
        raise ConfigError(f"{src}: a simulated run (--simulate, mode='simulate') needs a [simulation] section "
                          "describing the modelled target")
    if mode == "simulate":
        _variables_have_defaults(scenario)
    runtime = scenario.runtime
    schedule = scenario.schedule
    if vus is not None or duration_s is not None:
        if schedule.type != "constant":
            raise ConfigError(f"--vus/--duration (vus=, duration_s=) apply to constant schedules; {src} declares a {schedule.type!r} schedule")
        if vus is not None and not 1 <= vus <= 10_000_000:
            raise ConfigError(f"--vus (vus=): must be between 1 and 10000000, got {vus}")
        if duration_s is not None and not (duration_s > 0 and math.isfinite(duration_s)):
            raise ConfigError(f"--duration (duration_s=): must be a positive number of seconds, got {duration_s}")
        if duration_s is not None:
            # Checked as the flag's, not as the file's runtime.duration_seconds it replaces.
            _checked_ns(duration_s, NS_PER_S, "--duration (duration_s=)", CLOCK_LIMIT_NS)
        schedule = _with(
            schedule,
            vus=schedule.vus if vus is None else vus,
            duration_s=schedule.duration_s if duration_s is None else duration_s,
        )
    if seed is not None and not 0 <= seed < 2**64:
        raise ConfigError(f"--seed (seed=): must be between 0 and 2**64-1, got {seed}")
    if schedule.type in ARRIVAL_SCHEDULES:
        return _compile_open(scenario, schedule, mode, seed)

    if runtime.iterations is not None and runtime.iterations >= z6core.ITER_UNLIMITED:
        raise ConfigError(f"{src}: runtime.iterations: must be below {z6core.ITER_UNLIMITED}, got {runtime.iterations}")
    tick_ns = max(1, round(runtime.tick_ms * NS_PER_MS))
    spawn, stop_tick = _activations(schedule, tick_ns, runtime.iterations is not None, src)
    if spawn.size == 0:
        raise ConfigError(f"{src}: schedule: no VU is ever active (the curve rounds to 0 VUs at every tick)")
    if stop_tick is None:
        # Iterations alone end the run; the clock's horizon is the only limit.
        end_tick = CLOCK_LIMIT_NS // tick_ns
        stop_tick = np.full(spawn.shape[0], end_tick, dtype=np.uint64)
    else:
        end_tick = int(stop_tick.max())
    stop_ns = stop_tick * np.uint64(tick_ns)
    graceful_ns = _checked_ns(runtime.graceful_stop_s, NS_PER_S, f"{src}: runtime.graceful_stop_seconds",
                              CLOCK_LIMIT_NS)

    sim = scenario.simulation if mode == "simulate" else None
    steps = scenario.sequence.steps if scenario.sequence else ()
    pass_len = sum(s.repeat for s in steps) if steps else 1
    templates = compile_request_templates(scenario, total_vus=int(spawn.shape[0]), pass_len=pass_len)
    unique = [t.n_rows for t in templates.data if t.pick == "unique"] if templates else []
    return Plan(
        profile=z6core.PROFILE_DEFAULT,
        seed=runtime.prng_seed if seed is None else seed,
        tick_ns=tick_ns,
        first_vu_id=1,
        spawn_tick=spawn,
        stop_ns=stop_ns,
        iterations=runtime.iterations or 0,
        **_request_arrays(scenario, src),
        think=_think(scenario.think_time, src),
        **_model_arrays(sim, src),
        graceful_ns=graceful_ns,
        end_tick=end_tick,
        mode=mode,
        templates=templates,
        unique_rows=min(unique) if unique else 0,
        unique_vus=int(spawn.shape[0]) if unique else 0,
    )
