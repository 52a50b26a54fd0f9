"""Independence of two categorical variables: χ², Fisher's exact test, Cramér's V with a CI.

Example question: does the refusal type (capability / policy / mixed) go with what the user did
next (rephrase / jailbreak / argue / leave)? The original study reported χ² and Cramér's V
without an interval; at N ≈ 10⁵ the p-value says little, the size of V and its uncertainty say
more. V's interval is a percentile bootstrap obtained by drawing whole tables from the multinomial
of the observed cell shares (equivalent to resampling rows; vectorised, no row-level loop).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
import polars as pl
from scipy import stats
from scipy.stats.contingency import association

from chatlens.errors import InvalidParameterError, SmallSampleWarning
from chatlens.stats._validate import (
    check_choice,
    check_columns,
    check_confidence,
    check_frame,
    check_int,
)
from chatlens.stats.estimate import Estimate, TestResult

_EXACT = ("auto", "always", "never")


@dataclass(frozen=True, eq=False)
class ContingencyResult:
    """Result of :func:`chi_square`.

    Attributes
    ----------
    test
        χ² test of independence (``scipy.stats.chi2_contingency``) or Fisher's exact test.
    cramers_v
        Cramér's V (from the uncorrected χ², ``scipy.stats.contingency.association``) with a
        bootstrap percentile interval.
    table
        The counts: the row variable's levels in the first column, then one ``Int64`` column per
        level of the column variable (as strings), both sorted.
    min_expected
        Smallest expected count under independence (χ² is unreliable below 5).
    n_dropped
        Rows left out because either variable was null.
    """

    test: TestResult
    cramers_v: Estimate
    table: pl.DataFrame
    min_expected: float
    n_dropped: int


def crosstab(
    frame: pl.DataFrame | pl.LazyFrame, row: str, col: str
) -> tuple[np.ndarray, list[object], list[object], int]:
    """Counts of ``row`` × ``col`` as a dense array, with sorted level labels.

    Rows with a null in either column are dropped; their number is returned last.

    Examples
    --------
    >>> import polars as pl
    >>> df = pl.DataFrame({"t": ["x", "y", "x", None], "j": [True, False, False, True]})
    >>> table, rows, cols, dropped = crosstab(df, "t", "j")
    >>> table.tolist(), rows, cols, dropped
    ([[1, 1], [1, 0]], ['x', 'y'], [False, True], 1)
    """
    df = check_frame(frame, "crosstab")
    check_columns(df, [row, col], "crosstab")
    kept = df.select(row, col).drop_nulls()
    if kept.height == 0:
        return np.zeros((0, 0), dtype=np.int64), [], [], df.height
    counts = kept.group_by(row, col).len()
    rows = sorted(counts[row].unique().to_list())
    cols = sorted(counts[col].unique().to_list())
    ri = counts[row].replace_strict(rows, list(range(len(rows))), return_dtype=pl.Int64).to_numpy()
    ci = counts[col].replace_strict(cols, list(range(len(cols))), return_dtype=pl.Int64).to_numpy()
    table = np.zeros((len(rows), len(cols)), dtype=np.int64)
    table[ri, ci] = counts["len"].to_numpy()
    return table, rows, cols, df.height - kept.height


def _chi2_stat(tables: np.ndarray) -> np.ndarray:
    """Pearson χ² (no correction) of a stack of tables, shape (B, r, c) → (B,)."""
    n = tables.sum(axis=(1, 2), keepdims=True)
    expected = tables.sum(axis=2, keepdims=True) * tables.sum(axis=1, keepdims=True) / n
    with np.errstate(divide="ignore", invalid="ignore"):
        terms = np.where(expected > 0, (tables - expected) ** 2 / expected, 0.0)
    return terms.sum(axis=(1, 2))


def cramers_v_interval(
    table: np.ndarray,
    *,
    n_boot: int = 1000,
    seed: int = 0,
    confidence: float = 0.95,
) -> tuple[float, float]:
    """Percentile bootstrap interval of Cramér's V for a contingency table.

    Each round draws a table from ``Multinomial(n, observed cell shares)`` and computes V with the
    observed dimensions; rounds are processed in chunks so memory stays bounded.

    Examples
    --------
    >>> import numpy as np
    >>> lo, hi = cramers_v_interval(np.array([[30, 10], [10, 30]]), n_boot=500)
    >>> 0.3 < lo < 0.5 < hi < 0.7
    True
    """
    check_int(n_boot, "n_boot", "cramers_v_interval", minimum=1)
    check_confidence(confidence, "cramers_v_interval")
    t = np.asarray(table, dtype=np.int64)
    n = int(t.sum())
    k = min(t.shape) - 1
    if n == 0 or k < 1:
        return float("nan"), float("nan")
    rng = np.random.default_rng(seed)
    shares = (t / n).ravel()
    chunk = max(1, 5_000_000 // max(t.size, 1))
    out = []
    done = 0
    while done < n_boot:
        size = min(chunk, n_boot - done)
        draws = rng.multinomial(n, shares, size=size).reshape(size, *t.shape).astype(np.float64)
        out.append(np.sqrt(_chi2_stat(draws) / (n * k)))
        done += size
    v = np.concatenate(out)
    a = (1.0 - confidence) / 2.0
    return float(np.quantile(v, a)), float(np.quantile(v, 1.0 - a))


def chi_square(
    frame: pl.DataFrame | pl.LazyFrame,
    row: str,
    col: str,
    *,
    correction: bool = True,
    exact: str = "auto",
    n_boot: int = 1000,
    seed: int = 0,
    confidence: float = 0.95,
) -> ContingencyResult:
    """Test independence of two categorical columns; Cramér's V with a bootstrap interval.

    Parameters
    ----------
    frame
        One row per unit.
    row, col
        Categorical (or boolean) columns; rows with a null in either are dropped (counted).
    correction
        Yates' continuity correction for 2×2 tables (``chi2_contingency``'s default; it has no
        effect for larger tables). Cramér's V always uses the uncorrected χ².
    exact
        ``"auto"``: Fisher's exact test for a 2×2 table with an expected count below 5;
        ``"always"``: Fisher for any table (``scipy.stats.fisher_exact``; r×c tables use scipy's
        exact/network algorithm and can be slow for large n); ``"never"``: always χ².
    n_boot
        Bootstrap rounds for V's interval.
    seed
        Seed of the bootstrap (``numpy.random.default_rng``).
    confidence
        Level of V's interval.

    Returns
    -------
    ContingencyResult

    Raises
    ------
    InvalidParameterError
        If either variable has fewer than two observed levels (no test is possible).

    Examples
    --------
    >>> import polars as pl
    >>> df = pl.DataFrame({
    ...     "refusal_type": ["policy"] * 60 + ["capability"] * 60,
    ...     "jailbreak": [True] * 20 + [False] * 40 + [True] * 8 + [False] * 52,
    ... })
    >>> r = chi_square(df, "refusal_type", "jailbreak")
    >>> round(r.test.statistic, 3), round(r.test.p_value, 4), r.test.df
    (5.637, 0.0176, 1.0)
    >>> round(r.cramers_v.value, 3)
    0.236
    >>> r.table.columns
    ['refusal_type', 'false', 'true']
    """
    func = "chi_square"
    df = check_frame(frame, func)
    check_choice(exact, _EXACT, "exact", func)
    check_int(n_boot, "n_boot", func, minimum=1)
    check_confidence(confidence, func)
    table, rows, cols, dropped = crosstab(df, row, col)
    if len(rows) < 2 or len(cols) < 2:
        msg = (
            f"{func}: both variables need at least 2 observed levels. "
            f"Got {len(rows)} level(s) of {row!r} and {len(cols)} of {col!r}."
        )
        raise InvalidParameterError(msg)
    n = int(table.sum())
    chi = stats.chi2_contingency(table, correction=correction)
    min_expected = float(chi.expected_freq.min())
    is_2x2 = table.shape == (2, 2)
    use_exact = exact == "always" or (exact == "auto" and is_2x2 and min_expected < 5)
    if use_exact:
        res = stats.fisher_exact(table)
        name = "fisher exact (2x2)" if is_2x2 else "fisher exact (r x c)"
        test = TestResult(float(res.statistic), float(res.pvalue), float("nan"), n, name)
    else:
        name = "chi2 (scipy chi2_contingency" + (", yates)" if correction and is_2x2 else ")")
        test = TestResult(float(chi.statistic), float(chi.pvalue), float(chi.dof), n, name)
        if min_expected < 5:
            warnings.warn(
                f"{func}: smallest expected count is {min_expected:.2f} (< 5); the chi2 "
                "approximation is unreliable. Consider exact='always'.",
                SmallSampleWarning,
                stacklevel=2,
            )
    v = float(association(table, method="cramer", correction=False))
    lo, hi = cramers_v_interval(table, n_boot=n_boot, seed=seed, confidence=confidence)
    wide = pl.DataFrame({row: rows}).with_columns(
        pl.Series(str(c).lower() if isinstance(c, bool) else str(c), table[:, j], dtype=pl.Int64)
        for j, c in enumerate(cols)
    )
    return ContingencyResult(
        test=test,
        cramers_v=Estimate(v, lo, hi, n, f"cramer's V, multinomial bootstrap (B={n_boot})", confidence),
        table=wide,
        min_expected=min_expected,
        n_dropped=dropped,
    )
