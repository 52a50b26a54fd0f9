"""Features stages: per-conversation behaviour columns, one stage per definition set.

Each runs after the signals stage on the same batch (a batch holds whole conversations, so every
window over ``(conversation_id, message_index)`` is complete). ``behaviour`` (the ``default``
profile) adds chatlens's definitions (:func:`chatlens.features.conversation_features`) to
``conversations`` and the reaction of each user message that follows a refusal to ``messages``;
``legacy_features`` (the ``legacy`` profile) adds the original study's per-conversation columns
(``seed-study.md`` §8.3) instead. Which one runs is the profile's choice (its data file lists its
stages), so neither stage asks which profile it is in.
"""

from __future__ import annotations

from dataclasses import replace

import polars as pl

from chatlens.corpus.canonical import CanonicalBatch

#: Columns of the user-reaction table carried onto messages.
REACTION_COLUMNS = ("reaction", "reaction_score", "reaction_similarity", "reaction_cues")
#: Legacy columns holding message text (kept only with ``keep_text``).
LEGACY_TEXT_COLUMNS = ("refusal_text", "user_response_after_refusal")


def _join_conversations(batch: CanonicalBatch, features: pl.DataFrame) -> pl.DataFrame:
    """``features`` (one row per conversation) joined onto the batch's conversations, in order."""
    conversations = batch.conversations
    shared = [c for c in features.columns if c in conversations.columns and c != "conversation_id"]
    return conversations.join(
        features.drop(shared), on="conversation_id", how="left", maintain_order="left"
    )


def behaviour_stage(batch: CanonicalBatch, *, reaction_model: str = "learned") -> CanonicalBatch:
    """chatlens's behaviour features: conversation columns and per-message user reactions.

    ``reaction_model``: ``learned`` (the reaction model; default) or ``rules``
    (:class:`~chatlens.features.reactions.ReactionRules`). The reactions (and the dialogue frame
    they come from) are computed once, for both the messages and the conversation table.
    """
    from chatlens.features._frame import dialog
    from chatlens.features.conversation import features_from_dialog
    from chatlens.features.reactions import ReactionRules, reactions_from_dialog

    rules = ReactionRules(model=reaction_model)
    # one sorted dialogue frame for both (what user_reactions and conversation_features build)
    d = dialog(batch.messages, batch.conversations, what="user_reactions")
    reactions = reactions_from_dialog(d, rules=rules)
    features = features_from_dialog(d, batch.conversations, reactions=reactions)
    messages = batch.messages.join(
        reactions.select("conversation_id", "message_index", *REACTION_COLUMNS),
        on=["conversation_id", "message_index"],
        how="left",
        maintain_order="left",
    )
    return replace(batch, messages=messages, conversations=_join_conversations(batch, features))


def legacy_features_stage(batch: CanonicalBatch, *, keep_text: bool = False) -> CanonicalBatch:
    """The original study's per-conversation columns; its text columns only with ``keep_text``."""
    from chatlens.features.legacy import legacy_conversation_features

    features = legacy_conversation_features(batch.messages, batch.conversations)
    features = features.rename({"conv_id": "conversation_id"})
    if not keep_text:
        features = features.drop(LEGACY_TEXT_COLUMNS, strict=False)
    return replace(batch, conversations=_join_conversations(batch, features))
