"""Cluster bootstrap: intervals that respect repeated users (or battles, or conversations).

Why: LMSYS-Chat-1M has ~210k users for 1M conversations, and Chatbot Arena sends the same prompt
to two models. Rows from one user are not independent; resampling rows pretends they are and
gives intervals that are too narrow. Resampling whole clusters (users) keeps the dependence inside
each resample (Davison & Hinkley 1997, §2.4; Cameron, Gelbach & Miller 2008).

Two entry points:

* :func:`bootstrap_mean` — means and rates (a rate is the mean of a 0/1 column), fully
  vectorised: per-cluster sums are computed once and each round is a multinomial weight vector
  over clusters, so a round costs O(clusters), not O(rows).
* :func:`cluster_bootstrap` — any statistic ``f(frame) -> float``; rows of the chosen clusters are
  gathered with one vectorised index per round (the Python loop is over rounds only).

Both are seeded (``numpy.random.default_rng(seed)``) and return an
:class:`~chatlens.stats.estimate.Estimate` with a percentile interval.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import polars as pl

from chatlens.errors import InvalidParameterError
from chatlens.stats._validate import (
    check_columns,
    check_confidence,
    check_frame,
    check_int,
)
from chatlens.stats.estimate import Estimate

#: rounds are drawn in chunks of at most this many (rounds × clusters) elements.
_CHUNK_ELEMENTS = 10_000_000


def cluster_codes(clusters: object, n: int, func: str) -> np.ndarray:
    """Integer codes 0..G-1 for cluster labels (in sorted label order); a null label is its own
    singleton cluster. ``func`` names the caller in the length-mismatch error."""
    if clusters is None:
        return np.arange(n)
    s = clusters if isinstance(clusters, pl.Series) else pl.Series("cluster", clusters, strict=False)
    if s.len() != n:
        msg = f"{func}: 'clusters' must have one label per value ({n}). Got {s.len()}."
        raise InvalidParameterError(msg)
    codes = s.rank("dense").to_numpy()
    nulls = np.isnan(codes.astype(np.float64)) if codes.dtype.kind == "f" else s.is_null().to_numpy()
    codes = np.where(nulls, 0, codes).astype(np.int64) - 1
    if nulls.any():
        base = int(codes.max()) + 1
        codes[nulls] = base + np.arange(int(nulls.sum()))
    return codes


def percentile_interval(samples: np.ndarray, confidence: float) -> tuple[float, float]:
    """Two-sided percentile interval of the finite bootstrap ``samples`` (NaN, NaN if none)."""
    a = (1.0 - confidence) / 2.0
    finite = samples[np.isfinite(samples)]
    if finite.size == 0:
        return float("nan"), float("nan")
    return float(np.quantile(finite, a)), float(np.quantile(finite, 1.0 - a))


def bootstrap_mean(
    values: object,
    *,
    clusters: object = None,
    n_boot: int = 2000,
    seed: int = 0,
    confidence: float = 0.95,
) -> Estimate:
    """Mean (or rate) with a (cluster) percentile bootstrap interval, vectorised.

    Parameters
    ----------
    values
        1-D numeric or boolean values; NaN/null are dropped (with their cluster labels).
    clusters
        Optional cluster label per value (e.g. ``user_id``); ``None`` resamples values. A null
        label counts as its own one-row cluster.
    n_boot
        Bootstrap rounds (>= 1).
    seed
        Seed of ``numpy.random.default_rng``.
    confidence
        Two-sided level in (0, 1).

    Returns
    -------
    Estimate
        ``n`` is the number of values; ``method`` names the number of clusters resampled. One
        cluster (or one value) gives NaN bounds: resampling it cannot show any spread.
        Mean of an empty input raises :class:`~chatlens.errors.InvalidParameterError`.

    Examples
    --------
    >>> e = bootstrap_mean([1, 0, 1, 1, 0, 0, 1, 0], clusters=["u1", "u1", "u2", "u2",
    ...                                                        "u3", "u3", "u4", "u4"])
    >>> e.value, e.n, e.method
    (0.5, 8, 'cluster bootstrap percentile (B=2000, 4 clusters)')
    >>> 0.0 <= e.ci_low <= 0.5 <= e.ci_high <= 1.0
    True
    """
    func = "bootstrap_mean"
    check_int(n_boot, "n_boot", func, minimum=1)
    check_confidence(confidence, func)
    s = values if isinstance(values, pl.Series) else pl.Series("v", values, strict=False)
    x = s.cast(pl.Float64, strict=False).fill_nan(None).to_numpy()
    n_all = x.shape[0]
    codes = cluster_codes(clusters, n_all, func)
    keep = ~np.isnan(x)
    x, codes = x[keep], codes[keep]
    if x.size == 0:
        msg = f"{func}: no non-missing values to average. Got {n_all} value(s), all missing."
        raise InvalidParameterError(msg)
    _, codes = np.unique(codes, return_inverse=True)
    g = int(codes.max()) + 1
    sums = np.bincount(codes, weights=x, minlength=g)
    counts = np.bincount(codes, minlength=g).astype(np.float64)
    rng = np.random.default_rng(seed)
    chunk = max(1, _CHUNK_ELEMENTS // g)
    means = np.empty(n_boot)
    done = 0
    p = np.full(g, 1.0 / g)
    while done < n_boot:
        size = min(chunk, n_boot - done)
        w = rng.multinomial(g, p, size=size).astype(np.float64)
        with np.errstate(invalid="ignore", divide="ignore"):
            means[done : done + size] = (w @ sums) / (w @ counts)
        done += size
    # one unit (cluster or value) resamples to itself: the "interval" would be the point, zero
    # width, saying nothing about the sampling error it cannot estimate (grouped_rate gives NaN)
    lo, hi = percentile_interval(means, confidence) if g >= 2 else (float("nan"), float("nan"))
    kind = "cluster bootstrap" if clusters is not None else "bootstrap"
    unit = f"{g} clusters" if clusters is not None else f"{g} values"
    return Estimate(
        float(x.mean()), lo, hi, n=int(x.size),
        method=f"{kind} percentile (B={n_boot}, {unit})", confidence=confidence,
    )


def cluster_bootstrap(
    frame: pl.DataFrame | pl.LazyFrame,
    statistic: Callable[[pl.DataFrame], float],
    *,
    cluster: str | None = None,
    n_boot: int = 1000,
    seed: int = 0,
    confidence: float = 0.95,
) -> Estimate:
    """Percentile interval of any statistic by resampling whole clusters of rows.

    Parameters
    ----------
    frame
        The data (one row per unit).
    statistic
        ``f(frame) -> float``; called once on the data and once per round on a resampled frame
        with the same columns. Rounds where it returns NaN are ignored.
    cluster
        Column of cluster labels (e.g. ``"user_id"``); ``None`` resamples rows. Null labels are
        singleton clusters.
    n_boot, seed, confidence
        Rounds, seed of ``numpy.random.default_rng``, two-sided level.

    Returns
    -------
    Estimate
        The statistic on the full data, with the percentile interval; ``n`` = rows.

    Examples
    --------
    >>> import polars as pl
    >>> df = pl.DataFrame({"user": ["a", "a", "b", "c", "c", "d"],
    ...                    "sentiment": [0.2, 0.4, -0.1, 0.0, 0.1, 0.5]})
    >>> med = lambda f: float(f["sentiment"].median())
    >>> e = cluster_bootstrap(df, med, cluster="user", n_boot=200)
    >>> round(e.value, 2), e.n, e.ci_low <= e.value <= e.ci_high
    (0.15, 6, True)
    """
    func = "cluster_bootstrap"
    df = check_frame(frame, func)
    check_int(n_boot, "n_boot", func, minimum=1)
    check_confidence(confidence, func)
    if not callable(statistic):
        msg = f"The 'statistic' parameter of {func} must be callable. Got {type(statistic).__name__}."
        raise InvalidParameterError(msg)
    if df.height == 0:
        msg = f"{func}: the frame is empty; nothing to resample."
        raise InvalidParameterError(msg)
    if cluster is not None:
        check_columns(df, [cluster], func)
        codes = cluster_codes(df[cluster], df.height, func)
    else:
        codes = np.arange(df.height)
    order = np.argsort(codes, kind="stable")
    sorted_codes = codes[order]
    g = int(sorted_codes[-1]) + 1
    starts = np.searchsorted(sorted_codes, np.arange(g), side="left")
    sizes = np.bincount(sorted_codes, minlength=g)
    rng = np.random.default_rng(seed)
    value = float(statistic(df))
    reps = np.empty(n_boot)
    for b in range(n_boot):
        chosen = rng.integers(0, g, size=g)
        lengths = sizes[chosen]
        total = int(lengths.sum())
        offsets = np.repeat(starts[chosen] - np.cumsum(lengths) + lengths, lengths)
        idx = order[offsets + np.arange(total)]
        reps[b] = statistic(df[idx])
    lo, hi = percentile_interval(reps, confidence)
    unit = f"{g} clusters by {cluster}" if cluster else f"{g} rows"
    kind = "cluster bootstrap" if cluster else "bootstrap"
    return Estimate(value, lo, hi, n=df.height,
                    method=f"{kind} percentile (B={n_boot}, {unit})", confidence=confidence)
