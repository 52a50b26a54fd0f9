from __future__ import annotations

import polars as pl
import pytest

from chatlens.errors import InvalidParameterError, MissingColumnError
from chatlens.ratings.battles import prepare_battles


def test_winner_labels_and_quarantine_reasons():
    df = pl.DataFrame(
        {
            "model_a": ["x", "x", "y", "y", None, "x", "x", " "],
            "model_b": ["y", "x", "x", "z", "z", None, "z", "y"],
            "winner": ["model_a", "tie", "Likely B", "maybe", "model_b", "tie", None, "tie"],
        }
    )
    b = prepare_battles(df)
    assert b.frame.select("row", "model_a", "model_b", "score").rows() == [
        (1, "x", "y", 1.0),
        (3, "y", "x", 0.25),
    ]
    reasons = dict(b.quarantine.select("row", "reason").rows())
    assert reasons == {
        2: "model_a equals model_b",
        4: "unknown outcome label: maybe",
        5: "missing model_a",
        6: "missing model_b",
        7: "missing outcome",
        8: "missing model_a",
    }
    assert b.rows_in == 8 and b.rows_used == 2 and b.rows_quarantined == 6
    assert b.rows_in == b.rows_used + b.rows_quarantined + b.rows_filtered
    assert b.models == ("x", "y")


def test_none_text_is_missing_outcome():
    df = pl.DataFrame({"model_a": ["x"], "model_b": ["y"], "winner": ["None"]})
    assert prepare_battles(df).quarantine["reason"].to_list() == ["missing outcome"]


def test_score_column_numeric_and_text():
    df = pl.DataFrame(
        {"a": ["x", "x", "x", "x"], "b": ["y", "y", "y", "y"], "s": ["0.75", "1.2", "abc", ""]}
    )
    b = prepare_battles(df, model_a="a", model_b="b", score="s")
    assert b.frame["score"].to_list() == [0.75]
    assert b.quarantine["reason"].to_list() == [
        "score outside [0, 1]: 1.2",
        "score is not a number: abc",
        "missing outcome",
    ]
    num = pl.DataFrame({"a": ["x", "y"], "b": ["y", "x"], "s": [0.0, 1.0]})
    assert prepare_battles(num, model_a="a", model_b="b", score="s").frame["score"].to_list() == [
        0.0,
        1.0,
    ]


def test_keep_if_counts_filtered_rows_separately():
    df = pl.DataFrame(
        {
            "model_a": ["x", "x", "y"],
            "model_b": ["y", "y", "x"],
            "winner": ["model_a", None, "tie"],
            "done": [True, False, True],
        }
    )
    b = prepare_battles(df, keep_if="done")
    assert (b.rows_in, b.rows_filtered, b.rows_used, b.rows_quarantined) == (3, 1, 2, 0)
    text = df.with_columns(pl.col("done").cast(pl.String).str.to_titlecase())
    assert prepare_battles(text, keep_if="done").rows_used == 2


def test_a_keep_if_value_that_is_not_a_boolean_is_quarantined_not_filtered():
    # "maybe" (or a typo such as "ture") used to count as filtered, as if excluded on purpose
    df = pl.DataFrame(
        {
            "model_a": ["x", "x", "y", "y", "x"],
            "model_b": ["y", "y", "x", "x", "y"],
            "winner": ["model_a", "model_b", "tie", "model_a", "model_a"],
            "done": ["TRUE", "ture", "no", None, " Yes "],
        }
    )
    b = prepare_battles(df, keep_if="done")
    assert (b.rows_in, b.rows_filtered, b.rows_used, b.rows_quarantined) == (5, 2, 2, 1)
    assert b.quarantine.row(0, named=True)["row"] == 2
    assert b.quarantine["reason"].to_list() == ["keep-if column 'done' is neither true nor false: ture"]


def test_covariates_position_style_and_a_side():
    df = pl.DataFrame(
        {
            "model_a": ["x", "y", "x", "y"],
            "model_b": ["y", "x", "y", "x"],
            "winner": ["model_a", "model_b", "tie", "model_a"],
            "pos": ["left", "right", "LEFT", "sideways"],
            "ta": ["aaaa", "a", "aa", "aaa"],
            "tb": ["a", "aaaa", "aa", "a"],
            "len_diff": [1.0, -2.0, 0.0, 3.0],
        }
    )
    b = prepare_battles(
        df, position="pos", a_side=True, style=[("ta", "tb")], covariates=["len_diff"]
    )
    assert b.covariates == ("position", "a_side", "ta-tb", "len_diff")
    assert b.quarantine["reason"].to_list() == ["missing or non-numeric covariate position"]
    assert b.frame["x_position"].to_list() == [1.0, -1.0, 1.0]
    assert b.frame["x_a_side"].to_list() == [1.0, 1.0, 1.0]
    style = b.frame["x_ta-tb"]
    assert abs(style.mean()) < 1e-12 and abs(style.std() - 1.0) < 1e-12  # z-scored
    mean, sd = b.standardized["ta-tb"]
    raw = [(4 - 1) / 5, (1 - 4) / 5, 0.0]  # Arena ratio (a - b) / (a + b)
    assert mean == pytest.approx(sum(raw) / 3)
    assert b.covariate_matrix().columns == ["x_position", "x_a_side", "x_ta-tb", "x_len_diff"]
    diff = prepare_battles(df.head(3), style=[("ta", "tb")], style_transform="diff")
    assert diff.standardized["ta-tb"][0] == pytest.approx((3 - 3 + 0) / 3)


def test_boolean_position_and_rater_prompt_columns():
    df = pl.DataFrame(
        {
            "model_a": ["x", "y"],
            "model_b": ["y", "x"],
            "winner": ["model_a", "model_b"],
            "a_left": [True, False],
            "user": [1, 2],
            "q": ["p1", "p1"],
        }
    )
    b = prepare_battles(df, position="a_left", rater="user", prompt="q")
    assert b.frame["x_position"].to_list() == [1.0, -1.0]
    assert b.frame["rater"].to_list() == ["1", "2"]
    assert b.frame["prompt"].to_list() == ["p1", "p1"]


def test_arena_conversation_column_style_counts_assistant_characters():
    conv = pl.DataFrame(
        {
            "model_a": ["x", "y", "x"],
            "model_b": ["y", "x", "y"],
            "winner": ["model_a", "tie", "model_b"],
            "conversation_a": [
                [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "hello!!"}],
                [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "hey"}],
                [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "x"}],
            ],
            "conversation_b": [[{"role": "user", "content": "hi"}, {"role": "assistant", "content": "abc"}]]
            * 3,
        }
    )
    b = prepare_battles(conv, style=[("conversation_a", "conversation_b")], style_transform="diff")
    assert b.standardized["conversation_a-conversation_b"][0] == pytest.approx((4 + 0 - 2) / 3)


def test_parameter_errors():
    df = pl.DataFrame({"model_a": ["x"], "model_b": ["y"], "s": [1.0]})
    with pytest.raises(MissingColumnError, match="winner"):
        prepare_battles(df)
    with pytest.raises(MissingColumnError, match="'nope'"):
        prepare_battles(df, score="nope")
    with pytest.raises(InvalidParameterError, match="not both"):
        prepare_battles(df, score="s", winner="s")
    with pytest.raises(InvalidParameterError, match="style_transform"):
        prepare_battles(df, score="s", style_transform="log")  # type: ignore[arg-type]


def test_style_markdown_counts_headers_lists_and_bold():
    text_a = ["# Title\n- one\n- two\n**bold**", "plain", "1. a\n2. b"]
    text_b = ["plain", "## H\n__b__", "plain"]
    df = pl.DataFrame(
        {"model_a": ["x", "y", "x"], "model_b": ["y", "x", "y"],
         "winner": ["model_a", "model_b", "tie"], "ta": text_a, "tb": text_b}
    )
    b = prepare_battles(df, style=[("ta", "tb")], style_transform="diff", style_markdown=True)
    assert b.covariates == ("ta-tb", "ta-tb:header_count", "ta-tb:list_count", "ta-tb:bold_count")
    means = {k: v[0] for k, v in b.standardized.items()}
    assert means["ta-tb:header_count"] == pytest.approx((1 - 1 + 0) / 3)
    assert means["ta-tb:list_count"] == pytest.approx((2 + 0 + 2) / 3)
    assert means["ta-tb:bold_count"] == pytest.approx((1 - 1 + 0) / 3)


def test_bundled_style_features_load():
    from chatlens.ratings.style import load_style_features

    feats = load_style_features()
    assert set(feats.features) == {"header_count", "list_count", "bold_count"}
    assert "FastChat" in feats.source


def test_an_infinite_covariate_is_quarantined_not_kept():
    """One 'inf' in a covariate column was kept: every bt-controlled rating, interval and the
    coefficient came out NaN (null in the table) and nothing was quarantined."""
    df = pl.DataFrame({
        "model_a": ["x", "y", "x", "y"], "model_b": ["y", "x", "y", "x"],
        "winner": ["model_a", "model_a", "model_b", "model_a"],
        "len_diff": ["0.5", "inf", "-1e3", "-Infinity"],
    })
    b = prepare_battles(df, covariates=["len_diff"])
    assert b.quarantine["row"].to_list() == [2, 4]
    assert set(b.quarantine["reason"]) == {"missing or non-numeric covariate len_diff"}
    assert b.frame["x_len_diff"].to_list() == [0.5, -1000.0]
