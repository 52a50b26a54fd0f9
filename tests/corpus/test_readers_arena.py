from __future__ import annotations

import json
from datetime import datetime, timezone

import pytest

from chatlens.corpus.sources import open_batches


def battle(qid: str, *, empty_b: bool = False) -> dict:
    conv_a = [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "A says hi"}]
    conv_b = [] if empty_b else [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "B says hi"}]
    return {
        "question_id": qid, "model_a": "gpt-4", "model_b": "llama-13b", "winner": "model_a",
        "judge": "arena_user_1", "conversation_a": conv_a, "conversation_b": conv_b, "turn": 1,
        "anony": True, "language": "English", "tstamp": 1682351591.5,
        "openai_moderation": {"categories": {"hate": False}, "category_scores": {"hate": 0.1}, "flagged": True},
        "toxic_chat_tag": {"roberta-large": {"flagged": False, "probability": 0.1}},
    }


@pytest.mark.parametrize("kind", ["jsonl", "parquet"])
def test_arena_each_side_is_a_conversation(kit, kind, write_jsonl, write_parquet):
    recs = [battle("q1"), battle("q2")]
    path = write_jsonl("a.jsonl", recs) if kind == "jsonl" else write_parquet("a.parquet", recs)
    scan = open_batches(path)
    assert scan.format == "arena"
    nested, quarantine, _, batches = kit.collect(scan)
    assert nested["conversation_id"].to_list() == ["q1:a", "q1:b", "q2:a", "q2:b"]
    assert nested["model"].to_list() == ["gpt-4", "llama-13b"] * 2
    assert nested["_row"].to_list() == [0, 0, 1, 1]
    assert quarantine.height == 0
    assert sum(b.source_records for b in batches) == 2
    extra = json.loads(nested["extra"][1])
    assert extra["battle_id"] == "q1" and extra["side"] == "b"
    assert extra["opponent"] == "gpt-4" and extra["winner"] == "model_a"
    assert nested["timestamp"][0] == datetime(2023, 4, 24, 15, 53, 11, 500000, tzinfo=timezone.utc)
    assert nested["moderation_flagged"].to_list() == [True] * 4
    assert nested["messages"][1].to_list()[1]["content"] == "B says hi"


def test_arena_empty_side_is_quarantined_alone(kit, write_jsonl):
    nested, quarantine, _, batches = kit.collect(open_batches(write_jsonl("a.jsonl", [battle("q1", empty_b=True)]), format="arena"))
    assert nested["conversation_id"].to_list() == ["q1:a"]
    assert quarantine["conversation_id"].to_list() == ["q1:b"]
    assert "no messages" in quarantine["reason"][0]
    assert batches[0].records_in == 2


def test_arena_human_preference_layout(kit, tmp_path):
    import polars as pl

    path = tmp_path / "train.csv"
    pl.DataFrame({
        "id": [30192], "model_a": ["gpt-4"], "model_b": ["llama-2"],
        "prompt": [json.dumps(["q1", "q2"])], "response_a": [json.dumps(["a1", "a2"])],
        "response_b": [json.dumps(["b1", None])],
        "winner_model_a": [0], "winner_model_b": [1], "winner_tie": [0],
    }).write_csv(path)
    scan = open_batches(path)
    assert scan.format == "arena"
    nested, quarantine, _, _ = kit.collect(scan)
    assert nested["conversation_id"].to_list() == ["30192:a", "30192:b"]
    assert [m["content"] for m in nested["messages"][0].to_list()] == ["q1", "a1", "q2", "a2"]
    assert [m["content"] for m in nested["messages"][1].to_list()] == ["q1", "b1", "q2", None]
    assert json.loads(nested["extra"][0])["winner"] == "model_b"


@pytest.mark.parametrize("kind", ["jsonl", "parquet"])
def test_arena_battles_without_id_keep_both_sides(kind, write_jsonl, write_parquet):
    import chatlens

    recs = [{**battle("x"), "question_id": None}, {k: v for k, v in battle("x").items() if k != "question_id"}]
    path = write_jsonl("n.jsonl", recs) if kind == "jsonl" else write_parquet("n.parquet", recs)
    corpus = chatlens.read(path, format="arena")
    assert corpus.quarantine.height == 0
    assert corpus.conversations["conversation_id"].to_list() == [
        f"n.{kind}#0:a", f"n.{kind}#0:b", f"n.{kind}#1:a", f"n.{kind}#1:b"]
    assert json.loads(corpus.conversations["extra"][1])["battle_id"] == f"n.{kind}#0"


def test_arena_preference_layout_without_id_or_with_null_question_id(tmp_path):
    import chatlens

    base = {"model_a": "gpt-4", "model_b": "llama-2", "prompt": ["q"], "response_a": ["a"],
            "response_b": ["b"], "winner_model_a": 1, "winner_model_b": 0, "winner_tie": 0}
    path = tmp_path / "pref.jsonl"
    path.write_text(json.dumps(base) + "\n" + json.dumps({**base, "id": 7, "question_id": None}) + "\n")
    corpus = chatlens.read(path, format="arena")
    assert corpus.quarantine.height == 0
    assert corpus.conversations["conversation_id"].to_list() == ["pref.jsonl#0:a", "pref.jsonl#0:b", "7:a", "7:b"]


def test_arena_small_json_files_without_id(tmp_path):
    import chatlens

    for name in ("a/x.json", "b/x.json"):
        (tmp_path / "f" / name).parent.mkdir(parents=True)
        (tmp_path / "f" / name).write_text(json.dumps({**battle("x"), "question_id": None}))
    ids = chatlens.read(tmp_path / "f", format="arena").conversations["conversation_id"].to_list()
    assert ids == ["a/x.json#0:a", "a/x.json#0:b", "b/x.json#0:a", "b/x.json#0:b"]
