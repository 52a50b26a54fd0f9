"""Reading contrasting dialogue pairs: which columns hold dialogue A, dialogue B and the label.

Why a checked boundary: discovery spends money on every pair, and one unreadable label silently
read as "B" would teach the model the wrong contrast. Every problem is an error naming the file,
the row (1-based data row, plus its id when there is one), the column and what was expected.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import polars as pl

from chatlens.errors import MissingColumnError, SchemaError

__all__ = ["PairColumns", "dialogue_table", "read_pairs"]

#: Rows named in an error message before "and N more".
_SHOW = 3


@dataclass(frozen=True)
class PairColumns:
    """Which input columns hold what (the CLI's ``--a-column`` ... options)."""

    a: str
    b: str
    label: str
    id: str | None = None
    statements: str | None = None
    verdict: str | None = None


def _where(
    source: str, rows: list[int], ids: list[str], column: str, expected: str, got: list[object]
) -> str:
    shown = "; ".join(
        f"row {r + 1} (id {i!r}): got {g!r}"
        for r, i, g in zip(rows[:_SHOW], ids[:_SHOW], got[:_SHOW], strict=False)
    )
    more = f"; and {len(rows) - _SHOW} more" if len(rows) > _SHOW else ""
    return f"{source}: column {column!r}: expected {expected}. {shown}{more}."


def _ab(frame: pl.DataFrame, column: str, source: str, ids: list[str], *, nulls: bool) -> pl.Series:
    """A column of A/B values (case and spaces ignored); bad values raise naming the rows."""
    values = frame.get_column(column).cast(pl.String).str.strip_chars().str.to_uppercase()
    bad = (
        ~values.is_in(["A", "B"])
        if not nulls
        else (~values.is_in(["A", "B"]) & values.is_not_null())
    )
    bad = bad.fill_null(value=True)
    if bad.any():
        rows = bad.arg_true().to_list()
        raw = frame.get_column(column).to_list()
        raise SchemaError(
            _where(
                source,
                rows,
                [ids[r] for r in rows],
                column,
                "'A' or 'B' (which dialogue has the property)",
                [raw[r] for r in rows],
            )
        )
    return values


def _statement_lists(
    frame: pl.DataFrame, column: str, source: str, ids: list[str]
) -> list[list[str]]:
    """Each row's statements: a list column, a JSON list of strings, or one statement per line."""
    col = frame.get_column(column)
    if col.dtype == pl.List(pl.String):
        return [[s.strip() for s in (v or []) if s and s.strip()] for v in col.to_list()]
    out: list[list[str]] = []
    bad: list[int] = []
    got: list[object] = []
    for r, text in enumerate(col.cast(pl.String).to_list()):
        text = (text or "").strip()
        if text.startswith("["):
            try:
                value = json.loads(text)
            except ValueError:
                value = None
            if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
                bad.append(r)
                got.append(text[:60])
                out.append([])
                continue
        else:
            value = text.splitlines()
        out.append([s.strip() for s in value if s.strip()])
    if bad:
        raise SchemaError(
            _where(
                source,
                bad,
                [ids[r] for r in bad],
                column,
                "a JSON list of strings or one statement per line",
                got,
            )
        )
    return out


def read_pairs(
    frame: pl.DataFrame, columns: PairColumns, *, source: str = "<frame>", need_text: bool = True
) -> pl.DataFrame:
    """The pairs as ``pair_id, a, b, label[, statements][, verdict]`` with every value checked.

    ``need_text`` (the LLM step runs) requires both dialogues to be non-empty; with a statements
    column the dialogues are only carried along for the report.

    Examples
    --------
    >>> df = pl.DataFrame({"x": ["I: hi\\nW: hey"], "y": ["I: hi\\nW: Hello!"], "h": ["a"]})
    >>> read_pairs(df, PairColumns(a="x", b="y", label="h")).row(0)
    ('1', 'I: hi\\nW: hey', 'I: hi\\nW: Hello!', 'A')
    """
    wanted = [
        c
        for c in (
            columns.a,
            columns.b,
            columns.label,
            columns.id,
            columns.statements,
            columns.verdict,
        )
        if c is not None
    ]
    missing = [c for c in wanted if c not in frame.columns]
    if missing:
        msg = f"{source}: column(s) {missing} not found; the file has columns {frame.columns}."
        raise MissingColumnError(msg)
    if frame.height == 0:
        msg = f"{source}: no rows; expected one row per pair of contrasting dialogues."
        raise SchemaError(msg)
    if columns.id is not None:
        ids = frame.get_column(columns.id).cast(pl.String).to_list()
        dup = pl.Series(ids).is_duplicated()
        empty = pl.Series([i is None or not i.strip() for i in ids])  # "" and "  " name nothing
        if dup.any() or empty.any():
            rows = (dup | empty).arg_true().to_list()
            raise SchemaError(
                _where(
                    source,
                    rows,
                    [str(ids[r]) for r in rows],
                    columns.id,
                    "a unique, non-empty id per pair",
                    [ids[r] for r in rows],
                )
            )
    else:
        ids = [str(i + 1) for i in range(frame.height)]
    out = {
        "pair_id": ids,
        "a": frame.get_column(columns.a).cast(pl.String),
        "b": frame.get_column(columns.b).cast(pl.String),
        "label": _ab(frame, columns.label, source, ids, nulls=False),
    }
    if need_text:
        for col in (columns.a, columns.b):
            empty = frame.get_column(col).cast(pl.String).str.strip_chars().fill_null("") == ""
            if empty.any():
                rows = empty.arg_true().to_list()
                raise SchemaError(
                    _where(
                        source,
                        rows,
                        [ids[r] for r in rows],
                        col,
                        "a non-empty dialogue",
                        ["" for _ in rows],
                    )
                )
    result = pl.DataFrame(out)
    if columns.statements is not None:
        lists = _statement_lists(frame, columns.statements, source, ids)
        result = result.with_columns(pl.Series("statements", lists, dtype=pl.List(pl.String)))
    if columns.verdict is not None:
        result = result.with_columns(
            _ab(frame, columns.verdict, source, ids, nulls=True).alias("verdict")
        )
    return result


def dialogue_table(pairs: pl.DataFrame) -> pl.DataFrame:
    """One row per dialogue (``pair_id, side, dialogue, has_property``): what ``humanlike judge``
    rates and ``instrument fit`` fits on, grouped by ``pair_id``.

    Examples
    --------
    >>> pairs = pl.DataFrame({"pair_id": ["1"], "a": ["x"], "b": ["y"], "label": ["B"]})
    >>> dialogue_table(pairs).rows()
    [('1', 'A', 'x', False), ('1', 'B', 'y', True)]
    """
    indexed = pairs.with_row_index("_row")
    sides = [
        indexed.select(
            "_row",
            "pair_id",
            pl.lit(s).alias("side"),
            pl.col(s.lower()).alias("dialogue"),
            (pl.col("label") == s).alias("has_property"),
        )
        for s in ("A", "B")
    ]
    return pl.concat(sides).sort("_row", "side").drop("_row")
