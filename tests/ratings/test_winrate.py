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


def test_a_model_named_model_keeps_the_row_labels() -> None:
    import warnings

    import polars as pl

    from chatlens.ratings import rate

    rows = [("model", "b", "model_a"), ("b", "model", "model_b"), ("b", "c", "tie")]
    df = pl.DataFrame(rows, schema=["model_a", "model_b", "winner"], orient="row")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        r = rate(df, method="winrate", bootstrap=0, pair_bootstrap=0)
    for matrix in (r.winrate_matrix, r.count_matrix):
        assert matrix.columns[0] == "model (row)"
        assert sorted(matrix["model (row)"].to_list()) == ["b", "c", "model"]
        assert sorted(matrix.columns[1:]) == ["b", "c", "model"]


def test_a_model_that_won_every_game_gets_no_zero_width_interval() -> None:
    """Resampling 8 wins in 8 games repeats them: the percentile interval was [1, 1]."""
    import math
    import warnings

    import polars as pl

    from chatlens.ratings import rate

    rows = ([("x", "y", "model_a")] * 5 + [("y", "z", "model_a")] * 10
            + [("y", "z", "model_b")] * 10 + [("z", "x", "model_b")] * 3)
    df = pl.DataFrame(rows, schema=["model_a", "model_b", "winner"], orient="row")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        r = rate(df, method="winrate", bootstrap=200, pair_bootstrap=200, seed=1)
    x = r.table.filter(pl.col("model") == "x").row(0, named=True)
    assert x["rating"] == 1.0 and x["ci_low"] is None and x["ci_high"] is None
    assert any("'x' won all 8" in n and "[0.676, 1.000]" in n for n in r.notes)
    pair = r.pairs.filter(pl.col("model_x") == "x").row(0, named=True)
    assert math.isnan(pair["soft_ci_low"]) and pair["win_share_ci_low"] < 0.6
    assert r.table.filter(pl.col("model") == "y")["ci_low"].item() is not None
