"""The reader contract: what every format module yields, and the registry that names them.

Why a contract: formats differ, but once a record is *one conversation with a list of messages*
everything after it (role normalisation, turns, repairs) is shared. A reader therefore yields
:class:`ReaderBatch` objects: whole conversations in :data:`~chatlens.corpus.schema.NESTED_SCHEMA`
plus the records it had to set aside (:data:`~chatlens.corpus.schema.QUARANTINE_SCHEMA`) and the
counts of the documented repairs it made while parsing.

Counting rule (checked in every batch): ``records_in == nested.height + quarantine.height``.
``records_in`` counts *conversation units*: for most formats one source record is one unit; a
format that expands a record into several conversations (an HH pair → chosen + rejected, an arena
battle → side a + side b, an OASST tree → one per path) counts each emitted conversation, and a
record rejected as a whole counts once. ``source_records`` counts the raw records (lines, rows,
array items) consumed, for "rows in" reporting.

Independent count (issue 11 item 3): a reader also hands :func:`make_batch` the row numbers it
*read* (``rows_read``, taken from the input as it is consumed, before any parsing decides an
outcome). Every one of them must come out as a conversation (``_row``) or a quarantine row
(``row``), and no other row may appear; otherwise :class:`~chatlens.errors.AccountingError`
(a chatlens bug) is raised instead of a silently smaller corpus. ``source_records`` is then the
number of rows read. Readers whose conversations span rows (the table message layout) check the
same balance in rows (rows read = message rows + rows quarantined) across their batches.

Provenance: ``_file`` is the file's display name (the path as given, or ``hf://datasets/<id>/<path>``
for hub files); ``_row`` is the 0-based record position in that file: the physical line number for
JSONL (blank lines are skipped but counted, so ``sed -n "$((row+1))p"`` finds it), the row index for
Parquet, the data-row index for CSV (header not counted) and the item index for JSON arrays. A
record that expands into several conversations gives them all the same ``_row``.
"""

from __future__ import annotations

import difflib
import functools
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Generic, Literal, Protocol, TypeVar

import polars as pl

from chatlens.corpus.schema import NESTED_SCHEMA, QUARANTINE_SCHEMA, conform, empty_frame
from chatlens.errors import AccountingError, InvalidParameterError

Container = Literal["jsonl", "json", "parquet", "csv"]
Compression = Literal["gzip", "zstd"]
RAW_LIMIT = 2000  # characters of the offending record kept in a quarantine row


@dataclass(frozen=True)
class ResolvedFile:
    """One concrete input file, after directories, globs and hub ids were expanded.

    ``name`` is what provenance columns (``_file``, quarantine ``file``) show: the path as the user
    gave it (or as found under the directory / hub snapshot they gave).

    ``id_name`` is what ids derived from provenance (``<id_name>#<row>``, HH's
    ``<id_name>:<row>:chosen``) are built from: the path relative to the source root (the folder,
    the fixed part of a glob, the hub dataset), so ``harmless-base/train.jsonl.gz`` and
    ``helpful-base/train.jsonl.gz`` give different ids; for a file named directly, its file name.
    Why not ``name``: ids must not change with where the user keeps the data or how they typed
    its path. Defaults to the last component of ``name``.
    """

    path: Path
    container: Container
    compression: Compression | None = None
    name: str = ""
    id_name: str = ""

    def __post_init__(self) -> None:
        if not self.name:
            object.__setattr__(self, "name", str(self.path))
        if not self.id_name:
            object.__setattr__(self, "id_name", self.name.rsplit("/", 1)[-1])

    @functools.cached_property
    def size(self) -> int:
        """Size on disk in bytes (compressed size for .gz/.zst); read once (planning, grouping
        and progress all ask, and a folder may hold 20,000 files)."""
        return self.path.stat().st_size


@dataclass(frozen=True)
class ReaderOptions:
    """Format-specific options passed to every ``scan_<fmt>``; each reader reads what it needs."""

    column_map: Mapping[str, str] | None = None
    layout: Literal["message", "conversation"] | None = None
    oasst_paths: Literal["all", "best"] = "all"


@dataclass(frozen=True)
class ReaderBatch:
    """Whole conversations read from one file, plus what was set aside and repaired.

    Attributes
    ----------
    nested : exactly ``NESTED_SCHEMA``; a conversation is never split across batches.
    quarantine : exactly ``QUARANTINE_SCHEMA``; one row per record (or conversation unit) that
        could not be read, with file, 0-based row, conversation id if known, reason and raw text.
    repairs : counts of documented repairs made while parsing (e.g. ``{"invalid_utf8": 3}``).
    records_in : conversation units consumed = ``nested.height + quarantine.height``.
    source_records : raw records (lines, rows, array items) consumed; defaults to ``records_in``.
    bytes_read : for progress only: bytes of the input consumed so far by this scan (cumulative
        over the files of one scan call), when the reader knows it (plain JSONL, small-file
        groups); ``None`` otherwise.
    """

    nested: pl.DataFrame
    quarantine: pl.DataFrame
    repairs: Mapping[str, int]
    records_in: int
    source_records: int | None = field(default=None)
    bytes_read: int | None = field(default=None)

    def __post_init__(self) -> None:
        if self.source_records is None:
            object.__setattr__(self, "source_records", self.records_in)


def make_batch(
    nested: pl.DataFrame,
    quarantine: list[dict[str, Any]] | pl.DataFrame | None = None,
    repairs: Mapping[str, int] | None = None,
    *,
    source_records: int | None = None,
    rows_read: Sequence[int] | None = None,
    where: str = "",
) -> ReaderBatch:
    """Conform the frames to the contract and fill ``records_in`` by the counting rule.

    ``rows_read``: the row numbers the reader consumed for this batch, counted as they were
    read; checked against the rows that came out (see the module doc), and the default of
    ``source_records``. ``where`` names the file in the error.
    """
    nested = conform(nested, NESTED_SCHEMA)
    quarantine = quarantine_frame(quarantine)
    if rows_read is not None:
        check_rows_accounted(rows_read, nested, quarantine, where)
        if source_records is None:
            source_records = len(rows_read)
    return ReaderBatch(
        nested=nested,
        quarantine=quarantine,
        repairs={k: v for k, v in (repairs or {}).items() if v},
        records_in=nested.height + quarantine.height,
        source_records=source_records,
    )


def check_rows_accounted(
    rows_read: Sequence[int], nested: pl.DataFrame, quarantine: pl.DataFrame, where: str = ""
) -> None:
    """Raise :class:`AccountingError` unless the rows that came out are exactly the rows read."""
    read = pl.Series("r", rows_read, dtype=pl.Int64).unique()
    out = pl.concat([nested.get_column("_row").cast(pl.Int64), quarantine.get_column("row").cast(pl.Int64)])
    out = out.drop_nulls().unique()
    lost = read.filter(~read.is_in(out.implode())).sort()
    invented = out.filter(~out.is_in(read.implode())).sort()
    if lost.len() or invented.len():
        detail = []
        if lost.len():
            detail.append(f"{lost.len()} row(s) read but neither analysed nor quarantined "
                          f"(rows {lost.head(10).to_list()})")
        if invented.len():
            detail.append(f"{invented.len()} row(s) emitted that were not read (rows {invented.head(10).to_list()})")
        msg = (f"{where or 'input'}: rows in do not add up to rows analysed + quarantined: "
               f"{'; '.join(detail)}. This is a chatlens bug; please report it with the file.")
        raise AccountingError(msg)


class RowBalance:
    """Rows read vs rows that came out (message rows of conversations + quarantine rows).

    Why: where a conversation spans rows and may span batches (the table message layout), the
    per-batch row check of :func:`make_batch` cannot apply; the balance is checked once the file
    is consumed (issue 11 item 3: a dropped row is an error, not a smaller corpus).
    """

    def __init__(self, file: str) -> None:
        self.file = file
        self.read = 0
        self.emitted = 0

    def out(self, batch: ReaderBatch) -> ReaderBatch:
        lens = batch.nested.get_column("messages").list.len().sum() if batch.nested.height else 0
        self.emitted += batch.quarantine.height + int(lens or 0)
        return batch

    def check(self) -> None:
        if self.read != self.emitted:
            msg = (f"{self.file}: rows in do not add up: {self.read:,} rows read, "
                   f"{self.emitted:,} came out as messages or quarantine rows. This is a chatlens "
                   "bug; please report it with the file.")
            raise AccountingError(msg)


def quarantine_frame(rows: list[dict[str, Any]] | pl.DataFrame | None) -> pl.DataFrame:
    """Quarantine rows (dicts with file,row,conversation_id,reason,raw) as a contract frame."""
    if rows is None:
        return empty_frame(QUARANTINE_SCHEMA)
    if isinstance(rows, pl.DataFrame):
        return conform(rows, QUARANTINE_SCHEMA).with_columns(pl.col("raw").str.slice(0, RAW_LIMIT))
    if not rows:
        return empty_frame(QUARANTINE_SCHEMA)
    cleaned = [
        {
            "file": r.get("file"),
            "row": r.get("row"),
            "conversation_id": None if r.get("conversation_id") is None else str(r["conversation_id"]),
            "reason": r.get("reason"),
            "raw": truncate_raw(r.get("raw")),
        }
        for r in rows
    ]
    return pl.DataFrame(cleaned, schema=QUARANTINE_SCHEMA)


def truncate_raw(raw: Any) -> str | None:
    """The offending record as text, cut to :data:`RAW_LIMIT` characters (bounded memory)."""
    if raw is None:
        return None
    if isinstance(raw, bytes):
        raw = raw[: RAW_LIMIT * 4].decode("utf-8", errors="replace")
    elif not isinstance(raw, str):
        raw = repr(raw)
    return raw[:RAW_LIMIT]


class Sample:
    """The first records of a file, as detection sees them.

    ``records`` are the first parsed records (dicts) in file order; ``columns`` the union of their
    top-level keys (for Parquet/CSV: the schema's column names); ``container`` the file kind.
    ``top_level`` is the whole top-level object's keys for a JSON file holding one object.
    ``problem`` says why no record could be parsed (a malformed first line), if that is why.
    """

    def __init__(
        self,
        container: Container,
        records: list[Any],
        columns: list[str] | None = None,
        top_level: list[str] | None = None,
        problem: str | None = None,
    ) -> None:
        self.container = container
        self.problem = problem
        self.records = records
        if columns is None:
            seen: dict[str, None] = {}
            for r in records:
                if isinstance(r, dict):
                    seen.update(dict.fromkeys(r))
            columns = list(seen)
        self.columns = columns
        self.top_level = top_level or []

    def dict_records(self) -> list[dict[str, Any]]:
        return [r for r in self.records if isinstance(r, dict)]

    def describe(self) -> str:
        """A short account of what was seen, for detection error messages."""
        keys = ", ".join(self.columns[:20]) or "(none)"
        extra = f"; top-level keys: {', '.join(self.top_level[:10])}" if self.top_level else ""
        return f"{self.container} with {len(self.records)} sampled record(s), keys: {keys}{extra}"


class ScanFn(Protocol):
    def __call__(
        self, file: ResolvedFile, *, batch_size: int, options: ReaderOptions
    ) -> Iterator[ReaderBatch]: ...


@dataclass(frozen=True)
class ReaderSpec:
    """A registered format: its scan function, its sniffer and a one-line description.

    ``sniff`` returns a confidence in [0, 1] that a sample is this format (0 = no); detection picks
    the highest. ``priority`` breaks ties (more specific formats first). ``rated_end``: every
    transcript of the format ends at the response that was rated (HH-RLHF, DICES), so where a
    conversation ends says nothing about the user (docs/labels.md): the features layer reads no
    abandonment or ending there.
    """

    name: str
    scan: ScanFn
    sniff: Callable[[Sample], float]
    description: str
    priority: int = 0
    rated_end: bool = False


T = TypeVar("T")


class Registry(Generic[T]):
    """Named components; rejects duplicates and answers unknown names with suggestions."""

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self._items: dict[str, T] = {}

    def register(self, name: str, item: T) -> T:
        if name in self._items:
            msg = f"A {self.kind} named '{name}' is already registered; pick another name."
            raise InvalidParameterError(msg)
        self._items[name] = item
        return item

    def get(self, name: str) -> T:
        try:
            return self._items[name]
        except KeyError:
            available = sorted(self._items)
            close = difflib.get_close_matches(name, available, n=3)
            hint = f" Did you mean {' or '.join(repr(c) for c in close)}?" if close else ""
            msg = f"Unknown {self.kind} '{name}'.{hint} Available: {', '.join(available)}."
            raise InvalidParameterError(msg) from None

    def names(self) -> list[str]:
        return list(self._items)

    def items(self) -> list[tuple[str, T]]:
        return list(self._items.items())

    def __contains__(self, name: object) -> bool:
        return name in self._items


__all__ = [
    "RAW_LIMIT",
    "Compression",
    "Container",
    "ReaderBatch",
    "ReaderOptions",
    "ReaderSpec",
    "Registry",
    "ResolvedFile",
    "RowBalance",
    "Sample",
    "check_rows_accounted",
    "make_batch",
    "quarantine_frame",
    "truncate_raw",
]
