"""Multiple-testing control: Benjamini–Hochberg (false discovery rate) and Holm (family-wise).

Why: comparing 25 models × 154 languages produces hundreds of p-values; at N ≈ 10⁶ nearly all are
"significant", and at small n a few will be by chance. The original study corrected nothing.
Adjusted p-values come from :func:`statsmodels.stats.multitest.multipletests`. NaN p-values (tests
that could not run) stay NaN and do not count towards the number of tests.
"""

from __future__ import annotations

from typing import Literal

import numpy as np
import polars as pl
from statsmodels.stats.multitest import multipletests

from chatlens.errors import InvalidParameterError
from chatlens.stats._validate import check_choice, check_columns, check_frame, float_vector

AdjustMethod = Literal["fdr_bh", "holm", "bonferroni", "fdr_by", "hommel"]
ADJUST_METHODS: tuple[str, ...] = ("fdr_bh", "holm", "bonferroni", "fdr_by", "hommel")


def adjust_pvalues(
    p_values: object,
    *,
    method: AdjustMethod = "fdr_bh",
) -> np.ndarray:
    """Adjusted p-values (q-values for ``fdr_bh``), in the input order.

    Parameters
    ----------
    p_values
        1-D array-like of p-values in [0, 1]; NaN allowed (kept NaN, not counted).
    method
        ``"fdr_bh"`` (Benjamini–Hochberg, default), ``"holm"``, ``"bonferroni"``,
        ``"fdr_by"`` (Benjamini–Yekutieli, any dependence) or ``"hommel"``.

    Returns
    -------
    numpy.ndarray
        float64 adjusted p-values; reject at level α where ``adjusted <= α``, as
        statsmodels does.

    Examples
    --------
    >>> adjust_pvalues([0.01, 0.04, 0.03, float("nan")]).round(3).tolist()
    [0.03, 0.04, 0.04, nan]
    >>> adjust_pvalues([0.01, 0.04, 0.03], method="holm").round(3).tolist()
    [0.03, 0.06, 0.06]
    """
    check_choice(method, ADJUST_METHODS, "method", "adjust_pvalues")
    p = float_vector(p_values, "p_values", "adjust_pvalues")
    ok = ~np.isnan(p)
    if ((p[ok] < 0) | (p[ok] > 1)).any():
        bad = p[ok][(p[ok] < 0) | (p[ok] > 1)][0]
        msg = f"adjust_pvalues: p-values must lie in [0, 1]. Got {bad!r}."
        raise InvalidParameterError(msg)
    out = np.full(p.shape, np.nan)
    if ok.any():
        out[ok] = multipletests(p[ok], method=method)[1]
    return out


def adjust_frame(
    frame: pl.DataFrame,
    p_column: str = "p_value",
    *,
    method: AdjustMethod = "fdr_bh",
    alpha: float = 0.05,
    output: str = "p_adjusted",
) -> pl.DataFrame:
    """Add adjusted p-values and a ``reject`` flag to a frame of tests (one test per row).

    Parameters
    ----------
    frame
        A frame with a p-value column, e.g. from :func:`chatlens.stats.compare.compare_rates`.
    p_column
        The p-value column.
    method
        As in :func:`adjust_pvalues`.
    alpha
        Level for the ``reject`` column (``adjusted <= alpha``; null where the p-value is NaN).
    output
        Name of the adjusted column.

    Returns
    -------
    polars.DataFrame
        The input plus ``<output>: Float64`` and ``reject: Boolean``.

    Examples
    --------
    >>> import polars as pl
    >>> df = pl.DataFrame({"model": ["a", "b", "c"], "p_value": [0.001, 0.02, 0.5]})
    >>> adjust_frame(df).select("model", "reject").rows()
    [('a', True), ('b', True), ('c', False)]
    """
    df = check_frame(frame, "adjust_frame")
    check_columns(df, [p_column], "adjust_frame")
    if not 0.0 < alpha < 1.0:
        msg = f"The 'alpha' parameter of adjust_frame must be in (0, 1). Got {alpha!r} instead."
        raise InvalidParameterError(msg)
    adj = adjust_pvalues(df[p_column].cast(pl.Float64).fill_null(np.nan).to_numpy(), method=method)
    col = pl.Series(output, adj, dtype=pl.Float64)
    return df.with_columns(
        col,
        pl.when(col.is_nan()).then(None).otherwise(col <= alpha).alias("reject"),
    )
