from __future__ import annotations

import numpy as np
import polars as pl
import pytest
from scipy import stats
from scipy.stats.contingency import association

from chatlens.errors import InvalidParameterError, SmallSampleWarning
from chatlens.stats.contingency import chi_square, cramers_v_interval, crosstab


def _frame(seed: int = 0, n: int = 3000) -> pl.DataFrame:
    rng = np.random.default_rng(seed)
    rtype = rng.choice(["capability", "mixed", "policy"], size=n)
    p = np.where(rtype == "policy", 0.3, 0.15)
    reaction = np.where(rng.random(n) < p, "jailbreak", rng.choice(["rephrase", "leave"], size=n))
    return pl.DataFrame({"refusal_type": rtype, "reaction": reaction})


def test_matches_scipy_chi2_and_association() -> None:
    df = _frame()
    r = chi_square(df, "refusal_type", "reaction", n_boot=300)
    table, rows, cols, _ = crosstab(df, "refusal_type", "reaction")
    ref = stats.chi2_contingency(table)
    assert r.test.statistic == pytest.approx(ref.statistic, abs=1e-8)
    assert r.test.p_value == pytest.approx(ref.pvalue, abs=1e-8)
    assert r.test.df == ref.dof == 4
    assert r.cramers_v.value == pytest.approx(association(table, method="cramer"), abs=1e-10)
    assert r.cramers_v.ci_low < r.cramers_v.value < r.cramers_v.ci_high
    assert r.table.columns == ["refusal_type", *cols] and r.table["refusal_type"].to_list() == rows
    assert r.min_expected == pytest.approx(ref.expected_freq.min())


def test_bootstrap_is_seeded() -> None:
    t = np.array([[40, 10, 5], [20, 30, 8]])
    assert cramers_v_interval(t, seed=3) == cramers_v_interval(t, seed=3)
    assert cramers_v_interval(t, seed=3) != cramers_v_interval(t, seed=4)


def test_cramers_v_interval_coverage_rough() -> None:
    """The percentile interval covers a clearly non-zero V most of the time."""
    rng = np.random.default_rng(1)
    probs = np.array([[0.3, 0.2], [0.1, 0.4]])
    n = 400
    p_row = probs.sum(1, keepdims=True)
    p_col = probs.sum(0, keepdims=True)
    v_true = np.sqrt(((probs - p_row * p_col) ** 2 / (p_row * p_col)).sum())
    hits = 0
    for _ in range(150):
        t = rng.multinomial(n, probs.ravel()).reshape(2, 2)
        lo, hi = cramers_v_interval(t, n_boot=300, seed=int(rng.integers(1 << 30)))
        hits += lo <= v_true <= hi
    assert hits / 150 > 0.88


def test_yates_for_2x2_and_fisher_auto() -> None:
    df = pl.DataFrame({"a": [True] * 30 + [False] * 30, "b": [True] * 20 + [False] * 10 + [True] * 8 + [False] * 22})
    r = chi_square(df, "a", "b", n_boot=50)
    table = np.array([[22, 8], [10, 20]])  # rows False, True; cols False, True
    assert r.test.statistic == pytest.approx(stats.chi2_contingency(table).statistic)
    assert "yates" in r.test.method
    small = pl.DataFrame({"a": ["x"] * 6 + ["y"] * 6, "b": [1, 1, 1, 1, 1, 0] + [0, 0, 0, 0, 1, 0]})
    r2 = chi_square(small, "a", "b", n_boot=50)
    ref = stats.fisher_exact(np.array([[1, 5], [5, 1]]))
    assert r2.test.method == "fisher exact (2x2)"
    assert r2.test.p_value == pytest.approx(ref.pvalue)


def test_small_expected_rxc_warns() -> None:
    df = pl.DataFrame({"a": ["x", "y", "z"] * 4, "b": ["p", "q"] * 6})
    with pytest.warns(SmallSampleWarning, match="expected count"):
        chi_square(df, "a", "b", n_boot=20)


def test_nulls_dropped_and_counted() -> None:
    df = _frame(n=300).with_columns(
        pl.when(pl.int_range(pl.len()) < 7).then(None).otherwise(pl.col("reaction")).alias("reaction")
    )
    r = chi_square(df, "refusal_type", "reaction", n_boot=20)
    assert r.n_dropped == 7 and r.test.n == 293


def test_single_level_raises() -> None:
    df = pl.DataFrame({"a": ["x"] * 10, "b": [True, False] * 5})
    with pytest.raises(InvalidParameterError, match="at least 2 observed levels"):
        chi_square(df, "a", "b")
    with pytest.raises(InvalidParameterError, match="'exact'"):
        chi_square(_frame(), "refusal_type", "reaction", exact="maybe")
