"""OpenAI chat JSONL: ``{messages: [{role, content}], model?, id?, ...}``.

``content`` may be a string or a list of parts (``[{type: "text", text}, {type: "image_url", ...}]``).
Documented rule for parts: the text parts are joined with newlines; non-text parts are not turned
into text — their count per type goes to ``extra.non_text_parts`` and to
``repairs["non_text_parts"]``, so nothing disappears unnoticed.

Adapter: records without ``messages`` but with ``prompt`` and ``completion`` are read as
``messages = prompt + completion`` — either message lists (OpenAI evals / RBR gold data:
``prompt: [{role, content}...], completion: [{role: assistant, content}]``) or plain strings (legacy
completions: prompt → a user message, completion → an assistant message). Every other top-level key
(e.g. RBR's ``category``, ``response_type``, ``propositions``) goes to ``extra``.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from typing import Any

import polars as pl

from chatlens.corpus.readers import _conversations as conv
from chatlens.corpus.readers._frames import as_text, struct_fields, type_name
from chatlens.corpus.readers._pipeline import Ctx, RecordFormat, maybe_json, scan_records
from chatlens.corpus.readers.base import ReaderBatch, ReaderOptions, ResolvedFile, Sample

NAME = "openai"

LAYOUT = conv.ListLayout(
    source=NAME,
    list_col="messages",
    message_fields={"role": "role", "content": "content"},
    columns={"conversation_id": "id", "model": "model"},
    extra_rest=True,
    skip=("prompt", "completion"),
)


def _to_nested(raw: pl.DataFrame, ctx: Ctx) -> pl.DataFrame:
    if "messages" not in raw.columns and {"prompt", "completion"} <= set(raw.columns):
        p, c = raw.schema["prompt"], raw.schema["completion"]
        if not (isinstance(p, pl.List) and isinstance(c, pl.List)):
            msg = "prompt/completion are not message lists"
            raise TypeError(msg)
        raw = raw.with_columns(pl.concat_list("prompt", "completion").alias("messages"))
    out = conv.to_nested(LAYOUT, raw, ctx)
    counts = _non_text_parts(raw)
    if counts is None:
        return out
    ctx.repairs["non_text_parts"] += int(counts["_n"].sum())
    nt = pl.col("_non_text")
    return (
        out.join(counts.select("_row", "_non_text"), on="_row", how="left", maintain_order="left")
        .with_columns(
            pl.when(nt.is_null()).then(pl.col("extra"))
            .when(pl.col("extra").is_null()).then(pl.format('{{"non_text_parts":{}}}', nt))
            .otherwise(pl.format('{},"non_text_parts":{}}}', pl.col("extra").str.head(-1), nt))
            .alias("extra")
        )
        .drop("_non_text")
    )


def _non_text_parts(raw: pl.DataFrame) -> pl.DataFrame | None:
    """Per record (``_row``) with content parts that are not text: their count per type as a
    JSON object (``_non_text``) and in all (``_n``); ``None`` when there are none.

    Why: the vectorised path (Parquet, in-memory frames) joins the text parts like the
    per-record path, and must count the others as it does (``extra.non_text_parts``,
    ``repairs["non_text_parts"]``) instead of dropping them unnoticed.
    """
    dtype = raw.schema.get("messages")
    if not (isinstance(dtype, pl.List) and isinstance(dtype.inner, pl.Struct)):
        return None
    content = struct_fields(dtype.inner).get("content")
    if not (isinstance(content, pl.List) and isinstance(content.inner, pl.Struct)):
        return None
    fields = struct_fields(content.inner)
    parts = (
        raw.select("_row", pl.col("messages").list.eval(pl.element().struct.field("content")).list.explode().alias("p"))
        .explode("p")
        .filter(pl.col("p").is_not_null() & ~conv.text_part(pl.col("p"), fields))
    )
    if parts.height == 0:
        return None
    kind = pl.col("p").struct.field("type").cast(pl.String) if "type" in fields else pl.lit(None, dtype=pl.String)
    by_type = parts.group_by("_row", kind.fill_null("unknown").alias("t"), maintain_order=True).len("n")
    quoted = pl.struct(pl.col("t")).struct.json_encode().str.slice(5).str.head(-1)  # a JSON string
    return by_type.group_by("_row", maintain_order=True).agg(
        pl.format("{{{}}}", pl.format("{}:{}", quoted, pl.col("n")).str.join(",")).alias("_non_text"),
        pl.col("n").sum().alias("_n"),
    )


def _normalize(record: Any, ctx: Ctx) -> dict[str, Any] | str:
    if not isinstance(record, dict):
        return f"expected a JSON object per record, got {type_name(record)}"
    record = dict(record)
    if "messages" not in record and "prompt" in record and "completion" in record:
        prompt, completion = maybe_json(record["prompt"]), maybe_json(record["completion"])
        if isinstance(prompt, str) and isinstance(completion, str):
            record["messages"] = [
                {"role": "user", "content": prompt},
                {"role": "assistant", "content": completion},
            ]
        elif isinstance(prompt, list) and isinstance(completion, list):
            record["messages"] = prompt + completion
        else:
            return (
                "prompt/completion must both be message lists or both strings, got "
                f"{type_name(prompt)}/{type_name(completion)}"
            )
    messages = maybe_json(record.get("messages"))
    if isinstance(messages, list):
        parts: Counter[str] = Counter()
        record["messages"] = [_flatten_parts(m, parts) for m in messages]
        if parts:
            ctx.repairs["non_text_parts"] += sum(parts.values())
            record["non_text_parts"] = dict(parts)
    return conv.normalize(LAYOUT, record, ctx)


def _flatten_parts(message: Any, parts: Counter[str]) -> Any:
    if not isinstance(message, dict) or not isinstance(message.get("content"), list):
        return message
    texts = []
    for part in message["content"]:
        if isinstance(part, dict) and part.get("type", "text") == "text" and "text" in part:
            texts.append(as_text(part["text"]) or "")  # a part's text: not a coercion
        elif isinstance(part, str):
            texts.append(part)
        else:
            parts[str(part.get("type", "unknown")) if isinstance(part, dict) else type_name(part)] += 1
    return {**message, "content": "\n".join(texts)}


def _fast_ok(data: bytes) -> bool:
    # A "type" key means content given as parts: polars would stringify the list, so such chunks
    # take the per-record path, which joins text parts and counts the others.
    return b'"type"' not in data


FORMAT = RecordFormat(name=NAME, normalize=_normalize, to_nested=_to_nested, fast_ok=_fast_ok, id_key="id")


def scan_openai(file: ResolvedFile, *, batch_size: int, options: ReaderOptions) -> Iterator[ReaderBatch]:
    """Stream an OpenAI chat JSONL (or JSON array / Parquet) file as nested conversations."""
    return scan_records(FORMAT, file, batch_size=batch_size, options=options)


def _is_message_list(value: Any) -> bool:
    return isinstance(value, list) and bool(value) and isinstance(value[0], dict) and "role" in value[0]


def sniff(sample: Sample) -> float:
    """OpenAI chat: a ``messages`` list of ``{role, content}``; or prompt/completion lists."""
    for r in sample.dict_records():
        if _is_message_list(r.get("messages")):
            return 0.9
        if _is_message_list(r.get("prompt")) and isinstance(r.get("completion"), list):
            return 0.8
    if "messages" in sample.columns:
        return 0.5
    if any(isinstance(r.get("prompt"), str) and isinstance(r.get("completion"), str) for r in sample.dict_records()):
        return 0.3  # legacy prompt/completion pairs
    return 0.0
