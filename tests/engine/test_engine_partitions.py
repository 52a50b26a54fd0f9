"""Partitions: per file, Parquet split by row groups, file-global row numbers."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest
from _engine_helpers import sharegpt, write_jsonl

from chatlens.corpus.readers import READERS
from chatlens.corpus.readers.base import ReaderOptions
from chatlens.corpus.sources import classify, resolve
from chatlens.engine.partitions import Partition, plan_partitions, read_partition
from chatlens.errors import InvalidParameterError


def test_parquet_split_by_row_groups(synth_files: list[Path]) -> None:
    files = resolve([str(p) for p in synth_files])
    plan = plan_partitions(files, "lmsys", partition_rows=500)
    # 4 row groups of 300 per file; groups are added until >= 500 rows: (0,2) (2,4) per file
    assert [(p.index, p.file.path.name, p.row_groups, p.first_row, p.rows) for p in plan] == [
        (0, "part1.parquet", (0, 2), 0, 600),
        (1, "part1.parquet", (2, 4), 600, 600),
        (2, "part2.parquet", (0, 2), 0, 600),
        (3, "part2.parquet", (2, 4), 600, 600),
    ]
    assert plan[1].label.endswith("part1.parquet, row groups 2-3, rows 600-1199)")
    assert plan_partitions(files, "lmsys", partition_rows=None) == [
        Partition(0, files[0]),
        Partition(1, files[1]),
    ]
    whole = plan_partitions(files, "lmsys", partition_rows=10_000)
    assert [(p.row_groups, p.rows) for p in whole] == [(None, 1200), (None, 1200)]


def test_row_group_partitions_read_like_the_whole_file(synth_files: list[Path]) -> None:
    file = resolve(str(synth_files[0]))[0]
    opts = ReaderOptions()
    whole = pl.concat(
        [b.nested for b in READERS.get("lmsys").scan(file, batch_size=250, options=opts)]
    )
    parts = [
        b.nested
        for p in plan_partitions([file], "lmsys", partition_rows=300)
        for b in read_partition(p, "lmsys", batch_size=250, options=opts)
    ]
    assert len(parts) >= 4
    joined = pl.concat(parts)
    assert joined.equals(whole)
    assert joined.get_column("_row").to_list() == list(range(1200))


def test_ids_derived_from_rows_stay_unique_across_partitions(tmp_path: Path) -> None:
    # ShareGPT records without ids get '<file>#<row>': a row-group partition must count rows
    # from the file start, or partitions would mint the same ids.
    import pyarrow as pa
    import pyarrow.parquet as pq

    rows = [sharegpt(None, f"q{i}", f"a{i}") for i in range(40)]
    path = tmp_path / "noid.parquet"
    pq.write_table(pa.Table.from_pylist(rows), path, row_group_size=10)
    file = classify(path)
    plan = plan_partitions([file], "sharegpt", partition_rows=10)
    assert len(plan) == 4
    from chatlens.corpus.api import canonical_batch

    ids = []
    for p in plan:
        for raw in read_partition(p, "sharegpt", batch_size=7, options=ReaderOptions()):
            ids += (
                canonical_batch(raw, set(), max_message_chars=1000).conversations.get_column("conversation_id").to_list()
            )
    assert ids == [f"noid.parquet#{i}" for i in range(40)]


def test_non_splittable_inputs_stay_whole(tmp_path: Path) -> None:
    path = write_jsonl(tmp_path / "a.jsonl", [sharegpt("x", "hi", "yo")] * 3)
    plan = plan_partitions(resolve(str(path)), "sharegpt", partition_rows=1)
    assert [(p.row_groups, p.rows) for p in plan] == [(None, None)]
    assert plan[0].label == f"partition 0 ({path})"


def test_formats_spanning_rows_are_never_split(synth_files: list[Path]) -> None:
    # a message-per-row table could cut a conversation in two: one partition per file
    plan = plan_partitions(resolve(str(synth_files[0])), "table", partition_rows=1)
    assert [p.row_groups for p in plan] == [None]


@pytest.mark.parametrize("bad", [0, -1, 1.5, True])
def test_partition_rows_validated(bad: object, synth_files: list[Path]) -> None:
    with pytest.raises(InvalidParameterError, match="partition_rows"):
        plan_partitions(resolve(str(synth_files[0])), "lmsys", partition_rows=bad)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("groups", "target", "expected"),
    [
        ([50_000, 50_000, 25_000], 100_000, [(0, 3)]),  # 1.25 targets: stays whole
        ([50_000] * 4, 100_000, [(0, 2), (2, 4)]),
        ([300] * 4, 300, [(0, 1), (1, 2), (2, 3), (3, 4)]),
        ([100], 1, [(0, 1)]),  # a single row group is never split
        ([], 10, [(0, 0)]),
    ],
)
def test_balanced_row_group_ranges(
    groups: list[int], target: int, expected: list[tuple[int, int]]
) -> None:
    from chatlens.engine.partitions import _balanced_ranges

    assert _balanced_ranges(groups, target) == expected
