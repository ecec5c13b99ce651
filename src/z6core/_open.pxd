# cython: language_level=3
"""The open model's shared declarations: `ArrivalArrays`, the checked arrival
schedule of a plan, read by the simulated `OpenEngine` and the live driver."""

from libc.stdint cimport uint32_t, uint64_t

from z6core._arrivals cimport arrival_schedule_t


cdef class ArrivalArrays:
    """``ArrivalArrays(plan)``: ``plan.arrivals`` checked and held as C data."""
    cdef arrival_schedule_t s
    cdef list _keep
    cdef readonly uint32_t pool_vus    # VUs spawned at the start
    cdef readonly uint64_t end_ns      # the schedule's end: no arrival at or after it
    # A split run's shard serves the arrivals n with n mod shard_count == shard_index.
    cdef readonly uint64_t shard_index
    cdef readonly uint64_t shard_count
