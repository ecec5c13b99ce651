"""Weighted request selection: exact integer weights, unbiased picks."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

import z6
import z6core
from z6.events import EventKind, concat_chunks
from z6.plan import integer_weights
from conftest import scenario

N = 1_000_000


def _requests(weights):
    return "".join(f'\n[[requests]]\nname = "r{i}"\nmethod = "GET"\npath = "/{i}"\nweight = {w}\n'
                   for i, w in enumerate(weights))


@pytest.mark.parametrize("weights", [[5, 3, 2], [1, 1, 1, 1, 1, 1, 1], [0.7, 0.2, 0.1], [1000, 1, 10, 100]])
def test_chi_square_over_a_million_picks(weights):
    cum = np.cumsum(integer_weights(weights))
    picks = z6core.sample_weighted(cum, 12345, N)
    observed = np.bincount(picks, minlength=len(weights))
    expected = np.asarray(weights, float) / sum(weights) * N
    result = stats.chisquare(observed, expected)
    assert result.pvalue > 1e-4, (observed, expected)


def test_chi_square_detects_a_wrong_distribution():
    # The same test rejects picks made from different weights: it has power.
    cum = np.cumsum(integer_weights([5, 3, 2]))
    observed = np.bincount(z6core.sample_weighted(cum, 1, N), minlength=3)
    assert stats.chisquare(observed, np.array([0.49, 0.31, 0.20]) * N).pvalue < 1e-6


def test_zero_weight_is_never_chosen():
    cum = np.cumsum(integer_weights([0, 1, 0, 0, 2, 0]))
    picks = z6core.sample_weighted(cum, 99, N)
    assert set(np.unique(picks).tolist()) == {1, 4}


@pytest.mark.slow
def test_engine_selection_frequencies_and_zero_weight():
    sc = scenario("duration_seconds = 30\nvus = 200", requests=_requests([6, 0, 3, 1]),
                  extra='[simulation]\nlatency = { type = "constant", ms = 1 }')
    events = concat_chunks(z6.iter_chunks(z6.compile_plan(sc)))
    issued = events["request"][events["kind"] == EventKind.REQUEST_ISSUED]
    counts = np.bincount(issued, minlength=4)
    assert counts[1] == 0
    nonzero = counts[[0, 2, 3]]
    assert stats.chisquare(nonzero, np.array([0.6, 0.3, 0.1]) * nonzero.sum()).pvalue > 1e-4


@pytest.mark.parametrize("weights, want", [
    ([5, 3, 2], [5, 3, 2]),
    ([0.5, 0.25, 0.25], [2, 1, 1]),                 # x 1e6, then / gcd
    ([0.1, 0.2], [1, 2]),
    ([1.000001, 1], [1000001, 1000000]),           # exact to six decimals
    ([0.333333, 0.666667], [333333, 666667]),
    ([0, 7.5, 2.5], [0, 3, 1]),
])
def test_float_weights_become_exact_integers(weights, want):
    assert integer_weights(weights).tolist() == want


def test_weight_conversion_rejects_all_zero():
    with pytest.raises(z6.ConfigError):
        integer_weights([0, 0])


def test_plan_uses_cumulative_integer_weights():
    plan = z6.compile_plan(scenario(requests=_requests([0.5, 0, 1.5])))
    assert plan.cum_weights.tolist() == [1, 1, 4]
