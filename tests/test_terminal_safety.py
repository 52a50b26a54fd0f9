"""Data shown in the terminal cannot carry control sequences (issue 11, item 9)."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from chatlens.cli import app
from chatlens.cli._common import escape


def test_escape_replaces_control_characters_and_markup():
    assert escape("a\x1b[2Jb\x07c\x9bd") == "a\ufffd[2Jb\ufffdc\ufffdd"
    assert escape("[bold]x[/]") == "\\[bold]x\\[/]"
    assert escape("tab\tand\nnewline") == "tab\tand\nnewline"


def test_info_and_analyze_print_no_escape_sequence(tmp_path):
    row = {"conversation_id": "a", "model": "evil\x1b[2J\x1b]0;title\x07model",
           "conversation": [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "yo"}]}
    src = tmp_path / "log.jsonl"
    src.write_text(json.dumps(row) + "\n")
    runner = CliRunner()
    for args in (["info", str(src)], ["analyze", str(src), "--out", str(tmp_path / "run")]):
        res = runner.invoke(app, args)
        assert res.exit_code == 0, res.output
        assert "evil" in res.output
        assert "\x1b" not in res.output and "\x07" not in res.output


def test_quiet_is_accepted_after_the_subcommand_and_silences_tables(tmp_path):
    row = {"conversation_id": "a", "model": "m",
           "conversation": [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "yo"}]}
    src = tmp_path / "log.jsonl"
    src.write_text(json.dumps(row) + "\n")
    runner = CliRunner()
    loud = runner.invoke(app, ["info", str(src)])
    assert loud.exit_code == 0 and "models" in loud.output.lower()
    for flag in ("--quiet", "-q"):
        res = runner.invoke(app, ["analyze", str(src), "--out", str(tmp_path / f"run{flag}"), flag])
        assert res.exit_code == 0, res.output
        assert res.output.strip() == ""
        assert (tmp_path / f"run{flag}" / "manifest.json").is_file()
    res = runner.invoke(app, ["info", str(tmp_path / "missing.jsonl"), "-q"])
    assert res.exit_code != 0  # errors are never silenced (they go to stderr)
    assert runner.invoke(app, ["info", str(src)]).output == loud.output  # quiet does not stick


def test_turing_eval_tables_print_no_escape_sequence_or_markup(tmp_path):
    """Opponent names (data) reached the turing eval tables unescaped: ANSI sequences and Rich
    markup such as [link=...] were interpreted (review repro 04)."""
    import polars as pl

    evil = "\x1b[31mEVIL\x1b[0m[link=http://evil.example]click[/link]"
    src = tmp_path / "w.csv"
    pl.DataFrame({"game_id": [1, 1, 2, 2], "label": ["A", "B", "A", "B"],
                  "witness": ["Human", evil, "Human", evil], "is_human": [True, False, True, False],
                  "verdict": ["A", "B", "A", "A"], "s": [1.0, 0.0, 1.0, 0.0]}).write_csv(src)
    res = CliRunner().invoke(app, ["turing", "eval", str(src), "-s", "column:s"])
    assert res.exit_code == 0, res.output
    assert "EVIL" in res.output and "\x1b" not in res.output
    assert "[link=http://evil.example]click[/link]" in res.output


def test_an_error_naming_a_hostile_file_prints_no_escape_sequence(tmp_path):
    """Reviewed bug: a partition failure names its file, and the CLI printed the message as it
    was, so a file named 'a<ESC>[2Jb.parquet' cleared the terminal when it failed to read."""
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "a\x1b[2Jb.parquet").write_bytes(b"PAR1garbagePAR1")
    res = CliRunner().invoke(app, ["analyze", str(folder), "--format", "lmsys", "--workers", "1",
                                   "--out", str(tmp_path / "run")])
    assert res.exit_code == 1
    assert "PartitionError" in res.output and "a\ufffd[2Jb.parquet" in res.output
    assert "\x1b" not in res.output


def test_validate_data_file_errors_print_no_escape_sequence(tmp_path):
    """validate --data-file printed its errors as they were: a file named with ESC [2J cleared
    the terminal (every other command's errors go through printable)."""
    bad = tmp_path / "a\x1b[2Jb.yaml"
    bad.write_text("name: x\nversion: 1\nsource: t\nbogus: 1\n")
    res = CliRunner().invoke(app, ["validate", "--data-file", str(bad), "--kind", "price-table"])
    assert res.exit_code == 1 and "a\ufffd[2Jb.yaml" in res.output, res.output
    assert "\x1b" not in res.output
