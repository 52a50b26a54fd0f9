"""``score``: ratings as JSON lists or objects, list positions declared, problems recorded."""

from __future__ import annotations

import json

import numpy as np
import polars as pl
import pytest

from chatlens.corpus.tablefile import read_table, write_table
from chatlens.errors import InvalidParameterError, MissingColumnError
from chatlens.humanlike.instruments import load_instrument
from chatlens.humanlike.scoring import ratings_from_column, score


def test_score_lists_and_objects_agree():
    inst = load_instrument("hal16q-published")
    vals = [3, 1, 2, 5, 4, 1, 2, 3, 4, 5, 1, 2, 3, 4, 5, 1]
    obj = {"likert_evaluation": {k: v for k, v in reversed(list(zip(inst.keys, vals, strict=True)))}}
    df = pl.DataFrame({"r": [json.dumps(vals)]})
    dfo = pl.DataFrame({"r": [json.dumps(obj)]})
    a = score(df, instrument=inst, ratings_column="r")["hl_logit"][0]
    b = score(dfo, instrument=inst, ratings_column="r")["hl_logit"][0]
    assert a == pytest.approx(b) == pytest.approx(float(np.dot(inst.weights, vals) + inst.bias))


def test_bad_rows_are_kept_with_a_reason():
    df = pl.DataFrame({"r": ["[1, 2, 3]", None, json.dumps([9] * 16), json.dumps([1] * 16)]})
    out = score(df, instrument="hal16q-published", ratings_column="r")
    assert out.height == 4
    assert out["hl_logit"].null_count() == 3 and out["hl_logit"][3] is not None
    assert "expected a list of 16" in out["hl_problem"][0]
    assert "outside the integer scale" in out["hl_problem"][2]
    assert out["hl_problem"][3] is None


def test_list_keys_lets_hal16q_read_hal32q_lists():
    h16, h32 = load_instrument("hal16q"), load_instrument("hal32q")
    row = list(range(1, 33))
    row = [(v % 5) + 1 for v in row]
    df = pl.DataFrame({"r": [json.dumps(row)]})
    x, problems = ratings_from_column(df, "r", h16, list_keys="hal32q")
    assert problems == [None]
    expected = [row[int(k) - 1] for k in h16.keys]
    assert x[0].tolist() == expected
    with pytest.raises(InvalidParameterError, match="do not cover items"):
        ratings_from_column(df, "r", h32, list_keys="hal16q")
    x2, _ = ratings_from_column(df, "r", h16, list_keys=",".join(h32.keys))
    assert x2[0].tolist() == expected


def test_list_column_dtype_and_missing_column():
    df = pl.DataFrame({"r": [[1.0] * 16, [5.0] * 16]})
    out = score(df, instrument="hal16q-published", ratings_column="r")
    assert out["hl_logit"].null_count() == 0
    with pytest.raises(MissingColumnError):
        score(df, ratings_column="nope")


def test_read_write_roundtrip(tmp_path):
    df = pl.DataFrame({"a": [1, 2], "l": [[1, 2], [3, 4]]})
    for suffix in ("csv", "parquet", "jsonl"):
        p = write_table(df, tmp_path / f"x.{suffix}")
        back = read_table(p)
        assert back.height == 2
    with pytest.raises(FileNotFoundError):
        read_table(tmp_path / "missing.csv")


@pytest.mark.realdata
def test_hal16q_published_reproduces_every_published_hl_score(shared_data):
    files = sorted((shared_data / "hal" / "HAL16_output").rglob("samples_epoch_*_scored_gpt-5.csv"))
    assert len(files) >= 12
    for f in files:
        df = read_table(f)
        out = score(df, instrument="hal16q-published", ratings_column="likert_evaluation")
        assert out["hl_problem"].null_count() == df.height, f
        diff = (out["hl_logit"] - out["hal16_score"]).abs().max()
        assert diff < 1e-6, (f, diff)


def test_lists_from_another_key_space_are_refused():
    df = pl.DataFrame({"r": [json.dumps([3] * 32)]})
    with pytest.raises(InvalidParameterError, match="would not mean the same statements"):
        score(df, instrument="hal16q-published", ratings_column="r", list_keys="hal32q")


def test_fitted_file_inherits_key_space(tmp_path):
    p = tmp_path / "w.yaml"
    p.write_text("extends: hal32q\nname: mine\nscoring: {bias: 0.0}\nweights: {'1': 1.0}\n")
    df = pl.DataFrame({"r": [json.dumps([5] * 32)]})
    out = score(df, instrument=str(p), ratings_column="r", list_keys="hal32q")
    assert out["hl_logit"][0] == pytest.approx(5.0)


def test_one_unreadable_list_cell_costs_only_its_row():
    """One cell that is not JSON (``error``) made polars fail the whole column: the whole file
    was unscorable. Bad cells now get a null score and a reason, the others are scored."""
    from chatlens.humanlike.scoring import score

    ones = json.dumps([1] * 16)
    df = pl.DataFrame({"likert_evaluation": [ones, "error", ones, '{"a": 1}', '["x"]', None]})
    out = score(df, instrument="hal16q-published")
    assert out["hl_logit"].is_not_null().to_list() == [True, False, True, False, False, False]
    assert out["hl_problem"].to_list()[1:] == [
        "not a JSON list of numeric ratings: 'error'", None,
        # an object cell is read by key (it used to be refused as 'not a JSON list')
        "unexpected key 'a'; missing items " + ", ".join(str(i) for i in range(1, 17)),
        "not a JSON list of numeric ratings: '[\"x\"]'", "expected a list of 16 ratings, got nothing"]


def test_fit_and_turing_eval_keep_going_past_an_unreadable_cell(make_games):
    from chatlens.humanlike.fit import fit
    from chatlens.humanlike.turing import turing_eval

    games = make_games(60).with_columns(
        pl.when(pl.col("game_id") == 7).then(pl.lit("error"))
        .otherwise(pl.col("likert_evaluation_A")).alias("likert_evaluation_A"))
    res = fit(games, n_splits=5)
    assert res.settings["dropped_rows"] == 1 and res.n_rows == 119
    assert res.settings["first_dropped_reason"] == "not a JSON list of numeric ratings: 'error'"
    ev = turing_eval(games, scorers=["hal16q"], n_boot=20)
    r = ev.results.row(0, named=True)
    assert r["n_unscored"] == 1 and r["n_games"] == 59
    assert r["first_unscored"] == "game_id '7' slot 'A': not a JSON list of numeric ratings: 'error'"


def test_an_unreadable_first_answer_does_not_make_the_other_answers_unreadable():
    """The first non-empty cell decided the layout of the whole column: judge answers whose
    first one was 'error' (or 'Sure! {...}') were all read as lists, so every valid answer got
    'not a JSON list of numeric ratings' and no score. Each cell is read by its own form now."""
    from chatlens.humanlike.instruments import load_instrument
    from chatlens.humanlike.scoring import score

    inst = load_instrument("hal16q-published")

    def answer(v: int) -> str:
        return json.dumps({"likert_evaluation": {k: v for k in inst.keys}})

    for first in ("error", "Sure! " + answer(2), "```json\n" + answer(2) + "\n```"):
        df = pl.DataFrame({"likert_evaluation": [first, answer(3), None, answer(4)]})
        out = score(df, instrument=inst)
        assert out["hl_logit"].is_not_null().to_list() == [first != "error", True, False, True]
        assert out["hl_problem"][2] == "empty answer"
