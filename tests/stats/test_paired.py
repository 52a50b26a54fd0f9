from __future__ import annotations

import numpy as np
import polars as pl
import pytest
from statsmodels.stats.contingency_tables import mcnemar

from chatlens.errors import InvalidParameterError
from chatlens.stats.paired import compare_paired


def _pairs(n11: int, n10: int, n01: int, n00: int) -> pl.DataFrame:
    a = [1] * n11 + [1] * n10 + [0] * n01 + [0] * n00
    b = [1] * n11 + [0] * n10 + [1] * n01 + [0] * n00
    n = len(a)
    return pl.DataFrame({
        "prompt": np.repeat(np.arange(n), 2),
        "model": ["x", "y"] * n,
        "refused": np.column_stack([a, b]).ravel().astype(bool),
    })


@pytest.mark.parametrize(("cells", "exact"), [((40, 30, 12, 100), False), ((5, 6, 1, 20), True)])
def test_matches_statsmodels_mcnemar(cells: tuple[int, int, int, int], exact: bool) -> None:
    n11, n10, n01, n00 = cells
    c = compare_paired(_pairs(*cells), "refused", by="model", pair="prompt", levels=("x", "y"))
    ref = mcnemar(np.array([[n11, n10], [n01, n00]]), exact=exact, correction=True)
    assert c.test.p_value == pytest.approx(ref.pvalue, abs=1e-10)
    assert c.test.statistic == pytest.approx(ref.statistic, abs=1e-10)
    n = sum(cells)
    rd = c.effect("risk_difference")
    assert rd.value == pytest.approx((n10 - n01) / n)
    assert rd.ci_low < rd.value < rd.ci_high
    assert c.effect("conditional_odds_ratio").value == pytest.approx(n10 / n01)
    assert c.n1 == n


def test_pairing_beats_independent_test_on_correlated_pairs() -> None:
    """Strongly correlated pairs: McNemar detects a difference χ² of the margins misses."""
    from chatlens.stats.compare import compare_proportions

    cells = (300, 20, 4, 300)
    c = compare_paired(_pairs(*cells), "refused", by="model", pair="prompt", levels=("x", "y"))
    ind = compare_proportions(320, 624, 304, 624)
    assert c.test.p_value < 0.01 < ind.test.p_value


def test_no_discordant_pairs() -> None:
    c = compare_paired(_pairs(5, 0, 0, 5), "refused", by="model", pair="prompt", levels=("x", "y"))
    assert c.test.p_value == 1.0 and c.effect("risk_difference").value == 0.0
    assert np.isnan(c.effect("conditional_odds_ratio").value)


def test_unpaired_rows_dropped_and_errors() -> None:
    df = pl.concat([_pairs(3, 2, 1, 4), pl.DataFrame({"prompt": [99], "model": ["x"], "refused": [True]})],
                   how="vertical_relaxed")
    assert compare_paired(df, "refused", by="model", pair="prompt", levels=("x", "y")).n1 == 10
    with pytest.raises(InvalidParameterError, match="level 'z' not found"):
        compare_paired(df, "refused", by="model", pair="prompt", levels=("x", "z"))
    with pytest.raises(InvalidParameterError, match="two different values"):
        compare_paired(df, "refused", by="model", pair="prompt", levels=("x", "x"))
    dup = pl.concat([df, df])
    with pytest.raises(InvalidParameterError, match="once per level"):
        compare_paired(dup, "refused", by="model", pair="prompt", levels=("x", "y"))
