"""Learned refusal tier: fit / save / load contract and the shipped weights."""

from __future__ import annotations

import json

import numpy as np
import polars as pl
import pytest

from chatlens.errors import DataFileError, NotFittedError
from chatlens.signals.learned import (
    LearnedRefusal,
    detect_refusal_learned,
    load_weights,
    weights_available,
)
from chatlens.signals.refusal import OUTPUT_SCHEMA

REFUSALS = ["I'm sorry, but I can't help with that.", "I cannot assist with this request.",
            "As an AI, I don't have access to real-time data.", "I must decline to write that."]
ANSWERS = ["Paris is the capital of France.", "Sure! Here is a haiku about spring.",
           "To boil an egg, simmer it for nine minutes.", "Here are three tips: sleep, water, walks."]


def test_fit_predict_roundtrip(tmp_path):
    texts = pl.Series(REFUSALS + ANSWERS)
    y = np.array([True] * 4 + [False] * 4)
    model = LearnedRefusal(C=1.0).fit(texts, y)
    p = model.predict_proba(texts)
    assert ((p >= 0.5) == y).all()
    path = tmp_path / "w.json"
    path.write_text(json.dumps(model.to_dict(evaluation="test")), encoding="utf-8")
    again = load_weights(str(path))
    assert np.allclose(again.predict_proba(texts), p, atol=1e-3)
    assert model.predict_proba(pl.Series([None, ""])).tolist() == [0.0, 0.0]


def test_not_fitted_and_bad_weights():
    with pytest.raises(NotFittedError):
        LearnedRefusal().predict_proba(pl.Series(["x"]))
    with pytest.raises(DataFileError, match="key 'name'"):
        LearnedRefusal.from_dict({"format_version": 1})
    good = LearnedRefusal(C=1.0).fit(pl.Series(REFUSALS + ANSWERS), np.array([True] * 4 + [False] * 4))
    with pytest.raises(DataFileError, match="format_version/n_hash"):
        LearnedRefusal.from_dict({**good.to_dict(), "n_hash": 8})


@pytest.mark.skipif(not weights_available(), reason="no shipped weights")
def test_shipped_weights_schema_and_sanity():
    out = detect_refusal_learned(pl.Series(REFUSALS + ANSWERS + [None]))
    assert dict(out.schema) == OUTPUT_SCHEMA
    assert out["refusal"].to_list() == [True] * 4 + [False] * 5
    assert set(out.filter("refusal")["refusal_type"]) <= {"policy", "capability", "mixed"}
    assert (out.filter(~pl.col("refusal"))["refusal_type"] == "none").all()
