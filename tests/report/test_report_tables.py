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
