"""The numpy n-gram hashing: code points read from the Arrow buffer, not from Python strings."""

from __future__ import annotations

import numpy as np
import polars as pl

from chatlens.signals.ngrams import char_ngrams, code_points, word_ngrams

TEXTS = ["abc déf", None, "", "日本語 😀 x", "a\x00b", "  spaced   out  "]


def _reference(texts: list[str | None]) -> np.ndarray:
    joined = "".join(t or "" for t in texts)
    return np.frombuffer(joined.encode("utf-32-le"), dtype=np.uint32).astype(np.uint64)


def test_code_points_match_the_python_encoding_on_sliced_and_chunked_series():
    s = pl.concat([pl.Series(TEXTS[:3]), pl.Series(TEXTS[3:])], rechunk=False)
    assert np.array_equal(code_points(s), _reference(TEXTS))
    assert np.array_equal(code_points(s.slice(3, 2)), _reference(TEXTS[3:5]))
    assert len(code_points(pl.Series([], dtype=pl.String))) == 0
    assert len(code_points(pl.Series([None, None], dtype=pl.String))) == 0


def test_char_ngrams_do_not_cross_texts():
    x = char_ngrams(pl.Series(["ab", "cd"]), 1 << 12, sizes=(3,))
    assert x.getnnz() == 0  # "ab" + sep + "cd" has no 3-gram inside one text
    y = char_ngrams(pl.Series(["abc", "abc"]), 1 << 12, sizes=(3,))
    assert (y[0] != y[1]).nnz == 0 and y[0].getnnz() == 1


def test_word_ngrams_count_unigrams_and_bigrams_per_text():
    x = word_ngrams(pl.Series(TEXTS), 1 << 12)
    # the emoji is no word: "日本語 😀 x" has two words and one bigram
    assert [int(x[i].getnnz()) for i in range(len(TEXTS))] == [3, 0, 0, 3, 3, 3]
