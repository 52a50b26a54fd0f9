"""Training pool and held-out evaluation of the learned refusal tier.

Why here (not in ``signals``): training needs the labelled sets, which only the validation layer
reads. The same functions train the shipped weights (``scripts/train_refusal_learned.py``) and
produce the held-out predictions ``chatlens validate`` reports for the learned tier: every
training group (an XSTest model, an RBR split, a JailbreakBench target model) is predicted by a
model fitted on the *other* groups only — leave-one-group-out across sets and models (the two
RBR splits come from one source, so they are held out together).
"""

from __future__ import annotations

from collections.abc import Collection, Sequence

import numpy as np
import polars as pl

from chatlens.validate.datasets import LabelledSet

#: Sets whose refusal labels are good enough to train on (human, or silver for JailbreakBench).
#: gptfuzz is left out: its label 0 mixes refusals with non-answering role-play.
TRAIN_DATASETS = ("xstest-dev", "openai-rbr-gold", "jailbreakbench-artifacts")
DEFAULT_C = 0.5
#: Sets whose groups are splits of one source (not different models): held out as a whole.
WHOLE_SET_FOLDS = ("openai-rbr-gold",)


def _fold(s: LabelledSet) -> str:
    return s.dataset if s.dataset in WHOLE_SET_FOLDS else f"{s.dataset}/{s.group}"


def training_pool(sets: Sequence[LabelledSet]) -> list[LabelledSet]:
    """The refusal slices used for training, in a stable order."""
    return [s for s in sets if s.task == "refusal" and s.dataset in TRAIN_DATASETS]


def _stack(pool: Sequence[LabelledSet]) -> tuple[object, np.ndarray, np.ndarray, list[str]]:
    from chatlens.signals.learned import featurize

    texts = pl.concat([s.texts.cast(pl.String) for s in pool])
    x, ids = featurize(texts)
    y = np.concatenate([s.gold for s in pool])
    group = np.concatenate([np.full(s.n, i) for i, s in enumerate(pool)])
    return x, y, group, ids


def heldout_predictions(sets: Sequence[LabelledSet], *, c: float = DEFAULT_C,
                        only: Collection[str] | None = None) -> dict[tuple[str, str], np.ndarray]:
    """Leave-one-group-out refusal predictions for every slice of the training pool.

    ``only``: predict just the slices of these datasets (the others still train): a
    ``--dataset`` selection needs no fit for a slice it does not print, and each fit depends
    only on its own held-out group, so the selected slices' predictions are unchanged."""
    from chatlens._progress import track
    from chatlens.signals.learned import LearnedRefusal

    pool = training_pool(sets)
    if len(pool) < 2:
        return {}
    x, y, group, ids = _stack(pool)
    folds = np.asarray([_fold(s) for s in pool], dtype=object)[group]
    out: dict[tuple[str, str], np.ndarray] = {}
    wanted = [(i, s) for i, s in enumerate(pool) if only is None or s.dataset in only]
    for i, s in track(wanted, description="learned refusal tier: held-out fits", total=len(wanted)):
        train = folds != _fold(s)
        model = LearnedRefusal(C=c).fit_matrix(x[train], y[train], ids)
        out[(s.dataset, s.group)] = model.decision_matrix(x[group == i]) >= 0.5
    return out


def train_shipped(sets: Sequence[LabelledSet], *, c: float = DEFAULT_C) -> tuple[object, dict]:
    """Fit on the whole pool; returns the model and provenance metadata for the weights file."""
    from chatlens.signals.learned import LearnedRefusal

    pool = training_pool(sets)
    x, y, _, ids = _stack(pool)
    model = LearnedRefusal(C=c).fit_matrix(x, y, ids)
    meta = {
        "trained_on": [{"dataset": s.dataset, "group": s.group, "n": s.n,
                        "positives": int(s.gold.sum()), "gold": s.gold_kind} for s in pool],
        "evaluation": "chatlens validate reports leave-one-group-out predictions for these groups",
    }
    return model, meta
