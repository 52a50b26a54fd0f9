"""The learned refusal tier in context: refusal and its type from (request, response).

Why: the rule tier reads the response alone and was tuned on English single-turn sets; on real
logs it finds about a quarter of the refusals a careful reader finds. This tier is two logistic
regressions over :func:`chatlens.signals.refusal_context.context_features`, trained on the real
labelled development set (``data/validation/``) plus XSTest and OpenAI's RBR gold set:

* ``refusal`` — binary (capability, policy, mixed, partial = refused; the reader's ``unclear`` is
  left out of training);
* ``refusal_type`` — capability vs policy among refusals (a ``partial`` counts as its reason).
  The tier never says ``mixed`` (the rule tier still does, where the model does not read a reply):
  a near-even type probability is uncertainty, not a reply giving both kinds of reason. Held out,
  the former band (0.45–0.55 → ``mixed``) was right on 3 of 46 predictions in CV and 1 of 42 out
  of source, and cost 1.4–1.6 points of capability-vs-policy accuracy.

Its weights (``data/signals/refusal_model.json``, trained by ``scripts/train_refusal_model.py``)
record the feature version, the training data and the cross-validated numbers; ``chatlens
validate`` reports the tier with out-of-fold predictions only. The cue columns (``refusal_cues``,
``disclaimer``, ``refusal_partial``) still come from the rule tier: they are evidence, not a score.
"""

from __future__ import annotations

from collections import Counter
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

from chatlens import datafiles
from chatlens._override import ModelOverride
from chatlens.errors import DataFileError, InvalidParameterError, NotFittedError
from chatlens.signals.refusal import RefusalAnalysis
from chatlens.signals.refusal_context import FEATURE_VERSION, context_features

WEIGHTS_RESOURCE = "signals/refusal_model.json"
FORMAT_VERSION = 1
#: Policy probability from which a refusal's reason is ``policy`` (else ``capability``).
POLICY_FROM = 0.5
#: Screen (:func:`screen`): cue-scorer score above its no-cue prior (logistic of the bias, -2) ...
SCREEN_MIN_RULE_SCORE = 0.12
#: ... or a reply shorter than this many characters ...
SCREEN_MAX_CHARS = 120
#: ... or a reply shorter than :data:`SCREEN_SHORT_CHARS` whose cue score is above
#: :data:`SCREEN_SHORT_MIN_RULE_SCORE` (no compliance evidence pulls it below the prior). Why: one
#: real refusal in six had no cue at all and so was never read (a question back instead of the
#: task, a deflection in words no lexicon holds); most are short. Reading these short replies
#: raised held-out F1 on the real set (CV 0.687 -> 0.707, leave-one-source-out 0.625 -> 0.638)
#: for about 9% more of the replies of an LMSYS-shaped log read by the model.
SCREEN_SHORT_CHARS = 300
SCREEN_SHORT_MIN_RULE_SCORE = 0.08
#: Screened replies featurised at once by :func:`detect_refusal_in_context` (bounds memory).
PREDICT_CHUNK = 4096
#: Highest score of a direct answer to a question about the assistant (labels.md rule 3) or of a
#: reply that does the task in one of its voices (rules 7 and 9), which are never refusals: just
#: under the decision threshold of both tiers (0.5).
RULE3_MAX_SCORE = 0.4999


def _sigmoid(z: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-np.clip(z, -30, 30)))


@dataclass
class RefusalModel:
    """Binary refusal + capability/policy type (scikit-learn contract: ``fit`` returns self).

    Parameters
    ----------
    C, C_type
        Inverse L2 regularisation of the refusal and the type regression.
    threshold
        Probability at or above which a message is a refusal.
    """

    C: float = 0.3
    C_type: float = 1.0
    threshold: float = 0.5
    screen_min_rule_score: float = SCREEN_MIN_RULE_SCORE
    screen_max_chars: int = SCREEN_MAX_CHARS
    screen_short_chars: int = SCREEN_SHORT_CHARS
    screen_short_min_rule_score: float = SCREEN_SHORT_MIN_RULE_SCORE
    coef_: np.ndarray | None = None
    intercept_: float | None = None
    type_coef_: np.ndarray | None = None
    type_intercept_: float | None = None
    cue_ids_: list[str] = field(default_factory=list)

    def fit_matrix(self, x: Any, refused: np.ndarray, policy: np.ndarray, cue_ids: list[str],
                   *, typed: np.ndarray | None = None) -> RefusalModel:
        """Fit on an already featurised matrix.

        ``refused``: bool per row; ``policy``: bool per row (True = policy reason), used only where
        ``typed`` is True (refusals with a known capability/policy reason).
        """
        from sklearn.linear_model import LogisticRegression

        refused = np.asarray(refused, dtype=bool)
        binary = LogisticRegression(C=self.C, max_iter=5000, class_weight="balanced")
        binary.fit(x, refused)
        self.coef_ = binary.coef_.ravel().astype(np.float64)
        self.intercept_ = float(binary.intercept_[0])
        mask = refused if typed is None else np.asarray(typed, dtype=bool)
        pol = np.asarray(policy, dtype=bool)[mask]
        if pol.all() or not pol.any():
            self.type_coef_ = np.zeros(x.shape[1])
            self.type_intercept_ = 10.0 if pol.all() else -10.0
        else:
            kind = LogisticRegression(C=self.C_type, max_iter=5000).fit(x[mask], pol)
            self.type_coef_ = kind.coef_.ravel().astype(np.float64)
            self.type_intercept_ = float(kind.intercept_[0])
        self.cue_ids_ = list(cue_ids)
        return self

    def _check(self) -> None:
        if self.coef_ is None or self.type_coef_ is None:
            msg = "RefusalModel is not fitted: call fit_matrix() or load weights first."
            raise NotFittedError(msg)

    def _coefs_for(self, cue_ids: list[str], width: int) -> tuple[np.ndarray, np.ndarray]:
        """Both coefficient vectors in the column order of a matrix whose per-cue block follows
        ``cue_ids``: cues added since training get 0, removed ones drop out. Aligning the two
        vectors, not the matrix (a column gather of every batch), saves a sparse copy."""
        if cue_ids == self.cue_ids_:
            return self.coef_, self.type_coef_
        trained = {cid: i for i, cid in enumerate(self.cue_ids_)}
        n_now, n_trained = len(cue_ids), len(self.cue_ids_)
        out = []
        for coef in (self.coef_, self.type_coef_):
            now = np.zeros(width)
            for i, cid in enumerate(cue_ids):
                if cid in trained:
                    now[i] = coef[trained[cid]]
            now[n_now:] = coef[n_trained:]
            out.append(now)
        return out[0], out[1]

    def predict_matrix(self, x: Any, cue_ids: list[str] | None = None) -> pl.DataFrame:
        """``refusal``, ``refusal_type``, ``refusal_score`` for a featurised matrix (its per-cue
        block in ``cue_ids`` order; default: the trained order)."""
        self._check()
        coef, type_coef = (self.coef_, self.type_coef_) if cue_ids is None else self._coefs_for(
            cue_ids, x.shape[1])
        p = _sigmoid(np.asarray(x @ coef).ravel() + self.intercept_)
        q = _sigmoid(np.asarray(x @ type_coef).ravel() + self.type_intercept_)
        refusal = p >= self.threshold
        kind = np.where(q >= POLICY_FROM, "policy", "capability")
        return pl.DataFrame({
            "refusal": refusal,
            "refusal_type": np.where(refusal, kind, "none").astype(str),
            "type_if_refused": kind.astype(str),
            "refusal_score": np.round(p, 4),
        })

    def predict(self, responses: pl.Series, requests: pl.Series | None = None, *,
                analysis: RefusalAnalysis | None = None) -> pl.DataFrame:
        """Featurise (response, request) pairs and predict; empty responses are never refusals.
        ``analysis``: the cue scorer's analysis of ``responses``, when already computed."""
        self._check()
        x, ids = context_features(responses, requests, analysis=analysis, stacked=False)
        out = self.predict_matrix(x, ids)
        empty = responses.cast(pl.String).fill_null("").str.strip_chars().str.len_chars() == 0
        return out.with_columns(
            pl.when(empty).then(pl.lit(value=False)).otherwise(pl.col("refusal")).alias("refusal"),
            pl.when(empty).then(pl.lit("none")).otherwise(pl.col("refusal_type")).alias("refusal_type"),
            pl.when(empty).then(0.0).otherwise(pl.col("refusal_score")).alias("refusal_score"),
        )

    def to_dict(self, **meta: Any) -> dict[str, Any]:
        """JSON-safe weights (coefficients below 1e-4 in magnitude are dropped)."""
        self._check()

        def sparse_vec(v: np.ndarray) -> dict[str, list]:
            keep = np.flatnonzero(np.abs(v) >= 1e-4)
            return {"index": keep.tolist(), "value": [round(float(c), 5) for c in v[keep]]}

        return {
            "name": "refusal-model", "version": meta.pop("version", 1),
            "source": meta.pop("source", "scripts/train_refusal_model.py"),
            "format_version": FORMAT_VERSION, "feature_version": FEATURE_VERSION,
            "C": self.C, "C_type": self.C_type, "threshold": self.threshold,
            "screen": {"min_rule_score": self.screen_min_rule_score,
                       "max_chars": self.screen_max_chars,
                       "short_chars": self.screen_short_chars,
                       "short_min_rule_score": self.screen_short_min_rule_score},
            "n_features": len(self.coef_), "cue_ids": self.cue_ids_,
            "refusal": {"intercept": round(self.intercept_, 6), **sparse_vec(self.coef_)},
            "type": {"intercept": round(self.type_intercept_, 6), **sparse_vec(self.type_coef_)},
            **meta,
        }

    @classmethod
    def from_file(cls, doc: Any, where: str) -> RefusalModel:
        """The model of a validated weights document (the data layer's builder)."""
        from dataclasses import asdict

        return cls.from_dict(asdict(doc) if not isinstance(doc, dict) else doc, where)

    @classmethod
    def from_dict(cls, data: dict[str, Any], where: str = "weights") -> RefusalModel:
        """Rebuild from :meth:`to_dict` output; a stale feature version is an error."""
        try:
            if data["format_version"] != FORMAT_VERSION or data["feature_version"] != FEATURE_VERSION:
                expected = (f"{FORMAT_VERSION}/{FEATURE_VERSION} (else retrain with "
                            "scripts/train_refusal_model.py)")
                raise DataFileError(where, "format_version/feature_version", expected,
                                    f"{data['format_version']}/{data['feature_version']}")
            n = int(data["n_features"])
            _check_layout(data["cue_ids"], n, where)

            def dense(block: dict) -> np.ndarray:
                v = np.zeros(n)
                v[np.asarray(block["index"], dtype=np.int64)] = block["value"]
                return v

            screen_params = data.get("screen") or {}
            return cls(C=float(data["C"]), C_type=float(data["C_type"]),
                       threshold=float(data["threshold"]),
                       screen_min_rule_score=float(screen_params.get("min_rule_score",
                                                                     SCREEN_MIN_RULE_SCORE)),
                       screen_max_chars=int(screen_params.get("max_chars", SCREEN_MAX_CHARS)),
                       # weights saved before the short-reply screen keep the screen they had
                       screen_short_chars=int(screen_params.get("short_chars", 0)),
                       screen_short_min_rule_score=float(screen_params.get(
                           "short_min_rule_score", SCREEN_SHORT_MIN_RULE_SCORE)),
                       coef_=dense(data["refusal"]), intercept_=float(data["refusal"]["intercept"]),
                       type_coef_=dense(data["type"]),
                       type_intercept_=float(data["type"]["intercept"]),
                       cue_ids_=list(data["cue_ids"]))
        except (KeyError, TypeError, ValueError, IndexError) as exc:
            raise DataFileError(where, "<root>", "the weights of a saved RefusalModel", exc) from None


def _check_layout(cue_ids: list[str], n_features: int, where: str) -> None:
    """The coefficient layout prediction relies on: one column per distinct cue id, then exactly
    the columns :func:`~chatlens.signals.refusal_context.context_features` makes after its
    per-cue block (:meth:`RefusalModel._coefs_for` aligns the first block by id and copies the
    rest as it is). Why: a truncated ``cue_ids`` list passed validation and failed at the first
    prediction with numpy's broadcast message."""
    from chatlens.signals.refusal_context import columns_after_cues

    duplicates = [c for c, k in Counter(cue_ids).items() if k > 1]
    if duplicates:
        raise DataFileError(where, "cue_ids", "distinct cue ids (one per column)", duplicates)
    rest = columns_after_cues()
    if n_features - len(cue_ids) != rest:
        expected = (f"n_features = len(cue_ids) + {rest} (one column per cue id, then the "
                    f"{rest} context columns of feature version {FEATURE_VERSION})")
        raise DataFileError(where, "cue_ids/n_features", expected,
                            f"{len(cue_ids)} cue ids and n_features {n_features}")


def model_available() -> bool:
    """Whether the package ships the model's weights."""
    return WEIGHTS_RESOURCE in datafiles.bundled()


@datafiles.cached
def load_model(path: str | None = None) -> RefusalModel:
    """The shipped model (or one saved at ``path``), validated by the data layer."""
    source = WEIGHTS_RESOURCE if path is None else Path(path)
    doc, record = datafiles.load_with_record(source, kind="refusal-model-weights")
    return RefusalModel.from_file(doc, record.file)


_OVERRIDE: ModelOverride[RefusalModel] = ModelOverride("chatlens_refusal_model", lambda: load_model())


def using_model(model: RefusalModel) -> AbstractContextManager[RefusalModel]:
    """Within the block, every context-tier decision in this process uses ``model`` instead of
    the shipped weights (:class:`chatlens._override.ModelOverride` says why and its scope)."""
    return _OVERRIDE.using(model)


def active_model() -> RefusalModel:
    """The model in force: the one set by :func:`using_model`, else the shipped weights."""
    return _OVERRIDE.active()


def screen(rules: pl.DataFrame, responses: pl.Series, model: RefusalModel) -> np.ndarray:
    """Which messages the model reads: any refusal evidence in the cue scorer (score above its
    no-cue prior), a stand-in phrase in the opening, a very short reply, or a short reply without
    compliance evidence (:data:`SCREEN_SHORT_CHARS`).

    Why: the model costs about ten times the cue scorer; on LMSYS-shaped logs this screen passes
    about one message in five (one in eight without the short-reply term). ``chatlens validate``
    reports the screened detector, which is what ships.
    """
    from chatlens.signals.refusal_context import stand_in_hits

    text = responses.cast(pl.String).fill_null("")
    score = rules["refusal_score"].to_numpy()
    chars = text.str.len_chars().to_numpy()
    return ((score > model.screen_min_rule_score) | (chars < model.screen_max_chars)
            | ((chars < model.screen_short_chars) & (score > model.screen_short_min_rule_score))
            | stand_in_hits(text))


def combine(rules: pl.DataFrame, model_out: pl.DataFrame, screened: np.ndarray,
            requests: pl.Series | None = None, responses: pl.Series | None = None) -> pl.DataFrame:
    """The shipped decision: a refusal when the cue scorer *or* the model (on screened rows without
    a compliance cue) says so; its type and score from the model where it read the message.

    Why the union: held out, the model alone loses to the cues on XSTest and on ShareGPT, and
    the cues alone miss most real refusals not phrased as a decline; their union is at least as
    good as the better of the two on every labelled set (``chatlens validate``). The compliance
    veto costs nothing held out on the real set and stops the model calling "As an AI I don't
    have personal experiences, but here is…" a refusal.

    ``requests`` (the user message each reply answers, where known): a reply to a question about
    the assistant itself whose only refusal evidence is "I don't have feelings / opinions" is a
    direct answer, not a refusal (labels.md rule 3,
    :func:`~chatlens.signals.refusal_context.answers_about_self`).

    ``responses`` (the replies themselves): a reply that answers in several voices, one of which
    does the task ("[🔒CLASSIC] I can't… [🔓JAILBREAK] Sure, here is…"), is not a refusal
    (labels.md rules 7 and 9, :func:`~chatlens.signals.personas.complies_in_persona`); only the
    replies called refusals are read for it.
    """
    from chatlens.signals.personas import complies_in_persona
    from chatlens.signals.refusal_context import answers_about_self, compliance_evidence

    # the cue scorer's compliance evidence ("but I can give you…", "here is…") vetoes the model:
    # a disclaimer followed by doing the task is not a refusal (docs/labels.md)
    read = screened & ~compliance_evidence(rules["refusal_cues"])
    p = np.where(read, model_out["refusal_score"].to_numpy(), 0.0)
    refused = rules["refusal"].to_numpy() | (read & model_out["refusal"].to_numpy())
    score = np.maximum(p, rules["refusal_score"].to_numpy())
    if requests is not None:
        answers = answers_about_self(rules["refusal_cues"], requests)
        refused &= ~answers
        # keep "refusal iff refusal_score >= 0.5": a rule-3 answer scores below the threshold
        score = np.where(answers, np.minimum(score, RULE3_MAX_SCORE), score)
    if responses is not None and refused.any():
        idx = np.flatnonzero(refused)
        persona = np.zeros(len(refused), dtype=bool)
        persona[idx] = complies_in_persona(responses.gather(idx))
        refused &= ~persona
        score = np.where(persona, np.minimum(score, RULE3_MAX_SCORE), score)
    kind = np.where(screened, model_out["type_if_refused"].to_numpy(), rules["refusal_type"].to_numpy())
    return rules.with_columns(
        refusal=pl.Series(refused),
        refusal_type=pl.Series(np.where(refused, kind, "none").astype(str)),
        refusal_score=pl.Series(np.round(score, 4)),
        refusal_partial=rules["refusal_partial"] & pl.Series(refused),
    )


def blend_encoder(model_out: pl.DataFrame, encoder_p: np.ndarray, *, weight: float,
                  threshold: float) -> pl.DataFrame:
    """The context model's output with its probability blended with the encoder's (weighted
    mean, ``weight`` on the encoder) and its decision taken on the blend at ``threshold``; the
    refusal type stays the context model's."""
    context_p = model_out["refusal_score"].to_numpy()
    p = np.clip((1.0 - weight) * context_p + weight * np.asarray(encoder_p), 0.0, 1.0)
    return model_out.with_columns(refusal=pl.Series(p >= threshold),
                                  refusal_score=pl.Series(np.round(p, 4)))


def detect_refusal_in_context(responses: pl.Series | list[str | None],
                              requests: pl.Series | list[str | None] | None = None,
                              *, model: RefusalModel | None = None,
                              encoder: Any = None) -> pl.DataFrame:
    """:func:`~chatlens.signals.refusal.detect_refusal`'s columns, decided in context: the cue
    scorer united with the context model, which reads the request each reply answers
    (:func:`combine`, on the messages :func:`screen` passes).

    ``encoder``: ``True`` (the shipped :mod:`~chatlens.signals.refusal_encoder`, needs the
    ``encoder`` extra) or a :class:`~chatlens.signals.refusal_encoder.RefusalEncoder`: the
    context model's probability is blended with the encoder's on the replies the model reads
    (:func:`blend_encoder`); slower, more accurate out of source (``chatlens validate``).

    Examples
    --------
    >>> import polars as pl
    >>> out = detect_refusal_in_context(
    ...     pl.Series(["I'm not sure what you mean. Who is that?", "Paris is the capital of France."]),
    ...     pl.Series(["how do I get back at NAME_1", "What is the capital of France?"]))
    >>> out["refusal"].to_list()
    [True, False]
    """
    from chatlens.signals.refusal import OUTPUT_SCHEMA, _as_series, analyse_refusal, refusal_frame

    resp = _as_series(responses)
    req = None if requests is None else _as_series(requests)
    if req is not None and len(req) != len(resp):
        msg = (f"detect_refusal_in_context: 'requests' must hold one request (or null) per "
               f"response, in the same order. Got {len(resp)} responses and {len(req)} requests.")
        raise InvalidParameterError(msg)
    if len(resp) == 0:
        return pl.DataFrame(schema=OUTPUT_SCHEMA)
    analysis = analyse_refusal(resp)  # once: the cue scorer's columns and the model's features
    rules = refusal_frame(analysis)
    m = active_model() if model is None else model
    screened = screen(rules, resp, m)
    n = len(resp)
    cols = {"refusal": np.zeros(n, dtype=bool), "refusal_type": np.full(n, "none", dtype=object),
            "type_if_refused": np.full(n, "none", dtype=object), "refusal_score": np.zeros(n)}
    idx = np.flatnonzero(screened)
    # in chunks: each row's features are its own, so the result is the same, and the feature
    # matrices (hashed n-grams of every screened reply) stay bounded whatever the batch size
    for start in range(0, len(idx), PREDICT_CHUNK):
        part = idx[start:start + PREDICT_CHUNK]
        got = m.predict(resp.gather(part), None if req is None else req.gather(part),
                        analysis=analysis.take(part))
        for name, values in cols.items():
            values[part] = got[name].to_numpy()
    out = pl.DataFrame({k: v.astype(str) if v.dtype == object else v for k, v in cols.items()})
    if encoder is not None and encoder is not False:
        out = _with_encoder(out, rules, screened, resp, req, encoder)
    return combine(rules, out, screened, req, resp)


def _with_encoder(out: pl.DataFrame, rules: pl.DataFrame, screened: np.ndarray, resp: pl.Series,
                  req: pl.Series | None, encoder: Any) -> pl.DataFrame:
    """``out`` blended with the encoder on the rows :func:`combine` reads from the model."""
    from chatlens._progress import progress_bar
    from chatlens.signals.refusal_context import compliance_evidence
    from chatlens.signals.refusal_encoder import load_encoder

    enc = load_encoder() if encoder is True else encoder
    read = np.flatnonzero(screened & ~compliance_evidence(rules["refusal_cues"]))
    if not len(read):
        return out
    with progress_bar(description="refusal encoder", total=len(read), unit="replies") as advance:
        p = enc.predict_proba(resp.gather(read), None if req is None else req.gather(read),
                              advance=advance)
    part = blend_encoder(out[read], p, weight=enc.blend, threshold=enc.threshold)
    return out.with_columns(
        refusal=pl.Series(out["refusal"].to_numpy().copy()).scatter(read, part["refusal"]),
        refusal_score=pl.Series(out["refusal_score"].to_numpy().copy()).scatter(
            read, part["refusal_score"]))
