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
