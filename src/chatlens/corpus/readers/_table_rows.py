"""Raw frames of a table file, per container, and its columns: what the table and OASST
message-table readers read before they group rows into conversations.

Why a module of its own: both readers need the same guarantees per container (CSV bad rows
quarantined, JSON records that are not objects quarantined, JSON values made text with content
coercions counted, provenance rows for every quarantine), and ``table.py`` is about the layouts.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import polars as pl

from chatlens.corpus.readers import _csv, _io
from chatlens.corpus.readers._frames import as_text, content_text, type_name
from chatlens.corpus.readers._jsonstream import TooDeep
from chatlens.corpus.readers._pipeline import _FAST_ERRORS, Ctx
from chatlens.corpus.readers.base import ResolvedFile, truncate_raw
from chatlens.errors import MissingColumnError


def _raw_frames(
    file: ResolvedFile,
    batch_size: int,
    columns: list[str],
    *,
    csv_all_columns: bool = True,
    content: str | None = None,
) -> Iterator[tuple[pl.DataFrame, list[dict[str, Any]], dict[str, int], int]]:
    """(frame with the source columns + ``_row``, quarantine rows, repairs, records consumed).

    CSV keeps every column (a quarantined row shows all of it) unless ``csv_all_columns`` is
    false; Parquet reads only ``columns``. Records parsed one by one (JSON) turn every value into
    text; those of the ``content`` column count as coercion repairs (typed frames are counted
    by the caller)."""
    if file.container == "parquet":
        start = 0
        for rb in _io.iter_parquet_batches(file, batch_size, columns):
            df = pl.from_arrow(rb)
            assert isinstance(df, pl.DataFrame)
            yield df.with_columns(pl.int_range(start, start + rb.num_rows, dtype=pl.Int64).alias("_row")), [], {}, rb.num_rows
            start += rb.num_rows
    elif file.container == "csv":
        for part in _csv.iter_csv_parts(file, batch_size, None if csv_all_columns else columns):
            df = pl.from_arrow(part.batch)
            assert isinstance(df, pl.DataFrame)
            df = df.with_columns(pl.Series("_row", part.rows, dtype=pl.Int64))
            yield df, part.bad, {"invalid_utf8": part.repairs}, part.batch.num_rows + len(part.bad)
    elif file.container == "jsonl":
        for chunk in _io.iter_line_chunks(file, batch_size):
            yield _jsonl_frame(file, chunk, columns, content)
    else:
        items: list[tuple[int, Any]] = []
        seen: dict[str, int] = {}
        repairs: dict[str, int] = {}
        for row, (item, repairs) in enumerate(_io.iter_json_items(file, "item")):
            items.append((row, item))
            if len(items) >= batch_size:
                yield _records_frame(file, items, columns, [], _io.repairs_since(repairs, seen), content=content)
                seen, items = repairs, []
        if items:
            yield _records_frame(file, items, columns, [], _io.repairs_since(repairs, seen), content=content)


def _jsonl_frame(
    file: ResolvedFile, chunk: _io.LineChunk, columns: list[str], content: str | None = None
) -> tuple[pl.DataFrame, list[dict[str, Any]], dict[str, int], int]:
    chunk = _io.without_lone_surrogates(chunk)
    # lines too long to read are set aside as they were streamed (never parsed)
    long_lines = [{"file": file.name, "row": t.row, "reason": t.reason, "raw": truncate_raw(t.head)}
                  for t in chunk.too_long]
    try:
        df = _io.read_json_lines(chunk.data, chunk.lines) if chunk.lines else None
        if df is not None and df.height == len(chunk.lines):
            df = df.select([c for c in columns if c in df.columns])
            repairs = {"lone_surrogate": chunk.lone_surrogates} if chunk.lone_surrogates else {}
            df = df.with_columns(pl.Series("_row", chunk.rows, dtype=pl.Int64))
            return df, long_lines, repairs, len(chunk.rows_read)
    except _FAST_ERRORS:
        pass
    quarantine: list[dict[str, Any]] = list(long_lines)
    items: list[tuple[int, Any]] = []
    bad_utf8 = repeats = 0
    for row, line in zip(chunk.rows, chunk.lines, strict=True):
        text, bad = _io.decode_utf8(line)
        bad_utf8 += bad
        try:
            item, n = _io.loads_counting_duplicates(text)
            items.append((row, item))
            repeats += n
        except (ValueError, RecursionError) as exc:
            quarantine.append({"file": file.name, "row": row, "reason": f"malformed JSON: {exc}", "raw": truncate_raw(line)})
    repairs = {"invalid_utf8": bad_utf8, "lone_surrogate": chunk.lone_surrogates, "duplicate_key": repeats}
    return _records_frame(file, items, columns, quarantine, repairs, len(chunk.rows_read), content=content)


def _records_frame(
    file: ResolvedFile,
    items: list[tuple[int, Any]],
    columns: list[str],
    quarantine: list[dict[str, Any]],
    repairs: dict[str, int],
    n_source: int | None = None,
    *,
    content: str | None = None,
) -> tuple[pl.DataFrame, list[dict[str, Any]], dict[str, int], int]:
    rows = []
    repairs = Counter(repairs)
    for row, record in items:
        if not isinstance(record, dict):
            reason = record.reason if isinstance(record, TooDeep) else f"expected a JSON object per row, got {type_name(record)}"
            quarantine.append({"file": file.name, "row": row, "reason": reason, "raw": truncate_raw(repr(record) if isinstance(record, TooDeep) else json.dumps(record))})
            continue
        values = {c: content_text(record.get(c), repairs) if c == content else as_text(record.get(c)) for c in columns}
        rows.append({**values, "_row": row, "__raw": json.dumps(record)[:2000]})
    schema = {**dict.fromkeys(columns, pl.String), "_row": pl.Int64, "__raw": pl.String}
    df = pl.DataFrame(rows, schema=schema)
    return df, quarantine, repairs, len(items) if n_source is None else n_source


def _row_lookup(raw: pl.DataFrame) -> Callable[[int], str | None]:
    """Row → JSON text of the source row, computed only for the (few) rows quarantined."""
    if "__raw" in raw.columns:
        table = dict(zip(raw["_row"].to_list(), raw["__raw"].to_list(), strict=True))
        return table.get

    def lookup(row: int) -> str | None:
        hit = raw.filter(pl.col("_row") == row).drop("_row", strict=False)
        return json.dumps(hit.to_dicts()[0], default=str)[:2000] if hit.height else None

    return lookup


def _q(ctx: Ctx, row: int | None, cid: Any, reason: str, raw: Any) -> dict[str, Any]:
    return {"file": ctx.file, "row": row, "conversation_id": cid, "reason": reason, "raw": truncate_raw(raw)}


def check_columns(file: ResolvedFile, wanted: Sequence[str], *, why: str = "named in the column mapping") -> list[str]:
    """The file's columns; :class:`MissingColumnError` (saying ``why`` they are wanted) if a
    wanted one is absent."""
    present = file_columns(file)
    missing = [c for c in wanted if c not in present]
    if missing:
        msg = (
            f"{file.name}: column(s) {missing} {why} are missing; "
            f"the file has columns: {', '.join(present[:40]) or '(none)'}."
        )
        raise MissingColumnError(msg)
    return present


def file_columns(file: ResolvedFile) -> list[str]:
    """Column names of a table file (Parquet schema, CSV header, keys of the first records)."""
    if file.container == "parquet":
        return _io.parquet_columns(file)
    if file.container == "csv":
        return _csv.csv_header(file)
    seen: dict[str, None] = {}
    if file.container == "jsonl":
        for chunk in _io.iter_line_chunks(file, 1000):
            for line in chunk.lines:
                try:
                    rec = json.loads(_io.decode_utf8(line)[0])
                except (ValueError, RecursionError):
                    continue
                if isinstance(rec, dict):
                    seen.update(dict.fromkeys(rec))
            break
    else:
        for n, (item, _) in enumerate(_io.iter_json_items(file, "item")):
            if isinstance(item, dict):
                seen.update(dict.fromkeys(item))
            if n >= 1000:
                break
    return list(seen)
