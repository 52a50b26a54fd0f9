"""Scoring existing questionnaire ratings (``chatlens humanlike score``).

Ratings come in the layouts the HAL files use: a JSON list per row (``"[4, 1, 1, ...]"``, one
value per statement in prompt order) or a JSON object per row (the judge's answer, read **by
key**). Lists carry no keys, so their positions must be declared: by default they are the
instrument's own items in order; ``list_keys`` names another layout (e.g. the keys of ``hal32q``
so that ``hal16q`` can score 32-item HAL32Q answers by key).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import polars as pl

from chatlens.errors import InvalidParameterError, MissingColumnError
from chatlens.humanlike.answers import parse_ratings
from chatlens.humanlike.instrument_types import Instrument
from chatlens.humanlike.instruments import load_instrument
from chatlens.humanlike.item_scores import score_ratings

__all__ = ["ratings_from_column", "resolve_list_keys", "score"]


def resolve_list_keys(
    list_keys: str | Sequence[str] | Instrument | None, instrument: Instrument
) -> tuple[str, ...]:
    """Keys of the positions of a ratings list.

    ``None`` means the instrument's own items in order; a string naming an instrument (or a
    YAML path) means that instrument's keys; a comma-separated string or a sequence lists keys.
    """
    if list_keys is None:
        return instrument.keys
    if isinstance(list_keys, str) and "," in list_keys:
        return tuple(k.strip() for k in list_keys.split(",") if k.strip())
    if isinstance(list_keys, (str, Path, Instrument)):
        other = load_instrument(list_keys)
        if other.key_space != instrument.key_space:
            msg = (f"ratings lists follow instrument {other.name!r} (keys numbered in "
                   f"{other.key_space!r}) but instrument {instrument.name!r} numbers its items in "
                   f"{instrument.key_space!r}: equal keys would not mean the same statements. "
                   "Score with an instrument of the same key space, or pass explicit keys.")
            raise InvalidParameterError(msg)
        return other.keys
    return tuple(str(k) for k in list_keys)


def _decode_list(text: str | None) -> tuple[list[float] | None, str | None]:
    """One cell as a list of numbers, or None and why not (a missing cell is just None)."""
    if text is None:
        return None, None
    shown = text if len(text) <= 40 else text[:40] + "..."
    why = f"not a JSON list of numeric ratings: {shown!r}"
    try:
        value = json.loads(text)
    except (ValueError, RecursionError):  # json.JSONDecodeError is a ValueError
        return None, why
    if not isinstance(value, list) or not all(
        isinstance(v, (int, float)) and not isinstance(v, bool) for v in value
    ):
        return None, why
    return [float(v) for v in value], None


def _decode_lists_row_by_row(col: pl.Series) -> tuple[pl.Series, list[str | None]]:
    """JSON lists decoded one cell at a time, with a reason for each cell that is not one.

    Why: polars decodes a column all at once and fails as a whole, so one cell such as
    ``error`` made the whole file unscorable; this slower path runs only after that failure.
    """
    decoded = [_decode_list(text) for text in col.to_list()]
    values = pl.Series(col.name, [v for v, _ in decoded], dtype=pl.List(pl.Float64))
    return values, [why for _, why in decoded]


def ratings_from_column(
    frame: pl.DataFrame,
    column: str,
    instrument: Instrument,
    *,
    list_keys: str | Sequence[str] | Instrument | None = None,
) -> tuple[np.ndarray, list[str | None]]:
    """Per-row ratings of ``instrument``'s items as an (n, k) array, and a problem per row.

    Lists are decoded vectorised (polars JSON decoding; row by row when a cell is not valid
    JSON, so one bad cell costs only its row) and mapped to keys through ``list_keys``; JSON
    objects are parsed row by row with :func:`parse_ratings` (by key). Rows that cannot be read
    get NaN ratings and a reason; they are never dropped silently.

    Examples
    --------
    >>> inst = load_instrument("hal16q-published")
    >>> df = pl.DataFrame({"r": [str([1] * 16), "error", None]})
    >>> x, problems = ratings_from_column(df, "r", inst)
    >>> np.isfinite(x).all(axis=1).tolist(), problems[1:]
    ([True, False, False], ["not a JSON list of numeric ratings: 'error'", 'expected a list of 16 ratings, got nothing'])
    """
    if column not in frame.columns:
        msg = f"ratings column {column!r} not found; columns are {frame.columns}"
        raise MissingColumnError(msg)
    col = frame.get_column(column)
    n, k = frame.height, len(instrument.items)
    out = np.full((n, k), np.nan)
    problems: list[str | None] = [None] * n
    if isinstance(col.dtype, pl.String):
        # Each cell is read by its own form: one holding a JSON object (a judge's answer, with
        # any chatter or fence around it) by key, the others as lists. The first non-empty cell
        # used to decide for the whole column, so a first answer of "error" or "Sure! {...}"
        # made every valid object in the file unreadable as "not a JSON list".
        text = col.str.strip_chars()
        listy = text.str.starts_with("[").fill_null(value=False)
        obj = text.str.contains("{", literal=True).fill_null(value=False) & ~listy
        if obj.any() and not listy.any():  # a column of answers: every cell is one (or empty)
            obj = pl.Series([True] * n)
        obj_rows = np.flatnonzero(obj.to_numpy())
        for r in obj_rows:
            parsed = parse_ratings(col[int(r)], instrument)
            out[r] = [np.nan if v is None else v for v in parsed.values.values()]
            problems[r] = parsed.reason
        if len(obj_rows) == n:
            return out, problems
        if len(obj_rows):
            rest = np.setdiff1d(np.arange(n), obj_rows)
            sub, why = ratings_from_column(frame[rest], column, instrument, list_keys=list_keys)
            out[rest] = sub
            for r, reason in zip(rest, why, strict=True):
                problems[r] = reason
            return out, problems
    keys = resolve_list_keys(list_keys, instrument)
    pos = {kk: i for i, kk in enumerate(keys)}
    missing = [kk for kk in instrument.keys if kk not in pos]
    if missing:
        msg = (f"list positions {list(keys)} do not cover items {missing} of instrument "
               f"{instrument.name!r}; pass list_keys naming the instrument that produced the lists")
        raise InvalidParameterError(msg)
    if isinstance(col.dtype, pl.String):
        try:
            col = col.str.json_decode(pl.List(pl.Float64))
        except pl.exceptions.PolarsError:
            col, problems = _decode_lists_row_by_row(col)
    if not isinstance(col.dtype, (pl.List, pl.Array)):
        msg = f"ratings column {column!r} must hold lists or JSON objects, got {col.dtype}"
        raise InvalidParameterError(msg)
    col = col.cast(pl.List(pl.Float64))
    lengths = col.list.len().fill_null(0).to_numpy()
    idx = [pos[kk] for kk in instrument.keys]
    good = lengths == len(keys)
    if good.any():
        mat = np.array(col.filter(pl.Series(good)).to_list(), dtype=np.float64)
        if mat.ndim == 2:
            out[good] = mat[:, idx]
    for r in np.flatnonzero(~good):
        if problems[r] is None:  # else the row-by-row decoding already said why
            problems[r] = (f"expected a list of {len(keys)} ratings, got "
                           f"{'nothing' if col[int(r)] is None else int(lengths[r])}")
    sub = out[good]
    lo, hi = instrument.scale.min, instrument.scale.max
    bad_vals = good.copy()
    bad_vals[good] = np.any((sub < lo) | (sub > hi) | (sub != np.round(sub)), axis=1)
    for r in np.flatnonzero(bad_vals):
        problems[r] = f"ratings outside the integer scale {lo}-{hi}"
        out[r] = np.nan
    return out, problems


def score(
    frame: pl.DataFrame,
    *,
    instrument: str | Path | Instrument = "hal16q",
    ratings_column: str = "likert_evaluation",
    list_keys: str | Sequence[str] | Instrument | None = None,
    prefix: str = "hl",
) -> pl.DataFrame:
    """Score existing ratings: adds ``{prefix}_logit``, ``{prefix}_prob`` and ``{prefix}_problem``.

    Examples
    --------
    >>> df = pl.DataFrame({"likert_evaluation": ["[1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1]"]})
    >>> round(score(df, instrument="hal16q-published")["hl_logit"][0], 4)
    -2.2378
    """
    inst = load_instrument(instrument)
    x, problems = ratings_from_column(frame, ratings_column, inst, list_keys=list_keys)
    logit, prob = score_ratings(x, inst)
    return frame.with_columns(
        pl.Series(f"{prefix}_logit", logit, dtype=pl.Float64).fill_nan(None),
        pl.Series(f"{prefix}_prob", prob, dtype=pl.Float64).fill_nan(None),
        pl.Series(f"{prefix}_problem", problems, dtype=pl.String),
    )
