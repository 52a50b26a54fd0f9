"""CSV written for people neutralises spreadsheet formulas; Parquet stays exact (issue 11, item 10)."""

from __future__ import annotations

import polars as pl

from chatlens.corpus.tablefile import neutralise_formulas, restore_formulas, write_table
from chatlens.signals.classify import classify_refusal

PAYLOADS = ["=1+1", "+cmd|' /C calc'!A0", "-2+3+cmd|' /C calc'!A0", "@SUM(A1)", "\t=1", "\r=1"]


def test_text_cells_that_start_a_formula_get_an_apostrophe():
    frame = pl.DataFrame({"t": [*PAYLOADS, "ok", "-0.12 (small)", "-3", "12.5%"], "n": [-1] * 10})
    out = neutralise_formulas(frame)
    assert all(v.startswith("'") for v in out["t"].to_list()[:6])
    assert out["t"].to_list()[6:] == ["ok", "-0.12 (small)", "-3", "12.5%"]
    assert out["n"].to_list() == [-1] * 10  # numbers are never touched


def test_csv_outputs_are_neutralised_and_parquet_is_exact(tmp_path):
    src = tmp_path / "in.csv"
    pl.DataFrame({"content": PAYLOADS}).write_csv(src)
    classify_refusal(src, text_column="content", out=tmp_path / "o.csv")
    written = pl.read_csv(tmp_path / "o.csv", infer_schema_length=0)["content"].to_list()
    assert all(v.startswith("'") for v in written)
    classify_refusal(src, text_column="content", out=tmp_path / "o.parquet")
    assert pl.read_parquet(tmp_path / "o.parquet")["content"].to_list() == PAYLOADS
    write_table(pl.DataFrame({"model": ["=HYPERLINK(\"x\")"]}), tmp_path / "w.csv")
    assert pl.read_csv(tmp_path / "w.csv")["model"][0].startswith("'")


def test_run_tables_neutralise_model_names(tmp_path):
    import json

    import chatlens

    rows = [{"conversation_id": str(i), "model": "=cmd|' /C calc'!A0",
             "conversation": [{"role": "user", "content": "hi"},
                              {"role": "assistant", "content": "I'm sorry, I can't help with that."}]}
            for i in range(3)]
    src = tmp_path / "log.jsonl"
    src.write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    chatlens.analyze(src, out=tmp_path / "run")
    models = (tmp_path / "run" / "tables" / "models.csv").read_text()
    assert "'=cmd" in models
    assert pl.read_parquet(tmp_path / "run" / "conversations.parquet")["model"][0] == "=cmd|' /C calc'!A0"


def test_restore_undoes_the_guard_on_text() -> None:
    cells = ["=SUM(A1)", "+1", "-abc", "@x", "\tt", "plain", "'already quoted", "-0.12 (small)"]
    frame = pl.DataFrame({"c": cells})
    assert restore_formulas(neutralise_formulas(frame)["c"]).to_list() == cells


def test_categorical_text_columns_are_neutralised_too(tmp_path):
    """A Parquet input with pandas "category" text (polars Categorical) was written to classify's
    CSV as it was: '=HYPERLINK(...)' in a model column and '=1+1 sure' in the text column."""
    src = tmp_path / "in.parquet"
    pl.DataFrame({
        "model": pl.Series(['=HYPERLINK("http://evil","x")', "ok"], dtype=pl.Categorical),
        "content": pl.Series(["I cannot help with that.", "=1+1 sure"], dtype=pl.Categorical),
        "kind": pl.Series(["@a", "b"], dtype=pl.Enum(["@a", "b"])),
    }).write_parquet(src)
    classify_refusal(src, text_column="content", out=tmp_path / "o.csv")
    written = pl.read_csv(tmp_path / "o.csv", infer_schema_length=0)
    assert written["model"].to_list() == ['\'=HYPERLINK("http://evil","x")', "ok"]
    assert written["content"].to_list() == ["I cannot help with that.", "'=1+1 sure"]
    assert written["kind"].to_list() == ["'@a", "b"]
