"""Declarative reading of "one record = one conversation with a list of message objects".

LMSYS, WildChat, ShareGPT, OpenAI chat, arena sides and conversation-layout tables all have this
shape and differ only in key names. A :class:`ListLayout` names the keys; :func:`to_nested`
(vectorised, used on the fast path) and :func:`normalize` (per record, used on the fallback path)
implement the shape once.

Moderation (``openai_moderation``) is a list aligned one entry per message. Per message:
``moderation_flagged`` = ``flagged`` OR any category true; ``moderation_categories`` = names of the
categories that are true; ``moderation_max_score`` = the largest category score. A conversation is
``moderation_flagged`` if any of its messages is (null when the source has no moderation data).
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import partial
from typing import Any

import polars as pl

from chatlens.corpus.readers._frames import (
    align,
    as_bool,
    as_float,
    as_text,
    build_messages,
    col_or_null,
    content_text,
    flatten,
    keys_present,
    renest,
    sfield,
    struct_fields,
    text_coercions,
    type_name,
    unparsed_timestamps,
)
from chatlens.corpus.readers._pipeline import Ctx, RecordFormat, maybe_json
from chatlens.corpus.schema import MESSAGE_STRUCT

_MESSAGE_TYPES = MESSAGE_STRUCT.to_schema()
_TOP_TYPES: dict[str, pl.DataType] = {
    "conversation_id": pl.String,
    "model": pl.String,
    "language": pl.String,
    "user_id": pl.String,
    "timestamp": pl.Datetime("us", "UTC"),
}


@dataclass(frozen=True)
class ListLayout:
    """Where a format keeps its conversation pieces.

    ``columns`` maps nested columns (conversation_id, model, language, user_id, timestamp) to source
    keys; ``message_fields`` maps message fields (role, content, language, timestamp, toxic,
    redacted) to keys inside each message object; ``extra`` maps source keys to keys of the
    ``extra`` JSON; ``extra_rest`` also puts every other top-level key there.
    """

    source: str
    list_col: str
    message_fields: Mapping[str, str | tuple[str, ...]] = field(
        default_factory=lambda: {"role": "role", "content": "content"}
    )
    columns: Mapping[str, str] = field(default_factory=dict)
    extra: Mapping[str, str] = field(default_factory=dict)
    moderation: str | None = None
    extra_rest: bool = False
    skip: tuple[str, ...] = ()  # keys never put in extra (e.g. OpenAI prompt/completion)

    def used(self) -> set[str]:
        mod = [self.moderation] if self.moderation else []
        return {self.list_col, *self.columns.values(), *self.extra, *mod, *self.skip}


# ---- vectorised ------------------------------------------------------------------------------


def to_nested(layout: ListLayout, raw: pl.DataFrame, ctx: Ctx | None = None) -> pl.DataFrame:
    """Raw source frame (+ ``_row``) → nested columns (+ ``_row``), no Python per-row work."""
    conv = raw[layout.list_col]
    if conv.dtype == pl.Null or conv.dtype == pl.List(pl.Null):  # every list empty or null
        keys = [k if isinstance(k, str) else k[0] for k in layout.message_fields.values()]
        conv = conv.cast(pl.List(pl.Struct(dict.fromkeys(keys, pl.String))))
    if not isinstance(conv.dtype, pl.List) or not isinstance(conv.dtype.inner, pl.Struct):
        msg = f"'{layout.list_col}' is {conv.dtype}, not a list of message objects"
        raise TypeError(msg)
    flat_conv, lens = flatten(conv)
    fields = struct_fields(flat_conv.dtype)
    flat = pl.DataFrame({"m": flat_conv})
    if ctx is not None:
        keys = layout.message_fields.get("content", "content")
        for key in (("content",) if "__extra" in raw.columns else (keys,) if isinstance(keys, str) else keys):
            if key in fields:
                ctx.repairs.update(text_coercions(flat_conv.struct.field(key)))
    if "__extra" in raw.columns:  # per-record path: messages already keyed by field name
        exprs = {name: _message_field(fields, name, name) for name in layout.message_fields}
    else:
        exprs = {
            name: _message_field(fields, name, keys) for name, keys in layout.message_fields.items()
        }
    has_mod = False
    if layout.moderation and layout.moderation in raw.columns:
        mod_dtype = raw.schema[layout.moderation]
        if isinstance(mod_dtype, pl.List) and isinstance(mod_dtype.inner, pl.Struct):
            flat = flat.with_columns(align(raw[layout.moderation], lens).alias("mod"))
            flat, mod_exprs = moderation_exprs(flat)
            exprs.update(mod_exprs)
            has_mod = True
    built = build_messages(flat, **exprs)
    messages = renest(built, lens, conv.is_null().to_numpy())
    out = raw.select(
        *[col_or_null(raw, src, _TOP_TYPES[dst]).alias(dst) for dst, src in layout.columns.items()],
        extra_expr(layout, raw),
        pl.lit(layout.source, dtype=pl.String).alias("source"),
        pl.col("_row"),
    ).with_columns(messages)
    if ctx is not None:  # timestamps given but not read: counted, never silently null
        src = layout.columns.get("timestamp")
        if src in raw.columns:
            ctx.repairs.update(unparsed_timestamps(out["timestamp"], raw[src]))
        keys = layout.message_fields.get("timestamp")
        keys = ("timestamp",) if keys and "__extra" in raw.columns else (keys,) if isinstance(keys, str) else keys or ()
        given = [flat_conv.struct.field(k) for k in keys if k in fields]
        if given:
            ctx.repairs.update(unparsed_timestamps(built.struct.field("timestamp"), *given))
    if has_mod:
        flags = pl.col("messages").list.eval(pl.element().struct.field("moderation_flagged").drop_nulls())
        any_flag = pl.when(flags.list.len() > 0).then(flags.list.any())
        present = raw[layout.moderation].is_not_null()
        out = out.with_columns(
            pl.when(present).then(any_flag).otherwise(None).alias("moderation_flagged")
        )
    return out


def _message_field(fields: dict[str, pl.DataType], name: str, keys: str | tuple[str, ...]) -> pl.Expr:
    """A message field from the first of its candidate keys the source has (coalesced if several
    are present, e.g. ShareGPT files mixing ``from/value`` and ``role/content``). OpenAI-style
    content given as a list of parts becomes its text parts (:func:`text_part`) joined by
    newlines."""
    keys = (keys,) if isinstance(keys, str) else keys
    want = _MESSAGE_TYPES[name]
    exprs = []
    for key in keys:
        if key not in fields:
            continue
        have = fields[key]
        if name == "content" and isinstance(have, pl.List) and "text" in struct_fields(have.inner):
            part = pl.element().struct.field("text")
            is_text = text_part(pl.element(), struct_fields(have.inner))
            exprs.append(pl.col("m").struct.field(key).list.eval(part.filter(is_text)).list.join("\n"))
        else:
            exprs.append(sfield(pl.col("m"), fields, key, want))
    if not exprs:
        return pl.lit(None, dtype=want)
    return exprs[0] if len(exprs) == 1 else pl.coalesce(exprs)


def text_part(part: pl.Expr, fields: dict[str, pl.DataType]) -> pl.Expr:
    """Whether a content part (a struct with ``fields``) is text: its ``type`` is ``text`` or
    missing and it has a ``text``, the rule the per-record path applies to JSON parts; any other
    part (an image, audio, a file) is counted, not turned into text."""
    text = part.struct.field("text").is_not_null() if "text" in fields else pl.lit(value=False)
    if "type" not in fields:
        return text
    kind = part.struct.field("type").cast(pl.String)
    return (kind.is_null() | (kind == "text")) & text


def extra_expr(layout: ListLayout, raw: pl.DataFrame) -> pl.Expr:
    """The ``extra`` JSON object: the mapped keys, plus the rest of the columns if asked."""
    cols = {src: key for src, key in layout.extra.items() if src in raw.columns}
    if layout.extra_rest:
        skip = layout.used() | {"_row", "__extra"}
        cols.update({c: c for c in raw.columns if c not in skip})
    if "__extra" in raw.columns:  # the per-record path pre-encodes the rest (mixed types)
        return pl.col("__extra").alias("extra")
    if not cols:
        return pl.lit(None, dtype=pl.String).alias("extra")
    return pl.struct([pl.col(src).alias(key) for src, key in cols.items()]).struct.json_encode().alias("extra")


def moderation_exprs(flat: pl.DataFrame, mod: str = "mod") -> tuple[pl.DataFrame, dict[str, pl.Expr]]:
    """Per-message moderation fields from the moderation object column ``mod`` (see module doc).

    Category names are derived through a bit mask: the few distinct masks are mapped to their
    name lists once, instead of building a list per message from eleven conditionals.
    """
    col = pl.col(mod)
    f = struct_fields(flat.schema[mod])
    cats = list(struct_fields(f.get("categories", pl.Null())))
    scores = list(struct_fields(f.get("category_scores", pl.Null())))
    flagged = sfield(col, f, "flagged", pl.Boolean)
    names: pl.Expr = pl.lit(None, dtype=pl.List(pl.String))
    if cats:
        cat = [col.struct.field("categories").struct.field(c).cast(pl.Boolean, strict=False) for c in cats]
        bits = [e.fill_null(False).cast(pl.Int64) * (1 << i) for i, e in enumerate(cat)]
        flat = flat.with_columns(pl.when(col.is_not_null()).then(pl.sum_horizontal(bits)).alias("_mask"))
        masks = flat["_mask"].unique().drop_nulls().to_list()
        lookup = pl.DataFrame(
            {"_mask": masks, "_names": [[c for i, c in enumerate(cats) if m >> i & 1] for m in masks]},
            schema={"_mask": pl.Int64, "_names": pl.List(pl.String)},
        )
        flat = flat.join(lookup, on="_mask", how="left", maintain_order="left")
        names = pl.col("_names")
        flagged = flagged | pl.any_horizontal(cat)
    score = [col.struct.field("category_scores").struct.field(c).cast(pl.Float64, strict=False) for c in scores]
    max_score = pl.max_horizontal(score) if score else pl.lit(None, dtype=pl.Float64)
    return flat, {
        "moderation_flagged": flagged,
        "moderation_categories": names,
        "moderation_max_score": max_score,
    }


# ---- per record ------------------------------------------------------------------------------


def normalize(layout: ListLayout, record: Any, ctx: Ctx | None = None) -> dict[str, Any] | str:
    """Check one record and coerce it to clean Python types, or return why it is unusable."""
    if not isinstance(record, dict):
        return f"expected a JSON object per record, got {type_name(record)}"
    if layout.list_col not in record:
        return f"missing key '{layout.list_col}' (the message list); {keys_present(record)}"
    conv = maybe_json(record[layout.list_col])
    if conv is None:
        conv = []
    if not isinstance(conv, list):
        return f"'{layout.list_col}' must be a list of message objects, got {type_name(conv)}"
    messages = []
    for i, m in enumerate(conv):
        if not isinstance(m, dict):
            return f"{layout.list_col}[{i}] must be a message object, got {type_name(m)}"
        repairs = ctx.repairs if ctx is not None else None
        messages.append(
            {name: _clean_message_value(name, _first(m, keys), repairs) for name, keys in layout.message_fields.items()}
        )
    out: dict[str, Any] = {layout.list_col: messages}
    for dst, src in layout.columns.items():
        value = record.get(src)
        numeric = isinstance(value, (int, float)) and not isinstance(value, bool)
        out[src] = value if dst == "timestamp" and numeric else as_text(value)
    if layout.moderation:
        out[layout.moderation] = clean_moderation(maybe_json(record.get(layout.moderation)))
    extra = {key: record.get(src) for src, key in layout.extra.items() if src in record}
    if layout.extra_rest:
        extra.update({k: v for k, v in record.items() if k not in layout.used()})
    out["__extra"] = json.dumps(extra, ensure_ascii=False, separators=(",", ":"), default=str) if extra else None
    return out


def _first(m: dict[str, Any], keys: str | tuple[str, ...]) -> Any:
    for key in (keys,) if isinstance(keys, str) else keys:
        if m.get(key) is not None:
            return m[key]
    return None


def _clean_message_value(name: str, value: Any, repairs: Counter | None = None) -> Any:
    if name in ("toxic", "redacted", "moderation_flagged"):
        return as_bool(value)
    if name == "content":
        return content_text(value, repairs)
    return as_text(value)


def clean_moderation(mods: Any) -> list[dict[str, Any]] | None:
    """OpenAI moderation entries coerced to {flagged: bool, categories: {str: bool},
    category_scores: {str: float}}; anything unreadable becomes null (not an error)."""
    if not isinstance(mods, list):
        return None
    out = []
    for m in mods:
        if not isinstance(m, dict):
            out.append(None)
            continue
        cats = m.get("categories") if isinstance(m.get("categories"), dict) else {}
        scores = m.get("category_scores") if isinstance(m.get("category_scores"), dict) else {}
        out.append(
            {
                "flagged": as_bool(m.get("flagged")),
                "categories": {str(k): as_bool(v) for k, v in cats.items()} or None,
                "category_scores": {str(k): as_float(v) for k, v in scores.items()} or None,
            }
        )
    return out


def layout_format(name: str, layout: ListLayout, *, parquet: bool = False, id_key: str = "conversation_id") -> RecordFormat:
    """The :class:`RecordFormat` of a format fully described by its :class:`ListLayout`.

    LMSYS, WildChat and ShareGPT differ only in their layout; this builds their fast (frame) and
    fallback (per-record) paths from it. ``parquet`` reads only the layout's columns from Parquet.
    """
    return RecordFormat(
        name=name,
        normalize=partial(_normalize_with, layout),
        to_nested=partial(_to_nested_with, layout),
        parquet_columns=sorted(layout.used()) if parquet else None,
        id_key=id_key,
    )


def _normalize_with(layout: ListLayout, record: Any, ctx: Ctx) -> dict[str, Any] | str:
    return normalize(layout, record, ctx)


def _to_nested_with(layout: ListLayout, raw: pl.DataFrame, ctx: Ctx) -> pl.DataFrame:
    return to_nested(layout, raw, ctx)
