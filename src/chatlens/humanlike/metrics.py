"""Classification metrics with confidence intervals for human-vs-AI judges.

Why these: a Turing-test judge is read three ways. *Per-witness accuracy* (is this witness
human? threshold the logit at 0) and *AUC* (ranking quality, threshold-free) treat witnesses as
independent; *paired accuracy* asks the interrogator's question (which of A and B is the human?)
and is what the human interrogators' accuracy compares with. Intervals: Wilson score intervals
for proportions; a cluster bootstrap over games (both witnesses of a game resampled together)
for the AUC, because the two witnesses of one game are not independent.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy.stats import norm

__all__ = ["Estimate", "auc", "bootstrap_auc", "paired_outcomes", "wilson"]


@dataclass(frozen=True)
class Estimate:
    """A point estimate with its confidence interval, sample size and method."""

    value: float
    ci_low: float
    ci_high: float
    n: int
    method: str

    def fmt(self, digits: int = 3) -> str:
        """``0.853 [0.81, 0.89] (n=286)``."""
        if math.isnan(self.value):
            return "n/a"
        return (f"{self.value:.{digits}f} [{self.ci_low:.{digits}f}, {self.ci_high:.{digits}f}]"
                f" (n={self.n})")


def wilson(successes: float, n: int, *, level: float = 0.95) -> Estimate:
    """Proportion with a Wilson score interval (``successes`` may be fractional, ties as 0.5)."""
    if n <= 0:
        return Estimate(float("nan"), float("nan"), float("nan"), 0, "wilson")
    z = float(norm.ppf(0.5 + level / 2))
    p = successes / n
    denom = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    return Estimate(p, max(0.0, centre - half), min(1.0, centre + half), n, f"wilson {level:.0%}")


def auc(y: np.ndarray, s: np.ndarray) -> float:
    """Area under the ROC curve via the rank statistic (ties count one half)."""
    y = np.asarray(y, dtype=bool)
    s = np.asarray(s, dtype=np.float64)
    ok = np.isfinite(s)
    y, s = y[ok], s[ok]
    n1, n0 = int(y.sum()), int((~y).sum())
    if n1 == 0 or n0 == 0:
        return float("nan")
    from scipy.stats import rankdata

    r = rankdata(s)
    return float((r[y].sum() - n1 * (n1 + 1) / 2) / (n1 * n0))


def bootstrap_auc(
    y: np.ndarray,
    s: np.ndarray,
    groups: np.ndarray,
    *,
    n_boot: int = 1000,
    level: float = 0.95,
    seed: int = 0,
) -> Estimate:
    """AUC with a percentile cluster-bootstrap interval (games resampled with replacement)."""
    y = np.asarray(y, dtype=bool)
    s = np.asarray(s, dtype=np.float64)
    point = auc(y, s)
    uniq, inv = np.unique(np.asarray(groups), return_inverse=True)
    rng = np.random.default_rng(seed)
    members = [np.flatnonzero(inv == g) for g in range(len(uniq))]
    stats = []
    for _ in range(n_boot):
        pick = rng.integers(0, len(uniq), len(uniq))
        idx = np.concatenate([members[g] for g in pick])
        v = auc(y[idx], s[idx])
        if not math.isnan(v):
            stats.append(v)
    if not stats:
        return Estimate(point, float("nan"), float("nan"), len(y), "cluster bootstrap")
    lo, hi = np.quantile(stats, [(1 - level) / 2, 1 - (1 - level) / 2])
    return Estimate(point, float(lo), float(hi), len(y),
                    f"cluster bootstrap over games, {n_boot} reps, {level:.0%} percentile")


def paired_outcomes(
    y: np.ndarray, s: np.ndarray, groups: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Per game with exactly one human and one AI witness: 1 if the human scores higher.

    Returns ``(group_ids, outcome)``; a tie scores 0.5, a game with a missing score is left out.
    """
    y = np.asarray(y, dtype=bool)
    s = np.asarray(s, dtype=np.float64)
    g = np.asarray(groups)
    order = np.argsort(g, kind="stable")
    g, y, s = g[order], y[order], s[order]
    uniq, start, counts = np.unique(g, return_index=True, return_counts=True)
    sel = counts == 2
    a, b = start[sel], start[sel] + 1
    valid = (y[a] != y[b]) & np.isfinite(s[a]) & np.isfinite(s[b])
    a, b, ids = a[valid], b[valid], uniq[sel][valid]
    human = np.where(y[a], a, b)
    ai = np.where(y[a], b, a)
    out = np.where(s[human] > s[ai], 1.0, np.where(s[human] == s[ai], 0.5, 0.0))
    return ids, out
