"""``chatlens query``: DuckDB SQL over the Parquet tables of a run directory.

Every ``*.parquet`` file in the run directory (and in ``tables/``) becomes a view named after the
file, so ``select … from conversations join messages using (conversation_id)`` works in place,
without loading the tables first.

Why it is locked down: a run directory may be shared, and both its file names and the SQL a user
pastes are untrusted. View names are quoted identifiers (a ``"`` in a file name cannot end the
name), and the user's SQL runs with DuckDB's external access disabled except for the run's own
table files (``allowed_paths``) and extension autoloading off, so a query cannot read other files,
write any file (``COPY … TO``), attach databases or fetch extensions — unless the caller passes
``allow_external=True`` (``chatlens query --allow-external``). See docs/security.md.

A run directory whose run failed or was killed is refused
(:class:`~chatlens.engine.rundir.IncompleteRunError`, exit code 1 from the CLI), as is a Parquet
file that cannot be read, instead of answering from a mix of old and new files.
"""

from __future__ import annotations

from pathlib import Path

import polars as pl

from chatlens.engine.rundir import require_complete
from chatlens.errors import ChatlensError, InvalidParameterError


def _identifier(name: str) -> str:
    """``name`` as a quoted SQL identifier (embedded quotes doubled)."""
    return '"' + name.replace('"', '""') + '"'


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
    con = duckdb.connect(":memory:", config={"autoload_known_extensions": False,
                                             "autoinstall_known_extensions": False})
    try:
        for path in tables:
            name = path.stem.replace("-", "_").replace(".", "_")
            escaped = str(path).replace("'", "''")
            try:
                con.execute(f"create view {_identifier(name)} as select * from read_parquet('{escaped}')")
            except duckdb.Error as exc:
                msg = (f"{path} is not a readable Parquet file (cut short by an interrupted "
                       f"write?): {exc}. Rerun 'chatlens analyze' into {run_dir}.")
                raise ChatlensError(msg) from None
        if not allow_external:
            listed = ", ".join("'" + str(p).replace("'", "''") + "'" for p in tables)
            con.execute(f"set allowed_paths = [{listed}]")
            con.execute("set enable_external_access = false")
            con.execute("set lock_configuration = true")
        try:
            relation = con.sql(sql)
            if relation is None:  # a statement without a result (e.g. CREATE VIEW)
                return pl.DataFrame()
            return pl.from_arrow(relation.to_arrow_table())
        except duckdb.Error as exc:
            views = ", ".join(p.stem for p in tables)
            msg = f"The query failed: {exc}. Tables available: {views}."
            raise ChatlensError(msg) from None
    finally:
        con.close()
