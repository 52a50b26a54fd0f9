from __future__ import annotations

import numpy as np
import polars as pl

from chatlens.ratings.battles import prepare_battles
from chatlens.ratings.cells import build_cells
from chatlens.ratings.winrate import bootstrap_win_rates, matrix_frame, pairwise_matrices, tally

DF = pl.DataFrame(
    {
        "model_a": ["x", "x", "y", "z", "x"],
        "model_b": ["y", "z", "z", "x", "y"],
        "winner": ["model_a", "Likely A", "tie", "model_b", "Likely B"],
    }
)


def test_tally_soft_scores_and_strict_counts():
    cells = build_cells(prepare_battles(DF))
    t = tally(cells)
    # x: 1 + .75 + 1 + .25 over 4;  y: 0 + .5 + .75 over 3;  z: .25 + .5 + 0 over 3
    np.testing.assert_allclose(t.win_rate, [3.0 / 4, 1.25 / 3, 0.75 / 3])
    assert t.games.tolist() == [4, 3, 3]
    assert t.wins.tolist() == [3, 1, 0]
    assert t.losses.tolist() == [1, 1, 2]
    assert t.ties.tolist() == [0, 1, 1]


def test_pairwise_matrix_and_frame():
    cells = build_cells(prepare_battles(DF))
    rate, count = pairwise_matrices(cells)
    assert count.tolist() == [[0, 2, 2], [2, 0, 1], [2, 1, 0]]
    assert rate[0, 1] == (1 + 0.25) / 2 and rate[1, 0] == 1 - rate[0, 1]
    assert np.isnan(rate[0, 0])
    frame = matrix_frame(cells.models, rate)
    assert frame.columns == ["model", "x", "y", "z"]
    assert frame["x"][0] is None and frame["y"][0] == 0.625


def test_bootstrap_win_rates_with_unit_weights_equal_point():
    cells = build_cells(prepare_battles(DF))
    wr = bootstrap_win_rates(cells, np.vstack([cells.count, cells.count]))
    np.testing.assert_allclose(wr[1], tally(cells).win_rate)
