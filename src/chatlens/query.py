"""``chatlens query``: DuckDB SQL over the Parquet tables of a run directory.

Every ``*.parquet`` file in the run directory (and in ``tables/``) becomes a view named after the
file, so ``select … from conversations join messages using (conversation_id)`` works in place,
without loading the tables first.
"""

from __future__ import annotations

from pathlib import Path

import polars as pl

from chatlens.errors import ChatlensError, InvalidParameterError


def query(run_dir: str | Path, sql: str) -> pl.DataFrame:
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
    tables = sorted(run_dir.glob("*.parquet")) + sorted(run_dir.glob("tables/*.parquet"))
    if not tables:
        msg = f"{run_dir} holds no Parquet tables; expected a run directory written by 'chatlens analyze'."
        raise InvalidParameterError(msg)
    con = duckdb.connect(":memory:")
    try:
        for path in tables:
            name = path.stem.replace("-", "_").replace(".", "_")
            escaped = str(path).replace("'", "''")
            con.execute(f'create view "{name}" as select * from read_parquet(\'{escaped}\')')
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
