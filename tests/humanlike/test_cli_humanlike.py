"""CLI: ``chatlens humanlike score|fit|lite|instruments|validate`` and ``chatlens turing eval``."""

from __future__ import annotations

import json

import polars as pl
from typer.testing import CliRunner

from chatlens.cli import app
from chatlens.humanlike.instruments import load_instrument

runner = CliRunner()


def test_score_cli(tmp_path):
    src = tmp_path / "in.csv"
    pl.DataFrame({"likert_evaluation": [json.dumps([1] * 16), "[1, 2]"]}).write_csv(src)
    out = tmp_path / "out.csv"
    res = runner.invoke(app, ["humanlike", "score", str(src), "--instrument", "hal16q-published",
                              "--out", str(out)])
    assert res.exit_code == 0, res.output
    assert "scored 1/2 rows" in res.output
    df = pl.read_csv(out)
    assert df["hl_logit"][0] is not None and "expected a list of 16" in df["hl_problem"][1]


def test_score_cli_bad_instrument_is_one_line_error(tmp_path):
    src = tmp_path / "in.csv"
    pl.DataFrame({"likert_evaluation": ["[1]"]}).write_csv(src)
    res = runner.invoke(app, ["humanlike", "score", str(src), "--instrument", "hal16z",
                              "--out", str(tmp_path / "o.csv")])
    assert res.exit_code == 1
    assert "InstrumentError" in res.output and "Traceback" not in res.output


def test_fit_and_turing_eval_cli(tmp_path, make_games):
    src = tmp_path / "games.csv"
    make_games().write_csv(src)
    w = tmp_path / "w.yaml"
    res = runner.invoke(app, ["humanlike", "fit", str(src), "--ratings-column", "likert_evaluation",
                              "--group-column", "game_id", "--folds", "5", "--out", str(w)])
    assert res.exit_code == 0, res.output
    assert "paired accuracy" in res.output and load_instrument(w).bias is not None
    j = tmp_path / "t.json"
    res = runner.invoke(app, ["turing", "eval", str(src), "-s", "hal16q", "-s", "fit:hal32q",
                              "-s", "lite", "--folds", "5", "--out", str(j),
                              "--scores-out", str(tmp_path / "s.parquet")])
    assert res.exit_code == 0, res.output
    data = json.loads(j.read_text())
    assert [r["scorer"] for r in data["results"]] == ["hal16q", "fit:hal32q", "lite"]
    assert data["interrogators"]["n"] == 120
    # said in both outputs: no interrogator ids, so games were treated as independent
    assert "no 'interrogator_id' column" in data["interrogators"]["note"]
    assert "interrogator_id" in res.output
    assert pl.read_parquet(tmp_path / "s.parquet").height == 240


def test_lite_cli(tmp_path):
    src = tmp_path / "c.jsonl"
    pl.DataFrame({"conv": ["I: hi\nW: hey lol", "I: hi\nW: Hello! How can I help you today?",
                           "I: hi"]}).write_ndjson(src)
    out = tmp_path / "o.parquet"
    res = runner.invoke(app, ["humanlike", "lite", str(src), "--text-column", "conv",
                              "--speaker", "W", "--out", str(out), "--keep-features"])
    assert res.exit_code == 0, res.output
    assert "scored 2/3 rows (1 without a 'W' turn)" in res.output
    df = pl.read_parquet(out)
    assert df["hl_lite_prob"][0] > df["hl_lite_prob"][1] and "slang_rate" in df.columns


def test_instruments_and_validate_cli(tmp_path):
    res = runner.invoke(app, ["humanlike", "instruments"])
    assert res.exit_code == 0 and "hal16q-published" in res.output
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: x\n")
    res = runner.invoke(app, ["humanlike", "validate", str(bad)])
    assert res.exit_code == 1 and "key 'version': expected a non-empty version (a required key)" in res.output
    res = runner.invoke(app, ["humanlike", "validate", "hal32q"])
    assert res.exit_code == 0 and "ok: hal32q" in res.output


def test_turing_eval_without_a_human_witness_exits_3(tmp_path):
    """A file whose labels name no human used to print accuracies and exit 0."""
    src = tmp_path / "w.csv"
    pl.DataFrame({"game_id": [1, 1, 2, 2], "label": ["A", "B", "A", "B"],
                  "witness": ["x", "y", "x", "y"], "is_human": ["false"] * 4,
                  "verdict": ["A"] * 4, "s_col": [0.1, 0.2, 0.3, 0.4]}).write_csv(src)
    res = runner.invoke(app, ["turing", "eval", str(src), "-s", "column:s_col@0.5"])
    assert res.exit_code == 3, res.output
    assert "none of its 4 witnesses is human" in res.output


def test_turing_eval_bad_who_is_human_is_one_line_error(tmp_path, make_games):
    src = tmp_path / "g.csv"
    make_games(4).with_columns(pl.lit("C").alias("who_is_human")).write_csv(src)
    res = runner.invoke(app, ["turing", "eval", str(src), "-s", "hal16q"])
    assert res.exit_code == 1, res.output
    assert "who_is_human" in res.output and "'C'" in res.output and "Traceback" not in res.output


def test_turing_eval_cli_warns_about_unscored_witnesses(tmp_path, make_games):
    src = tmp_path / "g.csv"
    make_games(30).with_columns(
        pl.when(pl.col("game_id") == 2).then(pl.lit("[9]"))
        .otherwise(pl.col("likert_evaluation_B")).alias("likert_evaluation_B")).write_csv(src)
    res = runner.invoke(app, ["turing", "eval", str(src), "-s", "hal16q"])
    assert res.exit_code == 0, res.output
    assert "hal16q: 1 of 60 witnesses unscored" in res.output
    assert "game_id '2' slot 'B'" in res.output and "witnesses" in res.output


def test_score_cli_one_bad_cell_scores_the_rest(tmp_path):
    src = tmp_path / "in.csv"
    ones = json.dumps([1] * 16)
    pl.DataFrame({"id": [1, 2, 3], "likert_evaluation": [ones, "error", ones]}).write_csv(src)
    out = tmp_path / "out.csv"
    res = runner.invoke(app, ["humanlike", "score", str(src), "--instrument", "hal16q-published",
                              "--out", str(out)])
    assert res.exit_code == 0, res.output
    assert "scored 2/3 rows" in res.output and "not a JSON list of numeric ratings" in res.output


def test_fit_cli_warns_about_rows_left_out(tmp_path, make_games):
    src = tmp_path / "g.csv"
    make_games(60).with_columns(pl.when(pl.col("game_id") == 3).then(pl.lit("error"))
                                .otherwise(pl.col("likert_evaluation_B"))
                                .alias("likert_evaluation_B")).write_csv(src)
    res = runner.invoke(app, ["humanlike", "fit", str(src), "--folds", "5",
                              "--out", str(tmp_path / "w.yaml")])
    assert res.exit_code == 0, res.output
    assert "1 rows left out (ratings not readable), first reason: not a JSON list" in res.output


def test_turing_eval_text_column_scorer_is_one_line_error(tmp_path, make_games):
    src = tmp_path / "g.csv"
    make_games(4).write_csv(src)
    res = runner.invoke(app, ["turing", "eval", str(src), "-s", "column:witness"])
    assert res.exit_code == 1, res.output
    assert "must hold numeric scores; 8 of 8 values are not numbers" in res.output
    assert "Traceback" not in res.output


def test_turing_eval_out_is_strict_json_when_a_figure_is_undefined(tmp_path):
    """A scorer that scored no witness has NaN accuracy and AUC; turing eval --out wrote them
    as the bare token NaN, which JSON.parse and jq refuse. They are null now."""
    import json

    import pytest

    src = tmp_path / "w.csv"
    pl.DataFrame({"game_id": [1, 1, 2, 2, 3, 3], "label": ["A", "B"] * 3,
                  "witness": ["Human", "gpt"] * 3, "is_human": ["true", "false"] * 3,
                  "verdict": ["A", "A", "B", "B", "A", "A"], "s": [1.0, -1.0, 2.0, -2.0, 0.5, 1.5],
                  "empty": [None] * 6}).write_csv(src)
    out = tmp_path / "r.json"
    res = runner.invoke(app, ["turing", "eval", str(src), "-s", "column:s", "-s", "column:empty",
                              "--out", str(out)])
    assert res.exit_code == 0, res.output
    text = out.read_text(encoding="utf-8")
    doc = json.loads(text, parse_constant=lambda c: pytest.fail(f"non-JSON token {c}"))
    row = next(r for r in doc["results"] if r["scorer"] == "column:empty")
    assert row["accuracy"] is None and row["n_witnesses"] == 0
