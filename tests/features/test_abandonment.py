from __future__ import annotations

import polars as pl

from chatlens.features.abandonment import TURN_ENDINGS_SCHEMA, turn_endings


def test_one_row_per_assistant_message(tiny: pl.DataFrame) -> None:
    out = turn_endings(tiny)
    assert out.height == tiny.filter(pl.col("role") == "assistant").height
    assert out.schema == pl.Schema(TURN_ENDINGS_SCHEMA)


def test_ended_after_refusal_and_after_answer(tiny: pl.DataFrame) -> None:
    out = turn_endings(tiny)
    ended = out.filter(pl.col("ended_after"))
    # c1, c2, c3, c5 end after an answer; c4 ends after a refusal
    assert sorted(ended.select("conversation_id", "refusal").rows()) == [
        ("c1", False), ("c2", False), ("c3", False), ("c4", True), ("c5", False),
    ]
    assert out.filter(pl.col("is_last_turn"))["ended_after"].all()


def test_trailing_user_message_means_not_ended() -> None:
    msgs = pl.DataFrame({
        "conversation_id": ["a", "a", "a"],
        "message_index": [0, 1, 2],
        "role": ["user", "assistant", "user"],
        "content": ["q", "no", "why?"],
        "refusal": [None, True, None],
    })
    assert turn_endings(msgs)["ended_after"].to_list() == [False]


def test_empty() -> None:
    empty = pl.DataFrame(schema={"conversation_id": pl.String, "message_index": pl.Int32,
                                 "role": pl.String, "content": pl.String, "refusal": pl.Boolean})
    assert turn_endings(empty).schema == pl.Schema(TURN_ENDINGS_SCHEMA)


def test_a_refusal_followed_by_an_answer_did_not_end_the_conversation() -> None:
    """ended_after was 'no user message follows', so a refusal the assistant followed with an
    answer (two assistant messages, then nothing) was an ending after a refusal here, while
    abandoned_after_refusal and the ending hazard call it an ending after the answer."""
    from chatlens.features.conversation import conversation_features

    msgs = pl.DataFrame({
        "conversation_id": ["a"] * 3,
        "message_index": [0, 1, 2],
        "role": ["user", "assistant", "assistant"],
        "content": ["q", "I can't help with that.", "Actually, here it is."],
        "refusal": [None, True, False],
        "jailbreak": [False, None, None],
    })
    out = turn_endings(msgs)
    assert out.select("refusal", "ended_after", "is_last_turn").rows() == [
        (True, False, False), (False, True, True)]
    conv = conversation_features(msgs).row(0, named=True)
    assert (conv["abandoned_after_refusal"], conv["ended_after_non_refusal"]) == (False, True)
