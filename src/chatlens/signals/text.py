"""Text normalisation and masking shared by the detectors (vectorised polars expressions).

Why: cue lexicons are written once, in lower case with ASCII apostrophes. The input is brought to
that form here: Unicode case folding (``str.to_lowercase`` handles Cyrillic, Greek, accented
Latin…), curly apostrophes and quotes straightened, Markdown emphasis removed (``**I cannot**``).
Masking removes text the assistant did not say in its own voice, so refusal phrases inside it must
not count: fenced and inline code, and short quoted passages (dialogue, titles, quoted prompts).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import polars as pl

_APOSTROPHES = r"[\u2019\u2018\u02bc\u00b4\u2032]"
_SPACES = r"[\u00a0\u1680\u2000-\u200b\u202f\u205f\u3000]"
_QUOTES = r"[\u201c\u201d\u201e\u00ab\u00bb\u300c\u300d\u300e\u300f]"


#: A text of nothing but Unicode whitespace and the characters that show nothing without being
#: whitespace: zero-width space, non-joiner and joiner, word joiner, byte-order mark, soft hyphen.
_BLANK = "^[\\s\u200b\u200c\u200d\u2060\ufeff\u00ad]*$"


def is_blank(expr: pl.Expr) -> pl.Expr:
    r"""Null, empty, or nothing but whitespace and invisible characters: a message that says
    nothing (a zero-width space alone was read as a follow-up, and the reaction model called it
    pushback).

    >>> pl.select(is_blank(pl.Series(["", " \u200b \n", None, "ok", "\u200bok"]))).to_series().to_list()
    [True, True, True, False, False]
    """
    # one anchored match, no copy: it stops at the first visible character (this runs over
    # every message of a partition)
    return expr.fill_null("").str.contains(_BLANK)


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
    whole = (
        stripped.str.starts_with('"')
        & stripped.str.ends_with('"')
        & (stripped.str.count_matches('"', literal=True) == 2)
    )
    masked = expr.str.replace_all(r'"[^"\n]{1,400}"', ' "[quote]" ').str.replace_all(
        r"(?m)^[ \t]*[\u2014\u2015][^\n]{1,400}", " [dialogue] "
    )
    return pl.when(whole).then(expr).otherwise(masked)


def prepare(expr: pl.Expr) -> pl.Expr:
    """Normalise, then mask code and quotes, then trim: the text cue lexicons are matched on."""
    return mask_quotes(mask_code(normalise(expr))).str.strip_chars()


def prepare_series(texts: pl.Series) -> pl.Series:
    """:func:`prepare` applied in materialised stages, each regex only on the rows it can change.

    Why: the character-class replacements and the dialogue mask scan every byte of every text
    slowly (their first bytes are common in CJK and typographic text), yet most rows contain none
    of the characters they act on. Each stage here runs only on the rows that contain a byte
    sequence the stage needs to change anything (a fast literal search), and leaves the others as
    they are, so the result is exactly :func:`prepare` (tested against it).
    """
    col = pl.col("t")
    s = normalise_series(texts)
    code = s.to_frame("t").select(
        col.str.contains("`", literal=True) | col.str.contains("~~~", literal=True)
    )["t"]
    s = _on_rows(s, code, mask_code)
    quoted = s.to_frame("t").select(
        col.str.contains('"', literal=True)
        | col.str.contains("\u2014", literal=True)
        | col.str.contains("\u2015", literal=True)
    )["t"]
    s = _on_rows(s, quoted, mask_quotes)
    return s.to_frame("t").select(col.str.strip_chars())["t"]


def normalise_series(texts: pl.Series) -> pl.Series:
    """:func:`normalise` applied as :func:`prepare_series` applies its stages: each replacement
    only on the rows it can change (the result is exactly :func:`normalise`'s, tested)."""
    col = pl.col("t")
    s = texts.to_frame("t").select(col.fill_null("").str.to_lowercase())["t"]
    # Apostrophes, quotes and Unicode spaces all start with one of these UTF-8 lead sequences,
    # which only a text with a non-ASCII character holds.
    binary = pl.col("t").bin
    rows = (s.str.len_bytes() != s.str.len_chars()).arg_true()
    lead = pl.Series("t", np.zeros(len(s), dtype=bool))
    if len(rows):
        lead = lead.scatter(
            rows,
            s.gather(rows)
            .cast(pl.Binary)
            .to_frame("t")
            .select(pl.any_horizontal(binary.contains(b) for b in _TYPOGRAPHIC_LEADS).alias("t"))[
                "t"
            ],
        )
    s = _on_rows(
        s,
        lead,
        lambda e: (
            e.str.replace_all(_APOSTROPHES, "'")
            .str.replace_all(_QUOTES, '"')
            .str.replace_all(_SPACES, " ")
        ),
    )
    emphasis = s.to_frame("t").select(
        col.str.contains("*", literal=True) | col.str.contains("__", literal=True)
    )["t"]
    return _on_rows(s, emphasis, lambda e: e.str.replace_all(r"\*+|__+", ""))


#: UTF-8 lead bytes of every character in _APOSTROPHES, _QUOTES and _SPACES:
#: U+00A0-00BF (C2), U+02BC (CA BC), U+1680 (E1 9A), U+2000-207F (E2 80, E2 81), U+3000-303F (E3 80).
_TYPOGRAPHIC_LEADS = (b"\xc2", b"\xca\xbc", b"\xe1\x9a", b"\xe2\x80", b"\xe2\x81", b"\xe3\x80")


def _on_rows(s: pl.Series, rows: pl.Series, stage: Callable[[pl.Expr], pl.Expr]) -> pl.Series:
    """``stage`` applied to the rows where ``rows`` is true (the others are left unchanged)."""
    idx = rows.arg_true()
    if len(idx) == 0:
        return s
    changed = s.gather(idx).to_frame("t").select(stage(pl.col("t")))["t"]
    return s.clone().scatter(idx, changed)
