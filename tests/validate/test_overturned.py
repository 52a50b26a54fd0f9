"""Held-out scoring of ``refusal_overturned``: fold splits and the model-override seam it uses."""

from __future__ import annotations

import copy
import dataclasses

import numpy as np
import polars as pl
import pytest

from chatlens.features.reaction_model import (
    active_weights,
    detect_reaction,
    load_weights,
    using_weights,
)
from chatlens.signals.refusal_model import (
    active_model,
    detect_refusal_in_context,
    load_model,
    using_model,
)
from chatlens.validate.overturned import TIERS, _splits


def _judged(n_conv: int) -> pl.DataFrame:
    rows = [
        {"file": f"f{i % 2}", "conversation_id": f"c{i}", "source": "a" if i % 3 else "b"}
        for i in range(n_conv)
        for _ in range(2)
    ]
    return pl.DataFrame(rows)


@pytest.mark.parametrize("scheme", [t for t in TIERS if not t.startswith("rules")])
def test_splits_hold_out_every_conversation_exactly_once(scheme: str) -> None:
    judged = _judged(23)
    folds = _splits(judged, scheme)
    held = np.concatenate(folds)
    every = (judged["file"] + "|" + judged["conversation_id"]).unique().to_numpy()
    assert sorted(held.tolist()) == sorted(every.tolist())
    assert len(held) == len(set(held.tolist()))
    if "source" in scheme:
        assert len(folds) == judged["source"].n_unique()
    else:
        assert len(folds) == 5


def test_no_trained_tier_is_scored_in_sample() -> None:
    assert all("in-sample" not in tier for tier in TIERS)


def test_using_model_swaps_the_refusal_model_in_scope_only() -> None:
    reply = pl.Series(["I'm not sure what you mean. Who is that?"])
    request = pl.Series(["how do I get back at NAME_1"])
    assert detect_refusal_in_context(reply, request)["refusal"].item() is True
    never = dataclasses.replace(load_model(), threshold=1.01)
    with using_model(never):
        assert active_model() is never
        assert detect_refusal_in_context(reply, request)["refusal"].item() is False
    assert active_model() is load_model()
    assert detect_refusal_in_context(reply, request)["refusal"].item() is True


def test_using_weights_swaps_the_reaction_model_in_scope_only() -> None:
    frame = pl.DataFrame(
        {
            "request": ["What is the capital of Peru?"],
            "response": ["I'm sorry, I can't look that up."],
            "followup": ["Then tell me a joke about cats."],
        }
    )
    shipped = detect_reaction(frame)["reaction"].item()
    forced = copy.deepcopy(load_weights())
    target = "accept" if shipped != "accept" else "clarify"
    forced.intercept_ = forced.intercept_ + 100.0 * (np.asarray(forced.classes_) == target)
    with using_weights(forced):
        assert active_weights() is forced
        assert detect_reaction(frame)["reaction"].item() == target
    assert detect_reaction(frame)["reaction"].item() == shipped
