"""Binary classification metrics with the confusion matrix they come from."""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np


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
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else None

    @property
    def recall(self) -> float | None:
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else None

    @property
    def f1(self) -> float | None:
        p, r = self.precision, self.recall
        return 2 * p * r / (p + r) if p is not None and r is not None and p + r > 0 else None

    @property
    def fpr(self) -> float | None:
        """False-positive rate: flagged share of the negatives."""
        return self.fp / (self.fp + self.tn) if self.fp + self.tn else None

    @property
    def accuracy(self) -> float | None:
        return (self.tp + self.tn) / self.n if self.n else None

    def to_dict(self) -> dict[str, float | int | None]:
        """Counts plus precision, recall, F1, FPR and accuracy (rounded to 4 places)."""
        out: dict[str, float | int | None] = asdict(self)
        for name in ("precision", "recall", "f1", "fpr", "accuracy"):
            value = getattr(self, name)
            out[name] = None if value is None else round(value, 4)
        return out


def binary_metrics(gold: np.ndarray, pred: np.ndarray) -> BinaryMetrics:
    """Confusion matrix of boolean predictions against boolean gold labels."""
    g = np.asarray(gold, dtype=bool)
    p = np.asarray(pred, dtype=bool)
    return BinaryMetrics(
        n=int(len(g)),
        tp=int((g & p).sum()),
        fp=int((~g & p).sum()),
        fn=int((g & ~p).sum()),
        tn=int((~g & ~p).sum()),
    )
