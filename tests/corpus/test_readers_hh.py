from __future__ import annotations

import json
from collections import Counter

import polars as pl
import pytest

from chatlens.corpus.readers.hh import split_transcript
from chatlens.corpus.sources import open_batches


def _pairs(nested: pl.DataFrame, side: str) -> pl.DataFrame:
    return nested.filter(pl.col("conversation_id").str.ends_with(f":{side}"))


def test_hh_pair_becomes_two_conversations(kit, write_jsonl):
    rec = {
        "chosen": "\n\nHuman: hi\n\nAssistant: hello\n\nHuman: bye\n\nAssistant: I can't help with that.",
        "rejected": "\n\nHuman: hi\n\nAssistant: hello\n\nHuman: bye\n\nAssistant: sure, here it is",
    }
    scan = open_batches(write_jsonl("hh.jsonl", [rec, rec]))
    assert scan.format == "hh"
    nested, quarantine, _, batches = kit.collect(scan)
    assert nested["conversation_id"].to_list() == [
        "hh.jsonl:0:chosen", "hh.jsonl:0:rejected", "hh.jsonl:1:chosen", "hh.jsonl:1:rejected"]
    assert batches[0].records_in == 4 and batches[0].source_records == 2
    assert json.loads(nested["extra"][1]) == {"pair_id": "hh.jsonl:0", "side": "rejected"}
    msgs = nested["messages"][0].to_list()
    assert [(m["role"], m["content"]) for m in msgs] == [
        ("Human", "hi"), ("Assistant", "hello"), ("Human", "bye"), ("Assistant", "I can't help with that.")]


def test_hh_split_rules():
    # "Human:" inside content is content; only the separators split
    msgs = split_transcript("\n\nHuman: he wrote Human: hi to me\n\nAssistant: ok, Assistant: noted")
    assert [m["content"] for m in msgs] == ["he wrote Human: hi to me", "ok, Assistant: noted"]
    # transcript starting without the blank line
    assert [m["role"] for m in split_transcript("Human: a\n\nAssistant: b")] == ["Human", "Assistant"]
    # missing final turn -> empty last message (the canonicaliser's empty-content rule applies)
    msgs = split_transcript("\n\nHuman: a\n\nAssistant:")
    assert msgs[-1] == {"role": "Assistant", "content": ""}
    # multi-paragraph content is kept whole
    msgs = split_transcript("\n\nHuman: a\n\nb\n\nAssistant: c")
    assert msgs[0]["content"] == "a\n\nb"


def test_hh_leading_text_and_no_separator_are_kept_and_counted(kit, write_jsonl):
    recs = [
        {"chosen": "preamble\n\nHuman: q\n\nAssistant: a", "rejected": "no separators at all"},
    ]
    nested, quarantine, repairs, _ = kit.collect(open_batches(write_jsonl("hh.jsonl", recs), format="hh"))
    assert quarantine.height == 0
    assert nested["messages"][0].to_list()[0]["content"] == "preamble\n\nq"
    assert nested["messages"][1].to_list() [0]["content"] == "no separators at all"
    assert repairs == {"hh_leading_text": 1, "hh_no_separator": 1}


def test_hh_empty_or_wrong_sides(kit, write_jsonl):
    recs = [{"chosen": "\n\nHuman: q\n\nAssistant: a", "rejected": ""}, {"chosen": 5, "rejected": "x"}, {"other": 1}]
    nested, quarantine, _, batches = kit.collect(open_batches(write_jsonl("hh.jsonl", recs), format="hh"))
    assert nested["conversation_id"].to_list() == ["hh.jsonl:0:chosen"]
    reasons = dict(zip(quarantine["row"], quarantine["reason"], strict=True))
    assert "no messages" in reasons[0]
    assert "'chosen' must be a transcript string" in reasons[1]
    assert "missing keys 'chosen' and 'rejected'" in reasons[2]
    assert sum(b.records_in for b in batches) == 4


@pytest.mark.realdata
def test_hh_harmless_base_test(kit, shared_data):
    path = shared_data / "hh-rlhf" / "harmless-base" / "test.jsonl.gz"
    scan = open_batches(path)
    assert scan.format == "hh"
    nested, quarantine, _, batches = kit.collect(scan)
    # PROVENANCE: 2,312 pairs -> 4,624 conversations
    assert sum(b.source_records for b in batches) == 2312
    assert nested.height == 4624 and quarantine.height == 0
    chosen = _pairs(nested, "chosen")
    dist = Counter(chosen["messages"].list.len().to_list())
    # PROVENANCE turn-count distribution of `chosen` (the entries it lists)
    expected = {2: 662, 4: 580, 5: 4, 6: 589, 7: 1, 8: 354, 10: 68, 11: 1, 12: 19, 13: 1, 14: 16, 16: 7}
    assert {k: dist[k] for k in expected} == expected
    assert set(nested["messages"].explode().struct.field("role")) == {"Human", "Assistant"}
    # PROVENANCE: 2,307 pairs differ only in the final assistant turn
    rej = _pairs(nested, "rejected")
    c_msgs, r_msgs = chosen["messages"].to_list(), rej["messages"].to_list()
    same_prefix = sum(c[:-1] == r[:-1] and c[-1] != r[-1] for c, r in zip(c_msgs, r_msgs, strict=True))
    assert same_prefix == 2307
