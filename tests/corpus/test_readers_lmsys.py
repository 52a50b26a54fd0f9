from __future__ import annotations

import json

import polars as pl
import pytest

from chatlens.corpus.sources import open_batches


def _msgs(nested: pl.DataFrame, cid: str) -> list[dict]:
    return nested.filter(pl.col("conversation_id") == cid)["messages"][0].to_list()


@pytest.mark.parametrize("kind", ["jsonl", "parquet"])
def test_lmsys_reads_messages_and_aligned_moderation(kit, kind, write_jsonl, write_parquet):
    recs = [kit.lmsys_record("c1", 2, flag_at=3), kit.lmsys_record("c2", 1), kit.lmsys_record("c3", 1, redacted=True)]
    path = write_jsonl("l.jsonl", recs) if kind == "jsonl" else write_parquet("l.parquet", recs)
    scan = open_batches(path, format="lmsys")
    nested, quarantine, _, _ = kit.collect(scan)
    assert nested["conversation_id"].to_list() == ["c1", "c2", "c3"]
    assert nested["_row"].to_list() == [0, 1, 2]
    assert quarantine.height == 0
    assert set(nested["source"]) == {"lmsys"}
    m = _msgs(nested, "c1")
    assert [x["role"] for x in m] == ["user", "assistant", "user", "assistant"]
    assert m[1]["content"] == "a0 of c1"
    assert [x["moderation_flagged"] for x in m] == [False, False, False, True]
    assert m[3]["moderation_categories"] == ["hate"]
    assert m[0]["moderation_categories"] == []
    assert m[3]["moderation_max_score"] == pytest.approx(0.9)
    assert nested["moderation_flagged"].to_list() == [True, False, False]
    extra = json.loads(nested["extra"][2])
    assert extra == {"turn": 1, "redacted": True}
    assert nested["language"][0] == "English" and nested["model"][0] == "vicuna-13b"


def test_lmsys_flag_from_category_even_when_flagged_false(kit, write_jsonl):
    rec = kit.lmsys_record("c1", 1)
    rec["openai_moderation"][0] = kit.moderation("violence", flagged=False)
    nested, _, _, _ = kit.collect(open_batches(write_jsonl("l.jsonl", [rec]), format="lmsys"))
    m = _msgs(nested, "c1")
    assert m[0]["moderation_flagged"] is True
    assert m[0]["moderation_categories"] == ["violence"]


def test_lmsys_moderation_shorter_or_longer_than_conversation(kit, write_jsonl):
    short = kit.lmsys_record("short", 2)
    short["openai_moderation"] = short["openai_moderation"][:1]
    long = kit.lmsys_record("long", 1)
    long["openai_moderation"] = [*long["openai_moderation"], kit.moderation("hate"), kit.moderation("hate")]
    none = kit.lmsys_record("none", 1, openai_moderation=None)
    nested, quarantine, _, _ = kit.collect(open_batches(write_jsonl("l.jsonl", [short, long, none]), format="lmsys"))
    assert quarantine.height == 0
    s = _msgs(nested, "short")
    assert [x["moderation_flagged"] for x in s] == [False, None, None, None]
    lg = _msgs(nested, "long")
    assert [x["moderation_flagged"] for x in lg] == [False, False]  # extra entries ignored
    assert _msgs(nested, "none")[0]["moderation_flagged"] is None
    flags = dict(zip(nested["conversation_id"], nested["moderation_flagged"], strict=True))
    assert flags == {"short": False, "long": False, "none": None}


def test_lmsys_fast_and_fallback_paths_agree(kit, write_jsonl):
    recs = [kit.lmsys_record(f"c{i}", 1 + i % 3, flag_at=i % 4) for i in range(30)]
    good = write_jsonl("good.jsonl", recs)
    bad = write_jsonl("bad.jsonl", [*[json.dumps(r).encode() for r in recs], b"{broken"])
    fast, _, _, _ = kit.collect(open_batches(good, format="lmsys"))
    slow, quarantine, _, _ = kit.collect(open_batches(bad, format="lmsys"))
    assert quarantine["row"].to_list() == [30]
    cols = ["conversation_id", "model", "language", "moderation_flagged", "messages", "_row"]
    assert fast.select(cols).equals(slow.select(cols))


def test_lmsys_batches_are_bounded_and_in_file_order(kit, write_jsonl):
    recs = [kit.lmsys_record(f"c{i}") for i in range(25)]
    batches = list(open_batches(write_jsonl("l.jsonl", recs), format="lmsys", batch_size=10))
    assert [b.nested.height for b in batches] == [10, 10, 5]
    rows = pl.concat([b.nested for b in batches])["_row"].to_list()
    assert rows == list(range(25))
