"""The questionnaire fit and HL-lite's model keep scikit-learn's estimator contract.

scikit-learn's own common checks run on both (``parametrize_with_checks``: cloning, parameters
untouched by ``fit``, ``fit`` returning ``self``, ``n_features_in_``, NaN/inf rejected,
``NotFittedError`` before ``fit``, pickling, ...), plus the chatlens side of the contract.
"""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.exceptions import NotFittedError as SklearnNotFittedError
from sklearn.utils.estimator_checks import parametrize_with_checks

from chatlens.errors import ChatlensError, NotFittedError
from chatlens.humanlike.estimators import LiteClassifier, QuestionnaireClassifier
from chatlens.humanlike.lite_features import FEATURES
from chatlens.humanlike.lite_model import load_lite_model, save_lite_model


@parametrize_with_checks([QuestionnaireClassifier(), LiteClassifier()])
def test_scikit_learn_common_checks(estimator, check):
    check(estimator)


def _ratings(n: int = 300, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    x = rng.integers(1, 6, (n, 6)).astype(float)
    y = x[:, 0] - x[:, 3] + rng.normal(0, 1, n) > 0
    return x, y


@pytest.mark.parametrize("est", [QuestionnaireClassifier(), LiteClassifier()])
def test_unfitted_use_is_a_chatlens_error_scikit_learn_recognises(est):
    x, _ = _ratings()
    for method in (est.predict, est.predict_proba, est.decision_function):
        with pytest.raises(NotFittedError, match="not fitted yet") as info:
            method(x)
        assert isinstance(info.value, ChatlensError)
        assert isinstance(info.value, SklearnNotFittedError)


def test_questionnaire_selection_keeps_informative_items_and_clone_forgets_them():
    x, y = _ratings()
    est = QuestionnaireClassifier(threshold=0.2)
    assert est.fit(x, y) is est
    assert est.support_[0] and est.support_[3] and est.coef_[0] > 0 > est.coef_[3]
    assert np.all(est.coef_[~est.support_] == 0)
    assert np.array_equal(est.decision_function(x), x @ est.coef_ + est.intercept_)
    assert est.predict(x).dtype == bool and (est.predict(x) == y).mean() > 0.8
    fresh = clone(est)
    assert fresh.get_params() == {"c": 1.0, "threshold": 0.2, "seed": 0}
    assert not hasattr(fresh, "coef_")
    keep_all = QuestionnaireClassifier(threshold=None).fit(x, y)
    assert keep_all.support_.all()


def test_questionnaire_rejects_a_single_class():
    x, _ = _ratings()
    with pytest.raises(ValueError, match="exactly 2 classes"):
        QuestionnaireClassifier().fit(x, np.ones(len(x), dtype=bool))


def test_lite_model_round_trips_through_the_weights_file(tmp_path):
    rng = np.random.default_rng(1)
    x = rng.normal(0, 3, (200, len(FEATURES)))
    y = x[:, 2] + rng.normal(0, 1, 200) > 0
    est = LiteClassifier(feature_names=FEATURES).fit(x, y)
    assert est.model_.features == FEATURES
    back = load_lite_model(save_lite_model(est.model_, tmp_path / "w.yaml"))
    assert np.allclose(back.decision(x), est.decision_function(x))
    proba = est.predict_proba(x)
    assert np.allclose(proba.sum(axis=1), 1.0)
    assert np.array_equal(proba[:, 1] > 0.5, est.decision_function(x) > 0)
    with pytest.raises(ValueError, match="names 2 features"):
        LiteClassifier(feature_names=("a", "b")).fit(x, y)
