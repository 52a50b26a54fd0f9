"""Ids derived from provenance (``<file>#<row>``, HH's ``<file>:<row>:chosen``) are built from the
path relative to the source root, so files with the same name in different folders keep their
conversations apart; a file named directly keeps ids from its file name."""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl

import chatlens
from chatlens.corpus.api import canonical_batch
from chatlens.corpus.readers.base import make_batch
from chatlens.corpus.sources import resolve


def _sharegpt(text: str) -> dict:
    return {"conversations": [{"from": "human", "value": text}, {"from": "gpt", "value": "a"}]}


def _hh(text: str) -> dict:
    return {"chosen": f"\n\nHuman: {text}\n\nAssistant: good", "rejected": f"\n\nHuman: {text}\n\nAssistant: bad"}


def _split_folders(tmp_path: Path) -> Path:
    """HF split folders: ``train/data.jsonl`` and ``test/data.jsonl``, two id-less records each."""
    root = tmp_path / "splits"
    for split in ("train", "test"):
        (root / split).mkdir(parents=True)
        (root / split / "data.jsonl").write_text(
            "".join(json.dumps(_sharegpt(f"{split} q{i}")) + "\n" for i in range(2)))
    return root


def test_same_file_name_in_two_folders_gives_distinct_ids(tmp_path):
    root = _split_folders(tmp_path)
    corpus = chatlens.read(root)
    assert corpus.quarantine.height == 0
    assert corpus.conversations["conversation_id"].to_list() == [
        "test/data.jsonl#0", "test/data.jsonl#1", "train/data.jsonl#0", "train/data.jsonl#1"]
    # a file named directly keeps the ids of its file name, as before
    single = chatlens.read(root / "train" / "data.jsonl")
    assert single.conversations["conversation_id"].to_list() == ["data.jsonl#0", "data.jsonl#1"]


def test_hh_subsets_with_the_same_file_name(tmp_path):
    for subset, n in (("harmless-base", 3), ("helpful-base", 2)):
        (tmp_path / "hh" / subset).mkdir(parents=True)
        (tmp_path / "hh" / subset / "train.jsonl").write_text(
            "".join(json.dumps(_hh(f"{subset} {i}")) + "\n" for i in range(n)))
    corpus = chatlens.read(tmp_path / "hh")
    assert corpus.summary.conversations == 10 and corpus.quarantine.height == 0
    ids = corpus.conversations["conversation_id"].to_list()
    assert ids[:2] == ["harmless-base/train.jsonl:0:chosen", "harmless-base/train.jsonl:0:rejected"]
    assert "helpful-base/train.jsonl:1:rejected" in ids
    single = chatlens.read(tmp_path / "hh" / "helpful-base" / "train.jsonl")
    assert single.conversations["conversation_id"][0] == "train.jsonl:0:chosen"


def test_analyze_keeps_every_conversation_of_same_named_files(tmp_path):
    result = chatlens.analyze(_split_folders(tmp_path), out=tmp_path / "run")
    assert (result.rows_in, result.rows_analysed, result.rows_quarantined) == (4, 4, 0)


def test_glob_and_list_sources(tmp_path):
    root = _split_folders(tmp_path)
    assert [f.id_name for f in resolve(str(root / "*" / "data.jsonl"))] == [
        "test/data.jsonl", "train/data.jsonl"]
    assert [f.id_name for f in resolve(str(root / "t*" / "*.jsonl"))] == [
        "test/data.jsonl", "train/data.jsonl"]
    # two files named in a list share a file name: the folders that tell them apart are kept
    listed = resolve([root / "train" / "data.jsonl", root / "test" / "data.jsonl"])
    assert [f.id_name for f in listed] == ["train/data.jsonl", "test/data.jsonl"]
    assert chatlens.read([root / "train" / "data.jsonl", root / "test" / "data.jsonl"]).quarantine.height == 0


def test_folder_of_small_json_files_read_together(tmp_path):
    for sub in ("a", "b"):
        (tmp_path / "f" / sub).mkdir(parents=True)
        (tmp_path / "f" / sub / "x.json").write_text(json.dumps(_sharegpt(sub)))
    corpus = chatlens.read(tmp_path / "f")
    assert corpus.conversations["conversation_id"].to_list() == ["a/x.json#0", "b/x.json#0"]


def test_a_fallback_id_repeated_in_a_later_batch_is_quarantined():
    nested = pl.DataFrame({
        "_file": ["d/in.jsonl"], "_row": [0],
        "messages": [[{"role": "user", "content": "q"}]],
    })
    seen: set[str] = set()
    first = canonical_batch(make_batch(nested), seen, max_message_chars=100)
    again = canonical_batch(make_batch(nested), seen, max_message_chars=100)
    assert first.conversations["conversation_id"].to_list() == ["in.jsonl#0"]
    assert again.conversations.height == 0
    assert again.quarantine["conversation_id"].to_list() == ["in.jsonl#0"]
    assert "duplicate conversation_id" in again.quarantine["reason"][0]
