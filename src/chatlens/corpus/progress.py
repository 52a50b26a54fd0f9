"""Progress of reading a source, with a total wherever one is knowable.

Why: a bar that shows "77/?" tells the user nothing about how long is left. The total is known
before reading: the rows in the Parquet footers when every file is a Parquet file of a
one-row-per-record format, else the bytes of the input files. Reading advances the bar by rows,
or by the bytes a reader reports (plain JSONL, small-file groups) and by whole files otherwise.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from chatlens._progress import progress_bar
from chatlens.corpus.readers import record_format
from chatlens.corpus.readers.base import ReaderBatch, ResolvedFile

if TYPE_CHECKING:
    from chatlens.corpus.sources import SourceScan


def reading_total(format: str, files: Sequence[ResolvedFile]) -> tuple[str, int]:
    """``("rows", n)`` when every file is a plain Parquet file of a one-row-per-record format
    (``n`` from the footers, no data read), else ``("bytes", size of the files)``."""
    if (
        files
        and record_format(format) is not None
        and all(f.container == "parquet" and f.compression is None for f in files)
    ):
        import pyarrow as pa
        import pyarrow.parquet as pq

        try:
            return "rows", sum(int(pq.ParquetFile(str(f.path)).metadata.num_rows) for f in files)
        except (OSError, pa.ArrowException):
            pass  # the reader reports the broken file by name; count bytes meanwhile
    return "bytes", sum(f.size for f in files)


@dataclass
class ReadProgress:
    """Advances one bar as batches are read and files finish (see :func:`reading_progress`)."""

    unit: str
    advance: Callable[[float], None]
    _in_files: int = field(default=0)

    def batch(self, raw: ReaderBatch) -> None:
        """One reader batch was read (called in order, within the files of :meth:`files_done`)."""
        if self.unit == "rows":
            self.advance(int(raw.source_records or 0))
        elif raw.bytes_read is not None and raw.bytes_read > self._in_files:
            self.advance(raw.bytes_read - self._in_files)
            self._in_files = raw.bytes_read

    def files_done(self, files: Sequence[ResolvedFile]) -> None:
        """``files`` (one scan call's) are read: bytes not yet reported are added."""
        if self.unit == "bytes":
            self.advance(max(0, sum(f.size for f in files) - self._in_files))
        self._in_files = 0


@contextmanager
def reading_progress(
    description: str, format: str, files: Sequence[ResolvedFile]
) -> Iterator[ReadProgress]:
    """A bar over reading ``files`` with its total (rows or bytes)."""
    unit, total = reading_total(format, files)
    with progress_bar(description=description, total=total, unit=unit) as advance:
        yield ReadProgress(unit, advance)


def iter_with_progress(scan: SourceScan, description: str) -> Iterator[ReaderBatch]:
    """The reader batches of ``scan``, group by group, advancing a bar with a total."""
    with reading_progress(description, scan.format, scan.files) as progress:
        for group, batches in scan.groups():
            for raw in batches:
                progress.batch(raw)
                yield raw
            progress.files_done(group)


__all__ = ["ReadProgress", "iter_with_progress", "reading_progress", "reading_total"]
