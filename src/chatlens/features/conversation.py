"""One row per conversation: refusals, chains, reactions, abandonment with a baseline, affect.

Why: the statistics layer compares rates per model and language; it needs one row per
conversation with every behaviour already resolved. This module turns the messages frame (with
the signals columns) into that table with window and group-by operations only.

Default definitions (``profile="default"``) and how they differ from the original study
----------------------------------------------------------------------------------------
* All refusals are counted (``n_refusals``), not only the first; ``refusal_chain_max`` is the
  longest run of consecutive refused assistant messages.
* ``reaction_after_first_refusal`` comes from :func:`~chatlens.features.reactions.user_reactions`;
  ``n_retries`` counts rephrase + jailbreak reactions after *any* refusal.
* ``abandoned_after_refusal``: the conversation ends right after a refusal (its last assistant
  message is a refusal and no user message follows). ``abandoned_after_first_refusal``: no user
  message after the first refusal (the original's notion) and no answer by the assistant either
  (refusal, answer, silence ended after an answer). ``ended_after_non_refusal`` is the
  baseline: the conversation ended right after an ordinary answer. With ``last_turn`` the stats
  layer can compare the two at the same turn (per assistant message: :func:`turn_endings`).
* Jailbreaks are split into ``jailbreak_before_first_refusal`` (the original's only measure,
  which mostly captures prompts that *caused* the refusal) and ``jailbreak_after_first_refusal``
  (backlash); both null when there is no refusal.
* The follow-up's sentiment is multilingual with an explicit ``followup_sentiment_method``;
  profanity is whole-word and multilingual.

``profile="legacy"`` returns the original's per-conversation table instead
(:func:`chatlens.features.legacy.legacy_conversation_features`).
"""

from __future__ import annotations

import polars as pl

from chatlens.features._frame import dialog, prev, rounds, with_lang
from chatlens.features._lexicons import language_label_expr
from chatlens.features.affect import sentiment
from chatlens.features.reactions import ReactionRules, reactions_from_dialog
from chatlens.signals.definitions import DefinitionSet, definition_set

#: Output schema of :func:`conversation_features` with ``profile="default"``.
CONVERSATION_FEATURES_SCHEMA: dict[str, pl.DataType] = {
    "conversation_id": pl.String,
    "model": pl.String,
    "language": pl.String,
    "lang": pl.String,
    "n_turns": pl.Int32,
    "moderation_flagged": pl.Boolean,
    "has_refusal": pl.Boolean,
    "n_refusals": pl.Int32,
    "first_refusal_index": pl.Int32,
    "first_refusal_turn": pl.Int32,
    "first_refusal_type": pl.String,
    "refusal_partial_any": pl.Boolean,
    "refusal_chain_max": pl.Int32,
    "reaction_after_first_refusal": pl.String,
    "followup_similarity": pl.Float64,
    "n_retries": pl.Int32,
    "refusal_overturned": pl.Boolean,
    "overturned_by": pl.String,
    "abandoned_after_refusal": pl.Boolean,
    "abandoned_after_first_refusal": pl.Boolean,
    "ended_after_non_refusal": pl.Boolean,
    "last_turn": pl.Int32,
    "jailbreak_any": pl.Boolean,
    "first_jailbreak_index": pl.Int32,
    "jailbreak_before_first_refusal": pl.Boolean,
    "jailbreak_after_first_refusal": pl.Boolean,
    "followup_sentiment": pl.Float64,
    "followup_sentiment_label": pl.String,
    "followup_sentiment_method": pl.String,
    "followup_profanity_count": pl.Int32,
    "answer_followup_sentiment": pl.Float64,
}


def _conversation_base(d: pl.DataFrame, conversations: pl.DataFrame | None) -> pl.DataFrame:
    from chatlens.corpus.readers import rated_end_sources

    ids = d.select("conversation_id").unique(maintain_order=True)
    if conversations is not None:
        ids = pl.concat(
            [ids, conversations.select(pl.col("conversation_id").cast(pl.String))]
        ).unique(maintain_order=True)
    if conversations is None:
        base = ids.with_columns(
            model=pl.lit(None, dtype=pl.String),
            language=pl.lit(None, dtype=pl.String),
            n_turns=pl.lit(None, dtype=pl.Int32),
            moderation_flagged=pl.lit(None, dtype=pl.Boolean),
            source=pl.lit(None, dtype=pl.String),
        )
    else:
        cols = {
            "model": pl.String,
            "language": pl.String,
            "n_turns": pl.Int32,
            "moderation_flagged": pl.Boolean,
            "source": pl.String,
        }
        conv = conversations.select(
            pl.col("conversation_id").cast(pl.String),
            *[
                (pl.col(c).cast(t) if c in conversations.columns else pl.lit(None, dtype=t)).alias(
                    c
                )
                for c, t in cols.items()
            ],
        ).unique("conversation_id", keep="first")
        base = ids.join(conv, on="conversation_id", how="left")
    # conversations with messages but no conversations row: their rounds, as the corpus counts them
    n_turns = rounds(d).rename({"n_turns": "_nt"})
    return (
        base.join(n_turns, on="conversation_id", how="left")
        .with_columns(
            # no message at all (a conversations row only): 0 rounds
            pl.coalesce("n_turns", "_nt", pl.lit(0, dtype=pl.Int32)).alias("n_turns"),
            language_label_expr(pl.col("language")).alias("lang"),
            # the source's transcripts end at a rated response: their end is not the user's choice
            pl.col("source").is_in(rated_end_sources()).fill_null(value=False).alias("_rated_end"),
        )
        .drop("_nt", "source")
    )


def _refusal_features(d: pl.DataFrame) -> pl.DataFrame:
    a = d.filter(pl.col("role") == "assistant")
    new_run = (
        (pl.col("conversation_id") != pl.col("conversation_id").shift(1))
        | (pl.col("refusal") != pl.col("refusal").shift(1))
    ).fill_null(value=True)
    chains = (
        a.with_columns(_run=new_run.cum_sum())
        .filter(pl.col("refusal"))
        .group_by("conversation_id", "_run")
        .len()
        .group_by("conversation_id")
        .agg(pl.col("len").max().cast(pl.Int32).alias("refusal_chain_max"))
    )
    first = (
        a.filter(pl.col("refusal"))
        .group_by("conversation_id")
        .agg(
            pl.col("message_index").first().alias("first_refusal_index"),
            pl.col("turn").first().cast(pl.Int32).alias("first_refusal_turn"),
            pl.col("refusal_type").first().alias("first_refusal_type"),
            pl.len().cast(pl.Int32).alias("n_refusals"),
            pl.col("refusal_partial").any().alias("refusal_partial_any"),
        )
    )
    last = a.group_by("conversation_id").agg(
        pl.col("message_index").last().alias("_last_asst"),
        pl.col("refusal").last().alias("_last_refused"),
        pl.col("turn").last().cast(pl.Int32).alias("last_turn"),
        # the last ordinary answer (a message not refused, as ended_after_non_refusal reads it)
        pl.col("message_index").filter(~pl.col("refusal").fill_null(value=False)).max()
        .alias("_last_answer"),
    )
    last_user = (
        d.filter(pl.col("role") == "user")
        .group_by("conversation_id")
        .agg(pl.col("message_index").max().alias("_last_user"))
    )
    return (
        last.join(first, on="conversation_id", how="left")
        .join(chains, on="conversation_id", how="left")
        .join(last_user, on="conversation_id", how="left")
    )


def _answer_followup_sentiment(d: pl.DataFrame) -> pl.DataFrame:
    """Sentiment of the user message right after the first ordinary (non-refused) answer.

    Why: the follow-up sentiment after a refusal means little without a baseline; the same
    score after an ordinary answer is that baseline (the report compares the two). One message
    per conversation is scored, so the cost stays at one VADER call per conversation.

    "Right after" means the next message, as for the refusal's follow-up (null when the next
    message is not a user message), not the next ``turn``: a conversation that opens with an
    assistant message (a greeting, a ShareGPT chunk) has its first answer and the user's reply in
    the same turn, and ``turn`` is optional.
    """
    first_answer = (
        d.with_columns(_next_role=prev(pl.col("role"), -1), _next_index=prev(pl.col("message_index"), -1))
        .filter((pl.col("role") == "assistant") & ~pl.col("refusal"))
        .group_by("conversation_id")
        .agg(pl.col("_next_role").first(), pl.col("_next_index").first().alias("message_index"))
        .filter(pl.col("_next_role") == "user")
        .drop("_next_role")
    )
    follow = with_lang(d.join(first_answer, on=["conversation_id", "message_index"]))
    scored = sentiment(follow.get_column("content"), follow.get_column("lang"))
    return follow.select("conversation_id").with_columns(
        scored.get_column("sentiment").alias("answer_followup_sentiment")
    )


def _jailbreak_features(d: pl.DataFrame) -> pl.DataFrame:
    return (
        d.filter((pl.col("role") == "user") & pl.col("jailbreak"))
        .group_by("conversation_id")
        .agg(
            pl.col("message_index").min().alias("first_jailbreak_index"),
            pl.col("message_index").max().alias("_last_jailbreak_index"),
        )
    )


def conversation_features(
    messages: pl.DataFrame,
    conversations: pl.DataFrame | None = None,
    *,
    profile: DefinitionSet = "default",
    rules: ReactionRules | None = None,
    reactions: pl.DataFrame | None = None,
) -> pl.DataFrame:
    """Per-conversation behaviour table (:data:`CONVERSATION_FEATURES_SCHEMA`).

    Parameters
    ----------
    messages
        Canonical messages with the signals columns ``refusal`` (+ ``refusal_type``,
        ``refusal_partial``) and ``jailbreak``; for ``profile="legacy"`` ideally
        ``refusal_type_legacy`` from the signals' legacy profile.
    conversations
        Canonical conversations table (model, language, n_turns, moderation_flagged); optional.
    profile
        ``"default"`` (documented in the module docstring) or ``"legacy"`` (the original study's
        table and column names, ``specs/seed-study.md`` §8.3).
    rules
        Reaction thresholds (:class:`~chatlens.features.reactions.ReactionRules`).
    reactions
        The :func:`~chatlens.features.reactions.user_reactions` of these messages when the caller
        already has them (the behaviour stage writes them to ``messages`` too), so they are not
        computed twice; ``None`` computes them here (with ``rules``).

    Returns
    -------
    One row per conversation (those of ``conversations`` plus any other id found in
    ``messages``), sorted by ``conversation_id``. The input frames are not modified.

    Examples
    --------
    >>> import polars as pl
    >>> msgs = pl.DataFrame({
    ...     "conversation_id": ["a"] * 4 + ["b"] * 2,
    ...     "message_index": [0, 1, 2, 3, 0, 1],
    ...     "turn": [1, 1, 2, 2, 1, 1],
    ...     "role": ["user", "assistant"] * 3,
    ...     "content": ["How do I pick a lock?", "I can't help with that.",
    ...                 "Why not?? Useless.", "I'm sorry, I can't.", "Hi", "Hello!"],
    ...     "refusal": [None, True, None, True, None, False],
    ...     "refusal_type": [None, "policy", None, "policy", None, "none"],
    ...     "jailbreak": [False, None, False, None, False, None],
    ... })
    >>> out = conversation_features(msgs)
    >>> out.select("conversation_id", "n_refusals", "refusal_chain_max",
    ...            "reaction_after_first_refusal", "abandoned_after_refusal").rows()
    [('a', 2, 2, 'pushback', True), ('b', None, None, None, False)]
    """
    if definition_set(profile, where="conversation_features") == "legacy":
        from chatlens.features.legacy import legacy_conversation_features

        return legacy_conversation_features(messages, conversations)
    d = dialog(messages, conversations, what="conversation_features")
    if conversations is None:
        # the dialogue frame keeps user and assistant rows only: a conversation of system or tool
        # messages alone is still a conversation (one row, no refusal), as with a conversations
        # table; its rounds are counted over every message, as the corpus numbers ``turn``
        conversations = rounds(messages)
    return features_from_dialog(d, conversations, rules=rules, reactions=reactions)


def features_from_dialog(
    d: pl.DataFrame,
    conversations: pl.DataFrame | None = None,
    *,
    rules: ReactionRules | None = None,
    reactions: pl.DataFrame | None = None,
) -> pl.DataFrame:
    """:func:`conversation_features` (default profile) on an already prepared
    :func:`~chatlens.features._frame.dialog` frame (the behaviour stage builds it once for the
    reactions and these features)."""
    if d.height == 0 and (conversations is None or conversations.height == 0):
        return pl.DataFrame(schema=CONVERSATION_FEATURES_SCHEMA)
    base = _conversation_base(d, conversations)
    ref = _refusal_features(d)
    jb = _jailbreak_features(d)
    if reactions is None:
        reactions = reactions_from_dialog(d, rules=rules or ReactionRules())
    retries = (
        reactions.filter(pl.col("reaction").is_in(["rephrase", "jailbreak"]))
        .group_by("conversation_id")
        .agg(pl.len().cast(pl.Int32).alias("n_retries"))
    )
    # a refusal overturned after the user kept asking; null when no refusal had a reply to judge
    overturned = (
        reactions.filter(pl.col("overturned").is_not_null())
        .group_by("conversation_id")
        .agg(
            refusal_overturned=pl.col("overturned").any(),
            overturned_by=pl.col("reaction").filter(pl.col("overturned")).first(),
        )
    )
    out = (
        base.join(ref, on="conversation_id", how="left")
        .join(jb, on="conversation_id", how="left")
        .join(retries, on="conversation_id", how="left")
        .join(overturned, on="conversation_id", how="left")
    )
    # the user follow-up right after the first refusal: the first user message after it, when it
    # has a reaction, i.e. follows a refusal directly (after [refusal, refusal] the user answers
    # both; after [refusal, answer] the user did not react to a refusal)
    first_user_after = (
        d.filter(pl.col("role") == "user")
        .join(out.select("conversation_id", "first_refusal_index"), on="conversation_id")
        .filter(pl.col("message_index") > pl.col("first_refusal_index"))
        .group_by("conversation_id")
        .agg(pl.col("message_index").min())
    )
    first_follow = reactions.join(
        first_user_after, on=["conversation_id", "message_index"], how="inner"
    ).join(
        d.select("conversation_id", "message_index", "content"),
        on=["conversation_id", "message_index"],
        how="left",
    )
    senti = sentiment(first_follow.get_column("content"), first_follow.get_column("lang"))
    first_follow = first_follow.select(
        "conversation_id",
        pl.col("reaction").alias("reaction_after_first_refusal"),
        pl.col("reaction_similarity").alias("followup_similarity"),
        pl.col("profanity_count").alias("followup_profanity_count"),
    ).with_columns(
        senti.get_column("sentiment").alias("followup_sentiment"),
        senti.get_column("sentiment_label").alias("followup_sentiment_label"),
        senti.get_column("sentiment_method").alias("followup_sentiment_method"),
    )
    out = out.join(first_follow, on="conversation_id", how="left").join(
        _answer_followup_sentiment(d), on="conversation_id", how="left"
    )
    has_refusal = pl.col("first_refusal_index").is_not_null()
    no_user_after = lambda idx: pl.col("_last_user").is_null() | (pl.col("_last_user") < idx)  # noqa: E731

    def ended(after: pl.Expr, value: pl.Expr) -> pl.Expr:
        """``value`` (which is True only if the conversation ended right after ``after``), null
        when it ended there in a source whose transcripts end at a rated response (HH-RLHF,
        DICES: that end is the dataset's, docs/labels.md); a user message after it still says
        the user did not leave there."""
        return pl.when(pl.col("_rated_end") & no_user_after(after)).then(None).otherwise(value)

    out = out.with_columns(
        has_refusal=has_refusal,
        n_retries=pl.when(has_refusal).then(pl.col("n_retries").fill_null(0)).otherwise(None),
        abandoned_after_refusal=ended(pl.col("_last_asst"), (
            pl.col("_last_refused").fill_null(value=False) & no_user_after(pl.col("_last_asst"))
        )),
        # the user left after the first refusal: wrote nothing after it, and the assistant did
        # not answer after it either (refusal, answer, silence ended after an answer, as
        # ended_after_non_refusal says; the user did not leave a refusal, docs/features.md)
        abandoned_after_first_refusal=pl.when(has_refusal).then(ended(
            pl.col("first_refusal_index"),
            no_user_after(pl.col("first_refusal_index"))
            & ~(pl.col("_last_answer") > pl.col("first_refusal_index")).fill_null(value=False),
        )),
        ended_after_non_refusal=ended(pl.col("_last_asst"), (
            pl.col("_last_asst").is_not_null()
            & ~pl.col("_last_refused").fill_null(value=False)
            & no_user_after(pl.col("_last_asst"))
        )),
        jailbreak_any=pl.col("first_jailbreak_index").is_not_null(),
        jailbreak_before_first_refusal=pl.when(has_refusal).then(
            (pl.col("first_jailbreak_index") < pl.col("first_refusal_index")).fill_null(value=False)
        ),
        jailbreak_after_first_refusal=pl.when(has_refusal).then(
            (pl.col("_last_jailbreak_index") > pl.col("first_refusal_index")).fill_null(value=False)
        ),
    )
    return out.select([pl.col(c).cast(t) for c, t in CONVERSATION_FEATURES_SCHEMA.items()]).sort(
        "conversation_id"
    )


__all__ = ["CONVERSATION_FEATURES_SCHEMA", "conversation_features", "features_from_dialog"]
