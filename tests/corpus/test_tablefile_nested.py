"""Nested columns through classify's streaming table files (reviewed bugs).

A struct or list-of-lists input column crashed a CSV output with a polars traceback, and a JSONL
struct field absent from the first batch was silently dropped from later rows.
"""

from __future__ import annotations

import json

import polars as pl
import pytest

from chatlens.corpus.tablefile import TableWriter, iter_table_frames
from chatlens.errors import SourceError


def test_nested_columns_are_json_text_in_csv(tmp_path) -> None:
    frame = pl.DataFrame({
        "meta": [{"model": "gpt-4", "turn": 1}, None],
        "spans": [[[0, 5], [7, 9]], None],
        "cues": [["a", "b"], []],
    })
    out = tmp_path / "out.csv"
    with TableWriter(out) as w:
        w.write(frame)
    back = pl.read_csv(out)
    assert json.loads(back["meta"][0]) == {"model": "gpt-4", "turn": 1}
    assert json.loads(back["spans"][0]) == [[0, 5], [7, 9]]
    assert back["cues"].to_list()[0] == "a;b" and back["meta"][1] is None


def test_a_struct_field_new_in_a_later_jsonl_batch_is_an_error(tmp_path) -> None:
    src = tmp_path / "in.jsonl"
    src.write_text(json.dumps({"id": 1, "meta": {"model": "gpt-4"}}) + "\n"
                   + json.dumps({"id": 2, "meta": {"model": "llama", "label": "x"}}) + "\n")
    with pytest.raises(SourceError, match=r"nested keys \['meta.label'\]"):
        list(iter_table_frames(src, batch_size=1))
    whole = pl.concat(list(iter_table_frames(src, batch_size=10)), how="vertical_relaxed")
    assert whole["meta"].struct.field("label").to_list() == [None, "x"]
