"""Features stage: per-conversation behaviour columns and per-message user reactions.

Runs after the signals stage on the same batch (a batch holds whole conversations, so every
window over ``(conversation_id, message_index)`` is complete). The ``default`` profile adds
chatlens's definitions (:func:`chatlens.features.conversation_features`) to ``conversations`` and
the reaction of each user message that follows a refusal to ``messages``; the ``legacy`` profile
adds the original study's per-conversation columns (``seed-study.md`` §8.3) instead.
"""

from __future__ import annotations

from dataclasses import replace

import polars as pl

from chatlens.corpus.canonical import CanonicalBatch
from chatlens.vocabulary import Profile

#: Columns of the user-reaction table carried onto messages.
REACTION_COLUMNS = ("reaction", "reaction_similarity", "reaction_cues")
#: Legacy columns holding message text (kept only with ``keep_text``).
LEGACY_TEXT_COLUMNS = ("refusal_text", "user_response_after_refusal")


def features_stage(
    batch: CanonicalBatch, *, profile: Profile = "default", keep_text: bool = False
) -> CanonicalBatch:
    """Add behaviour features to a batch that already carries the signals columns."""
    from chatlens.features import conversation_features, user_reactions

    conversations = batch.conversations
    features = conversation_features(batch.messages, conversations, profile=profile)
    if profile == "legacy":
        features = features.rename({"conv_id": "conversation_id"})
        if not keep_text:
            features = features.drop(LEGACY_TEXT_COLUMNS, strict=False)
    shared = [c for c in features.columns if c in conversations.columns and c != "conversation_id"]
    conversations = conversations.join(
        features.drop(shared), on="conversation_id", how="left", maintain_order="left"
    )
    messages = batch.messages
    if profile == "default":
        reactions = user_reactions(messages, batch.conversations).select(
            "conversation_id", "message_index", *REACTION_COLUMNS
        )
        messages = messages.join(
            reactions, on=["conversation_id", "message_index"], how="left", maintain_order="left"
        )
    return replace(batch, messages=messages, conversations=conversations)


def stage_schemas(
    *, profile: Profile = "default", keep_text: bool = False
) -> tuple[dict[str, pl.DataType], dict[str, pl.DataType]]:
    """The (messages, conversations) schemas after signals + features, from an empty batch.

    Running the stages on an empty batch is the single source of truth for the output schema,
    so the Parquet sinks can be opened before the first batch arrives.
    """
    from chatlens.pipeline.signals import signals_stage

    empty = features_stage(
        signals_stage(CanonicalBatch.empty(), profile=profile), profile=profile, keep_text=keep_text
    )
    return dict(empty.messages.schema), dict(empty.conversations.schema)
