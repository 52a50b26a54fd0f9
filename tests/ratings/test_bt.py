from __future__ import annotations

import numpy as np
import polars as pl
import pytest
import statsmodels.api as sm

from chatlens.ratings.battles import prepare_battles
from chatlens.ratings.bt import solve_bt
from chatlens.ratings.cells import Cells, build_cells, components

from .conftest import simulate


def _reference(cells: Cells) -> tuple[np.ndarray, np.ndarray]:
    """statsmodels GLM-Binomial on the same design, model 0 as the reference level."""
    n, m = cells.n_cells, cells.n_models
    x = np.zeros((n, m))
    x[np.arange(n), cells.a] += 1.0
    x[np.arange(n), cells.b] -= 1.0
    design = np.hstack([x[:, 1:], cells.x])
    fit = sm.GLM(
        cells.y, design, family=sm.families.Binomial(), freq_weights=cells.count
    ).fit(tol=1e-14, maxiter=200)
    strengths = np.concatenate([[0.0], fit.params[: m - 1]])
    return strengths - strengths.mean(), fit.params[m - 1 :]


def test_bt_matches_statsmodels_logit_with_ties(small_battles):
    cells = build_cells(prepare_battles(small_battles))
    assert (cells.y == 0.5).any()  # ties enter as half a win
    sol = solve_bt(cells)
    ref, _ = _reference(cells)
    assert sol.converged.all()
    np.testing.assert_allclose(sol.strengths[0], ref, atol=1e-6)
    assert sol.strengths[0].sum() == pytest.approx(0.0, abs=1e-9)


def test_bt_with_soft_outcomes_and_covariates_matches_statsmodels():
    rng = np.random.default_rng(3)
    df = simulate(np.array([0.8, 0.1, -0.2, -0.7]), 1500, seed=11).with_columns(
        pl.Series("soft", rng.choice([0.0, 0.25, 0.5, 0.75, 1.0], 1500)),
        pl.Series("la", rng.integers(5, 200, 1500)),
        pl.Series("lb", rng.integers(5, 200, 1500)),
        pl.Series("pos", rng.choice(["left", "right"], 1500)),
    )
    battles = prepare_battles(
        df, score="soft", style=[("la", "lb")], position="pos", a_side=True
    )
    cells = build_cells(battles)
    assert cells.x.shape[1] == 3
    sol = solve_bt(cells)
    ref, coef = _reference(cells)
    np.testing.assert_allclose(sol.strengths[0], ref, atol=1e-6)
    np.testing.assert_allclose(sol.coefs[0], coef, atol=1e-6)


def test_bt_matches_scipy_minimize(small_battles):
    from scipy.optimize import minimize

    cells = build_cells(prepare_battles(small_battles))

    def nll(r):
        r = np.concatenate([[0.0], r])
        eta = r[cells.a] - r[cells.b]
        return float((cells.count * (np.logaddexp(0, eta) - cells.y * eta)).sum())

    res = minimize(nll, np.zeros(cells.n_models - 1), method="BFGS", options={"gtol": 1e-10})
    ref = np.concatenate([[0.0], res.x])
    np.testing.assert_allclose(solve_bt(cells).strengths[0], ref - ref.mean(), atol=1e-5)


def test_batched_rounds_equal_separate_fits(small_battles):
    cells = build_cells(prepare_battles(small_battles))
    rng = np.random.default_rng(0)
    w = rng.multinomial(cells.total, cells.count / cells.count.sum(), size=5).astype(float)
    batched = solve_bt(cells, w)
    for i in range(5):
        single = solve_bt(cells, w[i])
        np.testing.assert_allclose(batched.strengths[i], single.strengths[0], atol=1e-10)


def test_two_model_closed_form():
    cells = Cells(
        models=("x", "y"),
        a=np.array([0, 1, 0]),
        b=np.array([1, 0, 1]),
        y=np.array([1.0, 1.0, 0.5]),
        count=np.array([6.0, 2.0, 2.0]),
        x=np.zeros((3, 0)),
    )
    sol = solve_bt(cells)
    # x: 6 wins + 1 (two half-wins) = 7 of 10 → log-odds log(7/3)
    assert sol.strengths[0, 0] - sol.strengths[0, 1] == pytest.approx(np.log(7 / 3), abs=1e-10)


def test_undefeated_model_does_not_converge_without_ridge():
    df = pl.DataFrame(
        {"model_a": ["x", "x", "y", "z"], "model_b": ["y", "z", "z", "y"],
         "winner": ["model_a", "model_a", "model_a", "model_a"]}
    )
    cells = build_cells(prepare_battles(df))
    assert not solve_bt(cells, max_iter=30).converged[0]
    ridge = solve_bt(cells, reg=0.1)
    assert ridge.converged[0]
    assert np.isfinite(ridge.strengths).all()
    assert ridge.strengths[0, 0] == ridge.strengths[0].max()


def test_absent_model_in_a_round_is_nan(small_battles):
    cells = build_cells(prepare_battles(small_battles))
    w = cells.count.copy()
    w[(cells.a == 4) | (cells.b == 4)] = 0.0
    sol = solve_bt(cells, w)
    assert np.isnan(sol.strengths[0, 4])
    assert np.nansum(sol.strengths[0]) == pytest.approx(0.0, abs=1e-9)


def test_components_detects_disconnected_graph():
    df = pl.DataFrame(
        {"model_a": ["a", "c"], "model_b": ["b", "d"], "winner": ["model_a", "tie"]}
    )
    assert components(build_cells(prepare_battles(df))) == [["a", "b"], ["c", "d"]]
