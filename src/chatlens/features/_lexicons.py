"""Data files of the features layer: loading, validation and regex building.

Why a private module: reactions, affect and the legacy profile all read small YAML lexicons from
``chatlens/data/features/`` and turn lists of literal phrases into one Rust-regex alternation per
(language, category), evaluated by polars over whole columns. Keeping the parsing and the regex
construction in one place means a phrase is escaped, case-folded and bounded the same way
everywhere, and a malformed file fails once with an :class:`~chatlens.errors.InstrumentError`
naming the file, key and item.

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

import re
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

import polars as pl
import yaml

from chatlens import _yaml
from chatlens.errors import InstrumentError

_META = {"name", "version", "source"}
_REGEX_META = set("\\.+*?()|[]{}^$#&-~")
REACTION_CATEGORIES = ("pushback", "accept", "rephrase", "topic_change")


def _fail(file: str, key: str, expected: str, got: object) -> InstrumentError:
    msg = f"Invalid features lexicon {file!r} at key {key!r}: expected {expected}, got {got!r}."
    return InstrumentError(msg)


def _read(file: str) -> dict[str, Any]:
    text = resources.files("chatlens").joinpath("data", "features", file).read_text(encoding="utf-8")
    try:
        data = _yaml.safe_load(text)
    except yaml.YAMLError as exc:
        msg = f"Features lexicon {file!r} is not valid YAML: {exc}"
        raise InstrumentError(msg) from exc
    if not isinstance(data, dict):
        raise _fail(file, "<root>", "a mapping", type(data).__name__)
    for key in _META:
        if key not in data:
            raise _fail(file, key, "a value (name, version and source are required)", None)
    return data


def _phrases(file: str, key: str, value: object) -> tuple[str, ...]:
    if value is None:
        return ()
    if not isinstance(value, list):
        raise _fail(file, key, "a list of strings", value)
    out = []
    for i, item in enumerate(value):
        if not isinstance(item, str) or not item.strip():
            raise _fail(file, f"{key}[{i}]", "a non-empty string", item)
        out.append(item.strip())
    return tuple(dict.fromkeys(out))


def _check_keys(file: str, key: str, value: object, allowed: set[str]) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise _fail(file, key, "a mapping", value)
    unknown = set(value) - allowed
    if unknown:
        raise _fail(file, key, f"only keys {sorted(allowed)}", sorted(unknown))
    return value


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


@cache
def reaction_lexicon() -> ReactionLexicon:
    """Load and validate ``data/features/reactions.yaml`` (cached)."""
    file = "reactions.yaml"
    data = _read(file)
    _check_keys(file, "<root>", data, _META | {"no_boundaries", "languages"})
    langs = _check_keys(file, "languages", data.get("languages"), set(data.get("languages") or {}))
    parsed: dict[str, dict[str, tuple[str, ...]]] = {}
    for lang, cats in langs.items():
        cats = _check_keys(file, f"languages.{lang}", cats, set(REACTION_CATEGORIES))
        parsed[str(lang)] = {c: _phrases(file, f"languages.{lang}.{c}", v) for c, v in cats.items()}
    return ReactionLexicon(
        name=str(data["name"]),
        version=str(data["version"]),
        no_boundaries=frozenset(_phrases(file, "no_boundaries", data.get("no_boundaries"))),
        languages=parsed,
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


@cache
def profanity_lexicon() -> ProfanityLexicon:
    """Load and validate ``data/features/profanity.yaml`` (cached)."""
    file = "profanity.yaml"
    data = _read(file)
    _check_keys(file, "<root>", data, _META | {"no_boundaries", "languages"})
    langs = _check_keys(file, "languages", data.get("languages"), set(data.get("languages") or {}))
    words, stems, only = {}, {}, {}
    for lang, block in langs.items():
        block = _check_keys(file, f"languages.{lang}", block, {"words", "stems", "language_only"})
        words[lang] = _phrases(file, f"languages.{lang}.words", block.get("words"))
        stems[lang] = _phrases(file, f"languages.{lang}.stems", block.get("stems"))
        only[lang] = _phrases(file, f"languages.{lang}.language_only", block.get("language_only"))
    return ProfanityLexicon(
        name=str(data["name"]),
        version=str(data["version"]),
        no_boundaries=frozenset(_phrases(file, "no_boundaries", data.get("no_boundaries"))),
        words=words,
        stems=stems,
        language_only=only,
    )


# --------------------------------------------------------------------------- sentiment


@dataclass(frozen=True)
class Thresholds:
    """Compound cut-points: ``< negative`` is neg, ``> positive`` is pos, else neu."""

    negative: float
    positive: float


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


@cache
def sentiment_lexicon() -> SentimentLexicon:
    """Load and validate ``data/features/sentiment.yaml`` (cached)."""
    file = "sentiment.yaml"
    data = _read(file)
    _check_keys(
        file, "<root>", data, _META | {"thresholds", "valence", "alpha", "no_boundaries", "languages"}
    )
    th = {}
    for key, val in _check_keys(file, "thresholds", data.get("thresholds"), {"legacy", "default"}).items():
        val = _check_keys(file, f"thresholds.{key}", val, {"negative", "positive"})
        try:
            t = Thresholds(float(val["negative"]), float(val["positive"]))
        except (KeyError, TypeError, ValueError) as exc:
            raise _fail(file, f"thresholds.{key}", "numbers negative and positive", val) from exc
        if not -1.0 <= t.negative <= t.positive <= 1.0:
            raise _fail(file, f"thresholds.{key}", "-1 <= negative <= positive <= 1", val)
        th[key] = t
    for key in ("legacy", "default"):
        if key not in th:
            raise _fail(file, f"thresholds.{key}", "a threshold pair", None)
    langs = _check_keys(file, "languages", data.get("languages"), set(data.get("languages") or {}))
    pos, neg, negators = {}, {}, {}
    for lang, block in langs.items():
        block = _check_keys(file, f"languages.{lang}", block, {"positive", "negative", "negators"})
        pos[lang] = _phrases(file, f"languages.{lang}.positive", block.get("positive"))
        neg[lang] = _phrases(file, f"languages.{lang}.negative", block.get("negative"))
        negators[lang] = _phrases(file, f"languages.{lang}.negators", block.get("negators"))
    try:
        valence, alpha = float(data.get("valence", 2.0)), float(data.get("alpha", 15.0))
    except (TypeError, ValueError) as exc:
        raise _fail(file, "valence/alpha", "numbers", (data.get("valence"), data.get("alpha"))) from exc
    return SentimentLexicon(
        name=str(data["name"]),
        version=str(data["version"]),
        thresholds=th,
        valence=valence,
        alpha=alpha,
        no_boundaries=frozenset(_phrases(file, "no_boundaries", data.get("no_boundaries"))),
        positive=pos,
        negative=neg,
        negators=negators,
    )


# --------------------------------------------------------------------------- languages


@cache
def language_codes() -> dict[str, str | None]:
    """Language name -> ISO 639-1 code (``data/features/languages.yaml``)."""
    file = "languages.yaml"
    data = _read(file)
    _check_keys(file, "<root>", data, _META | {"names"})
    names = _check_keys(file, "names", data.get("names"), set(data.get("names") or {}))
    out: dict[str, str | None] = {}
    for name, code in names.items():
        if code is not None and not (isinstance(code, str) and re.fullmatch(r"[a-z]{2,3}", code)):
            raise _fail(file, f"names.{name}", "an ISO 639 code or null", code)
        out[str(name).lower()] = code
    return out


_CYRILLIC_LANGS = ["ru", "uk", "bg", "sr", "be", "kk", "mk", "mn"]


def language_code_expr(language: pl.Expr, text: pl.Expr) -> pl.Expr:
    """ISO code per row from a language name/code column, corrected by the text's script.

    The source's language label is per conversation (LMSYS) and often wrong for a single short
    message; a non-Latin script in the text itself is stronger evidence: Hangul -> ko, Kana -> ja,
    Han -> zh (unless labelled ja), Cyrillic -> ru (unless labelled with another Cyrillic language).
    """
    codes = language_codes()
    lowered = language.str.to_lowercase().str.strip_chars()
    mapped = lowered.replace_strict(
        list(codes), [codes[k] for k in codes], default=None, return_dtype=pl.String
    )
    given = (
        pl.when(mapped.is_not_null())
        .then(mapped)
        .when(lowered.str.contains(r"^[a-z]{2,3}$"))
        .then(lowered)
        .otherwise(None)
    )
    return (
        pl.when(text.str.contains(r"\p{Hangul}"))
        .then(pl.lit("ko"))
        .when(text.str.contains(r"[\p{Hiragana}\p{Katakana}]"))
        .then(pl.lit("ja"))
        .when(text.str.contains(r"\p{Han}") & (given != "ja").fill_null(value=True))
        .then(pl.lit("zh"))
        .when(text.str.contains(r"\p{Cyrillic}") & ~given.is_in(_CYRILLIC_LANGS).fill_null(value=False))
        .then(pl.lit("ru"))
        .otherwise(given)
    )
