from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

import polars as pl
import pytest

from chatlens.corpus.sources import open_batches
from chatlens.errors import InvalidParameterError, MissingColumnError

ROWS = [
    {"chat": "c1", "speaker": "user", "text": "hi", "bot": "m1", "idx": 1},
    {"chat": "c1", "speaker": "bot", "text": "hello", "bot": "m1", "idx": 2},
    {"chat": "c2", "speaker": "user", "text": "q", "bot": None, "idx": 1},
    {"chat": "c2", "speaker": "bot", "text": "a", "bot": "m2", "idx": 2},
    {"chat": "c3", "speaker": "user", "text": "only", "bot": "m3", "idx": 1},
]
CMAP = {"conversation_id": "chat", "role": "speaker", "content": "text", "model": "bot"}


def _write(kind, rows, tmp_path, write_jsonl, write_parquet):
    if kind == "jsonl":
        return write_jsonl("t.jsonl", rows)
    if kind == "parquet":
        return write_parquet("t.parquet", rows)
    path = tmp_path / "t.csv"
    pl.DataFrame(rows).write_csv(path)
    return path


@pytest.mark.parametrize("kind", ["jsonl", "parquet", "csv"])
@pytest.mark.parametrize("batch_size", [1, 2, 100])
def test_message_layout_groups_rows(kit, kind, batch_size, tmp_path, write_jsonl, write_parquet):
    path = _write(kind, ROWS, tmp_path, write_jsonl, write_parquet)
    scan = open_batches(path, column_map=CMAP, batch_size=batch_size)
    assert scan.format == "table"
    nested, quarantine, _, batches = kit.collect(scan)
    assert nested["conversation_id"].to_list() == ["c1", "c2", "c3"]  # never split across batches
    assert quarantine.height == 0
    assert nested["model"].to_list() == ["m1", "m2", "m3"]  # first non-null
    assert [[m["content"] for m in ms] for ms in nested["messages"].to_list()] == [["hi", "hello"], ["q", "a"], ["only"]]
    assert nested["_row"].to_list() == [0, 2, 4]
    assert sum(b.source_records for b in batches) == 5


def test_message_layout_orders_by_message_index(kit, write_jsonl):
    rows = [ROWS[1], ROWS[0]]
    nested, _, _, _ = kit.collect(open_batches(write_jsonl("t.jsonl", rows), column_map={**CMAP, "message_index": "idx"}))
    assert [m["content"] for m in nested["messages"][0].to_list()] == ["hi", "hello"]


@pytest.mark.parametrize("kind", ["jsonl", "parquet", "csv"])
def test_message_layout_interleaved_conversations_are_grouped(kind, kit, tmp_path, write_jsonl, write_parquet):
    # A log ordered by time: c1 comes back after c2, across batch boundaries (batch_size=1).
    rows = [ROWS[0], ROWS[2], ROWS[3], {**ROWS[1]}, {"chat": None, "speaker": "user", "text": "lost",
                                                     "bot": None, "idx": 1}, ROWS[4]]
    path = _write(kind, rows, tmp_path, write_jsonl, write_parquet)
    nested, quarantine, _, batches = kit.collect(open_batches(path, column_map=CMAP, batch_size=2))
    assert nested["conversation_id"].to_list() == ["c1", "c2", "c3"]  # order of first appearance
    assert [[m["content"] for m in ms] for ms in nested["messages"].to_list()] == [
        ["hi", "hello"], ["q", "a"], ["only"]]
    assert nested["_row"].to_list() == [0, 1, 5]
    assert quarantine["row"].to_list() == [4]
    assert quarantine["reason"].to_list() == ["row has no conversation id"]
    assert sum(b.records_in for b in batches) == 4
    assert sum(b.source_records for b in batches) == 6


def test_message_layout_contiguous_file_streams_in_batches(kit, write_jsonl):
    rows = ROWS * 1
    nested, quarantine, _, batches = kit.collect(
        open_batches(write_jsonl("t.jsonl", rows), column_map=CMAP, batch_size=1))
    assert nested["conversation_id"].to_list() == ["c1", "c2", "c3"] and quarantine.height == 0
    assert len(batches) >= 3  # streamed, not grouped in one go
    # within one batch, scattered rows are simply grouped
    scattered = [ROWS[0], ROWS[2], ROWS[3], ROWS[1]]
    nested, quarantine, _, _ = kit.collect(open_batches(write_jsonl("t2.jsonl", scattered), column_map=CMAP))
    assert [len(m) for m in nested["messages"].to_list()] == [2, 2] and quarantine.height == 0


def test_message_layout_row_without_id(kit, write_jsonl):
    rows = [*ROWS[:2], {"chat": None, "speaker": "user", "text": "lost"}]
    nested, quarantine, _, _ = kit.collect(open_batches(write_jsonl("t.jsonl", rows), column_map=CMAP))
    assert quarantine["reason"].to_list() == ["row has no conversation id"]
    assert json.loads(quarantine["raw"][0])["text"] == "lost"


def test_missing_mapped_column_names_file_and_columns(write_jsonl):
    path = write_jsonl("t.jsonl", ROWS)
    with pytest.raises(MissingColumnError) as err:
        list(open_batches(path, column_map={**CMAP, "content": "body"}))
    text = str(err.value)
    assert "t.jsonl" in text and "body" in text and "speaker" in text


def test_unknown_canonical_name_is_rejected(write_jsonl):
    with pytest.raises(InvalidParameterError, match="unknown name"):
        open_batches(write_jsonl("t.jsonl", ROWS), column_map={"speaker_role": "speaker"})


def test_default_identity_mapping(kit, write_jsonl):
    rows = [{"conversation_id": "x", "role": "user", "content": "hi"}]
    scan = open_batches(write_jsonl("t.jsonl", rows))
    assert scan.format == "table"  # plain message tables are recognised
    nested, _, _, _ = kit.collect(scan)
    assert nested["messages"][0].to_list()[0]["content"] == "hi"


def test_conversation_layout_csv_with_json_cells(kit, tmp_path):
    path = tmp_path / "conv.csv"
    pl.DataFrame({
        "cid": ["a", "b"],
        "turns": [json.dumps([{"who": "user", "said": "hi"}, {"who": "ai", "said": "yo"}]), "not json"],
        "llm": ["m", "n"],
    }).write_csv(path)
    cmap = {"conversation_id": "cid", "messages": "turns", "role": "who", "content": "said", "model": "llm"}
    nested, quarantine, _, _ = kit.collect(open_batches(path, column_map=cmap, layout="conversation"))
    assert nested["conversation_id"].to_list() == ["a"]
    assert [(m["role"], m["content"]) for m in nested["messages"][0].to_list()] == [("user", "hi"), ("ai", "yo")]
    assert quarantine["row"].to_list() == [1] and "must be a list" in quarantine["reason"][0]


def test_conversation_layout_parquet(kit, write_parquet):
    path = write_parquet("c.parquet", [{"cid": "a", "msgs": [{"role": "user", "content": "hi"}]}])
    nested, _, _, _ = kit.collect(open_batches(path, column_map={"conversation_id": "cid", "messages": "msgs"}))
    assert nested["conversation_id"].to_list() == ["a"]


def test_parse_column_map_cli_form():
    from chatlens.corpus.readers.table import parse_column_map

    assert parse_column_map("conversation_id=chat, role=speaker,content=text") == {
        "conversation_id": "chat", "role": "speaker", "content": "text"}
    with pytest.raises(InvalidParameterError, match="name=column"):
        parse_column_map("role")
    with pytest.raises(InvalidParameterError, match="unknown name"):
        parse_column_map("speaker=role")


@pytest.mark.parametrize("batch_size", [None, 2])
def test_source_records_count_every_row_once(kit, tmp_path, write_jsonl, batch_size):
    """Batches that only close conversations read earlier consume 0 new rows; that 0 must not
    be replaced by their conversation count (it was: 200 CSV rows reported 201 or 230)."""
    from chatlens.corpus.api import info

    rows = [ROWS[0], ROWS[2], ROWS[3], ROWS[1], ROWS[4]]  # c1 interleaved with c2
    path = write_jsonl("t.jsonl", rows)
    options = {"column_map": CMAP, **({"batch_size": batch_size} if batch_size else {})}
    summary = info(path, format="table", **options)
    assert (summary.source_records, summary.conversations, summary.messages) == (5, 3, 5)


def test_column_map_naming_a_field_twice_is_an_error() -> None:
    """``content=text,content=turn`` kept the last pair silently (review)."""
    from chatlens.corpus.readers.table import parse_column_map
    from chatlens.errors import InvalidParameterError

    with pytest.raises(InvalidParameterError, match="names 'content' twice"):
        parse_column_map("conversation_id=c,role=r,content=text,content=turn")
    assert parse_column_map("content=text, content=text")["content"] == "text"


def test_epoch_timestamps_in_milliseconds_and_as_text(tmp_path):
    # epoch milliseconds were read as seconds (the year 55970, which Python cannot hold:
    # OverflowError on to_list()), and epoch seconds in a CSV cell (text) became null
    import chatlens

    jsonl = tmp_path / "ms.jsonl"
    jsonl.write_text("\n".join(json.dumps({"conversation_id": "c1", "role": r, "content": "x", "timestamp": t})
                               for r, t in (("user", 1704103200123), ("assistant", 1704103201000))) + "\n")
    csv = tmp_path / "s.csv"
    csv.write_text("conversation_id,role,content,timestamp\nc1,user,hi,1704103200\nc1,assistant,hello,1704103201.5\n")
    start = datetime(2024, 1, 1, 10, 0, tzinfo=timezone.utc)
    ms = chatlens.read(jsonl, format="table", layout="message")
    assert ms.messages["timestamp"].to_list() == [start + timedelta(milliseconds=123), start + timedelta(seconds=1)]
    seconds = chatlens.read(csv, format="table", layout="message")
    assert seconds.messages["timestamp"].to_list() == [start, start + timedelta(seconds=1.5)]
    assert seconds.conversations["timestamp"].to_list() == [start]


def test_mixed_timestamp_formats_are_read_and_the_unreadable_counted(tmp_path):
    """Reviewed bug: text timestamps were parsed in the format polars inferred from a column's
    first value, so in a column mixing '2024-01-01T10:00:00Z' and '2024-01-01 10:00:01' the
    second became null, and values no rule reads became null too, neither counted anywhere.
    Every ISO 8601 form is now read value by value, and a timestamp given but not read is the
    repair 'timestamp_unparsed' (summary, manifest, tables/repairs.csv)."""
    import chatlens

    values = ["2024-01-01T10:00:00Z", "2024-01-01 10:00:01", "2024-01-01T10:00:02.5+02:00",
              "1704103203", "01/02/2024 10:00", "not a time", ""]
    csv = tmp_path / "mixed.csv"
    csv.write_text("conversation_id,role,content,timestamp\n" + "".join(
        f"c{i},user,hi,{v}\nc{i},assistant,hello,{v}\n" for i, v in enumerate(values)))
    start = datetime(2024, 1, 1, 10, 0, tzinfo=timezone.utc)
    read = chatlens.read(csv, format="table", layout="message")
    assert read.conversations["timestamp"].to_list() == [
        start, start + timedelta(seconds=1), start - timedelta(hours=2) + timedelta(seconds=2.5),
        start + timedelta(seconds=3), None, None, None]
    assert read.summary.repairs == {"timestamp_unparsed": 4}  # 2 conversations x 2 rows; blank is no value

    wildchat = tmp_path / "wild.jsonl"
    records = [{"conversation_hash": f"w{i}", "model": "m", "timestamp": v, "conversation": [
        {"role": "user", "content": "hi", "timestamp": v},
        {"role": "assistant", "content": "yo", "timestamp": "2024-01-01 10:00:09"}]}
        for i, v in enumerate(values)]
    records.append({**records[0], "conversation_hash": "broken", "conversation": "not a list"})  # per-record path
    wildchat.write_text("".join(json.dumps(r) + "\n" for r in records[:-1]))
    fast = chatlens.read(wildchat, format="wildchat")
    assert fast.conversations["timestamp"].null_count() == 3
    assert fast.messages.filter(pl.col("role") == "assistant")["timestamp"].null_count() == 0
    assert fast.summary.repairs == {"timestamp_unparsed": 4}  # 2 conversation + 2 message values
    wildchat.write_text("".join(json.dumps(r) + "\n" for r in records))
    slow = chatlens.read(wildchat, format="wildchat")
    assert slow.summary.repairs == {"timestamp_unparsed": 4} and slow.summary.quarantined == 1

    run = chatlens.analyze(csv, out=tmp_path / "run", format="table", layout="message", detect=False)
    assert run.manifest["counts"]["repairs"] == {"timestamp_unparsed": 4}
    assert "timestamp_unparsed,4" in (tmp_path / "run" / "tables" / "repairs.csv").read_text()
