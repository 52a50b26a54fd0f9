"""Affect of user messages: profanity counts and sentiment, multilingual and honest about gaps.

Why this module differs from the original study (``specs/seed-study.md`` §6):

* **Profanity** is counted on whole words per language (``data/features/profanity.yaml``), so
  "hello", "class", "assignment", "Sudan" or "Dickens" count 0, "motherfucker" counts 1 and
  "putain" / "блять" / "妈的" count. The original 16-word *substring* count is kept unchanged as
  :func:`chatlens.signals.legacy.legacy_profanity_count` for the legacy profile (re-exported here).
* **Sentiment** uses VADER (English lexicon shipped in the ``vaderSentiment`` wheel) on English
  text and small per-language lexicons on the nine other supported languages, on one shared
  compound scale in [-1, 1]. For languages with no lexicon it returns a null score and says why
  in ``sentiment_method`` instead of the original's silent 0.0 ("neutral").
* VADER runs once per *unique* text, only on the rows an analysis asks for (user follow-ups),
  never on the whole corpus; in column operations where they reproduce stock VADER exactly
  (:mod:`chatlens.features._vader_columns`), else per text.
"""

from __future__ import annotations

from typing import Literal

import numpy as np
import polars as pl

from chatlens.errors import InvalidParameterError
from chatlens.features._lexicons import (
    language_code_expr,
    normalise_expr,
    phrase_regex,
    profanity_lexicon,
    sentiment_lexicon,
)
from chatlens.features._vader import vader as _vader
from chatlens.features._vader_columns import compound_columns, eligible
from chatlens.signals.legacy import legacy_profanity_count, legacy_profanity_expr
from chatlens.signals.text import is_blank

ThresholdName = Literal["default", "legacy"]

#: Output schema of :func:`sentiment`.
SENTIMENT_SCHEMA: dict[str, pl.DataType] = {
    "sentiment": pl.Float64,
    "sentiment_label": pl.String,
    "sentiment_method": pl.String,
}


# --------------------------------------------------------------------------- profanity


def profanity_expr(text: pl.Expr, language: pl.Expr | None = None) -> pl.Expr:
    """Whole-word profanity count of ``text`` (Int32); ``language`` = ISO codes or null.

    Entries listed as ``language_only`` (e.g. French "con") count only where ``language`` equals
    their language.
    """
    lex = profanity_lexicon()
    bounded, free = lex.universal_regexes()
    norm = normalise_expr(text)
    total = norm.str.count_matches(bounded) + norm.str.count_matches(free)
    if language is not None:
        for lang, words in lex.language_only.items():
            if not words:
                continue
            pat = phrase_regex(words, boundaries=lang not in lex.no_boundaries)
            total = total + pl.when(language == lang).then(norm.str.count_matches(pat)).otherwise(0)
    return total.cast(pl.Int32)


def profanity_count(texts: pl.Series, languages: pl.Series | None = None) -> pl.Series:
    """Whole-word multilingual profanity count per text (null text -> 0).

    ``languages`` may hold names ("French") or ISO codes ("fr"); the script of the text corrects
    it (see :func:`chatlens.features._lexicons.language_code_expr`).

    Examples
    --------
    >>> import polars as pl
    >>> profanity_count(pl.Series(["Hello, can you help with my class assignment?",
    ...                            "What the fuck, you useless motherfucker", "Putain, réponds !"])).to_list()
    [0, 2, 1]
    """
    frame = pl.DataFrame({"t": texts.cast(pl.String)})
    lang = None
    if languages is not None:
        if len(languages) != len(texts):
            msg = f"profanity_count: 'languages' has {len(languages)} rows, expected {len(texts)}."
            raise InvalidParameterError(msg)
        frame = frame.with_columns(l=languages.cast(pl.String))
        lang = language_code_expr(pl.col("l"), pl.col("t").fill_null(""))
    return frame.select(profanity_expr(pl.col("t"), lang).alias("profanity_count")).to_series()


# --------------------------------------------------------------------------- sentiment


def vader_compound(texts: pl.Series) -> pl.Series:
    """VADER compound per text, computed once per unique non-null text (null stays null).

    Each unique text is scored once (follow-ups like "ok thanks" or "why not?" repeat a lot in
    real logs): in column operations (:mod:`chatlens.features._vader_columns`) where they
    reproduce stock VADER exactly, else by the per-text scorer.
    """
    texts = texts.cast(pl.String)
    uniq = texts.drop_nulls().unique(maintain_order=True)
    scores = np.zeros(len(uniq))
    columns = eligible(uniq)
    scores[columns] = compound_columns(uniq.filter(pl.Series(columns)))
    rest = np.flatnonzero(~columns)
    scores[rest] = list(map(_vader().compound, uniq.gather(rest).to_list()))
    table = pl.DataFrame({"t": uniq, "s": pl.Series(scores, dtype=pl.Float64)})
    return (
        pl.DataFrame({"t": texts})
        .join(table, on="t", how="left", maintain_order="left")
        .get_column("s")
        .alias("vader_compound")
    )


def _label(score: pl.Expr, thresholds: ThresholdName) -> pl.Expr:
    th = sentiment_lexicon().thresholds[thresholds]
    return (
        pl.when(score.is_null())
        .then(None)
        .when(score < th.negative)
        .then(pl.lit("neg"))
        .when(score > th.positive)
        .then(pl.lit("pos"))
        .otherwise(pl.lit("neu"))
    )


def _lexicon_scores(frame: pl.DataFrame) -> pl.DataFrame:
    """Lexicon compound for rows whose ``code`` has a lexicon (columns ``_i``, ``s``)."""
    lex = sentiment_lexicon()
    parts = []
    for lang in sorted(lex.positive.keys() | lex.negative.keys()):
        sub = frame.filter(pl.col("code") == lang)
        if sub.height == 0:
            continue
        bounded = lang not in lex.no_boundaries
        norm = normalise_expr(pl.col("t"))
        pos_re = phrase_regex(lex.positive.get(lang, ()), boundaries=bounded)
        neg_re = phrase_regex(lex.negative.get(lang, ()), boundaries=bounded)
        negator = phrase_regex(lex.negators.get(lang, ()), boundaries=bounded)
        gap = r"\s+(?:\w+\s+)?" if bounded else ""
        pos = norm.str.count_matches(pos_re).cast(pl.Float64)
        neg = norm.str.count_matches(neg_re).cast(pl.Float64)
        # a negated positive ("no está bien", "nicht gut") counts as a negative
        flipped = norm.str.count_matches(negator + gap + pos_re).cast(pl.Float64)
        raw = (pos - 2.0 * flipped - neg) * lex.valence
        parts.append(
            sub.select(pl.col("_i"), (raw / (raw * raw + lex.alpha).sqrt()).alias("s"))
        )
    if not parts:
        return pl.DataFrame(schema={"_i": pl.UInt32, "s": pl.Float64})
    return pl.concat(parts)


def sentiment(
    texts: pl.Series,
    languages: pl.Series | None = None,
    *,
    thresholds: ThresholdName = "default",
) -> pl.DataFrame:
    """Sentiment per text: ``sentiment`` (compound in [-1, 1]), ``sentiment_label``, ``sentiment_method``.

    ``sentiment_method`` is one of ``vader`` (English), ``vader:language-unknown`` (no language
    label and Latin script — scored with VADER, flagged), ``lexicon-<code>`` (the small lexicon of
    that language), ``none:unsupported-language:<code>`` (null score: no scorer for that
    language) or ``none:empty-text`` (null or blank text). Labels use the thresholds of
    ``data/features/sentiment.yaml`` (``legacy`` = ±0.05).

    Examples
    --------
    >>> import polars as pl
    >>> out = sentiment(pl.Series(["Thanks, that's great!", "Espèce d'idiot, c'est nul", "Dank je"]),
    ...                 pl.Series(["English", "French", "Dutch"]))
    >>> out["sentiment_label"].to_list(), out["sentiment_method"].to_list()
    (['pos', 'neg', None], ['vader', 'lexicon-fr', 'none:unsupported-language:nl'])
    """
    if thresholds not in ("default", "legacy"):
        msg = f"The 'thresholds' parameter of sentiment must be 'default' or 'legacy'. Got {thresholds!r} instead."
        raise InvalidParameterError(msg)
    texts = texts.cast(pl.String)
    if languages is None:
        languages = pl.Series([None] * len(texts), dtype=pl.String)
    if len(languages) != len(texts):
        msg = f"sentiment: 'languages' has {len(languages)} rows, expected {len(texts)}."
        raise InvalidParameterError(msg)
    lex = sentiment_lexicon()
    has_lexicon = sorted(lex.positive.keys() | lex.negative.keys())
    frame = (
        pl.DataFrame({"t": texts, "l": languages.cast(pl.String)})
        .with_row_index("_i")
        .with_columns(code=language_code_expr(pl.col("l"), pl.col("t").fill_null("")))
    )
    empty = is_blank(pl.col("t"))
    frame = frame.with_columns(
        method=pl.when(empty)
        .then(pl.lit("none:empty-text"))
        .when(pl.col("code") == "en")
        .then(pl.lit("vader"))
        .when(pl.col("code").is_null())
        .then(pl.lit("vader:language-unknown"))
        .when(pl.col("code").is_in(has_lexicon))
        .then(pl.lit("lexicon-") + pl.col("code"))
        .otherwise(pl.lit("none:unsupported-language:") + pl.col("code"))
    )
    is_vader = pl.col("method").str.starts_with("vader")
    vader_rows = frame.filter(is_vader)
    vader = vader_rows.select(pl.col("_i"), s=vader_compound(vader_rows.get_column("t")))
    lexi = _lexicon_scores(frame.filter(pl.col("method").str.starts_with("lexicon-")))
    scores = pl.concat([vader, lexi.with_columns(pl.col("_i").cast(vader.schema["_i"]))])
    out = frame.join(scores, on="_i", how="left").sort("_i")
    return out.select(
        pl.col("s").cast(pl.Float64).alias("sentiment"),
        _label(pl.col("s"), thresholds).alias("sentiment_label"),
        pl.col("method").alias("sentiment_method"),
    )


__all__ = [
    "SENTIMENT_SCHEMA",
    "legacy_profanity_count",
    "legacy_profanity_expr",
    "profanity_count",
    "profanity_expr",
    "sentiment",
    "vader_compound",
]
