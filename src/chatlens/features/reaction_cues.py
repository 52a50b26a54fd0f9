"""The reaction model's cue features: phrase lists → one regex per category, and a fast match.

Why apart from :mod:`chatlens.features.reaction_model`: the cues are data (``reactions.yaml``
for the rule categories, ``reaction_model.yaml`` for the context ones), and matching them is the
costly part of featurising a follow-up; the model only reads the booleans.
"""

from __future__ import annotations

from functools import cache

import polars as pl

CUES_FILE = "features/reaction_model.yaml"
#: Categories anchored at the start of the text.
OPENERS = ("answer_opener", "request_opener")
_CATEGORIES = ("asks_info", "jailbreak", "insist", *OPENERS)


@cache
def _cue_phrases() -> tuple[str, dict[str, list[str]], dict[str, list[str]]]:
    """(cue-file version, category → phrases matched as whole words, → phrases matched anywhere).

    The rule categories come from ``reactions.yaml``; the context categories from
    ``reaction_model.yaml``.
    """
    from chatlens import datafiles
    from chatlens.features._lexicons import reaction_lexicon
    from chatlens.vocabulary import REACTION_CUE_CATEGORIES

    doc = datafiles.load(CUES_FILE)
    bounded: dict[str, list[str]] = {c: [] for c in (*_CATEGORIES, *REACTION_CUE_CATEGORIES)}
    unbounded: dict[str, list[str]] = {c: [] for c in bounded}
    for lang, cats in doc.languages.items():
        for c, phrases in cats.items():
            (unbounded if lang in doc.no_boundaries else bounded)[c].extend(phrases)
    rule = reaction_lexicon()
    for lang, cats in rule.languages.items():
        for c, phrases in cats.items():
            (unbounded if lang in rule.no_boundaries else bounded)[c].extend(phrases)
    return f"{rule.version}+{doc.version}", bounded, unbounded


@cache
def cue_regexes() -> tuple[str, dict[str, str]]:
    """(cue-file version, category → regex over every language) for the model's cue features.

    Opener categories are anchored at the start of the text (and use the whole-word phrases).
    """
    return _cue_phrases()[0], _category_regexes(word_boundaries=True)


@cache
def _relaxed_regexes() -> dict[str, str]:
    """Category → :func:`cue_regexes`' pattern without its word boundaries: it matches wherever
    the exact pattern does (dropping a zero-width assertion only allows more), and the regex
    engine runs it in its fast automaton on any text, which Unicode word boundaries prevent
    past the first non-ASCII character."""
    return _category_regexes(word_boundaries=False)


def _category_regexes(*, word_boundaries: bool) -> dict[str, str]:
    from chatlens.features._lexicons import phrase_regex

    _, bounded, unbounded = _cue_phrases()
    out = {}
    for c in bounded:
        b = phrase_regex(tuple(bounded[c]), boundaries=word_boundaries)
        u = phrase_regex(tuple(unbounded[c]), boundaries=False)
        out[c] = rf"^[\s\W]*{b}" if c in OPENERS else f"{b}|{u}"
    return out


@cache
def _cue_words() -> dict[str, list[str] | None]:
    """Category → words of which every match of its :func:`cue_regexes` pattern contains one
    (the longest word of each phrase; a phrase's words are joined by ``\\s+`` in the pattern),
    or ``None`` when some phrase has no word."""
    _, bounded, unbounded = _cue_phrases()
    out: dict[str, list[str] | None] = {}
    for c in bounded:
        phrases = bounded[c] if c in OPENERS else [*bounded[c], *unbounded[c]]
        words = [max(p.split(), key=len, default="") for p in phrases]
        out[c] = None if "" in words else sorted(set(words))
    return out


def cue_hits(texts: pl.Series, category: str) -> pl.Series:
    """``texts.str.contains(cue_regexes()[1][category])`` (texts normalised), with the regex run
    only on the texts holding one of the category's words (:func:`_cue_words`).

    Why: the cue patterns are alternations of thousands of phrases with Unicode word boundaries,
    which the regex engine runs at a few MB/s; a multi-word literal search (Aho-Corasick) finds
    the few texts where a phrase can match at a hundred times that, and the pattern without its
    boundaries (:func:`_relaxed_regexes`, fast automaton) the fewer where it can match as
    written. Same result (tested).
    """
    pattern = cue_regexes()[1][category]
    words = _cue_words()[category]
    if not words:
        return texts.str.contains(pattern)
    maybe = texts.str.contains_any(words).fill_null(value=False)
    candidates = texts.filter(maybe)
    hits = candidates.str.contains(_relaxed_regexes()[category])
    near = hits.arg_true()
    if len(near):
        hits = hits.scatter(near, candidates.gather(near).str.contains(pattern))
    out = pl.Series(texts.name, [False] * len(texts), dtype=pl.Boolean)
    out = out.scatter(maybe.arg_true(), hits) if len(hits) else out
    return out.set(texts.is_null(), None) if texts.null_count() else out


__all__ = ["CUES_FILE", "OPENERS", "cue_hits", "cue_regexes"]
