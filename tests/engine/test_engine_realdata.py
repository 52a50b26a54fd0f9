"""The engine on real data (../shared/data): same tables as the single-process reader."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest

from chatlens.corpus.api import read
from chatlens.engine import run

pytestmark = pytest.mark.realdata


def _same_as_read(source: str | Path, out: Path, **kwargs: object) -> None:
    corpus = read(source)
    result = run(source, ["message_length"], out=out, **kwargs)
    messages = result.scan("messages").collect()
    assert messages.select(corpus.messages.columns).equals(corpus.messages)
    conversations = result.scan("conversations").collect()
    assert conversations.select(corpus.conversations.columns).equals(corpus.conversations)
    assert result.summary == corpus.summary
    assert result.rows_in == result.rows_analysed + result.rows_quarantined


@pytest.mark.parametrize(
    "relative",
    [
        "hh-rlhf/harmless-base/test.jsonl.gz",
        "dices/dices_350_expert.json",
        "oasst-sample/en_100_tree.jsonl",
    ],
)
def test_local_engine_matches_reader(shared_data: Path, tmp_path: Path, relative: str) -> None:
    _same_as_read(shared_data / relative, tmp_path / "out")


def test_row_group_partitions_on_real_hh(shared_data: Path, tmp_path: Path) -> None:
    """HH pairs expand one row into two conversations: the row-group path must agree too."""
    raw = pl.read_ndjson(shared_data / "hh-rlhf/harmless-base/test.jsonl.gz")
    path = tmp_path / "hh.parquet"  # a derived temporary copy, deleted with tmp_path
    raw.write_parquet(path, row_group_size=500)
    _same_as_read(path, tmp_path / "out", partition_rows=500, engine="process", workers=2)
