"""VADER compound scores of many texts at once, in column operations (no Python per text).

Why: after :mod:`chatlens.features._vader` removed stock VADER's quadratic work, what was left
was the Python per text (splitting, stripping and lower-casing every word): about a third of the
behaviour stage on LMSYS-shaped logs, where one follow-up per conversation is scored. Here the
words of every text are found, stripped and looked up in one pass of polars/numpy expressions,
and each rule of :meth:`WindowedVader.compound` (stock VADER 3.3.2's rules, in the stock order)
is one vectorised step over the positions of the lexicon words, reading their neighbours by
offset.

Exactly stock VADER, by construction and by test: a text is scored here only where every rule
has a vectorised twin; the others go to :func:`chatlens.features._vader.vader`'s ``compound``:

* texts with a non-ASCII character (Python's and polars' Unicode case mappings and ``isupper``
  may differ there; every emoji is non-ASCII, and VADER rewrites emoji into words);
* texts with the word "but" (stock ``_but_check`` rescales scores through ``list.index``, whose
  result depends on repeated values);
* texts holding one of the multi-word lexicon keys VADER's idiom check reads (``SPECIAL_CASES``
  and the multi-word boosters such as "kind of": a superset of where that check can act).

Scores are summed per text in word order (``np.bincount`` adds in input order, as Python's
``sum`` does) and rounded with Python's ``round``, so the numbers are the same floats.
"""

from __future__ import annotations

import string
from functools import cache
from typing import Any

import numpy as np
import polars as pl

#: One word of Python's ``str.split()`` on ASCII text (``\\x1c``-``\\x1f`` are whitespace too).
_TOKEN = r"[^\s\x1c-\x1f]+"
#: ``string.punctuation`` as a character class (the ASCII punctuation VADER strips).
_PUNCTUATION_CLASS = r"[!-/:-@\[-`{-~]"
#: Words that decide a rule when they sit next to a lexicon word.
_MARKERS = ("no", "or", "nor", "never", "so", "this", "without", "doubt", "least", "at", "very",
            "kind", "of", "but")


@cache
def _tables() -> dict[str, Any]:
    """The lexicon, booster, negation and multi-word tables, as polars frames keyed by word."""
    from vaderSentiment.vaderSentiment import (
        BOOSTER_DICT,
        C_INCR,
        N_SCALAR,
        NEGATE,
        SPECIAL_CASES,
    )

    from chatlens.features._vader import vader

    lexicon = vader().lexicon
    multi = sorted(k for k in (*SPECIAL_CASES, *BOOSTER_DICT) if " " in k)
    words = sorted(set(lexicon) | set(BOOSTER_DICT) | set(NEGATE) | set(_MARKERS))
    table = pl.DataFrame(
        {
            "lower": words,
            "lex": [lexicon.get(w) for w in words],
            "boost": [BOOSTER_DICT.get(w) for w in words],
            "negate": [w in NEGATE for w in words],
            "marker": [_MARKERS.index(w) if w in _MARKERS else -1 for w in words],
        },
        schema_overrides={"lex": pl.Float64, "boost": pl.Float64, "marker": pl.Int8},
    )
    return {"table": table, "multi": multi, "c_incr": C_INCR, "n_scalar": N_SCALAR}


def eligible(texts: pl.Series) -> np.ndarray:
    """Which texts :func:`compound_columns` scores exactly (see the module docstring)."""
    t = texts.fill_null("")
    ascii_only = (t.str.len_bytes() == t.str.len_chars()).to_numpy()
    # VADER strips punctuation off a word's ends, so on the text with every punctuation mark a
    # space, a stripped word is a whitespace-delimited run: "but", or the words of a multi-word
    # key one after the other, can only be read where these patterns match (a superset)
    spaced = t.str.to_lowercase().str.replace_all(_PUNCTUATION_CLASS + r"|[\x1c-\x1f]", " ")
    keys = "|".join(k.replace(" ", r"\s+") for k in ("but", *_tables()["multi"]))
    risky = spaced.str.contains(rf"(?:^|\s)(?:{keys})(?:\s|$)")
    return ascii_only & ~risky.to_numpy()


def compound_columns(texts: pl.Series) -> np.ndarray:
    """Stock VADER compound of each text; every text must be :func:`eligible`."""
    tables = _tables()
    c_incr, n_scalar = tables["c_incr"], tables["n_scalar"]
    n_texts = len(texts)
    words = (
        texts.fill_null("")
        .str.extract_all(_TOKEN)
        .to_frame("w")
        .with_row_index("text")
        .explode("w")
        .drop_nulls("w")
    )
    stripped = pl.col("w").str.strip_chars(string.punctuation)
    words = words.with_columns(
        w=pl.when(stripped.str.len_chars() > 2).then(stripped).otherwise(pl.col("w"))
    ).with_columns(
        lower=pl.col("w").str.to_lowercase(),
        upper=pl.col("w").str.contains("[A-Z]") & ~pl.col("w").str.contains("[a-z]"),
    )
    words = words.join(tables["table"], on="lower", how="left", maintain_order="left").select(
        pl.col("text").cast(pl.Int64),
        "upper",
        pl.col("lex").fill_null(np.nan),
        pl.col("boost").is_not_null().alias("in_boost"),
        pl.col("boost").fill_null(0.0),
        (pl.col("negate").fill_null(value=False) | pl.col("lower").str.contains("n't", literal=True))
        .alias("negate"),
        pl.col("marker").fill_null(-1),
    )
    text = words["text"].to_numpy()
    n_words = np.bincount(text, minlength=n_texts)
    start = np.concatenate([[0], np.cumsum(n_words)[:-1]])
    pos = np.arange(len(text)) - start[text]  # index of each word in its text
    size = n_words[text]
    upper = words["upper"].to_numpy()
    allcaps = np.bincount(text, weights=upper, minlength=n_texts)
    cap_diff = ((allcaps > 0) & (allcaps < n_words))[text]
    lex, boost = words["lex"].to_numpy(), words["boost"].to_numpy()
    in_lex = ~np.isnan(lex)
    in_boost, neg = words["in_boost"].to_numpy(), words["negate"].to_numpy()
    marker = words["marker"].to_numpy()
    flag = {m: marker == k for k, m in enumerate(_MARKERS)}

    def at(values: np.ndarray, i: np.ndarray, k: int, ok: np.ndarray) -> np.ndarray:
        """``values`` at word ``i + k`` where ``ok`` (the neighbour exists), else False/0."""
        out = np.zeros(len(i), dtype=values.dtype)
        out[ok] = values[i[ok] + k]
        return out

    # the lexicon words that are scored: not boosters, not "kind" in "kind of"
    nxt_of = np.zeros(len(text), dtype=bool)
    nxt_of[:-1] = flag["of"][1:] & (pos[:-1] < size[:-1] - 1)
    i = np.flatnonzero(in_lex & ~in_boost & ~(flag["kind"] & nxt_of))
    p, n = pos[i], size[i]
    has = {k: p >= k for k in (1, 2, 3)}
    valence = lex[i].copy()
    last = p == n - 1
    valence[flag["no"][i] & ~last & at(in_lex, i, 1, ~last)] = 0.0
    after_no = (
        at(flag["no"], i, -1, has[1]) | at(flag["no"], i, -2, has[2])
        | (at(flag["no"], i, -3, has[3]) & (at(flag["or"], i, -1, has[3])
                                            | at(flag["nor"], i, -1, has[3])))
    )
    valence = np.where(after_no, lex[i] * n_scalar, valence)
    caps = upper[i] & cap_diff[i]
    valence = np.where(caps, np.where(valence > 0, valence + c_incr, valence - c_incr), valence)
    so_this = {k: at(flag["so"], i, k, has[-k]) | at(flag["this"], i, k, has[-k])
               for k in (-1, -2)}
    for start_i in range(3):
        k = -(start_i + 1)
        ok = has[start_i + 1] & ~at(in_lex, i, k, has[start_i + 1])
        scalar = at(boost, i, k, ok)
        scalar = np.where(valence < 0, -scalar, scalar)
        up = at(upper, i, k, ok) & cap_diff[i]
        scalar = np.where(up & at(in_boost, i, k, ok),
                          np.where(valence > 0, scalar + c_incr, scalar - c_incr), scalar)
        scalar = np.where(at(in_boost, i, k, ok), scalar, 0.0)
        if start_i == 1:
            scalar = np.where(scalar != 0, scalar * 0.95, scalar)
        if start_i == 2:
            scalar = np.where(scalar != 0, scalar * 0.9, scalar)
        valence = np.where(ok, valence + scalar, valence)
        if start_i == 0:
            factor = np.where(at(neg, i, -1, ok), n_scalar, 1.0)
        elif start_i == 1:
            never_so = at(flag["never"], i, -2, ok) & so_this[-1]
            without_doubt = at(flag["without"], i, -2, ok) & at(flag["doubt"], i, -1, ok)
            factor = np.where(never_so, 1.25, np.where(
                without_doubt, 1.0, np.where(at(neg, i, -2, ok), n_scalar, 1.0)))
        else:
            never_so = (at(flag["never"], i, -3, ok) & so_this[-2]) | so_this[-1]
            without_doubt = at(flag["without"], i, -3, ok) & (
                at(flag["doubt"], i, -2, ok) | at(flag["doubt"], i, -1, ok))
            factor = np.where(never_so, 1.25, np.where(
                without_doubt, 1.0, np.where(at(neg, i, -3, ok), n_scalar, 1.0)))
        valence = np.where(ok & (factor != 1.0), valence * factor, valence)
    # _least_check
    least = at(flag["least"], i, -1, has[1]) & ~at(in_lex, i, -1, has[1])
    at_very = at(flag["at"], i, -2, has[2]) | at(flag["very"], i, -2, has[2])
    valence = np.where(least & (~has[2] | ~at_very), valence * n_scalar, valence)

    total = np.bincount(text[i], weights=valence, minlength=n_texts)
    filled = texts.fill_null("")
    bangs = np.minimum(filled.str.count_matches("!", literal=True).to_numpy(), 4)
    marks = filled.str.count_matches("?", literal=True).to_numpy()
    emphasis = bangs * 0.292 + np.where(marks > 1, np.where(marks <= 3, marks * 0.18, 0.96), 0)
    total = np.where(total > 0, total + emphasis, np.where(total < 0, total - emphasis, total))
    score = np.clip(total / np.sqrt(total * total + 15), -1.0, 1.0)
    return np.asarray([round(float(s), 4) for s in score], dtype=np.float64)
