"""Rates and means per group (model, language, model × language) with confidence intervals.

One polars ``group_by`` aggregates counts; the intervals are then computed for all groups at once
(:func:`chatlens.stats.proportions.proportion_ci`, ``scipy.stats.t.ppf``), so thousands of groups
cost one vectorised call, not a Python loop.

Why a minimum n: a model with 7 conversations can show a 0 % or 43 % refusal rate by chance.
Such groups are kept (dropping them silently would hide data) but flagged in the
``small_sample`` column and announced once with a :class:`~chatlens.errors.SmallSampleWarning`;
read their interval, not their point value.

Missing outcomes (null, or NaN in float columns) are not counted in ``n``; they are reported per
group in ``n_missing`` so nothing disappears unannounced. Null group keys form their own group.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence

import numpy as np
import polars as pl
from scipy import stats

from chatlens.errors import DegenerateVarianceWarning, InvalidParameterError, SmallSampleWarning
from chatlens.stats._validate import (
    as_list,
    binary_column,
    check_choice,
    check_columns,
    check_confidence,
    check_frame,
    check_int,
)
from chatlens.stats.proportions import RATE_METHODS, RateMethod, proportion_ci

#: column order of :func:`grouped_rate` after the group columns.
RATE_COLUMNS: tuple[str, ...] = (
    "n", "k", "rate", "ci_low", "ci_high", "method", "small_sample", "n_missing"
)
#: column order of :func:`grouped_mean` after the group columns.
MEAN_COLUMNS: tuple[str, ...] = (
    "n", "mean", "sd", "ci_low", "ci_high", "method", "small_sample", "n_missing"
)


def _warn_small(out: pl.DataFrame, by: list[str], min_n: int, func: str) -> None:
    small = out.filter(pl.col("small_sample"))
    if small.height:
        example = small.select(by).head(3).rows() if by else "the whole frame"
        warnings.warn(
            f"{func}: {small.height} of {out.height} group(s) have fewer than {min_n} "
            f"observations (e.g. {example}); their estimates are unstable.",
            SmallSampleWarning,
            stacklevel=3,
        )


def grouped_rate(
    frame: pl.DataFrame | pl.LazyFrame,
    outcome: str,
    by: str | Sequence[str] | None = None,
    *,
    method: RateMethod = "wilson",
    confidence: float = 0.95,
    min_n: int = 30,
    cluster: str | None = None,
) -> pl.DataFrame:
    """Rate of a binary outcome per group, with confidence intervals.

    Parameters
    ----------
    frame
        One row per unit (usually per conversation).
    outcome
        Boolean or 0/1 column (e.g. ``has_refusal``). Nulls/NaN are excluded and counted in
        ``n_missing``.
    by
        Group column(s); ``None`` gives one overall row.
    method
        Interval method (see :func:`~chatlens.stats.proportions.proportion_ci`).
    confidence
        Two-sided level in (0, 1).
    min_n
        Groups with ``n < min_n`` are flagged ``small_sample`` and trigger one
        :class:`~chatlens.errors.SmallSampleWarning`.
    cluster
        Optional cluster column (e.g. ``"user_id"``; a null id is its own cluster). Rows of one
        user are not independent: the interval then uses the Korn–Graubard effective sample size
        n_eff = n / deff, where the design effect deff is the ratio of the cluster-robust
        (ratio-estimator) variance of the rate, C/(C−1)·Σ_c (k_c − p·n_c)² / n², to the
        binomial variance p(1−p)/n; deff is floored at 1 (never narrower than Wilson) and a
        group with fewer than 2 clusters gets NaN bounds. Two extra columns:
        ``n_clusters: Int64`` and ``deff: Float64``.

    Returns
    -------
    polars.DataFrame
        ``<by…>, n: Int64, k: Int64, rate: Float64, ci_low: Float64, ci_high: Float64,
        method: String, small_sample: Boolean, n_missing: Int64`` (+ ``n_clusters, deff`` with
        ``cluster``), sorted by the group columns. A group whose outcomes are all missing has
        ``n = 0`` and NaN rate and bounds.

    Examples
    --------
    >>> import polars as pl
    >>> df = pl.DataFrame({
    ...     "model": ["a", "a", "a", "b", "b", "b"],
    ...     "has_refusal": [True, False, False, True, True, None],
    ... })
    >>> out = grouped_rate(df, "has_refusal", "model", min_n=1)
    >>> out.select("model", "n", "k", "n_missing").rows()
    [('a', 3, 1, 0), ('b', 2, 2, 1)]
    >>> out["ci_low"].round(3).to_list()
    [0.061, 0.342]

    Without ``by`` the whole frame is one group:

    >>> grouped_rate(df, "has_refusal", min_n=1).select("n", "k").rows()
    [(5, 3)]

    With a cluster column, repeated users widen the interval (design effect > 1):

    >>> users = pl.DataFrame({"user": ["u1"] * 4 + ["u2"] * 4 + ["u3"] * 4,
    ...                       "refused": [True] * 4 + [False] * 4 + [True, False] * 2})
    >>> out = grouped_rate(users, "refused", cluster="user", min_n=1)
    >>> out.select("n", "n_clusters", "deff").rows()
    [(12, 3, 4.0)]
    """
    func = "grouped_rate"
    df = check_frame(frame, func)
    keys = as_list(by)
    check_columns(df, [outcome, *keys], func)
    check_choice(method, RATE_METHODS, "method", func)
    check_confidence(confidence, func)
    check_int(min_n, "min_n", func, minimum=0)
    if cluster is not None:
        check_columns(df, [cluster], func)
        return _clustered_rate(df, outcome, keys, cluster, method, confidence, min_n)
    y = binary_column(df, outcome, func)
    aggs = [
        y.count().cast(pl.Int64).alias("n"),
        y.sum().cast(pl.Int64).alias("k"),
        y.null_count().cast(pl.Int64).alias("n_missing"),
    ]
    if keys:
        counts = df.group_by(keys).agg(aggs).sort(keys, nulls_last=True)
    else:
        counts = df.select(aggs)
    rate, lo, hi = proportion_ci(
        counts["k"].to_numpy(), counts["n"].to_numpy(), method=method, confidence=confidence
    )
    out = counts.with_columns(
        pl.Series("rate", rate, dtype=pl.Float64),
        pl.Series("ci_low", lo, dtype=pl.Float64),
        pl.Series("ci_high", hi, dtype=pl.Float64),
        pl.lit(method, dtype=pl.String).alias("method"),
        (pl.col("n") < min_n).alias("small_sample"),
    ).select(*keys, *RATE_COLUMNS)
    _warn_small(out, keys, min_n, func)
    return out


def _clustered_rate(
    df: pl.DataFrame,
    outcome: str,
    keys: list[str],
    cluster: str,
    method: str,
    confidence: float,
    min_n: int,
) -> pl.DataFrame:
    """grouped_rate with a Korn–Graubard design-effect adjustment (see its docstring)."""
    from chatlens.stats.proportions import confint

    func = "grouped_rate"
    y = binary_column(df, outcome, func)
    # a null cluster id is its own cluster: give it a unique surrogate id.
    cid = (
        pl.when(pl.col(cluster).is_null())
        .then(pl.concat_str(pl.lit("\x00null-"), pl.int_range(pl.len()).cast(pl.String)))
        .otherwise(pl.col(cluster).cast(pl.String))
        .alias("_cid")
    )
    tmp = df.select(*[pl.col(k) for k in keys], y.alias("_y"), cid)
    per_cluster = tmp.group_by([*keys, "_cid"]).agg(
        pl.col("_y").count().alias("_m"), pl.col("_y").sum().alias("_k"),
        pl.col("_y").null_count().alias("_miss"),
    )
    stats_expr = [
        pl.col("_m").sum().cast(pl.Int64).alias("n"),
        pl.col("_k").sum().cast(pl.Int64).alias("k"),
        pl.col("_miss").sum().cast(pl.Int64).alias("n_missing"),
        (pl.col("_m") > 0).sum().cast(pl.Int64).alias("n_clusters"),
    ]
    counts = (
        per_cluster.group_by(keys).agg(stats_expr).sort(keys, nulls_last=True)
        if keys
        else per_cluster.select(stats_expr)
    )
    # cluster-robust residual sum per group: Σ_c (k_c − p·m_c)², p the group's rate.
    if keys:
        p_group = pl.col("_k").sum().over(keys) / pl.col("_m").sum().over(keys)
    else:
        p_group = pl.col("_k").sum() / pl.col("_m").sum()
    resid = per_cluster.with_columns(((pl.col("_k") - p_group * pl.col("_m")) ** 2).alias("_r2"))
    if keys:
        ss = resid.group_by(keys).agg(pl.col("_r2").sum())
        counts = counts.join(ss, on=keys, how="left", nulls_equal=True)
    else:
        counts = counts.with_columns(resid.select(pl.col("_r2").sum()).to_series())
    n = counts["n"].to_numpy().astype(np.float64)
    k = counts["k"].to_numpy().astype(np.float64)
    c = counts["n_clusters"].to_numpy().astype(np.float64)
    r2 = counts["_r2"].fill_null(np.nan).to_numpy().astype(np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        p = k / n
        var_clu = c / (c - 1.0) * r2 / n**2
        var_srs = p * (1.0 - p) / n
        deff = np.where(var_srs > 0, var_clu / var_srs, 1.0)
        deff = np.where(c >= 2, np.maximum(deff, 1.0), np.nan)
        n_eff = n / deff
    rate = np.where(n > 0, p, np.nan)
    lo = np.full(n.shape, np.nan)
    hi = np.full(n.shape, np.nan)
    ok = (n > 0) & np.isfinite(n_eff)
    if ok.any():
        lo[ok], hi[ok] = confint(p[ok] * n_eff[ok], n_eff[ok], confidence, method)
    out = counts.with_columns(
        pl.Series("rate", rate, dtype=pl.Float64),
        pl.Series("ci_low", lo, dtype=pl.Float64),
        pl.Series("ci_high", hi, dtype=pl.Float64),
        pl.lit(f"{method}, design-effect adjusted (clusters: {cluster})", dtype=pl.String)
        .alias("method"),
        (pl.col("n") < min_n).alias("small_sample"),
        pl.Series("deff", deff, dtype=pl.Float64),
    ).select(*keys, *RATE_COLUMNS, "n_clusters", "deff")
    _warn_small(out, keys, min_n, func)
    return out


def rate_table(
    frame: pl.DataFrame | pl.LazyFrame,
    outcomes: Sequence[str],
    by: str | Sequence[str] | None = None,
    *,
    method: RateMethod = "wilson",
    confidence: float = 0.95,
    min_n: int = 30,
    cluster: str | None = None,
) -> pl.DataFrame:
    """:func:`grouped_rate` for several behaviours at once, stacked in one long frame.

    Why: a report compares models on refusal, jailbreak-after-refusal, abandonment… side by
    side; one tidy frame (``outcome`` first) feeds tables, figures and
    :func:`chatlens.stats.multitest.adjust_frame` alike.

    Parameters
    ----------
    frame
        One row per unit.
    outcomes
        Boolean / 0-1 columns, one block of rows each (in this order).
    by, method, confidence, min_n, cluster
        As in :func:`grouped_rate`. Each outcome keeps its own ``n`` (its non-missing rows).

    Returns
    -------
    polars.DataFrame
        ``outcome: String`` then the :func:`grouped_rate` columns.

    Examples
    --------
    >>> import polars as pl
    >>> df = pl.DataFrame({"model": ["a", "a", "b", "b"],
    ...                    "has_refusal": [True, False, True, True],
    ...                    "abandoned": [None, False, True, False]})
    >>> rate_table(df, ["has_refusal", "abandoned"], "model", min_n=0).select(
    ...     "outcome", "model", "n", "k").rows()
    [('has_refusal', 'a', 2, 1), ('has_refusal', 'b', 2, 2), ('abandoned', 'a', 1, 0), ('abandoned', 'b', 2, 1)]
    """
    names = [outcomes] if isinstance(outcomes, str) else list(outcomes)
    if not names:
        msg = f"The 'outcomes' parameter of rate_table must name at least one column. Got {outcomes!r}."
        raise InvalidParameterError(msg)
    df = check_frame(frame, "rate_table")
    parts = [
        grouped_rate(
            df, name, by, method=method, confidence=confidence, min_n=min_n, cluster=cluster
        ).select(pl.lit(name, dtype=pl.String).alias("outcome"), pl.all())
        for name in names
    ]
    return pl.concat(parts, how="vertical_relaxed")


def grouped_mean(
    frame: pl.DataFrame | pl.LazyFrame,
    value: str,
    by: str | Sequence[str] | None = None,
    *,
    confidence: float = 0.95,
    min_n: int = 30,
) -> pl.DataFrame:
    """Mean of a numeric column per group, with a Student-t confidence interval.

    The interval is ``mean ± t_{1-α/2, n-1} · sd / √n`` (``scipy.stats.t.ppf``, vectorised
    over groups). For bounded or skewed scores (VADER sentiment) with small n, prefer
    :func:`chatlens.stats.bootstrap.cluster_bootstrap`.

    Parameters
    ----------
    frame
        One row per unit.
    value
        Numeric column (e.g. ``sentiment_after_refusal``); null/NaN excluded, counted in
        ``n_missing``.
    by
        Group column(s); ``None`` gives one overall row.
    confidence
        Two-sided level in (0, 1).
    min_n
        Groups with ``n < min_n`` are flagged and warned about (SmallSampleWarning).

    Returns
    -------
    polars.DataFrame
        ``<by…>, n: Int64, mean: Float64, sd: Float64 (ddof=1), ci_low, ci_high: Float64,
        method: String, small_sample: Boolean, n_missing: Int64``. Groups with ``n < 2``
        have NaN bounds (and NaN sd); groups with zero spread raise one
        :class:`~chatlens.errors.DegenerateVarianceWarning`.

    Examples
    --------
    >>> import polars as pl
    >>> df = pl.DataFrame({"lang": ["en", "en", "en", "de", "de"],
    ...                    "sentiment": [0.5, -0.5, 0.0, 0.2, float("nan")]})
    >>> out = grouped_mean(df, "sentiment", "lang", min_n=1)
    >>> out.select("lang", "n", "mean", "n_missing").rows()
    [('de', 1, 0.2, 1), ('en', 3, 0.0, 0)]
    >>> round(out["ci_high"][1], 3)
    1.242
    """
    func = "grouped_mean"
    df = check_frame(frame, func)
    keys = as_list(by)
    check_columns(df, [value, *keys], func)
    check_confidence(confidence, func)
    check_int(min_n, "min_n", func, minimum=0)
    dtype = df.schema[value]
    if not (dtype.is_numeric() or dtype == pl.Boolean):
        msg = f"Column {value!r} given to {func} must be numeric. Got dtype {dtype}."
        raise InvalidParameterError(msg)
    x = pl.col(value).cast(pl.Float64).fill_nan(None)
    aggs = [
        x.count().cast(pl.Int64).alias("n"),
        x.mean().alias("mean"),
        x.std(ddof=1).alias("sd"),
        x.null_count().cast(pl.Int64).alias("n_missing"),
    ]
    if keys:
        agg = df.group_by(keys).agg(aggs).sort(keys, nulls_last=True)
    else:
        agg = df.select(aggs)
    n = agg["n"].to_numpy().astype(np.float64)
    mean = agg["mean"].fill_null(np.nan).to_numpy().astype(np.float64)
    sd = agg["sd"].fill_null(np.nan).to_numpy().astype(np.float64)
    with np.errstate(invalid="ignore", divide="ignore"):
        tcrit = stats.t.ppf(0.5 + confidence / 2.0, np.where(n > 1, n - 1, np.nan))
        half = tcrit * sd / np.sqrt(n)
    out = agg.with_columns(
        pl.Series("mean", mean, dtype=pl.Float64),
        pl.Series("sd", sd, dtype=pl.Float64),
        pl.Series("ci_low", mean - half, dtype=pl.Float64),
        pl.Series("ci_high", mean + half, dtype=pl.Float64),
        pl.lit("t", dtype=pl.String).alias("method"),
        (pl.col("n") < min_n).alias("small_sample"),
    ).select(*keys, *MEAN_COLUMNS)
    _warn_small(out, keys, min_n, func)
    if bool(((sd == 0) & (n > 1)).any()):
        warnings.warn(
            f"{func}: {int(((sd == 0) & (n > 1)).sum())} group(s) have zero spread in {value!r}; "
            "their intervals have zero width.",
            DegenerateVarianceWarning,
            stacklevel=2,
        )
    return out


