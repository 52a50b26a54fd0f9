"""``fit`` (grouped CV, selection in fold), metrics, and ``turing_eval`` on both data layouts."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest

from chatlens.errors import InvalidParameterError, SchemaError
from chatlens.humanlike.fit import fit, write_weights_yaml
from chatlens.humanlike.instruments import load_instrument
from chatlens.humanlike.turing import turing_eval
from chatlens.humanlike.witnesses import as_bool, witness_frame
from chatlens.stats.metrics import accuracy as wilson
from chatlens.stats.metrics import auc, bootstrap_auc, paired_outcomes


def test_metrics_basics():
    e = wilson(8, 10)
    assert e.value == 0.8 and 0.44 < e.ci_low < 0.5 and 0.94 < e.ci_high < 0.97
    assert np.isnan(wilson(0, 0).value)
    y = np.array([1, 1, 0, 0], bool)
    assert auc(y, np.array([0.9, 0.8, 0.1, 0.2])) == 1.0
    assert auc(y, np.array([0.5, 0.5, 0.5, 0.5])) == 0.5
    ids, out = paired_outcomes(y, np.array([1.0, 0.0, 0.0, 0.5]), np.array(["g1", "g2", "g1", "g2"]))
    assert dict(zip(ids.tolist(), out.tolist(), strict=True)) == {"g1": 1.0, "g2": 0.0}
    ids, out = paired_outcomes(y, np.array([0.3, 0.1, 0.3, np.nan]), np.array(["g1", "g2", "g1", "g2"]))
    assert ids.tolist() == ["g1"] and out.tolist() == [0.5]
    b = bootstrap_auc(y, np.array([0.9, 0.8, 0.1, 0.2]), np.array([1, 2, 1, 2]), n_boot=50)
    assert b.value == 1.0 and b.ci_low <= 1.0


def test_as_bool():
    assert as_bool(pl.Series(["TRUE", "false", "Human", "ai"]), "l").tolist() == [True, False, True, False]
    assert as_bool(pl.Series([0, 1]), "l").tolist() == [False, True]
    with pytest.raises(InvalidParameterError, match="maybe"):
        as_bool(pl.Series(["maybe"]), "l")


def test_witness_frame_per_game_layout(make_games):
    w = witness_frame(make_games(4))
    assert w.height == 8
    assert {"game_id", "slot", "witness", "is_human", "opponent", "transcript",
            "likert_evaluation", "interrogator_correct"} <= set(w.columns)
    assert w.group_by("game_id").agg(pl.col("is_human").sum())["is_human"].to_list() == [1] * 4
    human_rows = w.filter(pl.col("is_human"))
    assert set(human_rows["witness"]) == {"Human"}


def test_witness_frame_per_witness_layout_and_bad_layout():
    df = pl.DataFrame({
        "game_id": [1, 1, 2, 2], "label": ["A", "B", "A", "B"],
        "witness": ["Human", "eliza", "gpt-4.5_quinn", "Human"],
        "is_human": ["TRUE", "FALSE", "FALSE", "TRUE"], "verdict": ["A", "A", "A", "A"],
        "conversation": ["I: x\nW: y"] * 4,
    })
    w = witness_frame(df)
    assert w["opponent"].to_list() == ["eliza", "eliza", "gpt-4.5_quinn", "gpt-4.5_quinn"]
    assert w["interrogator_correct"].to_list() == [True, True, False, False]
    with pytest.raises(SchemaError, match="expected the per-game layout"):
        witness_frame(pl.DataFrame({"x": [1]}))


def test_fit_recovers_signal_and_writes_loadable_instrument(tmp_path, make_games):
    res = fit(make_games(), ratings_column="likert_evaluation", instrument="hal32q", n_splits=5)
    assert res.auc.value > 0.85 and res.paired_accuracy.value > 0.85
    assert res.n_groups == 120 and res.n_rows == 240
    assert "1" in res.selected and "5" in res.selected
    w = dict(zip(res.keys, res.weights, strict=True))
    assert w["1"] > 0 and w["5"] > 0
    p = write_weights_yaml(res, tmp_path / "w.yaml")
    inst = load_instrument(p)
    assert inst.name == "hal32q-fit" and set(inst.keys) == set(res.selected)
    assert inst.bias == pytest.approx(res.bias)


def test_fit_rejects_single_class_and_bad_c(make_games):
    g = make_games(10).with_columns(pl.lit("A").alias("who_is_human"))
    df = witness_frame(g).with_columns(pl.lit(True).alias("is_human"))
    with pytest.raises(InvalidParameterError, match="single class"):
        fit(df, ratings_column="likert_evaluation")
    with pytest.raises(InvalidParameterError, match="'c' parameter"):
        fit(df, ratings_column="likert_evaluation", c=0)


def test_fit_names_rows_without_a_group(make_games):
    """A null game id ended in numpy's TypeError ('<' not supported between str and None)."""
    df = witness_frame(make_games(10))
    df = df.with_columns(pl.when(pl.int_range(pl.len()) == 3).then(None)
                         .otherwise(pl.col("game_id")).alias("game_id"))
    with pytest.raises(SchemaError, match=r"column 'game_id' is empty in 1 row\(s\) \(0-based: 3\)"):
        fit(df, ratings_column="likert_evaluation")


def test_turing_eval_column_and_fit_scorers(make_games):
    w = witness_frame(make_games())
    w = w.with_columns(pl.when(pl.col("is_human")).then(1.0).otherwise(-1.0).alias("perfect"))
    res = turing_eval(w, scorers=["column:perfect", "fit:hal32q", "hal16q"], n_boot=50, n_splits=5)
    r = {row["scorer"]: row for row in res.results.iter_rows(named=True)}
    assert r["column:perfect"]["paired_accuracy"] == 1.0 and r["column:perfect"]["auc"] == 1.0
    assert r["fit:hal32q"]["auc"] > 0.85
    assert set(res.by_opponent["opponent"]) == {"eliza", "gpt-4o_minimal"}
    assert res.interrogators.n == 120
    assert "score_fit:hal32q" in res.scores.columns
    with pytest.raises(InvalidParameterError, match="not found"):
        turing_eval(w, scorers=["column:nope"])


@pytest.mark.realdata
def test_turing_eval_gpt5_dev_games_close_to_dossier(shared_data):
    from chatlens.corpus.tablefile import read_table

    df = read_table(shared_data / "hal" / "Turing_output" / "run_1_Turing_data_gpt-5.csv")
    res = turing_eval(df, scorers=["hal16q", "fit:hal32q", "fit-select:hal32q"], n_boot=200)
    r = {row["scorer"]: row for row in res.results.iter_rows(named=True)}
    # hal.md section 2.2 (all games): in-sample HAL16 0.790/0.858/0.865; LR-32 CV 0.773/0.845/0.858;
    # LR-16 select-in-fold 0.766/0.839/0.853. Ours: development half only.
    assert abs(r["hal16q"]["auc"] - 0.858) < 0.03 and abs(r["hal16q"]["paired_accuracy"] - 0.865) < 0.04
    assert abs(r["fit:hal32q"]["auc"] - 0.845) < 0.04
    assert abs(r["fit-select:hal32q"]["paired_accuracy"] - 0.853) < 0.05
    assert 0.45 < res.interrogators.value < 0.65


def test_fit_on_a_user_instrument_file_is_self_contained(tmp_path, make_games):
    """Items and weights in one object: a fit of a user's instrument file must not depend on the
    base file staying where it was (the old ``extends: <path>`` broke when the base moved, and
    a relative path resolved against the reader's working directory)."""
    import shutil

    from chatlens.datafiles import bundled_bytes

    base = tmp_path / "run" / "mine.yaml"
    base.parent.mkdir()
    base.write_bytes(bundled_bytes("instruments/hal32q.yaml"))
    res = fit(make_games(), instrument=base, n_splits=5)
    out = write_weights_yaml(res, tmp_path / "run" / "mine-fit.yaml")
    moved = tmp_path / "elsewhere"
    moved.mkdir()
    shutil.move(str(out), moved / "fit.yaml")
    shutil.rmtree(base.parent)
    inst = load_instrument(moved / "fit.yaml")
    assert inst.keys == res.selected and inst.bias == res.bias
    assert inst.weights.tolist() == [w for k, w in zip(res.keys, res.weights, strict=True) if k in res.selected]
    assert inst.source["derived_from"]["path"] == str(base)
    assert len(inst.source["derived_from"]["sha256"]) == 64


def test_who_is_human_case_is_folded_and_unknown_values_are_errors(make_games):
    """'a'/'b' used to make every witness an AI (exit 0 with numbers): now folded, and any other
    value is an error naming the row and the value."""
    games = make_games(6)
    upper = witness_frame(games)
    lower = witness_frame(games.with_columns(pl.col("who_is_human").str.to_lowercase() + " "))
    assert lower["is_human"].to_list() == upper["is_human"].to_list()
    assert lower["is_human"].sum() == 6
    bad = games.with_columns(pl.when(pl.col("game_id") == 3).then(pl.lit("human"))
                             .otherwise(pl.col("who_is_human")).alias("who_is_human"))
    with pytest.raises(InvalidParameterError, match=r"row 4 \(game_id 3\) has 'human'"):
        witness_frame(bad)
    with pytest.raises(InvalidParameterError, match="who_is_human"):
        witness_frame(games.with_columns(pl.lit(None, pl.String).alias("who_is_human")))


def test_per_witness_labels_are_read_strictly():
    """``is_human`` went through a lax parser: 'human' or 'maybe' read as False (an AI)."""
    df = pl.DataFrame({"game_id": [1, 1], "label": ["A", "B"], "witness": ["Human", "eliza"],
                       "is_human": ["human", "ai"], "verdict": ["A", "A"]})
    assert witness_frame(df)["is_human"].to_list() == [True, False]
    with pytest.raises(InvalidParameterError, match="'maybe'"):
        witness_frame(df.with_columns(pl.Series("is_human", ["maybe", "ai"])))


def test_human_correct_is_read_strictly_and_may_be_missing(make_games):
    g = make_games(3).with_columns(pl.Series("human_correct", ["true", None, "False"]))
    w = witness_frame(g)
    assert w.filter(pl.col("slot") == "A")["interrogator_correct"].to_list() == [True, None, False]
    with pytest.raises(InvalidParameterError, match="'human_correct'.*'yes please'"):
        witness_frame(g.with_columns(pl.Series("human_correct", ["true", "yes please", "false"])))


def test_turing_eval_counts_unscored_witnesses_and_compares_on_the_same_games(make_games):
    """Unreadable ratings used to vanish from the figures without a count or reason, and the
    interrogators were still measured on every game."""
    games = make_games(40).with_columns(
        pl.when(pl.col("game_id") < 5).then(pl.lit("[1, 2, 3]"))
        .otherwise(pl.col("likert_evaluation_A")).alias("likert_evaluation_A"))
    res = turing_eval(games, scorers=["hal16q", "fit:hal32q"], n_boot=20, n_splits=5)
    for r in res.results.iter_rows(named=True):
        assert r["n_witnesses"] == 75 and r["n_unscored"] == 5 and r["n_games"] == 35
        assert r["first_unscored"] == "game_id '0' slot 'A': expected a list of 32 ratings, got 3"
        assert r["interrogators_n"] == 35
    assert res.interrogators.n == 35
    assert res.by_opponent["n_games"].sum() == 35
    scored = witness_frame(games.filter(pl.col("game_id") >= 5)).unique("game_id")
    assert res.interrogators.value == pytest.approx(scored["interrogator_correct"].mean())


def test_duplicated_games_are_an_error_naming_them(make_games):
    """A game row listed twice was double-counted in accuracy/AUC and dropped from paired accuracy."""
    games = make_games(6)
    with pytest.raises(InvalidParameterError, match=r"2 witness\(es\) appear more than once: "
                       r"game_id '4' slot 'A' \(2 times\), game_id '4' slot 'B'"):
        turing_eval(pl.concat([games, games.filter(pl.col("game_id") == 4)]), scorers=["hal16q"])


def test_a_witness_frame_passed_in_is_checked_like_raw_games(make_games):
    """A frame already one row per witness (with ``slot``) skipped every check: a witness listed
    twice was counted twice, and "yes"/"no" strings in is_human read as all-True."""
    w = witness_frame(make_games(6))
    with pytest.raises(InvalidParameterError, match=r"game_id '4' slot 'A' \(2 times\)"):
        turing_eval(pl.concat([w, w.filter(pl.col("game_id") == "4")]), scorers=["hal16q"])
    worded = w.with_columns(pl.when(pl.col("is_human")).then(pl.lit("yes")).otherwise(pl.lit("no"))
                            .alias("is_human"))
    assert witness_frame(worded)["is_human"].to_list() == w["is_human"].to_list()
    minimal = w.select("game_id", "slot", "is_human", "likert_evaluation")
    r = turing_eval(minimal, scorers=["hal16q"], n_boot=10).results.row(0, named=True)
    full = turing_eval(w, scorers=["hal16q"], n_boot=10).results.row(0, named=True)
    assert r["accuracy"] == full["accuracy"] and r["interrogators_n"] == 0


def test_column_scorer_on_a_text_column_is_an_error_with_count_and_example(make_games):
    """``column:witness`` ended in a polars cast traceback (review repro 05)."""
    w = witness_frame(make_games(10))
    with pytest.raises(InvalidParameterError,
                       match=r"column 'witness' must hold numeric scores; 20 of 20 values are not "
                             r"numbers \(e\.g\. '(Human|bot)'\)"):
        turing_eval(w, scorers=["column:witness"])
    texty = w.with_columns(pl.when(pl.col("is_human")).then(pl.lit(" 1.5")).otherwise(pl.lit("-1"))
                           .alias("s"))
    r = turing_eval(texty, scorers=["column:s"], n_boot=10).results.row(0, named=True)
    assert r["paired_accuracy"] == 1.0 and r["n_unscored"] == 0


def test_turing_eval_probability_column_needs_its_threshold(make_games):
    """A column of probabilities (hl_prob from `humanlike score`) scored per-witness accuracy
    0.500 beside AUC 0.947 and paired accuracy 0.942: accuracy thresholds at 0, so every
    witness was called human. Values all in [0, 1] now need 'column:NAME@T'; with @0.5 the
    accuracy is the logit's (0.854)."""
    w = witness_frame(make_games())
    s = turing_eval(w, scorers=["hal32q"], n_boot=20).scores["score_hal32q"].to_numpy()
    w = w.with_columns(pl.Series("p_human", 1 / (1 + np.exp(-s))), pl.Series("logit", s))
    with pytest.raises(InvalidParameterError, match=r"'column:p_human@0.5'"):
        turing_eval(w, scorers=["column:p_human"], n_boot=20)
    res = turing_eval(w, scorers=["column:logit", "column:p_human@0.5"], n_boot=20)
    acc = dict(res.results.select("scorer", "accuracy").iter_rows())
    assert acc["column:p_human@0.5"] == acc["column:logit"] == pytest.approx(0.854, abs=1e-3)
    with pytest.raises(InvalidParameterError, match="threshold after '@' must be a number"):
        turing_eval(w, scorers=["column:p_human@half"], n_boot=20)


def test_fit_weights_score_a_reverse_keyed_item_the_way_they_were_fitted(tmp_path, make_games):
    """fit learnt weights on the raw ratings, but score (and judge) flip a reverse-keyed item
    before weighting: with item 1 of a user's HAL32Q copy marked reverse, the fit reported AUC
    0.997 and scoring the same games with the written file gave AUC 0.038 (accuracy 0.17). The
    fit sees the flipped ratings now, so its weights mean what scoring does with them."""
    import yaml

    from chatlens.datafiles import bundled_bytes
    from chatlens.humanlike.scoring import score
    from chatlens.stats.metrics import auc

    doc = yaml.safe_load(bundled_bytes("instruments/hal32q.yaml"))
    doc["items"][0]["reverse"] = True
    base = tmp_path / "mine.yaml"
    base.write_text(yaml.safe_dump(doc, sort_keys=False), encoding="utf-8")
    games = make_games()
    res = fit(games, instrument=base, n_splits=5, threshold=None)
    assert res.weights[0] < 0  # agreeing with item 1 is human; flipped, it counts against
    out = write_weights_yaml(res, tmp_path / "mine-fit.yaml")
    w = witness_frame(games)
    scored = score(w, instrument=out, ratings_column="likert_evaluation", list_keys=str(base))
    assert auc(w["is_human"].to_numpy().astype(bool), scored["hl_logit"].to_numpy()) > 0.95


def test_interrogator_verdicts_are_read_as_slots_or_refused():
    """In the per-witness layout the verdict was compared with the slot as written: lowercase
    verdicts put the interrogators at 0.0 instead of 0.53 on the development games, and in
    both layouts a verdict such as 'unsure' counted as a wrong call. Verdicts are folded
    like who_is_human now, an empty one is left out, and any other value is an error."""
    per_witness = pl.DataFrame({
        "game_id": [1, 1, 2, 2, 3, 3], "label": ["A", "B", "A", "B", "a", "b"],
        "witness": ["Human", "gpt", "gpt", "Human", "Human", "gpt"],
        "is_human": ["TRUE", "FALSE", "FALSE", "TRUE", "TRUE", "FALSE"],
        "verdict": ["a", "a", " a", " a", "", ""],
    })
    w = witness_frame(per_witness)
    assert w.filter(pl.col("slot") == "A")["interrogator_correct"].to_list() == [True, False, None]
    with pytest.raises(InvalidParameterError, match=r"'verdict' must name .* row 2 .* 'unsure'"):
        witness_frame(per_witness.with_columns(
            pl.Series("verdict", ["a", "unsure", "b", "b", "", ""])))
    per_game = pl.DataFrame({"game_id": [1, 2], "who_is_human": ["A", "B"],
                             "human_verdict": ["a", "maybe"], "score_A": [1.0, 0.0],
                             "score_B": [0.0, 1.0]})
    with pytest.raises(InvalidParameterError, match=r"'human_verdict' .* row 2 .* 'maybe'"):
        witness_frame(per_game)
    ok = witness_frame(per_game.with_columns(pl.Series("human_verdict", ["a", None])))
    assert ok.filter(pl.col("slot") == "A")["interrogator_correct"].to_list() == [True, None]


def test_turing_eval_a_scorer_that_scores_no_witness_is_reported_not_a_crash(make_games):
    """A column: scorer whose column is empty (or lite on transcripts without a turn of the
    speaker) stopped the whole evaluation with numpy's 'need at least one array to concatenate'
    from the AUC bootstrap. It is a row with no witness scored, beside the other scorers."""
    w = witness_frame(make_games(20)).with_columns(
        pl.when(pl.col("is_human")).then(1.0).otherwise(-1.0).alias("perfect"),
        pl.lit(None, pl.Float64).alias("empty"),
    )
    res = turing_eval(w, scorers=["column:perfect", "column:empty"], n_boot=20)
    r = {row["scorer"]: row for row in res.results.iter_rows(named=True)}
    assert r["column:perfect"]["auc"] == 1.0
    assert r["column:empty"]["n_witnesses"] == 0 and r["column:empty"]["n_unscored"] == 40


def test_turing_eval_an_unreadable_first_ratings_cell_costs_only_its_witness(make_games):
    """turing eval decided from the first ratings cell whether the column held HAL32Q lists;
    a first cell 'error' made hal16q read the 32-item lists as its own 16 items, and all 240
    witnesses went unscored. Only that witness is unscored now."""
    w = witness_frame(make_games())
    bad = w.with_columns(pl.when(pl.int_range(pl.len()) == 0).then(pl.lit("error"))
                         .otherwise(pl.col("likert_evaluation")).alias("likert_evaluation"))
    row = turing_eval(bad, scorers=["hal16q"], n_boot=20).results.row(0, named=True)
    assert (row["n_witnesses"], row["n_unscored"]) == (239, 1)
    assert row["first_unscored"].endswith("not a JSON list of numeric ratings: 'error'")


def test_interrogators_accuracy_is_clustered_by_interrogator_id(make_games):
    """Games were always independent for the interrogators' interval: 6 interrogators of 20
    games each (3 always right, 3 always wrong) gave Wilson [0.41, 0.59] over 120 games, and an
    interrogator_id column was carried along unused. Now it is the bootstrap's cluster; without
    it the output says the games were treated as independent."""
    games = make_games(120)
    who = np.repeat(np.arange(6), 20)
    truth = games["who_is_human"].to_list()
    verdict = [t if i % 2 == 0 else {"A": "B", "B": "A"}[t] for t, i in zip(truth, who, strict=True)]
    games = games.with_columns(pl.Series("human_verdict", verdict))
    plain = turing_eval(games, scorers=["hal16q"], n_boot=2000)
    assert plain.interrogators.method == "wilson 95%" and plain.interrogators.width < 0.2
    assert "no 'interrogator_id' column" in plain.interrogators_note
    assert "independent" in plain.interrogators_note

    with_ids = games.with_columns(pl.Series("interrogator_id", [f"p{i}" for i in who]))
    res = turing_eval(with_ids, scorers=["hal16q"], n_boot=2000)
    e = res.interrogators
    assert (e.value, e.n) == (0.5, 120)
    assert "by interrogator_id" in e.method and "6 clusters" in e.method
    assert e.ci_low < 0.2 and e.ci_high > 0.8  # 6 independent units, not 120
    assert "interrogator_id" in res.interrogators_note and "independent" not in res.interrogators_note
    # per-witness rows of one game must agree on the interrogator
    w = witness_frame(with_ids)
    bad = w.with_columns(pl.when((pl.col("game_id") == "7") & (pl.col("slot") == "B"))
                         .then(pl.lit("p9")).otherwise(pl.col("interrogator_id"))
                         .alias("interrogator_id"))
    with pytest.raises(InvalidParameterError, match=r"one interrogator per game; game_id '7'"):
        turing_eval(bad, scorers=["hal16q"])
