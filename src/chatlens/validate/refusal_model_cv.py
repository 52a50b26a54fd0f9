"""Training pool and honest held-out predictions of the context refusal model.

Why here: training needs the labelled sets, which only the validation layer reads. The same code
trains the shipped weights (``scripts/train_refusal_model.py``) and produces every number
``chatlens validate`` prints for the tier, which are never in-sample:

* real labelled set, **grouped CV**: 5 folds by conversation; the other sets are always in training;
* real labelled set, **leave one source out**: LMSYS, ShareGPT, HH-RLHF, DICES, OASST each predicted by a
  model that saw none of its messages — the number that forecasts a new user's log;
* XSTest and OpenAI RBR: each predicted by a model trained without that set.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

from chatlens.validate.datasets import LabelledSet, load_all

#: Labelled refusal sets (besides the real set) the model trains on: human labels, requests known.
EXTRA_SETS = ("xstest-dev", "openai-rbr-gold")
REAL_SOURCES = ("lmsys", "sharegpt", "hh", "dices", "oasst")
N_FOLDS = 5


@dataclass(frozen=True)
class Pool:
    """The training rows: one per labelled message."""

    frame: pl.DataFrame  # key, dataset, source, cluster, request, response, refused, policy, typed
    x: Any
    cue_ids: list[str]
    rules: pl.DataFrame  # the cue scorer's columns per row (the shipped decision unites them)


def _extra_rows(sets: Sequence[LabelledSet]) -> list[pl.DataFrame]:
    out = []
    for s in sets:
        if s.task != "refusal" or s.dataset not in EXTRA_SETS:
            continue
        keys = [f"{s.dataset}/{s.group}/{i}" for i in range(s.n)]
        out.append(pl.DataFrame({
            "key": keys, "dataset": s.dataset, "source": s.dataset, "cluster": keys,
            "request": s.requests if s.requests is not None else pl.Series([None] * s.n, dtype=pl.String),
            "response": s.texts.cast(pl.String), "refused": s.gold,
            "policy": np.zeros(s.n, dtype=bool), "typed": np.zeros(s.n, dtype=bool),
        }))
    return out


def build_pool(data_dir: str | Path, real: pl.DataFrame | None = None) -> Pool:
    """Real labelled messages (``unclear`` left out) plus the extra sets, featurised once."""
    from chatlens.signals.refusal import detect_refusal
    from chatlens.signals.refusal_context import context_features
    from chatlens.validate.real import labelled_set

    root = Path(data_dir)
    real = labelled_set(root) if real is None else real
    real = real.filter(pl.col("refusal") != "unclear")
    rows = [real.select(
        key=pl.col("item"), dataset=pl.lit("real-dev"), source=pl.col("source"),
        cluster=pl.col("file") + "|" + pl.col("conversation_id"),
        request=pl.col("request"), response=pl.col("response"), refused=pl.col("refused"),
        policy=pl.col("refusal_type") == "policy",
        typed=pl.col("refused") & pl.col("refusal_type").is_in(["capability", "policy"]),
    )]
    rows += _extra_rows(load_all(root))
    frame = pl.concat(rows, how="vertical_relaxed")
    x, ids = context_features(frame["response"], frame["request"])
    return Pool(frame, x, ids, detect_refusal(frame["response"]))


def _fit(pool: Pool, train: np.ndarray, **params: float) -> Any:
    from chatlens.signals.refusal_model import RefusalModel

    f = pool.frame
    return RefusalModel(**params).fit_matrix(
        pool.x[train], f["refused"].to_numpy()[train], f["policy"].to_numpy()[train],
        pool.cue_ids, typed=f["typed"].to_numpy()[train])


def _shipped_decision(pool: Pool, model: Any, rows: np.ndarray,
                      encoder: tuple[np.ndarray, float, float] | None = None) -> pl.DataFrame:
    """What :func:`~chatlens.signals.refusal_model.detect_refusal_in_context` decides on ``rows``
    with ``model``: the screened model united with the cue scorer. ``encoder``: (the encoder's
    held-out probability per row of ``rows``, blend weight, threshold) for the encoder tier."""
    from chatlens.signals.refusal_model import blend_encoder, combine, screen

    rules = pool.rules[rows]
    screened = screen(rules, pool.frame["response"].gather(rows), model)
    requests = pool.frame["request"].gather(rows)
    responses = pool.frame["response"].gather(rows)
    out = model.predict_matrix(pool.x[rows])
    if encoder is not None:
        p, weight, threshold = encoder
        out = blend_encoder(out, p, weight=weight, threshold=threshold)
    return combine(rules, out, screened, requests, responses).select(
        "refusal", "refusal_type", "refusal_score")


def folds(pool: Pool) -> dict[str, list[tuple[np.ndarray, np.ndarray]]]:
    """(train mask, test rows) of every held-out scheme: ``cv`` (real rows, 5 folds grouped by
    conversation), ``leave-source-out`` (real rows) and ``leave-set-out`` (XSTest and RBR rows).
    Schemes without rows are left out. Every tier trained on the pool uses these folds."""
    from sklearn.model_selection import GroupKFold

    f = pool.frame
    n = f.height
    is_real = (f["dataset"] == "real-dev").to_numpy()
    source, dataset = f["source"].to_numpy(), f["dataset"].to_numpy()
    schemes: dict[str, list[tuple[np.ndarray, np.ndarray]]] = {"cv": [], "leave-source-out": [],
                                                                 "leave-set-out": []}
    real_idx = np.flatnonzero(is_real)
    if len(real_idx) >= N_FOLDS:
        groups = f["cluster"].to_numpy()[real_idx]
        for _, test in GroupKFold(n_splits=N_FOLDS).split(real_idx, groups=groups):
            rows = real_idx[test]
            train = np.ones(n, dtype=bool)
            train[rows] = False
            schemes["cv"].append((train, rows))
    for s in REAL_SOURCES:
        rows = np.flatnonzero(is_real & (source == s))
        if len(rows):
            schemes["leave-source-out"].append((~(is_real & (source == s)), rows))
    for d in EXTRA_SETS:
        rows = np.flatnonzero(dataset == d)
        if len(rows):
            schemes["leave-set-out"].append((dataset != d, rows))
    return {name: parts for name, parts in schemes.items() if parts}


#: Prefix of the encoder tier's schemes in :func:`heldout`'s result.
ENCODER_PREFIX = "encoder/"


def heldout(pool: Pool, *, encoder: dict[str, tuple[dict[str, float], float, float]] | None = None,
            only: Collection[str] | None = None, **params: float) -> dict[str, pl.DataFrame]:
    """Held-out predictions keyed by scheme (:func:`folds`).

    Each value has the pool's ``key`` plus ``refusal``, ``refusal_type``, ``refusal_score`` of the
    shipped decision (:func:`_shipped_decision`), never of rows the model trained on.
    ``encoder``: per scheme, (the encoder's held-out probability per pool key, blend weight,
    threshold). The encoder tier's decisions, from the same fold models, are then added under
    ``"encoder/<scheme>"`` for every scheme whose rows all have an encoder probability.
    ``only``: fit just the folds whose test rows belong to these datasets (``real-dev`` for the
    real set's schemes): each fold's model depends on its own rows only, so the predictions of
    the folds kept are those of a full run (``chatlens validate --dataset``).
    """
    from chatlens._progress import progress_bar

    f = pool.frame
    keys = f["key"].to_list()
    dataset = f["dataset"].to_numpy()
    schemes = {name: [(train, rows) for train, rows in parts
                      if only is None or dataset[rows[0]] in only]
               for name, parts in folds(pool).items()}
    schemes = {name: parts for name, parts in schemes.items() if parts}
    result = {}
    with progress_bar(description="context refusal model: held-out fits",
                      total=sum(len(parts) for parts in schemes.values())) as advance:
        for name, parts in schemes.items():
            result |= _scheme(pool, name, parts, None if encoder is None else encoder.get(name),
                              keys, params, advance)
    return result


def _scheme(pool: Pool, name: str, parts: list[tuple[np.ndarray, np.ndarray]],
            blend: tuple[dict[str, float], float, float] | None, keys: list[str],
            params: dict[str, float], advance: Any) -> dict[str, pl.DataFrame]:
    """:func:`heldout`'s predictions of one scheme (and of its encoder blend, when complete)."""
    f = pool.frame

    def assemble(parts: list[pl.DataFrame]) -> pl.DataFrame:
        pred = pl.concat(parts).sort("_pos")
        return pred.with_columns(key=f["key"].gather(pred["_pos"])).drop("_pos")

    result = {}
    plain, blended = [], []
    for train, rows in parts:
        model = _fit(pool, train, **params)
        advance()
        pos = pl.Series("_pos", rows)
        plain.append(_shipped_decision(pool, model, rows).with_columns(pos))
        if blend is not None:
            p = np.asarray([blend[0].get(keys[r], np.nan) for r in rows], dtype=float)
            if np.isnan(p).any():
                blend = None
                continue
            blended.append(_shipped_decision(pool, model, rows, (p, blend[1], blend[2]))
                           .with_columns(pos))
    result[name] = assemble(plain)
    if blend is not None:
        result[ENCODER_PREFIX + name] = assemble(blended)
    return result


def shipped_params() -> dict[str, float]:
    """The shipped model's hyper-parameters: every held-out number refits with these."""
    from chatlens.signals.refusal_model import load_model

    shipped = load_model()
    return {"C": shipped.C, "C_type": shipped.C_type, "threshold": shipped.threshold}


def train_shipped(pool: Pool, **params: float) -> tuple[Any, dict[str, Any]]:
    """Fit on the whole pool; returns the model and provenance for its weights file."""
    model = _fit(pool, np.ones(pool.frame.height, dtype=bool), **params)
    counts = pool.frame.group_by("dataset", "source").agg(
        n=pl.len(), refusals=pl.col("refused").sum(), typed=pl.col("typed").sum(),
        policy=(pl.col("typed") & pl.col("policy")).sum()).sort("dataset", "source")
    return model, {"trained_on": counts.to_dicts()}


#: Detector names of the context model and of the encoder tier in ``chatlens validate``.
CONTEXT = "learned-context"
ENCODER = "context+encoder"


@dataclass(frozen=True)
class ContextHeldout:
    """The context model's held-out predictions, ready for ``chatlens validate``'s tables."""

    predictions: dict[str, pl.DataFrame]

    @classmethod
    def compute(cls, data_dir: str | Path, real: pl.DataFrame | None = None,
                only: Collection[str] | None = None) -> ContextHeldout:
        """Held-out predictions with the shipped model's hyper-parameters (``real``: the
        labelled set already read by :func:`~chatlens.validate.real.labelled_set`; ``only``:
        the datasets whose folds to fit, as in :func:`heldout`)."""
        from chatlens.signals.refusal_encoder import encoder_available, load_weights

        encoder = None
        if encoder_available():  # its held-out probabilities are recorded: no torch needed
            w = load_weights()
            encoder = {scheme: (p, w.blend, w.threshold) for scheme, p in w.heldout.items()}
        return cls(heldout(build_pool(data_dir, real), encoder=encoder, only=only,
                           **shipped_params()))

    def predict_set(self, s: LabelledSet) -> np.ndarray:
        """Refusal per text of a labelled slice, as the shipped detector decides it: held out
        where the model trained on the set, else
        :func:`~chatlens.signals.refusal_model.detect_refusal_in_context` (the screened model
        united with the cue scorer, with its vetoes), whose model never saw the set.

        Why not the model's own prediction on every text: that is not what ``analyze`` and
        ``classify`` decide (until 2026-12-05 these rows reported it, e.g. GPTFuzz F1 0.835
        for a shipped decision of 0.877)."""
        if s.dataset in EXTRA_SETS and "leave-set-out" in self.predictions:
            return self._set_out(s, "leave-set-out")
        from chatlens.signals.refusal_model import detect_refusal_in_context

        return detect_refusal_in_context(s.texts, s.requests)["refusal"].to_numpy()

    def _set_out(self, s: LabelledSet, scheme: str) -> np.ndarray:
        keys = pl.DataFrame({"key": [f"{s.dataset}/{s.group}/{i}" for i in range(s.n)]})
        got = keys.join(self.predictions[scheme], on="key", how="left")
        return got["refusal"].fill_null(value=False).to_numpy()

    def encoder_set(self, s: LabelledSet) -> np.ndarray | None:
        """The encoder tier's held-out refusal per text of an XSTest or RBR slice (None for any
        other set: the encoder's recorded probabilities cover its training pool only; see
        :func:`encoder_outside_pool` for the rest)."""
        scheme = ENCODER_PREFIX + "leave-set-out"
        return self._set_out(s, scheme) if s.dataset in EXTRA_SETS and scheme in self.predictions \
            else None

    def real_detectors(self) -> dict[str, Any]:
        """Real-set detectors returning the out-of-fold predictions of each scheme."""

        def lookup(scheme: str) -> Any:
            def detect(frame: pl.DataFrame) -> pl.DataFrame:
                pred = self.predictions[scheme].rename({"key": "item"})
                return frame.select("item").join(pred, on="item", how="left").drop("item")
            return detect

        names = {f"{CONTEXT} ({name})": name for name in ("cv", "leave-source-out")}
        names |= {f"{ENCODER} ({name})": ENCODER_PREFIX + name for name in ("cv", "leave-source-out")}
        return {label: lookup(scheme) for label, scheme in names.items()
                if scheme in self.predictions}


def encoder_outside_pool(s: LabelledSet) -> np.ndarray | None:
    """The shipped encoder tier's refusal per text of a refusal set outside its training pool
    (GPTFuzz, JailbreakBench responses), decided as ``classify --detector encoder`` would; None
    for a set in the pool (its held-out rows are :meth:`ContextHeldout.encoder_set`'s) or of
    another task. Needs the ``encoder`` extra.

    Why: the pool's held-out numbers were computed by the script that chose the encoder's
    design; a set it never saw is the independent check (silver or proxy gold there)."""
    if s.task != "refusal" or s.dataset in EXTRA_SETS:
        return None
    from chatlens.signals.refusal_model import detect_refusal_in_context

    return detect_refusal_in_context(s.texts, s.requests, encoder=True)["refusal"].to_numpy()
