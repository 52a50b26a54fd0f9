"""Chatbot Arena battles (``lmsys/chatbot_arena_conversations``, arena-human-preference dumps).

Record: ``question_id, model_a, model_b, winner, judge, conversation_a, conversation_b, turn,
anony, language, tstamp, openai_moderation{categories, category_scores, flagged},
toxic_chat_tag, …``. Each side becomes its own conversation: id ``<question_id>:a`` / ``:b``
(``<file>#<row>:a`` / ``:b`` for a battle without an id, ``<file>`` relative to the source root),
``model`` = ``model_a`` / ``model_b``; ``extra`` keeps ``battle_id``, ``side``, ``opponent``,
``winner`` (the vote), ``judge``, ``anony`` and ``turn``. ``tstamp`` (epoch seconds) becomes the
timestamp; the battle-level ``openai_moderation.flagged`` becomes ``moderation_flagged``.
A side with no messages is quarantined on its own (``records_in`` counts sides).

The arena-human-preference layout (``id, model_a, model_b, prompt, response_a, response_b,
winner_model_a, winner_model_b, winner_tie``, texts as JSON lists per turn) is read too: turns are
interleaved, ``id`` is the battle id and the one-hot winner columns become ``winner``.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import polars as pl

from chatlens.corpus.readers import _conversations as conv
from chatlens.corpus.readers._frames import (
    as_bool,
    as_float,
    as_text,
    content_text,
    keys_present,
    struct_fields,
    type_name,
)
from chatlens.corpus.readers._pipeline import Ctx, RecordFormat, maybe_json, scan_records
from chatlens.corpus.readers.base import ReaderBatch, ReaderOptions, ResolvedFile, Sample

NAME = "arena"

SIDE_LAYOUT = conv.ListLayout(
    source=NAME,
    list_col="conversation",
    columns={
        "conversation_id": "conversation_id",
        "model": "model",
        "language": "language",
        "timestamp": "tstamp",
    },
    extra={k: k for k in ("battle_id", "side", "opponent", "winner", "judge", "anony", "turn")},
)
_SCALARS = ("question_id", "model_a", "model_b", "winner", "judge", "turn", "anony", "language", "tstamp")


def _c(raw: pl.DataFrame, name: str) -> pl.Expr:
    return pl.col(name) if name in raw.columns else pl.lit(None)


def _to_nested(raw: pl.DataFrame, ctx: Ctx) -> pl.DataFrame:
    flagged: pl.Expr = pl.lit(None, dtype=pl.Boolean)
    if "openai_moderation" in raw.columns and "flagged" in struct_fields(raw.schema["openai_moderation"]):
        flagged = pl.col("openai_moderation").struct.field("flagged").cast(pl.Boolean, strict=False)
    # a battle without an id is named by its record (<file>#<row>), before the side suffix: a
    # null id would make both sides fall back to the same <file>#<row>, one then a "duplicate"
    battle = pl.coalesce(_c(raw, "question_id").cast(pl.String), ctx.row_id())
    sides = []
    for i, (side, other) in enumerate((("a", "b"), ("b", "a"))):
        frame = raw.select(
            pl.col(f"conversation_{side}").alias("conversation"),
            (battle + f":{side}").alias("conversation_id"),
            _c(raw, f"model_{side}").cast(pl.String).alias("model"),
            _c(raw, "language").cast(pl.String).alias("language"),
            _c(raw, "tstamp").alias("tstamp"),
            battle.alias("battle_id"),
            pl.lit(side).alias("side"),
            _c(raw, f"model_{other}").cast(pl.String).alias("opponent"),
            *[_c(raw, k).alias(k) for k in ("winner", "judge", "anony", "turn")],
            flagged.alias("_flagged"),
            "_row",
        )
        out = conv.to_nested(SIDE_LAYOUT, frame, ctx)
        sides.append(out.with_columns(frame["_flagged"].alias("moderation_flagged"), pl.lit(i).alias("_side")))
    return pl.concat(sides, how="vertical_relaxed").sort("_row", "_side").drop("_side")


def _from_preference_layout(record: dict[str, Any]) -> dict[str, Any] | str:
    """arena-human-preference-55k/100k rows (``id, model_a, model_b, prompt, response_a,
    response_b, winner_model_a, winner_model_b, winner_tie``; prompt/responses are JSON lists of
    strings, one per turn) → the battle layout. Turns are interleaved prompt[i], response[i]."""
    prompts = maybe_json(record.get("prompt"))
    sides = {s: maybe_json(record.get(f"response_{s}")) for s in ("a", "b")}
    if not isinstance(prompts, list) or not all(isinstance(v, list) for v in sides.values()):
        return "prompt/response_a/response_b must be JSON lists of turn texts"
    out = dict(record)
    for side, responses in sides.items():
        conv = []
        for i, prompt in enumerate(prompts):
            conv.append({"role": "user", "content": as_text(prompt)})
            if i < len(responses):
                conv.append({"role": "assistant", "content": as_text(responses[i])})
        out[f"conversation_{side}"] = conv
    if out.get("question_id") is None:  # present but null counts as missing, as in _to_nested
        out["question_id"] = record.get("id")
    votes = [(k, as_bool(record.get(f"winner_{k}"))) for k in ("model_a", "model_b", "tie")]
    winners = [k for k, v in votes if v]
    out.setdefault("winner", winners[0] if len(winners) == 1 else None)
    return out


def _normalize(record: Any, ctx: Ctx) -> dict[str, Any] | str:
    if not isinstance(record, dict):
        return f"expected a JSON object per record, got {type_name(record)}"
    if "conversation_a" not in record and {"prompt", "response_a", "response_b"} <= set(record):
        record = _from_preference_layout(record)
        if isinstance(record, str):
            return record
    if "conversation_a" not in record and "conversation_b" not in record:
        return f"missing keys 'conversation_a' and 'conversation_b'; {keys_present(record)}"
    out: dict[str, Any] = {}
    for side in ("a", "b"):
        key = f"conversation_{side}"
        value = maybe_json(record.get(key))
        if value is None:
            value = []
        if not isinstance(value, list):
            return f"'{key}' must be a list of message objects, got {type_name(value)}"
        msgs = []
        for j, m in enumerate(value):
            if not isinstance(m, dict):
                return f"{key}[{j}] must be a message object, got {type_name(m)}"
            msgs.append({"role": as_text(m.get("role")), "content": content_text(m.get("content"), ctx.repairs)})
        out[key] = msgs
    for k in _SCALARS:
        v = record.get(k)
        out[k] = as_float(v) if k == "tstamp" else as_bool(v) if k == "anony" else as_text(v)
    mod = maybe_json(record.get("openai_moderation"))
    out["openai_moderation"] = {"flagged": as_bool(mod.get("flagged"))} if isinstance(mod, dict) else None
    return out


FORMAT = RecordFormat(name=NAME, normalize=_normalize, to_nested=_to_nested, id_key="question_id")


def scan_arena(file: ResolvedFile, *, batch_size: int, options: ReaderOptions) -> Iterator[ReaderBatch]:
    """Stream Chatbot Arena battles; each battle yields two conversations (side a, side b)."""
    return scan_records(FORMAT, file, batch_size=batch_size, options=options)


def sniff(sample: Sample) -> float:
    """Arena: ``conversation_a`` and ``conversation_b``."""
    cols = set(sample.columns)
    if {"conversation_a", "conversation_b"} <= cols:
        return 0.97
    if {"model_a", "model_b", "response_a", "response_b"} <= cols:
        return 0.9  # arena-human-preference layout
    return 0.0
