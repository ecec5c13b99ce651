"""The latency distribution's edges do not depend on the machine: computed in
decimal, each is the float nearest low * (high / low) ** (i / bins)."""

from __future__ import annotations

from decimal import Context, Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from z6.metrics._distribution import _edges_ns


def _reference(low: int, high: int, bins: int) -> list[float]:
    # Twice the working precision: the nearest float of a 40-digit result is the
    # nearest float of the 80-digit one unless the value sits on a rounding tie.
    ctx = Context(prec=80)
    start = Decimal(max(low, 1))
    step = ctx.divide(ctx.ln(ctx.divide(Decimal(high), start)), bins)
    edges = [float(ctx.multiply(start, ctx.exp(ctx.multiply(step, i)))) for i in range(bins + 1)]
    edges[0], edges[-1] = float(low), float(high)
    return edges


@settings(max_examples=200, deadline=None)
@given(low=st.integers(0, 10**9), span=st.integers(1, 10**11), bins=st.integers(1, 64))
def test_edges_are_the_nearest_floats_of_the_exact_geometric_series(low, span, bins):
    high = low + span
    edges = _edges_ns(low, high, bins).tolist()
    assert edges == _reference(low, high, bins)
    assert len(edges) == bins + 1 and edges[0] == low and edges[-1] == high
    if low >= 1:
        assert all(a < b for a, b in zip(edges, edges[1:]))


def test_known_edges():
    # 1 µs to 1 s in three bins: every second decade, exactly.
    assert _edges_ns(1_000, 1_000_000_000, 3).tolist() == [1e3, 1e5, 1e7, 1e9]
