from __future__ import annotations

import json

import pytest

from chatlens.corpus.sources import open_batches


def test_openai_string_content(kit, write_jsonl):
    recs = [
        {"id": "o1", "model": "gpt-4o", "messages": [{"role": "system", "content": "s"}, {"role": "user", "content": "u"},
                                                     {"role": "assistant", "content": "a"}]},
        {"messages": [{"role": "user", "content": "u2"}], "meta": {"k": 1}},
    ]
    scan = open_batches(write_jsonl("o.jsonl", recs))
    assert scan.format == "openai"
    nested, _, _, _ = kit.collect(scan)
    assert nested["conversation_id"].to_list() == ["o1", "o.jsonl#1"]  # no id: derived from (file, row)
    assert nested["model"][0] == "gpt-4o"
    assert [m["role"] for m in nested["messages"][0].to_list()] == ["system", "user", "assistant"]
    assert json.loads(nested["extra"][1])["meta"] == {"k": 1}


def test_openai_content_parts(kit, write_jsonl):
    recs = [
        {"messages": [
            {"role": "user", "content": [{"type": "text", "text": "what is"}, {"type": "image_url", "image_url": {"url": "u"}},
                                         {"type": "text", "text": "this?"}]},
            {"role": "assistant", "content": "a cat"},
        ]},
        {"messages": [{"role": "user", "content": "plain"}]},
    ]
    nested, quarantine, repairs, _ = kit.collect(open_batches(write_jsonl("o.jsonl", recs), format="openai"))
    assert quarantine.height == 0
    m = nested["messages"][0].to_list()
    assert m[0]["content"] == "what is\nthis?"
    assert json.loads(nested["extra"][0])["non_text_parts"] == {"image_url": 1}
    assert repairs["non_text_parts"] == 1
    assert nested["messages"][1].to_list()[0]["content"] == "plain"


def test_openai_content_parts_in_parquet(kit, write_parquet):
    recs = [{"messages": [{"role": "user", "content": [{"type": "text", "text": "a"}, {"type": "text", "text": "b"}]}]}]
    nested, _, _, _ = kit.collect(open_batches(write_parquet("o.parquet", recs), format="openai"))
    assert nested["messages"][0].to_list()[0]["content"] == "a\nb"


def test_openai_prompt_completion_adapter(kit, write_jsonl):
    recs = [
        {"prompt": [{"role": "user", "content": "p1"}, {"role": "assistant", "content": "r1"}, {"role": "user", "content": "p2"}],
         "completion": [{"role": "assistant", "content": "c"}], "category": "K-R", "propositions": {"apology": True}},
        {"prompt": "legacy prompt", "completion": "legacy completion"},
    ]
    nested, quarantine, _, _ = kit.collect(open_batches(write_jsonl("rbr.jsonl", recs), format="openai"))
    assert quarantine.height == 0
    assert [m["content"] for m in nested["messages"][0].to_list()] == ["p1", "r1", "p2", "c"]
    assert json.loads(nested["extra"][0]) == {"category": "K-R", "propositions": {"apology": True}}
    assert [(m["role"], m["content"]) for m in nested["messages"][1].to_list()] == [
        ("user", "legacy prompt"), ("assistant", "legacy completion")]


@pytest.mark.realdata
def test_openai_rbr_gold(kit, shared_data):
    folder = shared_data / "openai-rbr-gold"
    scan = open_batches(folder)
    assert scan.format == "openai"
    nested, quarantine, _, batches = kit.collect(scan)
    # PROVENANCE: train 351 + test 167 = 518 rows; prompt turns {1,3,5,7} + one completion message
    assert nested.height == 518 and quarantine.height == 0
    assert sum(b.source_records for b in batches) == 518
    assert set(nested["messages"].list.len().unique()) == {2, 4, 6, 8}
    last_roles = nested["messages"].list.last().struct.field("role")
    assert set(last_roles) == {"assistant"}
    extra = json.loads(nested["extra"][0])
    assert {"category", "response_type", "propositions"} <= set(extra)
    counts = nested["messages"].list.len().value_counts()
    train_test = {n: c for n, c in counts.iter_rows()}
    # prompt turns, train+test: 1: 91+45, 3: 86+46, 5: 85+38, 7: 89+38
    assert train_test == {2: 136, 4: 132, 6: 123, 8: 127}


def test_timestamp_looking_text_stays_text(kit, write_jsonl):
    recs = [{"messages": [{"role": "user", "content": "2023-04-09T00:02:53"}, {"role": "assistant", "content": "2024-01-01"}]}] * 3
    nested, _, _, _ = kit.collect(open_batches(write_jsonl("o.jsonl", recs), format="openai"))
    assert [m["content"] for m in nested["messages"][0].to_list()] == ["2023-04-09T00:02:53", "2024-01-01"]


@pytest.mark.realdata
def test_xstest_completions_csv_as_prompt_completion(kit, shared_data):
    # CSV with multi-line quoted completions; PROVENANCE: 450 rows per model file
    path = shared_data / "xstest-dev" / "model_completions" / "xstest_v2_completions_gpt4.csv"
    scan = open_batches(path)
    assert scan.format == "openai"
    nested, quarantine, _, _ = kit.collect(scan)
    assert nested.height == 450 and quarantine.height == 0
    assert (nested["messages"].list.len() == 2).all()
    labels = {json.loads(e)["final_label"] for e in nested["extra"]}
    assert labels <= {"1_full_compliance", "2_full_refusal", "3_partial_refusal"}
    assert nested["messages"].list.last().struct.field("content").str.contains("\n").any()


@pytest.mark.parametrize("kind", ["parquet", "frame"])
def test_openai_non_text_parts_are_counted_as_in_jsonl(kind, tmp_path):
    import polars as pl

    import chatlens

    def part(t, text=None):
        return {"type": t, "text": text, "url": None if t == "text" else "http://x/y"}

    recs = [
        {"id": "a", "tag": "k", "messages": [
            {"role": "user", "content": [part("text", "look"), part("image_url"), part("image_url")]},
            {"role": "assistant", "content": [part("text", "a cat"), part("input_audio", "not text")]}]},
        {"id": "b", "tag": None, "messages": [{"role": "user", "content": [part("text", "only text")]}]},
    ]
    frame = pl.DataFrame(recs)
    jsonl = tmp_path / "o.jsonl"
    jsonl.write_text("".join(json.dumps(r) + "\n" for r in recs))
    if kind == "parquet":
        frame.write_parquet(tmp_path / "o.parquet")
        source = tmp_path / "o.parquet"
    else:
        source = frame
    got, want = chatlens.read(source, format="openai"), chatlens.read(jsonl, format="openai")
    assert got.messages["content"].to_list() == want.messages["content"].to_list() == [
        "look", "a cat", "only text"]
    assert got.summary.repairs["non_text_parts"] == want.summary.repairs["non_text_parts"] == 3
    extra = [json.loads(e) for e in got.conversations["extra"]]
    assert extra[0] == {"tag": "k", "non_text_parts": {"image_url": 2, "input_audio": 1}}
    assert extra[0]["non_text_parts"] == json.loads(want.conversations["extra"][0])["non_text_parts"]
    assert "non_text_parts" not in extra[1]
