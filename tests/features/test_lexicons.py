from __future__ import annotations

import pytest

from chatlens import datafiles
from chatlens.errors import DataFileError
from chatlens.features import _lexicons as lx
from chatlens.vocabulary import REACTION_CUE_CATEGORIES


def test_bundled_files_load_and_validate() -> None:
    r = lx.reaction_lexicon()
    assert set(r.languages) == {"en", "zh", "ja", "ko", "es", "fr", "de", "ru", "pt", "it"}
    for lang, cats in r.languages.items():
        assert set(cats) == set(REACTION_CUE_CATEGORIES), lang
        assert all(cats.values()), lang
    p = lx.profanity_lexicon()
    assert set(p.words) == set(r.languages)
    s = lx.sentiment_lexicon()
    assert set(s.positive) == set(r.languages) - {"en"}  # English uses VADER
    assert s.thresholds["legacy"] == datafiles.schemas.Thresholds(-0.05, 0.05)
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
def test_invalid_reaction_files_raise(data: dict, match: str) -> None:
    with pytest.raises(DataFileError, match=match) as info:
        datafiles.parse(data, kind="reaction-cues", file="reactions.yaml")
    assert "reactions.yaml" in str(info.value)


def test_invalid_thresholds_raise() -> None:
    bad = {"name": "x", "version": "1", "source": "s",
           "thresholds": {"legacy": {"negative": 0.5, "positive": -0.5},
                          "default": {"negative": -0.1, "positive": 0.1}},
           "languages": {}}
    with pytest.raises(DataFileError, match="thresholds.legacy"):
        datafiles.parse(bad, kind="sentiment-lexicon", file="sentiment.yaml")


@pytest.mark.parametrize(("text", "unlabelled", "english"), [
    # a short request followed by an interface label as long as itself: the script it opens in
    # decides when there is no label (2 Cyrillic vs 3 Latin words had no language at all)
    ("напиши ещё body:Share Prompt", "ru", "en"),
    ("пиши дальше, body:Share Prompt", "ru", "en"),
    ("続きを body Share Prompt now", "ja", "en"),
    ("继续 body:Share Prompt", "zh", "en"),
    ("계속 써 body:Share Prompt now", "ko", "en"),
    # ... and the same label after an English request says nothing: no language, as before
    ("Write more please지금 번역하기", None, "en"),
    # a quoted foreign word or an explained term does not decide, opening or not
    ("Thanks, 'спасибо' is what I said, wonderful", None, "en"),
    ("饺子 (jiǎo zi) is the word for a kind of dumpling eaten at the New Year in northern China",
     None, "en"),
    ('"спасибо" is how you say thank you in Russian', None, "en"),
    # the bulk of the text decides over any label, as before
    ("привет, как дела? ok", "ru", "ru"),
    ("这段代码运行时报错KeyError: 'price' not found in the dict，请帮我修复", "zh", "zh"),
    ("just English", None, "en"),
])
def test_a_mixed_script_message_gets_the_language_its_scripts_determine(text: str, unlabelled: str | None,
                                                                       english: str) -> None:
    import polars as pl

    frame = pl.DataFrame({"t": [text, text], "g": [None, "English"]}, schema={"t": pl.String, "g": pl.String})
    got = frame.select(lx.language_code_expr(pl.col("g"), pl.col("t"))).to_series().to_list()
    assert got == [unlabelled, english]
