"""The Python API's inputs and reprs: detect_* take a Series, a list or a DataFrame with
column=; a bare string or a DataFrame without column= is an error; chatlens.read takes a table;
results have short reprs."""

from __future__ import annotations

import pandas as pd
import polars as pl
import pyarrow as pa
import pytest

import chatlens
from chatlens.errors import InvalidParameterError, MissingColumnError
from chatlens.signals.jailbreak import detect_jailbreak
from chatlens.signals.learned import detect_refusal_learned
from chatlens.signals.refusal import detect_refusal

TEXTS = ["I'm sorry, but I can't help with that.", "Sure! Here is a poem."]


@pytest.mark.parametrize(
    "make",
    [
        lambda: pl.Series(TEXTS),
        lambda: TEXTS,
        lambda: tuple(TEXTS),
        lambda: pd.Series(TEXTS),
        lambda: pa.array(TEXTS),
        lambda: pa.chunked_array([TEXTS]),
    ],
)
def test_detect_refusal_accepts_columns_of_text(make):
    assert detect_refusal(make())["refusal"].to_list() == [True, False]


@pytest.mark.parametrize("make", [pl.DataFrame, pd.DataFrame, pa.table])
def test_a_table_needs_column_and_scores_that_column(make):
    table = make({"id": ["x", "y"], "reply": TEXTS})
    assert detect_refusal(table, column="reply")["refusal"].to_list() == [True, False]
    with pytest.raises(InvalidParameterError, match=r"columns \['id', 'reply'\].*column='id'"):
        detect_refusal(table)
    with pytest.raises(MissingColumnError, match="'text' is not in the table"):
        detect_refusal(table, column="text")


@pytest.mark.parametrize("detect", [detect_refusal, detect_jailbreak, detect_refusal_learned])
def test_a_bare_string_is_an_error_with_a_hint(detect):
    with pytest.raises(
        InvalidParameterError, match=r"got one string; wrap it in a list: detect_\w+\(\["
    ):
        detect("I can't help with that.")


def test_column_with_a_series_and_non_text_are_errors():
    with pytest.raises(InvalidParameterError, match="column= applies to a table"):
        detect_refusal(TEXTS, column="reply")
    with pytest.raises(InvalidParameterError, match="Got a int"):
        detect_refusal([1, 2])
    with pytest.raises(InvalidParameterError, match="dtype Int64"):
        detect_jailbreak(pl.Series([1, 2]))


def _log() -> pl.DataFrame:
    conv = [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "I cannot help."}]
    return pl.DataFrame(
        {"conversation_id": ["a", "b"], "model": ["m", "n"], "conversation": [conv, conv]}
    )


@pytest.mark.parametrize(
    "convert", [lambda f: f, lambda f: f.lazy(), lambda f: f.to_pandas(), lambda f: f.to_arrow()]
)
def test_read_accepts_an_in_memory_table(convert):
    corpus = chatlens.read(convert(_log()))
    assert corpus.summary.format == "lmsys" and corpus.conversations.height == 2
    assert corpus.messages["content"].to_list() == ["hi", "I cannot help."] * 2


def test_reprs_are_short(tmp_path):
    corpus = chatlens.read(_log())
    assert repr(corpus).startswith("Corpus(messages=<DataFrame 4×") and len(repr(corpus)) < 300
    result = chatlens.analyze(None, out=tmp_path / "run", demo_conversations=300)
    text = repr(result)
    assert text.startswith("RunResult(out=") and "rows_analysed=300" in text
    assert len(text) < 600 and "\n" not in text, text


@pytest.mark.parametrize("convert", [lambda f: f, lambda f: f.to_pandas(), lambda f: f.to_arrow()])
def test_analyze_of_an_in_memory_table_keeps_its_text_out_of_the_run(tmp_path, convert):
    # the manifest's source was str(table): a DataFrame's printed head, message text and all,
    # in manifest.json and report.html of a run without keep_text
    frame = pl.DataFrame({"conversation_id": ["c1", "c1"], "role": ["user", "assistant"],
                          "content": ["my number is 555-0199", "noted"]})
    result = chatlens.analyze(convert(frame), out=tmp_path / "run", detect=False, format="table",
                              layout="message")
    assert result.manifest["source"]["given"].startswith("<") and result.rows_analysed == 1
    for name in ("manifest.json", "report.html", "summary.json"):
        assert "555-0199" not in (tmp_path / "run" / name).read_text(encoding="utf-8"), name


def test_read_info_and_analyze_of_a_table_leave_no_temporary_copy(tmp_path, monkeypatch):
    # each call wrote the table to a temporary Parquet file kept until the process exited
    import tempfile

    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path / "tmp"))
    (tmp_path / "tmp").mkdir()
    frame = pl.DataFrame({"conversation_id": ["c1", "c1"], "role": ["user", "assistant"], "content": ["hi", "yo"]})
    options = {"format": "table", "layout": "message"}
    assert chatlens.read(frame, **options).summary.conversations == 1
    assert chatlens.info(frame, **options).conversations == 1
    assert chatlens.analyze(frame, out=tmp_path / "run", detect=False, **options).rows_analysed == 1
    assert list((tmp_path / "tmp").glob("chatlens-table-*")) == []
