"""Format auto-detection: sniff the first records of the input, not just file names.

Every registered reader scores a :class:`~chatlens.corpus.readers.base.Sample` (the first records,
their keys / the table's columns); the best positive score wins, ties broken by the reader's
priority (more specific formats first). When nothing fits, :class:`FormatDetectionError` says
what was seen and which formats exist, so the user can pass ``format=`` (explicit always wins).
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from chatlens.corpus.readers import READERS, _io
from chatlens.corpus.readers.base import ResolvedFile, Sample
from chatlens.errors import FormatDetectionError, SourceError

SAMPLE_RECORDS = 20
MAX_FILES_SNIFFED = 5
#: Files sniffed beyond the first ones, spread evenly over the rest (the last one included).
SPREAD_FILES_SNIFFED = 5


def sample_file(file: ResolvedFile, n: int = SAMPLE_RECORDS) -> Sample:
    """The first ``n`` records of ``file`` as detection sees them."""
    if file.container == "parquet":
        return _sample_parquet(file, n)
    if file.container == "csv":
        return _sample_csv(file, n)
    if file.container == "jsonl":
        records: list[Any] = []
        first_error: str | None = None
        for chunk in _io.iter_line_chunks(file, n):
            if chunk.too_long and first_error is None:
                first_error = f"line {chunk.too_long[0].row + 1}: {chunk.too_long[0].reason}"
            for row, line in zip(chunk.rows, chunk.lines, strict=True):
                try:
                    records.append(json.loads(_io.decode_utf8(line)[0]))
                except (ValueError, RecursionError) as exc:
                    if first_error is None:
                        what = "nested too deep" if isinstance(exc, RecursionError) else str(exc)
                        first_error = f"line {row + 1} ({len(line):,} bytes) is malformed JSON: {what}"
                    continue
            break
        # no record parsed: not "empty" but malformed, with the parser's position (issue 11 item 11)
        return Sample("jsonl", records, problem=None if records else first_error)
    return _sample_json(file, n)


def _sample_parquet(file: ResolvedFile, n: int) -> Sample:
    columns = _io.parquet_columns(file)
    records: list[Any] = []
    for rb in _io.iter_parquet_batches(file, n):
        records = rb.to_pylist()
        break
    return Sample("parquet", records, columns=columns)


def _sample_csv(file: ResolvedFile, n: int) -> Sample:
    head, _ = _io.decode_utf8(_io.peek_bytes(file, 1 << 20))
    delimiter = "\t" if ".tsv" in file.path.name.lower() else ","
    reader = csv.DictReader(io.StringIO(head), delimiter=delimiter)
    records = []
    try:
        for i, row in enumerate(reader):
            if i >= n:
                break
            records.append(dict(row))
    except csv.Error:
        pass
    return Sample("csv", records, columns=list(reader.fieldnames or []))


def _sample_json(file: ResolvedFile, n: int) -> Sample:
    head = _io.peek_bytes(file, 64).lstrip()
    if head[:1] == b"[":
        records = []
        for item, _ in _io.iter_json_items(file, "item"):
            records.append(item)
            if len(records) >= n:
                break
        return Sample("json", records)
    top, list_key = _io.json_object_keys(file)
    records = []
    if list_key is not None:
        for item, _ in _io.iter_json_items(file, f"{list_key}.item"):
            records.append(item)
            if len(records) >= n:
                break
        listed = Sample("json", records, top_level=top)
        if best_format(listed) is not None:
            return listed
        records = []  # the list is the record's own messages (one conversation per file)
    # one JSON object: the object itself is the one record
    for item, _ in _io.iter_json_items(file, "item"):
        records.append(item)
        break
    return Sample("json", records, top_level=top)


def detect_format(files: list[ResolvedFile]) -> str:
    """The registered format that fits the first records of ``files`` best.

    Raises
    ------
    FormatDetectionError
        No reader recognises the input (the message lists what was seen and the formats), the
        files disagree, or every file is empty.
    """
    seen: list[tuple[ResolvedFile, Sample, str | None]] = []
    problems: list[str] = []
    for file in _files_to_sniff(files):
        try:
            sample = sample_file(file)
        except SourceError as exc:
            if len(files) == 1:
                msg = f"Cannot detect the format of {file.name}: {exc}. Pass format= explicitly."
                raise FormatDetectionError(msg) from exc
            # one unreadable file among many (a truncated download): the others decide; the
            # reader then quarantines or reports this one
            problems.append(f"{file.name}: {exc}")
            continue
        if not sample.records and not sample.columns:
            if sample.problem:
                problems.append(f"{file.name}: {sample.problem}")
            continue
        seen.append((file, sample, best_format(sample)))
    available = ", ".join(READERS.names())
    if not seen and problems:
        msg = f"Cannot detect the format of {problems[0]}. Pass format= explicitly. Available formats: {available}."
        raise FormatDetectionError(msg)
    if not seen:
        names = ", ".join(f.name for f in files[:5])
        msg = (
            f"Cannot detect the format: the input files are empty ({names}). "
            f"Pass format= explicitly. Available formats: {available}."
        )
        raise FormatDetectionError(msg)
    unknown = [(f, s) for f, s, fmt in seen if fmt is None]
    known = sorted({fmt for _, _, fmt in seen if fmt is not None})
    if unknown:
        f, s = unknown[0]
        msg = f"Cannot detect the format of {f.name}: saw {s.describe()}. No reader recognises these keys."
        if known:
            msg += (
                f" Other input files look like {' / '.join(known)}: select only the data files, "
                "e.g. with a glob such as 'DIR/*.parquet'."
            )
        else:
            msg += (
                f" Pass format= (one of: {available}); for your own tables use format='table' with "
                "a column_map, e.g. {'conversation_id': 'chat', 'role': 'speaker', 'content': 'text'}."
            )
        raise FormatDetectionError(msg)
    formats = {fmt for _, _, fmt in seen}
    if len(formats) > 1:
        detail = "; ".join(f"{Path(f.name).name} looks like {fmt}" for f, _, fmt in seen)
        msg = f"The input files are in different formats ({detail}). Read them separately or pass format=."
        raise FormatDetectionError(msg)
    return formats.pop()  # type: ignore[return-value]


def _files_to_sniff(files: list[ResolvedFile]) -> Iterator[ResolvedFile]:
    """The first :data:`MAX_FILES_SNIFFED` files with records (empty ones are passed over), then
    :data:`SPREAD_FILES_SNIFFED` spread evenly over the files after them, the last included.

    Why the spread: a folder whose first files are one format and later ones another (an
    export beside a scrape) was detected from its first files only, and every record of the
    other files was then quarantined for missing keys; a few more files, taken from across the
    folder, make that a clear "different formats" error at the start in most such folders, at
    the cost of a few more files opened whatever the folder's size.
    """
    taken = 0
    for i, file in enumerate(files):
        if taken >= MAX_FILES_SNIFFED:
            rest = files[i:]
            step = max(len(rest) / SPREAD_FILES_SNIFFED, 1.0)
            picks = sorted({min(int(len(rest) - 1 - k * step), len(rest) - 1) for k in range(SPREAD_FILES_SNIFFED)})
            yield from (rest[j] for j in picks if j >= 0)
            return
        yield file
        if file.size > 0:
            taken += 1


def best_format(sample: Sample) -> str | None:
    """The best-scoring registered format for one sample, or None if none scores above 0."""
    scored = []
    for name, spec in READERS.items():
        try:
            score = float(spec.sniff(sample))
        except (TypeError, ValueError, KeyError, AttributeError):
            score = 0.0
        if score > 0:
            scored.append((score, spec.priority, name))
    if not scored:
        return None
    return max(scored)[2]


__all__ = ["best_format", "detect_format", "sample_file"]
