"""Partitions: independent units of work that a worker reads by itself.

Why partitions: a 6-file LMSYS dump or a 14-file WildChat dump must spread over workers, and the
unit that travels to a worker must be small (paths and options, never data). Every file is one
partition; a large Parquet file of a *record-per-conversation* format is further split by row
groups (read from the Parquet footer on the driver, no data read), so one big shard does not leave
the other workers idle.

Only formats where one Parquet row is one self-contained record are split by row groups
(:data:`ROW_GROUP_FORMATS`). Formats whose conversations span rows (``oasst`` message trees, the
``table`` message layout) stay one partition per file, so a conversation is never split.

Row numbers (``_row`` provenance, and ids derived from ``<file>#<row>``) stay file-global: a
row-group partition starts counting at its first row, so the output is the same as reading the
whole file in one go.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import pyarrow as pa
import pyarrow.parquet as pq

from chatlens.corpus.readers import file_groups, scan_group
from chatlens.corpus.readers.base import ReaderBatch, ReaderOptions, ResolvedFile
from chatlens.errors import InvalidParameterError, SourceError

#: Formats whose Parquet rows are independent records (one row -> one or more whole conversations).
ROW_GROUP_FORMATS = frozenset({"lmsys", "wildchat", "sharegpt", "openai", "arena", "hh"})
#: Default target size of a row-group partition, in rows (whole row groups are never split).
DEFAULT_PARTITION_ROWS = 100_000


@dataclass(frozen=True)
class Partition:
    """One unit of work: a file, or a contiguous range of a Parquet file's row groups.

    Attributes
    ----------
    index : position in the plan; output parts are named and ordered by it.
    file : the file to read (on the worker).
    row_groups : ``(first, stop)`` row-group range (``stop`` exclusive), or ``None`` for the
        whole file.
    first_row : the file-global row number of the partition's first row.
    rows : number of rows when known from Parquet metadata, else ``None``.
    more_files : small JSON files read after ``file`` in one batch stream (a folder of one
        conversation per file; see :func:`chatlens.corpus.readers.file_groups`).
    """

    index: int
    file: ResolvedFile
    row_groups: tuple[int, int] | None = None
    first_row: int = 0
    rows: int | None = None
    more_files: tuple[ResolvedFile, ...] = ()

    @property
    def label(self) -> str:
        """A human-readable name for messages: ``partition 3 (data.parquet, row groups 4-7)``."""
        where = self.file.name
        if self.more_files:
            where += f" and {len(self.more_files):,} more files to {self.more_files[-1].name}"
        if self.row_groups is not None:
            first, stop = self.row_groups
            groups = f"row group {first}" if stop - first == 1 else f"row groups {first}-{stop - 1}"
            where += f", {groups}, rows {self.first_row}-{self.first_row + (self.rows or 0) - 1}"
        return f"partition {self.index} ({where})"


def plan_partitions(
    files: Sequence[ResolvedFile],
    format: str,
    *,
    partition_rows: int | None = DEFAULT_PARTITION_ROWS,
) -> list[Partition]:
    """Split resolved files into partitions, in file order.

    Parameters
    ----------
    files
        Resolved input files (see :func:`chatlens.corpus.sources.resolve`).
    format
        The registered source format.
    partition_rows
        Target rows per partition for splittable Parquet files: a file of ``n`` rows becomes
        ``round(n / partition_rows)`` partitions of whole, contiguous row groups, as equal in
        size as the row groups allow. ``None`` keeps one partition per file.
    """
    if partition_rows is not None and (
        isinstance(partition_rows, bool)
        or not isinstance(partition_rows, int)
        or partition_rows < 1
    ):
        msg = f"The 'partition_rows' parameter must be a positive integer or None. Got {partition_rows!r} instead."
        raise InvalidParameterError(msg)
    parts: list[Partition] = []
    for group in file_groups(format, list(files)):
        file = group[0]
        if len(group) > 1:
            parts.append(Partition(len(parts), file, more_files=tuple(group[1:])))
            continue
        splittable = (
            partition_rows is not None
            and format in ROW_GROUP_FORMATS
            and file.container == "parquet"
            and file.compression is None
        )
        if not splittable:
            parts.append(Partition(len(parts), file))
            continue
        group_rows = _row_group_rows(file)
        for first, stop in _balanced_ranges(group_rows, partition_rows):
            first_row = sum(group_rows[:first])
            rows = sum(group_rows[first:stop])
            whole = first == 0 and stop == len(group_rows)
            parts.append(
                Partition(
                    len(parts),
                    file,
                    None if whole else (first, stop),
                    0 if whole else first_row,
                    rows,
                )
            )
    return parts


def _balanced_ranges(group_rows: list[int], target: int) -> list[tuple[int, int]]:
    """Cut a file's row groups into ``round(rows / target)`` contiguous ranges of similar size.

    Each cut goes to the row-group boundary nearest the ideal cut, so a 125k-row file of 50k
    groups with a 100k target stays whole instead of becoming a 100k and a 25k partition.
    """
    total = sum(group_rows)
    k = min(len(group_rows), max(1, round(total / target)))
    if k <= 1:
        return [(0, len(group_rows))]
    bounds = [0]
    acc = 0
    ends = []
    for n in group_rows:
        acc += n
        ends.append(acc)  # rows up to the end of group i
    for j in range(1, k):
        ideal = total * j / k
        cut = min(range(1, len(group_rows)), key=lambda i: (abs(ends[i - 1] - ideal), i))
        if cut > bounds[-1]:
            bounds.append(cut)
    bounds.append(len(group_rows))
    return list(zip(bounds[:-1], bounds[1:], strict=False))


def _row_group_rows(file: ResolvedFile) -> list[int]:
    try:
        meta = pq.ParquetFile(str(file.path)).metadata
    except (OSError, pa.ArrowException) as exc:
        msg = f"Cannot read {file.name} as Parquet: {exc}"
        raise SourceError(msg) from exc
    return [meta.row_group(i).num_rows for i in range(meta.num_row_groups)]


def read_partition(
    partition: Partition, format: str, *, batch_size: int, options: ReaderOptions
) -> Iterator[ReaderBatch]:
    """Stream a partition's :class:`ReaderBatch` objects through the format's reader.

    Whole-file partitions call the registered reader unchanged. Row-group partitions drive the
    same record pipeline the reader uses (the format module's ``FORMAT`` and the shared Arrow
    batch step), over only their row groups, with file-global row numbers.
    """
    if partition.row_groups is None:
        files = [partition.file, *partition.more_files]
        yield from scan_group(format, files, batch_size=batch_size, options=options)
        return
    yield from _read_row_groups(partition, format, batch_size=batch_size, options=options)


def _read_row_groups(
    partition: Partition, format: str, *, batch_size: int, options: ReaderOptions
) -> Iterator[ReaderBatch]:
    # The reader modules expose no row-group hook; the record pipeline's Arrow step is the same
    # function ``scan_records`` calls per record batch, so the output is identical.
    from chatlens.corpus.readers import _io, _pipeline

    if format not in ROW_GROUP_FORMATS:
        msg = f"{partition.label}: format '{format}' cannot be read by row groups."
        raise InvalidParameterError(msg)
    fmt = importlib.import_module(f"chatlens.corpus.readers.{format}").FORMAT
    file = partition.file
    assert partition.row_groups is not None
    first, stop = partition.row_groups
    pf = _io.open_parquet(file)
    try:
        columns = fmt.parquet_columns
        if columns is not None:
            names = set(pf.schema_arrow.names)
            columns = [c for c in columns if c in names]
        batches = pf.iter_batches(
            batch_size=batch_size, row_groups=list(range(first, stop)), columns=columns
        )
        start = partition.first_row
        for rb in batches:
            _io.check_strings(rb, file, start)
            yield _pipeline._arrow_batch(fmt, file, rb, start, options)
            start += rb.num_rows
    except (OSError, pa.ArrowException) as exc:
        msg = f"Cannot read {file.name} as Parquet (corrupt?) in {partition.label}: {exc}"
        raise SourceError(msg) from exc


__all__ = [
    "DEFAULT_PARTITION_ROWS",
    "ROW_GROUP_FORMATS",
    "Partition",
    "plan_partitions",
    "read_partition",
]
