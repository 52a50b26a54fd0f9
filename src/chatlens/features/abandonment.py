"""Where conversations end: after a refusal, and — the baseline the original lacked — after a normal answer.

Why: the original study called a refused conversation "abandoned" when the refusal was its last
message (``specs/seed-study.md`` §5). On LMSYS most conversations are one turn long, so almost
every refusal is "abandoned" and there is nothing to compare with. The honest question is a
hazard comparison: *at the same turn*, does a conversation end more often right after a refusal
than right after an ordinary answer? :func:`turn_endings` gives one row per assistant message with
``ended_after`` (no user message follows it), its ``turn`` and whether it was a refusal, so the
statistics layer can estimate P(end | refusal, turn) vs P(end | answer, turn) (e.g. stratified
by turn or with a discrete-time hazard regression).
"""

from __future__ import annotations

import polars as pl

from chatlens.features._frame import REQUIRED, dialog

#: Output schema of :func:`turn_endings`.
TURN_ENDINGS_SCHEMA: dict[str, pl.DataType] = {
    "conversation_id": pl.String,
    "message_index": pl.Int32,
    "turn": pl.Int32,
    "refusal": pl.Boolean,
    "refusal_type": pl.String,
    "ended_after": pl.Boolean,  # the last assistant message, and no user message after it
    "is_last_turn": pl.Boolean,  # this is the conversation's last assistant message
}


def turn_endings(messages: pl.DataFrame) -> pl.DataFrame:
    """One row per assistant message: did the conversation end right after it? (:data:`TURN_ENDINGS_SCHEMA`).

    ``ended_after`` is True when the conversation ended right after the message: it is the
    conversation's last assistant message and no user message follows it — "abandonment" when
    the message is a refusal, an ordinary end otherwise. A refusal the assistant followed with an
    answer did not end the conversation (the answer did), as ``abandoned_after_refusal`` and the
    ending hazard read it; "no user message follows" alone called both messages endings.

    Examples
    --------
    >>> import polars as pl
    >>> msgs = pl.DataFrame({
    ...     "conversation_id": ["a", "a", "a", "a", "b", "b"],
    ...     "message_index": [0, 1, 2, 3, 0, 1],
    ...     "role": ["user", "assistant"] * 3,
    ...     "content": ["q", "no", "q2", "answer", "q", "no"],
    ...     "refusal": [None, True, None, False, None, True],
    ... })
    >>> turn_endings(msgs).select("conversation_id", "refusal", "ended_after").rows()
    [('a', True, False), ('a', False, True), ('b', True, True)]
    """
    d = dialog(messages, what="turn_endings", needed=(*REQUIRED, "refusal"))
    if d.height == 0:
        return pl.DataFrame(schema=TURN_ENDINGS_SCHEMA)
    last_user = (
        d.filter(pl.col("role") == "user")
        .group_by("conversation_id")
        .agg(pl.col("message_index").max().alias("_last_user"))
    )
    a = d.filter(pl.col("role") == "assistant").join(last_user, on="conversation_id", how="left")
    a = a.with_columns(
        is_last_turn=(
            pl.col("conversation_id").shift(-1) != pl.col("conversation_id")
        ).fill_null(value=True),
    ).with_columns(
        ended_after=pl.col("is_last_turn")
        & (pl.col("_last_user").is_null() | (pl.col("_last_user") < pl.col("message_index"))),
    )
    return a.select(
        pl.col("conversation_id"),
        pl.col("message_index"),
        pl.col("turn").cast(pl.Int32),
        pl.col("refusal"),
        pl.col("refusal_type"),
        pl.col("ended_after"),
        pl.col("is_last_turn"),
    )


__all__ = ["TURN_ENDINGS_SCHEMA", "turn_endings"]
