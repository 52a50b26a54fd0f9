"""``chatlens query`` treats file names and SQL as untrusted (issue 11, item 8)."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest

from chatlens.errors import ChatlensError
from chatlens.query import query


@pytest.fixture
def run_dir(tmp_path: Path) -> Path:
    pl.DataFrame({"model": ["a", "b"]}).write_parquet(tmp_path / "conversations.parquet")
    return tmp_path


def test_a_quote_in_a_file_name_cannot_run_sql(run_dir: Path, tmp_path: Path,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    target = tmp_path / "pwned.csv"
    evil = 'x" as select 1; copy (select 42) to \'pwned.csv\'; create view "y.parquet'
    pl.DataFrame({"v": [1]}).write_parquet(run_dir / evil)
    out = query(run_dir, "select count(*) as n from conversations")
    assert out["n"].to_list() == [2]
    assert not target.exists()
    # the odd name is still a view, reachable by its quoted identifier
    name = Path(evil).stem.replace("-", "_").replace(".", "_").replace('"', '""')
    assert query(run_dir, f'select v from "{name}"')["v"].to_list() == [1]


@pytest.mark.parametrize("sql", [
    "copy (select 1) to '{d}/out.csv'",
    "select * from read_csv('/etc/passwd')",
    "attach '{d}/other.db'",
    "install httpfs",
])
def test_user_sql_cannot_touch_other_files(run_dir: Path, sql: str) -> None:
    with pytest.raises(ChatlensError):
        query(run_dir, sql.format(d=run_dir))
    assert not (run_dir / "out.csv").exists()


def test_allow_external_opens_file_access(run_dir: Path) -> None:
    query(run_dir, f"copy (select 1 as x) to '{run_dir / 'out.csv'}'", allow_external=True)
    assert (run_dir / "out.csv").exists()
