"""Mutation fuzzing of the readers: valid files made hostile, and what reading them must give.

Why in the package: the property tests (``tests/corpus/test_reader_properties.py``, driven by
hypothesis) and the benchmark (``benchmarks/fuzz_readers.py``, seeded, ``--n`` mutations per
format) share one set of seed files, one set of mutations and one verdict, so the benchmark's
numbers and the tests' guarantee are about the same thing.

A **seed** is a small valid file of one reader format. A **mutation** is a list of operations
on its bytes (flip, truncate, delete, duplicate a line, insert structure characters, nest a
record thousands deep, insert a multi-megabyte string, re-encode as UTF-16 or Latin-1, break
UTF-8) or on its values (a JSON value replaced by another type; for Parquet, cells and whole
columns of another type, nulls, huge strings, shuffled rows). The **verdict** of reading the
mutated file is one of:

* ``ok`` — read, and rows in = analysed + quarantined, with rows in counted *here*,
  independently of the reader (non-blank JSONL lines, items of the JSON array, Parquet rows,
  non-empty CSV records by Python's csv module);
* ``clean_error`` — a :class:`~chatlens.errors.ChatlensError` with a message (not an
  :class:`~chatlens.errors.AccountingError`, which is a bug);
* ``silent_loss`` — read without error, but the counts do not add up;
* ``crash`` — any other exception (or, in the benchmark, a dead or hung worker process).
"""

from __future__ import annotations

import io
import json
import random
from dataclasses import dataclass
from pathlib import Path

from chatlens.corpus.fuzz.mutations import BYTE_OPS, mutate_rows
from chatlens.corpus.fuzz.seeds import SEEDS, Seed
from chatlens.errors import AccountingError, ChatlensError


@dataclass(frozen=True)
class Mutation:
    """What was done to a seed: byte operations, and for Parquet seeds the rows written."""

    ops: tuple[str, ...]
    rng_seed: int
    detect: bool = False  # read without format=, through detection


def apply(seed: Seed, mutation: Mutation, directory: Path) -> Path:
    """Write the mutated seed into ``directory`` and return its path."""
    rng = random.Random(mutation.rng_seed)
    path = directory / seed.filename
    if seed.rows:
        import pyarrow as pa
        import pyarrow.parquet as pq

        rows = mutate_rows(rng, seed.rows)
        try:
            table = pa.Table.from_pylist(rows)
        except (pa.ArrowInvalid, pa.ArrowTypeError):
            table = pa.Table.from_pylist([{k: json.dumps(v) for k, v in r.items()} for r in rows])
        buf = io.BytesIO()
        pq.write_table(table, buf)
        data = buf.getvalue()
    else:
        data = seed.data
    for name in mutation.ops:
        if seed.rows and name not in ("flip", "truncate"):
            continue  # a Parquet seed's values were mutated above; bytes only break the file
        data = BYTE_OPS[name](rng, data)
    if seed.filename.endswith(".gz"):
        import gzip

        data = gzip.compress(data, mtime=0)
        if rng.random() < 0.3:  # a download cut short
            data = data[: rng.randrange(len(data) + 1)]
    path.write_bytes(data)
    return path


# ---- verdicts ---------------------------------------------------------------------------------


def rows_in(path: Path, seed: Seed) -> int | None:
    """The source records of ``path``, counted without chatlens's readers (None: cannot tell)."""
    data = path.read_bytes()
    if path.suffix == ".gz":
        import gzip
        import zlib

        try:
            data = gzip.decompress(data)
        except (OSError, EOFError, zlib.error):
            return None
        path = path.with_suffix("")
    if path.suffix == ".jsonl":
        if data.startswith(b"\xef\xbb\xbf"):
            data = data[3:]
        return sum(1 for line in data.split(b"\n") if line.strip())
    if path.suffix == ".parquet":
        import pyarrow as pa
        import pyarrow.parquet as pq

        try:
            return pq.ParquetFile(io.BytesIO(data)).metadata.num_rows
        except (pa.ArrowException, OSError):
            return None
    if path.suffix == ".json":
        try:
            doc = json.loads(data.decode("utf-8", errors="replace").removeprefix("\ufeff"))
        except (ValueError, RecursionError):
            return None
        if seed.format == "dices":
            doc = doc.get("instances") if isinstance(doc, dict) else None
        elif isinstance(doc, dict):
            doc = [doc]
        return len(doc) if isinstance(doc, list) else None
    if path.suffix == ".csv":  # Python's csv module, not pyarrow's parser: non-empty rows
        import csv

        text = data.decode("utf-8", errors="replace").removeprefix("\ufeff")
        limit = csv.field_size_limit(1 << 30)
        try:
            rows = sum(1 for row in csv.reader(io.StringIO(text, newline="")) if row)
        except csv.Error:
            return None
        finally:
            csv.field_size_limit(limit)
        return max(rows - 1, 0)  # the header
    return None


@dataclass(frozen=True)
class Verdict:
    outcome: str  # ok | clean_error | silent_loss | crash
    detail: str = ""


def check(path: Path, seed: Seed, *, detect: bool = False) -> Verdict:
    """Read ``path`` as ``seed``'s format (or by detection) and judge the outcome."""
    from chatlens.corpus.api import read

    options = dict(seed.options)
    if not detect:
        options["format"] = seed.format
    try:
        corpus = read(path, **options)
    except AccountingError as exc:
        return Verdict("silent_loss", f"AccountingError: {exc}"[:500])
    except ChatlensError as exc:
        if not str(exc).strip():
            return Verdict("crash", f"{type(exc).__name__} without a message")
        return Verdict("clean_error", f"{type(exc).__name__}: {str(exc)[:300]}")
    except (KeyboardInterrupt, SystemExit):
        raise
    except BaseException as exc:  # also a Rust panic surfacing as pyo3's PanicException
        return Verdict("crash", f"{type(exc).__name__}: {str(exc)[:500]}")
    s = corpus.summary
    problems = []
    if s.records_in != s.conversations + s.quarantined:
        problems.append(
            f"rows in {s.records_in} != {s.conversations} analysed + {s.quarantined} quarantined"
        )
    if corpus.conversations.height != s.conversations or corpus.quarantine.height != s.quarantined:
        problems.append("the tables disagree with the summary")
    expected = rows_in(path, seed) if not detect or s.format == seed.format else None
    if expected is not None and s.source_records != expected:
        problems.append(f"{expected} source records in the file, {s.source_records} read")
    if problems:
        return Verdict("silent_loss", "; ".join(problems))
    return Verdict("ok")


__all__ = [
    "BYTE_OPS",
    "SEEDS",
    "Mutation",
    "Seed",
    "Verdict",
    "apply",
    "check",
    "mutate_rows",
    "rows_in",
]
