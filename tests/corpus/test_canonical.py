"""canonicalize: role normalisation, turn numbering, repairs, quarantine, round-trip properties."""

from __future__ import annotations

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from chatlens.corpus.canonical import canonicalize, merge_repairs, role_map
from chatlens.corpus.schema import CONVERSATIONS_SCHEMA, MESSAGES_SCHEMA, QUARANTINE_SCHEMA
from chatlens.errors import InvalidParameterError


def nested(conversations: list[list[tuple[str | None, str | None]]], ids=None) -> pl.DataFrame:
    return pl.DataFrame(
        {
            "conversation_id": ids or [f"c{i}" for i in range(len(conversations))],
            "_file": ["/data/in.jsonl"] * len(conversations),
            "_row": list(range(len(conversations))),
            "messages": [[{"role": r, "content": c} for r, c in conv] for conv in conversations],
        },
        schema_overrides={
            "messages": pl.List(pl.Struct({"role": pl.String, "content": pl.String}))
        },
    )


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("human", "user"),
        ("Human:", "user"),
        (" GPT ", "assistant"),
        ("bot", "assistant"),
        ("prompter", "user"),
        ("ASSISTANT", "assistant"),
        ("system", "system"),
        ("function", "tool"),
    ],
)
def test_roles_are_normalised(raw: str, expected: str) -> None:
    batch = canonicalize(nested([[(raw, "x")]]))
    assert batch.messages.get_column("role").to_list() == [expected]


def test_schemas_are_exact() -> None:
    batch = canonicalize(nested([[("user", "a"), ("assistant", "b")]]))
    assert dict(batch.messages.schema) == MESSAGES_SCHEMA
    assert dict(batch.conversations.schema) == CONVERSATIONS_SCHEMA
    assert dict(batch.quarantine.schema) == QUARANTINE_SCHEMA


def test_turns_count_user_rounds() -> None:
    conv = [("system", "s"), ("user", "q1"), ("assistant", "a1"), ("user", "q2"), ("assistant", "a2")]
    batch = canonicalize(nested([conv]))
    assert batch.messages.get_column("turn").to_list() == [1, 1, 1, 2, 2]
    assert batch.messages.get_column("message_index").to_list() == [0, 1, 2, 3, 4]
    assert batch.conversations.row(0, named=True)["n_turns"] == 2
    assert batch.conversations.row(0, named=True)["n_messages"] == 5


def test_non_alternating_is_kept_and_counted() -> None:
    conv = [("user", "a"), ("user", "b"), ("assistant", "c"), ("assistant", "d"), ("user", "e")]
    batch = canonicalize(nested([conv]))
    assert batch.messages.get_column("turn").to_list() == [1, 1, 1, 1, 2]
    assert batch.repairs["non_alternating"] == 1
    assert batch.quarantine.height == 0


def test_assistant_first_is_round_one() -> None:
    batch = canonicalize(nested([[("assistant", "Hi, how can I help?"), ("user", "x"), ("assistant", "y")]]))
    assert batch.messages.get_column("turn").to_list() == [1, 1, 1]


def test_empty_content_repaired_and_counted() -> None:
    batch = canonicalize(nested([[("user", None), ("assistant", "")]]))
    assert batch.messages.get_column("content").to_list() == ["", ""]
    assert batch.repairs == {"empty_content": 1}


def test_giant_message_truncated_with_original_length() -> None:
    big = "x" * 5_000
    batch = canonicalize(nested([[("user", big), ("assistant", "ok")]]), max_message_chars=1000)
    row = batch.messages.row(0, named=True)
    assert len(row["content"]) == 1000
    assert row["content_chars"] == 5000
    assert row["truncated"] is True
    assert batch.repairs["truncated"] == 1


def test_bad_roles_quarantine_the_conversation_with_reason() -> None:
    batch = canonicalize(nested([[("user", "a"), (None, "b")], [("user", "ok"), ("narrator", "c")], [("user", "fine")]]))
    assert batch.conversations.get_column("conversation_id").to_list() == ["c2"]
    reasons = dict(batch.quarantine.select("conversation_id", "reason").rows())
    assert "message 1" in reasons["c0"] and "(null)" in reasons["c0"]
    assert "'narrator'" in reasons["c1"]
    assert set(batch.quarantine.get_column("file")) == {"/data/in.jsonl"}
    assert batch.quarantine.filter(pl.col("conversation_id") == "c1").get_column("row").item() == 1
    assert batch.records_in == batch.conversations.height + batch.quarantine.height


def test_empty_and_duplicate_conversations_quarantined() -> None:
    frame = nested([[("user", "a")], [], [("user", "again")]], ids=["x", "y", "x"])
    batch = canonicalize(frame)
    assert batch.conversations.get_column("conversation_id").to_list() == ["x"]
    reasons = batch.quarantine.get_column("reason").to_list()
    assert any("no messages" in r for r in reasons)
    assert any("duplicate" in r for r in reasons)
    later = canonicalize(nested([[("user", "b")]], ids=["x"]), seen_ids=pl.Series(["x"]))
    assert later.conversations.height == 0 and later.quarantine.height == 1


def test_missing_ids_are_stable_file_row_ids() -> None:
    frame = nested([[("user", "a")], [("user", "b")]], ids=[None, None])
    first = canonicalize(frame).conversations.get_column("conversation_id").to_list()
    assert first == ["in.jsonl#0", "in.jsonl#1"]
    assert canonicalize(frame).conversations.get_column("conversation_id").to_list() == first


def test_empty_batch() -> None:
    batch = canonicalize(nested([]))
    assert batch.messages.height == 0 and dict(batch.messages.schema) == MESSAGES_SCHEMA


def test_invalid_parameter() -> None:
    with pytest.raises(InvalidParameterError, match="max_message_chars"):
        canonicalize(nested([[("user", "a")]]), max_message_chars=0)


def test_input_frame_unchanged() -> None:
    frame = nested([[("Human", "a"), ("gpt", "b")]])
    before = frame.clone()
    canonicalize(frame)
    assert frame.equals(before)


def test_merge_repairs() -> None:
    assert merge_repairs([{"a": 1}, {"a": 2, "b": 1}]) == {"a": 3, "b": 1}


RAW_ROLES = sorted(role_map())
message = st.tuples(
    st.sampled_from(RAW_ROLES),
    st.one_of(st.none(), st.text(max_size=30)),
)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.lists(message, min_size=1, max_size=8), min_size=0, max_size=12))
def test_round_trip_property(conversations: list[list[tuple[str, str | None]]]) -> None:
    """Exploding and regrouping gives back every message, in order, with normalised roles."""
    batch = canonicalize(nested(conversations))
    assert batch.conversations.height == len(conversations)
    assert batch.records_in == batch.conversations.height + batch.quarantine.height
    mapping = role_map()
    for i, conv in enumerate(conversations):
        got = batch.messages.filter(pl.col("conversation_id") == f"c{i}").sort("message_index")
        assert got.get_column("content").to_list() == [c or "" for _, c in conv]
        assert got.get_column("role").to_list() == [mapping[r] for r, _ in conv]
        turns = got.get_column("turn").to_list()
        assert turns[0] == 1
        assert all(b - a in (0, 1) for a, b in zip(turns, turns[1:], strict=False))
        n_users_starts = sum(
            1 for j, (r, _) in enumerate(conv)
            if mapping[r] == "user" and (j == 0 or mapping[conv[j - 1][0]] != "user")
        )
        assert turns[-1] == max(1, n_users_starts)


def test_a_repeat_of_a_set_aside_record_is_kept_whatever_the_batches() -> None:
    """Reviewed bug: a record set aside for its roles made a later record with its id a
    "duplicate" only when both fell in one batch (across batches only kept ids are seen), so the
    tables depended on the batch size and the engine (analyze: 38 analysed with 1 worker, 39
    with 2, on one file); and a record with a bad role repeating a kept id got the reason
    "duplicate" in one batch, its role across batches."""
    from chatlens.corpus.api import canonical_batch
    from chatlens.corpus.readers.base import ReaderBatch
    from chatlens.corpus.schema import NESTED_SCHEMA, conform, empty_frame

    frame = nested([[("robot", "q")], [("user", "ok")], [("narrator", "x")], [("user", "again")]],
                   ids=["x", "x", "x", "x"])
    whole = canonicalize(frame)
    seen: set[str] = set()
    parts = [canonical_batch(ReaderBatch(conform(frame.slice(i, 1), NESTED_SCHEMA),
                                         empty_frame(QUARANTINE_SCHEMA), {}, 1), seen,
                             max_message_chars=100) for i in range(frame.height)]
    one_by_one = pl.concat([p.quarantine for p in parts])
    assert whole.messages.get_column("content").to_list() == ["ok"]
    assert sum(p.conversations.height for p in parts) == 1
    by_row = dict(whole.quarantine.select("row", "reason").rows())
    assert dict(one_by_one.select("row", "reason").rows()) == by_row
    # its own defect first: a bad role is the reason even when a kept record has the id
    assert "'robot'" in by_row[0] and "'narrator'" in by_row[2] and "duplicate" in by_row[3]
