"""Two-group comparisons of scores (sentiment), with effect sizes and intervals.

* Welch's t with the mean difference and Hedges' g (:func:`welch_t`).
* Mann–Whitney U with the common-language effect and the rank-biserial correlation
  (:func:`mann_whitney`), for bounded, zero-inflated scores where a t-test's normality is doubtful.

Comparisons of rates live in :mod:`chatlens.stats.compare`. Why effect sizes with intervals: at
N ≈ 10⁶ every difference is "significant"; the size of the difference and its uncertainty are
what a reader can use.
"""

from __future__ import annotations

import math
import warnings

import numpy as np
from scipy import stats

from chatlens.errors import DegenerateVarianceWarning, InvalidParameterError
from chatlens.stats._validate import (
    check_confidence,
    numeric_array,
)
from chatlens.stats.estimate import Comparison, Estimate, TestResult

_EXACT = ("auto", "always", "never")


def _two_samples(a: object, b: object, func: str, minimum: int) -> tuple[np.ndarray, np.ndarray]:
    x = numeric_array(a, "a", func)
    y = numeric_array(b, "b", func)
    if x.size < minimum or y.size < minimum:
        msg = (
            f"{func} needs at least {minimum} non-missing value(s) per group. "
            f"Got {x.size} and {y.size}."
        )
        raise InvalidParameterError(msg)
    return x, y


def welch_t(a: object, b: object, *, confidence: float = 0.95) -> Comparison:
    """Welch's t-test (unequal variances) with mean difference and Hedges' g, each with a CI.

    Parameters
    ----------
    a, b
        1-D numeric samples (NaN dropped); at least 2 values each.
    confidence
        Level of both intervals.

    Returns
    -------
    Comparison
        ``test``: ``scipy.stats.ttest_ind(a, b, equal_var=False)`` (t, Welch–Satterthwaite df).
        ``effects``: ``mean_difference`` (mean(a) − mean(b), Welch interval from the scipy
        result's ``confidence_interval``) and ``hedges_g`` (pooled-SD d times the small-sample
        factor J = 1 − 3/(4(n1+n2) − 9); interval g ± z·SE with SE² = (n1+n2)/(n1·n2) +
        g²/(2(n1+n2)), Hedges & Olkin 1985). Zero spread in both samples gives NaN statistics and
        a :class:`~chatlens.errors.DegenerateVarianceWarning`.

    Examples
    --------
    >>> c = welch_t([0.1, 0.4, 0.3, 0.6, 0.2], [-0.2, 0.0, 0.1, -0.4, 0.05])
    >>> round(c.test.statistic, 3), round(c.test.df, 2)
    (3.241, 7.96)
    >>> round(c.effect("hedges_g").value, 3)
    1.852
    """
    func = "welch_t"
    check_confidence(confidence, func)
    x, y = _two_samples(a, b, func, 2)
    n1, n2 = x.size, y.size
    if x.var() == 0 and y.var() == 0:
        warnings.warn(
            f"{func}: both samples have zero spread; t and g are undefined (NaN).",
            DegenerateVarianceWarning,
            stacklevel=2,
        )
        nan = float("nan")
        diff = float(x.mean() - y.mean())
        return Comparison(
            TestResult(nan, nan, nan, n1 + n2, "welch t (scipy ttest_ind, equal_var=False)"),
            (
                ("mean_difference", Estimate(diff, nan, nan, n1 + n2, "welch", confidence)),
                ("hedges_g", Estimate(nan, nan, nan, n1 + n2, "hedges g", confidence)),
            ),
            n1,
            n2,
        )
    res = stats.ttest_ind(x, y, equal_var=False)
    ci = res.confidence_interval(confidence_level=confidence)
    s_pooled = np.sqrt(((n1 - 1) * x.var(ddof=1) + (n2 - 1) * y.var(ddof=1)) / (n1 + n2 - 2))
    d = (x.mean() - y.mean()) / s_pooled
    j = 1.0 - 3.0 / (4.0 * (n1 + n2) - 9.0)
    g = j * d
    se = np.sqrt((n1 + n2) / (n1 * n2) + g**2 / (2.0 * (n1 + n2)))
    zc = stats.norm.ppf(0.5 + confidence / 2.0)
    n = n1 + n2
    return Comparison(
        TestResult(
            float(res.statistic), float(res.pvalue), float(res.df), n,
            "welch t (scipy ttest_ind, equal_var=False)",
        ),
        (
            (
                "mean_difference",
                Estimate(float(x.mean() - y.mean()), float(ci.low), float(ci.high), n, "welch", confidence),
            ),
            (
                "hedges_g",
                Estimate(float(g), float(g - zc * se), float(g + zc * se), n,
                         "hedges g, normal approximation (Hedges & Olkin)", confidence),
            ),
        ),
        n1,
        n2,
    )


def _hanley_mcneil_var(theta: float, n1: int, n2: int) -> float:
    """Hanley & McNeil's (1982) variance of A when its true value is ``theta``."""
    return theta * (1.0 - theta) / (n1 * n2) * (
        1.0 + (n1 - 1) * (1.0 - theta) / (2.0 - theta) + (n2 - 1) * theta / (1.0 + theta))


def _auc_score_interval(auc: float, n1: int, n2: int, z: float) -> tuple[float, float]:
    """The θ with |A − θ| = z·√V(θ) on either side of A (Newcombe 2006's score-type method).

    Why not A ± z·√V(A): V(A) is 0 at A = 0 or 1, so two samples that do not overlap got the
    interval [1, 1] even when the test's p was 1 (one value each). V(θ) at the candidate θ is
    positive inside (0, 1), so the interval keeps a width that shrinks with the samples.
    """
    from scipy.optimize import brentq

    def gap(theta: float, sign: float) -> float:
        return sign * (theta - auc) - z * math.sqrt(_hanley_mcneil_var(theta, n1, n2))

    eps = 1e-12
    lo = 0.0 if auc <= eps else brentq(gap, 0.0, auc - eps, args=(-1.0,), xtol=1e-12)
    hi = 1.0 if auc >= 1.0 - eps else brentq(gap, auc + eps, 1.0, args=(1.0,), xtol=1e-12)
    return float(lo), float(hi)


def mann_whitney(a: object, b: object, *, confidence: float = 0.95) -> Comparison:
    """Mann–Whitney U test with the rank-biserial correlation and its interval.

    Parameters
    ----------
    a, b
        1-D numeric samples (NaN dropped); at least 1 value each.
    confidence
        Level of the effect-size intervals.

    Returns
    -------
    Comparison
        ``test``: ``scipy.stats.mannwhitneyu(a, b, alternative="two-sided")``; the statistic is
        U of sample ``a``. ``effects``: ``common_language`` A = U/(n1·n2) = P(a > b) + ½P(a = b),
        with a score-type interval on the Hanley–McNeil (1982) variance
        (:func:`_auc_score_interval`); ``rank_biserial`` r = 2A − 1 (positive when ``a`` tends to
        be larger), interval mapped from A's.

    Examples
    --------
    >>> c = mann_whitney([3, 4, 5, 6], [1, 2, 3.5, 0])
    >>> c.test.statistic, round(c.effect("rank_biserial").value, 3)
    (15.0, 0.875)
    """
    func = "mann_whitney"
    check_confidence(confidence, func)
    x, y = _two_samples(a, b, func, 1)
    n1, n2 = x.size, y.size
    res = stats.mannwhitneyu(x, y, alternative="two-sided")
    auc = float(res.statistic) / (n1 * n2)
    lo, hi = _auc_score_interval(auc, n1, n2, stats.norm.ppf(0.5 + confidence / 2.0))
    n = n1 + n2
    return Comparison(
        TestResult(float(res.statistic), float(res.pvalue), float("nan"), n,
                   "mann-whitney U (scipy mannwhitneyu, two-sided)"),
        (
            ("common_language", Estimate(auc, lo, hi, n, "hanley-mcneil score interval",
                                         confidence)),
            ("rank_biserial", Estimate(2 * auc - 1, 2 * lo - 1, 2 * hi - 1, n,
                                       "2A - 1, hanley-mcneil score interval", confidence)),
        ),
        n1,
        n2,
    )
