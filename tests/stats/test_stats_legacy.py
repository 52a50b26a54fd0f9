from __future__ import annotations

import math

import numpy as np
import polars as pl
import pytest
from scipy import stats

from chatlens.stats.legacy import (
    legacy_chi2,
    legacy_effect_label,
    legacy_tests,
    legacy_ttest,
)


@pytest.mark.parametrize(
    ("d", "label"),
    [(0.0, "Small"), (0.01, "Small"), (-0.01, "Small"), (0.4999, "Small"), (0.5, "Medium"),
     (-0.6, "Medium"), (0.7999, "Medium"), (0.8, "Large"), (-3.0, "Large"), (math.nan, "Large")],
)
def test_labels_reproduce_the_original(d: float, label: str) -> None:
    assert legacy_effect_label(d) == label


def test_ttest_is_student_with_pooled_d() -> None:
    rng = np.random.default_rng(0)
    a, b = rng.normal(0.05, 0.4, 120), rng.normal(-0.02, 0.6, 90)
    r = legacy_ttest(a, b)
    assert r is not None
    ref = stats.ttest_ind(a, b)  # Student, pooled variance
    assert r.t == pytest.approx(ref.statistic, abs=1e-10)
    assert r.p_value == pytest.approx(ref.pvalue, abs=1e-10)
    assert r.df == 208
    sp = math.sqrt((119 * a.var(ddof=1) + 89 * b.var(ddof=1)) / 208)
    assert r.cohens_d == pytest.approx((a.mean() - b.mean()) / sp, abs=1e-12)
    assert r.label == legacy_effect_label(r.cohens_d)
    # Student's p differs from Welch's when variances and sizes differ
    assert r.p_value != pytest.approx(stats.ttest_ind(a, b, equal_var=False).pvalue, abs=1e-6)


def test_ttest_guard_needs_more_than_30_each() -> None:
    assert legacy_ttest(np.arange(30.0), np.arange(100.0)) is None
    assert legacy_ttest(np.arange(31.0), np.arange(31.0)) is not None
    assert legacy_ttest([*range(31), math.nan], list(range(40))) is not None


def test_negligible_effect_is_labelled_small() -> None:
    a = np.tile([0.0, 1.0], 5000)
    b = a + 0.005  # d = 0.01
    r = legacy_ttest(b, a)
    assert r is not None and r.cohens_d == pytest.approx(0.01, abs=1e-3) and r.label == "Small"


def test_chi2_matches_scipy_defaults_and_pandas_order() -> None:
    rng = np.random.default_rng(1)
    types = rng.choice(["value_based", "instrumental", "mixed"], 500)
    jb = rng.random(500) < np.where(types == "mixed", 0.3, 0.1)
    df = pl.DataFrame({"refusal_type": types, "has_jailbreak_attempt": jb})
    r = legacy_chi2(df, "refusal_type", "has_jailbreak_attempt")
    assert r is not None
    assert r.row_levels == ("instrumental", "mixed", "value_based")
    assert r.col_levels == (False, True)
    ref = stats.chi2_contingency(r.table)
    assert r.chi2 == pytest.approx(ref.statistic, abs=1e-10) and r.dof == 2
    assert r.cramers_v == pytest.approx(math.sqrt(ref.statistic / 500), abs=1e-12)


def test_chi2_2x2_uses_yates_like_the_original() -> None:
    df = pl.DataFrame({"t": ["mixed"] * 40 + ["value_based"] * 40,
                       "end": [True] * 25 + [False] * 15 + [True] * 12 + [False] * 28})
    r = legacy_chi2(df, "t", "end")
    assert r is not None
    table = np.array([[15, 25], [28, 12]])
    assert r.chi2 == pytest.approx(stats.chi2_contingency(table, correction=True).statistic)
    assert r.chi2 < stats.chi2_contingency(table, correction=False).statistic


def test_chi2_guard_single_level() -> None:
    df = pl.DataFrame({"t": ["mixed"] * 10, "end": [True, False] * 5})
    assert legacy_chi2(df, "t", "end") is None


def test_battery_on_detailed_results_shape() -> None:
    rng = np.random.default_rng(2)
    n = 2000
    rtype = rng.choice(["none", "instrumental", "value_based", "mixed"], n, p=[0.7, 0.1, 0.1, 0.1])
    sent = np.where(rtype == "none", np.nan, rng.uniform(-1, 1, n))
    df = pl.DataFrame({
        "refusal_type": rtype,
        "user_sentiment_after_refusal": sent,
        "has_jailbreak_attempt": rng.random(n) < 0.1,
        "conversation_abandoned": (rtype != "none") & (rng.random(n) < 0.5),
    })
    r = legacy_tests(df)
    refused = df.filter(pl.col("refusal_type") != "none")
    assert r.chi2_refusal_x_jailbreak is not None and r.chi2_refusal_x_jailbreak.n == refused.height
    assert r.chi2_refusal_x_abandonment is not None
    t = r.ttest_instrumental_vs_value
    inst = refused.filter(pl.col("refusal_type") == "instrumental")["user_sentiment_after_refusal"]
    assert t is not None and t.n1 == inst.len()
