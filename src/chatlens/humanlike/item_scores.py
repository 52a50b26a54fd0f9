"""Logit and probability of human-likeness from item ratings: ``w . x + bias``, reverse items flipped.

Why apart from reading ratings (:mod:`~chatlens.humanlike.scoring` reads them from table
columns): judges, ``score`` and the Turing evaluation all score a ratings matrix the same way.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import numpy as np

from chatlens.errors import InvalidParameterError

if TYPE_CHECKING:
    from chatlens.humanlike.instrument_types import Instrument

__all__ = ["oriented", "ratings_matrix", "score_ratings"]


def _sigmoid(x: np.ndarray) -> np.ndarray:
    with np.errstate(over="ignore"):
        return 1.0 / (1.0 + np.exp(-x))


def ratings_matrix(ratings: Any, instrument: Instrument) -> np.ndarray:
    """Ratings as an (n, k) float array in item order; NaN where missing.

    ``ratings`` may be a mapping key -> value (one row), a mapping key -> sequence (columns),
    a 1-D/2-D array already in item order, or a polars DataFrame with one column per item key
    (named as the key or as ``hl_item_<key>``).
    """
    keys = instrument.keys
    try:
        import polars as pl
    except ImportError:  # pragma: no cover - polars is a core dependency
        pl = None
    if pl is not None and isinstance(ratings, pl.DataFrame):
        cols = []
        named = instrument.item_columns()
        for k in keys:
            name = k if k in ratings.columns else named[k]
            if name not in ratings.columns:
                msg = (f"ratings frame lacks a column for item {k!r} of instrument "
                       f"{instrument.name!r}; expected '{k}' or '{named[k]}'")
                raise InvalidParameterError(msg)
            cols.append(ratings.get_column(name).cast(pl.Float64).to_numpy())
        return np.column_stack(cols) if cols else np.empty((ratings.height, 0))
    if isinstance(ratings, Mapping):
        missing = [k for k in keys if k not in ratings]
        if missing:
            msg = (f"ratings lack items {missing} of instrument {instrument.name!r}; "
                   f"got keys {sorted(map(str, ratings))[:40]}")
            raise InvalidParameterError(msg)
        cols = [np.atleast_1d(np.asarray(
            [np.nan if v is None else v for v in np.atleast_1d(np.asarray(ratings[k], dtype=object))],
            dtype=np.float64)) for k in keys]
        return np.column_stack(cols)
    arr = np.asarray(ratings, dtype=np.float64)
    if arr.ndim == 1:
        arr = arr[None, :]
    if arr.ndim != 2 or arr.shape[1] != len(keys):
        msg = (f"ratings array must have {len(keys)} columns (items of {instrument.name!r} in "
               f"order); got shape {arr.shape}")
        raise InvalidParameterError(msg)
    return arr


def oriented(x: np.ndarray, instrument: Instrument) -> np.ndarray:
    """Ratings in item order with the reverse-keyed items flipped (``min + max - x``): what the
    weights multiply.

    Why one helper: scoring flips reverse items before weighting, so weights must be fitted, and
    a scale's reliability computed, on the same flipped ratings (a fit on the raw ratings gave a
    reverse item the opposite sign once scored: AUC 0.997 in the fit, 0.038 scoring with it).
    """
    rev = instrument.reverse_mask
    if not rev.any():
        return x
    x = np.array(x, dtype=np.float64)
    x[:, rev] = instrument.scale.min + instrument.scale.max - x[:, rev]
    return x


def score_ratings(ratings: Any, instrument: Instrument) -> Any:
    """Logit and probability of human-likeness for ratings, vectorised.

    Returns ``(logit, prob)`` floats for a single mapping of key -> rating, otherwise a pair of
    float arrays; for a polars DataFrame (item columns) it returns the frame with ``hl_logit``
    and ``hl_prob`` appended. Rows with any missing rating get NaN/null scores.

    Examples
    --------
    >>> from chatlens.humanlike.instruments import load_instrument
    >>> inst = load_instrument("hal16q-published")
    >>> logit, prob = score_ratings({k: 1 for k in inst.keys}, inst)
    >>> round(logit, 4)
    -2.2378
    """
    if instrument.bias is None:
        msg = (f"instrument {instrument.name!r} has no scoring weights (no 'scoring.bias'); "
               "fit some with `chatlens humanlike fit`")
        raise InvalidParameterError(msg)
    x = oriented(ratings_matrix(ratings, instrument), instrument)
    logit = x @ instrument.weights + instrument.bias
    prob = _sigmoid(logit)
    try:
        import polars as pl

        if isinstance(ratings, pl.DataFrame):
            return ratings.with_columns(
                pl.Series("hl_logit", logit).fill_nan(None),
                pl.Series("hl_prob", prob).fill_nan(None),
            )
    except ImportError:  # pragma: no cover
        pass
    if isinstance(ratings, Mapping) and all(np.ndim(ratings[k]) == 0 for k in instrument.keys):
        return float(logit[0]), float(prob[0])
    return logit, prob
