"""Rows in are counted as they are read, not derived from the outcome (issue 11 item 3).

Each test makes one step lose a row on purpose and checks that the loss is an AccountingError
instead of a silently smaller corpus (before the fix every one of these ran "successfully").
"""

from __future__ import annotations

import json

import polars as pl
import pytest

import chatlens
from chatlens.corpus.readers import _conversations, table
from chatlens.errors import AccountingError

CMAP = {"conversation_id": "chat", "role": "speaker", "content": "text"}


def _sharegpt(path, n=4):
    rows = [
        {
            "id": f"c{i}",
            "conversations": [{"from": "human", "value": "hi"}, {"from": "gpt", "value": "yo"}],
        }
        for i in range(n)
    ]
    path.write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    return path


def test_a_reader_that_drops_a_record_is_an_error(tmp_path, monkeypatch):
    src = _sharegpt(tmp_path / "s.jsonl")
    real = _conversations.to_nested

    def lossy(layout, raw, ctx=None):
        return real(layout, raw, ctx).head(-1)  # the bug: the last record vanishes

    monkeypatch.setattr(_conversations, "to_nested", lossy)
    with pytest.raises(
        AccountingError,
        match=r"s\.jsonl.*1 row\(s\) read but neither analysed nor quarantined.*\[3\]",
    ):
        chatlens.read(src, format="sharegpt")


def test_counts_come_from_the_rows_read(tmp_path):
    src = _sharegpt(tmp_path / "s.jsonl")
    with src.open("a") as f:
        f.write("{oops\n\n[1]\n")
    s = chatlens.info(src, format="sharegpt")
    # 6 non-blank lines read: 4 conversations + 2 quarantined
    assert (s.source_records, s.records_in, s.conversations, s.quarantined) == (6, 6, 4, 2)


def test_the_table_reader_balances_rows_across_batches(tmp_path, monkeypatch):
    src = tmp_path / "e.csv"
    src.write_text(
        "chat,speaker,text\nc0,user,hi\nc0,assistant,yo\n,user,lost\nc1,user,hi\nc1,assistant,yo\n"
    )

    def drop_without_quarantine(df, ctx, quarantine, lookup):
        return df.filter(pl.col("conversation_id").is_not_null())  # the old silent drop

    monkeypatch.setattr(table, "_without_id_quarantined", drop_without_quarantine)
    with pytest.raises(
        AccountingError, match=r"e\.csv: rows in do not add up: 5 rows read, 4 came out"
    ):
        chatlens.info(src, format="table", column_map=CMAP, batch_size=2)


def test_canonicalisation_that_loses_a_conversation_is_an_error(tmp_path, monkeypatch):
    from chatlens.corpus import api
    from chatlens.corpus.canonical import CanonicalBatch

    src = _sharegpt(tmp_path / "s.jsonl")
    real = api.canonicalize

    def lossy(nested, **kw):
        b = real(nested, **kw)
        return CanonicalBatch(
            b.messages, b.conversations.head(-1), b.quarantine, b.repairs, b.records_in
        )

    monkeypatch.setattr(api, "canonicalize", lossy)
    with pytest.raises(AccountingError, match="canonicalising 4 conversation"):
        chatlens.info(src, format="sharegpt")


def test_analyze_checks_the_rows_written(tmp_path, monkeypatch):
    from chatlens.corpus import sink

    src = _sharegpt(tmp_path / "s.jsonl")
    real = sink.ParquetSink.write

    def skip_quarantine_rows(self, frame):
        if "reason" in frame.columns:
            return None  # the bug: quarantine rows never reach the file
        return real(self, frame)

    with src.open("a") as f:
        f.write("{oops\n")
    monkeypatch.setattr(sink.ParquetSink, "write", skip_quarantine_rows)
    with pytest.raises(
        AccountingError, match=r"quarantine\.parquet holds 0 rows, 1 were quarantined"
    ):
        chatlens.analyze(src, out=tmp_path / "run", format="sharegpt", detect=False)


def test_the_engine_checks_every_partition(tmp_path, monkeypatch):
    import dataclasses

    from chatlens.corpus.api import SourceOptions
    from chatlens.engine import run, worker
    from chatlens.errors import PartitionError

    src = _sharegpt(tmp_path / "s.jsonl")
    real = worker.canonical_batch

    def one_more_in(raw, seen, **kw):
        batch = real(raw, seen, **kw)
        return dataclasses.replace(batch, records_in=batch.records_in + 1)

    monkeypatch.setattr(worker, "canonical_batch", one_more_in)
    with pytest.raises(
        PartitionError, match=r"AccountingError: partition 0 .*counts do not add up: 5"
    ):
        run(src, out=tmp_path / "out", options=SourceOptions(format="sharegpt"))
