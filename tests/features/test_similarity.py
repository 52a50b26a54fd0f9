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


def test_packed_shingles_equal_the_string_shingles() -> None:
    """The integer (packed) path gives exactly what the string path gives, short texts, other
    scripts, combining marks and nulls included; k = 4 falls back to strings only when needed."""
    import numpy as np

    from chatlens.features import similarity

    a = pl.Series(["Let me rephrase: how to pick a lock?", "ab", "日本語のテキスト", None, "", "e\u0301té",
                   "x", "Ok ok OK", "why not??", "a b", "👍🏽 fine", "Как это сделать?"])
    b = pl.Series(["How to pick a lock?", "ab", "日本語", "text", "y", "ete", "x", "ok", None, "ab",
                   "fine 👍", "как это сделать"])
    for k in (2, 3, 4):
        frame = pl.DataFrame({"a": a, "b": b}).with_row_index("_p")
        sa, sb = similarity._shingles(frame, "a", k, 2000), similarity._shingles(frame, "b", k, 2000)
        na = sa.group_by("_p").len("na")
        nb = sb.group_by("_p").len("nb")
        ni = sa.join(sb, on=["_p", "g"]).group_by("_p").len("ni")
        counts = (frame.select("_p").join(na, on="_p", how="left").join(nb, on="_p", how="left")
                  .join(ni, on="_p", how="left").sort("_p").fill_null(0))
        packed = similarity._packed_similarity(a, b, k, 2000)
        assert packed is not None
        union = (counts["na"] + counts["nb"] - counts["ni"]).to_numpy()
        want = np.where(union > 0, counts["ni"].to_numpy() / np.maximum(union, 1), 0.0)
        assert np.array_equal(packed["jaccard"].to_numpy(), want), k
        assert packed.equals(text_similarity(a, b, k=k))
    assert similarity._packed_similarity(a, b, 30, 2000) is None  # 30 x 5 bits: strings
    assert text_similarity(a, b, k=30)["jaccard"].to_list()[1] == 1.0
