from __future__ import annotations

import polars as pl
from typer.testing import CliRunner

from chatlens.cli import app

runner = CliRunner()


def test_ratings_command_writes_outputs_and_prints_table(tmp_path, small_battles):
    src = tmp_path / "battles.csv"
    bad = pl.DataFrame({"model_a": ["m1", None], "model_b": ["m1", "m2"], "winner": ["tie", "tie"]})
    pl.concat([small_battles, bad]).write_csv(src)
    out = tmp_path / "r.csv"
    result = runner.invoke(
        app,
        ["ratings", str(src), "--model-a-column", "model_a", "--model-b-column", "model_b",
         "--winner-column", "winner", "--method", "all", "--bootstrap", "20", "--orders", "10",
         "--seed", "1", "--pair-bootstrap", "50", "--out", str(out)],
    )
    assert result.exit_code == 0, result.output
    assert "rows in 2,002" in result.output and "quarantined 2" in result.output
    assert "ratings" in result.output and "m0" in result.output
    table = pl.read_csv(out)
    assert table.height == 15 and set(table["method"]) == {"winrate", "elo", "bt"}
    assert (tmp_path / "r.winrate.csv").is_file()
    assert (tmp_path / "r.png").is_file() and (tmp_path / "r.winrate.png").is_file()
    assert pl.read_csv(tmp_path / "r.quarantine.csv")["row"].to_list() == [2001, 2002]


def test_ratings_command_score_column_style_and_no_figures(tmp_path):
    src = tmp_path / "s.jsonl"
    pl.DataFrame(
        {"a": ["x", "y", "x", "y"] * 5, "b": ["y", "x", "y", "x"] * 5,
         "s": [1.0, 0.25, 0.5, 0.75] * 5, "ta": ["aaa", "a", "aa", "aaaa"] * 5,
         "tb": ["a", "aa", "aa", "a"] * 5}
    ).write_ndjson(src)
    out = tmp_path / "o.csv"
    result = runner.invoke(
        app,
        ["ratings", str(src), "--model-a-column", "a", "--model-b-column", "b",
         "--score-column", "s", "--method", "bt", "--style", "ta:tb", "--bootstrap", "10",
         "--no-figures", "--out", str(out)],
    )
    assert result.exit_code == 0, result.output
    assert "covariates" in result.output
    assert not (tmp_path / "o.png").exists()
    assert (tmp_path / "o.coefficients.csv").is_file()


def test_ratings_command_errors_are_one_line(tmp_path, small_battles):
    src = tmp_path / "b.csv"
    small_battles.write_csv(src)
    cases = [
        ["--winner-column", "nope"],
        ["--winner-column", "winner", "--score-column", "winner"],
        ["--method", "glicko"],
        ["--style", "oops"],
        ["--cluster", "team"],
    ]
    for extra in cases:
        result = runner.invoke(app, ["ratings", str(src), *extra, "--out", str(tmp_path / "o.csv")])
        assert result.exit_code == 1, (extra, result.output)
        assert "error:" in result.output and "Traceback" not in result.output
    missing = runner.invoke(app, ["ratings", str(tmp_path / "x.csv"), "--out", str(src)])
    assert missing.exit_code == 1 and "does not exist" in missing.output
