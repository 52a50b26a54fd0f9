"""Generic tables (CSV/TSV, JSONL, JSON arrays, Parquet) with a column mapping.

``options.column_map`` maps chatlens names to source columns, e.g.
``{"conversation_id": "chat", "role": "speaker", "content": "text", "model": "bot"}``. Names not
mapped default to a source column of the same name when one exists.

``layout="message"`` (one row per message; the default unless ``messages`` is mapped)
    Rows are grouped by ``conversation_id`` in order of first appearance. Within a conversation,
    messages are ordered by a mapped ``message_index`` if given, else by ``timestamp`` if given,
    else by file order. ``model``/``language``/``user_id`` of a conversation are its first non-null
    values, ``timestamp`` its earliest. A first pass reads the id column only: when each
    conversation's rows are **contiguous** (or scattered only inside one batch), the file is
    streamed with bounded memory, keeping the conversation running at a batch boundary open into
    the next batch. When conversations are **interleaved** across batches (a message log ordered by
    time, say), the rows are written to a temporary Parquet file and read back sorted by
    conversation (first appearance, then file order) with DuckDB, which spills to disk, so memory
    stays bounded either way; sorting the file by conversation id skips that detour. A row
    without a conversation id is quarantined.
    Names: conversation_id, role, content (required); model, language, user_id, timestamp,
    message_index, toxic, redacted, moderation_flagged (optional).

``layout="conversation"`` (one row per conversation)
    ``messages`` names a list column of message objects (in CSV: a JSON text cell); inside it,
    ``role``/``content`` name the keys (default ``role``/``content``). Optional: conversation_id,
    model, language, user_id, timestamp.

In CSV files a row with the wrong number of cells (a truncated file, a stray delimiter) is
quarantined with its line and reason, not the whole file (:mod:`chatlens.corpus.readers._csv`).

A mapped column the file does not have raises :class:`~chatlens.errors.MissingColumnError` naming
the file, the column and the columns that exist.

Why one module for both layouts: they share the column map, its validation and the quarantine
rules, and a user's mapping is explained by this one docstring. Reading a file's rows per
container (CSV/JSONL/JSON/Parquet into raw frames) lives in :mod:`._table_rows`, shared with the
OASST message-table reader.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

import polars as pl

from chatlens._progress import status
from chatlens.corpus.readers import _conversations as conv
from chatlens.corpus.readers._frames import (
    build_messages,
    text_coercions,
    to_dtype,
    unparsed_timestamps,
)
from chatlens.corpus.readers._pipeline import Ctx, RecordFormat, scan_records
from chatlens.corpus.readers._table_rows import (
    _q,
    _raw_frames,
    _row_lookup,
    check_columns,
)
from chatlens.corpus.readers.base import (
    ReaderBatch,
    ReaderOptions,
    ResolvedFile,
    RowBalance,
    Sample,
    make_batch,
)
from chatlens.corpus.schema import MESSAGE_STRUCT
from chatlens.errors import InvalidParameterError

NAME = "table"
CONVERSATION_FIELDS = ("conversation_id", "model", "language", "user_id", "timestamp")
MESSAGE_FIELDS = ("role", "content", "message_index", "toxic", "redacted", "moderation_flagged")
ALLOWED = (*CONVERSATION_FIELDS, *MESSAGE_FIELDS, "messages")
_TYPES: dict[str, pl.DataType] = {
    **MESSAGE_STRUCT.to_schema(),
    "conversation_id": pl.String,
    "model": pl.String,
    "user_id": pl.String,
    "message_index": pl.Int64,
}


def validate_column_map(column_map: Mapping[str, str] | None) -> dict[str, str]:
    """Check the mapping's keys at the public boundary (values are checked against each file)."""
    cmap = dict(column_map or {})
    unknown = sorted(set(cmap) - set(ALLOWED))
    if unknown:
        msg = (
            f"column_map has unknown name(s) {unknown}; expected names among {list(ALLOWED)} "
            "(each mapped to a source column, e.g. role=speaker)."
        )
        raise InvalidParameterError(msg)
    bad = [k for k, v in cmap.items() if not isinstance(v, str) or not v]
    if bad:
        msg = f"column_map values must be non-empty column names; got {[(k, cmap[k]) for k in bad]}."
        raise InvalidParameterError(msg)
    return cmap


def parse_column_map(text: str) -> dict[str, str]:
    """Parse the CLI form ``role=speaker,content=text`` into a validated column map.

    >>> parse_column_map("conversation_id=chat, role=speaker,content=text")
    {'conversation_id': 'chat', 'role': 'speaker', 'content': 'text'}
    """
    out: dict[str, str] = {}
    for part in filter(None, (p.strip() for p in text.split(","))):
        name, sep, column = part.partition("=")
        if not sep or not name.strip() or not column.strip():
            msg = f"--column-map expects name=column pairs separated by commas (e.g. role=speaker); got {part!r}."
            raise InvalidParameterError(msg)
        if name.strip() in out and out[name.strip()] != column.strip():
            msg = (f"--column-map names {name.strip()!r} twice ({out[name.strip()]!r} and "
                   f"{column.strip()!r}); expected one column per name.")
            raise InvalidParameterError(msg)
        out[name.strip()] = column.strip()
    return validate_column_map(out)


def _layout_of(options: ReaderOptions, cmap: dict[str, str]) -> str:
    if options.layout is not None:
        return options.layout
    return "conversation" if "messages" in cmap else "message"


def scan_table(file: ResolvedFile, *, batch_size: int, options: ReaderOptions) -> Iterator[ReaderBatch]:
    """Stream a mapped table as batches of nested conversations (see module doc for layouts)."""
    cmap = validate_column_map(options.column_map)
    if _layout_of(options, cmap) == "conversation":
        return _scan_conversation_layout(file, cmap, batch_size, options)
    return _scan_message_layout(file, cmap, batch_size, options)


# ---- conversation layout ------------------------------------------------------------------------


def _scan_conversation_layout(
    file: ResolvedFile, cmap: dict[str, str], batch_size: int, options: ReaderOptions
) -> Iterator[ReaderBatch]:
    list_col = cmap.get("messages", "messages")
    layout = conv.ListLayout(
        source=NAME,
        list_col=list_col,
        message_fields={"role": cmap.get("role", "role"), "content": cmap.get("content", "content")},
        columns={k: cmap.get(k, k) for k in CONVERSATION_FIELDS},
        extra_rest=True,
    )
    check_columns(file, [list_col, *(cmap[k] for k in CONVERSATION_FIELDS if k in cmap)])

    def normalize(record: Any, ctx: Ctx) -> dict[str, Any] | str:
        return conv.normalize(layout, record, ctx)

    def to_nested(raw: pl.DataFrame, ctx: Ctx) -> pl.DataFrame:
        return conv.to_nested(layout, raw, ctx)

    fmt = RecordFormat(name=NAME, normalize=normalize, to_nested=to_nested, json_prefix="item")
    return scan_records(fmt, file, batch_size=batch_size, options=options)


# ---- message layout ------------------------------------------------------------------------------


def _scan_message_layout(
    file: ResolvedFile, cmap: dict[str, str], batch_size: int, options: ReaderOptions
) -> Iterator[ReaderBatch]:
    names = {k: cmap.get(k, k) for k in (*CONVERSATION_FIELDS, *MESSAGE_FIELDS)}
    required = {k: names[k] for k in ("conversation_id", "role", "content")}
    optional = {k: v for k, v in names.items() if k not in required}
    present = check_columns(file, list(required.values()) + [cmap[k] for k in optional if k in cmap])
    mapped = {**required, **{k: v for k, v in optional.items() if k in cmap or v in present}}
    if not _contiguous(file, batch_size, mapped["conversation_id"]):
        status(f"Conversations in {file.name} are interleaved across batches: regrouping its rows "
               "through a temporary sorted copy (sort the file by conversation id to skip this).")
        yield from _grouped_on_disk(file, options, batch_size, mapped)
        return
    emitted: list[pl.Series] = []  # ids of conversations already yielded (one Series per batch)
    carry: pl.DataFrame | None = None
    carry_raw: dict[int, str] = {}
    balance = RowBalance(file.name)
    for raw, quarantine, repairs, n_source in _raw_frames(file, batch_size, list(mapped.values()),
                                                          content=mapped["content"]):
        balance.read += n_source
        ctx = Ctx.of(file, options, repairs)
        ctx.repairs.update(text_coercions(raw[mapped["content"]]) if mapped["content"] in raw.columns else {})
        base = _row_lookup(raw)
        df = _canonical_rows(raw, mapped, ctx)
        if carry is not None:
            df = pl.concat([carry, df], how="vertical_relaxed")
        prev = carry_raw

        def lookup(row: int, base: Callable = base, prev: dict = prev) -> str | None:
            return prev[row] if row in prev else base(row)

        carry, carry_raw = None, {}
        if df.height:
            last = df["conversation_id"][-1]
            if last is not None:
                # fill_null: a row without id is not the tail (it is quarantined below); a null
                # comparison in ``~tail`` silently dropped it (issue 11 item 3)
                tail = (df["conversation_id"] == last).fill_null(value=False)
                carry = df.filter(tail)
                carry_raw = {r: lookup(r) for r in carry["_row"].to_list()}
                df = df.filter(~tail)
        yield balance.out(_group(df, ctx, quarantine, lookup, emitted, n_source))
    if carry is not None and carry.height:
        ctx = Ctx.of(file, options)
        yield balance.out(_group(carry, ctx, [], carry_raw.get, emitted, 0))
    balance.check()


def _contiguous(file: ResolvedFile, batch_size: int, id_column: str) -> bool:
    """Whether streaming in batches of ``batch_size`` sees every conversation's rows together.

    Why a separate pass: a conversation whose rows reappear after it was emitted cannot be
    un-emitted. This replays the streaming rule (the id of a batch's last row stays open into
    the next batch; every other id of the batch is emitted) on the id column alone, which is
    cheap next to the full read (Parquet reads only that column).
    """
    emitted = pl.Series("i", [], dtype=pl.String)
    carry: pl.Series | None = None
    for raw, _, _, _ in _raw_frames(file, batch_size, [id_column], csv_all_columns=False):
        ids = _canonical_rows(raw, {"conversation_id": id_column})["conversation_id"]
        if carry is not None:
            ids = pl.concat([carry, ids])
        if ids.is_empty():
            continue
        last = ids[-1]
        present = ids.drop_nulls().unique()
        if present.is_in(emitted.implode()).any():
            return False
        done = present.filter(present != last) if last is not None else present
        emitted = pl.concat([emitted, done.rename("i")])
        carry = pl.Series([last], dtype=pl.String) if last is not None else None
    return True


#: DuckDB's memory for regrouping an interleaved table; beyond it the sort spills to disk.
SORT_MEMORY = "1GB"


def _grouped_on_disk(
    file: ResolvedFile, options: ReaderOptions, batch_size: int, mapped: dict[str, str]
) -> Iterator[ReaderBatch]:
    """Rows of an interleaved file regrouped by conversation through a temporary Parquet file
    sorted by DuckDB (which spills to disk), yielded in batches of whole conversations ordered by
    first appearance, as streaming would. Memory stays bounded by the batch, not the file.

    The first batch carries no conversations: it reports the whole file's quarantined rows
    (rows without an id, quarantined while their source row is at hand), repairs and record
    count; the regrouped batches follow.
    """
    import tempfile

    import duckdb
    import pyarrow.parquet as pq

    quarantine: list[dict[str, Any]] = []
    repairs: Counter = Counter()
    n_source = 0
    balance = RowBalance(file.name)
    with tempfile.TemporaryDirectory(prefix="chatlens-table-") as tmp:
        spill = Path(tmp) / "rows.parquet"
        writer = None
        for raw, q, rep, n in _raw_frames(file, batch_size, list(mapped.values()), content=mapped["content"]):
            ctx = Ctx.of(file, options, rep)
            ctx.repairs.update(text_coercions(raw[mapped["content"]]) if mapped["content"] in raw.columns else {})
            table = _without_id_quarantined(_canonical_rows(raw, mapped, ctx), ctx, q,
                                            _row_lookup(raw)).to_arrow()
            quarantine.extend(q)
            repairs.update(ctx.repairs)
            n_source += n
            if writer is None:
                writer = pq.ParquetWriter(str(spill), table.schema)
            writer.write_table(table.cast(writer.schema))
        if writer is not None:
            writer.close()
        empty = pl.DataFrame(schema={**{k: _TYPES[k] for k in mapped}, "_row": pl.Int64})
        balance.read = n_source
        yield balance.out(_group(empty, Ctx.of(file, options, repairs), quarantine,
                                 lambda _row: None, [], n_source))
        if writer is None:
            balance.check()
            return

        def regrouped(part: pl.DataFrame) -> ReaderBatch:
            return balance.out(_group(part, Ctx.of(file, options), [], lambda _row: None, [], 0))

        con = duckdb.connect(config={"temp_directory": str(Path(tmp) / "duckdb"),
                                     "memory_limit": SORT_MEMORY})
        try:
            path = str(spill).replace("'", "''")  # our own temporary path, quoted as a literal
            query = (
                "SELECT * EXCLUDE (_first) FROM (SELECT *, min(_row) OVER "
                f"(PARTITION BY conversation_id) AS _first FROM read_parquet('{path}')) "
                "ORDER BY _first, _row"
            )
            carry: pl.DataFrame | None = None
            for rb in con.sql(query).to_arrow_reader(batch_size):
                df = pl.from_arrow(rb)
                assert isinstance(df, pl.DataFrame)
                if carry is not None:
                    df = pl.concat([carry, df], how="vertical_relaxed")
                tail = df["conversation_id"] == df["conversation_id"][-1]  # may continue
                carry, df = df.filter(tail), df.filter(~tail)
                if df.height:
                    yield regrouped(df)
            if carry is not None and carry.height:
                yield regrouped(carry)
        finally:
            con.close()
        balance.check()


def _canonical_rows(raw: pl.DataFrame, mapped: dict[str, str], ctx: Ctx | None = None) -> pl.DataFrame:
    """The mapped columns in their canonical types (+ ``_row``); timestamps given but not read
    are counted in ``ctx.repairs`` (when reading, not when only looking at the ids)."""
    exprs = []
    for name, src in mapped.items():
        if src in raw.columns:
            expr = pl.col(src)
            if raw.schema[src] == pl.String and name != "content":
                expr = pl.when(expr.str.len_bytes() > 0).then(expr)  # empty CSV cell = missing
            exprs.append(to_dtype(expr, raw.schema[src], _TYPES[name]).alias(name))
        else:
            exprs.append(pl.lit(None, dtype=_TYPES[name]).alias(name))
    rows = raw.select(*exprs, pl.col("_row"))
    if ctx is not None and mapped.get("timestamp") in raw.columns:
        ctx.repairs.update(unparsed_timestamps(rows["timestamp"], raw[mapped["timestamp"]]))
    return rows


def _without_id_quarantined(df: pl.DataFrame, ctx: Ctx, quarantine: list[dict[str, Any]],
                            lookup: Callable[[int], str | None]) -> pl.DataFrame:
    """``df`` without its rows that have no conversation id, each quarantined with its source."""
    for row in df.filter(pl.col("conversation_id").is_null())["_row"]:
        quarantine.append(_q(ctx, row, None, "row has no conversation id", lookup(row)))
    return df.filter(pl.col("conversation_id").is_not_null())


def _group(
    df: pl.DataFrame,
    ctx: Ctx,
    quarantine: list[dict[str, Any]],
    lookup: Callable[[int], str | None],
    emitted: list[pl.Series],
    n_source: int,
) -> ReaderBatch:
    df = _without_id_quarantined(df, ctx, quarantine, lookup)
    seen = pl.concat(emitted) if emitted else None
    again = df.filter(pl.col("conversation_id").is_in(seen.implode())) if seen is not None else df.clear()
    for cid, row in again.select("conversation_id", "_row").iter_rows():
        reason = (
            f"rows of conversation '{cid}' appear again after it was emitted; a conversation's rows "
            "must be contiguous: sort the file by conversation id"
        )
        quarantine.append(_q(ctx, row, cid, reason, lookup(row)))
    if again.height:
        df = df.filter(~pl.col("conversation_id").is_in(again["conversation_id"].unique().to_list()))
    if "message_index" in df.columns and df["message_index"].null_count() < df.height:
        order: list[pl.Expr] = [pl.col("message_index"), pl.col("_row")]
    elif "timestamp" in df.columns and df["timestamp"].null_count() < df.height:
        order = [pl.col("timestamp"), pl.col("_row")]
    else:
        order = [pl.col("_row")]
    msg_fields = {k: pl.col(k) for k in MESSAGE_STRUCT.to_schema() if k in df.columns}
    df = df.with_columns(build_messages(df, **msg_fields).alias("_msg"))
    nested = (
        df.group_by("conversation_id", maintain_order=True)
        .agg(
            pl.col("_msg").sort_by(order, nulls_last=True).alias("messages"),
            *[pl.col(k).drop_nulls().first().alias(k) for k in ("model", "language", "user_id") if k in df.columns],
            *([pl.col("timestamp").min()] if "timestamp" in df.columns else []),
            pl.col("_row").min(),
        )
        .with_columns(pl.lit(NAME).alias("source"), pl.lit(ctx.file).alias("_file"))
    )
    if nested.height:
        emitted.append(nested["conversation_id"])
    quarantine.sort(key=lambda q: q["row"] if q["row"] is not None else -1)
    return make_batch(nested, quarantine, dict(ctx.repairs), source_records=n_source)


def sniff(sample: Sample) -> float:
    """A plain message table (conversation_id, role, content columns) is recognised weakly;
    anything else needs an explicit ``format="table"`` with a column map."""
    cols = set(sample.columns)
    if {"conversation_id", "role", "content"} <= cols:
        return 0.5
    return 0.0
