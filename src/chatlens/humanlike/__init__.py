"""chatlens.humanlike: questionnaire judges, scoring, fitting, Turing evaluation and HL-lite.

* :mod:`~chatlens.humanlike.instruments` — HAL16Q/HAL32Q/user rubrics as validated data files
  (loading; the instrument's parts live in ``instrument_types``, ``instrument_schema``,
  ``prompt``, ``answers`` and ``item_scores``).
* :mod:`~chatlens.humanlike.scoring` — ``score``: existing ratings -> ``hl_logit``/``hl_prob``.
* :mod:`~chatlens.humanlike.estimators` — the questionnaire fit and HL-lite as scikit-learn
  estimators.
* :mod:`~chatlens.humanlike.fit` — ``fit``: L1 weights with game-grouped CV.
* :mod:`~chatlens.humanlike.witnesses` — Turing files as one row per labelled witness.
* :mod:`~chatlens.humanlike.turing` — ``turing_eval``: accuracy, AUC, paired accuracy.
* :mod:`~chatlens.humanlike.lite` — HL-lite, a judge without an LLM (``turns``,
  ``lite_lexicons``, ``lite_features``, ``lite_model``).

Metrics and intervals come from the statistics layer (:mod:`chatlens.stats.metrics`).

Names load lazily so ``import chatlens.humanlike`` stays cheap.
"""

from __future__ import annotations

from chatlens._lazy import lazy_exports

_LAZY: dict[str, str] = {
    "Instrument": "chatlens.humanlike.instruments:Instrument",
    "Item": "chatlens.humanlike.instruments:Item",
    "ParsedRatings": "chatlens.humanlike.instruments:ParsedRatings",
    "load_instrument": "chatlens.humanlike.instruments:load_instrument",
    "list_instruments": "chatlens.humanlike.instruments:list_instruments",
    "score_ratings": "chatlens.humanlike.instruments:score_ratings",
    "score": "chatlens.humanlike.scoring:score",
    "fit": "chatlens.humanlike.fit:fit",
    "write_weights_yaml": "chatlens.humanlike.fit:write_weights_yaml",
    "turing_eval": "chatlens.humanlike.turing:turing_eval",
    "witness_frame": "chatlens.humanlike.witnesses:witness_frame",
    "lite_score": "chatlens.humanlike.lite:lite_score",
    "LiteClassifier": "chatlens.humanlike.estimators:LiteClassifier",
    "QuestionnaireClassifier": "chatlens.humanlike.estimators:QuestionnaireClassifier",
    "lite_features": "chatlens.humanlike.lite:lite_features",
    "train_lite": "chatlens.humanlike.lite:train_lite",
}

__all__ = sorted(_LAZY)


__getattr__, __dir__ = lazy_exports("chatlens.humanlike", globals(), _LAZY)
