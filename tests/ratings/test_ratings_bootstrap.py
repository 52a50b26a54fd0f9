from __future__ import annotations

import numpy as np
import polars as pl
import pytest

from chatlens.errors import InvalidParameterError
from chatlens.ratings.battles import prepare_battles
from chatlens.ratings.bootstrap import (
    bootstrap_weights,
    ordinal_rank,
    percentile_interval,
    separation_rank,
)
from chatlens.ratings.bt import solve_bt
from chatlens.ratings.cells import build_cells

from .conftest import simulate


def test_separation_rank_moves_only_when_intervals_separate():
    lo = np.array([1500.0, 1490.0, 1400.0, 1395.0])
    hi = np.array([1520.0, 1510.0, 1450.0, 1405.0])
    assert separation_rank(lo, hi).tolist() == [1, 1, 3, 3]
    assert ordinal_rank(np.array([3.0, 5.0, 5.0, np.nan])).tolist() == [3, 1, 1, 4]


def test_multinomial_weights_keep_the_total(small_battles):
    cells = build_cells(prepare_battles(small_battles))
    chunks = list(bootstrap_weights(cells, 7, np.random.default_rng(0)))
    w = np.concatenate(chunks)
    assert w.shape == (7, cells.n_cells)
    assert (w.sum(axis=1) == cells.total).all()
    again = np.concatenate(list(bootstrap_weights(cells, 7, np.random.default_rng(0))))
    np.testing.assert_array_equal(w, again)


def test_cluster_weights_resample_whole_clusters():
    df = pl.DataFrame(
        {
            "model_a": ["x", "x", "y", "y", "x", "y"],
            "model_b": ["y", "y", "x", "x", "y", "x"],
            "winner": ["model_a", "model_b", "tie", "model_a", "model_a", "model_b"],
            "user": ["u1", "u1", "u2", "u2", "u3", "u3"],
        }
    )
    cells = build_cells(prepare_battles(df, rater="user"), cluster="rater")
    assert cells.n_clusters == 3
    w = next(bootstrap_weights(cells, 50, np.random.default_rng(1), cluster=True))
    # a cluster's cells always share one multiplicity within a round
    for c in range(cells.n_clusters):
        block = w[:, cells.cluster == c] / cells.count[cells.cluster == c]
        assert (block == block[:, :1]).all()
    assert (w.sum(axis=1) % 2 == 0).all()  # every user has exactly 2 ratings


def test_parameter_checks():
    with pytest.raises(InvalidParameterError):
        percentile_interval(np.zeros((3, 2)), 1.5)
    cells = build_cells(
        prepare_battles(pl.DataFrame({"model_a": ["x"], "model_b": ["y"], "winner": ["tie"]}))
    )
    with pytest.raises(InvalidParameterError):
        next(bootstrap_weights(cells, 3, np.random.default_rng(0), cluster=True))
    with pytest.raises(InvalidParameterError):
        next(bootstrap_weights(cells, -1, np.random.default_rng(0)))


def test_bootstrap_ci_coverage_is_near_nominal():
    """Known strengths → simulated battles → 95% CIs cover the true (centred) strengths.

    No ties here: ties drawn independently of strength would shrink the half-win BT parameter
    away from the simulation's strengths, so the truth would no longer be the estimand.
    """
    truth = np.array([0.6, 0.25, 0.0, -0.2, -0.65])
    truth_c = truth - truth.mean()
    hits, total = 0, 0
    for rep in range(100):
        battles = simulate(truth, 2000, seed=5000 + rep, tie_rate=0.0)
        cells = build_cells(prepare_battles(battles))
        w = np.concatenate(list(bootstrap_weights(cells, 200, np.random.default_rng(rep))))
        lo, hi = percentile_interval(solve_bt(cells, w).strengths, 0.95)
        hits += int(((lo <= truth_c) & (truth_c <= hi)).sum())
        total += truth.size
    coverage = hits / total
    assert 0.91 <= coverage <= 0.985, coverage
