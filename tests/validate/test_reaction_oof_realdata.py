"""``chatlens validate``'s learned reaction rows are out-of-fold (grouped by conversation), never
in-sample: every row is predicted once, by a model whose training folds hold none of its
conversation, and the printed numbers are those predictions' numbers."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest
from sklearn.metrics import f1_score

import chatlens.validate.reaction_cv as rcv
from chatlens.validate.real import REACTION_CLASSES, labelled_set
from chatlens.validate.run import _real

pytestmark = pytest.mark.realdata


@pytest.fixture(scope="module")
def rows(shared_data) -> pl.DataFrame:
    return rcv.reaction_rows(labelled_set(shared_data))


def test_validate_rows_come_from_disjoint_conversation_folds(shared_data, rows, monkeypatch):
    calls: list[list[tuple[np.ndarray, np.ndarray]]] = []
    heldout = rcv._heldout

    def spy(frame, splits, c, **kw):
        calls.append(list(splits))
        return heldout(frame, splits, c, **kw)

    import chatlens.validate.overturned as ovt

    monkeypatch.setattr(rcv, "_heldout", spy)
    monkeypatch.setattr(ovt, "evaluate_overturned", lambda *args: pl.DataFrame())
    report, _ = _real(labelled_set(shared_data), None, shared_data)
    assert report is not None
    conv = (rows["file"] + "|" + rows["conversation_id"]).to_numpy()
    src = rows["source"].to_numpy()
    cv, loso = calls  # grouped CV, then leave one source out
    assert len(cv) == rcv.FOLDS
    assert len(loso) == len(np.unique(src))
    for splits in (cv, loso):
        tested = np.concatenate([test for _, test in splits])
        assert sorted(tested.tolist()) == list(range(rows.height))  # each row predicted once
        for train, test in splits:
            assert not set(conv[train]) & set(conv[test])
    for train, test in loso:
        assert not set(src[train]) & set(src[test])

    learned = report.reaction.filter((pl.col("detector") == "learned (cv)") & (pl.col("group") == "all"))
    oof, _ = rcv.grouped_cv(rows, calibrate=False)
    gold = rows["reaction"].to_numpy()
    present = [c for c in REACTION_CLASSES if (gold == c).any()]
    expected = f1_score(gold, oof, labels=present, average="macro")
    assert learned["macro_f1"][0] == pytest.approx(expected, abs=1e-4)


def test_out_of_fold_is_below_in_sample(rows):
    from chatlens.features.reaction_model import ReactionModel

    gold = rows["reaction"].to_numpy()
    present = [c for c in REACTION_CLASSES if (gold == c).any()]
    inputs = rows.select("request", "response", "followup")
    in_sample = ReactionModel(calibrate=False).fit(inputs, gold).predict(inputs)
    oof, _ = rcv.grouped_cv(rows, calibrate=False)
    assert f1_score(gold, oof, labels=present, average="macro") < \
        f1_score(gold, in_sample, labels=present, average="macro") - 0.1
