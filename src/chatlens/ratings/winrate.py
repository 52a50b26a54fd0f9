"""Win rates: per model and the pairwise matrix, from soft scores.

A model's win rate is the sum of its (soft) scores over its comparisons divided by their number
(HAL §4.2): a "Likely A" gives A 0.75 and B 0.25. It ignores who the opponents were, which is why
Bradley–Terry is reported beside it. Wins / losses / ties count strict outcomes from the model's
side (score > 0.5, < 0.5, = 0.5).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import polars as pl

from chatlens.ratings.cells import Cells


@dataclass(frozen=True)
class ModelTally:
    """Per-model totals (arrays indexed like ``Cells.models``)."""

    games: np.ndarray
    wins: np.ndarray
    losses: np.ndarray
    ties: np.ndarray
    score: np.ndarray

    @property
    def win_rate(self) -> np.ndarray:
        """Soft score per game (NaN for a model without games)."""
        with np.errstate(invalid="ignore", divide="ignore"):
            return self.score / self.games


def tally(cells: Cells) -> ModelTally:
    """Games, strict wins/losses/ties and soft score sums per model."""
    m, w, y = cells.n_models, cells.count, cells.y
    games = np.bincount(cells.a, w, m) + np.bincount(cells.b, w, m)
    score = np.bincount(cells.a, w * y, m) + np.bincount(cells.b, w * (1.0 - y), m)
    win_a, tie, win_b = w * (y > 0.5), w * (y == 0.5), w * (y < 0.5)
    wins = np.bincount(cells.a, win_a, m) + np.bincount(cells.b, win_b, m)
    losses = np.bincount(cells.a, win_b, m) + np.bincount(cells.b, win_a, m)
    ties = np.bincount(cells.a, tie, m) + np.bincount(cells.b, tie, m)
    return ModelTally(games=games, wins=wins, losses=losses, ties=ties, score=score)


def bootstrap_win_rates(cells: Cells, weights: np.ndarray) -> np.ndarray:
    """Win rate per model for each row of an (R, n_cells) weight matrix → (R, n_models)."""
    from scipy import sparse

    n, m = cells.n_cells, cells.n_models
    rows = np.concatenate([np.arange(n), np.arange(n)])
    cols = np.concatenate([cells.a, cells.b])
    incidence = sparse.csr_matrix((np.ones(2 * n), (rows, cols)), shape=(n, m))
    own = sparse.csr_matrix(
        (np.concatenate([cells.y, 1.0 - cells.y]), (rows, cols)), shape=(n, m)
    )
    games = (incidence.T @ weights.T).T
    score = (own.T @ weights.T).T
    with np.errstate(invalid="ignore", divide="ignore"):
        return score / games


def pairwise_matrices(cells: Cells) -> tuple[np.ndarray, np.ndarray]:
    """(win-rate matrix, count matrix): entry [i, j] is i's mean soft score against j.

    The diagonal and never-met pairs are NaN in the win-rate matrix and 0 in the count matrix.
    """
    m, w, y = cells.n_models, cells.count, cells.y
    count = np.zeros(m * m)
    score = np.zeros(m * m)
    ab, ba = cells.a * m + cells.b, cells.b * m + cells.a
    count += np.bincount(ab, w, m * m) + np.bincount(ba, w, m * m)
    score += np.bincount(ab, w * y, m * m) + np.bincount(ba, w * (1.0 - y), m * m)
    count, score = count.reshape(m, m), score.reshape(m, m)
    with np.errstate(invalid="ignore", divide="ignore"):
        rate = np.where(count > 0, score / count, np.nan)
    return rate, count


def matrix_key(models: tuple[str, ...] | list[str]) -> str:
    """The row-label column of a models × models frame: ``model``, or ``model (row)``, … when a
    model is itself called that (its opponent column would otherwise replace the labels)."""
    key = "model"
    while key in models:
        key = f"{key} (row)"
    return key


def matrix_frame(models: tuple[str, ...], values: np.ndarray) -> pl.DataFrame:
    """A models × models matrix as a frame: the row labels (:func:`matrix_key`, ``model``
    unless a model is called that) then one column per opponent."""
    data: dict[str, object] = {matrix_key(models): list(models)}
    for j, name in enumerate(models):
        col = values[:, j].astype(np.float64)
        data[name] = pl.Series(name, col, nan_to_null=True)
    return pl.DataFrame(data)
