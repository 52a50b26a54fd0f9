"""The original study's per-conversation table, definitions unchanged (``profile="legacy"``).

Why keep known-defective definitions: so that the original numbers can be reproduced from the
same corpus and every improvement can be shown next to what it replaces. This follows
``specs/seed-study.md`` §2, §4, §5, §6 and §8.3 exactly:

* the refusal is the **first** assistant message whose legacy label is not ``none``
  (``refusal_type_legacy`` from the signals' legacy profile — instrumental / value_based / mixed;
  without that column ``refusal_type`` is mapped capability→instrumental, policy→value_based);
  later messages are ignored;
* ``refusal_turn`` is its 0-based *message* index (not the dataset's turn unit), -1 if none;
* ``has_jailbreak_attempt`` / ``jailbreak_turn``: jailbreak-flagged user messages **before** the
  refusal (including the prompt that elicited it); all user messages when there is no refusal;
* if the **immediately next** message is a user message: its first 500 characters, the VADER
  compound of the full message (any language — non-English mostly scores 0.0) and the 16-word
  *substring* profanity count; otherwise ``conversation_abandoned`` = True (so every refusal in a
  one-turn conversation is "abandoned"); sentiment null and profanity 0 without a follow-up;
* ``moderation_flagged``: any message has any moderation category True.

Column names and order are those of ``study1_detailed_results.csv``.
"""

from __future__ import annotations

import polars as pl

from chatlens.features._frame import REQUIRED, dialog, prev, rounds
from chatlens.features.affect import vader_compound
from chatlens.signals.legacy import legacy_profanity_expr

_TO_LEGACY = {"capability": "instrumental", "policy": "value_based", "mixed": "mixed", "none": "none"}

#: Output schema (``study1_detailed_results.csv`` columns, in order).
LEGACY_SCHEMA: dict[str, pl.DataType] = {
    "conv_id": pl.String,
    "model": pl.String,
    "language": pl.String,
    "num_turns": pl.Int32,
    "refusal_type": pl.String,
    "refusal_turn": pl.Int32,
    "has_jailbreak_attempt": pl.Boolean,
    "jailbreak_turn": pl.Int32,
    "user_sentiment_after_refusal": pl.Float64,
    "profanity_count_after_refusal": pl.Int32,
    "conversation_abandoned": pl.Boolean,
    "refusal_text": pl.String,
    "user_response_after_refusal": pl.String,
    "moderation_flagged": pl.Boolean,
}


def _legacy_label(d: pl.DataFrame) -> pl.Expr:
    if "refusal_type_legacy" in d.columns:
        label = pl.col("refusal_type_legacy").fill_null("none")
    else:
        label = pl.when(pl.col("refusal")).then(
            pl.col("refusal_type").replace(_TO_LEGACY)
        ).otherwise(pl.lit("none"))
    return pl.when(pl.col("role") == "assistant").then(label).otherwise(pl.lit("none"))


def legacy_conversation_features(
    messages: pl.DataFrame, conversations: pl.DataFrame | None = None
) -> pl.DataFrame:
    """The original study's per-conversation table (:data:`LEGACY_SCHEMA`).

    Examples
    --------
    >>> import polars as pl
    >>> msgs = pl.DataFrame({
    ...     "conversation_id": ["a"] * 3,
    ...     "message_index": [0, 1, 2],
    ...     "role": ["user", "assistant", "user"],
    ...     "content": ["Write a poem", "I cannot provide that.",
    ...                 "Hello, can you help with my class assignment?"],
    ...     "refusal": [None, True, None],
    ...     "refusal_type_legacy": [None, "instrumental", None],
    ...     "jailbreak": [False, None, False],
    ... })
    >>> legacy_conversation_features(msgs).select(
    ...     "refusal_type", "refusal_turn", "profanity_count_after_refusal", "conversation_abandoned").rows()
    [('instrumental', 1, 3, False)]
    """
    d = dialog(messages, conversations, what="legacy_conversation_features", needed=(*REQUIRED, "jailbreak"))
    if "refusal" not in d.columns:
        d = d.with_columns(refusal=pl.lit(value=False), refusal_type=pl.lit("none"))
    # every conversation gets its row, with the original's defaults when it has no user or
    # assistant message (a system prompt alone) or no message at all (only in ``conversations``)
    ids = messages.select(pl.col("conversation_id").cast(pl.String))
    if conversations is not None:
        ids = pl.concat([ids, conversations.select(pl.col("conversation_id").cast(pl.String))])
    ids = ids.unique()
    if ids.height == 0:
        return pl.DataFrame(schema=LEGACY_SCHEMA)
    d = d.with_columns(_label=_legacy_label(d)).with_columns(
        next_role=prev(pl.col("role"), -1),
        next_content=prev(pl.col("content"), -1),
    )
    first = (
        d.filter(pl.col("_label") != "none")
        .group_by("conversation_id")
        .agg(
            pl.col("message_index").first().alias("_ref_idx"),
            pl.col("_label").first().alias("refusal_type"),
            pl.col("content").first().fill_null("").str.slice(0, 500).alias("refusal_text"),
            pl.col("next_role").first().alias("_next_role"),
            pl.col("next_content").first().alias("_next_content"),
        )
    )
    out = ids.join(first, on="conversation_id", how="left")
    jb = (
        d.filter((pl.col("role") == "user") & pl.col("jailbreak"))
        .join(out.select("conversation_id", "_ref_idx"), on="conversation_id", how="left")
        .filter(pl.col("_ref_idx").is_null() | (pl.col("message_index") < pl.col("_ref_idx")))
        .group_by("conversation_id")
        .agg(pl.col("message_index").min().alias("_jb_idx"))
    )
    out = out.join(jb, on="conversation_id", how="left")
    has_follow = pl.col("_ref_idx").is_not_null() & (pl.col("_next_role") == "user").fill_null(value=False)
    out = out.with_columns(
        _follow=pl.when(has_follow).then(pl.col("_next_content").fill_null("")),
    )
    follow = out.filter(pl.col("_follow").is_not_null())
    senti = follow.select(
        "conversation_id",
        vader_compound(follow.get_column("_follow")).alias("user_sentiment_after_refusal"),
    )
    out = out.join(senti, on="conversation_id", how="left")
    # conversation-level columns
    if "moderation_categories" in d.columns:
        mod = d.group_by("conversation_id").agg(
            (pl.col("moderation_categories").list.len().fill_null(0) > 0).any().alias("_mod")
        )
    else:
        mod = d.select("conversation_id").unique().with_columns(_mod=pl.lit(None, dtype=pl.Boolean))
    out = out.join(mod, on="conversation_id", how="left")
    conv_cols = {"model": pl.String, "language": pl.String, "n_turns": pl.Int32, "moderation_flagged": pl.Boolean}
    if conversations is not None:
        conv = conversations.select(
            pl.col("conversation_id").cast(pl.String),
            *[
                (pl.col(c).cast(t) if c in conversations.columns else pl.lit(None, dtype=t)).alias(f"_c_{c}")
                for c, t in conv_cols.items()
            ],
        ).unique("conversation_id", keep="first")
        out = out.join(conv, on="conversation_id", how="left")
    else:
        out = out.with_columns([pl.lit(None, dtype=t).alias(f"_c_{c}") for c, t in conv_cols.items()])
    # without a conversations row: the corpus's rounds over every message, as conversation_features
    # counts them (it counted user messages: 10 of 945 ShareGPT dev conversations differed from analyze)
    turns = rounds(messages).rename({"n_turns": "_nt"})
    out = out.join(turns, on="conversation_id", how="left")
    result = out.select(
        pl.col("conversation_id").alias("conv_id"),
        pl.col("_c_model").alias("model"),
        pl.col("_c_language").alias("language"),
        pl.coalesce("_c_n_turns", "_nt", pl.lit(0, dtype=pl.Int32)).alias("num_turns"),
        pl.col("refusal_type").fill_null("none"),
        pl.col("_ref_idx").fill_null(-1).alias("refusal_turn"),
        pl.col("_jb_idx").is_not_null().alias("has_jailbreak_attempt"),
        pl.col("_jb_idx").fill_null(-1).alias("jailbreak_turn"),
        pl.col("user_sentiment_after_refusal"),
        pl.when(pl.col("_follow").is_not_null())
        .then(legacy_profanity_expr(pl.col("_follow")))
        .otherwise(0)
        .alias("profanity_count_after_refusal"),
        (pl.col("_ref_idx").is_not_null() & pl.col("_follow").is_null()).alias("conversation_abandoned"),
        pl.col("refusal_text").fill_null(""),
        pl.col("_follow").fill_null("").str.slice(0, 500).alias("user_response_after_refusal"),
        pl.coalesce("_mod", "_c_moderation_flagged").fill_null(value=False).alias("moderation_flagged"),
    )
    return result.select([pl.col(c).cast(t) for c, t in LEGACY_SCHEMA.items()]).sort("conv_id")


__all__ = ["LEGACY_SCHEMA", "legacy_conversation_features"]
