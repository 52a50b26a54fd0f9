"""Done-when check: HAL's human evaluation (hal.md §4–§5.4) reproduced from the public CSV.

HAL's notebook shuffles the rows with an unseeded ``DataFrame.sample(frac=1)`` before drawing its
500 permutations from ``default_rng(42)``, so its exact Elo means cannot be regenerated; with the
file order and the same RNG stream we land within 1 point (1556.9 / 1520.2 / 1422.9 vs 1557.0 /
1519.5 / 1423.6), well inside the ±3 tolerance (the Monte-Carlo SD of a 500-order mean over
base orders is ~1.7).
"""

from __future__ import annotations

import polars as pl
import pytest

from chatlens.ratings import rate

pytestmark = pytest.mark.realdata

HAL = "hal14b:16bit"
BASE = "qwen14b:16bit"
GPT = "gpt-4o-mini"


@pytest.fixture(scope="module")
def hal_result(shared_data):
    return rate(
        shared_data / "hal" / "data" / "hal_prolific_final.csv",
        model_a="left_model",
        model_b="right_model",
        winner="hl_score",
        keep_if="is_completed",
        method="all",
        bootstrap=200,
        orders=500,
        seed=42,
    )


def _col(result, method: str, column: str) -> dict[str, float]:
    sub = result.table.filter(pl.col("method") == method)
    return dict(zip(sub["model"].to_list(), sub[column].to_list(), strict=True))


def test_counts_match_the_paper(hal_result):
    assert (hal_result.rows_in, hal_result.rows_filtered) == (375, 49)
    assert (hal_result.rows_used, hal_result.rows_quarantined) == (326, 0)
    games = _col(hal_result, "winrate", "games")
    assert games == {HAL: 227, BASE: 207, GPT: 218}


def test_win_rates_match_the_paper(hal_result):
    wr = _col(hal_result, "winrate", "rating")
    assert wr[HAL] == pytest.approx(0.618, abs=0.005)
    assert wr[BASE] == pytest.approx(0.536, abs=0.005)
    assert wr[GPT] == pytest.approx(0.343, abs=0.005)


def test_elo_over_500_random_orders_matches_the_paper(hal_result):
    elo = _col(hal_result, "elo", "rating")
    sd = _col(hal_result, "elo", "sd")
    assert elo[HAL] == pytest.approx(1557, abs=3)
    assert elo[BASE] == pytest.approx(1519, abs=3)
    assert elo[GPT] == pytest.approx(1424, abs=3)
    # HAL reports the spread over orders: 31 / 29 / 30
    assert sd[HAL] == pytest.approx(31, abs=3)
    assert sd[BASE] == pytest.approx(29, abs=3)
    assert sd[GPT] == pytest.approx(30, abs=3)


def test_head_to_head_matches_the_paper(hal_result):
    pairs = hal_result.pairs.filter(
        (pl.col("model_x") == HAL) & (pl.col("model_y") == BASE)
    ).row(0, named=True)
    assert (pairs["n"], pairs["wins"], pairs["losses"], pairs["ties"]) == (108, 61, 41, 6)
    assert pairs["soft_score"] == pytest.approx(0.569, abs=0.0005)
    assert pairs["p_value"] == pytest.approx(0.059, abs=0.0005)
    assert pairs["soft_ci_low"] == pytest.approx(0.50, abs=0.02)
    assert pairs["soft_ci_high"] == pytest.approx(0.63, abs=0.02)


def test_bt_orders_the_models_like_the_paper(hal_result):
    bt = _col(hal_result, "bt", "rating")
    assert bt[HAL] > bt[BASE] > bt[GPT]
    rank = _col(hal_result, "bt", "rank")
    assert rank[GPT] == 3  # clearly separated from both Qwen models
