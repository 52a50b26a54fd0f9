"""The shared record pipeline: containers → chunks → (fast vectorised | per-record) → batches.

Why one pipeline: every record-shaped format (one JSON object / table row per record) needs the
same guarantees: streaming, a polars/pyarrow fast path per chunk, a per-record fallback only for a
chunk that fails, quarantine with file/row/reason/raw, UTF-8 repair, and the counting invariant.
A format plugs in a :class:`RecordFormat`:

* ``normalize(record, ctx)`` (always): check one parsed record, coerce it to clean Python types,
  or return a *reason* string to quarantine it.
* ``to_nested(raw, ctx)`` (vectorised formats): a raw polars frame (source columns + ``_row``) →
  nested conversation columns + ``_row``. Used on the fast path and on normalised records.
* ``expand(record, row, ctx)`` (Python formats such as HH, OASST, DICES): a normalised record →
  a list of nested row dicts. Used where the work is string surgery on small data.

After either, a conversation with no messages (missing, null or empty list) is quarantined with
the reason ``no messages`` rather than dropped.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import polars as pl
import pyarrow as pa

from chatlens.corpus.readers import _csv, _io
from chatlens.corpus.readers._jsonstream import TooDeep
from chatlens.corpus.readers.base import (
    ReaderBatch,
    ReaderOptions,
    ResolvedFile,
    make_batch,
    quarantine_frame,
    truncate_raw,
)
from chatlens.corpus.schema import NESTED_SCHEMA, conform, empty_frame
from chatlens.errors import SourceError

_FAST_ERRORS = (pl.exceptions.PolarsError, pa.ArrowException, ValueError, TypeError, KeyError, OverflowError)


@dataclass
class Ctx:
    """What a format's hooks may read (file name, options) and write (repair counts).

    ``id_name`` is the file's path relative to the source root
    (:attr:`~chatlens.corpus.readers.base.ResolvedFile.id_name`; default: the last component of
    ``file``); a chunk of records from several small files has instead ``row_ids``, each row's
    own ``<id name>#<row>``. Both are what :meth:`row_id` builds the ids of records without one
    from.
    """

    file: str
    options: ReaderOptions
    repairs: Counter = field(default_factory=Counter)
    id_name: str = ""
    row_ids: pl.Series | None = None

    def __post_init__(self) -> None:
        if not self.id_name:
            self.id_name = self.file.rsplit("/", 1)[-1]

    @classmethod
    def of(cls, file: ResolvedFile, options: ReaderOptions, repairs: Counter | None = None) -> Ctx:
        """The context of reading ``file``, with ``repairs`` already counted."""
        return cls(file.name, options, Counter(repairs or {}), file.id_name)

    def fresh(self) -> Ctx:
        """The same file with no repairs counted (a chunk read again record by record)."""
        return replace(self, repairs=Counter())

    def row_id(self) -> pl.Expr:
        """``<id name>#<row>`` for each row of a frame with ``_row``: the stable id of a record
        that has none (the same file read again gives the same ids)."""
        if self.row_ids is not None:
            return pl.lit(self.row_ids).gather(pl.col("_row"))
        return pl.format("{}#{}", pl.lit(self.id_name, dtype=pl.String), pl.col("_row"))


@dataclass(frozen=True)
class RecordFormat:
    name: str
    normalize: Callable[[Any, Ctx], dict[str, Any] | str]
    to_nested: Callable[[pl.DataFrame, Ctx], pl.DataFrame] | None = None
    expand: Callable[[dict[str, Any], int, Ctx], list[dict[str, Any]]] | None = None
    raw_schema: dict[str, pl.DataType] | None = None
    fast_ok: Callable[[bytes], bool] | None = None
    parquet_columns: list[str] | None = None
    json_prefix: str = "item"
    id_key: str = "conversation_id"  # where a quarantined record's id is found, if anywhere


def scan_records(
    fmt: RecordFormat, file: ResolvedFile, *, batch_size: int, options: ReaderOptions
) -> Iterator[ReaderBatch]:
    """Stream ``file`` as batches of whole conversations in ``fmt``."""
    if file.container == "jsonl":
        for chunk in _io.iter_line_chunks(file, batch_size):
            batch = _jsonl_chunk(fmt, Ctx.of(file, options), chunk)
            yield replace(batch, bytes_read=chunk.end) if file.compression is None else batch
    elif file.container == "parquet":
        start = 0
        for rb in _io.iter_parquet_batches(file, batch_size, fmt.parquet_columns):
            yield _arrow_batch(fmt, file, rb, start, options)
            start += rb.num_rows
    elif file.container == "csv":
        for part in _csv.iter_csv_parts(file, batch_size):
            yield _arrow_batch(fmt, file, part.batch, part.rows, options, part.repairs, part.bad)
    else:
        yield from _json_batches(fmt, file, batch_size, options)


# ---- containers -------------------------------------------------------------------------------


def _jsonl_chunk(fmt: RecordFormat, ctx: Ctx, chunk: _io.LineChunk) -> ReaderBatch:
    chunk = _io.without_lone_surrogates(chunk)  # the same text on the fast and per-record paths
    ctx.repairs["lone_surrogate"] += chunk.lone_surrogates
    lookup = dict(zip(chunk.rows, chunk.lines, strict=True))
    # lines too long to read are set aside as they were streamed (never parsed)
    long_lines = [_q(ctx, t.row, None, t.reason, t.head) for t in chunk.too_long]
    if fmt.to_nested is not None and chunk.lines:
        data = chunk.data
        if fmt.fast_ok is None or fmt.fast_ok(data):
            try:
                if fmt.raw_schema is not None:
                    raw = pl.read_ndjson(data, schema=fmt.raw_schema)
                else:
                    raw = _io.read_json_lines(data, chunk.lines)
                if raw.height == len(chunk.lines):
                    raw = raw.with_columns(pl.Series("_row", chunk.rows, dtype=pl.Int64))
                    nested = fmt.to_nested(raw, ctx)
                    return _finish(nested, list(long_lines), ctx, lookup.get, chunk.rows_read)
            except _FAST_ERRORS:
                ctx = ctx.fresh()  # discard partial counts; redo record by record
                ctx.repairs["lone_surrogate"] += chunk.lone_surrogates
    quarantine: list[dict[str, Any]] = list(long_lines)
    items: list[tuple[int, Any]] = []
    for row, line in zip(chunk.rows, chunk.lines, strict=True):
        text, bad = _io.decode_utf8(line)
        ctx.repairs["invalid_utf8"] += bad
        try:
            item, repeats = _io.loads_counting_duplicates(text)
            items.append((row, item))
            ctx.repairs["duplicate_key"] += repeats
        except (ValueError, RecursionError) as exc:
            quarantine.append(_q(ctx, row, None, f"malformed JSON: {exc}", line))
    nested = _records_to_nested(fmt, items, ctx, quarantine, lookup.get)
    return _finish(nested, quarantine, ctx, lookup.get, chunk.rows_read)


def _arrow_batch(
    fmt: RecordFormat,
    file: ResolvedFile,
    rb: pa.RecordBatch,
    start: int | np.ndarray,
    options: ReaderOptions,
    bad_utf8: int = 0,
    bad_rows: list[dict[str, Any]] | None = None,
) -> ReaderBatch:
    """One Arrow record batch (Parquet, CSV) → a reader batch. ``start`` is the first row's
    number, or every row's number (CSV rows skip the numbers of ``bad_rows``, rows the CSV
    parser could not read, which are quarantined here)."""
    ctx = Ctx.of(file, options)
    ctx.repairs["invalid_utf8"] += bad_utf8
    rows = list(range(start, start + rb.num_rows)) if isinstance(start, int) else start.tolist()
    position = {row: i for i, row in enumerate(rows)}
    read = rows + [q["row"] for q in bad_rows or []]

    def lookup(row: int) -> str:
        return _dump(rb.slice(position[row], 1).to_pylist()[0])

    if fmt.to_nested is not None:
        try:
            raw = pl.from_arrow(rb)
            assert isinstance(raw, pl.DataFrame)
            raw = raw.with_columns(pl.Series("_row", rows, dtype=pl.Int64))
            return _finish(fmt.to_nested(raw, ctx), list(bad_rows or []), ctx, lookup, read)
        except _FAST_ERRORS:
            ctx = ctx.fresh()
            ctx.repairs["invalid_utf8"] += bad_utf8
    quarantine: list[dict[str, Any]] = list(bad_rows or [])
    items = list(zip(rows, rb.to_pylist(), strict=True))
    nested = _records_to_nested(fmt, items, ctx, quarantine, lookup)
    return _finish(nested, quarantine, ctx, lookup, read)


def _json_batches(
    fmt: RecordFormat, file: ResolvedFile, batch_size: int, options: ReaderOptions
) -> Iterator[ReaderBatch]:
    items: list[tuple[int, Any]] = []
    seen: dict[str, int] = {}
    repairs: dict[str, int] = {}
    for row, (item, repairs) in enumerate(_io.iter_json_items(file, _records_prefix(fmt, file, options))):
        items.append((row, item))
        if len(items) >= batch_size:
            yield _json_chunk(fmt, Ctx.of(file, options), items, _io.repairs_since(repairs, seen))
            seen, items = repairs, []
    if items or _io.repairs_since(repairs, seen):
        yield _json_chunk(fmt, Ctx.of(file, options), items, _io.repairs_since(repairs, seen))


def _records_prefix(fmt: RecordFormat, file: ResolvedFile, options: ReaderOptions) -> str:
    """Where ``file``'s records are: ``fmt.json_prefix``, or ``<key>.item`` for a JSON object that
    keeps them under a key (an export such as ``{"version": 1, "data": [...]}``).

    Why: detection samples the records under that key (:func:`_io.json_object_keys`); read as
    ``item``, the whole object was one record, quarantined for lacking the message list. The
    key is taken when the object is not a record of ``fmt`` but the first item under the key
    is, so an object that is itself one conversation (its list holds the messages) stays one.
    """
    if fmt.json_prefix != "item" or _io.peek_bytes(file, 64).lstrip()[:1] != b"{":
        return fmt.json_prefix
    _, key = _io.json_object_keys(file)
    if key is None:
        return fmt.json_prefix
    listed = not _is_record(fmt, _first_item(file, "item"), file, options) and _is_record(
        fmt, _first_item(file, f"{key}.item"), file, options)
    return f"{key}.item" if listed else fmt.json_prefix


def _first_item(file: ResolvedFile, prefix: str) -> Any:
    """The first record at ``prefix`` (``None`` if there is none); the stream is closed."""
    items = _io.iter_json_items(file, prefix)
    try:
        return next(items, (None, 0))[0]
    finally:
        items.close()


def _is_record(fmt: RecordFormat, value: Any, file: ResolvedFile, options: ReaderOptions) -> bool:
    """Whether ``fmt`` reads ``value`` as a record (its ``normalize`` gives no reason)."""
    try:
        return not isinstance(fmt.normalize(value, Ctx.of(file, options)), str)
    except (ValueError, TypeError, KeyError, AttributeError, RecursionError):
        return False


def _json_chunk(
    fmt: RecordFormat, ctx: Ctx, items: list[tuple[int, Any]], repairs: Mapping[str, int]
) -> ReaderBatch:
    ctx.repairs.update(repairs)
    by_row = dict(items)

    def lookup(row: int) -> str:
        return _dump(by_row.get(row))

    quarantine: list[dict[str, Any]] = []
    nested = _records_to_nested(fmt, list(items), ctx, quarantine, lookup)
    return _finish(nested, quarantine, ctx, lookup, [row for row, _ in items])


# ---- record path ------------------------------------------------------------------------------


def _records_to_nested(
    fmt: RecordFormat,
    items: Iterable[tuple[int, Any]],
    ctx: Ctx,
    quarantine: list[dict[str, Any]],
    lookup: Callable[[int], Any],
) -> pl.DataFrame:
    """Normalise records one by one (quarantining the unusable), then build nested rows."""
    good: list[tuple[int, dict[str, Any]]] = []
    for row, record in items:
        if isinstance(record, TooDeep):
            quarantine.append(_q(ctx, row, None, record.reason, repr(record)))
            continue
        try:
            clean = fmt.normalize(record, ctx)
        except (ValueError, TypeError, KeyError, AttributeError, RecursionError) as exc:
            clean = f"record could not be read: {type(exc).__name__}: {exc}"
        if isinstance(clean, str):
            cid = record.get(fmt.id_key) if isinstance(record, dict) else None
            quarantine.append(_q(ctx, row, cid, clean, lookup(row)))
        else:
            good.append((row, clean))
    if not good:
        return empty_frame(NESTED_SCHEMA)
    if fmt.expand is not None:
        return _expand(fmt, good, ctx, quarantine, lookup)
    try:
        return _vector_records(fmt, good, ctx)
    except _FAST_ERRORS:
        pass
    parts = []
    for row, clean in good:  # isolate the record(s) the frame builder chokes on
        try:
            parts.append(conform(_vector_records(fmt, [(row, clean)], ctx), {**NESTED_SCHEMA}))
        except _FAST_ERRORS as exc:
            reason = f"record does not have the expected shape: {type(exc).__name__}: {str(exc)[:300]}"
            quarantine.append(_q(ctx, row, clean.get("conversation_id"), reason, lookup(row)))
    return pl.concat(parts) if parts else empty_frame(NESTED_SCHEMA)


def _vector_records(fmt: RecordFormat, good: list[tuple[int, dict[str, Any]]], ctx: Ctx) -> pl.DataFrame:
    assert fmt.to_nested is not None
    records = [clean for _, clean in good]
    if fmt.raw_schema is not None:
        raw = pl.DataFrame(records, schema=fmt.raw_schema, strict=False)
    else:
        raw = pl.DataFrame(records, infer_schema_length=None, strict=False)
    raw = raw.with_columns(pl.Series("_row", [row for row, _ in good], dtype=pl.Int64))
    return fmt.to_nested(raw, ctx)


def _expand(
    fmt: RecordFormat,
    good: list[tuple[int, dict[str, Any]]],
    ctx: Ctx,
    quarantine: list[dict[str, Any]],
    lookup: Callable[[int], Any],
) -> pl.DataFrame:
    assert fmt.expand is not None
    rows: list[dict[str, Any]] = []
    for row, clean in good:
        try:
            out = fmt.expand(clean, row, ctx)
        except (ValueError, TypeError, KeyError, AttributeError, RecursionError) as exc:
            reason = f"record could not be read: {type(exc).__name__}: {exc}"
            quarantine.append(_q(ctx, row, clean.get("conversation_id"), reason, lookup(row)))
            continue
        for r in out:
            r["_row"] = row
            r["_file"] = ctx.file
        rows.extend(out)
    if not rows:
        return empty_frame(NESTED_SCHEMA)
    return pl.DataFrame(rows, schema=NESTED_SCHEMA, strict=False)


# ---- finishing --------------------------------------------------------------------------------


def _finish(
    nested: pl.DataFrame,
    quarantine: list[dict[str, Any]],
    ctx: Ctx,
    lookup: Callable[[int], Any],
    rows_read: list[int] | int,
) -> ReaderBatch:
    """Attach provenance, quarantine conversations without messages, give a conversation without
    an id its ``<id name>#<row>`` (:meth:`Ctx.row_id`), and build the batch.

    ``rows_read``: the row numbers consumed, counted as they were read (checked against what
    came out, see :func:`~chatlens.corpus.readers.base.make_batch`); a plain count where rows
    and conversations do not map one to one (OASST message tables).
    """
    nested = nested.with_columns(pl.lit(ctx.file, dtype=pl.String).alias("_file"))
    empty = pl.col("messages").is_null() | (pl.col("messages").list.len() == 0)
    bad = nested.filter(empty)
    if bad.height:
        for cid, row in bad.select("conversation_id", "_row").iter_rows():
            reason = "no messages: the conversation/message list is missing, null or empty"
            quarantine.append(_q(ctx, row, cid, reason, lookup(row)))
        nested = nested.filter(~empty)
    nested = nested.with_columns(pl.coalesce(pl.col("conversation_id"), ctx.row_id()).alias("conversation_id"))
    if quarantine:
        quarantine.sort(key=lambda q: (q["row"] if q["row"] is not None else -1))
    if isinstance(rows_read, int):
        return make_batch(nested, quarantine, dict(ctx.repairs), source_records=rows_read)
    return make_batch(nested, quarantine, dict(ctx.repairs), rows_read=rows_read, where=ctx.file)


def _q(ctx: Ctx, row: int | None, cid: Any, reason: str, raw: Any) -> dict[str, Any]:
    return {"file": ctx.file, "row": row, "conversation_id": cid, "reason": reason, "raw": truncate_raw(raw)}


def _dump(obj: Any) -> str:
    try:
        text = json.dumps(obj, ensure_ascii=False, default=str)
    except (TypeError, ValueError, RecursionError):
        try:
            text = repr(obj)
        except RecursionError:  # nested deeper than the interpreter's recursion limit
            text = f"<{type(obj).__name__} nested too deep to show>"
    return text[: 2000]


def maybe_json(value: Any) -> Any:
    """A JSON-looking string (``[...]`` / ``{...}``, e.g. a list stored in a CSV cell) parsed;
    anything else unchanged."""
    if isinstance(value, str):
        s = value.lstrip()[:1]
        if s in ("[", "{"):
            try:
                return json.loads(value)
            except (ValueError, RecursionError):
                return value
    return value


# ---- many small files ---------------------------------------------------------------------------

#: A JSON file up to this size may be read together with its neighbours (a folder of one
#: conversation per file, as ShareGPT scrapes are shared).
SMALL_FILE_BYTES = 1 << 20
#: Bytes of small files read as one group (one engine partition): enough to batch well, small
#: enough that a folder still spreads over workers.
GROUP_BYTES = 64 << 20


def groupable(fmt: RecordFormat | None, file: ResolvedFile) -> bool:
    """Whether ``file`` may be read in one batch stream with its neighbours: a small plain JSON
    file of a vectorised record format (whose records carry no file-dependent ids)."""
    return (
        fmt is not None
        and fmt.to_nested is not None
        and file.container == "json"
        and file.compression is None
        and file.size <= SMALL_FILE_BYTES
    )


def group_files(fmt: RecordFormat | None, files: list[ResolvedFile]) -> list[list[ResolvedFile]]:
    """``files`` in order, with runs of consecutive small JSON files put into groups of up to
    :data:`GROUP_BYTES`; every other file is a group of its own."""
    groups: list[list[ResolvedFile]] = []
    size = 0
    open_group = False
    for file in files:
        if not groupable(fmt, file):
            groups.append([file])
            open_group = False
            continue
        n = file.size
        if not open_group or size + n > GROUP_BYTES:
            groups.append([])
            size = 0
            open_group = True
        groups[-1].append(file)
        size += n
    return groups


def scan_record_files(
    fmt: RecordFormat, files: list[ResolvedFile], *, batch_size: int, options: ReaderOptions
) -> Iterator[ReaderBatch]:
    """Stream many small JSON files of ``fmt`` as batches of up to ``batch_size`` records taken
    across files: one vectorised pass per batch instead of one per file (a folder of 20,000
    one-conversation files otherwise costs 20,000 passes).

    A file holding one JSON object becomes one line of a JSONL chunk (line breaks outside JSON
    strings are only white space, and inside strings they must be escaped, so joining its lines
    keeps the record), which then takes the JSONL reader's fast path; a file holding an array
    contributes its items. Provenance (``_file``, ``_row``, quarantine file and row) is each
    record's own file and row; a file that is not valid JSON is quarantined, not fatal.
    """
    lines: list[bytes] = []
    where: list[tuple[ResolvedFile, int]] = []
    bad: list[dict[str, Any]] = []  # files that are not valid JSON (whole), items nested too deep
    fixed: Counter = Counter()  # repairs made while parsing array files (UTF-8, surrogates)
    done = 0  # bytes of the files read so far (progress)
    for file in files:
        data = file.path.read_bytes().removeprefix(_io.UTF8_BOM)
        done += len(data)
        body = data.strip()
        if not body:
            continue
        key = None if body[:1] == b"[" else _record_key(fmt, body, file, options)
        if body[:1] == b"[" or key is not None:
            try:
                parsed = list(_io.iter_json_items(file, f"{key}.item" if key else fmt.json_prefix))
            except SourceError as exc:  # e.g. a truncated array: this file, not the folder
                bad.append(_q(Ctx.of(file, options), 0, None, str(exc), data))
                parsed = []
            items = [item for item, _ in parsed]
            fixed.update(parsed[-1][1] if parsed else {})  # the counts are cumulative
            for row, item in enumerate(items):
                if isinstance(item, TooDeep):  # no JSON text to join (json.dumps raised TypeError)
                    bad.append(_q(Ctx.of(file, options), row, None, item.reason, repr(item)))
                    continue
                lines.append(json.dumps(item, ensure_ascii=False).encode())
                where.append((file, row))
                if len(lines) >= batch_size:  # an array alone may hold more than a batch
                    yield replace(_multi_file_chunk(fmt, lines, where, options, bad, fixed), bytes_read=done)
                    lines, where, bad, fixed = [], [], [], Counter()
        else:
            lines.append(body.replace(b"\r", b" ").replace(b"\n", b" "))
            where.append((file, 0))
        if len(lines) >= batch_size:
            yield replace(_multi_file_chunk(fmt, lines, where, options, bad, fixed), bytes_read=done)
            lines, where, bad, fixed = [], [], [], Counter()
    if lines or bad or +fixed:
        yield replace(_multi_file_chunk(fmt, lines, where, options, bad, fixed), bytes_read=done)


def _record_key(fmt: RecordFormat, body: bytes, file: ResolvedFile, options: ReaderOptions) -> str | None:
    """The key under which a one-object JSON file keeps its records (an export such as
    ``{"version": 1, "data": [...]}``), or ``None`` when the object is itself one record (or
    holds no records, or is not valid JSON: then it is quarantined as one).

    Why: read on its own such a file gives its records (:func:`_records_prefix`, the same
    rule: the longest list of objects, taken when the object is not a record of ``fmt`` but the
    list's first item is); read with its neighbours it was one record, quarantined for lacking
    the message list, so a folder of such files gave one quarantined row per file.
    """
    try:
        doc = json.loads(_io.decode_utf8(body)[0])
    except (ValueError, RecursionError):
        return None
    if not isinstance(doc, dict) or _is_record(fmt, doc, file, options):
        return None
    lists = [(len(v), k) for k, v in doc.items() if isinstance(v, list) and v and isinstance(v[0], dict)]
    if not lists:
        return None
    key = max(lists)[1]
    return key if _is_record(fmt, doc[key][0], file, options) else None


def _multi_file_chunk(
    fmt: RecordFormat,
    lines: list[bytes],
    where: list[tuple[ResolvedFile, int]],
    options: ReaderOptions,
    bad: list[dict[str, Any]],
    fixed: Counter,
) -> ReaderBatch:
    """One batch of records from several files; ``bad`` are quarantine rows of whole files that
    could not be parsed (each one record at row 0) and of array items nested too deep to
    parse, ``fixed`` the repairs made parsing arrays."""
    if not lines:
        return make_batch(empty_frame(NESTED_SCHEMA), bad, dict(fixed), source_records=len(bad))
    chunk = _io.LineChunk(lines, list(range(len(lines))))  # rows are indexes into ``where``
    names = pl.Series([f.name for f, _ in where], dtype=pl.String)
    rows = pl.Series([r for _, r in where], dtype=pl.Int64)
    row_ids = pl.Series([f"{f.id_name}#{r}" for f, r in where], dtype=pl.String)
    batch = _jsonl_chunk(fmt, Ctx("", options, row_ids=row_ids), chunk)

    def relabel(frame: pl.DataFrame, file_col: str, row_col: str) -> pl.DataFrame:
        if not frame.height:
            return frame
        idx = frame.get_column(row_col)
        at = idx.fill_null(0)
        return frame.with_columns(
            pl.when(idx.is_null()).then(None).otherwise(names.gather(at)).alias(file_col),
            pl.when(idx.is_null()).then(None).otherwise(rows.gather(at)).cast(frame.schema[row_col]).alias(row_col),
        )

    quarantine = relabel(batch.quarantine, "file", "row")
    if bad:
        quarantine = pl.concat([quarantine, quarantine_frame(bad)], how="vertical")
    return ReaderBatch(
        relabel(batch.nested, "_file", "_row"),
        quarantine,
        {k: v for k, v in (Counter(batch.repairs) + fixed).items() if v},
        batch.records_in + len(bad),
        (batch.source_records or 0) + len(bad),
    )
