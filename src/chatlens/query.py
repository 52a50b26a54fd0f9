"""``chatlens query``: DuckDB SQL over the Parquet tables of a run directory.

Every ``*.parquet`` file in the run directory (and in ``tables/``) becomes a view named after the
file, so ``select … from conversations join messages using (conversation_id)`` works in place,
without loading the tables first.

Why it is locked down: a run directory may be shared, and both its file names and the SQL a user
pastes are untrusted. View names are quoted identifiers (a ``"`` in a file name cannot end the
name), and the user's SQL runs with DuckDB's external access disabled except for the run's own
table files (``allowed_paths``) and extension autoloading off, so a query cannot read other files,
write any file (``COPY … TO``), attach databases or fetch extensions (DuckDB's spill directory,
which it always allows, is a private temporary one, not ``./.tmp``) — unless the caller passes
``allow_external=True`` (``chatlens query --allow-external``). See docs/security.md.

A run directory whose run failed or was killed is refused
(:class:`~chatlens.engine.rundir.IncompleteRunError`, exit code 1 from the CLI), as is a Parquet
file that cannot be read, instead of answering from a mix of old and new files.

Result types polars has no counterpart for (DuckDB ``INTERVAL``, ``UNION``, also inside a list or
struct) come back as their DuckDB text (``1 day``); any other value that cannot be converted is a
:class:`~chatlens.errors.ChatlensError` naming the columns, never a traceback.
"""

from __future__ import annotations

import re
import tempfile
from pathlib import Path
from typing import Any

import polars as pl

from chatlens.corpus.tablefile import nested_as_json
from chatlens.engine.rundir import require_complete
from chatlens.errors import ChatlensError, InvalidParameterError

#: DuckDB types polars cannot import from Arrow (``month_day_nano_interval``, unions): columns
#: whose type mentions one are cast to text in DuckDB before the result is fetched.
_NO_POLARS_TYPE = re.compile(r"\b(?:INTERVAL|UNION)\b")


def _identifier(name: str) -> str:
    """``name`` as a quoted SQL identifier (embedded quotes doubled)."""
    return '"' + name.replace('"', '""') + '"'


def _literal(path: Path) -> str:
    """``path`` as a DuckDB ``read_parquet`` argument that names that one file: DuckDB reads its
    argument as a glob pattern, so ``*``, ``?`` and ``[`` are each wrapped in a one-character class
    (``[*]``), then quotes doubled for the SQL string. Why: a run directory called ``run[12]``
    answered from ``run1/`` and ``run2/`` (with ``--allow-external`` the counts of both, without
    it a permission error naming the other run's file).

    >>> _literal(Path("runs/an [1]/it's*.parquet"))
    "runs/an [[]1]/it''s[*].parquet"
    """
    return re.sub(r"([*?\[])", r"[\1]", str(path)).replace("'", "''")


def _view_names(tables: list[Path], run_dir: Path) -> dict[str, Path]:
    """View name -> table file: the file's stem with ``-`` and ``.`` as ``_``. Two files that
    would make the same view (a copy of ``conversations.parquet`` dropped into ``tables/``;
    ``tables/a-b.parquet`` beside ``tables/a_b.parquet``) are an error naming both: picking one
    silently could answer from the wrong file, and DuckDB's own message ("View … already
    exists") read like a corrupt file."""
    views: dict[str, Path] = {}
    for path in tables:
        name = path.stem.replace("-", "_").replace(".", "_")
        if name in views:
            msg = (f"Two files of {run_dir} would both be the table {name!r}: {views[name]} and "
                   f"{path} (a table is named after its file, with '-' and '.' as '_'). Expected "
                   "one file per name; remove or rename one of them.")
            raise InvalidParameterError(msg)
        views[name] = path
    return views


def query(run_dir: str | Path, sql: str, *, allow_external: bool = False) -> pl.DataFrame:
    """Run ``sql`` with one view per Parquet table of ``run_dir``; return the result as polars.

    Examples
    --------
    >>> import tempfile, polars as pl
    >>> from chatlens.query import query
    >>> d = tempfile.mkdtemp()
    >>> pl.DataFrame({"model": ["a", "a", "b"]}).write_parquet(f"{d}/conversations.parquet")
    >>> query(d, "select model, count(*) as n from conversations group by 1 order by 1").rows()
    [('a', 2), ('b', 1)]
    """
    import duckdb

    run_dir = Path(run_dir)
    require_complete(run_dir)
    tables = sorted(run_dir.glob("*.parquet")) + sorted(run_dir.glob("tables/*.parquet"))
    if not tables:
        msg = f"{run_dir} holds no Parquet tables; expected a run directory written by 'chatlens analyze'."
        raise InvalidParameterError(msg)
    views = _view_names(tables, run_dir)
    # DuckDB's spill directory is always allowed, external access or not: by default that is
    # ./.tmp of the working directory, so a query could read and write any file under it (a
    # user's own .tmp folder). A private, empty directory removed afterwards keeps spilling.
    spill = tempfile.TemporaryDirectory(prefix="chatlens-query-")
    con = duckdb.connect(":memory:", config={"autoload_known_extensions": False,
                                             "autoinstall_known_extensions": False,
                                             "temp_directory": spill.name})
    try:
        for name, path in views.items():
            try:
                con.execute(f"create view {_identifier(name)} as select * from "
                            f"read_parquet('{_literal(path)}')")
            except duckdb.Error as exc:
                msg = (f"{path} is not a readable Parquet file (cut short by an interrupted "
                       f"write?): {exc}. Rerun 'chatlens analyze' into {run_dir}.")
                raise ChatlensError(msg) from None
        if not allow_external:
            # each file as itself and as the pattern its view reads it by (DuckDB checks both)
            listed = ", ".join(f"'{name}'" for p in tables
                               for name in dict.fromkeys((str(p).replace("'", "''"), _literal(p))))
            con.execute(f"set allowed_paths = [{listed}]")
            con.execute("set enable_external_access = false")
            con.execute("set lock_configuration = true")
        try:
            relation = con.sql(sql)
            if relation is None:  # a statement without a result (e.g. CREATE VIEW)
                return pl.DataFrame()
            return _to_polars(_as_text_where_needed(relation))
        except duckdb.Error as exc:
            views = ", ".join(p.stem for p in tables)
            msg = f"The query failed: {exc}. Tables available: {views}."
            raise ChatlensError(msg) from None
    finally:
        con.close()
        spill.cleanup()


def _as_text_where_needed(relation: Any) -> Any:
    """``relation`` with every column polars cannot take (see :data:`_NO_POLARS_TYPE`) cast to
    VARCHAR in DuckDB, which renders it as people write it (``1 day``). Why up front: polars
    raises on a top-level interval and panics on one inside a list."""
    types = [str(t) for t in relation.types]
    if not any(_NO_POLARS_TYPE.search(t) for t in types):
        return relation
    columns = [
        f"cast({_identifier(c)} as varchar) as {_identifier(c)}" if _NO_POLARS_TYPE.search(t)
        else _identifier(c)
        for c, t in zip(relation.columns, types, strict=True)
    ]
    return relation.project(", ".join(columns))


def _to_polars(relation: Any) -> pl.DataFrame:
    """The result as a polars frame; a value polars cannot convert is a ChatlensError naming the
    result's column types, not a traceback."""
    import pyarrow as pa

    arrow = relation.to_arrow_table()
    try:
        return pl.from_arrow(arrow)  # type: ignore[return-value]
    except (pl.exceptions.PolarsError, pl.exceptions.PanicException, pa.ArrowException) as exc:
        types = ", ".join(f"{c} {t}" for c, t in zip(relation.columns, relation.types, strict=True))
        msg = (f"The query's result cannot be converted to a table ({type(exc).__name__}: "
               f"{str(exc).splitlines()[0]}). Result columns: {types}. Cast the column to "
               "VARCHAR in the SQL (cast(x as varchar)).")
        raise ChatlensError(msg) from None


def to_csv(frame: pl.DataFrame) -> str:
    r"""A query result as CSV text: nested columns (lists, structs) as JSON text and binary ones
    as hex, since CSV holds neither (``chatlens query --output csv``).

    >>> to_csv(pl.DataFrame({"cues": [["a", "b"]], "n": [1]}))
    'cues,n\n"[""a"", ""b""]",1\n'
    """
    binary = [c for c, t in frame.schema.items() if t == pl.Binary]
    frame = nested_as_json(frame).with_columns(pl.col(c).bin.encode("hex") for c in binary)
    try:
        return frame.write_csv()
    except pl.exceptions.PolarsError as exc:
        msg = (f"The query's result cannot be written as CSV: {str(exc).splitlines()[0]}. "
               "Use --output json, or cast the column to VARCHAR in the SQL.")
        raise ChatlensError(msg) from None
