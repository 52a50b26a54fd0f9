"""The numpy n-gram hashing: code points read from the Arrow buffer, not from Python strings."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest

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


def test_char_ngrams_count_every_window_inside_a_text_with_and_without_nul():
    """Per text, one entry per window of each size that lies inside it and holds no NUL (the
    count without NULs is computed in closed form, with them per start position)."""
    import re

    def windows(text: str | None, sizes: tuple[int, ...]) -> int:
        t = re.sub(r"\s+", " ", text or "")
        return sum(all(c != "\x00" for c in t[i:i + k]) for k in set(sizes)
                   for i in range(len(t) - k + 1))

    for texts in (["abcdef", "", "ab", "a  b\tc\n\nd", "日本語テキスト", None, "x" * 9],
                  ["ab\x00cdef", "\x00", "abc", "a\x00\x00bcd"]):
        for sizes in ((3, 4, 5), (1, 3, 3)):
            x = char_ngrams(pl.Series(texts, dtype=pl.String), 1 << 12, sizes=sizes)
            expect = [windows(t, sizes) for t in texts]
            assert [int(x[i].getnnz()) for i in range(len(texts))] == expect
            got = [float(x[i].sum()) ** 2 if expect[i] else 0.0 for i in range(len(texts))]
            assert np.allclose(got, expect)


def test_word_ngrams_count_unigrams_and_bigrams_per_text():
    x = word_ngrams(pl.Series(TEXTS), 1 << 12)
    # the emoji is no word: "日本語 😀 x" has two words and one bigram
    assert [int(x[i].getnnz()) for i in range(len(TEXTS))] == [3, 0, 0, 3, 3, 3]


TRICKY = [
    "I can't help",
    "'quoted' words''",
    "''' ' '' x'y''z'",
    "rock 'n' roll",
    "a'",
    "'a",
    "İstanbul İİ ŞŞ",
    "naïve café e\u0301t\u00e9",
    "日本語の文章 와 한국어",
    "emoji 😀😀 x😀y",
    "a\x00b\x00'c'",
    "under_score __x__ 12_3",
    "ЗДРАВСТВУЙ мир",
    "\u200cپرسش\u200dها",
    "",
    None,
    "x" * 70,
    ("word's " * 40).strip(),
    "Ａ全角ＡＢ",
    "\u0663\u0664 digits ١٢٣",
]


def _extract_all_reference(
    texts: pl.Series, n_features: int, pattern: str, *, bigrams: bool
) -> object:
    """word_ngrams through polars extract_all, one string per token (the previous path)."""
    import chatlens.signals.ngrams as ng

    fast = ng._FAST_TOKENS
    ng._FAST_TOKENS = {}
    try:
        return ng.word_ngrams(texts, n_features, pattern=pattern, bigrams=bigrams)
    finally:
        ng._FAST_TOKENS = fast


@pytest.mark.parametrize("pattern", [r"\w[\w']*", r"\w(?:[\w']*\w)?", r"\w\w+"])
@pytest.mark.parametrize("chunk", [1 << 18, 7])
def test_word_ngrams_token_runs_equal_extract_all(monkeypatch, pattern, chunk):
    import chatlens.signals.ngrams as ng

    monkeypatch.setattr(ng, "_CHUNK_CHARS", chunk)  # 7: many chunks, texts longer than one
    texts = pl.Series(TRICKY * 3, dtype=pl.String)
    for bigrams in (True, False):
        got = word_ngrams(texts, 1 << 12, pattern=pattern, bigrams=bigrams)
        want = _extract_all_reference(texts, 1 << 12, pattern, bigrams=bigrams)
        assert np.array_equal(got.indptr, want.indptr)
        assert np.array_equal(got.indices, want.indices)
        assert np.array_equal(got.data, want.data)


def test_run_chars_follow_the_regex_engine():
    import chatlens.signals.ngrams as ng

    words, with_apostrophe = ng._run_chars(False), ng._run_chars(True)
    assert words[ord("a")] and words[ord("_")] and words[0x0663] and not words[ord("'")]
    assert with_apostrophe[ord("'")] and not with_apostrophe[0] and not words[ord(" ")]
    assert (with_apostrophe >= words).all() and with_apostrophe.sum() == words.sum() + 1


def test_bucket_is_the_remainder():
    import chatlens.signals.ngrams as ng

    h = np.random.default_rng(0).integers(0, 2**63, 10_000, dtype=np.uint64) * np.uint64(3)
    for n in (2**16, 2**13, 2**10, 1000, 7):
        assert np.array_equal(ng._bucket(h, n), h % np.uint64(n))
