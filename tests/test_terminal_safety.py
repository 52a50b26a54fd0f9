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


def test_a_bidi_override_in_a_model_name_is_shown_not_obeyed(tmp_path):
    """A U+202E in a model name reversed the rest of its row in info/analyze tables (report.html
    already showed it as U+FFFD): 'gpt-4\\u202eterces' read as 'gpt-4secret'."""
    row = {"conversation_id": "a", "model": "gpt-4\u202eterces\u2066",
           "conversation": [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "yo"}]}
    src = tmp_path / "log.jsonl"
    src.write_text(json.dumps(row) + "\n")
    res = CliRunner().invoke(app, ["info", str(src)])
    assert res.exit_code == 0, res.output
    assert "gpt-4\ufffdterces\ufffd" in res.output
    assert "\u202e" not in res.output and "\u2066" not in res.output


def test_status_lines_and_progress_bars_print_no_escape_sequence_or_markup(monkeypatch):
    """A file name reached the terminal through a status line or a progress bar's description
    as it was: 'classify evil[bold]<ESC>[2J.parquet' turned bold and cleared the screen."""
    import io

    from rich.console import Console

    from chatlens import _progress

    buffer = io.StringIO()
    monkeypatch.setattr(_progress, "console", Console(file=buffer, force_terminal=True, width=200, highlight=False))
    monkeypatch.setattr(_progress, "_state", {"quiet": False})
    monkeypatch.setenv("CHATLENS_PROGRESS", "1")
    _progress.status("Conversations in evil\x1b]8;;x:evil\x1b\\.csv are interleaved")
    with _progress.progress_bar(description="classify evil[bold]\x1b[2J.parquet", total=1) as advance:
        advance(1)
    out = buffer.getvalue()
    assert "evil\ufffd]8;;x:evil\ufffd\\.csv" in out and "\x1b]8" not in out
    assert "classify evil[bold]\ufffd[2J.parquet" in out and "\x1b[2J" not in out


def test_a_no_result_message_naming_a_hostile_file_prints_no_escape_sequence(tmp_path):
    """no_result and warn printed their message as it was: 'No row of ev<OSC 8 link>il.csv was
    scored' wrote a terminal hyperlink."""
    src = tmp_path / "ev\x1b]8;;x:evil\x1b\\il.csv"
    src.write_text('id,likert_evaluation\n1,"{""1"": ""x""}"\n')
    res = CliRunner().invoke(app, ["humanlike", "score", str(src), "--out", str(tmp_path / "o.csv")])
    assert res.exit_code == 3, res.output
    assert "No row of" in res.output and "\x1b" not in res.output


def test_a_library_warning_quoting_a_control_character_is_printable():
    """matplotlib's 'Glyph 27 (<ESC>) missing' warning (a model name drawn in a figure) reached
    stderr with the raw ESC through the CLI's warning format."""
    from chatlens.cli import _format_warning

    line = _format_warning(UserWarning("Glyph 27 (\x1b) missing from font(s) DejaVu Sans."),
                           UserWarning, "x.py", 1)
    assert line == "warning: UserWarning: Glyph 27 (\ufffd) missing from font(s) DejaVu Sans.\n"


def test_info_json_on_a_terminal_prints_no_c1_control_or_bidi_override(tmp_path, monkeypatch):
    """'info --json' printed json.dumps(ensure_ascii=False) with typer.echo: JSON escapes C0
    controls but not the 8-bit CSI U+009B or U+202E, which reached the terminal raw."""
    import io
    import sys

    from chatlens.cli.corpus import info_cmd

    row = {"conversation_id": "a", "model": "m\x9b2J\u202eodel",
           "conversation": [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "yo"}]}
    src = tmp_path / "log.jsonl"
    src.write_text(json.dumps(row) + "\n")

    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    screen = Terminal()
    monkeypatch.setattr(sys, "stdout", screen)
    info_cmd(str(src), format=None, column_map=None, layout=None, batch_size=50_000,
             max_message_chars=200_000, oasst_paths="all", as_json=True)
    out = screen.getvalue()
    assert json.loads(out)["models"] == {"m\ufffd2J\ufffdodel": 1}


def test_validate_data_file_error_naming_a_lexicon_prints_no_escape_sequence(tmp_path):
    """'chatlens validate --data-file' printed each file's error as it was: a shared lexicon
    named 'lex<ESC>[2J.yaml' cleared the terminal."""
    src = tmp_path / "lex\x1b[2J.yaml"
    src.write_text("name: x\nversion: 1\n")
    res = CliRunner().invoke(app, ["validate", "--data-file", str(src)])
    assert res.exit_code == 1
    assert "lex\ufffd[2J.yaml" in res.output and "\x1b" not in res.output
