"""HL-lite: speaker turns in every transcript form, features, the shipped model, training."""

from __future__ import annotations

import json

import numpy as np
import polars as pl
import pytest

import chatlens.humanlike.lite as lite
from chatlens.errors import DataFileError, InvalidParameterError
from chatlens.humanlike.lite import (
    FEATURES,
    cross_validate_lite,
    lite_features,
    lite_score,
    load_lexicons,
    load_lite_model,
    save_lite_model,
    speaker_turns,
    train_lite,
)


def _turns(df: pl.DataFrame, speaker: str) -> list[list[str]]:
    t = speaker_turns(df, text_column="t", speaker=speaker)
    return [t.filter(pl.col("_row") == i)["turn"].to_list() for i in range(df.height)]


def test_turns_line_prefixed_with_continuations():
    df = pl.DataFrame({"t": [
        "I: hi\nW: los angeles, obv\nwhat do you play\nI: apex\nW: same",
        "P: my knee hurts\nD: since when?\nP: two days",
        "I: hello?",
        None,
    ]})
    assert _turns(df, "W") == [["los angeles, obv\nwhat do you play", "same"], [], [], []]
    assert _turns(df, "P") == [[], ["my knee hurts", "two days"], [], []]


def test_turns_role_names_and_role_lists():
    df = pl.DataFrame({"t": ["user: hi\nassistant: Hello! How can I help?\nUser: bye"]})
    assert _turns(df, "assistant") == [["Hello! How can I help?"]]
    assert _turns(df, "user") == [["hi", "bye"]]
    msgs = [[{"role": "user", "content": "hi"}, {"role": "assistant", "content": "hey"}],
            [{"role": "assistant", "content": "yo"}, {"role": "assistant", "content": "sup"}]]
    df = pl.DataFrame({"t": msgs})
    assert _turns(df, "assistant") == [["hey"], ["yo", "sup"]]
    df = pl.DataFrame({"t": [json.dumps([{"from": "gpt", "value": "hey"}])]})
    assert _turns(df, "gpt") == [["hey"]]
    with pytest.raises(InvalidParameterError, match="role/content"):
        speaker_turns(pl.DataFrame({"t": [[{"a": "x", "b": "y"}]]}), text_column="t", speaker="W")


def test_features_measure_what_they_say():
    df = pl.DataFrame({"t": [
        "I: hi\nW: hey lol sooo tired 😀\nI: why\nW: idk, work",
        "I: hi\nW: Hello! How are you today? I'd love to chat—what's on your mind?",
        "I: anyone?",
    ]})
    f = lite_features(df, text_column="t", speaker="W")
    assert f.height == 3 and f.columns == ["hl_lite_n_turns", *FEATURES]
    assert f["hl_lite_n_turns"].to_list() == [2, 1, 0]
    assert f["emoji_rate"][0] > 0 and f["emoji_rate"][1] == 0
    assert f["elongation_rate"][0] > 0 and f["slang_rate"][0] > f["slang_rate"][1]
    assert f["lower_start_share"][0] == 1.0 and f["lower_start_share"][1] == 0.0
    assert f["question_share"][1] == 1.0 and f["dash_rate"][1] > 0
    assert f.row(2)[1:] == (None,) * len(FEATURES)


def test_empty_frame():
    df = pl.DataFrame({"t": []}, schema={"t": pl.String})
    out = lite_score(df, text_column="t", speaker="W")
    assert out.height == 0 and "hl_lite_logit" in out.columns


def test_lexicons_load_and_escape():
    lex = load_lexicons()
    assert {"slang", "hedge", "meta_ai", "formal"} <= set(lex.categories)
    assert lex.regex("slang").startswith("(?i)") and not lex.regex("emoticon").startswith("(?i)")
    s = pl.Series(["lol you? :)", "ok (.*) you"])
    assert s.str.count_matches(lex.regex("emoticon")).to_list() == [1, 0]


def test_bad_lexicon_file(tmp_path):
    p = tmp_path / "lex.yaml"
    p.write_text("categories:\n  slang: {phrases: [lol, '']}\n")
    with pytest.raises(DataFileError, match=r"'categories.slang.phrases\[1\]': expected text"):
        load_lexicons(p)
    p.write_text("categories:\n  slang: {words: [lol]}\n")
    with pytest.raises(DataFileError, match="'categories.slang.words': expected one of the keys"):
        load_lexicons(p)


def test_shipped_model_loads_and_scores():
    m = load_lite_model()
    assert set(m.features) == set(FEATURES)
    assert m.info["cv"]["auc"] >= 0.84
    df = pl.DataFrame({"t": ["I: where u from\nW: ohio lol\nI: cool\nW: ya its cold af rn",
                             "I: where are you from?\nW: I'm from California! How about you? "
                             "I'd love to hear more about your day."]})
    out = lite_score(df, text_column="t", speaker="W")
    assert {"hl_lite_logit", "hl_lite_prob", "hl_lite_n_turns"} <= set(out.columns)
    assert out["hl_lite_logit"][0] > out["hl_lite_logit"][1]
    assert 0 < out["hl_lite_prob"][0] < 1
    assert lite.lite(df, text_column="t", keep_features=True).width == out.width + len(FEATURES)


def test_bad_weights_file(tmp_path):
    p = tmp_path / "w.yaml"
    p.write_text("intercept: 0\nfeatures:\n  - {name: nope, mean: 0, scale: 1, weight: 1}\n")
    with pytest.raises(DataFileError, match="expected features among"):
        load_lite_model(p)
    p.write_text("intercept: 0\nfeatures: 3\n")
    with pytest.raises(DataFileError, match="'features': expected a list of mappings"):
        load_lite_model(p)


def _synthetic(n: int = 80) -> pl.DataFrame:
    rng = np.random.default_rng(0)
    human = ["lol idk", "nah", "im in ohio rn", "haha ya", "wait what", "tired af"]
    bot = ["Hello! How are you today?", "That's a great question—what do you think?",
           "I'm doing well, thank you for asking!", "Absolutely, I love that too."]
    rows = []
    for g in range(n):
        for is_h in (True, False):
            pool = human if is_h else bot
            k = int(rng.integers(2, 6))
            t = "\n".join(f"I: q{j}\nW: {pool[int(rng.integers(len(pool)))]}" for j in range(k))
            rows.append({"game_id": g, "is_human": is_h, "transcript": t})
    return pl.DataFrame(rows)


def test_train_and_cross_validate_and_save(tmp_path):
    df = _synthetic()
    oof = cross_validate_lite(df, n_splits=5)
    assert np.isfinite(oof).all()
    from chatlens.stats.metrics import auc

    assert auc(df["is_human"].to_numpy(), oof) > 0.95
    m = train_lite(df, n_splits=5)
    assert m.info["cv"]["auc"] > 0.95 and m.info["training_groups"] == 80
    p = save_lite_model(m, tmp_path / "m.yaml")
    back = load_lite_model(p)
    assert back.weights == pytest.approx(m.weights) and back.intercept == pytest.approx(m.intercept)
    out = lite_score(df, text_column="transcript", model=p)
    assert out["hl_lite_logit"].null_count() == 0


@pytest.mark.realdata
def test_hllite_grouped_cv_auc_on_development_games(shared_data):
    from chatlens.humanlike.witnesses import load_turing
    from chatlens.stats.metrics import auc

    full = load_turing(shared_data / "hal" / "data" / "turing_test_data_full.csv")
    over50 = set(load_turing(shared_data / "hal" / "data" / "turing_test_over_50.csv")["game_id"])
    oof = cross_validate_lite(full, seed=1)
    y = full["is_human"].to_numpy()
    ok = np.isfinite(oof)
    in50 = full["game_id"].is_in(list(over50)).to_numpy() & ok
    assert auc(y[ok], oof[ok]) >= 0.84
    assert auc(y[in50], oof[in50]) >= 0.84


def test_batches_give_the_same_scores():
    df = _synthetic(10).select("transcript")
    a = lite_score(df, text_column="transcript")
    b = lite_score(df, text_column="transcript", batch_size=3)
    assert a["hl_lite_logit"].to_list() == pytest.approx(b["hl_lite_logit"].to_list())
    with pytest.raises(InvalidParameterError, match="batch_size"):
        lite_score(df, text_column="transcript", batch_size=0)


def test_scoring_a_scored_table_again_replaces_its_columns():
    """`humanlike lite` on its own output (rescoring with another model) stopped with polars'
    DuplicateError on hl_lite_n_turns, a traceback. The earlier columns are replaced now."""
    df = pl.DataFrame({"t": ["I: where u from\nW: ohio lol", "I: hi\nW: Hello! How are you?"]})
    once = lite.lite_score(df, text_column="t", keep_features=True)
    twice = lite.lite_score(once, text_column="t", keep_features=True)
    assert twice.columns == once.columns
    assert twice.equals(once)
