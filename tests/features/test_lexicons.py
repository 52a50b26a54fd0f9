from __future__ import annotations

import pytest

from chatlens.errors import InstrumentError
from chatlens.features import _lexicons as lx


def test_bundled_files_load_and_validate() -> None:
    r = lx.reaction_lexicon()
    assert set(r.languages) == {"en", "zh", "ja", "ko", "es", "fr", "de", "ru", "pt", "it"}
    for lang, cats in r.languages.items():
        assert set(cats) == set(lx.REACTION_CATEGORIES), lang
        assert all(cats.values()), lang
    p = lx.profanity_lexicon()
    assert set(p.words) == set(r.languages)
    s = lx.sentiment_lexicon()
    assert set(s.positive) == set(r.languages) - {"en"}  # English uses VADER
    assert s.thresholds["legacy"] == lx.Thresholds(-0.05, 0.05)
    assert lx.language_codes()["english"] == "en"


def test_phrases_are_lower_case_and_ascii_apostrophes() -> None:
    r = lx.reaction_lexicon()
    for cats in r.languages.values():
        for phrases in cats.values():
            for p in phrases:
                assert p == p.lower() and "\u2019" not in p, p


def test_regex_building() -> None:
    import polars as pl

    pat = lx.phrase_regex(("why not", "ok"), boundaries=True)
    s = pl.Series(["why not?", "book", "OK".lower(), "whynot"])
    assert s.str.contains(pat).to_list() == [True, False, True, False]
    assert lx.phrase_regex((), boundaries=True) == r"[^\s\S]"
    stem = lx.phrase_regex(("ass",), boundaries=True, stems=("fuck",))
    assert pl.Series(["class", "fucking", "ass"]).str.count_matches(stem).to_list() == [0, 1, 1]


@pytest.mark.parametrize(
    ("data", "match"),
    [
        ({"name": "x", "version": "1", "source": "s", "languages": {"en": {"pushbak": ["x"]}}}, "pushbak"),
        ({"name": "x", "version": "1", "source": "s", "languages": {"en": {"accept": "ok"}}}, "a list"),
        ({"name": "x", "version": "1", "source": "s", "languages": {"en": {"accept": [""]}}}, "non-empty"),
        ({"name": "x", "version": "1", "languages": {}}, "source"),
        ({"name": "x", "version": "1", "source": "s", "extra": 1, "languages": {}}, "extra"),
    ],
)
def test_invalid_reaction_files_raise(monkeypatch: pytest.MonkeyPatch, data: dict, match: str) -> None:
    monkeypatch.setattr(lx, "_read", lambda file: _validated(file, data))
    lx.reaction_lexicon.cache_clear()
    try:
        with pytest.raises(InstrumentError, match=match) as info:
            lx.reaction_lexicon()
        assert "reactions.yaml" in str(info.value)
    finally:
        lx.reaction_lexicon.cache_clear()


def _validated(file: str, data: dict) -> dict:
    for key in ("name", "version", "source"):
        if key not in data:
            raise lx._fail(file, key, "a value", None)
    return data


def test_invalid_thresholds_raise(monkeypatch: pytest.MonkeyPatch) -> None:
    bad = {"name": "x", "version": "1", "source": "s",
           "thresholds": {"legacy": {"negative": 0.5, "positive": -0.5},
                          "default": {"negative": -0.1, "positive": 0.1}},
           "languages": {}}
    monkeypatch.setattr(lx, "_read", lambda file: bad)
    lx.sentiment_lexicon.cache_clear()
    try:
        with pytest.raises(InstrumentError, match="thresholds.legacy"):
            lx.sentiment_lexicon()
    finally:
        lx.sentiment_lexicon.cache_clear()
