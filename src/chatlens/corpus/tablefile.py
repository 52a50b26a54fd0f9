"""Tables (CSV/TSV, JSONL, JSON, Parquet; optionally .gz/.zst) read whole or in batches, written in batches.

:func:`read_table` is the one whole-file table reader of chatlens (ratings, humanlike, judge and
classify read their inputs and results through it), so a missing file, an unknown extension or
unreadable content gives the same :class:`~chatlens.errors.SourceError` wherever it happens;
:func:`write_table` is its counterpart for whole result tables.

Why: ``chatlens classify`` adds detector columns to files of messages, and such files (every
assistant reply of a million-conversation log) need not fit in memory: the detectors hold about
six copies of the text they work on. Reading and writing in batches bounds memory by the batch,
not the file. The output is written to a temporary file beside the target and renamed when
complete, so a failed or interrupted run never leaves a half-written file under the final name.

Types: Parquet keeps its schema; CSV cells are read as text (no type guessing, so a column that
looks numeric in its first rows cannot fail later; invalid UTF-8 is repaired as in the readers);
JSONL types are inferred from the first batch and applied to the rest.
"""

from __future__ import annotations

import glob
import io
import json
import os
import re
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from types import TracebackType
from typing import IO, Literal

import polars as pl

from chatlens.corpus.readers import _csv, _io
from chatlens.corpus.sources import COMPRESSIONS, _split_suffix, classify
from chatlens.errors import SchemaError, SourceError, SourceNotFoundError

TableFormat = Literal["csv", "jsonl", "parquet"]
_FORMATS: dict[str, TableFormat] = {".csv": "csv", ".tsv": "csv", ".jsonl": "jsonl",
                                    ".ndjson": "jsonl", ".parquet": "parquet", ".pq": "parquet"}


def table_format(path: str | Path, role: str = "input") -> TableFormat:
    """CSV, JSONL or Parquet, from the extension (an input may also end in .gz or .zst)."""
    p = Path(path)
    suffix = _split_suffix(p)[0] if role == "input" else p.suffix.lower()
    fmt = _FORMATS.get(suffix)
    if fmt is None:
        allowed = sorted(_FORMATS) + ([f"{e} (compressed)" for e in COMPRESSIONS] if role == "input" else [])
        msg = (
            f"Cannot tell the format of {role} file {p}: expected an extension among "
            f"{allowed}. Got {suffix or 'none'!r}."
        )
        raise SourceError(msg)
    return fmt


#: extension -> how :func:`read_table` parses it (JSON is an array of objects, read whole).
_WHOLE: dict[str, str] = {".csv": "csv", ".tsv": "tsv", ".jsonl": "ndjson", ".ndjson": "ndjson",
                          ".json": "json", ".parquet": "parquet", ".pq": "parquet"}
#: rows a CSV reader looks at to choose column types.
INFER_ROWS = 10_000


def read_table(path: str | Path, *, infer_schema: bool = True) -> pl.DataFrame:
    """Read a whole table file into one DataFrame, the format chosen by its extension.

    ``.csv``/``.tsv`` (types inferred from the first 10,000 rows, or every cell kept as text with
    ``infer_schema=False``, so a stray "n/a" in a numeric column can be quarantined by the caller
    instead of failing the read), ``.jsonl``/``.ndjson`` and ``.json`` (an array of objects; types
    from all rows), ``.parquet``/``.pq``. CSV and JSON inputs may be compressed (``.gz``,
    ``.zst``).

    Raises
    ------
    SourceError
        Unknown extension, or content that cannot be parsed (the message names the file and the
        expected format); :class:`~chatlens.errors.SourceNotFoundError` (also a
        ``FileNotFoundError``) when the file does not exist.

    Examples
    --------
    >>> import tempfile
    >>> d = Path(tempfile.mkdtemp())
    >>> _ = (d / "t.csv").write_text("a,b\\n1,x\\n")
    >>> read_table(d / "t.csv").dtypes, read_table(d / "t.csv", infer_schema=False).dtypes
    ([Int64, String], [String, String])
    >>> read_table(d / "t.xlsx")
    Traceback (most recent call last):
    chatlens.errors.SourceError: Cannot read ...t.xlsx: unknown extension '.xlsx'. Expected one of ['.csv', ...
    """
    p = Path(path)
    suffix, compression = _split_suffix(p)
    kind = _WHOLE.get(suffix)
    if kind is None or (compression and kind == "parquet"):
        msg = (f"Cannot read {p}: unknown extension {p.suffix.lower()!r}. Expected one of "
               f"{sorted(_WHOLE)} (CSV and JSON optionally ending in {', '.join(COMPRESSIONS)}).")
        raise SourceError(msg)
    if not p.is_file():
        msg = f"Input file {p} does not exist or is not a file."
        raise SourceNotFoundError(msg)
    try:
        data: Path | io.BytesIO = p
        if compression:
            with _io.open_binary(classify(p)) as stream:
                data = io.BytesIO(stream.read())
        if kind in ("csv", "tsv"):
            schema = {"infer_schema_length": INFER_ROWS} if infer_schema else {"infer_schema": False}
            return pl.read_csv(data, separator="\t" if kind == "tsv" else ",", **schema)  # type: ignore[arg-type]
        if kind == "ndjson":
            return pl.read_ndjson(data, infer_schema_length=None)
        if kind == "json":
            return pl.read_json(data, infer_schema_length=None)
        return pl.read_parquet(data)
    except (pl.exceptions.PolarsError, OSError, ValueError) as exc:
        msg = f"Cannot read {p} as {kind}: {exc}"
        raise SourceError(msg) from exc


def write_table(frame: pl.DataFrame, path: str | Path) -> Path:
    """Write a whole DataFrame by suffix: ``.parquet``, ``.jsonl``/``.ndjson``, otherwise CSV.

    The counterpart of :func:`read_table` for results (scores, judge ratings): CSV has no nested
    type, so list and struct columns are written as JSON text, which reads back losslessly. (The
    streaming :class:`TableWriter` joins list cells with ``;`` instead, for classify's cue ids.)
    """
    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    suffix = p.suffix.lower()
    if suffix == ".parquet":
        frame.write_parquet(p)
    elif suffix in (".jsonl", ".ndjson"):
        frame.write_ndjson(p)
    else:
        neutralise_formulas(nested_as_json(frame)).write_csv(p)
    return p


def nested_as_json(frame: pl.DataFrame) -> pl.DataFrame:
    """``frame`` with every nested column (list, array, struct, map) as JSON text, the one way
    chatlens puts nested values in a CSV (which has no nested type; JSON reads back losslessly).
    Values JSON has no type for (dates) are written as their text.

    >>> nested_as_json(pl.DataFrame({"cues": [["a", "b"], []], "n": [1, 2]})).rows()
    [('["a", "b"]', 1), ('[]', 2)]
    """
    nested = [c for c, t in frame.schema.items() if t.is_nested()]
    if not nested:
        return frame
    return frame.with_columns(
        pl.col(c).map_elements(
            lambda v: json.dumps(v.to_list() if hasattr(v, "to_list") else v, default=str),
            return_dtype=pl.String,
        )
        for c in nested
    )


#: A cell a spreadsheet would run as a formula (OWASP "CSV injection"): it starts with one of these.
FORMULA_START = r"^[=+\-@\t\r]"
#: ...unless the whole cell is a plain number, optionally with a percent sign and a short plain
#: label in parentheses ("-0.12 (small)"): no formula can hide in that.
PLAIN_NUMBER = r"^-?[\d.,]+%?(?: \([\w ,.%=-]*\))?$"


def neutralise_formulas(frame: pl.DataFrame) -> pl.DataFrame:
    """Text cells and column names that a spreadsheet would evaluate (``=``, ``+``, ``-``, ``@``,
    tab, CR first) get a leading apostrophe, OWASP's rule for CSV meant for people.

    Why: conversation text and model names are untrusted, and ``tables/*.csv`` and ``classify``
    outputs are opened in Excel or LibreOffice. Only CSV is changed: Parquet and JSONL stay exact
    (a negative *number* is never touched — only text columns are). See docs/security.md.
    """
    headers = {c: f"'{c}" for c in frame.columns
               if re.search(FORMULA_START, c) and not re.search(PLAIN_NUMBER, c)}
    if headers:  # header cells too: a model's name can head a column (the win-rate matrix)
        frame = frame.rename(headers)
    # categorical text (pandas "category" columns in a Parquet input) is text in the CSV too:
    # it was passed through as it was, formulas and all
    text = [c for c, t in frame.schema.items()
            if t == pl.String or isinstance(t, pl.Categorical | pl.Enum)]
    if not text:
        return frame
    return frame.with_columns(
        pl.when(pl.col(c).cast(pl.String).str.contains(FORMULA_START)
                & ~pl.col(c).cast(pl.String).str.contains(PLAIN_NUMBER))
        .then(pl.lit("'") + pl.col(c).cast(pl.String))
        .otherwise(pl.col(c).cast(pl.String)).alias(c)
        for c in text
    )


def restore_formulas(values: pl.Series) -> pl.Series:
    """The text cells :func:`neutralise_formulas` wrote, as they were before it: the leading
    apostrophe it put before a formula-like cell removed (for keys read back from a CSV that
    people edited, e.g. an audit sample).

    >>> restore_formulas(pl.Series(["'-abc", "'=1+1", "plain", "'quoted"])).to_list()
    ['-abc', '=1+1', 'plain', "'quoted"]
    """
    text = values.cast(pl.String)
    return pl.select(pl.when(text.str.contains("^'" + FORMULA_START.removeprefix("^")))
                     .then(text.str.slice(1)).otherwise(text)).to_series().alias(values.name)


def table_rows(path: str | Path) -> int | None:
    """Rows of a table file, for progress-bar totals: a Parquet file's footer; a JSONL file's
    non-blank lines and a CSV/TSV file's records, counted in one fast pass (polars' CSV scanner
    knows quoted line breaks). ``None`` when the file cannot be counted (the reader then reports
    the problem with the file's name)."""
    p = Path(path)
    fmt = table_format(p)
    if fmt == "parquet":
        import pyarrow as pa
        import pyarrow.parquet as pq

        try:
            return int(pq.ParquetFile(str(p)).metadata.num_rows)
        except (OSError, pa.ArrowException):
            return None
    if _split_suffix(p)[1] is not None:
        return None  # compressed: counting would mean decompressing twice
    try:
        if fmt == "jsonl":
            return _nonblank_lines(p)
        sep = "\t" if _split_suffix(p)[0] == ".tsv" else ","
        return int(pl.scan_csv(p, separator=sep, infer_schema=False, glob=False).select(pl.len()).collect().item())
    except (OSError, pl.exceptions.PolarsError):
        return None


def _nonblank_lines(path: Path, block: int = 1 << 24) -> int:
    """Lines with something other than whitespace, counted block by block (no JSON parsing)."""
    import re

    blank = re.compile(rb"(?m)^[ \t\r]*\n")
    count, tail = 0, b""
    with path.open("rb") as fh:
        while data := fh.read(block):
            data = tail + data
            cut = data.rfind(b"\n") + 1
            done, tail = data[:cut], data[cut:]
            count += done.count(b"\n") - len(blank.findall(done))
    return count + (1 if tail.strip() else 0)


def iter_table_frames(path: str | Path, *, batch_size: int = 100_000,
                      repairs: Counter[str] | None = None) -> Iterator[pl.DataFrame]:
    """The rows of a CSV/JSONL/Parquet file as DataFrames of at most ``batch_size`` rows, in order.

    ``repairs`` (optional) counts what was changed to read the file: ``invalid_utf8``, the
    invalid UTF-8 sequences of a CSV file replaced by U+FFFD (a Latin-1 or Windows-1252 export),
    and ``lone_surrogate``, the JSONL escapes such as ``"\\ud800"`` that are no character (the
    readers' rule: U+FFFD; polars' parser made them NUL), so a caller can say that its output
    holds the replaced text.

    Raises
    ------
    SourceError
        The file does not exist, has an unknown extension or cannot be parsed (the message names
        the file and, for JSONL, the line range).
    """
    p = Path(path)
    fmt = table_format(p)
    if not p.is_file():
        msg = f"Input file {p} does not exist."
        raise SourceError(msg)
    file = classify(p)
    if fmt == "parquet":
        for batch in _io.iter_parquet_batches(file, batch_size):
            yield _frame(batch)
    elif fmt == "csv":
        try:
            for part in _csv.iter_csv_parts(file, batch_size, strict=True):
                if repairs is not None and part.repairs:
                    repairs["invalid_utf8"] += part.repairs
                yield _frame(part.batch)
        except SchemaError as exc:
            raise SourceError(str(exc)) from exc
    else:
        yield from _jsonl_frames(file, batch_size, repairs)


def _frame(batch: object) -> pl.DataFrame:
    frame = pl.from_arrow(batch)  # type: ignore[arg-type]
    assert isinstance(frame, pl.DataFrame)
    return frame


def _new_fields(got: pl.DataType, first: pl.DataType) -> list[str]:
    """Struct fields (dotted paths, through lists) in ``got`` that ``first`` lacks: what a cast
    of a later JSONL batch to the first batch's type would silently drop."""
    if isinstance(got, pl.List | pl.Array) and isinstance(first, pl.List | pl.Array):
        return _new_fields(got.inner, first.inner)
    if isinstance(got, pl.Struct) and isinstance(first, pl.Struct):
        known = {f.name: f.dtype for f in first.fields}
        out = []
        for f in got.fields:
            if f.name not in known:
                out.append(f.name)
            else:
                out += [f"{f.name}.{sub}" for sub in _new_fields(f.dtype, known[f.name])]
        return out
    return []


def _jsonl_frames(file: object, batch_size: int,
                  repairs: Counter[str] | None = None) -> Iterator[pl.DataFrame]:
    """JSONL batches with the columns and types of the first batch (a key that is null there is
    text). A later key the first batch lacks is an error, not a silently dropped column."""
    schema: dict[str, pl.DataType] | None = None
    for raw in _io.iter_line_chunks(file, batch_size):  # type: ignore[arg-type]
        chunk = _io.without_lone_surrogates(raw)
        if chunk.too_long:  # a table has no quarantine: the line is named, not dropped
            long = chunk.too_long[0]
            msg = (f"Cannot read JSONL file {file.name}, line {long.row + 1}: "  # type: ignore[attr-defined]
                   f"{long.reason}; expected one row per line.")
            raise SourceError(msg)
        if repairs is not None and chunk.lone_surrogates:
            repairs["lone_surrogate"] += chunk.lone_surrogates
        where = f"JSONL file {file.name} (lines {chunk.rows[0] + 1}-{chunk.rows[-1] + 1})"  # type: ignore[attr-defined]
        try:
            frame = pl.read_ndjson(io.BytesIO(b"\n".join(chunk.lines)), infer_schema_length=None)
            if schema is None:
                schema = {c: pl.String() if t == pl.Null else t for c, t in frame.schema.items()}
            new = [c for c in frame.columns if c not in schema]
            if new:
                msg = (f"Cannot read {where}: keys {new} do not occur in the first "
                       f"{batch_size:,} lines; expected the same keys throughout (convert the file "
                       "to Parquet, or raise --batch-size).")
                raise SourceError(msg)
            lost = [f"{c}.{f}" for c in frame.columns for f in _new_fields(frame.schema[c], schema[c])]
            if lost:
                msg = (f"Cannot read {where}: nested keys {lost} do not occur in the first "
                       f"{batch_size:,} lines (their values would be dropped); expected the same "
                       "keys throughout (convert the file to Parquet, or raise --batch-size).")
                raise SourceError(msg)
            frame = frame.select(
                pl.col(c).cast(t) if c in frame.columns else pl.lit(None, dtype=t).alias(c)
                for c, t in schema.items())
        except (pl.exceptions.PolarsError, ValueError) as exc:
            msg = (f"Cannot read {where}: expected one JSON object per line with the types of "
                   f"the first lines. Got: {exc}")
            raise SourceError(msg) from exc
        yield frame


class TableWriter:
    """Append DataFrames to a CSV, JSONL or Parquet file (by extension), atomically.

    CSV has no list type: list columns (``refusal_cues``) are written joined with ``;``, other
    nested columns (structs, lists of lists) as JSON text; a ``.tsv`` file is tab-separated, as :func:`read_table` and the corpus readers expect. Use as
    a context manager: on a clean exit the temporary file is renamed to ``path``; on an exception
    it is removed and ``path`` is left as it was. Partial files of writers that were killed are
    removed when the next writer of the same path starts (:func:`remove_stale_partials`).
    """

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.format = table_format(self.path, "output")
        self._separator = "\t" if self.path.suffix.lower() == ".tsv" else ","
        self.rows = 0
        self._tmp = self.path.with_name(f".{self.path.name}.{os.getpid()}.partial")
        self._handle: IO[bytes] | None = None
        self._parquet: object | None = None
        self._schema: object | None = None

    def __enter__(self) -> TableWriter:
        if self.path.is_dir():  # else found only by the final rename, after all the work
            msg = f"Output {self.path} is a directory; expected the path of a file to write."
            raise SourceError(msg)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        remove_stale_partials(self.path)
        if self.format != "parquet":
            self._handle = self._tmp.open("wb")
        return self

    def write(self, frame: pl.DataFrame) -> None:
        """Append ``frame`` (every frame must have the columns and types of the first)."""
        if self.format == "csv":
            flat = [c for c, t in frame.schema.items()
                    if isinstance(t, pl.List) and not t.inner.is_nested()]
            if flat:
                frame = frame.with_columns(
                    pl.col(c).cast(pl.List(pl.String)).list.join(";") for c in flat)
            frame = nested_as_json(frame)  # structs, lists of lists: as write_table writes them
            neutralise_formulas(frame).write_csv(self._handle, include_header=self.rows == 0,  # type: ignore[arg-type]
                            separator=self._separator)
        elif self.format == "jsonl":
            frame.write_ndjson(self._handle)  # type: ignore[arg-type]
        else:
            import pyarrow.parquet as pq

            table = frame.to_arrow()
            if self._parquet is None:
                self._schema = table.schema
                self._parquet = pq.ParquetWriter(str(self._tmp), self._schema)
            elif table.schema != self._schema:
                table = _conform(table, self._schema, self.path)
            self._parquet.write_table(table)  # type: ignore[attr-defined]
        self.rows += frame.height

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        if self._handle is not None:
            self._handle.close()
        if self._parquet is not None:
            self._parquet.close()  # type: ignore[attr-defined]
        if exc_type is None and self.format == "parquet" and self._parquet is None:
            pl.DataFrame().write_parquet(self._tmp)  # an empty input still gives a valid file
        try:
            if exc_type is None:
                os.replace(self._tmp, self.path)
        finally:  # a failed rename (the target became a directory) leaves no partial file
            self._tmp.unlink(missing_ok=True)


def remove_stale_partials(path: Path) -> list[Path]:
    """Remove ``.<name>.<pid>.partial`` files beside ``path`` left by a killed writer.

    Why: a ``kill -9`` skips the clean-up of :class:`TableWriter`, and the half-written file would
    stay forever. A partial file whose process is still running (another writer at work) is kept.
    """
    removed = []
    # the name is escaped: '.o[1].csv.*.partial' as a pattern never matched o[1].csv's own files
    for stale in path.parent.glob(glob.escape(f".{path.name}.") + "*.partial"):
        pid = stale.name[len(path.name) + 2 : -len(".partial")]
        if pid.isdigit() and int(pid) != os.getpid() and not _alive(int(pid)):
            stale.unlink(missing_ok=True)
            removed.append(stale)
    return removed


def _alive(pid: int) -> bool:
    if os.name == "nt":  # os.kill(pid, 0) would terminate the process there: never probe
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OSError):
        return True  # exists (another user's) or cannot tell: keep its file
    return True


def _conform(table: object, schema: object, path: Path) -> object:
    """``table`` cast to the file's schema (a later batch may type an all-null column as null)."""
    import pyarrow as pa

    try:
        return table.select(schema.names).cast(schema)  # type: ignore[attr-defined]
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError, KeyError) as exc:
        msg = (f"Cannot append a batch to {path}: expected the columns and types of the first "
               f"batch ({schema}), got {table.schema}: {exc}")  # type: ignore[attr-defined]
        raise SchemaError(msg) from exc
