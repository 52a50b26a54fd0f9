"""The two learned human-likeness judges as scikit-learn estimators.

Why the contract: a judge fitted inside cross-validation folds must be a fresh, unfitted copy in
every fold, and a fitted one must be inspectable and storable. scikit-learn's contract gives
exactly that: ``__init__`` stores parameters only (so ``clone`` works), ``fit`` returns ``self``,
learned state ends in ``_``, and using an unfitted estimator raises ``NotFittedError``. Both
estimators here pass scikit-learn's common estimator checks (``tests/humanlike/test_estimators``).

* :class:`QuestionnaireClassifier` — the questionnaire fit (``chatlens humanlike fit``): L1
  logistic regression on raw ratings, optionally keeping only items with ``|w| > threshold`` and
  refitting on them (HAL16's selection), so the weights apply to ratings directly.
* :class:`LiteClassifier` — HL-lite's model: standardised features and a logistic regression;
  its learned state is the :class:`~chatlens.humanlike.lite_model.LiteModel` written to the
  weights data file.

Both are binary classifiers (human vs AI): ``decision_function`` is the logit of the second class.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import sklearn
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.exceptions import NotFittedError as SklearnNotFittedError
from sklearn.linear_model import LogisticRegression
from sklearn.utils.multiclass import check_classification_targets, type_of_target

from chatlens.errors import NotFittedError
from chatlens.humanlike.lite_model import LiteModel

__all__ = ["EstimatorNotFittedError", "LiteClassifier", "QuestionnaireClassifier", "logistic"]


_VERSION = tuple(int(p) for p in sklearn.__version__.split(".")[:2])


class EstimatorNotFittedError(NotFittedError, SklearnNotFittedError):
    """Raised by an unfitted estimator: a chatlens error that scikit-learn also recognises."""


def logistic(c: float, *, l1: bool = True, seed: int = 0) -> LogisticRegression:
    """An L1 (liblinear) or L2 (lbfgs) LogisticRegression across scikit-learn versions.

    scikit-learn 1.8 deprecated ``penalty`` in favour of ``l1_ratio``; older versions ignore
    ``l1_ratio`` unless ``penalty='elasticnet'``, so the spelling depends on the version.
    """
    solver = "liblinear" if l1 else "lbfgs"
    if _VERSION >= (1, 8):
        return LogisticRegression(l1_ratio=1.0 if l1 else 0.0, solver=solver, C=c,
                                  random_state=seed, max_iter=2000)
    return LogisticRegression(penalty="l1" if l1 else "l2", solver=solver, C=c,  # type: ignore[call-arg]
                              random_state=seed, max_iter=2000)


def _validate(est: BaseEstimator, x: Any, y: Any = "no_validation", *, reset: bool) -> Any:
    """scikit-learn's input validation (``validate_data`` from 1.6, the method before)."""
    try:
        from sklearn.utils.validation import validate_data
    except ImportError:  # scikit-learn < 1.6
        return est._validate_data(x, y, reset=reset)  # type: ignore[attr-defined]
    return validate_data(est, x, y, reset=reset)


class _BinaryLogit(ClassifierMixin, BaseEstimator):
    """Shared plumbing: binary targets, fitted check, probabilities and predictions."""

    #: the learned attribute whose presence means "fitted"
    _fitted_attr = "classes_"

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        tags.classifier_tags.multi_class = False
        return tags

    def _more_tags(self) -> dict[str, bool]:  # scikit-learn < 1.6
        return {"binary_only": True}

    def _targets(self, x: Any, y: Any) -> tuple[np.ndarray, np.ndarray]:
        x, y = _validate(self, x, y, reset=True)
        check_classification_targets(y)
        kind = type_of_target(y, input_name="y")
        if kind == "multiclass":
            msg = (f"Only binary classification is supported: {type(self).__name__} tells human "
                   f"from AI. The type of the target is {kind}.")
            raise ValueError(msg)
        self.classes_ = np.unique(y)
        if len(self.classes_) != 2:
            msg = (f"{type(self).__name__} is a binary classifier (human vs AI): y must hold "
                   f"exactly 2 classes. Got {len(self.classes_)} class(es).")
            raise ValueError(msg)
        return x, y

    def _check_fitted(self, method: str) -> None:
        if not hasattr(self, self._fitted_attr):
            msg = f"This {type(self).__name__} is not fitted yet: call fit before {method}."
            raise EstimatorNotFittedError(msg)

    def _logit(self, x: np.ndarray) -> np.ndarray:
        raise NotImplementedError  # pragma: no cover - each estimator defines its logit

    def decision_function(self, X: Any) -> np.ndarray:
        """Logit of the second class (``classes_[1]``, e.g. ``True`` = human) per row."""
        self._check_fitted("decision_function")
        return self._logit(_validate(self, X, reset=False))

    def predict_proba(self, X: Any) -> np.ndarray:
        """``(n, 2)`` class probabilities in ``classes_`` order."""
        self._check_fitted("predict_proba")
        with np.errstate(over="ignore"):
            p = 1.0 / (1.0 + np.exp(-self.decision_function(X)))
        return np.column_stack([1.0 - p, p])

    def predict(self, X: Any) -> np.ndarray:
        """The class whose logit side each row falls on (logit > 0: ``classes_[1]``)."""
        self._check_fitted("predict")
        return self.classes_[(self.decision_function(X) > 0).astype(int)]


class QuestionnaireClassifier(_BinaryLogit):
    """L1 logistic regression on questionnaire ratings, with HAL's ``|w| > threshold`` selection.

    Parameters
    ----------
    c
        Inverse L1 strength (HAL: 1.0).
    threshold
        Keep items with ``|w| > threshold`` and refit on them (HAL16: 0.2); ``None`` keeps all.
        When no weight passes, the largest ones are kept.
    seed
        ``random_state`` of the liblinear solver.

    Attributes
    ----------
    coef_
        One weight per input column (0 for dropped items).
    intercept_
        The bias.
    support_
        Boolean mask of the kept columns.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> x = rng.integers(1, 6, (200, 3)).astype(float)
    >>> y = x[:, 0] + rng.normal(0, 1, 200) > 3
    >>> est = QuestionnaireClassifier(threshold=0.2).fit(x, y)
    >>> est.support_.tolist(), bool(est.coef_[0] > 0)
    ([True, False, False], True)
    """

    _fitted_attr = "coef_"

    def __init__(self, *, c: float = 1.0, threshold: float | None = 0.2, seed: int = 0) -> None:
        self.c = c
        self.threshold = threshold
        self.seed = seed

    def fit(self, X: Any, y: Any) -> QuestionnaireClassifier:
        """Fit on all columns, select, refit on the kept columns; returns ``self``."""
        x, y = self._targets(X, y)
        model = logistic(self.c, l1=True, seed=self.seed).fit(x, y)
        keep = np.ones(x.shape[1], dtype=bool)
        if self.threshold is not None:
            keep = np.abs(model.coef_[0]) > self.threshold
            if not keep.any():
                keep = np.abs(model.coef_[0]) == np.abs(model.coef_[0]).max()
            model = logistic(self.c, l1=True, seed=self.seed).fit(x[:, keep], y)
        w = np.zeros(x.shape[1])
        w[keep] = model.coef_[0]
        self.coef_ = w
        self.intercept_ = float(model.intercept_[0])
        self.support_ = keep
        return self

    def _logit(self, x: np.ndarray) -> np.ndarray:
        return x @ self.coef_ + self.intercept_


class LiteClassifier(_BinaryLogit):
    """HL-lite's model: standardise each feature, then a logistic regression.

    Parameters
    ----------
    c
        Inverse regularisation strength (HL-lite ships C = 0.3, L2).
    l1
        L1 (liblinear) instead of L2 (lbfgs).
    seed
        ``random_state`` of the solver.
    feature_names
        Names recorded in ``model_`` (default ``x0, x1, ...``).

    Attributes
    ----------
    model_
        The fitted :class:`~chatlens.humanlike.lite_model.LiteModel` (means, scales, weights,
        intercept): what :func:`~chatlens.humanlike.lite_model.save_lite_model` writes.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> x = rng.normal(0, 5, (100, 2))
    >>> est = LiteClassifier().fit(x, x[:, 1] > 0)
    >>> est.model_.features, bool(est.model_.weights[1] > 0)
    (('x0', 'x1'), True)
    """

    _fitted_attr = "model_"

    def __init__(self, *, c: float = 0.3, l1: bool = False, seed: int = 0,
                 feature_names: Sequence[str] | None = None) -> None:
        self.c = c
        self.l1 = l1
        self.seed = seed
        self.feature_names = feature_names

    def fit(self, X: Any, y: Any) -> LiteClassifier:
        """Standardise (scale floored at 1 for constant columns) and fit; returns ``self``."""
        x, y = self._targets(X, y)
        names = (tuple(self.feature_names) if self.feature_names is not None
                 else tuple(f"x{i}" for i in range(x.shape[1])))
        if len(names) != x.shape[1]:
            msg = (f"The 'feature_names' parameter of LiteClassifier names {len(names)} features "
                   f"but X has {x.shape[1]} columns.")
            raise ValueError(msg)
        mean = x.mean(axis=0)
        scale = x.std(axis=0)
        scale[scale < 1e-9] = 1.0
        model = logistic(self.c, l1=self.l1, seed=self.seed).fit((x - mean) / scale, y)
        self.model_ = LiteModel(names, tuple(mean.tolist()), tuple(scale.tolist()),
                                tuple(model.coef_[0].tolist()), float(model.intercept_[0]))
        return self

    def _logit(self, x: np.ndarray) -> np.ndarray:
        return self.model_.decision(x)
