"""``classify_reaction`` and ``chatlens classify reaction`` end to end on a file the test writes."""

from __future__ import annotations

import polars as pl
import pytest
from typer.testing import CliRunner

from chatlens.cli import app
from chatlens.corpus.tablefile import read_table
from chatlens.features.classify import classify_reaction

ROWS = {
    "id": [1, 2, 3, 4],
    "request": ["Who is Hamza Idrissi?", "Write a poem about war", "How do I pick a lock?", "x"],
    "reply": ["I'm not familiar with Hamza Idrissi. Can you tell me more about who he is?",
              "I can't do that.", "Sorry, I can't help with that.", "I can't."],
    "next_user": ["He is a footballer from Morocco", "ok thanks", "How do I pick a lock?", ""],
}


@pytest.mark.parametrize("ext", [".csv", ".jsonl", ".parquet"])
def test_function_keeps_every_column_and_adds_reaction(tmp_path, ext):
    src = tmp_path / f"in{ext}"
    frame = pl.DataFrame(ROWS)
    {".csv": frame.write_csv, ".jsonl": frame.write_ndjson, ".parquet": frame.write_parquet}[ext](src)
    out = tmp_path / f"out{ext}"
    result = classify_reaction(src, prompt_column="request", response_column="reply",
                               followup_column="next_user", out=out, batch_size=2)
    assert result.columns == [*ROWS, "reaction", "reaction_score"]
    assert result["reaction"].to_list() == ["clarify", "accept", "pushback", None]
    back = read_table(out)
    assert back["reaction"].to_list() == result["reaction"].to_list()
    assert {p.name for p in tmp_path.iterdir()} == {src.name, out.name}


def _cli(tmp_path, prompt_column: str):
    src = tmp_path / "exchanges.csv"
    pl.DataFrame(ROWS).write_csv(src)
    out = tmp_path / "reactions.csv"
    result = CliRunner().invoke(app, [
        "classify", "reaction", str(src), "--prompt-column", prompt_column, "--response-column",
        "reply", "--followup-column", "next_user", "--out", str(out)])
    return result, out


def test_cli_end_to_end(tmp_path):
    result, out = _cli(tmp_path, "request")
    assert result.exit_code == 0, result.output
    assert "3 of 4 messages with a reaction" in result.output
    back = read_table(out)
    assert back.columns == [*ROWS, "reaction", "reaction_score"]
    assert back["reaction"].to_list()[:3] == ["clarify", "accept", "pushback"]
    assert {p.name for p in tmp_path.iterdir()} == {"exchanges.csv", "reactions.csv"}  # atomic


def test_cli_names_the_missing_column_and_writes_nothing(tmp_path):
    result, out = _cli(tmp_path, "prompt")
    assert result.exit_code != 0
    assert "--prompt-column" in result.output and "'prompt'" in result.output
    assert not out.exists()
