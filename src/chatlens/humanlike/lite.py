"""HL-lite: a human-likeness judge that needs no LLM.

Why: every HAL score costs a reasoning-model call (30-60 s). Many of the traits the HAL judges
reward are visible in the text itself. HL-lite measures them on the rated speaker's turns with
vectorised polars string expressions and combines them with a transparent model (standardised
features, logistic regression) whose weights ship as a data file. The pieces, one job each:

* :mod:`~chatlens.humanlike.lite_lexicons` — the word lists (``data/humanlike/lexicons.yaml``);
* :mod:`~chatlens.humanlike.turns` — the rated speaker's turns in transcripts and role lists;
* :mod:`~chatlens.humanlike.lite_features` — the :data:`FEATURES` per input row;
* :mod:`~chatlens.humanlike.lite_model` — the fitted model and its weights file
  (``data/humanlike/hllite-weights.yaml``);
* :class:`~chatlens.humanlike.estimators.LiteClassifier` — the model as a scikit-learn estimator;
* this module — training with grouped CV (:func:`train_lite`, :func:`cross_validate_lite`) and
  scoring tables (:func:`lite_score`); it also re-exports the names above, the HL-lite API in one
  import.

Regenerate the shipped weights with ``scripts/train_hllite.py`` (it calls :func:`train_lite`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

from chatlens.errors import InvalidParameterError, MissingColumnError
from chatlens.humanlike.lite_features import FEATURES, lite_features
from chatlens.humanlike.lite_lexicons import Lexicons, load_lexicons
from chatlens.humanlike.lite_model import LiteModel, load_lite_model, save_lite_model
from chatlens.humanlike.turns import speaker_turns
from chatlens.humanlike.witnesses import as_bool

__all__ = [
    "FEATURES",
    "Lexicons",
    "LiteModel",
    "cross_validate_lite",
    "lite",
    "lite_features",
    "lite_score",
    "load_lexicons",
    "load_lite_model",
    "save_lite_model",
    "speaker_turns",
    "train_lite",
]


def _training_matrix(frame: pl.DataFrame, *, text_column: str, speaker: str, label_column: str,
                     group_column: str) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Features, labels, groups and the rows with every feature defined (a speaker turn)."""
    for col in (label_column, group_column):
        if col not in frame.columns:
            msg = f"column {col!r} not found; columns are {frame.columns}"
            raise MissingColumnError(msg)
    feats = lite_features(frame, text_column=text_column, speaker=speaker)
    x = feats.select(FEATURES).to_numpy().astype(np.float64)
    ok = np.isfinite(x).all(axis=1)
    y = as_bool(frame.get_column(label_column), label_column)
    g = frame.get_column(group_column).cast(pl.String).to_numpy()
    return x, y, g, ok


def _classifier(*, c: float, l1: bool, seed: int) -> Any:
    """A fresh :class:`~chatlens.humanlike.estimators.LiteClassifier` (scikit-learn loads here,
    not when a table is only scored)."""
    from chatlens.humanlike.estimators import LiteClassifier

    return LiteClassifier(c=c, l1=l1, seed=seed, feature_names=FEATURES)


def _out_of_fold(x: np.ndarray, y: np.ndarray, g: np.ndarray, ok: np.ndarray, *, c: float,
                 l1: bool, n_splits: int, seed: int) -> np.ndarray:
    """Grouped K-fold logits for the ``ok`` rows (NaN elsewhere), a fresh model per fold."""
    from sklearn.model_selection import GroupKFold

    oof = np.full(len(y), np.nan)
    idx = np.flatnonzero(ok)
    k = min(n_splits, len(np.unique(g[idx])))
    for tr, te in GroupKFold(n_splits=k, shuffle=True, random_state=seed).split(
        x[idx], y[idx], g[idx]
    ):
        est = _classifier(c=c, l1=l1, seed=seed).fit(x[idx[tr]], y[idx[tr]])
        oof[idx[te]] = est.decision_function(x[idx[te]])
    return oof


def cross_validate_lite(
    frame: pl.DataFrame,
    *,
    text_column: str = "transcript",
    speaker: str = "W",
    label_column: str = "is_human",
    group_column: str = "game_id",
    c: float = 0.3,
    l1: bool = False,
    n_splits: int = 10,
    seed: int = 0,
) -> np.ndarray:
    """Out-of-fold HL-lite logits with folds grouped by ``group_column`` (fixed hyper-parameters).

    Standardisation and the regression are fitted inside each training fold only. Rows without
    a speaker turn get NaN.
    """
    x, y, g, ok = _training_matrix(frame, text_column=text_column, speaker=speaker,
                                   label_column=label_column, group_column=group_column)
    return _out_of_fold(x, y, g, ok, c=c, l1=l1, n_splits=n_splits, seed=seed)


def train_lite(
    frame: pl.DataFrame,
    *,
    text_column: str = "transcript",
    speaker: str = "W",
    label_column: str = "is_human",
    group_column: str = "game_id",
    c: float = 0.3,
    l1: bool = False,
    n_splits: int = 10,
    seed: int = 0,
    info: dict[str, Any] | None = None,
) -> LiteModel:
    """Fit HL-lite on labelled dialogues; the grouped-CV AUC is recorded in ``model.info``.

    Hyper-parameters are fixed (default L2, C=0.3), never tuned on the evaluation folds.
    """
    from chatlens import __version__
    from chatlens.stats.metrics import accuracy, bootstrap_auc, paired_outcomes

    x, y, g, ok = _training_matrix(frame, text_column=text_column, speaker=speaker,
                                   label_column=label_column, group_column=group_column)
    oof = _out_of_fold(x, y, g, ok, c=c, l1=l1, n_splits=n_splits, seed=seed)
    a = bootstrap_auc(y[ok], oof[ok], g[ok], seed=seed)
    ids, outcome = paired_outcomes(y, oof, g)
    pacc = accuracy(float(outcome.sum()), len(ids))
    model = _classifier(c=c, l1=l1, seed=seed).fit(x[ok], y[ok]).model_
    lex = load_lexicons()
    meta = {
        "trained_by": f"chatlens {__version__} (chatlens.humanlike.lite.train_lite)",
        "lexicons": f"{lex.name} {lex.version}",
        "model": {"type": "standardised logistic regression", "penalty": "l1" if l1 else "l2",
                  "C": c},
        "training_rows": int(ok.sum()),
        "training_groups": int(len(np.unique(g[ok]))),
        "cv": {"method": f"GroupKFold({n_splits}, shuffled, seed {seed}) by {group_column}",
               "auc": round(a.value, 4), "auc_ci": [round(a.ci_low, 4), round(a.ci_high, 4)],
               "paired_accuracy": round(pacc.value, 4), "paired_n": pacc.n},
        **(info or {}),
    }
    return LiteModel(model.features, model.mean, model.scale, model.weights, model.intercept,
                     info=meta)


def lite_score(
    frame: pl.DataFrame,
    *,
    text_column: str,
    speaker: str = "W",
    model: LiteModel | str | Path | None = None,
    keep_features: bool = False,
    batch_size: int = 200_000,
) -> pl.DataFrame:
    """Add ``hl_lite_logit``, ``hl_lite_prob`` and ``hl_lite_n_turns`` (and features if asked).

    Rows are processed in slices of ``batch_size`` so memory stays bounded on large logs.

    Examples
    --------
    >>> df = pl.DataFrame({"t": [
    ...     "I: where u from\\nW: ohio lol\\nI: cool\\nW: ya its cold af rn",
    ...     "I: where are you from?\\nW: I'm from California! How about you?",
    ... ]})
    >>> out = lite_score(df, text_column="t", speaker="W")
    >>> out["hl_lite_logit"][0] > out["hl_lite_logit"][1]
    True
    """
    m = model if isinstance(model, LiteModel) else load_lite_model(model)
    if batch_size < 1:
        msg = f"The 'batch_size' parameter of lite_score must be >= 1. Got {batch_size} instead."
        raise InvalidParameterError(msg)
    if frame.height > batch_size:
        return pl.concat([
            lite_score(frame.slice(i, batch_size), text_column=text_column, speaker=speaker,
                       model=m, keep_features=keep_features, batch_size=batch_size)
            for i in range(0, frame.height, batch_size)
        ])
    feats = lite_features(frame, text_column=text_column, speaker=speaker)
    x = feats.select(m.features).to_numpy().astype(np.float64)
    logit = m.decision(x)
    with np.errstate(over="ignore"):
        prob = 1.0 / (1.0 + np.exp(-logit))
    extra = feats if keep_features else feats.select("hl_lite_n_turns")
    # columns of an earlier run are replaced, as judge and score do (a horizontal concat
    # stopped a rerun on its own output with polars' DuplicateError)
    return frame.with_columns(
        *extra.get_columns(),
        pl.Series("hl_lite_logit", logit).fill_nan(None),
        pl.Series("hl_lite_prob", prob).fill_nan(None),
    )


def lite(
    frame: pl.DataFrame,
    *,
    text_column: str,
    speaker: str = "W",
    model: LiteModel | str | Path | None = None,
    keep_features: bool = False,
) -> pl.DataFrame:
    """The ``chatlens humanlike lite`` command as a function (alias of :func:`lite_score`)."""
    return lite_score(frame, text_column=text_column, speaker=speaker, model=model,
                      keep_features=keep_features)
