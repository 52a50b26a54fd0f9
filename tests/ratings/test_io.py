from __future__ import annotations

import json

import polars as pl
import pytest

from chatlens.errors import InvalidParameterError, SourceError
from chatlens.ratings.api import rate
from chatlens.ratings.io import output_paths, read_table

ROWS = [
    {"model_a": "x", "model_b": "y", "winner": "model_a", "question_id": "q1", "judge": "u1",
     "conversation_a": [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "a"}],
     "conversation_b": [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "b"}]},
    {"model_a": "y", "model_b": "z", "winner": "tie (bothbad)", "question_id": "q2", "judge": "u2",
     "conversation_a": [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "c"}],
     "conversation_b": [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "d"}]},
]


def test_reads_every_supported_format(tmp_path):
    flat = pl.DataFrame([{k: v for k, v in r.items() if not k.startswith("conv")} for r in ROWS])
    flat.write_csv(tmp_path / "b.csv")
    flat.write_parquet(tmp_path / "b.parquet")
    (tmp_path / "b.jsonl").write_text("\n".join(json.dumps(r) for r in ROWS))
    (tmp_path / "b.json").write_text(json.dumps(ROWS))  # Chatbot Arena battle dump shape
    (tmp_path / "b.tsv").write_text("model_a\tmodel_b\twinner\nx\ty\tmodel_a\ny\tz\ttie\n")
    for name in ("b.csv", "b.parquet", "b.jsonl", "b.json", "b.tsv"):
        df = read_table(tmp_path / name)
        assert df["model_a"].to_list() == ["x", "y"], name
    arena = read_table(tmp_path / "b.json")
    assert isinstance(arena.schema["conversation_a"], pl.List)


def test_csv_is_read_as_text_so_bad_numbers_are_quarantined(tmp_path):
    path = tmp_path / "s.csv"
    path.write_text("model_a,model_b,s\nx,y,1\nx,y,0.5\ny,x,n/a\n")
    res = rate(path, score="s", method="winrate", bootstrap=0, pair_bootstrap=0)
    assert (res.rows_in, res.rows_used, res.rows_quarantined) == (3, 2, 1)
    assert res.quarantine.row(0) == (3, "score is not a number: n/a", "y", "x", "n/a")


def test_read_errors(tmp_path):
    with pytest.raises(SourceError, match="unknown extension"):
        read_table(tmp_path / "b.xlsx")
    with pytest.raises(SourceError, match="does not exist"):
        read_table(tmp_path / "missing.csv")
    bad = tmp_path / "bad.parquet"
    bad.write_text("not parquet")
    with pytest.raises(SourceError, match="Cannot read"):
        read_table(bad)


def test_output_paths_require_csv(tmp_path):
    paths = output_paths(tmp_path / "r.csv")
    assert paths["winrate"].name == "r.winrate.csv"
    assert paths["quarantine"].name == "r.quarantine.csv"
    assert paths["figure"].name == "r.png"
    with pytest.raises(InvalidParameterError):
        output_paths(tmp_path / "r.parquet")


def test_model_names_heading_matrix_columns_are_formula_neutralised(tmp_path) -> None:
    """A model's name heads a column of the win-rate and count matrices: the header cell gets
    the same apostrophe as the data cells, or a spreadsheet runs it."""
    import warnings

    import polars as pl

    from chatlens.ratings import rate

    evil = '=HYPERLINK("http://evil.example","click")'
    rows = [(evil, "b", "model_a"), ("b", evil, "tie"), ("b", "c", "model_b"), (evil, "c", "model_a")]
    df = pl.DataFrame(rows * 3, schema=["model_a", "model_b", "winner"], orient="row")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        paths = rate(df, method="winrate", bootstrap=0, pair_bootstrap=0).write(
            tmp_path / "r.csv", figures=False)
    for key in ("ratings", "winrate", "counts"):
        lines = paths[key].read_text(encoding="utf-8").splitlines()
        cells = [c for line in lines for c in line.split(",")]
        assert not any(c.lstrip('"').startswith("=") for c in cells), (key, lines[:2])
    assert "'=HYPERLINK" in paths["winrate"].read_text(encoding="utf-8").splitlines()[0]
