"""Type coercions are counted repairs, and reasons say what they mean (issue 11 item 11).

Before the fix a number or an object in a message's content became text silently (on the fast
path polars even turned a chunk's mixed number/text values into text without a trace), 17 KB of
malformed JSONL was "empty" to format detection, and an empty object was quarantined with
"keys present: " and nothing after it.
"""

from __future__ import annotations

import json

import polars as pl
import pytest

import chatlens
from chatlens.errors import FormatDetectionError


def _jsonl(path, rows):
    path.write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    return path


def _conv(user, assistant):
    return {
        "conversation": [
            {"role": "user", "content": user},
            {"role": "assistant", "content": assistant},
        ]
    }


@pytest.mark.parametrize("mixed", [False, True])
def test_number_and_object_content_are_counted_repairs(tmp_path, mixed):
    rows = [_conv(5, {"answer": 1}), _conv(True, ["a", "b"])]
    if mixed:  # one key, several types in one chunk: the fast path used to coerce silently
        rows.append(_conv("plain", "text"))
    src = _jsonl(tmp_path / "c.jsonl", rows)
    corpus = chatlens.read(src, format="lmsys")
    assert corpus.summary.repairs["content_number_to_text"] == 2
    assert corpus.summary.repairs["content_json_to_text"] == 2
    assert corpus.messages["content"].to_list()[:4] == ["5", '{"answer": 1}', "true", '["a", "b"]']
    # the repairs reach the run's manifest and tables/repairs.csv
    run = chatlens.analyze(src, out=tmp_path / "run", format="lmsys", detect=False)
    assert run.manifest["counts"]["repairs"]["content_json_to_text"] == 2
    table = pl.read_csv(tmp_path / "run" / "tables" / "repairs.csv")
    assert dict(table.rows())["content_number_to_text"] == 2


def test_typed_table_columns_count_their_coercions(tmp_path):
    cmap = {"conversation_id": "c", "role": "r", "content": "x"}
    pq = tmp_path / "t.parquet"
    pl.DataFrame({"c": ["a", "a"], "r": ["user", "assistant"], "x": [1, 2]}).write_parquet(pq)
    assert chatlens.info(pq, format="table", column_map=cmap).repairs == {
        "content_number_to_text": 2
    }
    lst = tmp_path / "l.parquet"
    pl.DataFrame(
        {"c": ["a", "a"], "r": ["user", "assistant"], "x": [["p", "q"], ["r"]]}
    ).write_parquet(lst)
    assert chatlens.info(lst, format="table", column_map=cmap).repairs == {
        "content_json_to_text": 2
    }
    js = tmp_path / "t.json"
    js.write_text(
        json.dumps([{"c": "a", "r": "user", "x": 1}, {"c": "a", "r": "assistant", "x": "t"}])
    )
    assert chatlens.info(js, format="table", column_map=cmap).repairs == {
        "content_number_to_text": 1
    }


def test_text_content_is_no_repair(tmp_path):
    src = _jsonl(tmp_path / "c.jsonl", [_conv("hi", "yo")] * 3)
    assert chatlens.info(src, format="lmsys").repairs == {}


def test_malformed_jsonl_is_not_called_empty(tmp_path):
    src = tmp_path / "bad.jsonl"
    src.write_text(
        '{"messages": [' + '{"role": "user", "content": "x"},' * 500 + '{"role": "user" "x"}]}\n'
    )
    assert src.stat().st_size > 16_000
    with pytest.raises(
        FormatDetectionError,
        match=r"bad\.jsonl: line 1 \(16,\d+ bytes\) is malformed JSON: "
        r"Expecting ',' delimiter: line 1 column \d+",
    ) as info:
        chatlens.info(src)
    assert "empty" not in str(info.value)


def test_an_empty_object_says_it_has_no_keys(tmp_path):
    src = _jsonl(tmp_path / "e.jsonl", [{}, {"x": 1}, _conv("hi", "yo")])
    with src.open("a") as f:
        f.write("{oops\n")  # a malformed line sends the chunk record by record
    reasons = chatlens.info(src, format="lmsys").quarantine_reasons
    assert (
        "missing key 'conversation' (the message list); the object has no keys (it is empty)"
        in reasons
    )
    assert "missing key 'conversation' (the message list); keys present: x" in reasons
    assert not any(r.endswith("keys present: ") for r in reasons)
    for fmt, src2 in (
        ("hh", _jsonl(tmp_path / "h.jsonl", [{}])),
        ("arena", _jsonl(tmp_path / "a.jsonl", [{}])),
    ):
        (reason,) = chatlens.info(src2, format=fmt).quarantine_reasons
        assert reason.endswith("the object has no keys (it is empty)")


@pytest.mark.parametrize("kind", ["jsonl", "parquet"])
def test_a_null_beside_an_object_valued_field_stays_null(tmp_path, kind):
    msgs = [{"role": "user", "content": "q"}, {"role": "assistant", "content": "a"}]
    rows = [{"messages": msgs, "id": None, "model": None, "lang": None} for _ in range(3)]
    rows.append({"id": {"thread": 7}, "model": {"name": "m"}, "lang": ["en"], "messages": msgs})
    src = tmp_path / f"o.{kind}"
    if kind == "jsonl":
        _jsonl(src, rows)
    else:
        pl.DataFrame(rows).write_parquet(src)
    corpus = chatlens.read(src, format="openai")
    assert corpus.quarantine.height == 0
    assert corpus.conversations["conversation_id"].to_list() == [
        f"o.{kind}#0", f"o.{kind}#1", f"o.{kind}#2", '{"thread":7}']
    assert corpus.conversations["model"].to_list() == [None, None, None, '{"name":"m"}']
