"""Structure counts of the learned jailbreak tier: the ASCII class map gives the regex's counts."""

from __future__ import annotations

import numpy as np
import polars as pl

from chatlens.signals.jailbreak_features import (
    ASCII_CLASS_GROUPS,
    STRUCTURE,
    ascii_classes,
    structure_counts,
)

TRICKY = [
    "def f(x):\n    return x == 1;\n",
    "éimport os; ßdef g(): ñ(1) 日本(2) print(3)",
    "def\u00a0x import\u3000y var\u2003z const\u00a0w",
    "x =>\u00a0\n{ }\u2028;\u3000\n",
    "<div>été</div> <é> self.x çself.y",
    "return\u0301 function_ réturn function",
    "\u0663( \u00b2( _( ٣import",
    "",
    "plain prose without any code at all, you know",
]


def _reference(texts: pl.Series) -> np.ndarray:
    return (
        texts.to_frame("t")
        .select(pl.col("t").str.count_matches(rx).alias(name) for name, rx in STRUCTURE)
        .to_numpy()
        .astype(np.float64)
    )


def test_structure_counts_equal_the_regexes_on_unicode_text():
    texts = pl.Series(TRICKY * 2)
    got = structure_counts(texts)
    assert np.array_equal(got, _reference(texts))
    assert got[:, [n for n, _ in STRUCTURE].index("code")].sum() > 10


def test_ascii_classes_keep_length_and_ascii_rows():
    texts = pl.Series(TRICKY)
    mapped = ascii_classes(texts)
    assert mapped.str.len_chars().to_list() == texts.str.len_chars().to_list()
    assert (mapped.str.len_bytes() == mapped.str.len_chars()).all()
    assert mapped[0] == texts[0] and mapped[2] == "def\x0bx import\x0by var\x0bz const\x0bw"


def test_ascii_class_groups_use_only_class_safe_syntax():
    # what ascii_classes' equivalence needs: no \d, no unescaped '.', no negated class, and no
    # literal stand-in character
    for name, rx in STRUCTURE:
        if name in ASCII_CLASS_GROUPS:
            assert rx.isascii() and "\\d" not in rx and "[^" not in rx
            assert "." not in rx.replace("\\.", "") and "_" not in rx
