"""Data files of the features layer: loading, validation and regex building.

Why a private module: reactions, affect and the legacy profile all read small YAML lexicons from
``chatlens/data/features/`` and turn lists of literal phrases into one Rust-regex alternation per
(language, category), evaluated by polars over whole columns. Keeping the parsing and the regex
construction in one place means a phrase is escaped, case-folded and bounded the same way
everywhere. The files themselves are loaded and validated by :mod:`chatlens.datafiles` (a
malformed file fails with a :class:`~chatlens.errors.DataFileError` naming the file and key).

Matching rules shared by every lexicon
--------------------------------------
* Texts are normalised with :func:`normalise_expr`: lower-cased (Unicode), curly apostrophes and
  quotes straightened. Phrases are written lower-case with ASCII apostrophes.
* Phrases are literal; spaces in a phrase match any run of whitespace.
* Whole-word matching puts ``\\b`` on each side of a phrase *whose end is a word character* (so
  ``"why not?"`` still matches before a line end), except for languages listed under
  ``no_boundaries`` (Chinese, Japanese, Korean where configured), matched anywhere.
* Alternatives are sorted longest first: the regex engine is leftmost-first, so ``motherfucker``
  is one match, not ``mother`` + ``fucker``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import polars as pl

from chatlens import datafiles
from chatlens.datafiles.schemas import ProfanityWords, ReactionCues, SentimentWords, Thresholds

_REGEX_META = set("\\.+*?()|[]{}^$#&-~")


def _phrases(items: tuple[str, ...]) -> tuple[str, ...]:
    """Trimmed, first occurrence kept (a phrase listed twice is one alternative)."""
    return tuple(dict.fromkeys(item.strip() for item in items))


def _common(doc: ReactionCues | ProfanityWords | SentimentWords) -> dict[str, Any]:
    """The fields every features lexicon has: provenance and the languages matched anywhere."""
    return {"name": doc.name, "version": str(doc.version),
            "no_boundaries": frozenset(_phrases(doc.no_boundaries))}


# --------------------------------------------------------------------------- regex building


def _escape(phrase: str) -> str:
    parts = []
    for word in phrase.split():
        parts.append("".join("\\" + c if c in _REGEX_META else c for c in word))
    return r"\s+".join(parts)


def _is_word_char(c: str) -> bool:
    return c.isalnum() or c == "_"


def phrase_regex(phrases: tuple[str, ...], *, boundaries: bool, stems: tuple[str, ...] = ()) -> str:
    """One alternation over ``phrases`` (whole words when ``boundaries``) and word-start ``stems``.

    Returns a pattern that never matches when both lists are empty.
    """
    alts = []
    for p in sorted(set(phrases), key=lambda s: (-len(s), s)):
        body = _escape(p)
        if boundaries:
            body = (r"\b" if _is_word_char(p[0]) else "") + body
            body += r"\b" if _is_word_char(p[-1]) else ""
        alts.append(body)
    for s in sorted(set(stems), key=lambda s: (-len(s), s)):
        body = _escape(s)
        alts.append((r"\b" + body + r"\w*") if boundaries else body)
    if not alts:
        return r"[^\s\S]"
    return "(?:" + "|".join(alts) + ")"


def normalise_expr(expr: pl.Expr) -> pl.Expr:
    """Case-fold and straighten quotes, so phrases can be written lower-case with ASCII ``'``."""
    return (
        expr.fill_null("")
        .str.to_lowercase()
        .str.replace_all("[\u2018\u2019\u02bc\uff07`\u00b4]", "'")
        .str.replace_all("[\u201c\u201d\u00ab\u00bb\u201e]", '"')
    )


# --------------------------------------------------------------------------- reaction cues


@dataclass(frozen=True)
class ReactionLexicon:
    """Per-language phrase lists for the four lexical reaction categories."""

    name: str
    version: str
    no_boundaries: frozenset[str]
    languages: dict[str, dict[str, tuple[str, ...]]]

    def regex(self, language: str, category: str) -> str:
        """The regex for one (language, category); empty lists give a never-matching pattern."""
        phrases = self.languages.get(language, {}).get(category, ())
        return phrase_regex(phrases, boundaries=language not in self.no_boundaries)


@datafiles.cached
def reaction_lexicon() -> ReactionLexicon:
    """Load and validate ``data/features/reactions.yaml`` (cached)."""
    doc = datafiles.load("features/reactions.yaml")
    return ReactionLexicon(
        **_common(doc),
        languages={str(lang): {c: _phrases(v) for c, v in cats.items()}
                   for lang, cats in doc.languages.items()},
    )


# --------------------------------------------------------------------------- profanity


@dataclass(frozen=True)
class ProfanityLexicon:
    """Per-language whole words, word-start stems and language-restricted words."""

    name: str
    version: str
    no_boundaries: frozenset[str]
    words: dict[str, tuple[str, ...]]
    stems: dict[str, tuple[str, ...]]
    language_only: dict[str, tuple[str, ...]]

    def universal_regexes(self) -> tuple[str, str]:
        """(bounded, unbounded) patterns over all languages' unrestricted entries."""
        bounded_w, bounded_s, free = [], [], []
        for lang, words in self.words.items():
            if lang in self.no_boundaries:
                free.extend(words)
                free.extend(self.stems.get(lang, ()))
            else:
                bounded_w.extend(words)
                bounded_s.extend(self.stems.get(lang, ()))
        return (
            phrase_regex(tuple(bounded_w), boundaries=True, stems=tuple(bounded_s)),
            phrase_regex(tuple(free), boundaries=False),
        )


@datafiles.cached
def profanity_lexicon() -> ProfanityLexicon:
    """Load and validate ``data/features/profanity.yaml`` (cached)."""
    doc = datafiles.load("features/profanity.yaml")
    return ProfanityLexicon(
        **_common(doc),
        words={lang: _phrases(b.words) for lang, b in doc.languages.items()},
        stems={lang: _phrases(b.stems) for lang, b in doc.languages.items()},
        language_only={lang: _phrases(b.language_only) for lang, b in doc.languages.items()},
    )


# --------------------------------------------------------------------------- sentiment


@dataclass(frozen=True)
class SentimentLexicon:
    """VADER thresholds and the small per-language lexicons for non-English text."""

    name: str
    version: str
    thresholds: dict[str, Thresholds]
    valence: float
    alpha: float
    no_boundaries: frozenset[str]
    positive: dict[str, tuple[str, ...]]
    negative: dict[str, tuple[str, ...]]
    negators: dict[str, tuple[str, ...]]


@datafiles.cached
def sentiment_lexicon() -> SentimentLexicon:
    """Load and validate ``data/features/sentiment.yaml`` (cached)."""
    doc = datafiles.load("features/sentiment.yaml")
    langs = doc.languages
    return SentimentLexicon(
        **_common(doc),
        thresholds={"legacy": doc.thresholds.legacy, "default": doc.thresholds.default},
        valence=doc.valence,
        alpha=doc.alpha,
        positive={lang: _phrases(b.positive) for lang, b in langs.items()},
        negative={lang: _phrases(b.negative) for lang, b in langs.items()},
        negators={lang: _phrases(b.negators) for lang, b in langs.items()},
    )


# --------------------------------------------------------------------------- languages


@datafiles.cached
def language_codes() -> dict[str, str | None]:
    """Language name -> ISO 639-1 code (``data/features/languages.yaml``)."""
    return {str(name).lower(): code for name, code in datafiles.load("features/languages.yaml").names.items()}


_CYRILLIC_LANGS = ["ru", "uk", "bg", "sr", "be", "kk", "mk", "mn"]


#: An ISO 639 code, alone or as the primary subtag of a locale tag ("es-ES", "pt_BR", "zh-Hant").
_CODE_OR_TAG = r"^([a-z]{2,3})(?:[-_][a-z0-9]{1,8})*$"


def language_label_expr(language: pl.Expr) -> pl.Expr:
    """ISO code of a language label: a name of ``data/features/languages.yaml`` ("English"), an
    ISO code ("en") or a locale tag, read by its primary subtag ("en-US", "es_ES" -> "es");
    anything else -> null.

    Why locale tags: app logs and many datasets label messages "en-US" or "pt-BR"; read as an
    unknown language, a Spanish text went to English VADER (``vader:language-unknown``) instead of
    the Spanish lexicon, and language-only profanity was not counted.
    """
    codes = language_codes()
    lowered = language.str.to_lowercase().str.strip_chars()
    mapped = lowered.replace_strict(
        list(codes), [codes[k] for k in codes], default=None, return_dtype=pl.String
    )
    return pl.coalesce(mapped, lowered.str.extract(_CODE_OR_TAG, 1))


def language_code_expr(language: pl.Expr, text: pl.Expr) -> pl.Expr:
    """ISO code per row from a language name/code column, corrected by the text's script.

    The source's language label is per conversation (LMSYS) and often wrong for a single short
    message; a non-Latin script that makes up the bulk of the text is stronger evidence: Hangul ->
    ko, Kana -> ja, Han -> zh (unless labelled ja), Cyrillic -> ru (unless labelled with another
    Cyrillic language). The label is read by :func:`language_label_expr`.

    "Bulk" compares units of meaning: a run of Latin, Cyrillic or Hangul letters is one word, and
    so is each Han or Kana character (Chinese and Japanese write no spaces, and a character
    carries about what a short English word does). The script decides when it has at least as
    many as the Latin script. Why: any one character decided before, so an English sentence
    quoting "你好" was scored with the Chinese lexicon (and its English cues and profanity read as
    Chinese), as were 20 ShareGPT dev messages in English ending in a "지금 번역하기" button
    label; a Chinese request full of code names (an invented one: "这段代码运行时报错KeyError:
    'price' not found in the dict，请帮我修复": 14 Han, 7 Latin) is still Chinese. A text with no
    label that no script has the bulk of takes the language of the script it opens in, when that
    script has at least :data:`OPENING_MIN_SHARE` of its words (a ShareGPT request of two Russian
    words before a "body:Share Prompt" label had no language at all; the English "Write more
    please지금 번역하기" still has none; these examples are invented, of the real messages' shape).
    """
    given = language_label_expr(language)
    return pl.struct(text.alias("t"), given.alias("g")).map_batches(
        _script_language, return_dtype=pl.String)


#: An unlabelled text that is not the bulk of one script (``напиши ещё body:Share Prompt``:
#: 2 Cyrillic, 3 Latin words) takes the language of the script it opens in when that script has
#: at least this share of its words: a short request followed by an interface label in Latin
#: ("Share Prompt") is as long as the label, while a quoted foreign word or a term being
#: explained ("饺子 (jiǎo zi) is the word for…", 2 of 20 words) is a small minority.
OPENING_MIN_SHARE = 1 / 3

#: Any character of a script that can override the label (the cheap test every text gets).
_OVERRIDING_SCRIPT = r"[\p{Hangul}\p{Hiragana}\p{Katakana}\p{Han}\p{Cyrillic}]"


def _script_language(rows: pl.Series) -> pl.Series:
    """:func:`language_code_expr` over a struct of text ``t`` and label ``g``.

    Why a batch function, not one expression: the words are counted only in the texts that hold
    one of the overriding scripts (a few percent), each count once. As one expression, polars
    evaluated every count on every text and repeated the shared ones (eager selects eliminate no
    common subexpressions): 1.2 s per 72k LMSYS-shaped messages instead of 0.3 s."""
    text, given = rows.struct.field("t"), rows.struct.field("g")
    at = text.str.contains(_OVERRIDING_SCRIPT).fill_null(value=False).arg_true()
    if not len(at):
        return given
    sub = pl.DataFrame({"t": text.gather(at), "g": given.gather(at)})
    t, g = pl.col("t"), pl.col("g")
    counted = sub.with_columns(
        latin=t.str.count_matches(r"\p{Latin}+"),
        hangul=t.str.count_matches(r"\p{Hangul}+"),
        kana=t.str.count_matches(r"[\p{Hiragana}\p{Katakana}]"),
        han=t.str.count_matches(r"\p{Han}"),
        cyrillic=t.str.count_matches(r"\p{Cyrillic}+"),
        opening=t.str.extract(r"(\p{L})", 1),  # the first letter
    )
    cjk = pl.col("kana") + pl.col("han")
    cjk_bulk = (cjk > 0) & (cjk >= pl.col("latin"))

    def opens_in(script: str, words: pl.Expr) -> pl.Expr:
        """No label, and the text opens in ``script``, which has OPENING_MIN_SHARE of its words."""
        return (g.is_null() & pl.col("opening").str.contains(script).fill_null(value=False)
                & (words >= OPENING_MIN_SHARE * (words + pl.col("latin"))))

    code = counted.select(
        pl.when((pl.col("hangul") > 0) & (pl.col("hangul") >= pl.col("latin")))
        .then(pl.lit("ko"))
        .when((pl.col("kana") > 0) & cjk_bulk)
        .then(pl.lit("ja"))
        .when((pl.col("han") > 0) & cjk_bulk & (g != "ja").fill_null(value=True))
        .then(pl.lit("zh"))
        .when((pl.col("cyrillic") > 0) & (pl.col("cyrillic") >= pl.col("latin"))
              & ~g.is_in(_CYRILLIC_LANGS).fill_null(value=False))
        .then(pl.lit("ru"))
        .when(opens_in(r"\p{Hangul}", pl.col("hangul")))
        .then(pl.lit("ko"))
        .when(opens_in(r"[\p{Hiragana}\p{Katakana}\p{Han}]", cjk))
        .then(pl.when(pl.col("kana") > 0).then(pl.lit("ja")).otherwise(pl.lit("zh")))
        .when(opens_in(r"\p{Cyrillic}", pl.col("cyrillic")))
        .then(pl.lit("ru"))
        .otherwise(g)
    ).to_series()
    return given.scatter(at, code)
