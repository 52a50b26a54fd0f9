"""Paired comparison of two rates: the same prompt (or user) seen under two conditions.

Chatbot Arena sends one prompt to two models; XSTest asks every model the same 450 prompts. Such
rows come in pairs and an independent-samples test (χ², :func:`~chatlens.stats.compare.
compare_proportions`) ignores the pairing: it wastes the within-pair comparison and misstates
the uncertainty. McNemar's test uses only the discordant pairs
(``statsmodels.stats.contingency_tables.mcnemar``).
"""

from __future__ import annotations

import math

import numpy as np
import polars as pl
from scipy import stats
from statsmodels.stats.contingency_tables import mcnemar
from statsmodels.stats.proportion import proportion_confint

from chatlens.errors import InvalidParameterError
from chatlens.stats._validate import (
    binary_column,
    check_columns,
    check_confidence,
    check_frame,
)
from chatlens.stats.estimate import Comparison, Estimate, TestResult


def compare_paired(
    frame: pl.DataFrame | pl.LazyFrame,
    outcome: str,
    *,
    by: str,
    pair: str,
    levels: tuple[object, object],
    confidence: float = 0.95,
    exact: bool | None = None,
) -> Comparison:
    """McNemar's test of ``levels[0]`` vs ``levels[1]`` of ``by`` on pairs sharing ``pair``.

    Parameters
    ----------
    frame
        Long format: one row per (pair, condition), e.g. (prompt id, model).
    outcome
        Boolean or 0/1 column (e.g. ``refused``).
    by
        The condition column (e.g. ``"model"``).
    pair
        The pairing key (e.g. prompt id or battle id); each must appear once per level.
    levels
        The two conditions to compare, first minus second.
    confidence
        Level of the intervals.
    exact
        Exact binomial McNemar test; ``None`` (default) uses it when there are fewer than 25
        discordant pairs, otherwise the χ² version with continuity correction.

    Returns
    -------
    Comparison
        ``test``: McNemar (``statsmodels mcnemar``). ``effects``: ``risk_difference`` (paired,
        p₁ − p₂ = (n₁₀ − n₀₁)/n, Wald interval with the paired variance
        (n₁₀ + n₀₁ − (n₁₀ − n₀₁)²/n)/n², Agresti 2013 §11.1) and ``conditional_odds_ratio``
        (n₁₀/n₀₁, exact interval from the Clopper–Pearson interval of n₁₀/(n₁₀ + n₀₁)).
        ``n1 = n2`` = complete pairs; pairs missing a side or the outcome are left out.

    Raises
    ------
    InvalidParameterError
        Unknown levels, a pair key repeated within a level, or no complete pair.

    Examples
    --------
    >>> import polars as pl
    >>> df = pl.DataFrame({
    ...     "prompt": [i for i in range(30) for _ in range(2)],
    ...     "model": ["a", "b"] * 30,
    ...     "refused": [True, False] * 12 + [True, True] * 10 + [False, False] * 6 + [False, True] * 2,
    ... })
    >>> c = compare_paired(df, "refused", by="model", pair="prompt", levels=("a", "b"))
    >>> c.test.method, round(c.test.p_value, 4)
    ('mcnemar exact (binomial)', 0.0129)
    >>> round(c.effect("risk_difference").value, 3), c.n1
    (0.333, 30)
    """
    func = "compare_paired"
    df = check_frame(frame, func)
    check_columns(df, [outcome, by, pair], func)
    check_confidence(confidence, func)
    if not (isinstance(levels, tuple) and len(levels) == 2 and levels[0] != levels[1]):
        msg = f"The 'levels' parameter of {func} must be a tuple of two different values. Got {levels!r}."
        raise InvalidParameterError(msg)
    y = binary_column(df, outcome, func)
    sides = []
    for i, lv in enumerate(levels):
        part = df.filter(pl.col(by) == lv).select(pl.col(pair), y.alias(f"_y{i}"))
        if part.height == 0:
            avail = df[by].unique().sort().head(10).to_list()
            msg = f"{func}: level {lv!r} not found in {by!r}. Available (first 10): {avail}."
            raise InvalidParameterError(msg)
        dup = part[pair].is_duplicated().sum()
        if dup:
            msg = (
                f"{func}: pair key {pair!r} must appear once per level; level {lv!r} has {dup} rows "
                "with a repeated key."
            )
            raise InvalidParameterError(msg)
        sides.append(part)
    both = sides[0].join(sides[1], on=pair, how="inner").drop_nulls()
    n = both.height
    if n == 0:
        msg = f"{func}: no complete pairs of {levels!r} sharing {pair!r}. Expected at least one."
        raise InvalidParameterError(msg)
    a = both["_y0"].to_numpy()
    b = both["_y1"].to_numpy()
    n11 = int(((a == 1) & (b == 1)).sum())
    n10 = int(((a == 1) & (b == 0)).sum())
    n01 = int(((a == 0) & (b == 1)).sum())
    n00 = n - n11 - n10 - n01
    discordant = n10 + n01
    use_exact = discordant < 25 if exact is None else bool(exact)
    res = mcnemar(np.array([[n11, n10], [n01, n00]]), exact=use_exact, correction=True)
    name = "mcnemar exact (binomial)" if use_exact else "mcnemar chi2 (continuity-corrected)"
    df_test = float("nan") if use_exact else 1.0
    test = TestResult(float(res.statistic), float(res.pvalue), df_test, n, name)
    zc = float(stats.norm.ppf(0.5 + confidence / 2.0))
    rd = (n10 - n01) / n
    se = math.sqrt(max(discordant - (n10 - n01) ** 2 / n, 0.0)) / n
    nan = float("nan")
    if discordant:
        lo_p, hi_p = proportion_confint(n10, discordant, alpha=1 - confidence, method="beta")
        with np.errstate(divide="ignore"):
            cor = n10 / n01 if n01 else math.inf
            cor_lo = lo_p / (1 - lo_p) if lo_p < 1 else math.inf
            cor_hi = hi_p / (1 - hi_p) if hi_p < 1 else math.inf
    else:
        cor = cor_lo = cor_hi = nan
    return Comparison(
        test=test,
        effects=(
            ("risk_difference", Estimate(rd, max(rd - zc * se, -1.0), min(rd + zc * se, 1.0), n,
                                         "paired difference, wald", confidence)),
            ("conditional_odds_ratio", Estimate(float(cor), float(cor_lo), float(cor_hi), n,
                                                "n10/n01, exact (clopper-pearson)", confidence)),
        ),
        n1=n,
        n2=n,
    )
