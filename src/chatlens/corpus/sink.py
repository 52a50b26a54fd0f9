"""Streaming Parquet output: one file per table, written batch by batch (bounded memory)."""

from __future__ import annotations

from pathlib import Path
from types import TracebackType

import polars as pl
import pyarrow.parquet as pq


class ParquetSink:
    """Append polars batches to one Parquet file; the schema comes from ``schema``.

    Why not ``DataFrame.write_parquet`` per batch: a run produces one file per table however many
    batches stream through, and each batch is written and released at once.
    """

    def __init__(self, path: str | Path, schema: dict[str, pl.DataType], *, compression: str = "zstd") -> None:
        self.path = Path(path)
        self.rows = 0
        self._arrow_schema = pl.DataFrame(schema=schema).to_arrow().schema
        self._writer = pq.ParquetWriter(self.path, self._arrow_schema, compression=compression)

    def write(self, frame: pl.DataFrame) -> None:
        if frame.height == 0:
            return
        table = frame.to_arrow()
        if table.schema != self._arrow_schema:
            table = table.cast(self._arrow_schema)
        self._writer.write_table(table)
        self.rows += frame.height

    def close(self) -> None:
        self._writer.close()

    def __enter__(self) -> ParquetSink:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

