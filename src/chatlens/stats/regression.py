"""Logistic regression of a binary behaviour on model, language, turns… with clustered errors.

Why: per-model refusal rates mix the model's behaviour with who uses it (language, conversation
length). A logistic regression gives each model's odds ratio *holding the other covariates
fixed*; clustering the standard errors by user (``cov_type="cluster"``) stops a few heavy users
from making the intervals look more precise than they are.

Fitting is done by statsmodels: ``statsmodels.discrete.discrete_model.Logit`` (row level; needed
for clustered errors) or, when there is no cluster and the covariates take few distinct
combinations, an equivalent binomial ``statsmodels.genmod.GLM`` on aggregated counts (same
maximum-likelihood estimates and standard errors, much faster on 10⁶ rows).

Problems that make odds ratios meaningless raise :class:`~chatlens.errors.InvalidParameterError`
before fitting: an outcome without both classes, fewer events than parameters, (quasi-)
complete separation by a categorical level (e.g. a model that never refused), which would send an
estimate to ±∞, collinear covariates (a provider column that the model column determines: their
odds ratios are not identified, and a solver would print arbitrary ones), and fewer than two
clusters. Pool rare levels with ``min_level_n``. Clustered errors use t(G − 1) for intervals and
p-values (G clusters) and warn below :data:`FEW_CLUSTERS`, where even that is too narrow.

Why one module of ~415 lines: the design matrix, the separation checks and the two fitting paths
(row-level Logit, aggregated GLM) must agree on level order and reference levels; they are
private steps of :func:`logistic_regression` and its :class:`LogitResult`.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import polars as pl

from chatlens.errors import InvalidParameterError, SmallSampleWarning
from chatlens.stats._validate import (
    as_list,
    binary_column,
    check_columns,
    check_confidence,
    check_frame,
    check_int,
)
from chatlens.stats.estimate import Estimate

OTHER_LEVEL = "(other)"
#: Below this many clusters cluster-robust standard errors are biased downward (Cameron & Miller
#: 2015); a warning says so.
FEW_CLUSTERS = 30
#: Relative size under which a pivot of the scaled design's Gram matrix counts as zero (rank).
RANK_TOL = 1e-9


@dataclass(frozen=True, eq=False)
class LogitResult:
    """A fitted logistic regression.

    Attributes
    ----------
    coefficients
        ``term: String, coef, se, z, p_value, odds_ratio, or_ci_low, or_ci_high: Float64``;
        first row ``Intercept``, then ``<column>[<level>]`` dummies (vs the reference level) and
        numeric columns.
    n, n_events
        Rows used and rows with outcome 1.
    n_dropped
        Rows left out for a missing outcome or covariate.
    n_clusters
        Number of clusters for clustered errors (None otherwise).
    references
        ``(column, reference level)`` for each categorical covariate.
    cov_type
        ``"nonrobust"`` or ``"cluster"``.
    converged
        Whether the optimiser converged.
    log_likelihood, pseudo_r2
        Row-level log-likelihood and McFadden's R².
    method
        Which statsmodels estimator produced the fit.
    confidence
        Level of the odds-ratio intervals.
    """

    coefficients: pl.DataFrame
    n: int
    n_events: int
    n_dropped: int
    n_clusters: int | None
    references: tuple[tuple[str, str], ...]
    cov_type: str
    converged: bool
    log_likelihood: float
    pseudo_r2: float
    method: str
    confidence: float

    def odds_ratio(self, term: str) -> Estimate:
        """The odds ratio of ``term`` (e.g. ``"model[gpt-4]"``) as an :class:`Estimate`."""
        row = self.coefficients.filter(pl.col("term") == term)
        if row.height == 0:
            msg = (
                f"No term {term!r} in this regression. "
                f"Available: {self.coefficients['term'].to_list()}."
            )
            raise InvalidParameterError(msg)
        return Estimate(
            float(row["odds_ratio"][0]), float(row["or_ci_low"][0]), float(row["or_ci_high"][0]),
            self.n, f"logistic regression odds ratio ({self.cov_type} SE)", self.confidence,
        )


def _prepare_levels(
    df: pl.DataFrame,
    cats: list[str],
    reference: Mapping[str, object],
    min_level_n: int,
    func: str,
) -> tuple[pl.DataFrame, list[tuple[str, str, list[str]]]]:
    """Cast categoricals to strings, pool rare levels, pick references; return level lists."""
    specs = []
    for c in cats:
        s = pl.col(c).cast(pl.String)
        if min_level_n > 0:
            counts = df.group_by(c).len()
            rare = counts.filter(pl.col("len") < min_level_n)[c].cast(pl.String).to_list()
            if rare:
                kept = set(counts[c].cast(pl.String).to_list()) - set(rare)
                s = pl.when(s.is_in(rare)).then(pl.lit(_pool_label(kept))).otherwise(s)
        df = df.with_columns(s.alias(c))
        counts = df.group_by(c).len().sort(["len", c], descending=[True, False])
        levels = sorted(counts[c].to_list())
        if c in reference:
            # cast like the column itself (True -> "true", 3 -> "3")
            ref = str(pl.Series([reference[c]]).cast(pl.String)[0])
            if ref not in levels:
                msg = (
                    f"{func}: reference level {ref!r} for column {c!r} is not among its levels "
                    f"(after pooling). Available (first 10): {levels[:10]}."
                )
                raise InvalidParameterError(msg)
        else:
            ref = str(counts[c][0])  # most frequent level: the most precise baseline
        specs.append((c, ref, [lv for lv in levels if lv != ref]))
    return df, specs


def _pool_label(kept: set[str]) -> str:
    """The pooled level's name: ``(other)``, unless a level that stays is already called that
    (then ``(other 2)``, …), so a real level is never merged with the pooled ones."""
    label, i = OTHER_LEVEL, 1
    while label in kept:
        i += 1
        label = f"(other {i})"
    return label


def _check_rank(data: pl.DataFrame, specs: list[tuple[str, str, list[str]]], nums: list[str],
                terms: list[str], func: str) -> None:
    """Refuse a design whose columns are linearly dependent (a category that another determines,
    a numeric column that is a multiple of another): its coefficients are not identified.

    The rank of the design is the rank of its distinct rows; it is read from a pivoted QR of the
    Gram matrix of the column-scaled design (p × p), so the cost does not grow with the rows."""
    from scipy.linalg import qr

    keys = [c for c, _, _ in specs] + nums
    x = _design(data.select(keys).unique() if keys else data.head(1), specs, nums)
    norms = np.linalg.norm(x, axis=0)
    x = x / np.where(norms > 0, norms, 1.0)
    _, r, piv = qr(x.T @ x, pivoting=True)
    diag = np.abs(np.diag(r))
    rank = int(np.sum(diag > RANK_TOL * diag[0]))
    if rank < len(terms):
        aliased = [terms[i] for i in sorted(piv[rank:])]
        msg = (
            f"{func}: the covariates are collinear: {aliased} can be written from the other "
            f"terms (the design has rank {rank} for {len(terms)} terms), so their odds ratios are "
            "not identified. Expected covariates that vary independently; drop one of the "
            "columns that determine each other (e.g. a provider column beside the model column)."
        )
        raise InvalidParameterError(msg)


def _design(df: pl.DataFrame, specs: list[tuple[str, str, list[str]]], nums: list[str]) -> np.ndarray:
    n = df.height
    width = 1 + sum(len(lv) for _, _, lv in specs) + len(nums)
    x = np.zeros((n, width), dtype=np.float64)
    x[:, 0] = 1.0
    col = 1
    rows = np.arange(n)
    for c, ref, levels in specs:
        mapping = {lv: i for i, lv in enumerate(levels)}
        mapping[ref] = -1
        codes = df[c].replace_strict(mapping, return_dtype=pl.Int64).to_numpy()
        hit = codes >= 0
        x[rows[hit], col + codes[hit]] = 1.0
        col += len(levels)
    for c in nums:
        x[:, col] = df[c].cast(pl.Float64).to_numpy()
        col += 1
    return x


def _check_separation(df: pl.DataFrame, specs: list[tuple[str, str, list[str]]], func: str) -> None:
    for c, _, _ in specs:
        per = df.group_by(c).agg(pl.col("_y").sum().alias("k"), pl.len().alias("n"))
        bad = per.filter((pl.col("k") == 0) | (pl.col("k") == pl.col("n"))).sort(c)
        if bad.height:
            ex = [(r[0], f"{r[1]}/{r[2]} events") for r in bad.head(5).rows()]
            msg = (
                f"{func}: complete separation: {bad.height} level(s) of {c!r} have an outcome that "
                f"never or always occurs, e.g. {ex}; their odds ratios would be infinite. Expected "
                "both outcomes in every level. Pool rare levels (min_level_n=...) or drop them."
            )
            raise InvalidParameterError(msg)


def logistic_regression(
    frame: pl.DataFrame | pl.LazyFrame,
    outcome: str,
    *,
    categorical: str | Sequence[str] = (),
    numeric: str | Sequence[str] = (),
    reference: Mapping[str, object] | None = None,
    cluster: str | None = None,
    confidence: float = 0.95,
    min_level_n: int = 0,
    min_events_per_param: int = 10,
    maxiter: int = 100,
) -> LogitResult:
    """Fit ``logit P(outcome) = b0 + Σ dummies(categorical) + Σ b·numeric``.

    Parameters
    ----------
    frame
        One row per unit (conversation).
    outcome
        Boolean or 0/1 column.
    categorical
        Columns entered as treatment-coded dummies (e.g. ``["model", "language"]``).
    numeric
        Columns entered linearly (e.g. ``"n_turns"``).
    reference
        Reference level per categorical column; default: its most frequent level.
    cluster
        Column of cluster ids (e.g. ``"user_id"``) for cluster-robust standard errors
        (``cov_type="cluster"``); null ids are dropped with the row (counted in ``n_dropped``).
    confidence
        Level of the odds-ratio intervals.
    min_level_n
        Levels with fewer rows are pooled into ``"(other)"`` before fitting (0 = off).
    min_events_per_param
        Fewer events (of the rarer outcome) per non-intercept parameter triggers a
        :class:`~chatlens.errors.SmallSampleWarning`; fewer events than parameters is an error.
    maxiter
        Newton iterations.

    Returns
    -------
    LogitResult

    Raises
    ------
    InvalidParameterError
        No variation in the outcome, too few events, separation, constant numeric column.

    Examples
    --------
    >>> import polars as pl
    >>> df = pl.DataFrame({
    ...     "model": ["a"] * 40 + ["b"] * 40,
    ...     "n_turns": [1, 2, 3, 4] * 20,
    ...     "refused": ([True] * 10 + [False] * 30) + ([True] * 20 + [False] * 20),
    ... })
    >>> r = logistic_regression(df, "refused", categorical="model", reference={"model": "a"},
    ...                         min_events_per_param=1)
    >>> r.coefficients["term"].to_list()
    ['Intercept', 'model[b]']
    >>> round(r.odds_ratio("model[b]").value, 3)
    3.0
    """
    func = "logistic_regression"
    df = check_frame(frame, func)
    cats, nums = as_list(categorical), as_list(numeric)
    reference = dict(reference or {})
    check_columns(df, [outcome, *cats, *nums, *([cluster] if cluster else [])], func)
    check_confidence(confidence, func)
    check_int(min_level_n, "min_level_n", func, minimum=0)
    check_int(min_events_per_param, "min_events_per_param", func, minimum=0)
    check_int(maxiter, "maxiter", func, minimum=1)
    unknown = [c for c in reference if c not in cats]
    if unknown:
        msg = f"{func}: 'reference' names column(s) {unknown} that are not in categorical={cats}."
        raise InvalidParameterError(msg)
    overlap = set(cats) & set(nums)
    if overlap or outcome in cats or outcome in nums:
        msg = f"{func}: a column is used twice (outcome/categorical/numeric): {sorted(overlap) or outcome}."
        raise InvalidParameterError(msg)
    for c in nums:
        if not df.schema[c].is_numeric():
            msg = f"{func}: numeric column {c!r} must be numeric. Got dtype {df.schema[c]}."
            raise InvalidParameterError(msg)
    y_expr = binary_column(df, outcome, func).alias("_y")
    cols = [y_expr, *[pl.col(c) for c in cats]]
    cols += [pl.col(c).cast(pl.Float64).fill_nan(None) for c in nums]
    if cluster:
        cols.append(pl.col(cluster).alias("_cluster"))
    data = df.select(cols).drop_nulls()
    n_dropped = df.height - data.height
    n = data.height
    n_events = int(data["_y"].sum()) if n else 0
    if n == 0 or n_events in (0, n):
        msg = (
            f"{func}: outcome {outcome!r} needs both values among complete rows. "
            f"Got {n_events} events in {n} rows ({n_dropped} dropped for missing values)."
        )
        raise InvalidParameterError(msg)
    for c in nums:
        if data[c].std() == 0:
            msg = f"{func}: numeric column {c!r} is constant ({data[c][0]}); it cannot be estimated."
            raise InvalidParameterError(msg)
    data, specs = _prepare_levels(data, cats, reference, min_level_n, func)
    n_params = 1 + sum(len(lv) for _, _, lv in specs) + len(nums)
    rarer = min(n_events, n - n_events)
    if rarer < n_params:
        msg = (
            f"{func}: too few events to estimate {n_params} parameters: the rarer outcome "
            f"occurs {rarer} time(s). Expected at least one per parameter (ideally 10). "
            "Use fewer covariates or pool levels (min_level_n=...)."
        )
        raise InvalidParameterError(msg)
    if n_params > 1 and rarer / (n_params - 1) < min_events_per_param:
        warnings.warn(
            f"{func}: {rarer} events for {n_params - 1} covariate parameter(s) "
            f"(< {min_events_per_param} per parameter); estimates may be biased away from 0.",
            SmallSampleWarning,
            stacklevel=2,
        )
    _check_separation(data, specs, func)
    terms = ["Intercept"] + [f"{c}[{lv}]" for c, _, levels in specs for lv in levels] + nums
    _check_rank(data, specs, nums, terms, func)
    if cluster:
        _check_clusters(data["_cluster"].n_unique(), func)
    fit = _fit(data, specs, nums, cats, cluster, maxiter, confidence, func)
    params, bse, zvals, pvals, ci, converged, llf, method, n_clusters = fit
    # McFadden's R² on the row level: the null model predicts the overall rate.
    pbar = n_events / n
    llnull = n_events * math.log(pbar) + (n - n_events) * math.log(1.0 - pbar)
    coef = pl.DataFrame(
        {
            "term": terms,
            "coef": params,
            "se": bse,
            "z": zvals,
            "p_value": pvals,
            "odds_ratio": np.exp(params),
            "or_ci_low": np.exp(ci[:, 0]),
            "or_ci_high": np.exp(ci[:, 1]),
        },
        schema={"term": pl.String, **{k: pl.Float64 for k in (
            "coef", "se", "z", "p_value", "odds_ratio", "or_ci_low", "or_ci_high")}},
    )
    return LogitResult(
        coefficients=coef,
        n=n,
        n_events=n_events,
        n_dropped=n_dropped,
        n_clusters=n_clusters,
        references=tuple((c, ref) for c, ref, _ in specs),
        cov_type="cluster" if cluster else "nonrobust",
        converged=converged,
        log_likelihood=llf,
        pseudo_r2=1.0 - llf / llnull,
        method=method,
        confidence=confidence,
    )


def _check_clusters(n_clusters: int, func: str) -> None:
    """One cluster gives no cluster-robust variance at all; few give one that is too small."""
    if n_clusters < 2:
        msg = (f"{func}: cluster-robust errors need at least 2 clusters among the complete rows. "
               f"Got {n_clusters}. Drop 'cluster' or cluster on a finer unit.")
        raise InvalidParameterError(msg)
    if n_clusters < FEW_CLUSTERS:
        warnings.warn(
            f"{func}: only {n_clusters} clusters; cluster-robust standard errors are biased "
            f"downward with fewer than {FEW_CLUSTERS} even with t({n_clusters - 1}) intervals "
            "(used here): read the intervals as too narrow.",
            SmallSampleWarning,
            stacklevel=3,
        )


def _fit(
    data: pl.DataFrame,
    specs: list[tuple[str, str, list[str]]],
    nums: list[str],
    cats: list[str],
    cluster: str | None,
    maxiter: int,
    confidence: float,
    func: str,
) -> tuple:
    # the estimator modules only: ``statsmodels.api`` costs seconds of imports.
    from statsmodels.discrete.discrete_model import Logit
    from statsmodels.genmod.families import Binomial
    from statsmodels.genmod.generalized_linear_model import GLM
    from statsmodels.tools.sm_exceptions import ConvergenceWarning, PerfectSeparationWarning

    keys = [*cats, *nums]
    n = data.height
    counts = (pl.col("_y").sum().alias("_k"), pl.len().alias("_n"))
    agg = data.group_by(keys).agg(*counts) if keys else data.select(*counts)
    if agg.height > n // 2:
        agg = None
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        start = None
        n_glm_warnings = 0
        if agg is not None:
            x = _design(agg, specs, nums)
            k = agg["_k"].to_numpy().astype(np.float64)
            m = agg["_n"].to_numpy().astype(np.float64)
            model = GLM(np.column_stack([k, m - k]), x, family=Binomial())
            res = model.fit(maxiter=maxiter, tol=1e-12)
            converged = bool(res.converged)
            prob = res.fittedvalues
            with np.errstate(divide="ignore", invalid="ignore"):
                llf = float(np.sum(np.where(k > 0, k * np.log(prob), 0.0)
                                   + np.where(m > k, (m - k) * np.log1p(-prob), 0.0)))
            method = "statsmodels GLM Binomial on aggregated covariate patterns (= Logit MLE)"
            n_clusters = None
            # A saturated aggregated fit reproduces observed shares exactly, which statsmodels'
            # GLM reports as "perfect prediction"; separation is judged by fitted probabilities.
            n_glm_warnings = len(caught)
            start = np.asarray(res.params)
        if cluster is not None or agg is None:
            x = _design(data, specs, nums)
            y = data["_y"].to_numpy().astype(np.float64)
            kwargs: dict = {}
            n_clusters = None
            if cluster:
                groups = data["_cluster"].rank("dense").to_numpy()
                n_clusters = int(groups.max())
                # t(G - 1) for intervals and p-values: with few clusters z is too narrow
                kwargs = {"cov_type": "cluster", "cov_kwds": {"groups": groups}, "use_t": True}
            # With few covariate patterns the aggregated fit has already found the MLE: starting
            # from it, Newton on the rows only confirms convergence (1–2 Hessians of 10⁶ rows).
            # check_rank=False: _check_rank has checked the rank on the distinct rows; statsmodels'
            # check is a QR of the whole 10⁶-row design.
            res = Logit(y, x, check_rank=False).fit(
                method="newton", maxiter=maxiter, disp=0, start_params=start, **kwargs
            )
            converged = bool(res.mle_retvals.get("converged", True))
            llf = float(res.llf)
            prob = res.predict()
            method = "statsmodels Logit (newton)" + (
                f", cluster-robust SE, t({n_clusters - 1})" if cluster else "")
    caught = [
        w for i, w in enumerate(caught)
        if not (i < n_glm_warnings and issubclass(w.category, PerfectSeparationWarning))
    ]
    separated = bool(np.any((prob < 1e-10) | (prob > 1.0 - 1e-10)))
    separated |= any(issubclass(w.category, PerfectSeparationWarning) for w in caught)
    if separated:
        msg = (
            f"{func}: perfect separation: a covariate predicts the outcome exactly for some rows "
            "(fitted probabilities of 0 or 1), so its odds ratio is infinite. Expected overlap "
            "of both outcomes along every covariate; drop or bin the offending covariate."
        )
        raise InvalidParameterError(msg)
    if any(issubclass(w.category, ConvergenceWarning) for w in caught):
        converged = False
    if not converged:
        warnings.warn(
            f"{func}: the fit did not converge in {maxiter} iterations; estimates are unreliable.",
            SmallSampleWarning,
            stacklevel=3,
        )
    return (
        np.asarray(res.params), np.asarray(res.bse), np.asarray(res.tvalues),
        np.asarray(res.pvalues), np.asarray(res.conf_int(alpha=1.0 - confidence)), converged, llf,
        method, n_clusters,
    )
