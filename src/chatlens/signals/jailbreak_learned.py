"""Learned jailbreak tier: a screened logistic regression over jailbreak structure.

Why a learned tier: the rule tier's weights are set by hand and its adversarial-suffix statistic
fires on ordinary code and emoticons in real logs. A linear model over the features of
:mod:`chatlens.signals.jailbreak_features` re-weights the same cue families against structure
(talking to the model about its rules, persona set-up, response rules, two-response formats) and
code-likeness, learned from labelled prompts (see ``chatlens.validate.jailbreak_cv`` and the data
card in ``docs/signals.md``).

Why a screen: most user messages are short requests with no cue at all; only *candidates* —
any rule-tier cue, a suffix-statistic of at least 1, a structural cue or at least
:data:`SCREEN_MIN_CHARS` characters — are featurized and scored, the rest get score 0. The screen
keeps the cost to a fraction of the rule tier's and is applied identically when training, so
the held-out numbers include what it drops.

Scores are class-balanced logistic probabilities, not calibrated to any base rate; the decision
threshold is stored with the weights (chosen on held-out predictions, see the data card).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import polars as pl

from chatlens.datafiles import cached
from chatlens.errors import DataFileError, InstrumentError, NotFittedError
from chatlens.signals.inputs import TextsLike
from chatlens.signals.jailbreak_features import N_HASH, STRUCTURE, dense_features, featurize
from chatlens.signals.refusal import _as_series

if TYPE_CHECKING:
    from chatlens.signals.jailbreak import JailbreakEvidence

WEIGHTS_RESOURCE = "data/signals/jailbreak_learned.json"
#: 2: word n-grams hashed by :func:`chatlens.signals.ngrams.word_ngrams` (1: scikit-learn's
#: HashingVectorizer); weights of another version are refused.
FORMAT_VERSION = 2
SCREEN_MIN_CHARS = 600
SCREEN_MIN_SUFFIX = 1.0
DEFAULT_THRESHOLD = 0.9
_STRUCT = dict(STRUCTURE)
#: One cheap pass for the structural screen (over lower-cased text, which is several times
#: faster than case-insensitive matching): the strong groups, or talking to the model about it.
_SCREEN_RX = "|".join(
    f"(?:{_STRUCT[k]})" for k in ("no_limits", "never_refuse", "two_responses", "placeholder")
)
_SELF_RX = _STRUCT["self_address"]
_ABOUT_RX = "|".join(
    f"(?:{_STRUCT[k]})" for k in ("rules_ref", "persona", "model_ref", "response_rules")
)
#: A text without any of these has suffix statistic 0 (it counts symbols, case switches,
#: capitalised words after lower case and Cyrillic), so it is computed only where one occurs.
_SUFFIX_CHARS = r"[^\w\s.,!?'\-]|[a-z][A-Z]|[a-z,;]\s+[A-Z]|[\x{0400}-\x{04FF}]"


def screen(
    texts: pl.Series, rule_cues: pl.Series | None = None, suffix: np.ndarray | None = None
) -> np.ndarray:
    """Which texts the learned model scores (the others cannot be jailbreaks by its design).

    ``rule_cues`` is the rule tier's ``jailbreak_cues`` column and ``suffix`` its suffix
    statistic per text, when already computed.
    """
    from chatlens.signals.jailbreak import detect_jailbreak, suffix_gibberish

    t = texts.fill_null("")
    if rule_cues is None:
        rule_cues = detect_jailbreak(t)["jailbreak_cues"]
    out = (rule_cues.list.len().to_numpy() > 0) | (t.str.len_chars() >= SCREEN_MIN_CHARS).to_numpy()
    if suffix is not None:
        out |= suffix >= SCREEN_MIN_SUFFIX
    # the structural regexes only where nothing cheaper has passed the text already (a long
    # text is most of the characters)
    todo = np.flatnonzero(~out)
    if len(todo):
        low = t.gather(todo).str.to_lowercase().to_frame("low")
        passed = low.select(
            pl.col("low").str.contains(_SCREEN_RX)
            | (pl.col("low").str.contains(_SELF_RX) & pl.col("low").str.contains(_ABOUT_RX))
        ).to_series()
        out[todo] = passed.to_numpy()
    if suffix is not None:
        return out
    rest = t.gather(np.flatnonzero(~out))
    rows = np.flatnonzero(~out)[rest.str.contains(_SUFFIX_CHARS).to_numpy()]
    if len(rows):
        out[rows] = suffix_gibberish(t.gather(rows)) >= SCREEN_MIN_SUFFIX
    return out


def _not_fitted() -> NotFittedError:
    msg = "LearnedJailbreak is not fitted: call fit() or load weights first."
    return NotFittedError(msg)


@dataclass
class LearnedJailbreak:
    """Screened logistic regression on :func:`featurize` (sklearn contract: ``fit`` returns self).

    Parameters
    ----------
    C
        Inverse L2 regularisation strength.
    threshold
        Score from which a text is flagged.
    """

    C: float = 1.0
    threshold: float = DEFAULT_THRESHOLD
    coef_: np.ndarray | None = None
    intercept_: float | None = None
    feature_names_: list[str] = field(default_factory=list)

    def fit(self, texts: pl.Series, labels: np.ndarray) -> LearnedJailbreak:
        """Featurize the screened ``texts`` and fit on their boolean ``labels``."""
        texts = _as_series(texts)
        keep = screen(texts)
        x, names = featurize(texts.filter(pl.Series(keep)))
        return self.fit_matrix(x, np.asarray(labels, dtype=bool)[keep], names)

    def fit_matrix(
        self, x: Any, labels: np.ndarray, names: list[str], sample_weight: np.ndarray | None = None
    ) -> LearnedJailbreak:
        """Fit on an already featurized (and screened) matrix; cross-validation featurizes once."""
        from sklearn.linear_model import LogisticRegression

        y = np.asarray(labels, dtype=bool)
        if y.all() or not y.any():
            msg = "LearnedJailbreak.fit needs both jailbreaks and non-jailbreaks among the screened texts."
            raise ValueError(msg)
        model = LogisticRegression(
            C=self.C, solver="liblinear", class_weight="balanced", max_iter=1000, random_state=0
        )
        model.fit(x, y, sample_weight=sample_weight)
        self.coef_ = model.coef_.ravel().astype(np.float64)
        self.intercept_ = float(model.intercept_[0])
        self.feature_names_ = list(names)
        return self

    def decision_matrix(self, x: Any) -> np.ndarray:
        """Scores for an already featurized matrix."""
        if self.coef_ is None or self.intercept_ is None:
            raise _not_fitted()
        z = np.asarray(x @ self.coef_).ravel() + self.intercept_
        return 1.0 / (1.0 + np.exp(-z))

    def predict_proba(
        self,
        texts: pl.Series | list[str | None],
        rule_cues: pl.Series | None = None,
        evidence: JailbreakEvidence | None = None,
    ) -> np.ndarray:
        """Score per text in [0, 1]; 0 for texts the screen passes over (and empty texts).

        ``rule_cues`` and ``evidence``: the rule tier's cue column and evidence on ``texts``
        when the caller has them (:func:`detect_jailbreak_learned`), so they are not recomputed.
        """
        if self.coef_ is None:
            raise _not_fitted()
        series = _as_series(texts)
        p = np.zeros(len(series))
        suffix = None if evidence is None else evidence.suffix
        rows = (
            np.flatnonzero(screen(series, rule_cues, suffix)) if len(series) else np.zeros(0, int)
        )
        if len(rows):
            x, _ = featurize(
                series.gather(rows),
                stacked=False,
                evidence=None if evidence is None else evidence.take(rows),
            )
            p[rows] = self.decision_matrix(x)
        p[series.fill_null("").str.strip_chars().str.len_bytes().to_numpy() == 0] = 0.0
        return p

    def predict(self, texts: pl.Series | list[str | None]) -> np.ndarray:
        """Boolean flags at :attr:`threshold`."""
        return self.predict_proba(texts) >= self.threshold

    def to_dict(self, *, min_abs: float = 1e-3, **meta: Any) -> dict[str, Any]:
        """JSON-safe weights: only coefficients of at least ``min_abs`` are kept (sparse)."""
        if self.coef_ is None or self.intercept_ is None:
            raise _not_fitted()
        keep = np.flatnonzero(np.abs(self.coef_) >= min_abs)
        return {
            "name": "jailbreak-learned",
            "version": 1,
            "source": "chatlens.signals.jailbreak_learned (fitted in memory; no data recorded)",
            "format_version": FORMAT_VERSION,
            "n_hash": N_HASH,
            "C": self.C,
            "threshold": self.threshold,
            "intercept": round(self.intercept_, 6),
            "feature_names": self.feature_names_,
            "n_features": int(len(self.coef_)),
            "coef_index": keep.tolist(),
            "coef_value": [round(float(v), 5) for v in self.coef_[keep]],
            **meta,
        }

    @classmethod
    def from_file(cls, data: dict[str, Any], where: str) -> LearnedJailbreak:
        """The data layer's builder: the model of a parsed weights file."""
        return cls.from_dict(data, where)

    @classmethod
    def from_dict(cls, data: dict[str, Any], where: str = "weights") -> LearnedJailbreak:
        """Rebuild a fitted model from :meth:`to_dict` output (checked, never trusted)."""
        try:
            if data["format_version"] != FORMAT_VERSION or data["n_hash"] != N_HASH:
                msg = (
                    f"Learned jailbreak weights {where}: key 'format_version'/'n_hash': expected "
                    f"{FORMAT_VERSION}/{N_HASH}, got {data['format_version']}/{data['n_hash']}."
                )
                raise InstrumentError(msg)
            n, index = int(data["n_features"]), np.asarray(data["coef_index"], dtype=np.int64)
            _check_layout(list(data["feature_names"]), n, where)
            if len(index) != len(data["coef_value"]):
                raise DataFileError(where, "coef_value", f"{len(index)} values (one per coef_index)",
                                    len(data["coef_value"]))
            if len(index) and not (0 <= index.min() and index.max() < n):
                bad = int(index[(index < 0) | (index >= n)][0])
                raise DataFileError(where, "coef_index", f"indices in [0, {n}) (n_features)", bad)
            coef = np.zeros(n)
            coef[index] = data["coef_value"]
            threshold, intercept = float(data["threshold"]), float(data["intercept"])
        except (KeyError, TypeError, ValueError, IndexError) as exc:
            msg = f"Learned jailbreak weights {where} are invalid: {exc!r}."
            raise InstrumentError(msg) from None
        # a NaN weight or threshold scored texts NaN, i.e. never a jailbreak, without a word
        if not 0.0 <= threshold <= 1.0:
            raise DataFileError(where, "threshold", "a number in [0, 1]", data["threshold"])
        if not np.isfinite(intercept):
            raise DataFileError(where, "intercept", "a finite number", data["intercept"])
        if not np.isfinite(coef).all():
            bad = int(np.flatnonzero(~np.isfinite(np.asarray(data["coef_value"], dtype=float)))[0])
            raise DataFileError(where, f"coef_value[{bad}]", "a finite number",
                                data["coef_value"][bad])
        return cls(C=float(data["C"]), threshold=threshold, coef_=coef, intercept_=intercept,
                   feature_names_=list(data["feature_names"]))


def _check_layout(names: list[str], n_features: int, where: str) -> None:
    """The coefficient layout prediction relies on: :func:`featurize`'s dense block, column for
    column as it is now, then :data:`N_HASH` hashed n-grams. Why: a file whose ``feature_names``
    or ``n_features`` said otherwise passed validation and then scored with misaligned
    coefficients (block scoring) or failed in numpy's matmul (a stacked matrix)."""
    now = dense_names()
    if names != now:
        raise DataFileError(where, "feature_names", f"the {len(now)} dense features of this "
                            "version, in order (else retrain)", names)
    if n_features != len(now) + N_HASH:
        raise DataFileError(where, "n_features", f"{len(now) + N_HASH} ({len(now)} dense "
                            f"features and {N_HASH} hashed n-grams)", n_features)


def dense_names() -> list[str]:
    """The names of :func:`featurize`'s dense block, in column order."""
    return dense_features(pl.Series([], dtype=pl.String))[1]


def weights_available() -> bool:
    """Whether the package ships learned jailbreak weights (asked of the data layer, the one
    reader of bundled files)."""
    from chatlens import datafiles

    return WEIGHTS_RESOURCE.removeprefix("data/") in datafiles.bundled()


@cached
def load_weights(path: str | None = None) -> LearnedJailbreak:
    """The shipped model (or one saved at ``path``), read through the data layer."""
    from chatlens import datafiles

    source = WEIGHTS_RESOURCE.removeprefix("data/") if path is None else Path(path)
    doc, record = datafiles.load_with_record(source, kind="jailbreak-model-weights")
    return LearnedJailbreak.from_dict(doc, record.file)


#: Rule-tier families whose hits stand even where the model's score is low: an explicit order to
#: drop earlier instructions, or to switch into a "developer"/"DAN"/jailbroken mode, is a jailbreak
#: attempt by definition (docs/labels.md), however short, and the model, trained mostly on long
#: templates, scores short ones low. Held out, developer_mode adds in-the-wild recall (+0.9 points)
#: at no ToxicChat false positive; the other families (persona, suffix statistics) cost precision.
RULE_FAMILIES = ("instruction_override", "developer_mode")


def rule_override(rules: pl.DataFrame) -> np.ndarray:
    """Rows the rule tier flags with a family of :data:`RULE_FAMILIES` (united with the model)."""
    return (
        rules["jailbreak"].fill_null(value=False) & rules["jailbreak_family"].is_in(RULE_FAMILIES)
    ).to_numpy()


def detect_jailbreak_learned(texts: TextsLike, *, column: str | None = None) -> pl.DataFrame:
    """Jailbreak columns with ``jailbreak``/``jailbreak_score`` from the learned model.

    Same schema as :func:`chatlens.signals.jailbreak.detect_jailbreak`. A text is flagged when the
    model's score reaches the threshold or the rule tier names an instruction override
    (:func:`rule_override`; held out, this union keeps ToxicChat precision 0.76 at FPR 0.9% and
    adds the short "ignore all previous instructions" prompts the model alone misses).
    ``jailbreak_family`` and
    ``jailbreak_cues`` come from the rule tier (``other`` when the model flags a text no family
    cue names, ``none`` when it does not flag it).
    """
    from chatlens.signals.jailbreak import detect_jailbreak_with_evidence

    series = _as_series(texts, column, "detect_jailbreak_learned")
    rules, evidence = detect_jailbreak_with_evidence(series)
    if len(series) == 0:
        return rules
    model = load_weights()
    p = model.predict_proba(series, rules["jailbreak_cues"], evidence)
    flag = pl.Series((p >= model.threshold) | rule_override(rules))
    return rules.with_columns(
        pl.Series("jailbreak", flag),
        pl.Series("jailbreak_score", np.round(p, 4)),
        pl.when(~flag)
        .then(pl.lit("none"))
        .when(pl.col("jailbreak_family") == "none")
        .then(pl.lit("other"))
        .otherwise(pl.col("jailbreak_family"))
        .alias("jailbreak_family"),
    )
