"""The behaviour stage: reactions computed once per batch, same tables as computing them twice."""

from __future__ import annotations

import pytest

from chatlens.features import conversation_features, user_reactions
from chatlens.features import reactions as reactions_module
from chatlens.pipeline.features import REACTION_COLUMNS, behaviour_stage
from chatlens.pipeline.signals import signals_stage


@pytest.fixture(scope="module")
def batch(tmp_path_factory):
    from chatlens._progress import set_quiet
    from chatlens.corpus.api import iter_batches
    from chatlens.synth import synth

    set_quiet(True)
    path = tmp_path_factory.mktemp("behaviour") / "synth.parquet"
    synth(400, seed=5, out=path)
    (first, *_) = list(iter_batches(path))
    return signals_stage(first)


def test_reactions_are_computed_once_and_tables_match(batch, monkeypatch):
    calls = []
    real = reactions_module.reactions_from_dialog

    def counting(*args, **kwargs):
        calls.append(1)
        return real(*args, **kwargs)

    expected_features = conversation_features(batch.messages, batch.conversations)
    expected_reactions = user_reactions(batch.messages, batch.conversations)
    monkeypatch.setattr(reactions_module, "reactions_from_dialog", counting)
    monkeypatch.setattr("chatlens.features.conversation.reactions_from_dialog", counting)
    out = behaviour_stage(batch)
    assert len(calls) == 1
    assert expected_reactions.height > 0
    got = out.conversations.select(expected_features.columns).sort("conversation_id")
    assert got.equals(expected_features)
    joined = batch.messages.join(
        expected_reactions.select("conversation_id", "message_index", *REACTION_COLUMNS),
        on=["conversation_id", "message_index"],
        how="left",
        maintain_order="left",
    )
    assert out.messages.select(joined.columns).equals(joined)


def test_the_dialogue_frame_is_built_once(batch, monkeypatch):
    """The sorted dialogue frame (a sort of every message with its text) serves both the
    reactions and the conversation features."""
    from chatlens.features import _frame

    calls = []
    real = _frame.dialog

    def counting(*args, **kwargs):
        calls.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr(_frame, "dialog", counting)
    monkeypatch.setattr("chatlens.features.reactions.dialog", counting)
    monkeypatch.setattr("chatlens.features.conversation.dialog", counting)
    behaviour_stage(batch)
    assert len(calls) == 1
