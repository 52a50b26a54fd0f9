"""A folder of ShareGPT JSON files, one conversation per file: detected, and read in batches
across files (one vectorised pass per batch, not per file) with each record's own provenance."""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl
import pytest

import chatlens
from chatlens.corpus.readers import _pipeline, file_groups
from chatlens.corpus.sources import open_batches, resolve
from chatlens.engine.partitions import plan_partitions


def _conv(i: int) -> dict:
    return {
        "id": f"c{i}",
        "model": "gpt-4",
        "conversations": [
            {"from": "human", "value": f"question {i}"},
            {"from": "gpt", "value": "I'm sorry, but I can't." if i % 3 else "Sure."},
        ],
    }


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    root = tmp_path / "sharegpt"
    root.mkdir()
    for i in range(30):
        (root / f"{i:03d}.json").write_text(json.dumps(_conv(i)))
    (root / "007.json").write_text(json.dumps({"id": "c7", "conversations": []}))  # quarantined
    return root


def test_folder_of_one_conversation_files_is_detected(folder):
    assert open_batches(folder).format == "sharegpt"


def test_folder_is_read_in_batches_across_files_with_per_file_provenance(folder, monkeypatch):
    calls = []
    real = _pipeline._jsonl_chunk  # the vectorised JSONL step, once per batch
    monkeypatch.setattr(_pipeline, "_jsonl_chunk", lambda *a, **k: calls.append(1) or real(*a, **k))
    batches = list(open_batches(folder, batch_size=12))
    assert len(batches) == len(calls) == 3  # 30 files / 12 per batch, not 30 batches
    assert [b.records_in for b in batches] == [12, 12, 6]
    nested = pl.concat([b.nested for b in batches])
    quarantine = pl.concat([b.quarantine for b in batches])
    assert nested.height == 29 and quarantine.height == 1
    assert nested.filter(pl.col("conversation_id") == "c12")["_file"].item().endswith("012.json")
    assert nested["_row"].unique().to_list() == [0]  # each file's own row
    assert quarantine["file"].item().endswith("007.json") and quarantine["row"].item() == 0


def test_folder_reads_like_the_same_records_in_one_file(folder, tmp_path):
    one = tmp_path / "one.jsonl"
    one.write_text("\n".join(p.read_text() for p in sorted(folder.iterdir())) + "\n")
    a, b = chatlens.read(folder), chatlens.read(one)
    assert a.conversations.drop("extra").equals(b.conversations.drop("extra"))
    assert a.messages.select("conversation_id", "role", "content").equals(
        b.messages.select("conversation_id", "role", "content")
    )


def test_analyze_plans_one_partition_per_group_and_matches_one_file(folder, tmp_path, monkeypatch):
    files = resolve(folder)
    assert len(plan_partitions(files, "sharegpt")) == 1
    monkeypatch.setattr(_pipeline, "GROUP_BYTES", 2_000)  # ~12 files a group
    groups = file_groups("sharegpt", files)
    assert 1 < len(groups) < 30 and sum(map(len, groups)) == 30
    result = chatlens.analyze(folder, out=tmp_path / "run", engine="process", workers=2)
    assert result.rows_analysed == 29 and result.rows_quarantined == 1


def test_big_or_compressed_files_are_not_grouped(tmp_path, monkeypatch):
    monkeypatch.setattr(_pipeline, "SMALL_FILE_BYTES", 100)
    (tmp_path / "a.json").write_text(json.dumps(_conv(0)))  # > 100 bytes
    (tmp_path / "b.json").write_text(json.dumps(_conv(1)))
    assert [len(g) for g in file_groups("sharegpt", resolve(tmp_path))] == [1, 1]


def test_pretty_printed_array_and_broken_files_in_a_folder(folder):
    (folder / "100.json").write_text(json.dumps(_conv(100), indent=2))  # line breaks inside
    (folder / "101.json").write_text(json.dumps([_conv(101), _conv(102)]))  # an array file
    (folder / "102.json").write_text('{"id": "c103", "conversations": [')  # truncated
    corpus = chatlens.read(folder)
    ids = set(corpus.conversations["conversation_id"].to_list())
    assert {"c100", "c101", "c102"} <= ids and "c103" not in ids
    q = corpus.quarantine.filter(pl.col("file").str.ends_with("102.json"))
    assert q.height == 1 and "malformed JSON" in q["reason"].item()
    assert corpus.summary.records_in == corpus.summary.conversations + corpus.summary.quarantined


def test_a_truncated_array_file_is_quarantined_not_fatal(folder, tmp_path):
    (folder / "000.json").write_text(json.dumps([_conv(200), _conv(201)])[:-10])  # sniffed first
    (folder / "100.json").write_text(json.dumps([_conv(100), _conv(101)])[:-10])
    assert open_batches(folder).format == "sharegpt"
    corpus = chatlens.read(folder)
    q = corpus.quarantine.filter(pl.col("reason").str.contains("not valid JSON"))
    assert sorted(Path(f).name for f in q["file"]) == ["000.json", "100.json"]
    assert q["row"].to_list() == [0, 0]
    assert corpus.summary.conversations == 28  # 30 files - 000.json (truncated) - 007.json (empty)
    assert corpus.summary.records_in == corpus.summary.conversations + corpus.summary.quarantined
    result = chatlens.analyze(folder, out=tmp_path / "run")
    assert (result.rows_analysed, result.rows_quarantined) == (28, 3)


def test_detection_skips_an_unreadable_file_but_not_when_it_is_the_only_one(tmp_path):
    from chatlens.errors import FormatDetectionError

    (tmp_path / "a.json").write_text(json.dumps([_conv(1)])[:-5])
    with pytest.raises(FormatDetectionError, match="a.json"):
        open_batches(tmp_path / "a.json")
    (tmp_path / "b.json").write_text(json.dumps(_conv(2)))
    assert open_batches(tmp_path).format == "sharegpt"


def test_files_keeping_their_records_under_a_key_read_as_when_alone(tmp_path):
    # an export such as {"version": 1, "data": [...]} gave its 3 records read alone, but one
    # quarantined row ('missing key conversations') per file in a folder of such files
    root = tmp_path / "pages"
    root.mkdir()
    for page in range(2):
        doc = {"version": 1, "data": [_conv(3 * page + i) for i in range(3)]}
        (root / f"page{page}.json").write_text(json.dumps(doc))
    alone = chatlens.read(root / "page0.json")
    together = chatlens.read(root)
    assert (alone.summary.conversations, alone.summary.quarantined) == (3, 0)
    assert (together.summary.records_in, together.summary.conversations, together.summary.quarantined) == (6, 6, 0)
    assert together.conversations["conversation_id"].to_list() == [f"c{i}" for i in range(6)]
    assert together.messages.filter(pl.col("conversation_id") == "c4").height == 2


def test_a_broken_small_file_is_quarantined_whatever_its_neighbours(tmp_path, monkeypatch):
    # a truncated file sharing a group with a small neighbour was quarantined; between two
    # files too large to group it was read alone and stopped the run (SchemaError)
    root = tmp_path / "mixed"
    root.mkdir()
    (root / "a.json").write_text(json.dumps([_conv(i) for i in range(20)]))
    (root / "b.json").write_text('{"id": "t", "conversations": [')
    (root / "c.json").write_text(json.dumps([_conv(i) for i in range(20, 40)]))
    monkeypatch.setattr(_pipeline, "SMALL_FILE_BYTES", 100)  # a.json and c.json are 'large'
    assert [len(g) for g in file_groups("sharegpt", resolve(root))] == [1, 1, 1]
    corpus = chatlens.read(root, format="sharegpt")
    assert (corpus.summary.records_in, corpus.summary.conversations, corpus.summary.quarantined) == (41, 40, 1)
    assert corpus.quarantine.select("row", "reason").row(0)[0] == 0
    assert corpus.quarantine["file"].to_list() == [str(root / "b.json")]


def test_an_array_item_nested_too_deep_in_a_folder_is_quarantined(tmp_path):
    # json.dumps of the streaming parser's TooDeep marker raised a raw TypeError
    root = tmp_path / "deep"
    root.mkdir()
    (root / "a.json").write_text(json.dumps(_conv(0)))
    (root / "b.json").write_text("[" + json.dumps(_conv(1)) + ", " + "[" * 5000 + "]" * 5000 + "]")
    corpus = chatlens.read(root, format="sharegpt")
    assert (corpus.summary.records_in, corpus.summary.conversations, corpus.summary.quarantined) == (3, 2, 1)
    file, row, reason = corpus.quarantine.select("file", "row", "reason").row(0)
    assert (file, row) == (str(root / "b.json"), 1) and "nested deeper" in reason
