"""Learned refusal tier: logistic regression over cue features and hashed n-grams.

Why a second tier: the cue scorer's weights are set by hand; a linear model can re-weight the same
cues (and pick up phrasing the lexicons lack, through hashed word n-grams of the opening) from
human-labelled development data. It ships as a small JSON weights file
(``chatlens/data/signals/refusal_learned.json``) trained by ``scripts/train_refusal_learned.py``;
``chatlens validate`` reports it with *held-out* predictions (each training group predicted by a
model trained on the other groups), next to the rule tier.

Features (all deterministic; no vocabulary is stored):

* per cue: its position-weighted evidence (cue ids are stored with the weights, so a lexicon
  change maps by id and unknown cues count zero);
* the rule tier's logit, log message length, list items, disclaimer flag;
* hashed word 1-2-grams of the first 300 characters of the normalised text (scikit-learn's
  ``HashingVectorizer``, murmurhash3 — stable across machines).

Only ``refusal`` and ``refusal_score`` come from the model; ``refusal_type``, ``refusal_partial``,
``refusal_cues`` and ``disclaimer`` come from the cue scorer (a type needs reasons, not a score).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

from chatlens import datafiles
from chatlens.datafiles.schemas import LearnedRefusalWeights
from chatlens.errors import DataFileError, NotFittedError
from chatlens.signals.inputs import TextsLike
from chatlens.signals.refusal import BODY_FACTOR, OPENING_BYTES, _as_series, analyse_refusal

N_HASH = 2**12
OPENING_CHARS = 300
#: Columns of :func:`featurize`'s dense block (cue-scorer logit, length, items, disclaimer).
N_DENSE = 4
WEIGHTS_FILE = "signals/refusal_learned.json"
FORMAT_VERSION = 1


def _hasher() -> Any:
    from sklearn.feature_extraction.text import HashingVectorizer

    return HashingVectorizer(
        n_features=N_HASH, ngram_range=(1, 2), alternate_sign=False, binary=True, norm="l2",
        token_pattern=r"(?u)\b\w[\w']*\b",
    )


def featurize(texts: pl.Series, cue_ids: list[str] | None = None) -> tuple[Any, list[str]]:
    """Sparse feature matrix for ``texts`` and the cue-id order of its cue columns."""
    from scipy import sparse

    a = analyse_refusal(texts)
    n = len(texts)
    ids = list(a.cues.ids) if cue_ids is None else list(cue_ids)
    col = {cid: i for i, cid in enumerate(ids)}
    kinds = np.asarray([c.kind for c in a.cues.cues], dtype=object)
    body = np.asarray([BODY_FACTOR[k] for k in kinds])
    hits = a.hits
    eff = a.cues.weight[hits.cue] * np.where(hits.offset <= OPENING_BYTES, 1.0, body[hits.cue])
    rows, cols, vals = [], [], []
    for m, c, v in zip(hits.message.tolist(), hits.cue.tolist(), eff.tolist(), strict=True):
        j = col.get(a.cues.ids[c])
        if j is not None:
            rows.append(m)
            cols.append(j)
            vals.append(v)
    cue_matrix = sparse.csr_matrix((vals, (rows, cols)), shape=(n, len(ids)))
    n_bytes = a.features["n_bytes"].to_numpy().astype(float)
    dense = np.column_stack([
        np.clip(a.scores["logit"], -10, 10) / 5.0,
        np.log1p(n_bytes) / 8.0,
        np.minimum(a.features["n_items"].to_numpy(), 10) / 10.0,
        a.scores["disclaimer"].astype(float),
    ])
    grams = _hasher().transform(a.prepared.str.slice(0, OPENING_CHARS).to_list())
    return sparse.hstack([cue_matrix, sparse.csr_matrix(dense), grams]).tocsr(), ids


@dataclass
class LearnedRefusal:
    """Logistic regression on :func:`featurize` (sklearn contract: ``fit`` returns self).

    Parameters
    ----------
    C
        Inverse L2 regularisation strength.
    """

    C: float = 1.0
    coef_: np.ndarray | None = None
    intercept_: float | None = None
    cue_ids_: list[str] | None = None

    def fit(self, texts: pl.Series, labels: np.ndarray) -> LearnedRefusal:
        """Featurize ``texts`` and fit on boolean ``labels``."""
        x, ids = featurize(texts)
        return self.fit_matrix(x, labels, ids)

    def fit_matrix(self, x: Any, labels: np.ndarray, cue_ids: list[str]) -> LearnedRefusal:
        """Fit on an already featurized matrix (lets cross-validation featurize once)."""
        from sklearn.linear_model import LogisticRegression

        model = LogisticRegression(C=self.C, max_iter=3000)
        model.fit(x, np.asarray(labels, dtype=bool))
        self.coef_ = model.coef_.ravel().astype(np.float64)
        self.intercept_ = float(model.intercept_[0])
        self.cue_ids_ = list(cue_ids)
        return self

    def decision_matrix(self, x: Any) -> np.ndarray:
        """Probabilities for an already featurized matrix."""
        if self.coef_ is None or self.intercept_ is None:
            msg = "LearnedRefusal is not fitted: call fit() or load weights first."
            raise NotFittedError(msg)
        z = np.asarray(x @ self.coef_).ravel() + self.intercept_
        return 1.0 / (1.0 + np.exp(-z))

    def predict_proba(self, texts: pl.Series) -> np.ndarray:
        """Probability of refusal per text (0 for empty text)."""
        if self.coef_ is None or self.cue_ids_ is None or self.intercept_ is None:
            msg = "LearnedRefusal is not fitted: call fit() or load weights first."
            raise NotFittedError(msg)
        x, _ = featurize(texts, self.cue_ids_)
        z = x @ self.coef_ + self.intercept_
        p = 1.0 / (1.0 + np.exp(-np.asarray(z).ravel()))
        p[texts.fill_null("").str.strip_chars().str.len_bytes().to_numpy() == 0] = 0.0
        return p

    def to_dict(self, **meta: Any) -> dict[str, Any]:
        """JSON-safe weights: only non-negligible coefficients are kept (sparse)."""
        if self.coef_ is None or self.cue_ids_ is None:
            msg = "LearnedRefusal is not fitted: nothing to save."
            raise NotFittedError(msg)
        keep = np.flatnonzero(np.abs(self.coef_) >= 1e-3)
        return {
            "name": "refusal-learned",
            "version": "1",
            "source": "chatlens scripts/train_refusal_learned.py: logistic regression on hashed word "
                      "n-grams and refusal cue features, trained on the sets listed under trained_on",
            "format_version": FORMAT_VERSION,
            "n_hash": N_HASH,
            "opening_chars": OPENING_CHARS,
            "C": self.C,
            "intercept": round(self.intercept_ or 0.0, 6),
            "cue_ids": self.cue_ids_,
            "n_features": int(len(self.coef_)),
            "coef_index": keep.tolist(),
            "coef_value": [round(float(v), 5) for v in self.coef_[keep]],
            **meta,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any], where: str = "weights") -> LearnedRefusal:
        """The model saved by :meth:`to_dict` (validated; a bad mapping raises DataFileError)."""
        return cls.from_file(datafiles.parse(data, kind="learned-refusal-weights", file=where), where)

    @classmethod
    def from_file(cls, doc: LearnedRefusalWeights, where: str) -> LearnedRefusal:
        """The model of a validated weights document (its hashing must match this code's)."""
        if (doc.format_version, doc.n_hash) != (FORMAT_VERSION, N_HASH):
            raise DataFileError(where, "format_version/n_hash", f"{FORMAT_VERSION}/{N_HASH}",
                                f"{doc.format_version}/{doc.n_hash}")
        width = len(doc.cue_ids) + N_DENSE + N_HASH  # the matrix featurize makes for them
        if doc.n_features != width:  # else every prediction failed in numpy's matmul
            raise DataFileError(where, "n_features", f"{width} (one per cue id, {N_DENSE} dense "
                                f"columns and {N_HASH} hashed n-grams)", doc.n_features)
        coef = np.zeros(doc.n_features)
        coef[np.asarray(doc.coef_index, dtype=np.int64)] = doc.coef_value
        return cls(C=doc.C, coef_=coef, intercept_=doc.intercept, cue_ids_=list(doc.cue_ids))


def weights_available() -> bool:
    """Whether the package ships learned weights."""
    return WEIGHTS_FILE in datafiles.bundled()


@datafiles.cached
def load_weights(path: str | None = None) -> LearnedRefusal:
    """The shipped model (or one saved at ``path``)."""
    doc, record = datafiles.load_with_record(WEIGHTS_FILE if path is None else Path(path),
                                             kind="learned-refusal-weights")
    return LearnedRefusal.from_file(doc, record.file)


def detect_refusal_learned(texts: TextsLike, *, column: str | None = None) -> pl.DataFrame:
    """Refusal columns with ``refusal``/``refusal_score`` from the learned model.

    Same schema as :func:`chatlens.signals.refusal.detect_refusal`.
    """
    from chatlens.signals.refusal import detect_refusal

    series = _as_series(texts, column, "detect_refusal_learned")
    rules = detect_refusal(series)
    if len(series) == 0:
        return rules
    p = load_weights().predict_proba(series)
    refusal = p >= 0.5
    return rules.with_columns(
        pl.Series("refusal", refusal),
        pl.Series("refusal_score", np.round(p, 4)),
        pl.when(pl.Series(refusal) & (pl.col("refusal_type") == "none")).then(pl.lit("policy"))
        .when(~pl.Series(refusal)).then(pl.lit("none"))
        .otherwise(pl.col("refusal_type")).alias("refusal_type"),
        (pl.col("refusal_partial") & pl.Series(refusal)).alias("refusal_partial"),
    )
