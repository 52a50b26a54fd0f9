"""Out-of-sample predictions of the learned reaction classifier on the real labelled set.

Why: the shipped reaction model (:mod:`chatlens.features.reaction_model`) is trained on the real
development set's reactions, so its in-sample numbers there say nothing. Two estimates are made
instead, by the training script (for the data card) and by ``chatlens validate``:

* grouped cross-validation by conversation (no conversation in both the training and test folds);
* leave-one-source-out: a model trained without LMSYS / ShareGPT / HH-RLHF / DICES predicts that
  source — the forecast for a new user's log, which is a new source.
"""

from __future__ import annotations

import numpy as np
import polars as pl

from chatlens.errors import InvalidParameterError
from chatlens.validate.real import REACTION_CLASSES

FOLDS = 5


def reaction_rows(frame: pl.DataFrame) -> pl.DataFrame:
    """The rows the reaction model is trained and scored on: gold refusals with a labelled
    reaction other than ``unclear`` (from :func:`chatlens.validate.real.labelled_set`)."""
    return frame.filter(pl.col("refused") & pl.col("reaction").is_not_null()
                        & pl.col("reaction").is_in(list(REACTION_CLASSES)))


def _conversations(frame: pl.DataFrame) -> np.ndarray:
    return (frame["file"] + "|" + frame["conversation_id"]).to_numpy()


def _model_input(frame: pl.DataFrame) -> pl.DataFrame:
    # the model sees what it sees in a user's file: refusal type from the rule tier, not gold
    return frame.select("request", "response", "followup")


def _heldout(frame: pl.DataFrame, splits: list[tuple[np.ndarray, np.ndarray]], c: float,
             *, calibrate: bool = True) -> tuple[np.ndarray, np.ndarray]:
    from chatlens.features.reaction_model import CLASSES, ReactionModel, featurize, rule_labels

    x = featurize(_model_input(frame))
    y = frame["reaction"].to_numpy()
    groups = _conversations(frame)
    rules = rule_labels(frame)
    labels = np.empty(frame.height, dtype=object)
    proba = np.zeros((frame.height, len(CLASSES)))
    for train, test in splits:
        m = ReactionModel(C=c, calibrate=calibrate).fit_matrix(x[train], y[train], groups[train])
        p = m.proba_matrix(x[test])
        labels[test] = m.labels(p, rules[test])
        proba[np.ix_(test, [CLASSES.index(k) for k in m.classes_])] = p
    return labels, proba


def grouped_cv(frame: pl.DataFrame, *, c: float = 3.0, calibrate: bool = True,
               ) -> tuple[np.ndarray, np.ndarray]:
    """Out-of-fold labels and probabilities (columns in ``CLASSES`` order), 5 folds grouped by
    conversation, for the rows of ``frame`` (already :func:`reaction_rows`). Without
    ``calibrate`` the probabilities are not temperature-scaled (labels are the same: scaling
    keeps the argmax), which saves the nested folds."""
    from sklearn.model_selection import GroupKFold

    y = frame["reaction"].to_numpy()
    splits = list(GroupKFold(FOLDS).split(np.zeros(len(y)), y, _conversations(frame)))
    return _heldout(frame, splits, c, calibrate=calibrate)


def leave_one_source_out(frame: pl.DataFrame, *, c: float = 3.0, calibrate: bool = True,
                         ) -> tuple[np.ndarray, np.ndarray]:
    """Labels and probabilities of each source's rows from a model trained on the other sources."""
    src = frame["source"].to_numpy()
    splits = [(np.flatnonzero(src != s), np.flatnonzero(src == s)) for s in np.unique(src)]
    return _heldout(frame, splits, c, calibrate=calibrate)


def _check_rows(frame: pl.DataFrame, caller: str) -> None:
    if reaction_rows(frame).height != frame.height:
        msg = (f"{caller} scores exactly the rows it is given: pass gold refusals with a "
               "labelled reaction other than unclear (chatlens.validate.reaction_cv.reaction_rows).")
        raise InvalidParameterError(msg)


def reaction_learned_oof(frame: pl.DataFrame) -> np.ndarray:
    """``chatlens validate``'s "learned" reaction detector: grouped-CV out-of-fold labels (the
    frame passed in is the one evaluated, so no row is predicted by a model that saw it)."""
    _check_rows(frame, "reaction_learned_oof")
    return grouped_cv(frame, calibrate=False)[0]


def reaction_learned_loso(frame: pl.DataFrame) -> np.ndarray:
    """``chatlens validate``'s "learned (leave-source-out)" reaction detector: each source's rows
    labelled by a model trained on the other sources — the forecast for a new user's log."""
    _check_rows(frame, "reaction_learned_loso")
    return leave_one_source_out(frame, calibrate=False)[0]
