"""What the ``detect_*`` functions accept as text, in one place.

Why: a detector scores one text per row. Anything that is clearly a column of texts is accepted
(a polars, pandas or Arrow series, a list or tuple of strings) and a table needs ``column=`` to say
which of its columns holds the text. Two easy mistakes fail loudly instead of giving nonsense: a
table without ``column=`` (silently scoring its first column) and a bare string (which polars
would read as one row per character).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import polars as pl

from chatlens.errors import InvalidParameterError, MissingColumnError

#: What a detect_* function's text argument may be (see :func:`text_series`).
TextsLike = Any


def _is(obj: object, module: str, *names: str) -> bool:
    cls = type(obj)
    return cls.__module__.split(".")[0] == module and cls.__name__ in names


def _table_column(texts: Any, column: str | None, columns: list[str], where: str) -> Any:
    if column is None:
        msg = (
            f"{where} got a table with columns {columns}: say which one holds the text, e.g. "
            f"{where}(frame, column={columns[0]!r})."
            if columns
            else f"{where} got a table with no columns."
        )
        raise InvalidParameterError(msg)
    if column not in columns:
        msg = f"{where}: column {column!r} is not in the table. Columns: {columns}."
        raise MissingColumnError(msg)
    return texts[column]


def text_series(texts: TextsLike, *, column: str | None = None, where: str = "detect") -> pl.Series:
    """``texts`` as a polars String series, one row per text.

    Parameters
    ----------
    texts
        A polars / pandas series, a pyarrow array, a list or tuple of strings (``None`` allowed),
        or a polars / pandas DataFrame or pyarrow Table together with ``column``.
    column
        The text column when ``texts`` is a table; not allowed otherwise.
    where
        The public function's name, for error messages.

    Raises
    ------
    InvalidParameterError
        A bare string, a table without ``column``, ``column`` with a series, a non-text series, or
        an unsupported type.
    MissingColumnError
        ``column`` is not one of the table's columns (the message lists them).

    Examples
    --------
    >>> import polars as pl
    >>> text_series(pl.DataFrame({"id": [1], "reply": ["no"]}), column="reply").to_list()
    ['no']
    >>> text_series("I can't help with that.", where="detect_refusal")
    Traceback (most recent call last):
    ...
    chatlens.errors.InvalidParameterError: detect_refusal expects many texts (one per row) and got one string; wrap it in a list: detect_refusal(["I can't help with that."]).
    """
    if isinstance(texts, (str, bytes)):
        shown = texts if len(texts) <= 60 else texts[:57] + "..."
        msg = (
            f"{where} expects many texts (one per row) and got one string; wrap it in a list: "
            f"{where}([{shown!r}])."
        )
        raise InvalidParameterError(msg)
    is_table = (
        isinstance(texts, pl.DataFrame)
        or _is(texts, "pandas", "DataFrame")
        or _is(texts, "pyarrow", "Table", "RecordBatch")
    )
    if is_table:
        names = [
            str(c)
            for c in (
                texts.column_names
                if _is(texts, "pyarrow", "Table", "RecordBatch")
                else texts.columns
            )
        ]
        texts = _table_column(texts, column, names, where)
    elif column is not None:
        msg = f"{where}: column= applies to a table (DataFrame); got a {type(texts).__name__}."
        raise InvalidParameterError(msg)
    if isinstance(texts, pl.Series):
        series = texts
    elif _is(texts, "pandas", "Series"):
        series = pl.from_pandas(texts)
    elif _is(
        texts,
        "pyarrow",
        "Array",
        "ChunkedArray",
        "StringArray",
        "LargeStringArray",
        "StringViewArray",
    ):
        series = pl.Series(texts)
    elif isinstance(texts, (list, tuple)) or _is(texts, "numpy", "ndarray"):
        bad = next((t for t in texts if t is not None and not isinstance(t, str)), None)
        if bad is not None:
            msg = (
                f"{where} expects texts (strings or None). Got a {type(bad).__name__}: {bad!r:.60}."
            )
            raise InvalidParameterError(msg)
        series = pl.Series("text", list(texts), dtype=pl.String)
    else:
        msg = (
            f"{where} expects a Series, a list of strings, or a DataFrame with column=. "
            f"Got a {type(texts).__name__}."
        )
        raise InvalidParameterError(msg)
    if series.dtype not in (pl.String, pl.Null):
        msg = f"{where} expects a Series of strings (the message text). Got dtype {series.dtype} instead."
        raise InvalidParameterError(msg)
    return series.cast(pl.String)


def distinct_texts(texts: pl.Series) -> tuple[pl.Series, pl.Series | None]:
    """The distinct texts (first-seen order) and, per input row, the position of its text among
    them; ``None`` instead of the positions when every text is distinct.

    Why: a detector that reads only the text can score each distinct text once and gather the
    rows back (real logs repeat texts: the same prompt pasted by many users, "hi", "continue").
    Rows are grouped by a 64-bit hash of their text and every row is then compared with the first
    row of its group, so a hash collision cannot merge two texts (it falls back to a join on the
    texts themselves); a log without repeats pays one hash of its texts.
    """
    first = (pl.DataFrame({"h": texts.hash()}).with_row_index("i")
             .select(pl.col("i").first().over("h"))["i"])
    if not texts.gather(first).eq_missing(texts).all():  # a collision: group by the texts
        distinct = texts.unique(maintain_order=True)
        index = texts.to_frame("_t").join(
            distinct.to_frame("_t").with_row_index("_i"), on="_t", how="left", nulls_equal=True,
            maintain_order="left")["_i"]
        return (texts, None) if len(distinct) == len(texts) else (distinct, index)
    f = first.to_numpy().astype(np.int64)
    rows = np.flatnonzero(f == np.arange(len(f)))
    if len(rows) == len(f):
        return texts, None
    position = np.zeros(len(f), dtype=np.int64)
    position[rows] = np.arange(len(rows))
    return texts.gather(rows), pl.Series(position[f])


__all__ = ["TextsLike", "distinct_texts", "text_series"]
