"""Two-group comparisons with effect sizes and intervals.

* Rates: score test (≡ Pearson χ² without continuity correction) or Fisher's exact test when
  expected counts are small; risk difference (Newcombe), risk ratio, odds ratio and Cohen's h,
  each with an interval — :func:`compare_proportions` for one pair, :func:`compare_rates` for
  every group of a frame against a reference, vectorised.
* Scores (sentiment): Welch's t and Mann–Whitney U live in :mod:`chatlens.stats.scores`.

Contingency tables (χ², Cramér's V, Fisher r×c) live in :mod:`chatlens.stats.contingency`.

Why effect sizes with intervals: at N ≈ 10⁶ every difference is "significant"; the size of the
difference and its uncertainty are what a reader can use.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence

import numpy as np
import polars as pl
from scipy import stats
from statsmodels.stats.proportion import confint_proportions_2indep
from statsmodels.stats.proportion import (
    test_proportions_2indep as _score_test_2indep,  # aliased: pytest would collect test_*
)

from chatlens.errors import InvalidParameterError, SmallSampleWarning
from chatlens.stats._validate import (
    as_list,
    binary_column,
    check_choice,
    check_columns,
    check_confidence,
    check_frame,
)
from chatlens.stats.estimate import Comparison, Estimate, TestResult
from chatlens.stats.multitest import ADJUST_METHODS, AdjustMethod, adjust_pvalues

_EXACT = ("auto", "always", "never")


def _pair_arrays(
    k1: object, n1: object, k2: object, n2: object, func: str
) -> tuple[np.ndarray, ...]:
    arrs = [np.atleast_1d(np.asarray(v, dtype=np.float64)) for v in (k1, n1, k2, n2)]
    k1a, n1a, k2a, n2a = np.broadcast_arrays(*arrs)
    bad = (
        ~np.isfinite(k1a) | ~np.isfinite(k2a) | (n1a < 1) | (n2a < 1) | (k1a < 0) | (k2a < 0)
        | (k1a > n1a) | (k2a > n2a) | (k1a != np.round(k1a)) | (k2a != np.round(k2a))
    )
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        msg = (
            f"{func}: counts must be integers with 0 <= k <= n and n >= 1 in both groups. "
            f"Got k1={k1a[i]!r}, n1={n1a[i]!r}, k2={k2a[i]!r}, n2={n2a[i]!r}."
        )
        raise InvalidParameterError(msg)
    return k1a, n1a, k2a, n2a


def _ratio_mover(k1: np.ndarray, n1: np.ndarray, k2: np.ndarray, n2: np.ndarray,
                 alpha: float) -> tuple[np.ndarray, np.ndarray]:
    """Risk-ratio interval by MOVER-R (Donner & Zou 2012) from each rate's Wilson interval.

    Why not the log (Katz) interval: its variance 1/k − 1/n is 0 when every unit of a group had
    the outcome (k = n), so a model with 1 conversation, refused, got the same interval as one
    with 40 (8.8–14.8 against 52 of 600). Wilson limits keep each rate's real uncertainty
    (1 of 1: 0.21–1), and MOVER combines them in closed form (vectorised).
    """
    from statsmodels.stats.proportion import proportion_confint

    l1, u1 = proportion_confint(k1, n1, alpha=alpha, method="wilson")
    l2, u2 = proportion_confint(k2, n2, alpha=alpha, method="wilson")
    p1, p2 = k1 / n1, k2 / n2
    prod = p1 * p2
    low = (prod - np.sqrt(np.maximum(prod**2 - l1 * u2 * (2 * p1 - l1) * (2 * p2 - u2), 0.0))) / (
        u2 * (2 * p2 - u2))
    high = (prod + np.sqrt(np.maximum(prod**2 - u1 * l2 * (2 * p1 - u1) * (2 * p2 - l2), 0.0))) / (
        l2 * (2 * p2 - l2))
    low = np.where(k1 == 0, 0.0, low)
    high = np.where(k2 == 0, np.inf, high)
    return np.maximum(low, 0.0), high


def _proportion_effects(
    k1: np.ndarray, n1: np.ndarray, k2: np.ndarray, n2: np.ndarray, confidence: float
) -> dict[str, tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """Vectorised effect sizes (value, low, high) of group 1 relative to group 2."""
    alpha = 1.0 - confidence
    p1, p2 = k1 / n1, k2 / n2
    with np.errstate(divide="ignore", invalid="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        rd = confint_proportions_2indep(k1, n1, k2, n2, compare="diff", method="newcomb", alpha=alpha)
        rr = _ratio_mover(k1, n1, k2, n2, alpha)
        orr = confint_proportions_2indep(
            k1, n1, k2, n2, compare="odds-ratio", method="logit-adjusted", alpha=alpha
        )
        ratio = p1 / p2
        odds = (p1 / (1.0 - p1)) / (p2 / (1.0 - p2))
    h = 2.0 * np.arcsin(np.sqrt(p1)) - 2.0 * np.arcsin(np.sqrt(p2))
    h_half = stats.norm.ppf(1.0 - alpha / 2.0) * np.sqrt(1.0 / n1 + 1.0 / n2)
    return {
        "risk_difference": (p1 - p2, np.asarray(rd[0]), np.asarray(rd[1])),
        "risk_ratio": (ratio, np.asarray(rr[0]), np.asarray(rr[1])),
        "odds_ratio": (odds, np.asarray(orr[0]), np.asarray(orr[1])),
        "cohens_h": (h, h - h_half, h + h_half),
    }


_EFFECT_METHODS = {
    "risk_difference": "newcombe hybrid score",
    "risk_ratio": "MOVER-R from Wilson limits (Donner & Zou)",
    "odds_ratio": "logit (Woolf), 0.5-adjusted",
    "cohens_h": "arcsine, normal approximation",
}


def compare_proportions(
    k1: int,
    n1: int,
    k2: int,
    n2: int,
    *,
    confidence: float = 0.95,
    exact: str = "auto",
) -> Comparison:
    """Compare two rates ``k1/n1`` (group 1) and ``k2/n2`` (group 2).

    Parameters
    ----------
    k1, n1, k2, n2
        Successes and trials per group (``n >= 1``).
    confidence
        Level of every effect-size interval.
    exact
        ``"auto"`` uses Fisher's exact test when an expected count is below 5, otherwise the
        score test; ``"always"`` / ``"never"`` force one.

    Returns
    -------
    Comparison
        ``test``: score z test (``statsmodels test_proportions_2indep(method="score",
        correction=False)``, equal to Pearson's χ² without Yates) or Fisher's exact test
        (``scipy.stats.fisher_exact``; its statistic is the sample odds ratio).
        ``effects`` in this order: ``risk_difference`` (Newcombe, ``confint_proportions_2indep
        (method="newcomb")``), ``risk_ratio`` (``"log-adjusted"``), ``odds_ratio``
        (``"logit-adjusted"``), ``cohens_h``. Point values are the raw sample values (a zero cell
        gives an odds ratio of 0 or inf; the adjusted interval stays finite).

    Examples
    --------
    >>> c = compare_proportions(30, 100, 15, 100)
    >>> round(c.test.p_value, 4), c.test.method
    (0.0111, 'score z test (= Pearson chi2, no continuity correction)')
    >>> rd = c.effect("risk_difference")
    >>> round(rd.value, 2), round(rd.ci_low, 3), round(rd.ci_high, 3)
    (0.15, 0.034, 0.261)

    Small counts switch to Fisher's exact test:

    >>> compare_proportions(3, 5, 0, 6).test.method
    'fisher exact (2x2)'
    """
    func = "compare_proportions"
    check_confidence(confidence, func)
    check_choice(exact, _EXACT, "exact", func)
    k1a, n1a, k2a, n2a = _pair_arrays(k1, n1, k2, n2, func)
    if k1a.shape != (1,):
        msg = f"{func} takes scalar counts; use compare_rates for frames. Got shape {k1a.shape}."
        raise InvalidParameterError(msg)
    table = np.array([[k1a[0], n1a[0] - k1a[0]], [k2a[0], n2a[0] - k2a[0]]])
    n = int(table.sum())
    use_exact = exact == "always" or (
        exact == "auto" and bool(_expected_below_5(k1a, n1a, k2a, n2a)[0]))
    if use_exact:
        res = stats.fisher_exact(table)
        test = TestResult(float(res.statistic), float(res.pvalue), float("nan"), n, "fisher exact (2x2)")
    else:
        with np.errstate(divide="ignore", invalid="ignore"):
            res = _score_test_2indep(
                k1a[0], n1a[0], k2a[0], n2a[0], method="score", correction=False
            )
        test = TestResult(
            float(res.statistic), float(res.pvalue), float("nan"), n,
            "score z test (= Pearson chi2, no continuity correction)",
        )
    effects = _proportion_effects(k1a, n1a, k2a, n2a, confidence)
    return Comparison(
        test=test,
        effects=tuple(
            (
                name,
                Estimate(float(v[0]), float(lo[0]), float(hi[0]), n, _EFFECT_METHODS[name], confidence),
            )
            for name, (v, lo, hi) in effects.items()
        ),
        n1=int(n1a[0]),
        n2=int(n2a[0]),
    )


def _expected_below_5(k1: np.ndarray, n1: np.ndarray, k2: np.ndarray, n2: np.ndarray,
                      ) -> np.ndarray:
    """Per 2×2 table, whether a count expected under independence is below 5 (the rule for
    Fisher's exact test in :func:`compare_proportions` and :func:`compare_rates`); false for an
    empty table."""
    n = n1 + n2
    ok = n > 0
    k, m = k1 + k2, n - (k1 + k2)  # the column sums; row sum × column sum / n, as tables do
    safe = np.where(ok, n, 1)
    expected = np.stack([n1 * k / safe, n1 * m / safe, n2 * k / safe, n2 * m / safe])
    return ok & (expected < 5).any(axis=0)


def _fisher_where_small(k1: np.ndarray, n1: np.ndarray, k2: np.ndarray, n2: np.ndarray,
                        p: np.ndarray) -> np.ndarray:
    """``p`` with Fisher's exact p where a 2×2 table has an expected count below 5, as
    :func:`compare_proportions` decides (``exact="auto"``). Why: the score test gave a model
    with 1 conversation, refused, p = 0.0013 against 52 of 600 others; Fisher gives 0.088.
    Only those (few, small) tables go through scipy one by one."""
    out = np.array(p, dtype=float, copy=True)
    for i in np.flatnonzero(_expected_below_5(k1, n1, k2, n2)):
        table = [[k1[i], n1[i] - k1[i]], [k2[i], n2[i] - k2[i]]]
        out[i] = stats.fisher_exact(np.asarray(table, dtype=np.int64)).pvalue
    return out


def compare_rates(
    frame: pl.DataFrame | pl.LazyFrame,
    outcome: str,
    by: str | Sequence[str],
    *,
    reference: object = None,
    confidence: float = 0.95,
    adjust: AdjustMethod = "fdr_bh",
) -> pl.DataFrame:
    """Compare every group's rate with a reference, vectorised over groups.

    Parameters
    ----------
    frame
        One row per unit.
    outcome
        Boolean or 0/1 column; nulls are excluded.
    by
        Group column(s).
    reference
        The reference group's key (a tuple for several ``by`` columns). ``None`` compares each
        group with **all other rows pooled** ("one vs rest").
    confidence
        Level of the intervals.
    adjust
        Multiple-testing adjustment across the groups (see
        :func:`chatlens.stats.multitest.adjust_pvalues`).

    Returns
    -------
    polars.DataFrame
        ``<by…>, n, k, rate, ref_n, ref_k, ref_rate, risk_difference, rd_ci_low, rd_ci_high,
        risk_ratio, rr_ci_low, rr_ci_high, odds_ratio, or_ci_low, or_ci_high, z, p_value,
        p_adjusted, test``; one row per group (the reference itself is left out). Tests are score
        tests (Pearson χ², no correction) from one vectorised ``test_proportions_2indep`` call,
        except where a table has an expected count below 5: there ``p_value`` is Fisher's exact
        test's, as in :func:`compare_proportions` (``z`` stays the score statistic). ``test``
        says which gave the row's p (``score`` / ``fisher``), so a CSV read on its own does not
        pair a Fisher p of 1.0 with a score z of −0.45 unexplained. Where a
        test is undefined (both rates 0, or both 1) z, p and the adjusted p are NaN, and that
        row does not count towards the adjustment; a zero cell gives an odds ratio of 0 or inf
        with a finite (0.5-adjusted) interval.

    Examples
    --------
    >>> import polars as pl
    >>> df = pl.DataFrame({"model": ["a"] * 50 + ["b"] * 50 + ["c"] * 50,
    ...                    "refused": [True] * 10 + [False] * 40 + [True] * 25 + [False] * 25
    ...                               + [True] * 12 + [False] * 38})
    >>> out = compare_rates(df, "refused", "model", reference="a")
    >>> out.select("model", "rate", "ref_rate").rows()
    [('b', 0.5, 0.2), ('c', 0.24, 0.2)]
    >>> (out["p_adjusted"] >= out["p_value"]).all()
    True
    """
    func = "compare_rates"
    df = check_frame(frame, func)
    keys = as_list(by)
    if not keys:
        msg = f"{func} needs at least one 'by' column. Got {by!r}."
        raise InvalidParameterError(msg)
    check_columns(df, [outcome, *keys], func)
    check_confidence(confidence, func)
    check_choice(adjust, ADJUST_METHODS, "adjust", func)
    y = binary_column(df, outcome, func)
    counts = (
        df.group_by(keys)
        .agg(y.count().cast(pl.Int64).alias("n"), y.sum().cast(pl.Int64).alias("k"))
        .sort(keys, nulls_last=True)
    )
    if reference is None:
        tot_n, tot_k = int(counts["n"].sum()), int(counts["k"].sum())
        counts = counts.with_columns(
            (tot_n - pl.col("n")).alias("ref_n"), (tot_k - pl.col("k")).alias("ref_k")
        )
    else:
        ref_key = reference if isinstance(reference, tuple) else (reference,)
        if len(ref_key) != len(keys):
            msg = f"{func}: 'reference' must have one value per 'by' column {keys}. Got {reference!r}."
            raise InvalidParameterError(msg)
        is_ref = pl.all_horizontal([pl.col(c) == v for c, v in zip(keys, ref_key, strict=True)])
        ref = counts.filter(is_ref)
        if ref.height == 0:
            msg = (
                f"{func}: reference group {reference!r} not found in {keys}. "
                f"Available (first 10): {counts.select(keys).head(10).rows()}."
            )
            raise InvalidParameterError(msg)
        counts = counts.filter(~is_ref).with_columns(
            pl.lit(int(ref["n"][0])).alias("ref_n"), pl.lit(int(ref["k"][0])).alias("ref_k")
        )
    empty = counts.filter((pl.col("n") == 0) | (pl.col("ref_n") == 0))
    if empty.height:
        warnings.warn(
            f"{func}: {empty.height} group(s) (or their reference) have no observations "
            f"(e.g. {empty.select(keys).head(3).rows()}); they are left out.",
            SmallSampleWarning,
            stacklevel=2,
        )
        counts = counts.filter((pl.col("n") > 0) & (pl.col("ref_n") > 0))
    k1, n1 = counts["k"].to_numpy().astype(float), counts["n"].to_numpy().astype(float)
    k2, n2 = counts["ref_k"].to_numpy().astype(float), counts["ref_n"].to_numpy().astype(float)
    if counts.height:
        eff = _proportion_effects(k1, n1, k2, n2, confidence)
        with np.errstate(divide="ignore", invalid="ignore"), warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            res = _score_test_2indep(k1, n1, k2, n2, method="score", correction=False)
        z = np.broadcast_to(np.asarray(res.statistic, dtype=float), k1.shape)
        p = _fisher_where_small(k1, n1, k2, n2,
                                np.broadcast_to(np.asarray(res.pvalue, dtype=float), k1.shape))
        test = np.where(_expected_below_5(k1, n1, k2, n2), "fisher", "score")
    else:
        empty_arr = np.array([], dtype=float)
        eff = {name: (empty_arr, empty_arr, empty_arr) for name in _EFFECT_METHODS}
        z = p = empty_arr
        test = np.array([], dtype=str)
    cols = {
        "risk_difference": ("risk_difference", "rd_ci_low", "rd_ci_high"),
        "risk_ratio": ("risk_ratio", "rr_ci_low", "rr_ci_high"),
        "odds_ratio": ("odds_ratio", "or_ci_low", "or_ci_high"),
    }
    new = []
    for key, names in cols.items():
        for name, arr in zip(names, eff[key], strict=True):
            new.append(pl.Series(name, np.asarray(arr, dtype=float), dtype=pl.Float64))
    return counts.with_columns(
        (pl.col("k") / pl.col("n")).alias("rate"),
        (pl.col("ref_k") / pl.col("ref_n")).alias("ref_rate"),
        *new,
        pl.Series("z", z, dtype=pl.Float64),
        pl.Series("p_value", p, dtype=pl.Float64),
        pl.Series("p_adjusted", adjust_pvalues(p, method=adjust), dtype=pl.Float64),
        pl.Series("test", test.tolist(), dtype=pl.String),
    ).select(
        *keys, "n", "k", "rate", "ref_n", "ref_k", "ref_rate",
        *[c for names in cols.values() for c in names], "z", "p_value", "p_adjusted", "test",
    )
