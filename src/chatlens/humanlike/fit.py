"""Fitting questionnaire weights honestly (``chatlens humanlike fit``).

The HAL weights were selected on all data and validated with folds that split the two witnesses
of a game (hal.md section 7.4). Here: an L1 logistic regression on the ratings as the instrument
scores them (raw, reverse-keyed items flipped, so the weights apply as an instrument's weights
do), folds grouped by game
(``GroupKFold``), and the ``|w| > threshold`` feature selection repeated *inside* every training
fold. The reported accuracy, AUC and paired accuracy are out-of-fold; the weights written to the
YAML file come from the same procedure run once on all rows. The model is
:class:`~chatlens.humanlike.estimators.QuestionnaireClassifier`, a scikit-learn estimator; this
module adds the grouped CV, the reading of ratings and the weights file.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
from sklearn.model_selection import GroupKFold

from chatlens.errors import InvalidParameterError, MissingColumnError, SchemaError
from chatlens.humanlike.estimators import QuestionnaireClassifier
from chatlens.humanlike.instruments import Instrument, load_instrument
from chatlens.humanlike.item_scores import oriented
from chatlens.humanlike.scoring import ratings_from_column
from chatlens.humanlike.witnesses import as_bool, witness_frame
from chatlens.stats.estimate import Estimate
from chatlens.stats.metrics import accuracy, bootstrap_auc, paired_outcomes

__all__ = ["FitResult", "fit", "grouped_oof", "write_weights_yaml"]


def grouped_oof(
    x: np.ndarray,
    y: np.ndarray,
    groups: np.ndarray,
    *,
    c: float = 1.0,
    threshold: float | None = 0.2,
    n_splits: int = 10,
    seed: int = 0,
) -> tuple[np.ndarray, np.ndarray]:
    """Out-of-fold logits from grouped K-fold CV, with selection inside each training fold.

    Returns ``(oof_logit, selection_frequency)``: how often each column was kept across folds.
    """
    n_groups = len(np.unique(groups))
    k = min(n_splits, n_groups)
    if k < 2:
        msg = f"grouped CV needs at least 2 groups, got {n_groups}"
        raise InvalidParameterError(msg)
    oof = np.full(len(y), np.nan)
    freq = np.zeros(x.shape[1])
    for tr, te in GroupKFold(n_splits=k, shuffle=True, random_state=seed).split(x, y, groups):
        est = QuestionnaireClassifier(c=c, threshold=threshold, seed=seed).fit(x[tr], y[tr])
        oof[te] = est.decision_function(x[te])
        freq += est.support_
    return oof, freq / k


@dataclass(frozen=True)
class FitResult:
    """Weights fitted on all rows plus out-of-fold validation of the same procedure."""

    base_instrument: str
    keys: tuple[str, ...]
    weights: tuple[float, ...]
    bias: float
    selected: tuple[str, ...]
    accuracy: Estimate
    auc: Estimate
    paired_accuracy: Estimate
    n_rows: int
    n_groups: int
    settings: dict[str, Any] = field(default_factory=dict)
    selection_frequency: dict[str, float] = field(default_factory=dict)
    input_fingerprint: str = ""

    def summary(self) -> dict[str, Any]:
        """Plain-dict summary (for JSON output and the YAML provenance block)."""
        def est(e: Estimate) -> dict[str, Any]:
            return {"value": round(e.value, 4), "ci_low": round(e.ci_low, 4),
                    "ci_high": round(e.ci_high, 4), "n": e.n, "method": e.method}

        return {
            "cv_accuracy": est(self.accuracy), "cv_auc": est(self.auc),
            "cv_paired_accuracy": est(self.paired_accuracy), "n_rows": self.n_rows,
            "n_groups": self.n_groups, "settings": self.settings,
            "selected": list(self.selected), "input_fingerprint": self.input_fingerprint,
        }


def _prepare(frame: pl.DataFrame, ratings_column: str, label_column: str | None,
             group_column: str) -> tuple[pl.DataFrame, str, str]:
    """Accept per-witness rows or the two-witness layout (``<col>_A``/``<col>_B``)."""
    if ratings_column not in frame.columns and f"{ratings_column}_A" in frame.columns:
        frame = witness_frame(frame, ratings_column=ratings_column)
        return frame, ratings_column, label_column or "is_human"
    for col in (ratings_column, label_column or "is_human", group_column):
        if col not in frame.columns:
            msg = f"column {col!r} not found; columns are {frame.columns}"
            raise MissingColumnError(msg)
    return frame, ratings_column, label_column or "is_human"


def fit(
    frame: pl.DataFrame,
    *,
    ratings_column: str = "likert_evaluation",
    label_column: str | None = "is_human",
    group_column: str = "game_id",
    instrument: str | Path | Instrument = "hal32q",
    list_keys: str | Sequence[str] | Instrument | None = None,
    c: float = 1.0,
    threshold: float | None = 0.2,
    n_splits: int = 10,
    seed: int = 0,
) -> FitResult:
    """Fit L1-logistic weights for ``instrument``'s items with honest grouped CV.

    ``frame`` holds one row per rated speaker (ratings, label, group) or the two-witness Turing
    layout (``<ratings_column>_A``/``_B`` with ``who_is_human``), which is reshaped first.
    ``threshold`` keeps items with ``|w| > threshold`` (HAL used 0.2) inside each fold; ``None``
    keeps all items. Rows whose ratings cannot be read are excluded and counted in
    ``settings['dropped_rows']`` (the first one's reason in ``settings['first_dropped_reason']``).
    """
    if c <= 0:
        msg = f"The 'c' parameter of fit must be > 0. Got {c} instead."
        raise InvalidParameterError(msg)
    inst = load_instrument(instrument)
    frame, rcol, lcol = _prepare(frame, ratings_column, label_column, group_column)
    x, problems = ratings_from_column(frame, rcol, inst, list_keys=list_keys)
    x = oriented(x, inst)  # as score_ratings weighs them
    y = as_bool(frame.get_column(lcol), lcol)
    group = frame.get_column(group_column).cast(pl.String)
    missing = (group.is_null() | (group.str.strip_chars() == "")).arg_true()
    if len(missing):
        # the folds are grouped by it: a row without a group cannot be placed (numpy's sort of
        # a None among strings was a TypeError that named nothing)
        shown = ", ".join(str(int(i)) for i in missing[:5])
        msg = (f"column {group_column!r} is empty in {len(missing)} row(s) (0-based: {shown}"
               f"{', …' if len(missing) > 5 else ''}); expected a group id (the game or "
               "conversation the rated speaker belongs to) in every row")
        raise SchemaError(msg)
    groups = group.to_numpy()
    ok = np.isfinite(x).all(axis=1)
    dropped = int((~ok).sum())
    x, y, groups = x[ok], y[ok], groups[ok]
    if len(np.unique(y)) < 2:
        msg = f"label column {lcol!r} has a single class after reading ratings; need both"
        raise InvalidParameterError(msg)
    oof, freq = grouped_oof(x, y, groups, c=c, threshold=threshold, n_splits=n_splits, seed=seed)
    est = QuestionnaireClassifier(c=c, threshold=threshold, seed=seed).fit(x, y)
    w, b, keep = est.coef_, est.intercept_, est.support_
    ids, outcome = paired_outcomes(y, oof, groups)
    fp = hashlib.sha256(np.ascontiguousarray(x).tobytes() + y.tobytes()).hexdigest()[:16]
    keys = inst.keys
    return FitResult(
        base_instrument=inst.path if inst.path and not inst.path.startswith("<bundled>")
        else inst.name,
        keys=keys, weights=tuple(float(v) for v in w), bias=b,
        selected=tuple(k for k, kk in zip(keys, keep, strict=True) if kk),
        accuracy=accuracy(float(((oof > 0) == y).sum()), len(y)),
        auc=bootstrap_auc(y, oof, groups, seed=seed),
        paired_accuracy=accuracy(float(outcome.sum()), len(ids)),
        n_rows=len(y), n_groups=len(np.unique(groups)),
        settings={"model": "L1 logistic regression (liblinear) on raw ratings, reverse items flipped", "C": c,
                  "threshold": threshold, "n_splits": n_splits, "seed": seed,
                  "cv": "GroupKFold (shuffled), selection inside each training fold",
                  "dropped_rows": dropped,
                  "first_dropped_reason": next((why for why in problems if why), None)},
        selection_frequency={k: float(f) for k, f in zip(keys, freq, strict=True)},
        input_fingerprint=fp,
    )


def write_weights_yaml(result: FitResult, path: str | Path, *, name: str | None = None) -> Path:
    """Write the fitted instrument: the selected items with their weights and the bias, in one file.

    For a bundled base (``hal32q``) the file ``extends`` it by name, which is stable. For a
    user's instrument file the result is self-contained (the base's items, prompt and scale
    copied in, with ``source.derived_from`` naming the base and its sha256): an ``extends:``
    path would tie the weights to a file that can move, change or be deleted, and a relative
    one would resolve against whatever directory the reader runs in.
    The file loads with :func:`~chatlens.humanlike.instruments.load_instrument` and works with
    ``score`` and ``judge`` unchanged; it keeps only the selected items.
    """
    import yaml

    from chatlens import __version__, datafiles
    from chatlens.humanlike.instruments import list_instruments, resolve_extends

    base = result.base_instrument
    stem = Path(base).stem if base.endswith((".yaml", ".yml")) else base
    source: dict[str, Any] = {"fitted_by": f"chatlens {__version__}", "fit": result.summary()}
    common = {
        "name": name or f"{stem}-fit",
        "version": "1.0.0",
        "description": (f"Weights for {stem} fitted by chatlens {__version__} "
                        "(L1 logistic regression, grouped CV)."),
    }
    weights = {k: w for k, w in zip(result.keys, result.weights, strict=True) if k in result.selected}
    if base in list_instruments():
        doc = {"extends": base, **common, "source": source,
               "scoring": {"bias": result.bias, "link": "logit"}, "weights": weights}
    else:
        raw, file = datafiles.read_document(base)
        merged = dict(resolve_extends(raw, file))
        merged.setdefault("key_space", merged.get("name"))
        source["derived_from"] = {"instrument": merged.get("name"), "path": str(base),
                                  "sha256": hashlib.sha256(Path(base).read_bytes()).hexdigest(),
                                  "source": merged.get("source")}
        items = [{**it, "weight": weights[str(it.get("key"))]} for it in merged.get("items") or []
                 if str(it.get("key")) in weights]
        doc = {**merged, **common, "source": source,
               "scoring": {"bias": result.bias, "link": "logit"}, "items": items}
    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    p.write_text(yaml.safe_dump(doc, sort_keys=False, allow_unicode=True), encoding="utf-8")
    return p
