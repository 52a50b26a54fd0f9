"""Streaming Parquet output: one file per table, written batch by batch (bounded memory).

Writing (Arrow conversion + compression) costs about as much as reading and canonicalising, and
pyarrow releases the GIL while it compresses, so :class:`BackgroundWriter` overlaps the writes of
batch *n* with the reading of batch *n+1* on a second core. At most one batch is in flight, so
memory stays bounded at about two batches.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from types import TracebackType
from typing import TypeVar

import polars as pl
import pyarrow.parquet as pq

_W = TypeVar("_W", bound="_ClosedOnExit")


class _ClosedOnExit:
    """``with`` support for the writers below: leaving the block calls ``close()``."""

    def close(self) -> None:
        raise NotImplementedError

    def __enter__(self: _W) -> _W:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


class ParquetSink(_ClosedOnExit):
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




class BackgroundWriter(_ClosedOnExit):
    """Run write jobs on one background thread, one job in flight at a time."""

    def __init__(self) -> None:
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="chatlens-writer")
        self._pending: Future[None] | None = None

    def submit(self, job: Callable[[], None]) -> None:
        """Wait for the previous job (re-raising its error), then start ``job``."""
        self.wait()
        self._pending = self._pool.submit(job)

    def wait(self) -> None:
        if self._pending is not None:
            pending, self._pending = self._pending, None
            pending.result()

    def close(self) -> None:
        try:
            self.wait()
        finally:
            self._pool.shutdown(wait=True)

