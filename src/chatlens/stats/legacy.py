"""The original study's tests, reproduced exactly (seed study §7), for ``--profile legacy``.

These are kept so chatlens can reproduce the original numbers, **not** because they are good
practice: a Student (pooled-variance) t-test on a bounded, zero-inflated sentiment score, Cohen's d
labelled "Small" below 0.5 (there is no "negligible" band, so d = 0.01 is "Small"), χ² tests with
Cramér's V and no intervals, no clustering and no multiple-testing control. The improved
equivalents are :func:`chatlens.stats.scores.welch_t`, :func:`~chatlens.stats.scores.mann_whitney`
and :func:`chatlens.stats.contingency.chi_square`.

Guards are the original's: the t-test runs only when both groups have more than 30 values, a χ²
test only when both table dimensions exceed 1; otherwise the function returns ``None`` (the
original printed nothing for that test).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import polars as pl
from scipy import stats

from chatlens.stats._validate import check_columns, check_frame, numeric_array
from chatlens.stats.contingency import crosstab

#: the original's minimum group size: the t-test runs only if both groups have n > 30.
LEGACY_MIN_N = 30


def legacy_effect_label(d: float) -> str:
    """The original's label for Cohen's d: |d| < 0.5 "Small", < 0.8 "Medium", else "Large".

    Faithful to its defects: no "Negligible" band, and a NaN d falls through both comparisons
    and is labelled "Large".

    Examples
    --------
    >>> [legacy_effect_label(d) for d in (0.01, -0.49, 0.5, -0.79, 0.8, 2.0)]
    ['Small', 'Small', 'Medium', 'Medium', 'Large', 'Large']
    >>> legacy_effect_label(float("nan"))
    'Large'
    """
    if abs(d) < 0.5:
        return "Small"
    if abs(d) < 0.8:
        return "Medium"
    return "Large"


@dataclass(frozen=True)
class LegacyTTest:
    """The original's sentiment test: Student t, df = n1 + n2 − 2, pooled-SD Cohen's d."""

    t: float
    p_value: float
    df: int
    cohens_d: float
    label: str
    n1: int
    n2: int


@dataclass(frozen=True, eq=False)
class LegacyChi2:
    """The original's χ² test on a crosstab, with Cramér's V = √(χ² / (n·(min(r, c) − 1)))."""

    chi2: float
    p_value: float
    dof: int
    cramers_v: float
    n: int
    row_levels: tuple[object, ...]
    col_levels: tuple[object, ...]
    table: np.ndarray


def legacy_ttest(a: object, b: object) -> LegacyTTest | None:
    """``scipy.stats.ttest_ind(a, b)`` with defaults and the original's Cohen's d and label.

    d = (mean(a) − mean(b)) / s_pooled, s_pooled = √(((n1−1)s1² + (n2−1)s2²)/(n1+n2−2)) with
    ddof = 1 SDs (pandas' default). Returns ``None`` unless both groups have more than 30
    non-missing values, as the original did.

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> r = legacy_ttest(rng.normal(0.01, 1, 40), rng.normal(0.0, 1, 40))
    >>> r.df, r.label
    (78, 'Small')
    >>> legacy_ttest([0.1] * 30, [0.2] * 50) is None
    True
    """
    x = numeric_array(a, "a", "legacy_ttest")
    y = numeric_array(b, "b", "legacy_ttest")
    n1, n2 = x.size, y.size
    if n1 <= LEGACY_MIN_N or n2 <= LEGACY_MIN_N:
        return None
    res = stats.ttest_ind(x, y)
    s_pooled = math.sqrt(((n1 - 1) * x.var(ddof=1) + (n2 - 1) * y.var(ddof=1)) / (n1 + n2 - 2))
    with np.errstate(divide="ignore", invalid="ignore"):
        d = float((x.mean() - y.mean()) / s_pooled) if s_pooled > 0 else float("nan")
    return LegacyTTest(
        t=float(res.statistic), p_value=float(res.pvalue), df=n1 + n2 - 2,
        cohens_d=d, label=legacy_effect_label(d), n1=n1, n2=n2,
    )


def legacy_chi2(frame: pl.DataFrame | pl.LazyFrame, row: str, col: str) -> LegacyChi2 | None:
    """``scipy.stats.chi2_contingency(pd.crosstab(row, col))`` with defaults, and Cramér's V.

    Levels are sorted as pandas' crosstab sorts them (so refusal types come out instrumental,
    mixed, value_based; booleans False, True); rows with a null in either column are dropped,
    as pandas does. Yates' correction is on (scipy's default; it only changes 2×2 tables) and V
    uses that same χ², as the original did. Returns ``None`` unless both dimensions exceed 1.

    Examples
    --------
    >>> import polars as pl
    >>> df = pl.DataFrame({"refusal_type": ["instrumental", "value_based", "mixed"] * 20,
    ...                    "has_jailbreak_attempt": [True, False, False, False] * 15})
    >>> r = legacy_chi2(df, "refusal_type", "has_jailbreak_attempt")
    >>> r.row_levels, r.col_levels, r.dof
    (('instrumental', 'mixed', 'value_based'), (False, True), 2)
    >>> round(r.cramers_v, 4) == round((r.chi2 / r.n) ** 0.5, 4)
    True
    """
    df = check_frame(frame, "legacy_chi2")
    check_columns(df, [row, col], "legacy_chi2")
    table, rows, cols, _ = crosstab(df, row, col)
    if len(rows) <= 1 or len(cols) <= 1:
        return None
    res = stats.chi2_contingency(table)
    n = int(table.sum())
    v = math.sqrt(float(res.statistic) / (n * (min(table.shape) - 1)))
    return LegacyChi2(
        chi2=float(res.statistic), p_value=float(res.pvalue), dof=int(res.dof), cramers_v=v, n=n,
        row_levels=tuple(rows), col_levels=tuple(cols), table=table,
    )


@dataclass(frozen=True, eq=False)
class LegacyTests:
    """The original's three §7 results (each ``None`` when its guard was not met)."""

    ttest_instrumental_vs_value: LegacyTTest | None
    chi2_refusal_x_jailbreak: LegacyChi2 | None
    chi2_refusal_x_abandonment: LegacyChi2 | None


def legacy_tests(
    frame: pl.DataFrame | pl.LazyFrame,
    *,
    refusal_type: str = "refusal_type",
    sentiment: str = "user_sentiment_after_refusal",
    jailbreak: str = "has_jailbreak_attempt",
    abandoned: str = "conversation_abandoned",
) -> LegacyTests:
    """Run the original's test battery on its per-conversation table (``detailed_results``).

    Refused rows are those with ``refusal_type != "none"``; the t-test compares the sentiment of
    ``instrumental`` with ``value_based`` refusals (``mixed`` excluded, missing sentiment
    dropped); both χ² tests use all refused rows.

    Examples
    --------
    >>> import polars as pl
    >>> df = pl.DataFrame({
    ...     "refusal_type": ["none", "instrumental", "value_based", "mixed"] * 25,
    ...     "user_sentiment_after_refusal": [None, 0.1, -0.2, 0.0] * 25,
    ...     "has_jailbreak_attempt": [False, True, False, True, False] * 20,
    ...     "conversation_abandoned": [False, False, True, True] * 25,
    ... })
    >>> r = legacy_tests(df)
    >>> r.ttest_instrumental_vs_value is None, r.chi2_refusal_x_jailbreak.n
    (True, 75)
    """
    df = check_frame(frame, "legacy_tests")
    check_columns(df, [refusal_type, sentiment, jailbreak, abandoned], "legacy_tests")
    refused = df.filter(pl.col(refusal_type) != "none")
    inst = refused.filter(pl.col(refusal_type) == "instrumental")[sentiment]
    val = refused.filter(pl.col(refusal_type) == "value_based")[sentiment]
    return LegacyTests(
        ttest_instrumental_vs_value=legacy_ttest(inst, val),
        chi2_refusal_x_jailbreak=legacy_chi2(refused, refusal_type, jailbreak),
        chi2_refusal_x_abandonment=legacy_chi2(refused, refusal_type, abandoned),
    )
