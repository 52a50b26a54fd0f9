"""Text normalisation and masking shared by the detectors (vectorised polars expressions).

Why: cue lexicons are written once, in lower case with ASCII apostrophes. The input is brought to
that form here: Unicode case folding (``str.to_lowercase`` handles Cyrillic, Greek, accented
Latin…), curly apostrophes and quotes straightened, Markdown emphasis removed (``**I cannot**``).
Masking removes text the assistant did not say in its own voice, so refusal phrases inside it must
not count: fenced and inline code, and short quoted passages (dialogue, titles, quoted prompts).
"""

from __future__ import annotations

import polars as pl

_APOSTROPHES = r"[\u2019\u2018\u02bc\u00b4\u2032]"
_SPACES = r"[\u00a0\u1680\u2000-\u200b\u202f\u205f\u3000]"
_QUOTES = r"[\u201c\u201d\u201e\u00ab\u00bb\u300c\u300d\u300e\u300f]"


def normalise(expr: pl.Expr) -> pl.Expr:
    """Case-fold, straighten quotes and apostrophes, drop Markdown emphasis; null → ""."""
    return (
        expr.fill_null("")
        .str.to_lowercase()
        .str.replace_all(_APOSTROPHES, "'")
        .str.replace_all(_QUOTES, '"')
        .str.replace_all(_SPACES, " ")
        .str.replace_all(r"\*+|__+", "")
    )


def mask_code(expr: pl.Expr) -> pl.Expr:
    """Blank out fenced code blocks (closed or running to the end) and inline code spans."""
    return (
        expr.str.replace_all(r"(?s)```.*?(?:```|$)", " [code] ")
        .str.replace_all(r"~~~[^~]*~~~", " [code] ")
        .str.replace_all(r"`[^`\n]{1,200}`", " [code] ")
    )


def mask_quotes(expr: pl.Expr) -> pl.Expr:
    """Blank out short quoted passages: double quotes (dialogue, titles, quoted requests) and
    dialogue lines opened by an em dash (the Spanish/Portuguese/French/Russian convention).

    A message that is entirely one quotation is left alone: models sometimes wrap their whole
    answer in quotes, and that is still their own voice.
    """
    stripped = expr.str.strip_chars()
    whole = stripped.str.starts_with('"') & stripped.str.ends_with('"') & (
        stripped.str.count_matches('"', literal=True) == 2
    )
    masked = expr.str.replace_all(r'"[^"\n]{1,400}"', ' "[quote]" ').str.replace_all(
        r"(?m)^[ \t]*[\u2014\u2015][^\n]{1,400}", " [dialogue] "
    )
    return pl.when(whole).then(expr).otherwise(masked)


def prepare(expr: pl.Expr) -> pl.Expr:
    """Normalise, then mask code and quotes, then trim: the text cue lexicons are matched on."""
    return mask_quotes(mask_code(normalise(expr))).str.strip_chars()


def prepare_series(texts: pl.Series) -> pl.Series:
    """:func:`prepare` applied in materialised stages (no step is computed twice)."""
    frame = texts.to_frame("t").select(mask_code(normalise(pl.col("t"))).alias("t"))
    return frame.select(mask_quotes(pl.col("t")).str.strip_chars())["t"]
