"""Progress bars show a total wherever it is knowable (never "77/?"), and ``-q`` after any
subcommand silences them."""

from __future__ import annotations

import json

import polars as pl
import pytest
from typer.testing import CliRunner

from chatlens.cli import app
from chatlens.corpus.progress import reading_total
from chatlens.corpus.sources import resolve
from chatlens.corpus.tablefile import table_rows

CONV = [
    {"role": "user", "content": "hi"},
    {"role": "assistant", "content": "I can't help with that."},
]


@pytest.fixture
def logs(tmp_path):
    rows = [{"conversation_id": f"c{i}", "model": "m", "conversation": CONV} for i in range(40)]
    jsonl = tmp_path / "log.jsonl"
    jsonl.write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    parquet = tmp_path / "log.parquet"
    pl.DataFrame(rows).write_parquet(parquet)
    return jsonl, parquet


def test_reading_total_is_parquet_rows_or_input_bytes(logs):
    jsonl, parquet = logs
    assert reading_total("lmsys", resolve(parquet)) == ("rows", 40)
    assert reading_total("lmsys", resolve(jsonl)) == ("bytes", jsonl.stat().st_size)


def test_table_rows_counts_jsonl_and_csv(tmp_path):
    j = tmp_path / "t.jsonl"
    j.write_text('{"a": 1}\n\n  \n{"a": 2}\n{"a": 3}')
    c = tmp_path / "t.csv"
    pl.DataFrame({"a": ["x\ny", "z"], "b": [1, 2]}).write_csv(c)  # a quoted line break
    assert table_rows(j) == 3 and table_rows(c) == 2


def test_table_rows_reads_a_name_with_brackets_as_a_name(tmp_path):
    """polars' scan_csv read 'in[1].csv' as a pattern: classify's bar counted in1.csv's rows."""
    (tmp_path / "in1.csv").write_text("text\na\nb\nc\n")
    named = tmp_path / "in[1].csv"
    named.write_text("text\na\n")
    assert table_rows(named) == 1


def _bar_lines(output: str) -> list[str]:
    """The progress-bar lines (a bar and a description), not the tables' rules."""
    return [ln for ln in output.splitlines() if "━" in ln and ("reading" in ln or "classify" in ln)]


@pytest.mark.parametrize(("which", "expect"), [(0, "kB"), (1, "40/40")])
def test_info_and_analyze_bars_have_totals(logs, tmp_path, monkeypatch, which, expect):
    monkeypatch.setenv("CHATLENS_PROGRESS", "1")
    src = logs[which]
    for args in (["info", str(src)], ["analyze", str(src), "--out", str(tmp_path / f"run{which}")]):
        res = CliRunner().invoke(app, args)
        assert res.exit_code == 0, res.output
        bars = _bar_lines(res.output)
        assert bars and all("?" not in b for b in bars), res.output
        assert any(expect in b for b in bars), bars


def test_classify_bar_has_a_total_for_csv(tmp_path, monkeypatch):
    monkeypatch.setenv("CHATLENS_PROGRESS", "1")
    src = tmp_path / "r.csv"
    pl.DataFrame({"content": ["I can't help with that.", "Sure."] * 5}).write_csv(src)
    res = CliRunner().invoke(
        app,
        [
            "classify",
            "refusal",
            str(src),
            "--text-column",
            "content",
            "--out",
            str(tmp_path / "o.csv"),
        ],
    )
    assert res.exit_code == 0, res.output
    assert any("10/10" in b for b in _bar_lines(res.output)), res.output


def test_quiet_after_the_subcommand_silences_every_bar(logs, tmp_path, monkeypatch):
    monkeypatch.setenv("CHATLENS_PROGRESS", "1")
    jsonl, _ = logs
    csv = tmp_path / "r.csv"
    pl.DataFrame({"content": ["no", "yes"]}).write_csv(csv)
    commands = [
        ["info", str(jsonl)],
        ["analyze", str(jsonl), "--out", str(tmp_path / "run")],
        [
            "analyze",
            str(jsonl),
            "--out",
            str(tmp_path / "run2"),
            "--engine",
            "process",
            "--workers",
            "1",
        ],
        [
            "classify",
            "refusal",
            str(csv),
            "--text-column",
            "content",
            "--out",
            str(tmp_path / "o.csv"),
        ],
        ["synth", "--conversations", "50", "--out", str(tmp_path / "s.parquet")],
    ]
    for args in commands:
        res = CliRunner().invoke(app, [*args, "-q"])
        assert res.exit_code == 0, res.output
        assert res.output.strip() == "", (args, res.output)
