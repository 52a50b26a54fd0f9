"""Pairwise significance: is model X preferred to model Y?

Two complementary answers for one pair:

* the **exact sign test** on strict outcomes (ties dropped): wins ~ Binomial(wins + losses, ½),
  with a Clopper–Pearson interval on X's share of decisive games;
* the **mean soft score** of X against Y (ties and "likely" answers count fractionally) with a
  percentile bootstrap interval, resampling comparisons or, when raters (or prompts) repeat,
  whole clusters, since a rater's answers are not independent.

HAL reports 61/41/6 for HAL-Qwen vs base Qwen: sign-test p = 0.059.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
import polars as pl
from scipy import stats

from chatlens.errors import InvalidParameterError
from chatlens.ratings.battles import Battles
from chatlens.ratings.bootstrap import percentile_interval


@dataclass(frozen=True)
class PairTest:
    """Head-to-head result of ``model_x`` against ``model_y`` (scores from X's side)."""

    model_x: str
    model_y: str
    n: int
    wins: int
    losses: int
    ties: int
    soft_score: float
    soft_ci_low: float
    soft_ci_high: float
    win_share: float
    win_share_ci_low: float
    win_share_ci_high: float
    p_value: float
    confidence: float
    method: str


def _soft_interval(
    s: np.ndarray,
    clusters: np.ndarray | None,
    rounds: int,
    rng: np.random.Generator,
    confidence: float,
) -> tuple[float, float]:
    n = s.shape[0]
    # identical scores (every game won, or lost) resample to themselves: a zero-width interval
    # would claim a certainty the data do not give (the Clopper-Pearson share says how little)
    if rounds == 0 or n < 2 or np.ptp(s) == 0:
        return float("nan"), float("nan")
    if clusters is None:
        idx = rng.integers(0, n, size=(rounds, n))
        means = s[idx].mean(axis=1)
    else:
        uniq, cid = np.unique(clusters, return_inverse=True)
        g = uniq.shape[0]
        sums = np.bincount(cid, s, g)
        counts = np.bincount(cid, minlength=g).astype(np.float64)
        mult = rng.multinomial(g, np.full(g, 1.0 / g), size=rounds)
        with np.errstate(invalid="ignore", divide="ignore"):
            means = (mult @ sums) / (mult @ counts)
    lo, hi = percentile_interval(means[:, None], confidence)
    return float(lo[0]), float(hi[0])


def pair_test(
    battles: Battles,
    model_x: str,
    model_y: str,
    *,
    confidence: float = 0.95,
    bootstrap: int = 2000,
    seed: int = 0,
    cluster: str | None = None,
) -> PairTest:
    """Exact sign test and soft-score bootstrap CI for one pair of models.

    Parameters
    ----------
    battles
        Validated battles.
    model_x, model_y
        The two models; scores are reported from ``model_x``'s side.
    confidence
        Level of both intervals.
    bootstrap
        Rounds for the soft-score interval (0 = no interval).
    seed
        Seed of ``numpy.random.default_rng``.
    cluster
        ``"rater"`` or ``"prompt"``: resample that column's clusters instead of comparisons.
    """
    for name in (model_x, model_y):
        if name not in battles.models:
            msg = f"Model {name!r} not found in the battles. Expected one of {list(battles.models)}."
            raise InvalidParameterError(msg)
    if cluster is not None and cluster not in battles.frame.columns:
        msg = f"cluster column {cluster!r} was not kept; pass rater=/prompt= to prepare_battles."
        raise InvalidParameterError(msg)
    f = battles.frame
    fwd = (pl.col("model_a") == model_x) & (pl.col("model_b") == model_y)
    rev = (pl.col("model_a") == model_y) & (pl.col("model_b") == model_x)
    sub = f.filter(fwd | rev).with_columns(
        pl.when(fwd).then(pl.col("score")).otherwise(1.0 - pl.col("score")).alias("s")
    )
    clusters = sub[cluster].fill_null("<missing>").to_numpy() if cluster else None
    return _test(
        model_x, model_y, sub["s"].to_numpy().astype(np.float64), clusters,
        confidence=confidence, bootstrap=bootstrap, seed=seed, cluster=cluster,
    )


def _test(
    model_x: str,
    model_y: str,
    s: np.ndarray,
    clusters: np.ndarray | None,
    *,
    confidence: float,
    bootstrap: int,
    seed: int,
    cluster: str | None,
) -> PairTest:
    wins, losses = int((s > 0.5).sum()), int((s < 0.5).sum())
    ties = int(s.shape[0] - wins - losses)
    decisive = wins + losses
    if decisive:
        test = stats.binomtest(wins, decisive, 0.5)
        ci = test.proportion_ci(confidence_level=confidence, method="exact")
        p, share, lo, hi = test.pvalue, wins / decisive, ci.low, ci.high
    else:
        p = share = lo = hi = float("nan")
    rng = np.random.default_rng(seed)
    slo, shi = _soft_interval(s, clusters, bootstrap, rng, confidence)
    how = f"cluster bootstrap by {cluster}" if cluster else "bootstrap over comparisons"
    return PairTest(
        model_x=model_x,
        model_y=model_y,
        n=int(s.shape[0]),
        wins=wins,
        losses=losses,
        ties=ties,
        soft_score=float(s.mean()) if s.size else float("nan"),
        soft_ci_low=slo,
        soft_ci_high=shi,
        win_share=float(share),
        win_share_ci_low=float(lo),
        win_share_ci_high=float(hi),
        p_value=float(p),
        confidence=confidence,
        method=f"exact sign test (ties dropped), Clopper-Pearson; soft score {how}",
    )


def pair_tests(
    battles: Battles,
    *,
    confidence: float = 0.95,
    bootstrap: int = 2000,
    seed: int = 0,
    cluster: str | None = None,
    max_models: int = 30,
) -> pl.DataFrame:
    """:func:`pair_test` for every pair of models that met (one row per pair, X < Y by name).

    Skipped (an empty frame) above ``max_models`` models, where the number of pairs explodes.
    """
    if len(battles.models) > max_models or battles.frame.height == 0:
        return pl.DataFrame()
    if cluster is not None and cluster not in battles.frame.columns:
        msg = f"cluster column {cluster!r} was not kept; pass rater=/prompt= to prepare_battles."
        raise InvalidParameterError(msg)
    swap = pl.col("model_a") > pl.col("model_b")
    frame = battles.frame.with_columns(
        pl.when(swap).then(pl.col("model_b")).otherwise(pl.col("model_a")).alias("_x"),
        pl.when(swap).then(pl.col("model_a")).otherwise(pl.col("model_b")).alias("_y"),
        pl.when(swap).then(1.0 - pl.col("score")).otherwise(pl.col("score")).alias("_s"),
    )
    rows = []
    groups = frame.partition_by(["_x", "_y"], as_dict=True, maintain_order=False)
    for (x, y), sub in sorted(groups.items()):
        clusters = sub[cluster].fill_null("<missing>").to_numpy() if cluster else None
        res = _test(
            str(x), str(y), sub["_s"].to_numpy().astype(np.float64), clusters,
            confidence=confidence, bootstrap=bootstrap, seed=seed, cluster=cluster,
        )
        rows.append(asdict(res))
    return pl.DataFrame(rows)
