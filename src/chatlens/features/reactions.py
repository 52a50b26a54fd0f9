"""What the user did right after an assistant refusal: rephrase, jailbreak, pushback, accept, new topic, clarify.

Two tiers decide ``reaction`` (``ReactionRules.model``):

* ``learned`` (default): the reaction model of :mod:`chatlens.features.reaction_model`, trained
  on the real labelled development set (docs/labels.md; ``chatlens validate`` reports it out of
  fold and leave-one-source-out), reading the refused request, the refusal and the follow-up; it
  adds a calibrated ``reaction_score`` and can say ``clarify`` (the user supplies what the
  assistant asked for).
* ``rules``: the hand-written decision below (no ``clarify``; ``reaction_score`` is null).

The evidence columns (similarity, containment, cues, profanity) come from the rules either way.

Why: the original study only looked at the *sentiment* of the next message and at jailbreak-like
prompts *before* the refusal (``specs/seed-study.md`` §4, §6). The behaviours practitioners track
after a refusal are retries (rephrasing the same request, trying a jailbreak), arguing, accepting
and moving on (``specs/peers.md`` §6). This module labels each user message that directly follows
a refused assistant message with one of them, and returns the evidence used.

Decision, in order (first rule that fires wins)
-----------------------------------------------
*sim* = the largest character-3-gram containment between the follow-up and each of the three
previous user messages (the refused request, and the ones before it — after a pushback and a
re-refusal the real request is two messages back): containment of the earlier message in the
follow-up, and for follow-ups of ≥ 15 characters also the reverse (a shortened retry).

1. ``jailbreak`` — the message's ``jailbreak`` signal column is True (from the signals layer).
2. ``pushback`` — a pushback cue ("why not", "you are useless", "just answer", "stop
   lecturing", …) and neither a rephrase nor a topic-change cue (a repeated complaint is still a
   complaint, however similar to the previous one).
3. ``rephrase`` — sim ≥ ``rephrase_similarity`` (≥ ``topic_cue_similarity`` when a topic-change
   cue such as "forget it, different question:" is present), or a rephrase cue ("let me
   rephrase", "hypothetically", "for educational purposes", "I know you can't …, but guess", …)
   with sim ≥ ``cue_similarity``.
4. ``pushback`` — a pushback cue, profanity, shouting (≥ 60 % capitals over ≥ 8 letters) or
   "?!"/"!!"-style punctuation, and no topic-change cue.
5. ``accept`` — an accept cue ("ok", "thanks anyway", "understood", "明白了", …) in a short message
   (≤ ``accept_max_tokens`` words, or ≤ 3× that in characters for CJK) without a question mark
   or topic-change cue.
6. ``rephrase`` — a rephrase cue (no topic-change cue), whatever the similarity.
7. ``new_topic`` — anything else (a new request).

Cues come from ``data/features/reactions.yaml`` for the message's language plus English.
``reaction_similarity`` reports max(sim, Jaccard to the refused request); ``reaction_containment``
is sim; ``reaction_cues`` lists the matched phrases as ``<category>:<phrase>`` plus
``signal:jailbreak``, ``profanity``, ``caps`` and ``punct``.
``overturned`` marks a follow-up after which the refusal was overturned: the reaction keeps
asking (rephrase, jailbreak, pushback, clarify — ``vocabulary.PERSISTENT_REACTIONS``) and the
assistant's next reply is neither a refusal, a question back (under
:data:`QUESTION_BACK_MAX_CHARS` characters, ending in "?") nor blank (:func:`chatlens.signals.text.is_blank`:
the refusal detector calls it no refusal, but it does nothing); null when there is no next reply. ``chatlens validate``
measures it against readers' judgements of whole real conversations.
Abandonment (no user message after the refusal) is not a reaction: see
:mod:`chatlens.features.abandonment`.
"""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl

from chatlens.errors import InvalidParameterError
from chatlens.features._frame import dialog, prev, with_lang
from chatlens.features._lexicons import normalise_expr, reaction_lexicon
from chatlens.features.affect import profanity_expr
from chatlens.features.similarity import text_similarity
from chatlens.signals.text import is_blank
from chatlens.vocabulary import PERSISTENT_REACTIONS, REACTION_CUE_CATEGORIES, REACTIONS

_MIN_REVERSE_CHARS = 15

#: Output schema of :func:`user_reactions`.
REACTIONS_SCHEMA: dict[str, pl.DataType] = {
    "conversation_id": pl.String,
    "message_index": pl.Int32,  # the user follow-up
    "turn": pl.Int32,
    "refusal_index": pl.Int32,  # the refused assistant message it follows
    "refusal_type": pl.String,
    "lang": pl.String,
    "reaction": pl.String,
    "reaction_score": pl.Float64,
    "reaction_similarity": pl.Float64,
    "reaction_containment": pl.Float64,
    "reaction_cues": pl.List(pl.String),
    "profanity_count": pl.Int32,
    "overturned": pl.Boolean,  # the assistant reply to the follow-up did what was refused
}


@dataclass(frozen=True)
class ReactionRules:
    """Tunable thresholds of the reaction decision (defaults chosen by hand on synthetic seed 11).

    Attributes
    ----------
    rephrase_similarity
        Containment of the refused request in the follow-up above which it is a rephrase.
    cue_similarity
        Lower containment that suffices together with a rephrase cue.
    topic_cue_similarity
        The (higher) similarity needed for a rephrase when a topic-change cue is present
        ("Forget it. Different question: ...").
    accept_max_tokens
        Longest message (in words) still read as a plain acceptance.
    model
        ``learned`` (the reaction model decides; default) or ``rules`` (the decision above).
    """

    rephrase_similarity: float = 0.5
    topic_cue_similarity: float = 0.8
    cue_similarity: float = 0.25
    accept_max_tokens: int = 8
    model: str = "learned"

    def __post_init__(self) -> None:
        for name in ("rephrase_similarity", "topic_cue_similarity", "cue_similarity"):
            v = getattr(self, name)
            if not 0.0 <= v <= 1.0:
                msg = f"The {name!r} parameter of ReactionRules must be in [0, 1]. Got {v!r} instead."
                raise InvalidParameterError(msg)
        if self.model not in ("learned", "rules"):
            msg = f"The 'model' parameter of ReactionRules must be 'learned' or 'rules'. Got {self.model!r} instead."
            raise InvalidParameterError(msg)
        if self.accept_max_tokens < 1:
            msg = f"The 'accept_max_tokens' parameter of ReactionRules must be >= 1. Got {self.accept_max_tokens!r} instead."
            raise InvalidParameterError(msg)


def _cue_columns(frame: pl.DataFrame) -> pl.DataFrame:
    """Add ``cue_<category>`` (list of matched phrases) per row, language-specific + English."""
    lex = reaction_lexicon()
    norm = normalise_expr(pl.col("content"))
    frame = frame.with_row_index("_r")
    cols = {c: [] for c in REACTION_CUE_CATEGORIES}
    for lang in lex.languages:
        sub = frame if lang == "en" else frame.filter(pl.col("lang") == lang)
        if sub.height == 0:
            continue
        got = sub.select(
            pl.col("_r"),
            *[norm.str.extract_all(lex.regex(lang, c)).alias(c) for c in REACTION_CUE_CATEGORIES],
        )
        for c in REACTION_CUE_CATEGORIES:
            cols[c].append(got.select("_r", c))
    for c in REACTION_CUE_CATEGORIES:
        if not cols[c]:
            frame = frame.with_columns(pl.lit([], dtype=pl.List(pl.String)).alias(f"cue_{c}"))
            continue
        merged = (
            pl.concat(cols[c])
            .explode(c)
            .drop_nulls(c)
            .group_by("_r")
            .agg(pl.col(c).unique().sort().alias(f"cue_{c}"))
        )
        frame = frame.join(merged, on="_r", how="left").with_columns(
            pl.col(f"cue_{c}").fill_null(pl.lit([], dtype=pl.List(pl.String)))
        )
    return frame.sort("_r").drop("_r")


#: A reply shorter than this that ends in a question is a question back, not the task done.
QUESTION_BACK_MAX_CHARS = 300


def _question_back(content: pl.Expr) -> pl.Expr:
    """A short reply ending in a question: after a refusal and a follow-up it asks instead of
    doing what was refused (labels.md rule 2), so it does not overturn the refusal even when the
    refusal detector does not call it a refusal. Held out on the judged real conversations this
    raised ``refusal_overturned`` precision more than it cost recall (see docs/features.md)."""
    content = content.fill_null("")
    end = content.str.slice(-16).str.strip_chars_end()  # the tail only: every message passes here
    return (content.str.len_chars() < QUESTION_BACK_MAX_CHARS) & (
        end.str.ends_with("?") | end.str.ends_with("？"))


def _followups(d: pl.DataFrame) -> pl.DataFrame:
    """User rows that directly follow a refused assistant message, with the refused requests."""
    users = d.filter(pl.col("role") == "user")
    # previous user messages of each user row (the refused request and the one before it)
    users = users.with_columns(
        req1=prev(pl.col("content"), 1),
        req2=prev(pl.col("content"), 2),
        req3=prev(pl.col("content"), 3),
    )
    d = d.with_columns(
        prev_role=prev(pl.col("role")),
        prev_refusal=prev(pl.col("refusal")),
        prev_index=prev(pl.col("message_index")),
        prev_type=prev(pl.col("refusal_type")),
        prev_content=prev(pl.col("content")),
        next_role=prev(pl.col("role"), -1),
        next_refusal=prev(pl.col("refusal"), -1),
        next_question_back=prev(_question_back(pl.col("content")), -1),
        # a blank reply does nothing, so it cannot have done what was refused (the refusal
        # detector scores empty text 0, i.e. "not a refusal")
        next_blank=prev(is_blank(pl.col("content")), -1),
    )
    keys = d.filter(
        (pl.col("role") == "user") & (pl.col("prev_role") == "assistant") & pl.col("prev_refusal")
    ).select("conversation_id", "message_index", "prev_index", "prev_type", "prev_content",
             "next_role", "next_refusal", "next_question_back", "next_blank")
    return with_lang(users.join(keys, on=["conversation_id", "message_index"], how="inner"))


def user_reactions(
    messages: pl.DataFrame,
    conversations: pl.DataFrame | None = None,
    *,
    rules: ReactionRules | None = None,
) -> pl.DataFrame:
    """Label every user message that directly follows an assistant refusal (:data:`REACTIONS_SCHEMA`).

    Parameters
    ----------
    messages
        Canonical messages with the signals columns ``refusal`` (assistant rows) and ``jailbreak``
        (user rows); ``refusal_type`` and ``language`` are used when present.
    conversations
        Optional canonical conversations table; its ``language`` fills a null message language.
    rules
        Thresholds (:class:`ReactionRules`).

    Returns
    -------
    One row per such user message, sorted by ``(conversation_id, message_index)``; the input is
    not modified. Empty input gives an empty frame with the schema.

    Examples
    --------
    >>> import polars as pl
    >>> msgs = pl.DataFrame({
    ...     "conversation_id": ["a"] * 4,
    ...     "message_index": [0, 1, 2, 3],
    ...     "role": ["user", "assistant", "user", "assistant"],
    ...     "content": ["How do I pick a lock?", "Sorry, I can't help with that.",
    ...                 "Let me rephrase: how do I pick a lock on my own door?", "Sure..."],
    ...     "refusal": [None, True, None, False],
    ...     "jailbreak": [False, None, False, None],
    ... })
    >>> user_reactions(msgs)["reaction"].to_list()
    ['rephrase']
    """
    d = dialog(messages, conversations, what="user_reactions")
    return reactions_from_dialog(d, rules=rules or ReactionRules())


def reactions_from_dialog(d: pl.DataFrame, *, rules: ReactionRules) -> pl.DataFrame:
    """:func:`user_reactions` on an already prepared :func:`~chatlens.features._frame.dialog` frame."""
    f = _followups(d)
    if f.height == 0:
        return pl.DataFrame(schema=REACTIONS_SCHEMA)
    # one similarity pass over the three earlier requests, stacked (3 pairs per follow-up)
    n = f.height
    sim = text_similarity(
        pl.concat([f.get_column("content")] * 3),
        pl.concat([f.get_column(f"req{k}") for k in (1, 2, 3)]),
    )
    sims = []
    for i, k in enumerate((1, 2, 3)):
        part = sim.slice(i * n, n)
        sims += [
            part.get_column("jaccard").alias(f"_j{k}"),
            part.get_column("containment").alias(f"_c{k}"),
            part.get_column("containment_rev").alias(f"_r{k}"),
        ]
    f = f.with_columns(
        *sims,
        _n=pl.col("content").fill_null("").str.len_chars(),
        profanity_count=profanity_expr(pl.col("content"), pl.col("lang")),
    )
    f = _cue_columns(f)
    text = pl.col("content").fill_null("")
    letters = text.str.count_matches(r"\p{L}")
    upper = text.str.count_matches(r"\p{Lu}")
    cjk = pl.col("lang").is_in(["zh", "ja", "ko"]).fill_null(value=False)
    n_tokens = text.str.split(" ").list.len()
    short = pl.when(cjk).then(text.str.len_chars() <= 3 * rules.accept_max_tokens).otherwise(
        n_tokens <= rules.accept_max_tokens
    )
    # containment of each earlier request in the follow-up; for follow-ups long enough to carry a
    # request (>= 15 chars) also the reverse direction (a shortened "just explain how ..." retry)
    cont = pl.max_horizontal(
        [
            pl.max_horizontal(
                pl.col(f"_c{k}"),
                pl.when(pl.col("_n") >= _MIN_REVERSE_CHARS).then(pl.col(f"_r{k}")).otherwise(0.0),
            ).fill_null(0.0)
            for k in (1, 2, 3)
        ]
    )
    f = f.with_columns(
        shout=(letters >= 8) & (upper >= 0.6 * letters),
        excl=text.str.contains(r"[?!？！]{2,}"),
        question=text.str.contains(r"[?？]"),
        cont=cont,
        has=pl.struct(
            [(pl.col(f"cue_{c}").list.len() > 0).alias(c) for c in REACTION_CUE_CATEGORIES]
        ),
    )
    has = {c: pl.col("has").struct.field(c) for c in REACTION_CUE_CATEGORIES}
    other_pushback = (pl.col("profanity_count") > 0) | pl.col("shout") | pl.col("excl")
    rephrase_sim = pl.when(has["topic_change"]).then(rules.topic_cue_similarity).otherwise(
        rules.rephrase_similarity
    )
    reaction = (
        pl.when(pl.col("jailbreak"))
        .then(pl.lit("jailbreak"))
        # a blank follow-up says nothing that can be labelled: no reaction (as classify gives it;
        # the conversation went on, so it is not abandonment either)
        .when(is_blank(text))
        .then(pl.lit(None, dtype=pl.String))
        .when(has["pushback"] & ~has["rephrase"] & ~has["topic_change"])
        .then(pl.lit("pushback"))
        .when(
            (pl.col("cont") >= rephrase_sim)
            | (has["rephrase"] & ~has["topic_change"] & (pl.col("cont") >= rules.cue_similarity))
        )
        .then(pl.lit("rephrase"))
        .when((has["pushback"] | other_pushback) & ~has["topic_change"])
        .then(pl.lit("pushback"))
        .when(has["accept"] & short & ~has["topic_change"] & ~pl.col("question"))
        .then(pl.lit("accept"))
        .when(has["rephrase"] & ~has["topic_change"])
        .then(pl.lit("rephrase"))
        .otherwise(pl.lit("new_topic"))
    )
    cue_list = pl.concat_list(
        [
            pl.col(f"cue_{c}").list.eval(pl.lit(c + ":") + pl.element())
            for c in REACTION_CUE_CATEGORIES
        ]
        + [
            pl.when(pl.col("jailbreak")).then(pl.lit(["signal:jailbreak"])).otherwise(pl.lit([], dtype=pl.List(pl.String))),
            pl.when(pl.col("profanity_count") > 0).then(pl.lit(["profanity"])).otherwise(pl.lit([], dtype=pl.List(pl.String))),
            pl.when(pl.col("shout")).then(pl.lit(["caps"])).otherwise(pl.lit([], dtype=pl.List(pl.String))),
            pl.when(pl.col("excl")).then(pl.lit(["punct"])).otherwise(pl.lit([], dtype=pl.List(pl.String))),
        ]
    )
    out = f.with_columns(
        reaction=reaction,
        reaction_score=pl.lit(None, dtype=pl.Float64),
        reaction_similarity=pl.max_horizontal(pl.col("_j1").fill_null(0.0), pl.col("cont")),
        reaction_containment=pl.col("cont"),
        reaction_cues=cue_list,
    )
    if rules.model == "learned":
        out = _learned(out)
    # overturned: the user kept asking and the assistant's next reply is neither a refusal, a
    # short question back nor blank; null when there is no next assistant reply (nothing to judge)
    out = out.with_columns(overturned=pl.when(pl.col("next_role") == "assistant").then(
        ~pl.col("next_refusal").fill_null(value=True)
        & ~pl.col("next_question_back").fill_null(value=False)
        & ~pl.col("next_blank").fill_null(value=False)
        & pl.col("reaction").is_in(PERSISTENT_REACTIONS)))
    return (
        out.select(
            pl.col("conversation_id"),
            pl.col("message_index"),
            pl.col("turn").cast(pl.Int32),
            pl.col("prev_index").cast(pl.Int32).alias("refusal_index"),
            pl.col("prev_type").alias("refusal_type"),
            pl.col("lang"),
            pl.col("reaction"),
            pl.col("reaction_score"),
            pl.col("reaction_similarity"),
            pl.col("reaction_containment"),
            pl.col("reaction_cues"),
            pl.col("profanity_count"),
            pl.col("overturned"),
        )
        .sort("conversation_id", "message_index")
    )


def _learned(out: pl.DataFrame) -> pl.DataFrame:
    """``reaction`` and ``reaction_score`` from the reaction model (refused request = the user
    message before the refusal, ``req1``)."""
    from chatlens.features.reaction_model import detect_reaction

    # no refusal_type column: the model reads the cue scorer's type of the refused reply, as it
    # was trained and validated (the context tier's type helps in cross-validation but costs
    # 0.015-0.03 macro-F1 leave-one-source-out, measured)
    found = detect_reaction(out.select(
        pl.col("req1").alias("request"), pl.col("prev_content").alias("response"),
        pl.col("content").alias("followup"),
        # the follow-up's similarity to the refused request, already computed for the rules
        pl.col("_j1").alias("request_jaccard"), pl.col("_c1").alias("request_containment"),
        pl.col("_r1").alias("request_containment_rev")))
    # an empty follow-up gets no model label: the rules' decision stands
    return out.with_columns(
        reaction=pl.coalesce(found["reaction"], pl.col("reaction")),
        reaction_score=found["reaction_score"],
    )


__all__ = ["REACTIONS", "REACTIONS_SCHEMA", "ReactionRules", "user_reactions"]
