"""Boundary checks shared by the public statistics functions (internal).

Messages follow the project form: what, which, expected, got.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import polars as pl

from chatlens.errors import InvalidParameterError, MissingColumnError


def check_confidence(confidence: float, func: str) -> None:
    """Raise unless ``0 < confidence < 1``."""
    if not isinstance(confidence, (int, float)) or not 0.0 < float(confidence) < 1.0:
        msg = f"The 'confidence' parameter of {func} must be in (0, 1). Got {confidence!r} instead."
        raise InvalidParameterError(msg)


def check_choice(value: object, choices: Sequence[str], name: str, func: str) -> None:
    """Raise unless ``value`` is one of ``choices``."""
    if value not in choices:
        msg = (
            f"The {name!r} parameter of {func} must be one of {list(choices)}. "
            f"Got {value!r} instead."
        )
        raise InvalidParameterError(msg)


def check_int(value: object, name: str, func: str, *, minimum: int) -> None:
    """Raise unless ``value`` is an int >= ``minimum`` (bools rejected)."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
        msg = f"The {name!r} parameter of {func} must be an integer >= {minimum}. Got {value!r} instead."
        raise InvalidParameterError(msg)


def check_frame(frame: object, func: str) -> pl.DataFrame:
    """Accept a polars DataFrame or LazyFrame (collected); raise otherwise."""
    if isinstance(frame, pl.LazyFrame):
        return frame.collect()
    if not isinstance(frame, pl.DataFrame):
        msg = (
            f"The 'frame' parameter of {func} must be a polars DataFrame or LazyFrame. "
            f"Got {type(frame).__name__} instead."
        )
        raise InvalidParameterError(msg)
    return frame


def as_list(cols: str | Sequence[str] | None) -> list[str]:
    """Normalise a column name or a sequence of names to a list."""
    if cols is None:
        return []
    if isinstance(cols, str):
        return [cols]
    return list(cols)


def check_columns(frame: pl.DataFrame, cols: Sequence[str], func: str) -> None:
    """Raise MissingColumnError naming every absent column."""
    missing = [c for c in cols if c not in frame.columns]
    if missing:
        msg = (
            f"{func} needs column(s) {missing} which the frame does not have. "
            f"Available: {frame.columns}."
        )
        raise MissingColumnError(msg)


def binary_column(frame: pl.DataFrame, col: str, func: str) -> pl.Expr:
    """An Int64 0/1 expression for a boolean or 0/1 numeric column (nulls stay null).

    Float NaN is treated as missing. Any other value raises InvalidParameterError.
    """
    dtype = frame.schema[col]
    expr = pl.col(col)
    if dtype == pl.Boolean:
        return expr.cast(pl.Int64)
    if dtype.is_numeric():
        if dtype.is_float():
            expr = expr.fill_nan(None)
        is_bad = expr.is_not_null() & (expr != 0) & (expr != 1)
        bad = frame.select(is_bad.sum().alias("bad")).item()
        if bad:
            example = frame.filter(is_bad)[col][0]
            msg = (
                f"Column {col!r} given to {func} must be boolean or 0/1. "
                f"Got {bad} row(s) with other values, e.g. {example!r}."
            )
            raise InvalidParameterError(msg)
        return expr.cast(pl.Int64)
    msg = f"Column {col!r} given to {func} must be boolean or 0/1 numeric. Got dtype {dtype}."
    raise InvalidParameterError(msg)


def numeric_array(values: object, name: str, func: str) -> np.ndarray:
    """A 1-D float64 array with NaNs removed; raises on non-numeric or multi-dimensional input."""
    arr = float_vector(values, name, func)
    return arr[~np.isnan(arr)]


def float_vector(values: object, name: str, func: str) -> np.ndarray:
    """A 1-D float64 array (NaNs kept, for callers that answer NaN in place); raises on
    non-numeric or multi-dimensional input."""
    if isinstance(values, pl.Series):
        values = values.cast(pl.Float64, strict=False).to_numpy()
    try:
        arr = np.asarray(values, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        msg = f"The {name!r} argument of {func} must be numeric. Got {type(values).__name__}: {exc}."
        raise InvalidParameterError(msg) from exc
    if arr.ndim != 1:
        msg = f"The {name!r} argument of {func} must be 1-D. Got shape {arr.shape}."
        raise InvalidParameterError(msg)
    return arr
