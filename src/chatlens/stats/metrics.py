"""Classification metrics: confusion counts, precision/recall/F1, accuracy, AUC, paired outcomes.

Why one module: detector validation (``chatlens validate``), the demo corpus's truth agreement,
the features layer's label metrics and the human-likeness judges all score predictions against
gold labels. They share one convention for a rate whose denominator is zero: it is **undefined**,
``None`` in Python and null in a polars column — never NaN, which would poison a mean, and never
0, which would read as a measured failure. F1 is undefined when there is no true positive (then
precision or recall is 0 or undefined).

A Turing-test judge is read three ways. *Per-witness accuracy* (is this witness human? threshold
the logit at 0) and *AUC* (ranking quality, threshold-free) treat witnesses as independent;
*paired accuracy* asks the interrogator's question (which of A and B is the human?). Intervals:
Wilson score intervals for shares (:func:`accuracy`, ties counting one half); a cluster bootstrap
over games for the AUC, because the two witnesses of one game are not independent.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, replace

import numpy as np
import polars as pl

from chatlens.stats.estimate import Estimate
from chatlens.stats.proportions import proportion

__all__ = [
    "BinaryMetrics",
    "accuracy",
    "auc",
    "binary_metrics",
    "bootstrap_auc",
    "paired_outcomes",
    "per_label_metrics",
]


@dataclass(frozen=True)
class BinaryMetrics:
    """Confusion matrix and the rates derived from it (``None`` where undefined)."""

    n: int
    tp: int
    fp: int
    fn: int
    tn: int

    @property
    def precision(self) -> float | None:
        """Share of flagged items that are positive."""
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else None

    @property
    def recall(self) -> float | None:
        """Share of positives that are flagged."""
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else None

    @property
    def f1(self) -> float | None:
        """Harmonic mean of precision and recall; undefined without a true positive."""
        p, r = self.precision, self.recall
        return 2 * p * r / (p + r) if p is not None and r is not None and p + r > 0 else None

    @property
    def fpr(self) -> float | None:
        """False-positive rate: flagged share of the negatives."""
        return self.fp / (self.fp + self.tn) if self.fp + self.tn else None

    @property
    def accuracy(self) -> float | None:
        """Share of items classified correctly."""
        return (self.tp + self.tn) / self.n if self.n else None

    def to_dict(self) -> dict[str, float | int | None]:
        """Counts plus precision, recall, F1, FPR and accuracy (rounded to 4 places)."""
        out: dict[str, float | int | None] = asdict(self)
        for name in ("precision", "recall", "f1", "fpr", "accuracy"):
            value = getattr(self, name)
            out[name] = None if value is None else round(value, 4)
        return out


def binary_metrics(gold: object, pred: object) -> BinaryMetrics:
    """Confusion matrix of boolean predictions against boolean gold labels.

    Examples
    --------
    >>> m = binary_metrics([True, True, False, False], [True, False, False, False])
    >>> (m.tp, m.fn, m.precision, m.recall)
    (1, 1, 1.0, 0.5)
    >>> binary_metrics([False], [False]).precision is None
    True
    """
    g = np.asarray(gold, dtype=bool)
    p = np.asarray(pred, dtype=bool)
    return BinaryMetrics(
        n=int(len(g)),
        tp=int((g & p).sum()),
        fp=int((~g & p).sum()),
        fn=int((g & ~p).sum()),
        tn=int((~g & ~p).sum()),
    )


def per_label_metrics(truth: pl.Series, pred: pl.Series, labels: list[str]) -> pl.DataFrame:
    """Precision, recall, F1 and support per label, one-vs-rest (a null prediction is wrong).

    Undefined rates are null (see the module docstring).

    Examples
    --------
    >>> m = per_label_metrics(pl.Series(["a", "a", "b"]), pl.Series(["a", None, "a"]), ["a", "b"])
    >>> m.rows()
    [('a', 0.5, 0.5, 0.5, 2), ('b', None, 0.0, None, 1)]
    """
    t = truth.cast(pl.String)
    p = pred.cast(pl.String)
    rows = []
    for lab in labels:
        m = binary_metrics((t == lab).fill_null(value=False).to_numpy(),
                           (p == lab).fill_null(value=False).to_numpy())
        rows.append({"label": lab, "precision": m.precision, "recall": m.recall, "f1": m.f1,
                     "support": m.tp + m.fn})
    return pl.DataFrame(rows, schema={"label": pl.String, "precision": pl.Float64,
                                      "recall": pl.Float64, "f1": pl.Float64, "support": pl.Int64})


def accuracy(successes: float, n: int, *, confidence: float = 0.95) -> Estimate:
    """A share of correct calls with its Wilson interval; ``successes`` may count ties as 0.5.

    The method reads ``"wilson 95%"`` (the level in the label, as judge tables print it); with
    ``n = 0`` the value and bounds are NaN.

    Examples
    --------
    >>> e = accuracy(8, 10)
    >>> e.value, round(e.ci_low, 3), e.method
    (0.8, 0.49, 'wilson 95%')
    """
    est = proportion(successes, n, method="wilson", confidence=confidence,  # type: ignore[arg-type]
                     allow_fractional=True)
    return replace(est, method=f"wilson {confidence:.0%}") if n > 0 else est


def auc(y: np.ndarray, s: np.ndarray) -> float:
    """Area under the ROC curve via the rank statistic (ties count one half; NaN scores dropped).

    Examples
    --------
    >>> auc(np.array([1, 1, 0], bool), np.array([0.9, 0.2, 0.5]))
    0.5
    """
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
    if len(uniq) == 0:  # nothing scored (np.concatenate of no game raised ValueError)
        return Estimate(point, float("nan"), float("nan"), 0, "cluster bootstrap",
                        confidence=level)
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
        return Estimate(point, float("nan"), float("nan"), len(y), "cluster bootstrap",
                        confidence=level)
    lo, hi = np.quantile(stats, [(1 - level) / 2, 1 - (1 - level) / 2])
    return Estimate(point, float(lo), float(hi), len(y),
                    f"cluster bootstrap over games, {n_boot} reps, {level:.0%} percentile",
                    confidence=level)


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
