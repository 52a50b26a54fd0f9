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
