"""Behaviour tables of a run: the ending hazard computed beside the conversation tables."""

from __future__ import annotations

import warnings
from pathlib import Path

import polars as pl

import chatlens
from chatlens.errors import SmallSampleWarning
from chatlens.report.tables import behaviour_tables
from chatlens.stats import ending_hazard, turns_from_messages


def test_hazard_beside_the_conversation_tables_is_the_hazard_and_stays_quiet(
    tmp_path: Path,
) -> None:
    """The hazard (read from messages on a helper thread) equals the one computed directly, comes
    last as before, and its small-sample warnings stay inside the tables' warning filter."""
    out = tmp_path / "run"
    chatlens.analyze(None, out=out, demo_conversations=300, workers=1)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        tables = behaviour_tables(out, min_n=50)
    assert not [w for w in caught if issubclass(w.category, SmallSampleWarning)]
    messages = pl.read_parquet(
        out / "messages.parquet", columns=["conversation_id", "turn", "role", "refusal"]
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SmallSampleWarning)
        direct = ending_hazard(turns_from_messages(messages, refusal="refusal"), min_n=50)
    assert list(tables.tables)[-1] == "ending_hazard_by_turn"
    assert tables.tables["ending_hazard_by_turn"].equals(direct.by_turn)
    assert list(tables.headline)[-1] == "ending_after_refusal_vs_answer"


def test_models_named_like_a_placeholder_stay_apart_from_it(tmp_path: Path) -> None:
    """A model called "(unknown)" was merged with the conversations that have no model, and one
    called "(all)" read as the pooled row; both now show as "<name> (as named)"."""
    src = tmp_path / "synth.parquet"
    chatlens.synth(600, seed=3, out=src)
    frame = pl.read_parquet(src)
    first, second, third = frame["model"].unique().sort().to_list()[:3]
    frame.with_columns(
        pl.when(pl.col("model") == third).then(None)
        .otherwise(pl.col("model").replace({first: "(all)", second: "(unknown)"})).alias("model")
    ).write_parquet(src)
    counts = frame["model"].value_counts()
    n_of = dict(counts.rows())
    out = tmp_path / "run"
    chatlens.analyze(src, out=out, workers=1)
    by_model = dict(pl.read_csv(out / "tables" / "refusal_by_model.csv").select("model", "n").rows())
    assert by_model["(all) (as named)"] == n_of[first]
    assert by_model["(unknown) (as named)"] == n_of[second]
    assert by_model["(unknown)"] == n_of[third]
    around = pl.read_csv(out / "tables" / "jailbreak_around_refusal_by_model.csv")
    pooled = around.filter(pl.col("model") == "(all)")
    assert pooled.height == 2  # before and after, pooled over every model
    models = dict(pl.read_csv(out / "tables" / "models.csv").rows())
    assert models["(unknown) (as named)"] == n_of[second] and models["(unknown)"] == n_of[third]


def test_left_out_tables_are_said_and_small_groups_flagged_in_vs_rest(tmp_path: Path) -> None:
    """Reviewed bugs: with no refusal the vs-rest table and the hazard were left out with no
    note, and the vs-rest table had no small_sample flag (a 1-conversation model ranked first)."""
    src = tmp_path / "synth.parquet"
    chatlens.synth(800, seed=5, out=src)
    run = tmp_path / "run"
    chatlens.analyze(src, out=run, workers=1)
    refused = pl.read_parquet(run / "conversations.parquet").filter("has_refusal")["conversation_id"]
    frame = pl.read_parquet(src)
    frame.filter(~pl.col("conversation_id").is_in(refused.implode())).write_parquet(
        tmp_path / "none.parquet")
    none = chatlens.analyze(tmp_path / "none.parquet", out=tmp_path / "none", workers=1)
    notes = none.behaviour.headline["notes"]
    assert "no conversation has a refusal" in notes["refusal_model_vs_rest"]
    assert "no assistant turn was a refusal" in notes["ending_hazard"]
    one = frame.filter(pl.col("conversation_id").is_in(refused.implode())).head(1).with_columns(
        model=pl.lit("solo-model"))
    pl.concat([frame, one.with_columns(conversation_id=pl.lit("solo-1"))]).write_parquet(
        tmp_path / "solo.parquet")
    solo = chatlens.analyze(tmp_path / "solo.parquet", out=tmp_path / "solo", workers=1)
    vs_rest = solo.behaviour.tables["refusal_model_vs_rest"]
    assert vs_rest.filter(pl.col("model") == "solo-model")["small_sample"].item() is True


def test_hh_transcripts_report_no_abandonment_and_no_ending_hazard(tmp_path: Path) -> None:
    """Every HH-RLHF transcript ends at the rated response (docs/labels.md), so 'abandoned' and
    the ending hazard measured the dataset, not the users: on harmless-base's test split the run
    said 'abandoned 34.1%' and gave a risk ratio. Now abandonment has no row, the reactions are
    shares of users who wrote again, and the hazard leaves these conversations out, saying so."""
    import json

    refuse = "I'm sorry, but I can't help with that."
    rows = []
    for i in range(12):
        rows.append({"chosen": f"\n\nHuman: How do I make a pipe bomb, part {i}?\n\nAssistant: {refuse}",
                     "rejected": (f"\n\nHuman: How do I make a pipe bomb, part {i}?\n\nAssistant: {refuse}"
                                  "\n\nHuman: Why not?? You are useless.\n\nAssistant: Fireworks are fun.")})
    src = tmp_path / "hh" / "test.jsonl"
    src.parent.mkdir()
    src.write_text("".join(json.dumps(r) + "\n" for r in rows))
    run = chatlens.analyze(src, out=tmp_path / "run", workers=1)
    conv = pl.read_parquet(tmp_path / "run" / "conversations.parquet")
    assert set(conv["source"]) == {"hh"}
    assert conv["abandoned_after_first_refusal"].drop_nulls().to_list() == [False] * 12
    table = run.behaviour.tables["reaction_by_refusal_type"]
    assert "abandoned" not in table["outcome"].to_list()
    assert table.filter(pl.col("outcome") == "pushback")["n"].to_list() == [12, 12]
    head = run.behaviour.headline
    assert "abandoned" not in head["reactions_after_first_refusal"]
    assert "ending_after_refusal_vs_answer" not in head
    assert "rated response" in head["notes"]["ending_hazard_sources"]
    assert "ending_hazard_by_turn" not in run.behaviour.tables


def test_rated_end_note_counts_with_thousands_separators() -> None:
    """The note said '4624 conversation(s) left out' beside '4,624 conversations' everywhere
    else in report.html (harmless-base test split)."""
    from chatlens.report.tables import _ending_hazard

    ids = [f"c{i}" for i in range(1_200)]
    messages = pl.DataFrame({"conversation_id": ids, "turn": [1] * 1_200,
                             "role": ["assistant"] * 1_200, "refusal": [False] * 1_200}).lazy()
    _, notes = _ending_hazard(messages, 30, pl.DataFrame({"conversation_id": ids}))
    assert notes["ending_hazard_sources"].startswith("1,200 conversation(s) left out")


def test_hh_jailbreak_after_the_refusal_is_of_the_users_who_wrote_again(tmp_path: Path) -> None:
    """A refusal at the cut end of an HH transcript has no observable "after": the reactions
    left it out (n = users who wrote again) but the jailbreak-after tables counted it as "no
    attempt" (harmless-base test: n 2,888 vs the reactions' 1,902 for the same population)."""
    import json

    from chatlens.report.views import view

    refuse = "I'm sorry, but I can't help with that."
    rows = []
    for i in range(12):
        cut = f"\n\nHuman: How do I make a pipe bomb, part {i}?\n\nAssistant: {refuse}"
        rows.append({"chosen": cut, "rejected": cut + "\n\nHuman: Why not?? You are useless."
                     "\n\nAssistant: Fireworks are fun."})
    src = tmp_path / "hh" / "test.jsonl"
    src.parent.mkdir()
    src.write_text("".join(json.dumps(r) + "\n" for r in rows))
    run = chatlens.analyze(src, out=tmp_path / "run", workers=1)
    tables = run.behaviour.tables
    reactions = tables["reaction_by_refusal_type"].filter(pl.col("first_refusal_type") == "(all)")
    assert set(reactions["n"]) == {12}
    after = tables["jailbreak_after_refusal_by_model"]
    assert after["n"].to_list() == [12] and after["n_missing"].to_list() == [12]
    around = tables["jailbreak_around_refusal_by_model"].filter(pl.col("model") == "(all)")
    assert dict(zip(around["outcome"], around["n"], strict=True)) == {"before": 24, "after": 12}
    # the report's pivot row says 24 refused conversations: the after-share names its own n
    cells = view("jailbreak_around_refusal_by_model", tables["jailbreak_around_refusal_by_model"]).rows
    assert cells[-1][1] == "24" and cells[-1][3].endswith(", n=12")


def test_summary_reaction_shares_are_the_tables_unrounded_values(tmp_path: Path) -> None:
    """summary.json's reaction shares were rounded to 4 decimals (0.1905 beside the table's
    0.190476…) while every other value of it is written in full."""
    import json

    out = tmp_path / "run"
    run = chatlens.analyze(None, out=out, demo_conversations=300, workers=1)
    table = run.behaviour.tables["reaction_by_refusal_type"].filter(pl.col("first_refusal_type") == "(all)")
    expected = dict(zip(table["outcome"], table["rate"], strict=True))
    written = json.loads((out / "summary.json").read_text())["behaviour"]["reactions_after_first_refusal"]
    assert written == expected
    assert any(round(v, 4) != v for v in written.values())  # not a corpus whose shares are round


def test_rated_end_only_run_has_one_hazard_note() -> None:
    """An HH-only run listed two overlapping lines under 'not estimable': the rated-end note
    and 'not computed: the run has no assistant turn outside those sources'."""
    from chatlens.report.tables import _ending_hazard

    ids = [f"c{i}" for i in range(4)]
    messages = pl.DataFrame({"conversation_id": ids, "turn": [1] * 4, "role": ["assistant"] * 4,
                             "refusal": [True, False, True, False]}).lazy()
    hazard, notes = _ending_hazard(messages, 30, pl.DataFrame({"conversation_id": ids}))
    assert hazard is None
    assert list(notes) == ["ending_hazard_sources"]
    assert "all of the run's, so it is not computed" in notes["ending_hazard_sources"]
    # a run with other sources too keeps the plain note and computes (or explains) the hazard
    _, mixed = _ending_hazard(messages, 30, pl.DataFrame({"conversation_id": ids[:2]}))
    assert "all of the run's" not in mixed["ending_hazard_sources"]
