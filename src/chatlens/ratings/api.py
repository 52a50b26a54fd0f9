"""``rate``: win rates, Elo and Bradley–Terry with intervals, from one comparison table.

This is the function behind ``chatlens ratings``. It validates the input once
(:func:`~chatlens.ratings.battles.prepare_battles`), aggregates it into weighted cells, and runs
the requested estimators, all sharing the same bootstrap draws where they can.

The result record and its table schemas live in :mod:`chatlens.ratings.result`.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np
import polars as pl

from chatlens.errors import InvalidParameterError, SmallSampleWarning
from chatlens.ratings.battles import Battles, StyleTransform, prepare_battles
from chatlens.ratings.bootstrap import (
    bootstrap_weights,
    percentile_interval,
)
from chatlens.ratings.bt import BTSolution, finite_models, solve_bt
from chatlens.ratings.cells import Cells, build_cells, components, game_arrays
from chatlens.ratings.elo import EloConfig, elo_bootstrap, elo_random_orders, elo_replay
from chatlens.ratings.io import read_table
from chatlens.ratings.outcomes import OutcomeScale
from chatlens.ratings.result import COEF_SCHEMA, TABLE_SCHEMA, RatingResult, rating_rows
from chatlens.ratings.significance import pair_tests
from chatlens.ratings.winrate import (
    ModelTally,
    bootstrap_win_rates,
    matrix_frame,
    pairwise_matrices,
    tally,
)
from chatlens.stats.proportions import proportion_ci

Method = Literal["winrate", "elo", "bt", "all"]
ClusterBy = Literal["rater", "prompt"]
METHODS: tuple[str, ...] = ("winrate", "elo", "bt", "all")

@dataclass(frozen=True)
class BTConfig:
    """Bradley–Terry reporting scale and fit options.

    Ratings are ``init + scale / ln(base) · r`` (r in logit units), so 400 points = 10:1 odds as
    in Elo. With ``anchor`` set, every rating (and every bootstrap round) is shifted so that the
    anchor model sits at ``anchor_rating`` (default ``init``); otherwise ratings are centred on
    ``init``. Anchoring moves the anchor's own uncertainty onto everyone else (FastChat #3377).
    """

    scale: float = 400.0
    base: float = 10.0
    init: float = 1500.0
    anchor: str | None = None
    anchor_rating: float | None = None
    reg: float = 0.0
    max_iter: int = 100

    def __post_init__(self) -> None:
        if self.scale <= 0 or self.base <= 1 or self.reg < 0 or self.max_iter < 1:
            msg = (
                "BTConfig needs scale > 0, base > 1, reg >= 0 and max_iter >= 1. Got "
                f"scale={self.scale}, base={self.base}, reg={self.reg}, max_iter={self.max_iter}."
            )
            raise InvalidParameterError(msg)


def _to_rating(strengths: np.ndarray, models: tuple[str, ...], cfg: BTConfig) -> np.ndarray:
    ratings = cfg.init + cfg.scale / np.log(cfg.base) * strengths
    if cfg.anchor is not None:
        j = models.index(cfg.anchor)
        target = cfg.init if cfg.anchor_rating is None else cfg.anchor_rating
        ratings = ratings - ratings[..., j : j + 1] + target
    return ratings


def _warn(notes: list[str], message: str) -> None:
    notes.append(message)
    warnings.warn(message, SmallSampleWarning, stacklevel=3)


def _no_degenerate_intervals(models: Sequence[str], tal: ModelTally, lo: np.ndarray,
                             hi: np.ndarray, confidence: float, notes: list[str],
                             ) -> tuple[np.ndarray, np.ndarray]:
    """NaN bounds (and a note with the Wilson interval of its decisive record) for a model that
    won or lost every game: resampling its games repeats the same score, so the percentile
    interval would be zero width, a certainty that 8 wins in 8 games does not give."""
    rate = tal.win_rate
    flat = (tal.games > 0) & ((rate == 0.0) | (rate == 1.0))
    if not flat.any():
        return lo, hi
    lo, hi = np.asarray(lo, dtype=np.float64).copy(), np.asarray(hi, dtype=np.float64).copy()
    lo[flat] = hi[flat] = np.nan
    for i in np.flatnonzero(flat):
        k, n = int(round(rate[i] * tal.games[i])), int(round(tal.games[i]))
        _, wl, wh = proportion_ci(k, n, confidence=confidence)
        _warn(notes, f"winrate: {models[i]!r} {'won' if k else 'lost'} all {n} of its games; "
                     f"the bootstrap cannot show its uncertainty, so its interval is left empty "
                     f"(Wilson {confidence:.0%} for {k} of {n}: [{wl[0]:.3f}, {wh[0]:.3f}]).")
    return lo, hi


def _fit_finite(
    cells: Cells, weights: np.ndarray, cfg: BTConfig, *, start: np.ndarray | None = None
) -> tuple[BTSolution, np.ndarray]:
    """Fit BT; rounds that did not converge without a ridge are refitted on their finite part.

    Returns the solution and an (R, n_models) mask of the models left out (played in the round
    but outside :func:`~chatlens.ratings.bt.finite_models`), whose strengths are NaN.
    """
    w = np.atleast_2d(np.asarray(weights, dtype=np.float64))
    sol = solve_bt(cells, w, reg=cfg.reg, max_iter=cfg.max_iter, start=start)
    out = np.zeros((w.shape[0], cells.n_models), dtype=bool)
    bad = np.flatnonzero(~sol.converged)
    if cfg.reg or bad.size == 0:
        return sol, out
    keep = finite_models(cells, w[bad])
    played = np.stack([np.bincount(cells.a, row, cells.n_models)
                       + np.bincount(cells.b, row, cells.n_models) for row in np.abs(w[bad])]) > 0
    cut = played & ~keep
    redo = cut.any(axis=1)
    if not redo.any():
        return sol, out
    rows = bad[redo]
    strengths, coefs = sol.strengths.copy(), sol.coefs.copy()
    converged, iterations = sol.converged.copy(), sol.iterations.copy()
    out[rows] = cut[redo]
    # a finite part of one model compares it with nothing: such a round rates no one
    pair = keep[redo].sum(axis=1) >= 2
    strengths[rows[~pair]] = np.nan
    rows, kept = rows[pair], keep[redo][pair]
    if rows.size:
        w2 = w[rows] * (kept[:, cells.a] & kept[:, cells.b])
        again = solve_bt(cells, w2, reg=cfg.reg, max_iter=cfg.max_iter)
        strengths[rows], coefs[rows] = again.strengths, again.coefs
        converged[rows], iterations[rows] = again.converged, iterations[rows] + again.iterations
    return BTSolution(strengths, coefs, converged, iterations), out


def _bt_block(
    cells: Cells,
    cfg: BTConfig,
    *,
    bootstrap: int,
    rng: np.random.Generator,
    cluster: bool,
    confidence: float,
    notes: list[str],
    label: str,
) -> tuple[np.ndarray, np.ndarray | None, np.ndarray | None, np.ndarray | None, Any]:
    """Point fit + bootstrap → (rating, lo, hi, sd, (coef, coef_lo, coef_hi)).

    A model with only wins or only losses against the rest (in the data or in a bootstrap round)
    has no finite rating: without a ridge it is left empty there and the others are fitted
    without it (:func:`~chatlens.ratings.bt.finite_models`). Each bootstrap round is centred
    like the point fit over the models both rate, so a round missing a model does not move
    everyone else.
    """
    point, point_out = _fit_finite(cells, cells.count, cfg)
    if point_out.any():
        names = ", ".join(repr(cells.models[i]) for i in np.flatnonzero(point_out[0])[:10])
        _warn(
            notes,
            f"{label}: the fit did not converge: {names} won or lost all their comparisons with "
            "the rest, which gives no finite maximum-likelihood rating; left empty, the others "
            "are fitted without them (pass reg > 0 to rate them).",
        )
    elif not point.converged[0]:
        _warn(notes, f"{label}: the fit did not converge in {cfg.max_iter} iterations.")
    if cfg.anchor is not None and point_out[0, cells.models.index(cfg.anchor)]:
        _warn(notes, f"{label}: the anchor {cfg.anchor!r} has no rating, so no model is placed "
                     "against it: every rating is empty (choose another anchor or pass reg > 0).")
    rating = _to_rating(point.strengths[0], cells.models, cfg)
    coef = point.coefs[0]
    if bootstrap == 0:
        return rating, None, None, None, (coef, None, None)
    samples, coef_samples, failed, partial = [], [], 0, 0
    # warm start from the full-data fit (when finite): bootstrap optima sit close to it.
    warm = None
    if point.converged[0]:
        warm = np.concatenate([np.nan_to_num(point.strengths[0]), point.coefs[0]])
    for w in bootstrap_weights(cells, bootstrap, rng, cluster=cluster):
        sol, out = _fit_finite(cells, w, cfg, start=warm)
        strengths = sol.strengths
        # centre each round over the models it shares with the point fit as the point fit is
        # centred there (a no-op when both rate every model)
        common = np.isfinite(strengths) & np.isfinite(point.strengths)
        with np.errstate(invalid="ignore"):
            shift = (np.where(common, point.strengths, 0.0).sum(axis=1)
                     - np.where(common, strengths, 0.0).sum(axis=1)) / common.sum(axis=1)
        samples.append(_to_rating(strengths + shift[:, None], cells.models, cfg))
        coef_samples.append(sol.coefs)
        failed += int((~sol.converged & ~out.any(axis=1)).sum())  # the rest are said below
        partial += int((out & ~point_out).any(axis=1).sum())
    boot = np.concatenate(samples)
    cboot = np.concatenate(coef_samples)
    if partial:
        _warn(notes, f"{label}: in {partial} of {bootstrap} bootstrap rounds a model won or lost "
                     "all its comparisons with the rest; it has no rating in those rounds.")
    if failed:
        _warn(notes, f"{label}: {failed} of {bootstrap} bootstrap fits did not converge.")
    with warnings.catch_warnings():  # a model with no rating in any round: NaN, said in notes
        warnings.simplefilter("ignore", RuntimeWarning)
        lo, hi = percentile_interval(boot, confidence)
        sd = np.nanstd(boot, axis=0, ddof=1) if boot.shape[0] > 1 else None
    clo, chi = percentile_interval(cboot, confidence) if cboot.shape[1] else (None, None)
    return rating, lo, hi, sd, (coef, clo, chi)


def rate_battles(
    battles: Battles,
    *,
    method: Method | Sequence[str] = "all",
    bootstrap: int = 100,
    seed: int = 42,
    orders: int = 500,
    confidence: float = 0.95,
    cluster: ClusterBy | None = None,
    elo: EloConfig = EloConfig(),
    bt: BTConfig = BTConfig(),
    pair_bootstrap: int = 2000,
) -> RatingResult:
    """Run the estimators on validated battles (see :func:`rate` for the parameters)."""
    methods = _methods(method)
    if bootstrap < 0 or orders < 0 or pair_bootstrap < 0:
        msg = (
            "bootstrap, orders and pair_bootstrap must be >= 0. "
            f"Got {bootstrap}, {orders}, {pair_bootstrap}."
        )
        raise InvalidParameterError(msg)
    if not 0.0 < confidence < 1.0:
        msg = f"confidence must be in (0, 1). Got {confidence} instead."
        raise InvalidParameterError(msg)
    if bt.anchor is not None and bt.anchor not in battles.models:
        msg = f"BT anchor model {bt.anchor!r} not found. Expected one of {list(battles.models)}."
        raise InvalidParameterError(msg)
    if battles.rows_used == 0:
        msg = (
            f"No usable comparisons: {battles.rows_in} rows in, {battles.rows_filtered} "
            f"filtered, {battles.rows_quarantined} quarantined."
        )
        raise InvalidParameterError(msg)
    notes: list[str] = []
    cells = build_cells(battles, covariates=False, cluster=cluster)
    tal = tally(cells)
    parts: list[pl.DataFrame] = []
    coef_rows: list[dict[str, Any]] = []
    if cluster is not None:
        no_id = battles.frame[cluster].null_count()
        if no_id:  # they were pooled without a word (half the raters missing: ~25% wider CIs)
            _warn(notes, f"{no_id:,} of {battles.rows_used:,} comparisons have no {cluster} id; the "
                         f"{cluster} bootstrap resamples them together as one cluster ('<missing>').")
    comps = components(cells)
    if len(comps) > 1:
        _warn(
            notes,
            f"The comparison graph has {len(comps)} disconnected groups of models; Elo and BT "
            "ratings are comparable only within a group: "
            + "; ".join(", ".join(c[:5]) for c in comps[:5]),
        )
    interval_kind = (
        f"{confidence:.0%} {'cluster (' + cluster + ') ' if cluster else ''}"
        f"bootstrap percentile, {bootstrap} rounds"
    )

    if "winrate" in methods:
        lo = hi = sd = None
        if bootstrap:
            # same seed as BT's bootstrap, so both use the very same resamples.
            rng = np.random.default_rng([seed, 1])
            chunks = bootstrap_weights(cells, bootstrap, rng, cluster=cluster is not None)
            wr = np.concatenate([bootstrap_win_rates(cells, w) for w in chunks])
            lo, hi = percentile_interval(wr, confidence)
            sd = np.nanstd(wr, axis=0, ddof=1) if wr.shape[0] > 1 else None
            lo, hi = _no_degenerate_intervals(cells.models, tal, lo, hi, confidence, notes)
        parts.append(
            rating_rows(cells.models, "winrate", tal.win_rate, lo, hi, sd,
                  interval_kind if lo is not None else None, tal)
        )

    if "elo" in methods:
        a, b, y = game_arrays(battles)
        m = len(battles.models)
        if orders >= 1:
            runs = elo_random_orders(
                a, b, y, m, n_orders=orders, rng=np.random.default_rng(seed), config=elo
            )
            rating = runs.mean(axis=0)
            sd = runs.std(axis=0, ddof=1) if orders > 1 else None
            lo, hi = percentile_interval(runs, confidence)
            kind = f"{confidence:.0%} spread over {orders} random orders (not a CI)"
        else:
            rating, sd, lo, hi = elo_replay(a, b, y, m, elo), None, None, None
            kind = None
        if bootstrap:
            groups = battles.frame[cluster].fill_null("<missing>").to_numpy() if cluster else None
            boot = elo_bootstrap(
                a, b, y, m, rounds=bootstrap, rng=np.random.default_rng([seed, 2]), config=elo,
                clusters=groups,
            )
            lo, hi = percentile_interval(boot, confidence)
            what = f"resampled {cluster} clusters" if cluster else "resampled games"
            kind = f"{confidence:.0%} bootstrap percentile ({what}), {bootstrap} rounds"
        # an order spread is not a CI: without a bootstrap, rank by the rating itself.
        parts.append(
            rating_rows(battles.models, "elo", rating, lo, hi, sd, kind, tal, rank_by_ci=bootstrap > 0)
        )

    if "bt" in methods:
        rng = np.random.default_rng([seed, 1])
        rating, lo, hi, sd, _ = _bt_block(
            cells, bt, bootstrap=bootstrap, rng=rng, cluster=cluster is not None,
            confidence=confidence, notes=notes, label="bt",
        )
        parts.append(rating_rows(cells.models, "bt", rating, lo, hi, sd,
                           interval_kind if lo is not None else None, tal))
        if battles.covariates:
            ccells = build_cells(battles, covariates=True, cluster=cluster)
            rating, lo, hi, sd, (coef, clo, chi) = _bt_block(
                ccells, bt, bootstrap=bootstrap, rng=np.random.default_rng([seed, 3]),
                cluster=cluster is not None, confidence=confidence, notes=notes,
                label="bt-controlled",
            )
            parts.append(rating_rows(ccells.models, "bt-controlled", rating, lo, hi, sd,
                               interval_kind if lo is not None else None, tal))
            for i, name in enumerate(ccells.covariates):
                std = battles.standardized.get(name)
                coef_rows.append({
                    "covariate": name,
                    "coef": float(coef[i]),
                    "ci_low": None if clo is None else float(clo[i]),
                    "ci_high": None if chi is None else float(chi[i]),
                    "sd_before_scaling": None if std is None else std[1],
                    "method": "bt-controlled (logit units; style features per SD)",
                })

    rate_m, count_m = pairwise_matrices(cells)
    pairs = pair_tests(battles, confidence=confidence, bootstrap=pair_bootstrap, seed=seed,
                       cluster=cluster)
    return RatingResult(
        table=pl.concat(parts) if parts else pl.DataFrame(schema=TABLE_SCHEMA),
        coefficients=pl.DataFrame(coef_rows, schema=COEF_SCHEMA),
        winrate_matrix=matrix_frame(cells.models, rate_m),
        count_matrix=matrix_frame(cells.models, count_m),
        pairs=pairs,
        quarantine=battles.quarantine,
        rows_in=battles.rows_in,
        rows_filtered=battles.rows_filtered,
        rows_used=battles.rows_used,
        rows_quarantined=battles.rows_quarantined,
        config={
            "methods": list(methods),
            "bootstrap": bootstrap,
            "seed": seed,
            "orders": orders,
            "confidence": confidence,
            "cluster": cluster,
            "elo": asdict(elo),
            "bt": asdict(bt),
            "outcome": battles.outcome_source,
            "covariates": list(battles.covariates),
        },
        notes=tuple(notes),
    )


def _methods(method: Method | Sequence[str]) -> tuple[str, ...]:
    chosen = [method] if isinstance(method, str) else list(method)
    bad = [m for m in chosen if m not in METHODS]
    if bad or not chosen:
        msg = f"method must be one of {list(METHODS)}. Got {bad or chosen!r} instead."
        raise InvalidParameterError(msg)
    if "all" in chosen:
        return ("winrate", "elo", "bt")
    return tuple(m for m in ("winrate", "elo", "bt") if m in chosen)


def rate(
    data: pl.DataFrame | str | Path,
    *,
    model_a: str = "model_a",
    model_b: str = "model_b",
    winner: str | None = None,
    score: str | None = None,
    scale: OutcomeScale | str | Path | None = None,
    keep_if: str | None = None,
    rater: str | None = None,
    prompt: str | None = None,
    position: str | None = None,
    a_side: bool = False,
    style: Sequence[tuple[str, str]] = (),
    style_transform: StyleTransform = "ratio",
    style_markdown: bool = False,
    covariates: Sequence[str] = (),
    method: Method | Sequence[str] = "all",
    bootstrap: int = 100,
    seed: int = 42,
    orders: int = 500,
    confidence: float = 0.95,
    cluster: ClusterBy | None = None,
    elo: EloConfig = EloConfig(),
    bt: BTConfig = BTConfig(),
    pair_bootstrap: int = 2000,
) -> RatingResult:
    """Rate models from pairwise comparisons: win rate, Elo and Bradley–Terry with intervals.

    Parameters
    ----------
    data
        A polars frame or a CSV / JSONL / JSON (Arena battle dump) / Parquet path.
    model_a, model_b, winner, score, scale, keep_if, rater, prompt, position, a_side, style,
    style_transform, style_markdown, covariates
        How to read the comparisons; see :func:`~chatlens.ratings.battles.prepare_battles`.
    method
        ``"winrate"``, ``"elo"``, ``"bt"`` or ``"all"`` (or a list). With covariates (position,
        a_side, style, covariates), ``bt`` also reports ``bt-controlled`` and coefficients.
    bootstrap
        Rounds for percentile intervals (0 = none). BT and win rate resample comparisons (or
        clusters); Elo resamples games and replays each resample once (Arena).
    seed
        Seed for all randomness. Elo's random orders use ``default_rng(seed)`` exactly as HAL.
    orders
        Random orders for Elo (HAL: 500); 0 replays once in the given order.
    confidence
        Interval level.
    cluster
        ``"rater"`` or ``"prompt"``: cluster bootstrap over that id column.
    elo, bt
        Estimator settings (:class:`EloConfig`, :class:`BTConfig`).
    pair_bootstrap
        Rounds for the head-to-head soft-score intervals in :attr:`RatingResult.pairs`.

    Examples
    --------
    >>> import polars as pl
    >>> df = pl.DataFrame({
    ...     "model_a": ["x", "x", "y", "z", "x", "y"],
    ...     "model_b": ["y", "z", "z", "x", "y", "x"],
    ...     "winner": ["model_a", "model_a", "tie", "model_b", "Likely A", "model_b"],
    ... })
    >>> res = rate(df, method="winrate", bootstrap=0, pair_bootstrap=0)
    >>> res.table.select("model", "rating", "games").rows()
    [('x', 0.95, 5), ('y', 0.1875, 4), ('z', 0.16666666666666666, 3)]
    """
    if isinstance(data, str | Path):
        source = str(data)
        frame = read_table(data)
    else:
        source, frame = "input frame", data
    battles = prepare_battles(
        frame,
        model_a=model_a,
        model_b=model_b,
        winner=winner,
        score=score,
        scale=scale if isinstance(scale, OutcomeScale) or scale is None else str(scale),
        keep_if=keep_if,
        rater=rater,
        prompt=prompt,
        position=position,
        a_side=a_side,
        style=style,
        style_transform=style_transform,
        style_markdown=style_markdown,
        covariates=covariates,
        source=source,
    )
    if cluster is not None and cluster not in battles.frame.columns:
        msg = (
            f"cluster={cluster!r} needs the {cluster} id column: pass {cluster}=COLUMN. "
            "Got no such column."
        )
        raise InvalidParameterError(msg)
    return rate_battles(
        battles,
        method=method,
        bootstrap=bootstrap,
        seed=seed,
        orders=orders,
        confidence=confidence,
        cluster=cluster,
        elo=elo,
        bt=bt,
        pair_bootstrap=pair_bootstrap,
    )
