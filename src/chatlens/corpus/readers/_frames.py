"""Vectorised helpers for turning a source frame into nested conversations.

Why: several formats keep per-message data in a *second* list aligned by position with the
message list (LMSYS/WildChat ``openai_moderation``, WildChat ``detoxify_moderation``). Polars has
no list zip, so messages are flattened with Arrow (zero-copy), the aligned list is gathered by
position with numpy (missing entries → null, extra entries ignored), fields are computed on the
flat frame, and the result is re-nested with the original offsets. No Python per-row work.
"""

from __future__ import annotations

import json
import math
from collections import Counter
from typing import Any

import numpy as np
import polars as pl
import pyarrow as pa

from chatlens.corpus.schema import MESSAGE_STRUCT


def flatten(series: pl.Series) -> tuple[pl.Series, np.ndarray]:
    """The elements of a list column, flat, and each row's length (null rows → 0)."""
    values = series.explode(empty_as_null=False, keep_nulls=False)
    lens = series.list.len().fill_null(0).to_numpy().astype(np.int64)
    return values, lens


def align(other: pl.Series, main_lens: np.ndarray) -> pl.Series:
    """Flatten ``other`` (a list column) so element *i* of row *r* lines up with element *i* of
    row *r* of the main list; positions past ``other``'s length become null."""
    values, olens = flatten(other)
    total = int(main_lens.sum())
    if total == 0:
        return values.clear()
    obase = np.concatenate(([0], np.cumsum(olens)[:-1]))
    mbase = np.concatenate(([0], np.cumsum(main_lens)[:-1]))
    pos = np.arange(total, dtype=np.int64) - np.repeat(mbase, main_lens)
    idx = np.repeat(obase, main_lens) + pos
    valid = pos < np.repeat(olens, main_lens)
    if len(values) == 0:
        return pl.Series(other.name, [None] * total, dtype=values.dtype)
    idx = pl.Series(np.where(valid, idx, 0)).cast(pl.UInt32 if len(values) < 2**32 else pl.UInt64)
    out = values.gather(idx)
    if not valid.all():
        out = pl.select(pl.when(pl.Series(valid)).then(out).otherwise(None)).to_series()
    return out.alias(other.name)


def renest(flat: pl.Series, lens: np.ndarray, null_mask: np.ndarray | None = None) -> pl.Series:
    """Wrap a flat series back into a list column with the given per-row lengths."""
    values = flat.rechunk().to_arrow(compat_level=pl.CompatLevel.newest())  # zero-copy views
    if isinstance(values, pa.ChunkedArray):
        values = values.combine_chunks()
    # buffers built directly (pa.array on numpy would import pandas, ~0.5 s and ~50 MB)
    n = len(lens)
    offsets_np = np.concatenate(([0], np.cumsum(lens))).astype(np.int64)
    offsets = pa.Array.from_buffers(pa.int64(), n + 1, [None, pa.py_buffer(offsets_np)])
    mask = None
    if null_mask is not None and null_mask.any():
        bits = np.packbits(null_mask.astype(bool), bitorder="little")
        mask = pa.Array.from_buffers(pa.bool_(), n, [None, pa.py_buffer(bits)])
    arr = pa.LargeListArray.from_arrays(offsets, values, mask=mask)
    return pl.Series(flat.name, arr)


def struct_fields(dtype: pl.DataType) -> dict[str, pl.DataType]:
    """Field names → dtypes of a struct dtype (empty for anything else)."""
    if isinstance(dtype, pl.Struct):
        return {f.name: f.dtype for f in dtype.fields}
    return {}


def sfield(expr: pl.Expr, fields: dict[str, pl.DataType], name: str, dtype: pl.DataType) -> pl.Expr:
    """A struct field cast to ``dtype`` if the struct has it, else a typed null."""
    if name in fields:
        return to_dtype(expr.struct.field(name), fields[name], dtype)
    return pl.lit(None, dtype=dtype)


def col_or_null(df: pl.DataFrame, name: str, dtype: pl.DataType) -> pl.Expr:
    """A top-level column cast to ``dtype`` if present, else a typed null."""
    if name in df.columns:
        return to_dtype(pl.col(name), df.schema[name], dtype).alias(name)
    return pl.lit(None, dtype=dtype).alias(name)


def to_dtype(expr: pl.Expr, have: pl.DataType, want: pl.DataType) -> pl.Expr:
    """Cast with the conversions sources need: text/epoch → UTC datetime, anything → text."""
    if isinstance(want, pl.Datetime):
        return to_utc(expr, have)
    if want == pl.String and isinstance(have, (pl.Struct, pl.List, pl.Array)):
        return _json_text(expr, have)
    return expr.cast(want, strict=False)


def _json_text(expr: pl.Expr, have: pl.DataType) -> pl.Expr:
    """A struct / list column as JSON text; a null stays null.

    Why the ``when``: ``json_encode`` turns a null struct into the text ``"null"``, so one record
    with an object-typed ``id`` gave every id-less record of its chunk the id ``"null"`` (then
    quarantined as duplicates), and a missing model or language read as ``"null"``.
    """
    if isinstance(have, pl.Struct):
        text = expr.struct.json_encode()
    else:
        text = pl.struct(expr.alias("v")).struct.json_encode().str.slice(5).str.head(-1)
    return pl.when(expr.is_not_null()).then(text)


#: ISO 8601 forms tried on every text timestamp, each value on its own (the ``T`` may be a
#: space; ``%#z``: ``Z``, ``+02:00`` or ``+0200``; ``%.f``: optional fractional seconds).
ISO_FORMATS = ("%Y-%m-%dT%H:%M:%S%.f%#z", "%Y-%m-%dT%H:%M:%S%.f", "%Y-%m-%dT%H:%M", "%Y-%m-%d")
#: The repair counting timestamps given in the source that no rule reads (they become null).
TIMESTAMP_UNPARSED = "timestamp_unparsed"


def to_utc(expr: pl.Expr, have: pl.DataType) -> pl.Expr:
    """A timestamp as ``Datetime('us', 'UTC')`` from datetimes, ISO text or epoch numbers (also
    as text, as a CSV holds them): see :func:`_epoch_to_utc` for their unit.

    Text is tried against :data:`ISO_FORMATS` value by value, then polars' inferred format,
    then as an epoch number. Why the explicit forms first: the inferred format is the one of the
    column's first value, so in a column mixing ``2024-01-01T10:00:00Z`` and ``2024-01-01
    10:00:01`` the second became null (and which values did depended on where a batch began).
    Whatever none of them reads becomes null, counted by :func:`unparsed_timestamps`."""
    want = pl.Datetime("us", "UTC")
    if isinstance(have, pl.Datetime):
        if have.time_zone is None:
            return expr.dt.cast_time_unit("us").dt.replace_time_zone("UTC")
        return expr.dt.cast_time_unit("us").dt.convert_time_zone("UTC")
    if have == pl.Date:
        return expr.cast(pl.Datetime("us")).dt.replace_time_zone("UTC")
    if have.is_numeric():
        return _epoch_to_utc(expr.cast(pl.Float64))
    if have == pl.String:
        text = expr.str.strip_chars()
        iso = text.str.replace(" ", "T", literal=True, n=1)  # the ISO forms only
        return pl.coalesce(
            *[iso.str.to_datetime(f, time_zone="UTC", strict=False, time_unit="us") for f in ISO_FORMATS],
            expr.str.to_datetime(time_zone="UTC", strict=False, time_unit="us"),
            _epoch_to_utc(text.cast(pl.Float64, strict=False)),
        )
    return pl.lit(None, dtype=want)


def unparsed_timestamps(parsed: pl.Series, *given: pl.Series) -> dict[str, int]:
    """``{TIMESTAMP_UNPARSED: n}``: the values of ``parsed`` (:func:`to_utc`'s output) that are
    null although the source gave one (a value not null and, as text, not blank in any of
    ``given``, the source columns it was read from); empty when there are none.

    Why: a timestamp no rule reads becomes null, which used to be silent: a column mixing
    formats lost values with no count anywhere. It is a documented repair now, in the run's
    summary, manifest and ``tables/repairs.csv``."""
    present = pl.repeat(value=False, n=parsed.len(), eager=True)
    for source in given:
        value = source.is_not_null()
        if source.dtype == pl.String:
            value &= source.str.strip_chars().str.len_bytes() > 0
        present |= value
    n = int((present & parsed.is_null()).sum())
    return {TIMESTAMP_UNPARSED: n} if n else {}


#: Epoch numbers at or above these magnitudes are milliseconds, microseconds, nanoseconds (a
#: time in seconds reaches 1e11 only in the year 5138, one in milliseconds passed 1e11 in 1973).
_EPOCH_UNITS = ((1e17, 1e-3), (1e14, 1.0), (1e11, 1e3))


def _epoch_to_utc(seconds_or_finer: pl.Expr) -> pl.Expr:
    """An epoch number as a UTC datetime, its unit told by its magnitude.

    Why: epoch seconds (Arena's ``tstamp``, Unix tools) and milliseconds (JavaScript's
    ``Date.now()``, most web exports) are both common, and milliseconds read as seconds gave
    timestamps in the year 55970, which Python cannot even hold (``OverflowError`` on
    ``to_list()``).
    """
    x = seconds_or_finer
    to_us = pl.lit(1e6)
    for bound, factor in reversed(_EPOCH_UNITS):
        to_us = pl.when(x.abs() >= bound).then(pl.lit(factor)).otherwise(to_us)
    return (x * to_us).round(0).cast(pl.Int64, strict=False).cast(pl.Datetime("us", "UTC"))


def extra_json(df: pl.DataFrame, columns: dict[str, str], **literals: pl.Expr) -> pl.Expr:
    """An ``extra`` JSON column from source columns (renamed ``source → key``) and expressions.

    Columns absent from ``df`` are left out; null values are kept as JSON null.
    """
    parts = [pl.col(src).alias(key) for src, key in columns.items() if src in df.columns]
    parts += [expr.alias(key) for key, expr in literals.items()]
    if not parts:
        return pl.lit(None, dtype=pl.String).alias("extra")
    return pl.struct(parts).struct.json_encode().alias("extra")


def build_messages(flat: pl.DataFrame, **fields: pl.Expr) -> pl.Series:
    """A flat MESSAGE_STRUCT series from expressions over a flat per-message frame."""
    schema = MESSAGE_STRUCT.to_schema()
    parts = [
        (fields[name].cast(dtype, strict=False) if name in fields else pl.lit(None, dtype=dtype)).alias(name)
        for name, dtype in schema.items()
    ]
    return flat.select(pl.struct(parts).alias("messages")).to_series()


# ---- type coercions of message content, counted as repairs ------------------------------------
#
# Message content is text. A number, boolean, object or list found where the text belongs is
# kept as text (its JSON form), and counted as a documented repair (issue 11 item 11):
# ``content_number_to_text`` (numbers and booleans) and ``content_json_to_text`` (objects and
# lists, e.g. ``list<str>``). OpenAI content *parts* (a list of ``{type, text}``) are not a
# coercion: their text parts are joined, and the other parts counted as ``non_text_parts``.

NUMBER_TO_TEXT = "content_number_to_text"
JSON_TO_TEXT = "content_json_to_text"


def text_coercions(values: pl.Series) -> dict[str, int]:
    """How many non-null values of a content column become text by a type coercion."""
    have = values.dtype
    if have in (pl.String, pl.Null):
        return {}
    if isinstance(have, pl.List) and "text" in struct_fields(have.inner):
        return {}  # content parts
    n = values.len() - values.null_count()
    if not n:
        return {}
    return {JSON_TO_TEXT if isinstance(have, (pl.Struct, pl.List, pl.Array)) else NUMBER_TO_TEXT: n}


def content_text(value: Any, repairs: Counter | None = None) -> str | None:
    """Message content as text (:func:`as_text`), counting a coercion in ``repairs``."""
    text = as_text(value)
    if repairs is not None and text is not None and not isinstance(value, str):
        repairs[JSON_TO_TEXT if isinstance(value, (dict, list, tuple)) else NUMBER_TO_TEXT] += 1
    return text


# ---- Python-side coercion for the slow (per-record) path -------------------------------------


def as_text(value: Any) -> str | None:
    """Text as found; numbers/bools as their JSON text; containers as JSON; None stays None."""
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, (bool, int, float)):
        return json.dumps(value)
    return json.dumps(value, ensure_ascii=False, default=str)


def as_bool(value: Any) -> bool | None:
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, (int, float)):
        return bool(value)
    if isinstance(value, str):
        low = value.strip().lower()
        if low in ("true", "1", "yes"):
            return True
        if low in ("false", "0", "no"):
            return False
    return None


def as_float(value: Any) -> float | None:
    if isinstance(value, bool) or value is None:
        return None
    try:
        out = float(value)
    except (TypeError, ValueError):
        return None
    return out if math.isfinite(out) else None


def type_name(value: Any) -> str:
    """JSON type name of a Python value, for reasons ("expected a list, got string")."""
    return {
        dict: "object",
        list: "array",
        str: "string",
        bool: "boolean",
        int: "number",
        float: "number",
        type(None): "null",
    }.get(type(value), type(value).__name__)


def keys_present(record: dict[str, Any]) -> str:
    """The keys a record has, for a quarantine reason ("the object has no keys" when empty)."""
    if not record:
        return "the object has no keys (it is empty)"
    shown = ", ".join(str(k) for k in list(record)[:15])
    more = f" and {len(record) - 15} more" if len(record) > 15 else ""
    return f"keys present: {shown}{more}"
