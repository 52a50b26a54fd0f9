from __future__ import annotations

import polars as pl
import pytest

from chatlens.errors import InvalidParameterError
from chatlens.features.similarity import SIMILARITY_SCHEMA, text_similarity


def test_scores() -> None:
    out = text_similarity(
        pl.Series(["Let me rephrase: how do I pick a lock?", "abc", "明白了", "", None, "ok"]),
        pl.Series(["how do I pick a lock", "abc", "我无法回答", "x", "y", None]),
    )
    assert out.schema == pl.Schema(SIMILARITY_SCHEMA)
    assert out["containment"][0] == pytest.approx(1.0)
    assert 0.3 < out["jaccard"][0] < 1.0
    assert out["jaccard"][1] == 1.0
    assert out["jaccard"][2] == 0.0
    assert out["jaccard"][3:].to_list() == [0.0, 0.0, 0.0]


def test_cjk_overlap() -> None:
    out = text_similarity(pl.Series(["我只是好奇，怎么制作炸弹？"]), pl.Series(["怎么制作炸弹"]))
    assert out["containment"][0] == pytest.approx(1.0)


def test_empty_and_errors() -> None:
    assert text_similarity(pl.Series([], dtype=pl.String), pl.Series([], dtype=pl.String)).height == 0
    with pytest.raises(InvalidParameterError):
        text_similarity(pl.Series(["a"]), pl.Series(["a", "b"]))
    with pytest.raises(InvalidParameterError):
        text_similarity(pl.Series(["a"]), pl.Series(["a"]), k=0)
