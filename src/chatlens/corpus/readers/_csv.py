"""CSV/TSV input: the header, and record batches that survive bad rows and huge cells.

Why its own module: a CSV file written by hand or cut short is the input most likely to be
broken, and one bad row must not cost the whole file (issue 11 item 4). pyarrow's streaming CSV
reader does the parsing (fast, bounded memory); this module adds what it lacks:

* **bad rows** (wrong column count, a row cut short by a truncated file, an unterminated quote
  that swallows the rest of the file) are skipped by pyarrow's ``invalid_row_handler`` and handed
  back with their line number and reason, for the caller to quarantine. With ``strict=True``
  (``chatlens classify`` inputs, which have no quarantine) the first one is a
  :class:`~chatlens.errors.SchemaError` naming the line instead.
* **cells larger than the read block** ("straddling object straddles two block boundaries"): the
  file is read again with a block four times larger, skipping the rows already handed out, up to
  :data:`MAX_BLOCK_BYTES`; a row larger than that is a :class:`~chatlens.errors.SchemaError`
  naming where it starts (memory stays bounded by the block).

Row numbers: a good row's ``_row`` is its 0-based data-row index (header not counted). A bad
row's index is taken from its physical line (line − 2), which is exact unless quoted cells span
lines before it; good rows never reuse a bad row's index, so every row read has its own number.
Reading is single-threaded: pyarrow only reports line numbers then (measured: no slower on an
88 MB file, 0.18 s).
"""

from __future__ import annotations

import csv
import io
import time
import weakref
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pyarrow as pa

from chatlens.corpus.readers._io import (
    MAX_RECORD_BYTES,
    RepairingStream,
    decode_utf8,
    open_binary,
    peek_bytes,
)
from chatlens.corpus.readers.base import ResolvedFile, truncate_raw
from chatlens.errors import SchemaError

#: Largest read block tried for a file whose cells straddle blocks (bounds memory): the longest
#: record any reader reads whole (a JSON line too, :data:`._io.MAX_RECORD_BYTES`).
MAX_BLOCK_BYTES = MAX_RECORD_BYTES


def delimiter_of(file: ResolvedFile) -> str:
    name = file.path.name.lower().removesuffix(".gz").removesuffix(".zst")
    return "\t" if name.endswith(".tsv") else ","


def csv_header(file: ResolvedFile) -> list[str]:
    """The header's column names; :class:`SchemaError` for an unreadable or duplicated header."""
    head, _ = decode_utf8(peek_bytes(file, 1 << 20))
    # newline="": the csv module itself recognises \n, \r\n and a bare \r as line ends
    reader = csv.reader(io.StringIO(head, newline=""), delimiter=delimiter_of(file))
    try:
        header = next(reader, [])
    except csv.Error as exc:
        msg = f"{file.name}, row 1 (the header): expected a CSV header line; {exc}."
        raise SchemaError(msg) from None
    seen = [c for i, c in enumerate(header) if c in header[:i]]
    if seen:
        msg = (
            f"{file.name}, row 1 (the header): column name(s) {sorted(set(seen))} appear more "
            "than once; expected every column to have a unique name."
        )
        raise SchemaError(msg)
    return header


@dataclass
class CsvPart:
    """One record batch of good rows, their data-row indices, and the bad rows met so far.

    ``bad`` holds quarantine rows (``file``, ``row``, ``reason``, ``raw``) of rows pyarrow could
    not parse; ``repairs`` the invalid UTF-8 sequences repaired in this batch.
    """

    batch: pa.RecordBatch
    rows: np.ndarray
    repairs: int = 0
    bad: list[dict[str, Any]] = field(default_factory=list)

    @property
    def rows_read(self) -> list[int]:
        """Every row this part accounts for: good rows and bad ones."""
        return self.rows.tolist() + [q["row"] for q in self.bad]


class _Numbering:
    """Data-row indices for good rows that skip the indices of bad rows (see module doc)."""

    def __init__(self) -> None:
        self.next = 0
        self.pending: list[int] = []  # bad indices not yet passed, sorted

    def bad(self, index: int) -> None:
        if index >= self.next:
            self.pending.append(index)
            self.pending.sort()

    def good(self, n: int) -> np.ndarray:
        skip = np.array(self.pending, dtype=np.int64)
        candidates = np.arange(self.next, self.next + n + len(skip), dtype=np.int64)
        rows = candidates[~np.isin(candidates, skip)][:n]
        if len(rows):
            self.next = int(rows[-1]) + 1
            self.pending = [b for b in self.pending if b >= self.next]
        return rows


def iter_csv_parts(
    file: ResolvedFile,
    batch_size: int,
    columns: list[str] | None = None,
    *,
    strict: bool = False,
) -> Iterator[CsvPart]:
    """:class:`CsvPart` batches of a CSV/TSV file, every column as text.

    Every column is read as text (no type guessing, so a column that looks numeric in the first
    block cannot fail later); cells with invalid UTF-8 are repaired by the readers' rule.
    ``columns`` keeps only those columns (the others are still parsed, but not converted).
    The last part may hold no rows, only bad ones.
    """
    import pyarrow.csv as pacsv

    header = csv_header(file)
    include = [c for c in header if c in columns] if columns is not None else None
    numbering = _Numbering()
    reported: set[int] = set()  # lines already reported bad (a retry parses them again)
    bad: list[dict[str, Any]] = []
    handed_out = 0  # good rows already yielded (a retry skips them)
    block = max(1 << 20, min(batch_size * 512, 64 << 20))

    def on_invalid(row: Any) -> str:
        line = row.number if row.number is not None else -1
        if strict:
            return "error"
        if line in reported:
            return "skip"
        reported.add(line)
        index = max(line - 2, 0)
        numbering.bad(index)
        reason = (
            f"CSV line {line}: expected {row.expected_columns} columns (the header's), "
            f"got {row.actual_columns}"
        )
        if row.actual_columns < row.expected_columns:
            reason += " (a row cut short, e.g. a truncated file, or an unterminated quote)"
        bad.append(
            {"file": file.name, "row": index, "reason": reason, "raw": truncate_raw(row.text)}
        )
        return "skip"

    repaired = 0  # invalid UTF-8 sequences already reported (a retry reads them again)
    while True:
        stream = RepairingStream(open_binary(file), file.name)  # bad rows may hold invalid UTF-8 (see below)
        reader = None
        try:
            reader = pacsv.open_csv(
                pa.PythonFile(stream, mode="r"),
                read_options=pacsv.ReadOptions(block_size=block, use_threads=False),
                parse_options=pacsv.ParseOptions(
                    delimiter=delimiter_of(file),
                    newlines_in_values=True,
                    invalid_row_handler=on_invalid,
                    # in a one-column file a blank line is a row with an empty cell (polars and
                    # R write a null so): skipping it lost the row and shifted every later one
                    ignore_empty_lines=len(header) > 1,
                ),
                convert_options=pacsv.ConvertOptions(
                    column_types={c: pa.binary() for c in header},
                    strings_can_be_null=False,
                    include_columns=include,
                ),
            )
            seen = 0
            for rb in reader:
                skip = min(max(handed_out - seen, 0), rb.num_rows)
                seen += rb.num_rows
                if skip:
                    rb = rb.slice(skip)
                stream.check()  # a batch read after a read error may end in a cut row
                rb = _binary_to_text(rb)
                repairs, repaired = max(stream.repairs - repaired, 0), max(stream.repairs, repaired)
                for off in range(0, max(rb.num_rows, 1), batch_size):
                    part = rb.slice(off, batch_size)
                    if part.num_rows == 0 and not bad:
                        continue
                    rows = numbering.good(part.num_rows)
                    handed_out += part.num_rows
                    out = CsvPart(part, rows, repairs if off == 0 else 0, list(bad))
                    bad.clear()
                    yield out
            stream.check()
            break
        except pa.ArrowInvalid as exc:
            stream.check()
            text = str(exc)
            if "straddling" in text and block < MAX_BLOCK_BYTES:
                block = min(block * 4, MAX_BLOCK_BYTES)
                continue
            if "straddling" in text:
                msg = (
                    f"Cannot parse {file.name} as CSV: a row after data row {handed_out:,} is "
                    f"larger than {MAX_BLOCK_BYTES >> 20} MB (an unterminated quote swallowing the "
                    "rest of the file?); expected rows smaller than that."
                )
            else:
                msg = f"Cannot parse {file.name} as CSV: {text}"
            raise SchemaError(msg) from exc
        finally:
            if reader is not None:
                reader.close()
            stream.close()
            total_repairs = stream.repairs
            released = weakref.ref(stream)
            del reader, stream  # the frame must not keep them alive while we wait
            _await_release(released)
    if bad or total_repairs > repaired:
        empty = pa.RecordBatch.from_arrays(
            [pa.array([], type=pa.string()) for _ in include or header], names=include or header
        )
        yield CsvPart(empty, np.zeros(0, dtype=np.int64), total_repairs - repaired, list(bad))


#: How long a reader waits for Arrow's I/O thread to let go of a closed stream (it takes
#: microseconds; the bound only keeps a wedged thread from hanging the caller).
RELEASE_WAIT_S = 5.0


def _await_release(stream: weakref.ref) -> None:
    """Wait, without the GIL, until Arrow no longer holds the stream ``stream`` points to.

    Why: the CSV reader's read-ahead runs on Arrow's I/O thread. After a read error a read that
    was in flight finishes later, and its callback drops the last reference to the reader, whose
    Python file is then freed on that thread, which must take the GIL to do it. If the interpreter
    is already shutting down by then (a script that caught the error and ended), the thread cannot
    take the GIL, and the process aborted ("terminate called without an active exception", exit
    134; 5 of 6 runs of ``chatlens.read`` on a truncated ``.csv.gz`` in a script). Waiting here,
    while the interpreter is alive, lets the thread finish first.
    """
    deadline = time.monotonic() + RELEASE_WAIT_S
    while stream() is not None and time.monotonic() < deadline:
        time.sleep(0.001)  # releases the GIL for the I/O thread


def _binary_to_text(batch: pa.RecordBatch) -> pa.RecordBatch:
    """Cells are read as bytes (no type guessing) and are valid UTF-8: the stream is repaired
    before parsing, because pyarrow hands a *bad row's* text to the ``invalid_row_handler`` as a
    Python string, and a bad row with invalid UTF-8 made that decoding fail inside pyarrow, which
    then aborted the file (found by ``benchmarks/fuzz_readers.py``)."""
    columns = [
        col.cast(pa.string()) if pa.types.is_binary(col.type) else col for col in batch.columns
    ]
    return pa.RecordBatch.from_arrays(columns, names=batch.schema.names)


__all__ = ["MAX_BLOCK_BYTES", "CsvPart", "csv_header", "delimiter_of", "iter_csv_parts"]
