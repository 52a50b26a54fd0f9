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


@pytest.mark.parametrize("sql", [
    "select * from read_text('.tmp/notes.txt')",
    "copy (select 42 as x) to '.tmp/out.csv'",
    "select * from glob('{cwd}/.tmp/*')",
])
def test_the_working_directorys_tmp_folder_is_not_reachable(
    run_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, sql: str
) -> None:
    # DuckDB always allows its spill directory, ./.tmp by default: a user's own .tmp folder
    # could be read and written by any query before it got a private one
    cwd = tmp_path / "work"
    (cwd / ".tmp").mkdir(parents=True)
    (cwd / ".tmp" / "notes.txt").write_text("private")
    monkeypatch.chdir(cwd)
    with pytest.raises(ChatlensError, match="disabled by configuration"):
        query(run_dir, sql.format(cwd=cwd))
    assert sorted(p.name for p in (cwd / ".tmp").iterdir()) == ["notes.txt"]


def test_allow_external_opens_file_access(run_dir: Path) -> None:
    query(run_dir, f"copy (select 1 as x) to '{run_dir / 'out.csv'}'", allow_external=True)
    assert (run_dir / "out.csv").exists()


def _cli(*args: str):
    from typer.testing import CliRunner

    from chatlens.cli import app

    return CliRunner().invoke(app, ["query", *args])


def test_csv_output_writes_nested_columns_as_json(tmp_path: Path) -> None:
    # polars cannot write list columns to CSV: `--output csv` of messages was a traceback
    pl.DataFrame({"id": [1, 2], "cues": [["en.policy.cannot", "x"], []],
                  "blob": [b"\x00\xff", None]}).write_parquet(tmp_path / "messages.parquet")
    res = _cli(str(tmp_path), "select * from messages order by id", "--output", "csv")
    assert res.exit_code == 0, res.output
    assert res.output == 'id,cues,blob\n1,"[""en.policy.cannot"", ""x""]",00ff\n2,[],\n'


def test_types_polars_lacks_come_back_as_text(run_dir: Path) -> None:
    # an INTERVAL was a polars ComputeError; inside a list, a polars panic
    out = query(run_dir, "select interval 1 day as d, [interval 2 hour] as l, "
                         "union_value(k := 1) as u, 1 as n")
    assert out.rows() == [("1 day", "['02:00:00']", "1", 1)]


def test_a_result_polars_cannot_convert_is_a_chatlens_error(
        run_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(_table: object) -> None:
        raise pl.exceptions.ComputeError("could not import from `some_new_type` type")

    monkeypatch.setattr(pl, "from_arrow", refuse)
    with pytest.raises(ChatlensError, match=r"cannot be converted.*Result columns: n INTEGER"):
        query(run_dir, "select 1 as n")


def test_a_negative_limit_is_a_usage_error(run_dir: Path) -> None:
    res = _cli(str(run_dir), "select 1", "--limit", "-1")
    assert res.exit_code == 2 and "more" not in res.output


@pytest.mark.parametrize("stray", ["tables/conversations.parquet", "tables/a-b.parquet"])
def test_two_files_making_one_view_are_named_as_such(run_dir: Path, stray: str) -> None:
    # DuckDB's "View ... already exists" used to be reported as an unreadable Parquet file
    (run_dir / "tables").mkdir()
    pl.DataFrame({"v": [1]}).write_parquet(run_dir / "tables" / "a_b.parquet")
    (run_dir / stray).write_bytes((run_dir / "conversations.parquet").read_bytes())
    name = Path(stray).stem.replace("-", "_")
    with pytest.raises(ChatlensError, match=f"would both be the table '{name}'") as err:
        query(run_dir, "select 1")
    assert str(run_dir / stray) in str(err.value) and "not a readable" not in str(err.value)
    res = _cli(str(run_dir), "select 1")
    assert res.exit_code == 1 and "would both be the table" in res.output


def test_rows_past_the_limit_say_how_to_see_them(run_dir: Path) -> None:
    # the hint was worded as a file: "… 2 more (all in --limit to show more, --output csv for all)"
    res = _cli(str(run_dir), "select * from range(3)", "--limit", "1")
    flat = " ".join(res.output.replace("│", " ").split())
    assert res.exit_code == 0
    assert "… 2 more (--limit N shows more, --output csv all)" in flat
    assert "all in --limit" not in flat


@pytest.mark.parametrize("name", ["run[12]", "run*", "run?"])
def test_a_run_directory_named_like_a_glob_pattern_reads_its_own_tables(
        tmp_path: Path, name: str) -> None:
    """DuckDB reads read_parquet's argument as a glob: the view of 'run[12]' read run1/ and run2/
    (with --allow-external their rows added up; without it, a permission error naming run1/)."""
    for other, n in (("run1", 3), ("run2", 5)):
        (tmp_path / other).mkdir()
        pl.DataFrame({"model": ["x"] * n}).write_parquet(tmp_path / other / "conversations.parquet")
    run = tmp_path / name
    run.mkdir()
    pl.DataFrame({"model": ["a", "b"]}).write_parquet(run / "conversations.parquet")
    sql = "select count(*) as n from conversations"
    assert query(run, sql)["n"].to_list() == [2]
    assert query(run, sql, allow_external=True)["n"].to_list() == [2]


def test_csv_and_json_output_keep_escape_sequences_exact_when_piped(tmp_path: Path) -> None:
    # typer.echo strips ANSI sequences when stdout is not a terminal: a redirected CSV lost the
    # '\x1b[31m' of a conversation id (the data changed without a word)
    pl.DataFrame({"conversation_id": ["id0\x1b[31m"]}).write_parquet(tmp_path / "conversations.parquet")
    for output, expected in (("csv", "conversation_id\nid0\x1b[31m\n"),
                             ("json", '[{"conversation_id":"id0\\u001b[31m"}]\n')):
        res = _cli(str(tmp_path), "select * from conversations", "--output", output)
        assert res.exit_code == 0, res.output
        assert res.output == expected


def test_csv_output_on_a_terminal_shows_escape_sequences_as_replacement_characters(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # on a terminal the same CSV printed the raw ESC: an id could clear the screen or write an
    # OSC 8 hyperlink
    import io
    import sys

    from chatlens.cli._common import write_data

    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    screen = Terminal()
    monkeypatch.setattr(sys, "stdout", screen)
    write_data("conversation_id\nid0\x1b]8;;x:evil\x1b\\\u202e\n")
    assert screen.getvalue() == "conversation_id\nid0\ufffd]8;;x:evil\ufffd\\\ufffd\n"
