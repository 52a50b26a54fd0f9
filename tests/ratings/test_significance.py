from __future__ import annotations

import polars as pl
import pytest
from scipy import stats

from chatlens.errors import InvalidParameterError
from chatlens.ratings.battles import prepare_battles
from chatlens.ratings.significance import pair_test, pair_tests


def _battles(wins: int, losses: int, ties: int) -> pl.DataFrame:
    n = wins + losses + ties
    labels = ["model_a"] * wins + ["model_b"] * losses + ["tie"] * ties
    # half the rows with the models swapped (and the label flipped) so orientation is exercised
    a = ["x" if i % 2 == 0 else "y" for i in range(n)]
    b = ["y" if i % 2 == 0 else "x" for i in range(n)]
    flip = {"model_a": "model_b", "model_b": "model_a", "tie": "tie"}
    lab = [lab if i % 2 == 0 else flip[lab] for i, lab in enumerate(labels)]
    return pl.DataFrame({"model_a": a, "model_b": b, "winner": lab, "user": [i % 9 for i in range(n)]})


def test_sign_test_matches_scipy_and_hal_numbers():
    res = pair_test(prepare_battles(_battles(61, 41, 6)), "x", "y", bootstrap=500)
    assert (res.n, res.wins, res.losses, res.ties) == (108, 61, 41, 6)
    assert res.p_value == pytest.approx(stats.binomtest(61, 102).pvalue)
    assert res.p_value == pytest.approx(0.0594, abs=5e-4)  # HAL §5.4
    assert res.win_share == pytest.approx(61 / 102)
    assert res.win_share_ci_low < res.win_share < res.win_share_ci_high
    assert res.soft_score == pytest.approx((61 + 3) / 108)
    assert res.soft_ci_low < res.soft_score < res.soft_ci_high
    rev = pair_test(prepare_battles(_battles(61, 41, 6)), "y", "x", bootstrap=0)
    assert (rev.wins, rev.losses) == (41, 61) and rev.p_value == pytest.approx(res.p_value)


def test_cluster_bootstrap_and_all_pairs():
    b = prepare_battles(_battles(30, 20, 4), rater="user")
    res = pair_test(b, "x", "y", bootstrap=300, cluster="rater")
    assert "cluster" in res.method and res.soft_ci_low < res.soft_ci_high
    table = pair_tests(b, bootstrap=0)
    assert table.height == 1 and table["n"][0] == 54


def test_errors():
    b = prepare_battles(_battles(3, 2, 0))
    with pytest.raises(InvalidParameterError, match="'w'"):
        pair_test(b, "x", "w")
    with pytest.raises(InvalidParameterError, match="cluster"):
        pair_test(b, "x", "y", cluster="rater")
