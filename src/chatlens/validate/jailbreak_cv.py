"""Training pool and held-out evaluation of the learned jailbreak tier.

Why here (not in ``signals``): training needs the labelled sets, which only the validation layer
reads. The same functions train the shipped weights (``scripts/train_jailbreak_learned.py``) and
produce the held-out predictions ``chatlens validate`` reports for the learned tier, so validate
never prints an in-sample number:

* every *source* is predicted by a model fitted without it (leave-one-source-out): the May 2023
  in-the-wild prompts, the forbidden questions, GPTFuzzer's templates, each JailbreakBench
  method, JailbreakBench goals, XSTest and CoCoNot prompts, and real user messages of ShareGPT,
  LMSYS and HH-RLHF;
* ToxicChat, whose real base rate is the precision target, is predicted by stratified 5-fold
  cross-validation (the other sources always in training), as the issue asks;
* :func:`time_split` trains on the earlier 70% of in-the-wild prompts (by date) and predicts the
  latest 30% — the closest stand-in for prompts collected after the snapshot;
* :func:`family_cv` cross-validates the in-the-wild prompts in 5 folds grouped by jailbreak
  family (the issue's "cross-validated where trained on it", without a family on both sides).

Real user messages are *weak* negatives: nobody labelled them, and a few are real jailbreaks, so
their flag rate is an upper bound on the false-positive rate.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import polars as pl

from chatlens.errors import SourceError
from chatlens.validate.datasets import TEMPLATE_STYLE, LabelledSet

DEFAULT_C = 1.0
CV_FOLDS = 5
TIME_TRAIN_SHARE = 0.7
#: Real logs whose user messages serve as weak negatives: (dataset name, file under the data dir).
REAL_USER_FILES = (
    ("real-logs-dev/sharegpt", "real-logs-dev/sharegpt_dev.jsonl"),
    ("real-logs-dev/lmsys", "real-logs-dev/lmsys_dev.jsonl"),
    ("hh-rlhf", "hh-rlhf/harmless-base/test.jsonl.gz"),
)
REAL_WEIGHT = 3.0
TEMPLATED_WEIGHT = 0.1
WEAK_GROUP = "user messages (weak negatives)"
#: Slices of ``load_all`` that are unions or subsets of other slices (not trained on twice).
DERIVED = ("template-style (JBC+GCG+random search)", "toxic, not jailbreak (negatives)")
CV_DATASET = "toxicchat-train"
ITW_CSV = "jailbreak-inthewild-2023-05/jailbreak_prompts_2023_05_07.csv"
#: validate's extra rows for the in-the-wild prompts (beside leave-one-source-out)
FAMILY_CV_DETECTOR = "learned (family-grouped CV)"
LATEST_GROUP = "prompts (May 2023), latest 30% by date"


def real_user_sets(root: Path) -> list[LabelledSet]:
    """Distinct user messages of the real logs present in ``root``, as weak negatives."""
    from chatlens.corpus.api import read

    out = []
    for name, rel in REAL_USER_FILES:
        path = root / rel
        if not path.is_file():
            continue
        m = read(str(path)).messages
        m = m.collect() if isinstance(m, pl.LazyFrame) else m
        texts = m.filter(pl.col("role") == "user")["content"].unique(maintain_order=True)
        out.append(LabelledSet(name, WEAK_GROUP, "jailbreak", texts.cast(pl.String).alias("text"),
                               np.zeros(len(texts), dtype=bool), "weak"))
    return out


def training_pool(sets: Sequence[LabelledSet]) -> list[LabelledSet]:
    """The jailbreak slices trained on, in a stable order (derived slices excluded)."""
    return [s for s in sets if s.task == "jailbreak" and s.group not in DERIVED]


def _fold(s: LabelledSet) -> str:
    if s.dataset == "gptfuzz":
        return "gptfuzz"  # the short seeds are shortened templates: one source
    if s.dataset == "jailbreak-inthewild-2023-05":
        return "itw" if s.group.startswith("prompts") else "forbidden"
    if s.dataset == "jailbreakbench-artifacts":
        return f"jbb/{s.group}"
    return s.dataset


@dataclass
class Pool:
    """The featurized, screened training pool."""

    sets: list[LabelledSet]
    x: object  # sparse matrix of the screened rows
    names: list[str]
    y: np.ndarray  # per pool row
    row_set: np.ndarray  # per pool row: index into ``sets``
    fold: np.ndarray  # per pool row: source name, or "toxicchat-train/k" for CV rows
    screened: np.ndarray  # per pool row: passes the screen
    xrow: np.ndarray  # per pool row: its row in ``x`` (-1 when screened out)


def build_pool(sets: Sequence[LabelledSet], *, seed: int = 0) -> Pool:
    """Screen and featurize the training pool once (cross-validation reuses the matrix)."""
    from sklearn.model_selection import StratifiedKFold

    from chatlens.signals.jailbreak_features import featurize
    from chatlens.signals.jailbreak_learned import screen

    pool = training_pool(sets)
    if not pool:
        msg = "No labelled jailbreak set to train on: expected the shared data folder (--data DIR)."
        raise SourceError(msg)
    texts = pl.concat([s.texts.cast(pl.String).alias("text") for s in pool])
    y = np.concatenate([s.gold for s in pool]).astype(bool)
    row_set = np.concatenate([np.full(s.n, i) for i, s in enumerate(pool)])
    fold = np.asarray([_fold(s) for s in pool], dtype=object)[row_set]
    for i, s in enumerate(pool):
        if s.dataset == CV_DATASET:
            rows = np.flatnonzero(row_set == i)
            cv = StratifiedKFold(CV_FOLDS, shuffle=True, random_state=seed)
            for k, (_, test) in enumerate(cv.split(rows, y[rows])):
                fold[rows[test]] = f"{CV_DATASET}/{k}"
    screened = screen(texts)
    x, names = featurize(texts.filter(pl.Series(screened)))
    xrow = np.full(len(texts), -1)
    xrow[screened] = np.arange(int(screened.sum()))
    return Pool(pool, x, names, y, row_set, fold, screened, xrow)


def _weights(pool: Pool) -> np.ndarray:
    """Real user messages weigh :data:`REAL_WEIGHT` times: they are the distribution served."""
    real = np.isin(pool.fold, [name for name, _ in REAL_USER_FILES])
    templated = np.char.startswith(pool.fold.astype(str), "jbb/") & pool.y
    return np.where(real, REAL_WEIGHT, np.where(templated, TEMPLATED_WEIGHT, 1.0))


def _predict_out(pool: Pool, train: np.ndarray, test: np.ndarray, c: float) -> np.ndarray:
    """Fit on the screened ``train`` rows; scores for ``test`` rows (0 where screened out)."""
    from chatlens.signals.jailbreak_learned import LearnedJailbreak

    tr = train & pool.screened
    if pool.y[tr].all() or not pool.y[tr].any():  # nothing to learn from: no held-out score
        return np.full(int(test.sum()), np.nan)
    model = LearnedJailbreak(C=c).fit_matrix(pool.x[pool.xrow[tr]], pool.y[tr], pool.names,
                                             _weights(pool)[tr])
    p = np.zeros(int(test.sum()))
    on = pool.screened[test]
    p[on] = model.decision_matrix(pool.x[pool.xrow[test][on]])
    return p


def heldout_scores(pool: Pool, *, c: float = DEFAULT_C,
                   only: Collection[str] | None = None) -> np.ndarray:
    """Out-of-fold score for every pool row: each fold predicted by a model fitted without it
    (NaN where the other folds hold only one class). ``only``: score just the folds holding
    rows of these datasets (NaN elsewhere); a fold's model depends on that fold alone, so its
    scores are those of a full run."""
    from chatlens._progress import track

    out = np.full(len(pool.y), np.nan)
    wanted = np.unique(pool.fold) if only is None else np.unique(pool.fold[np.isin(
        np.asarray([s.dataset for s in pool.sets], dtype=object)[pool.row_set], list(only))])
    for f in track(wanted, description="learned jailbreak tier: held-out fits", total=len(wanted)):
        test = pool.fold == f
        out[test] = _predict_out(pool, ~test, test, c)
    return out


@dataclass(frozen=True)
class InTheWild:
    """The pool rows of the in-the-wild prompts, with each one's date and family (the authors'
    community id; empty where none), read once from the snapshot's CSV."""

    rows: np.ndarray
    dates: list[str]
    families: list[str]


def inthewild(pool: Pool, root: Path) -> InTheWild:
    """:class:`InTheWild` of ``pool`` (no rows when the pool or the data folder has none)."""
    itw = np.flatnonzero(pool.fold == "itw")
    path = root / ITW_CSV
    if not len(itw) or not path.is_file():
        return InTheWild(np.zeros(0, dtype=np.int64), [], [])
    meta = pl.read_csv(path, infer_schema_length=0, glob=False).unique("prompt", keep="first", maintain_order=True)
    prompts = meta["prompt"].to_list()
    when = dict(zip(prompts, meta["date"].fill_null("").to_list(), strict=True))
    family = dict(zip(prompts, meta["community_id"].fill_null("").to_list(), strict=True))
    texts = pl.concat([pool.sets[i].texts for i in np.unique(pool.row_set[itw])]).to_list()
    return InTheWild(itw, [when.get(t, "") for t in texts], [family.get(t, "") for t in texts])


def latest_rows(pool: Pool, itw: InTheWild) -> np.ndarray:
    """Mask of the latest 30% of in-the-wild prompts by date (:func:`time_split`'s test rows)."""
    order = itw.rows[np.argsort(itw.dates, kind="stable")]
    late = np.zeros(len(pool.y), dtype=bool)
    late[order[int(len(order) * TIME_TRAIN_SHARE):]] = True
    return late


def time_split(pool: Pool, root: Path, *, c: float = DEFAULT_C,
               itw: InTheWild | None = None) -> np.ndarray:
    """Scores of the latest 30% of in-the-wild prompts, trained on everything else (``itw``:
    :func:`inthewild` of the pool, when already read)."""
    late = latest_rows(pool, inthewild(pool, root) if itw is None else itw)
    return _predict_out(pool, ~late, late, c)


def family_cv(pool: Pool, root: Path, *, c: float = DEFAULT_C,
              itw: InTheWild | None = None) -> np.ndarray:
    """Scores of the in-the-wild prompts by 5-fold cross-validation grouped by jailbreak family
    (a prompt of no family is its own group), every other source always in training.

    Why grouped: a family's prompts are edits of one template; split at random, a fold would be
    scored by a model that saw its siblings, which a new family never meets.
    """
    from sklearn.model_selection import GroupKFold

    itw = inthewild(pool, root) if itw is None else itw
    if len(itw.rows) < CV_FOLDS:
        return np.full(len(itw.rows), np.nan)
    groups = [f or f"none-{i}" for i, f in zip(itw.rows, itw.families, strict=True)]
    out = np.zeros(len(itw.rows))
    for _, test_idx in GroupKFold(CV_FOLDS).split(itw.rows, groups=groups):
        test = np.zeros(len(pool.y), dtype=bool)
        test[itw.rows[test_idx]] = True
        out[test_idx] = _predict_out(pool, ~test, test, c)
    return out


def slice_predictions(sets: Sequence[LabelledSet], pool: Pool, scores: np.ndarray,
                      threshold: float) -> dict[tuple[str, str], np.ndarray | None]:
    """Held-out flags per (dataset, group) of ``sets``, derived slices included; None for a
    slice some of whose rows have no held-out score."""
    out: dict[tuple[str, str], np.ndarray | None] = {}
    for i, s in enumerate(pool.sets):
        part = scores[pool.row_set == i]
        out[(s.dataset, s.group)] = None if np.isnan(part).any() else part >= threshold
    jbb = "jailbreakbench-artifacts"
    style = [out[(jbb, m)] for m in TEMPLATE_STYLE if (jbb, m) in out]
    if style:
        out[(jbb, DERIVED[0])] = None if any(p is None for p in style) else np.concatenate(style)
    tc = [i for i, s in enumerate(pool.sets) if s.dataset == CV_DATASET]
    hard = [s for s in sets if s.dataset == CV_DATASET and s.group == DERIVED[1]]
    if tc and hard and out[(CV_DATASET, pool.sets[tc[0]].group)] is None:
        out[(CV_DATASET, DERIVED[1])] = None
    elif tc and hard:
        flag = dict(zip(pool.sets[tc[0]].texts.to_list(), out[(CV_DATASET, pool.sets[tc[0]].group)],
                        strict=True))
        out[(CV_DATASET, DERIVED[1])] = np.asarray([flag[t] for t in hard[0].texts.to_list()], bool)
    return out


def heldout_predictions(sets: Sequence[LabelledSet], root: Path, *, c: float = DEFAULT_C,
                        threshold: float | None = None) -> dict[tuple[str, str], np.ndarray | None]:
    """Held-out learned-tier flags for every jailbreak slice of ``sets`` (plus real user sets)."""
    return heldout_rows(sets, root, c=c, threshold=threshold)[0]


def heldout_rows(sets: Sequence[LabelledSet], root: Path, *, c: float = DEFAULT_C,
                 threshold: float | None = None, only: Collection[str] | None = None
                 ) -> tuple[dict[tuple[str, str], np.ndarray | None],
                            list[tuple[LabelledSet, str, np.ndarray]]]:
    """:func:`heldout_predictions`, and validate's extra rows for the in-the-wild prompts:
    (labelled slice, detector name, flags) for the family-grouped cross-validation of all of
    them and the time split's latest 30% (each the shipped decision: model or rule override).

    ``only``: the datasets whose rows are wanted (``chatlens validate --dataset``): the whole
    pool still trains, but only their folds are fitted, and the in-the-wild extra rows only when
    that set is among them; the other slices are left out of the result."""
    from chatlens.signals.jailbreak_learned import load_weights

    all_sets = [*sets, *real_user_sets(root)]
    pool = build_pool(all_sets)
    if len({f.split("/")[0] for f in pool.fold}) < 2:
        return {}, []
    from chatlens.signals.jailbreak import detect_jailbreak
    from chatlens.signals.jailbreak_learned import rule_override

    thr = load_weights().threshold if threshold is None else threshold
    flags = slice_predictions(all_sets, pool, heldout_scores(pool, c=c, only=only), thr)
    if only is not None:
        flags = {key: f for key, f in flags.items() if key[0] in only}
    # the shipped decision unites the model with the rule tier's instruction overrides
    overrides = {(s.dataset, s.group): rule_override(detect_jailbreak(s.texts)) for s in all_sets
                 if flags.get((s.dataset, s.group)) is not None}
    flags = {key: f if key not in overrides else f | overrides[key] for key, f in flags.items()}
    itw = inthewild(pool, root)
    if not len(itw.rows) or only is not None and ITW_CSV.split("/")[0] not in only:
        return flags, []
    source = pool.sets[int(pool.row_set[itw.rows[0]])]
    key = (source.dataset, source.group)  # the same prompts, in pool order
    override = overrides[key] if key in overrides else rule_override(detect_jailbreak(source.texts))
    late = latest_rows(pool, itw)
    latest = LabelledSet(source.dataset, LATEST_GROUP, source.task,
                         source.texts.filter(pl.Series(late[itw.rows])), pool.y[late],
                         source.gold_kind)
    return flags, [
        (source, FAMILY_CV_DETECTOR, (family_cv(pool, root, c=c, itw=itw) >= thr) | override),
        (latest, "learned", (time_split(pool, root, c=c, itw=itw) >= thr) | override[late[itw.rows]]),
    ]


def train_shipped(pool: Pool, *, c: float = DEFAULT_C, threshold: float) -> tuple[object, dict]:
    """Fit on the whole screened pool; returns the model and provenance for the weights file."""
    from chatlens.signals.jailbreak_learned import LearnedJailbreak

    on = pool.screened
    model = LearnedJailbreak(C=c, threshold=threshold).fit_matrix(
        pool.x[pool.xrow[on]], pool.y[on], pool.names, _weights(pool)[on])
    meta = {"trained_on": [
        {"dataset": s.dataset, "group": s.group, "n": s.n, "positives": int(s.gold.sum()),
         "gold": s.gold_kind, "screened_in": int(on[pool.row_set == i].sum())}
        for i, s in enumerate(pool.sets)]}
    return model, meta
