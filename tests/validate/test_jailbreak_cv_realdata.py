"""Learned jailbreak tier on the real sets: validate's numbers are held out, and match the card."""

from __future__ import annotations

import json
from importlib import resources

import numpy as np
import pytest

from chatlens.validate.datasets import LabelledSet, load_all
from chatlens.validate.jailbreak_cv import build_pool, heldout_predictions, heldout_scores

pytestmark = pytest.mark.realdata


def _auc(y: np.ndarray, s: np.ndarray) -> float:
    from sklearn.metrics import roc_auc_score

    return float(roc_auc_score(y, s))


def test_toxicchat_scores_are_out_of_fold(shared_data):
    """With labels shuffled there is nothing to learn: an in-sample fit still separates them
    (it memorises), out-of-fold scores must not."""
    tc = next(s for s in load_all(shared_data)
              if s.dataset == "toxicchat-train" and s.group == "prompts")
    rng = np.random.default_rng(0)
    noise = LabelledSet(tc.dataset, tc.group, tc.task, tc.texts, rng.permutation(tc.gold), "human")
    pool = build_pool([noise])
    on = pool.screened
    oof = heldout_scores(pool, c=100.0)
    assert len({f for f in pool.fold}) == 5
    from chatlens.signals.jailbreak_learned import LearnedJailbreak

    fitted = LearnedJailbreak(C=100.0).fit_matrix(pool.x, pool.y[on], pool.names)
    assert _auc(pool.y[on], fitted.decision_matrix(pool.x)) > 0.9
    assert abs(_auc(pool.y[on], oof[on]) - 0.5) < 0.12


def test_validate_rows_are_the_data_card_numbers(shared_data):
    """validate's learned rows on the training pool are the held-out numbers of the weights file."""
    card = json.loads((resources.files("chatlens") / "data/signals/jailbreak_learned.json")
                      .read_text(encoding="utf-8"))
    sets = load_all(shared_data)
    flags = heldout_predictions(sets, shared_data)
    tc = next(s for s in sets if s.dataset == "toxicchat-train" and s.group == "prompts")
    pred = flags[("toxicchat-train", "prompts")]
    tp, fp = int((pred & tc.gold).sum()), int((pred & ~tc.gold).sum())
    held = card["heldout"]["toxicchat-train (5-fold CV)"]["learned"]
    assert tp / (tp + fp) == pytest.approx(held["precision"], abs=1e-4)
    assert fp / int((~tc.gold).sum()) == pytest.approx(held["fpr"], abs=1e-4)
    itw = next(s for s in sets if s.dataset == "jailbreak-inthewild-2023-05" and s.gold.all())
    assert flags[(itw.dataset, itw.group)].mean() == pytest.approx(
        card["heldout"]["itw"]["learned"]["recall"], abs=1e-4)
    for s in sets:  # every jailbreak slice validate prints has held-out flags of its length
        if s.task == "jailbreak":
            assert len(flags[(s.dataset, s.group)]) == s.n, (s.dataset, s.group)


def test_inthewild_rows_are_family_grouped_and_time_split(shared_data, monkeypatch):
    """validate's two extra in-the-wild rows: every prompt scored once by a model that saw no
    prompt of its family; the latest 30% by date scored by a model trained on the rest."""
    from sklearn import model_selection

    from chatlens.validate import jailbreak_cv
    from chatlens.validate.jailbreak_cv import FAMILY_CV_DETECTOR, LATEST_GROUP, heldout_rows

    seen: list[tuple[set, set]] = []
    real_split = model_selection.GroupKFold.split

    def spy(self, x, y=None, groups=None):
        for train, test in real_split(self, x, y, groups):
            g = np.asarray(groups)
            seen.append((set(g[train]), set(g[test])))
            yield train, test

    monkeypatch.setattr(model_selection.GroupKFold, "split", spy)
    sets = [s for s in load_all(shared_data) if s.task == "jailbreak"]
    _, extra = heldout_rows(sets, shared_data)
    by_name = {(s.group, name): (s, flags) for s, name, flags in extra}
    itw = next(s for s in sets if s.dataset == "jailbreak-inthewild-2023-05" and s.gold.all())
    family, fam_flags = by_name[(itw.group, FAMILY_CV_DETECTOR)]
    assert family is itw and len(fam_flags) == itw.n
    assert len(seen) == jailbreak_cv.CV_FOLDS and all(not (tr & te) for tr, te in seen)
    latest, late_flags = by_name[(LATEST_GROUP, "learned")]
    assert latest.n == len(late_flags) == itw.n - int(itw.n * jailbreak_cv.TIME_TRAIN_SHARE)
    assert latest.gold.all() and 0.5 < late_flags.mean() <= 1.0
